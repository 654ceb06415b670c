"""The stages of one run, as functions of staging paths. The DAG's tasks and ``newsingest run``
call exactly these, so both paths behave the same. Every function returns a small dict of
paths and counts (what Airflow passes through XCom)."""

from __future__ import annotations

import json
import logging
import sys
from collections import defaultdict
from collections.abc import Callable
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
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        raise DocumentError("invalid_published_at", f"{value.isoformat()} is outside the datetime range in UTC") from None


def _quarantine_row(q: Quarantined) -> dict:
    return {"raw_id": q.raw_id, "uri": q.uri, "stage": q.stage, "reason": q.reason, "detail": q.detail}


class StageClock:
    """Seconds of each stage, measured from the end of the one before."""

    def __init__(self):
        import time

        self.now = time.perf_counter
        self.seconds: dict[str, float] = {}
        self.mark = self.now()

    def lap(self, stage: str) -> None:
        now = self.now()
        self.seconds[stage] = now - self.mark
        self.mark = now

    def __str__(self) -> str:
        return ", ".join(f"{stage} {value:.2f}" for stage, value in self.seconds.items())


# --------------------------------------------------------------------------- load

def _raw_row(d: RawDocument) -> dict:
    return {
        "raw_id": d.raw_id, "uri": d.uri, "domain": d.domain, "fetched_at": d.fetched_at,
        "content_type": d.content_type, "encoding": d.encoding, "url": d.url,
        "declared": json.dumps(d.declared, ensure_ascii=False, default=str), "payload": d.payload,
    }


class _Loader:
    """Streams the inputs into raw shards: only one shard of payloads is held at a time. Per shard,
    input settled by an earlier run becomes ``unchanged`` and the site-line keys are staged, to be
    counted across the batch once every shard is written."""

    def __init__(self, out: str, settings: Settings, run_id: str, known: Callable[[list[str]], set[str]]):
        from pipeline.clean.site_lines import site_line_keys

        self.site_line_keys = site_line_keys
        self.out, self.settings, self.run_id = out, settings, run_id
        self.known = known
        self.pending: list[RawDocument] = []
        self.shards: list[str] = []
        self.key_files: list[str] = []
        self.unchanged: list[dict] = []
        self.to_clean = 0

    def add(self, doc: RawDocument) -> None:
        self.pending.append(doc)
        if len(self.pending) >= self.settings.shard_size:
            self.flush()

    def flush(self) -> None:
        docs, self.pending = self.pending, []
        known = self.known([d.raw_id for d in docs])
        self.unchanged += [_ledger_row(d.raw_id, d.uri, "unchanged", domain=d.domain) for d in docs if d.raw_id in known]
        docs = [d for d in docs if d.raw_id not in known]
        if not docs and self.shards:
            return
        number = len(self.shards)
        # At least one shard, even an empty one, so a mapped clean task always has work to map over.
        self.shards.append(staging.write(f"{self.out}/raw/shard-{number:05d}.parquet", [_raw_row(d) for d in docs], staging.RAW))
        keys = [{"domain": d.domain, "line_key": k} for d in docs if d.domain != "local" for k in self.site_line_keys(d.payload, d.content_type)]
        self.key_files.append(staging.write(f"{self.out}/load/site_keys-{number:05d}.parquet", keys, staging.SITE_KEYS))
        self.to_clean += len(docs)


def _ledger_row(raw_id: str, uri: str, outcome: str, article_id: str | None = None, reason: str | None = None, domain: str | None = None) -> dict:
    return {"raw_id": raw_id, "uri": uri, "outcome": outcome, "article_id": article_id, "reason": reason, "domain": domain}


def _renamed(items, uri_roots: dict[str, str] | None):
    """Items whose uri starts with a key of ``uri_roots`` get that prefix replaced by its value:
    files read from a claim folder keep the name they were given in the inbox."""
    if not uri_roots:
        yield from items
        return
    roots = sorted(((src.rstrip("/") + "/", dst.rstrip("/") + "/") for src, dst in uri_roots.items()), key=lambda r: -len(r[0]))
    for item in items:
        for src, dst in roots:
            if item.uri.startswith(src):
                item.uri = dst + item.uri[len(src):]
                break
        yield item


