"""The stages of one run, as functions of staging paths. The DAG's tasks and ``newsingest run``
call exactly these, so both paths behave the same. Every function returns a small dict of
paths and counts (what Airflow passes through XCom)."""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

from pipeline import __version__, staging
from pipeline.model import Article, DocumentError, Quarantined, RawDocument
from pipeline.settings import Settings

log = logging.getLogger(__name__)


def utc(value: datetime | None) -> datetime | None:
    """Naive datetimes are read as UTC (the source named no zone)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _quarantine_row(q: Quarantined) -> dict:
    return {"raw_id": q.raw_id, "uri": q.uri, "stage": q.stage, "reason": q.reason, "detail": q.detail}


# --------------------------------------------------------------------------- load

def known_raw_ids(settings: Settings, raw_ids: list[str]) -> set[str]:
    """Raw documents some earlier run already settled (rerun of known input)."""
    from pipeline.store import read_connection

    if not raw_ids:
        return set()
    with read_connection(settings.db_path, settings.lock_retry_seconds) as con:
        if con is None:
            return set()
        import pyarrow as pa

        con.register("batch_ids", pa.table({"raw_id": raw_ids}))
        rows = con.execute(
            "SELECT DISTINCT l.raw_id FROM run_ledger l JOIN batch_ids b USING (raw_id) WHERE l.outcome <> 'unchanged'"
        ).fetchall()
        return {r[0] for r in rows}


def _site_line_keys(doc: RawDocument) -> set[str]:
    from pipeline.clean.site_lines import site_line_keys

    return site_line_keys(doc.payload, doc.content_type)


def stage_load(inputs: list[str], run_id: str, settings: Settings) -> dict:
    """Read the input files into raw shards; settle known input and unreadable files at once."""
    from pipeline.sources import iter_documents

    out = staging.run_dir(settings.staging_url, run_id)
    docs: list[RawDocument] = []
    quarantined: list[dict] = []
    seen: set[str] = set()
    for item in iter_documents(inputs, settings.max_document_bytes):
        if item.raw_id in seen:  # the same bytes twice in one run are one raw document
            continue
        seen.add(item.raw_id)
        if isinstance(item, Quarantined):
            quarantined.append(_quarantine_row(item))
        else:
            docs.append(item)
    known = known_raw_ids(settings, [d.raw_id for d in docs] + [q["raw_id"] for q in quarantined])
    unchanged = [{"raw_id": d.raw_id, "uri": d.uri, "outcome": "unchanged", "article_id": None, "reason": None} for d in docs if d.raw_id in known]
    unchanged += [{"raw_id": q["raw_id"], "uri": q["uri"], "outcome": "unchanged", "article_id": None, "reason": None} for q in quarantined if q["raw_id"] in known]
    docs = [d for d in docs if d.raw_id not in known]
    quarantined = [q for q in quarantined if q["raw_id"] not in known]

    site_counts: Counter[tuple[str, str]] = Counter()
    for doc in docs:
        for key in _site_line_keys(doc):
            site_counts[(doc.domain, key)] += 1
    site_rows = [{"domain": d, "line_key": k, "doc_count": n} for (d, k), n in site_counts.items()]

    shards = []
    # At least one shard, even an empty one, so a mapped clean task always has work to map over.
    for start in range(0, max(len(docs), 1), settings.shard_size):
        rows = [
            {
                "raw_id": d.raw_id, "uri": d.uri, "domain": d.domain, "fetched_at": d.fetched_at,
                "content_type": d.content_type, "encoding": d.encoding, "url": d.url,
                "declared": json.dumps(d.declared, ensure_ascii=False, default=str), "payload": d.payload,
            }
            for d in docs[start : start + settings.shard_size]
        ]
        shards.append(staging.write(f"{out}/raw/shard-{len(shards):05d}.parquet", rows, staging.RAW))
    return {
        "run_id": run_id,
        "input": ",".join(map(str, inputs)),
        "shards": shards,
        "quarantine": staging.write(f"{out}/load/quarantine.parquet", quarantined, staging.QUARANTINE),
        "unchanged": staging.write(f"{out}/load/unchanged.parquet", unchanged, staging.LEDGER),
        "site_lines": staging.write(f"{out}/load/site_lines.parquet", site_rows, staging.SITE_LINES),
        "documents": len(docs) + len(quarantined) + len(unchanged),
        "to_clean": len(docs),
    }


# --------------------------------------------------------------------------- clean

def site_boilerplate(settings: Settings, site_lines_url: str) -> dict[str, frozenset[str]]:
    """Per domain, the lines that this batch and the stored history together repeat often enough."""
    from pipeline.store import read_connection

    counts: Counter[tuple[str, str]] = Counter()
    for row in staging.read(site_lines_url):
        counts[(row["domain"], row["line_key"])] += row["doc_count"]
    with read_connection(settings.db_path, settings.lock_retry_seconds) as con:
        if con is not None and counts:
            import pyarrow as pa

            con.register("batch_domains", pa.table({"domain": sorted({d for d, _ in counts})}))
            for domain, key, n in con.execute("SELECT domain, line_key, doc_count FROM site_lines JOIN batch_domains USING (domain)").fetchall():
                counts[(domain, key)] += n
    learned: dict[str, set[str]] = defaultdict(set)
    for (domain, key), n in counts.items():
        if n >= settings.site_repeat_min_docs and domain != "local":
            learned[domain].add(key)
    return {domain: frozenset(keys) for domain, keys in learned.items()}


def raw_from_row(row: dict) -> RawDocument:
    return RawDocument(
        raw_id=row["raw_id"], uri=row["uri"], domain=row["domain"], fetched_at=row["fetched_at"],
        content_type=row["content_type"], payload=row["payload"], encoding=row["encoding"], url=row["url"],
        declared=json.loads(row["declared"] or "{}"),
    )


def article_row(article: Article) -> dict:
    from pipeline.clean import content_hash

    return {
        "article_id": article.article_id, "raw_id": article.raw_id, "uri": article.uri, "url": article.url,
        "domain": article.domain, "title": article.title, "published_at": utc(article.published_at),
        "authors": article.authors, "wire_agency": article.wire_agency, "language": article.language,
        "tags": article.tags, "summary": article.summary, "body": article.body,
        "word_count": article.word_count, "content_hash": article.body_hash or content_hash(article.body),
    }


def clean_raw(raw: RawDocument, settings: Settings, boilerplate: dict[str, frozenset[str]], force_format: str | None = None) -> Article | Quarantined:
    from pipeline.clean import clean_document

    try:
        return clean_document(
            raw,
            min_body_words=settings.min_body_words,
            site_boilerplate=boilerplate.get(raw.domain, frozenset()),
            force_format=force_format,
            time_limit_seconds=settings.max_clean_seconds,
        )
    except DocumentError as exc:
        return Quarantined(raw.raw_id, raw.uri, "clean", exc.reason, exc.detail)
    except Exception as exc:  # an extractor bug must cost one document, not the batch
        log.exception("unexpected error cleaning %s", raw.uri)
        return Quarantined(raw.raw_id, raw.uri, "clean", "cleaner_error", f"{type(exc).__name__}: {exc}"[:500])


def stage_clean(shard_url: str, site_lines_url: str, settings: Settings) -> dict:
    boilerplate = site_boilerplate(settings, site_lines_url)
    articles, removed, quarantined = [], [], []
    for row in staging.read(shard_url):
        result = clean_raw(raw_from_row(row), settings, boilerplate)
        if isinstance(result, Quarantined):
            quarantined.append(_quarantine_row(result))
            continue
        articles.append(article_row(result))
        removed.extend(
            {"article_id": result.article_id, "raw_id": result.raw_id, "position": s.position, "text": s.text, "reason": s.reason}
            for s in result.removed
        )
    base = shard_url.removesuffix(".parquet").replace("/raw/", "/clean/")
    return {
        "articles": staging.write(f"{base}.articles.parquet", articles, staging.ARTICLE),
        "removed": staging.write(f"{base}.removed.parquet", removed, staging.REMOVED),
        "quarantine": staging.write(f"{base}.quarantine.parquet", quarantined, staging.QUARANTINE),
        "cleaned": len(articles),
        "quarantined": len(quarantined),
    }


# --------------------------------------------------------------------------- dedup

def stage_dedup(clean_results: list[dict], run_id: str, settings: Settings) -> dict:
    """Exact, near-duplicate and story levels, against this batch and the stored history."""
    from pipeline.dedup.history import StoredIndex
    from pipeline.dedup.near import near_duplicates
    from pipeline.dedup.story import UnionFind, candidate_pairs, same_story, story_terms

    out = staging.run_dir(settings.staging_url, run_id)
    rows = staging.read_many([r["articles"] for r in clean_results], staging.ARTICLE)
    rows.sort(key=lambda r: (r["article_id"], r["raw_id"]))
    # One row per article_id: the same URL (or, without one, the same body) twice in a batch.
    unique, same_id = [], []
    for row in rows:
        if unique and unique[-1]["article_id"] == row["article_id"]:
            same_id.append({"raw_id": row["raw_id"], "uri": row["uri"], "outcome": "duplicate", "article_id": row["article_id"], "reason": "same_article_id"})
        else:
            unique.append(row)
    terms = {r["article_id"]: story_terms(r["title"], r["body"]) for r in unique}
    when = {r["article_id"]: r["published_at"] for r in unique}
    batch_ids = set(terms)
    stored_stories: dict[str, str] = {}
    members: dict[str, dict] = {}
    with StoredIndex(settings) as history:
        near = near_duplicates(unique, history if history.available else None, settings.near_dup_threshold)
        for member in near.members:
            members[member["article_id"]] = member
        story_candidates = history.story_candidates(terms) if history.available else {}
        # Story level: batch against batch, then against stored candidates.
        sf = UnionFind()
        for a in sorted(batch_ids):
            sf.find(a)
        for a, b in candidate_pairs(terms, settings.story_min_shared_terms):
            if same_story(terms[a], terms[b], when[a], when[b], settings.story_min_shared_terms, settings.story_window_days):
                sf.union(a, b)
        for a, candidates in story_candidates.items():
            for stored in candidates:
                if same_story(terms[a], stored["terms"], when[a], stored["published_at"], settings.story_min_shared_terms, settings.story_window_days):
                    sf.union(a, stored["article_id"])
                    sf.union(stored["article_id"], stored["story_id"])
                    if stored["article_id"] not in batch_ids:  # a batch article's stored version is replaced, not kept
                        stored_stories[stored["article_id"]] = stored["story_id"]
        for member in members.values():  # a re-clustered stored copy keeps its story
            sf.union(member["article_id"], member["story_id"])
            stored_stories[member["article_id"]] = member["story_id"]
        if history.available and stored_stories:
            for member in history.story_members(set(stored_stories.values())):
                sf.union(member["article_id"], member["story_id"])
                if member["article_id"] not in batch_ids:
                    members.setdefault(member["article_id"], {**member, "sketch": None, "whole_hash": None})
    deduped = []
    for r in unique:
        found = near.assigned[r["article_id"]]
        linked = found.canonical != r["article_id"]
        deduped.append({
            **r,
            "dup_group": found.canonical,
            "similarity": found.similarity if linked else None, "method": found.method if linked else None,
            "linked_to": found.canonical if linked else None,
            "story_group": sf.find(r["article_id"]),
            "story_terms": terms[r["article_id"]],
            "sketch": near.sketches[r["article_id"]][0], "whole_hash": near.sketches[r["article_id"]][1],
        })
    member_rows = []
    for m in members.values():
        found = near.assigned.get(m["article_id"])
        canonical = found.canonical if found else m["dup_cluster_id"]
        linked = found is not None and canonical != m["article_id"]
        member_rows.append({
            "article_id": m["article_id"], "dup_group": canonical, "story_group": sf.find(m["article_id"]),
            "published_at": m["published_at"], "word_count": m["word_count"], "domain": m["domain"], "wire_agency": m["wire_agency"],
            "reclustered": found is not None,
            "similarity": found.similarity if linked else None, "method": found.method if linked else None,
            "sketch": m["sketch"], "whole_hash": m["whole_hash"],
        })
    groups = {d["dup_group"] for d in deduped}
    return {
        "articles": staging.write(f"{out}/dedup/articles.parquet", deduped, staging.DEDUPED),
        "members": staging.write(f"{out}/dedup/members.parquet", member_rows, staging.MEMBER),
        "same_id": staging.write(f"{out}/dedup/same_id.parquet", same_id, staging.LEDGER),
        "articles_in": len(rows),
        "unique": len(unique),
        "clusters": len(groups),
        "links": sum(1 for d in deduped if d["linked_to"]),
    }


# --------------------------------------------------------------------------- validate

VALIDATED_COLUMNS = [
    "article_id", "raw_id", "url", "domain", "title", "published_at", "authors", "wire_agency",
    "language", "tags", "summary", "body", "word_count", "content_hash",
]


def stage_validate(dedup_result: dict, run_id: str, settings: Settings, now: datetime | None = None) -> dict:
    """Great Expectations on the batch; failing rows go to quarantine naming the expectation."""
    from pipeline.validate import DEFAULT_SUITE_PATH, validate_articles

    out = staging.run_dir(settings.staging_url, run_id)
    table = staging.read_table(dedup_result["articles"])
    if table.num_rows == 0:  # a rerun of known input: nothing to validate, nothing recorded
        return {
            "quarantine": staging.write(f"{out}/validate/quarantine.parquet", [], staging.QUARANTINE),
            "results": staging.write(f"{out}/validate/results.parquet", [], staging.VALIDATION),
            "docs_index": None, "success": True, "warnings": [], "quarantined": 0,
        }
    frame = table.select(VALIDATED_COLUMNS).to_pandas()
    docs_dir = Path(settings.report_dir) / "data_docs"
    report = validate_articles(frame, suite_path=DEFAULT_SUITE_PATH, run_id=run_id, now=now, docs_dir=docs_dir)
    quarantined, failed_rows = [], set()
    for failure in report.row_failures:
        if failure.row_index in failed_rows:
            continue
        failed_rows.add(failure.row_index)
        row = table.slice(failure.row_index, 1).select(["raw_id", "uri"]).to_pylist()[0]
        quarantined.append({"raw_id": row["raw_id"], "uri": row["uri"], "stage": "validate", "reason": failure.expectation, "detail": f"{failure.column}: {failure.detail}"})
    if not report.success:
        raise BatchValidationError(report.suite, [r for r in report.results if r["level"] == "batch" and not r["success"]])
    return {
        "quarantine": staging.write(f"{out}/validate/quarantine.parquet", quarantined, staging.QUARANTINE),
        "results": staging.write(f"{out}/validate/results.parquet", report.results, staging.VALIDATION),
        "docs_index": report.docs_index,
        "success": report.success,
        "warnings": report.warnings,
        "quarantined": len(quarantined),
    }


class BatchValidationError(RuntimeError):
    """A batch-level expectation marked 'fail' did not hold: nothing of the batch is landed."""

    def __init__(self, suite: str, failed: list[dict]):
        names = ", ".join(f"{r['expectation']}({r['column'] or 'table'}) observed {r['observed_value']}" for r in failed)
        super().__init__(f"suite {suite!r}: batch expectations failed: {names}")
        self.failed = failed


# --------------------------------------------------------------------------- land, publish, report

def stage_land(load_result: dict, clean_results: list[dict], dedup_result: dict, validate_result: dict, run_id: str, settings: Settings) -> dict:
    from pipeline.store.land import land_batch

    return land_batch(
        run_id=run_id,
        input_description=load_result["input"],
        settings=settings,
        articles_url=dedup_result["articles"],
        members_url=dedup_result["members"],
        removed_urls=[r["removed"] for r in clean_results],
        quarantine_urls=[load_result["quarantine"]] + [r["quarantine"] for r in clean_results] + [validate_result["quarantine"]],
        ledger_urls=[load_result["unchanged"], dedup_result["same_id"]],
        site_lines_url=load_result["site_lines"],
        validation_url=validate_result["results"],
        validation_success=validate_result["success"],
        pipeline_version=__version__,
    )


def stage_publish(settings: Settings) -> dict:
    from pipeline.store.publish import publish

    return publish(settings)


def stage_report(run_id: str, settings: Settings, validate_result: dict | None = None) -> dict:
    from pipeline.report import write_run_report

    return write_run_report(run_id, settings, docs_index=(validate_result or {}).get("docs_index"))