def stage_load(inputs: list[str], run_id: str, settings: Settings, uri_roots: dict[str, str] | None = None) -> dict:
    """Read the input files into raw shards, streaming; settle known input and unreadable files at
    once. A file whose bytes equal an earlier input of the batch is staged as a copy of it (its
    outcome follows the first one's at land) rather than cleaned twice."""
    from pipeline.sources import iter_documents
    from pipeline.store import read_connection
    from pipeline.store.known_input import KnownInput

    out = staging.run_dir(settings.staging_url, run_id)
    quarantined: list[dict] = []
    copies: list[dict] = []
    seen: set[str] = set()
    with read_connection(settings.db_path, settings.lock_retry_seconds) as corpus:
        known_input = KnownInput(corpus, run_id)  # one reading session for the whole load: opening one costs about 60 ms
        loader = _Loader(out, settings, run_id, known_input)
        for item in _renamed(iter_documents(inputs, settings.max_document_bytes), uri_roots):
            if item.raw_id in seen:
                copies.append({"raw_id": item.raw_id, "uri": item.uri, "domain": getattr(item, "domain", None)})
                continue
            seen.add(item.raw_id)
            if isinstance(item, Quarantined):
                quarantined.append(_quarantine_row(item))
            else:
                loader.add(item)
        loader.flush()
        known = known_input([q["raw_id"] for q in quarantined])
    unchanged = loader.unchanged + [_ledger_row(q["raw_id"], q["uri"], "unchanged") for q in quarantined if q["raw_id"] in known]
    quarantined = [q for q in quarantined if q["raw_id"] not in known]
    site_lines, boilerplate = count_site_lines(loader.key_files, out, settings, run_id)
    return {
        "run_id": run_id,
        "input": ",".join(map(str, inputs)),
        "shards": loader.shards,
        "quarantine": staging.write(f"{out}/load/quarantine.parquet", quarantined, staging.QUARANTINE),
        "unchanged": staging.write(f"{out}/load/unchanged.parquet", unchanged, staging.LEDGER),
        "copies": staging.write(f"{out}/load/copies.parquet", copies, staging.COPIES),
        "site_lines": site_lines,
        "boilerplate": boilerplate,
        "documents": loader.to_clean + len(quarantined) + len(unchanged) + len(copies),
        "to_clean": loader.to_clean,
    }


COUNT_MEMORY_LIMIT = "256MB"


def count_site_lines(key_files: list[str], out: str, settings: Settings, run_id: str = "") -> tuple[str, str]:
    """This batch's site-line counts (added to ``site_lines`` at land) and the lines of this batch
    that the batch and the stored history together repeat often enough to be site boilerplate.
    Counted in DuckDB, which spills to disk, so a large batch costs no more memory than a small one."""
    import duckdb

    from pipeline.store import read_connection
    from pipeline.store.db import run_landed

    counts_url, learned_url = f"{out}/load/site_lines.parquet", f"{out}/load/site_boilerplate.parquet"
    with read_connection(settings.db_path, settings.lock_retry_seconds) as stored:
        con = stored if stored is not None else duckdb.connect()
        try:
            con.execute(f"SET memory_limit = '{COUNT_MEMORY_LIMIT}'")  # the aggregation spills to disk past it
            batch = staging.parquet_source(con, key_files)
            counts = con.sql(f"SELECT domain, line_key, count(*)::INTEGER AS doc_count FROM {batch} GROUP BY ALL ORDER BY ALL").to_arrow_table()
            con.register("batch_site_lines", counts)
            history = "SELECT domain, line_key, doc_count FROM site_lines" if stored is not None else "SELECT NULL::VARCHAR AS domain, NULL::VARCHAR AS line_key, 0 AS doc_count WHERE false"
            # A retry of a run that already landed finds its own counts in the history: not twice.
            own = 0 if stored is None or not run_landed(stored, run_id) else 1
            learned = con.sql(
                f"""
                SELECT b.domain, b.line_key FROM batch_site_lines b LEFT JOIN ({history}) h USING (domain, line_key)
                WHERE b.doc_count * {1 - own} + coalesce(h.doc_count, 0) >= {int(settings.site_repeat_min_docs)} ORDER BY ALL
                """
            ).to_arrow_table()
            con.unregister("batch_site_lines")
        finally:
            if stored is None:
                con.close()
    staging.write_table(counts_url, counts.cast(staging.SITE_LINES))
    staging.write_table(learned_url, learned.cast(staging.SITE_KEYS))
    return counts_url, learned_url


# --------------------------------------------------------------------------- clean

def site_boilerplate(settings: Settings, boilerplate_url: str, domains: set[str] | None = None) -> dict[str, frozenset[str]]:
    """Per domain, the lines of this batch that the batch and the stored history together repeat
    often enough (``count_site_lines``); with ``domains``, only theirs are read."""
    table = staging.read_table(boilerplate_url, filters=[("domain", "in", sorted(domains))] if domains else None)
    learned: dict[str, set[str]] = defaultdict(set)
    for domain, key in zip(table.column("domain").to_pylist(), table.column("line_key").to_pylist()):
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


def clean_raw(raw: RawDocument, settings: Settings, boilerplate: dict[str, frozenset[str]], force_format: str | None = None, min_body_words: int | None = None) -> Article | Quarantined:
    """``min_body_words`` below the settings' keeps short texts (the clean stage does, so a short
    near-copy of an article can be linked to it; ``with_dedup_keys`` marks them)."""
    from pipeline.clean import clean_document

    try:
        article = clean_document(
            raw,
            min_body_words=settings.min_body_words if min_body_words is None else min_body_words,
            site_boilerplate=boilerplate.get(raw.domain, frozenset()),
            force_format=force_format,
            time_limit_seconds=settings.max_clean_seconds,
        )
        utc(article.published_at)  # a date outside the UTC range is this document's problem, not the batch's
        return article
    except DocumentError as exc:
        return Quarantined(raw.raw_id, raw.uri, "clean", exc.reason, exc.detail)
    except Exception as exc:  # an extractor bug must cost one document, not the batch
        log.exception("unexpected error cleaning %s", raw.uri)
        return Quarantined(raw.raw_id, raw.uri, "clean", "cleaner_error", f"{type(exc).__name__}: {exc}"[:500])


SHORT_TEXT_MIN_WORDS = 5  # under this, a text is not matched as a near-copy: it stays no_article_text


def with_dedup_keys(rows: list[dict], min_body_words: int) -> list[dict]:
    """Article rows with what deduplication needs (sketch, whole-text hash, story terms, short),
    computed where the bodies already are, so the dedup stage reads no bodies."""
    from pipeline.dedup.sketch import sketch_texts
    from pipeline.dedup.story import story_terms

    for row, (samples, _, whole) in zip(rows, sketch_texts([r["body"] for r in rows])):
        row.update(sketch=samples, whole_hash=whole, story_terms=story_terms(row["title"], row["body"]), short=row["word_count"] < min_body_words)
    return rows


def stage_clean(shard_url: str, boilerplate_url: str, settings: Settings) -> dict:
    shard = staging.read_table(shard_url)
    boilerplate = site_boilerplate(settings, boilerplate_url, set(shard.column("domain").to_pylist()))
    articles, removed, quarantined = [], [], []
    keep_short = min(settings.min_body_words, SHORT_TEXT_MIN_WORDS)
    for row in shard.to_pylist():
        result = clean_raw(raw_from_row(row), settings, boilerplate, min_body_words=keep_short)
        if isinstance(result, Quarantined):
            quarantined.append(_quarantine_row(result))
            continue
        articles.append(article_row(result))
        removed.extend(
            {"article_id": result.article_id, "raw_id": result.raw_id, "position": s.position, "text": s.text, "reason": s.reason}
            for s in result.removed
        )
    del shard
    with_dedup_keys(articles, settings.min_body_words)
    base = shard_url.removesuffix(".parquet").replace("/raw/", "/clean/")
    return {
        "articles": staging.write(f"{base}.articles.parquet", articles, staging.CLEANED),
        "removed": staging.write(f"{base}.removed.parquet", removed, staging.REMOVED),
        "quarantine": staging.write(f"{base}.quarantine.parquet", quarantined, staging.QUARANTINE),
        "cleaned": len(articles),
        "quarantined": len(quarantined),
    }


# --------------------------------------------------------------------------- dedup

DEDUP_CHUNK_ROWS = 8192  # verdict rows built and written at a time (their sketches, about 12 MB)


def stage_dedup(clean_results: list[dict], run_id: str, settings: Settings) -> dict:
    """Exact, near-duplicate and story levels, against this batch and the stored history."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from pipeline.dedup.history import StoredIndex
    from pipeline.dedup.near import near_duplicates_columns
    from pipeline.dedup.story import stories_of
    from pipeline.store.db import run_landed
    from pipeline.store.reindex import history_connection

    out = staging.run_dir(settings.staging_url, run_id)
    # Column by column, never a dict per article: the batch's sketches are held once, as the
    # bytes the clustering reads, and the other columns stay in Arrow until they are written.
    table, sketches, terms = _dedup_input([r["articles"] for r in clean_results])
    # One row per article_id: the same URL (or, without one, the same body) twice in a batch.
    order = pc.sort_indices(table, sort_keys=[("article_id", "ascending"), ("raw_id", "ascending")]).to_pylist()
    ids = table.column("article_id").to_pylist()
    keep, repeated, last = [], [], None
    for i in order:
        (repeated if ids[i] == last else keep).append(i)
        last = ids[i]
    del order
    same_id = [
        _ledger_row(raw_id, uri, "duplicate", article_id, "same_article_id", domain)
        for raw_id, uri, article_id, domain in zip(*(table.column(c).take(pa.array(repeated, pa.int64())).to_pylist() for c in ("raw_id", "uri", "article_id", "domain")))
    ]
    sketches, terms = [sketches[i] for i in keep], [terms[i] for i in keep]

    def column(name: str) -> list:
        values = table.column(name).to_pylist()
        return [values[i] for i in keep]

    ids, published = [ids[i] for i in keep], column("published_at")
    batch_ids = set(ids)
    with history_connection(settings.db_path, settings.lock_retry_seconds) as con, \
            StoredIndex(settings, con, hide_run=run_id if con is not None and run_landed(con, run_id) else None) as history:
        near = near_duplicates_columns({
            "article_id": ids, "published_at": published, "sketch": sketches,
            "word_count": column("word_count"), "whole_hash": column("whole_hash"),
            "domain": [sys.intern(d) for d in column("domain")], "wire_agency": column("wire_agency"),  # a few names repeat across the batch
        }, history if history.available else None, settings.near_dup_threshold, settings.min_body_words)
        short = []
        if near.unmatched_short:
            gone = [a in near.unmatched_short for a in ids]
            dropped = table.take(pa.array([i for i, g in zip(keep, gone) if g], pa.int64()))
            short = _unmatched_short(dropped.column("raw_id").to_pylist(), dropped.column("uri").to_pylist(), dropped.column("word_count").to_pylist(), settings)
            keep, ids, published, sketches, terms = ([v for v, g in zip(values, gone) if not g] for values in (keep, ids, published, sketches, terms))
        stories = stories_of(dict(zip(ids, terms)), dict(zip(ids, published)), near, history, settings, batch_ids)
    del terms, published, batch_ids
    sf, members = stories.groups, stories.members
    # Written a chunk at a time: only a chunk's sketches are ever in Arrow beside the Python ones.
    groups: set[str] = set()
    links = 0

    def chunks():
        nonlocal links
        for start in range(0, len(ids), DEDUP_CHUNK_ROWS):
            part = table.take(pa.array(keep[start : start + DEDUP_CHUNK_ROWS], pa.int64()))
            found = [near.assigned[a] for a in ids[start : start + DEDUP_CHUNK_ROWS]]
            linked = [f.canonical != a for f, a in zip(found, ids[start : start + DEDUP_CHUNK_ROWS])]
            links += sum(linked)
            groups.update(f.canonical for f in found)
            computed = {
                "dup_group": [f.canonical for f in found],
                "similarity": [f.similarity if k else None for f, k in zip(found, linked)],
                "method": [f.method if k else None for f, k in zip(found, linked)],
                "linked_to": [f.canonical if k else None for f, k in zip(found, linked)],
                "story_group": [sf.find(a) for a in ids[start : start + DEDUP_CHUNK_ROWS]],
                "sketch": sketches[start : start + DEDUP_CHUNK_ROWS],
            }
            yield pa.table([
                part.column(f.name).cast(f.type) if f.name in part.column_names else pa.array(computed[f.name], f.type) for f in staging.DEDUPED
            ], schema=staging.DEDUPED)

    articles = staging.write_chunks(f"{out}/dedup/articles.parquet", staging.DEDUPED, chunks())
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
    return {
        "articles": articles,
        "members": staging.write(f"{out}/dedup/members.parquet", member_rows, staging.MEMBER),
        "same_id": staging.write(f"{out}/dedup/same_id.parquet", same_id, staging.LEDGER),
        "quarantine": staging.write(f"{out}/dedup/quarantine.parquet", short, staging.QUARANTINE),
        "articles_in": len(ids) + len(same_id) + len(short),
        "unique": len(ids),
        "clusters": len(groups),
        "links": links,
    }


def _dedup_input(urls: list[str]):
    """The clean stage's dedup columns of a batch: a table of all but the sketches, and the
    sketches (bytes) and story terms (lists of interned names) as Python lists. The sketches are
    read a file at a time, so those of the whole batch never exist in Arrow as well."""
    import pyarrow as pa

    table = staging.read_columns(urls, [c for c in staging.DEDUP_INPUT if c != "sketch"]).combine_chunks()  # one chunk: a take does not concatenate it again
    sketches = []
    for url in urls:
        sketches += staging.read_table(url, columns=["sketch"]).column("sketch").to_pylist()
        pa.default_memory_pool().release_unused()  # else the allocator keeps every file's pages
    terms = []
    for start in range(0, table.num_rows, DEDUP_CHUNK_ROWS):  # names repeat across the batch: one string object each
        terms += [[sys.intern(t) for t in names] for names in table.column("story_terms").slice(start, DEDUP_CHUNK_ROWS).to_pylist()]
    return table, sketches, terms


def _unmatched_short(raw_ids: list[str], uris: list[str], word_counts: list[int], settings: Settings) -> list[dict]:
    """Quarantine rows for the short texts that are no near-copy of a full article."""
    return [
        {"raw_id": raw_id, "uri": uri, "stage": "dedup", "reason": "no_article_text",
         "detail": f"{words} words of article text after cleaning, need at least {settings.min_body_words}, and no near-copy of a longer article in the batch or the history"}
        for raw_id, uri, words in zip(raw_ids, uris, word_counts)
    ]


# --------------------------------------------------------------------------- validate

VALIDATED_COLUMNS = [
    "article_id", "raw_id", "url", "domain", "title", "published_at", "authors", "wire_agency",
    "language", "tags", "summary", "body", "word_count", "content_hash",
]


def stage_validate(dedup_result: dict, clean_results: list[dict], run_id: str, settings: Settings, now: datetime | None = None) -> dict:
    """Great Expectations on the batch's articles (read from the clean stage's files, a chunk of
    ``validate_chunk_rows`` at a time, so memory does not grow with the batch); failing rows go to
    quarantine naming the expectation. Batch-level expectations hold for every chunk."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from pipeline.validate import DEFAULT_SUITE_PATH, merge_reports, validate_articles

    out = staging.run_dir(settings.staging_url, run_id)
    wanted = staging.read_table(dedup_result["articles"], columns=["raw_id"]).column("raw_id")
    empty = {
        "quarantine": staging.write(f"{out}/validate/quarantine.parquet", [], staging.QUARANTINE),
        "results": staging.write(f"{out}/validate/results.parquet", [], staging.VALIDATION),
        "docs_index": None, "success": True, "warnings": [], "quarantined": 0,
    }
    if len(wanted) == 0:  # a rerun of known input: nothing to validate, nothing recorded
        return empty
    docs_dir = Path(settings.report_dir) / "data_docs"
    chunk_rows = max(1, settings.validate_chunk_rows)
    total = len(wanted)
    reports, quarantined, pending, pending_rows, done = [], [], [], 0, 0

    def validate(tables: list) -> None:
        nonlocal done
        table = pa.concat_tables(tables)
        done += table.num_rows
        last = done >= total
        report = validate_articles(table.select(VALIDATED_COLUMNS).to_pandas(), suite_path=DEFAULT_SUITE_PATH, run_id=run_id, now=now, docs_dir=docs_dir if last else None,
                                   docs_keep=settings.data_docs_keep)
        failed_rows: set[int] = set()
        for failure in report.row_failures:
            if failure.row_index in failed_rows:
                continue
            failed_rows.add(failure.row_index)
            row = table.slice(failure.row_index, 1).select(["raw_id", "uri"]).to_pylist()[0]
            quarantined.append({"raw_id": row["raw_id"], "uri": row["uri"], "stage": "validate", "reason": failure.expectation, "detail": f"{failure.column}: {failure.detail}"})
        reports.append(report)

    columns = VALIDATED_COLUMNS + ["uri"]
    for result in clean_results:
        table = staging.read_table(result["articles"], columns=columns)
        table = table.filter(pc.is_in(table.column("raw_id"), value_set=wanted))
        while table.num_rows:
            take = min(table.num_rows, chunk_rows - pending_rows)
            pending.append(table.slice(0, take))
            pending_rows += take
            table = table.slice(take)
            if pending_rows >= chunk_rows:
                validate(pending)
                pending, pending_rows = [], 0
    if pending:
        validate(pending)
    report = merge_reports(reports)
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
        self.suite, self.failed = suite, failed

    def __reduce__(self):  # raised in the validating process, re-raised in the run's
        return type(self), (self.suite, self.failed)


# --------------------------------------------------------------------------- land, report

def stage_land(load_result: dict, clean_results: list[dict], dedup_result: dict, validate_result: dict, run_id: str, settings: Settings) -> dict:
    from pipeline.store.land import land_batch

    return land_batch(
        run_id=run_id,
        input_description=load_result["input"],
        settings=settings,
        articles_url=dedup_result["articles"],
        article_urls=[r["articles"] for r in clean_results],
        members_url=dedup_result["members"],
        removed_urls=[r["removed"] for r in clean_results],
        quarantine_urls=[load_result["quarantine"]] + [r["quarantine"] for r in clean_results] + [dedup_result["quarantine"], validate_result["quarantine"]],
        ledger_urls=[load_result["unchanged"], dedup_result["same_id"]],
        copies_url=load_result.get("copies"),
        site_lines_url=load_result["site_lines"],
        validation_url=validate_result["results"],
        validation_success=validate_result["success"],
        pipeline_version=__version__,
    )


def stage_report(run_id: str, settings: Settings, validate_result: dict | None = None) -> dict:
    """The reports of the landed run. Its source health was judged in land's commit: drifting
    sources are in the summary; ``pipeline.monitor.health.enforce`` decides what they cost the run."""
    from pipeline.report import write_run_report

    return write_run_report(run_id, settings, docs_index=(validate_result or {}).get("docs_index"))


# --------------------------------------------------------------------------- the inbox queue, micro-batches

def landed_runs(settings: Settings) -> Callable[[str], bool]:
    """``is_landed(run_id)`` against the corpus, for the queue's recovery of claims."""
    from pipeline.store.db import read_connection, run_landed

    def is_landed(run_id: str) -> bool:
        with read_connection(settings.db_path) as con:
            return con is not None and run_landed(con, run_id)

    return is_landed


def claim_queue(run_id: str, settings: Settings):
    """Claim everything pending in the inbox and the fetch queue for this run (``pipeline.inbox``)."""
    from pipeline.inbox.queue import claim

    return claim(settings, run_id, landed_runs(settings))


def stage_rest(loaded: dict, run_id: str, settings: Settings) -> dict:
    """Clean, dedup, validate, land and report a loaded batch in this task: a micro-batch pays for
    one task start and one set of imports instead of six. Shards are cleaned on every core while
    Great Expectations is imported on a thread. Prints where the time went."""
    from pipeline.workers import clean_shard, import_in_background, process_pool

    clock = StageClock()
    lap = clock.lap

    validation_import = import_in_background("pipeline.validate.gx_import")
    import_in_background("pipeline.report.charts")
    jobs = [(shard, loaded["boilerplate"], settings) for shard in loaded["shards"]]
    workers = min(settings.worker_count, len(jobs))
    if workers > 1:
        with process_pool(workers) as pool:
            cleaned = list(pool.map(clean_shard, jobs))
    else:
        cleaned = [clean_shard(job) for job in jobs]
    lap("clean")
    validation_import.join()
    lap("import")
    deduped = stage_dedup(cleaned, run_id, settings)
    lap("dedup")
    validated = stage_validate(deduped, cleaned, run_id, settings)
    lap("validate")
    stage_land(loaded, cleaned, deduped, validated, run_id, settings)
    lap("land")
    summary = stage_report(run_id, settings, validated)
    lap("report")
    print(f"{loaded['to_clean']} documents to clean; seconds: {clock}")
    return summary
