"""Land: the only writer. One transaction per batch, bulk (Arrow tables registered in DuckDB),
upserts keyed on stable ids, so a rerun leaves the same state."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import pyarrow as pa

from pipeline import staging
from pipeline.dedup.canonical import Member, choose_canonical
from pipeline.dedup.cluster import Assignment, Doc
from pipeline.dedup.cluster import cluster as near_cluster
from pipeline.dedup.history import doc_key, key_table
from pipeline.settings import Settings
from pipeline.store.db import connect

ARTICLE_COLUMNS = (
    "article_id, raw_id, url, domain, title, published_at, authors, wire_agency, language, tags, summary, body, "
    "word_count, content_hash, dup_cluster_id, is_canonical, story_id, run_id, pipeline_version, ingested_at, uri"
)


def _member(row: dict) -> Member:
    return Member(row["article_id"], row["published_at"], row["word_count"], row["domain"] or "", row["wire_agency"])


def _elect(batch: list[dict], members: list[dict], dropped: set[str]):
    """Canonical copy (the dedup stage's cluster leader) and story id per article, batch and stored,
    and the links measured again for the copies of a cluster whose leader was quarantined."""
    stories: dict[str, list[str]] = defaultdict(list)
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in batch + members:
        stories[row["story_group"]].append(row["article_id"])
        groups[row["dup_group"]].append(row)
    cluster: dict[str, tuple[str, bool]] = {}
    relinked: dict[str, Assignment] = {}
    for leader, rows in groups.items():
        if leader in dropped:
            # The leader was quarantined: its copies are clustered again without it, so each is
            # linked (or not) by its similarity to the copy that now leads, not to the dropped one.
            sketched = [r for r in rows if r["sketch"] is not None]
            relinked.update(near_cluster([Doc(r["article_id"], r["sketch"], r["whole_hash"], _member(r)) for r in sketched]))
            leader = choose_canonical([_member(r) for r in rows]).article_id
            for r in rows:
                found = relinked.get(r["article_id"])
                cluster[r["article_id"]] = (found.canonical, found.canonical == r["article_id"]) if found else (leader, r["article_id"] == leader)
            continue
        for r in rows:
            cluster[r["article_id"]] = (leader, r["article_id"] == leader)
    story = {a: min(ids) for ids in stories.values() for a in ids}
    return cluster, story, relinked


def land_batch(
    *,
    run_id: str,
    input_description: str,
    settings: Settings,
    articles_url: str,
    members_url: str,
    removed_urls: list[str],
    quarantine_urls: list[str],
    ledger_urls: list[str],
    site_lines_url: str,
    validation_url: str,
    validation_success: bool,
    pipeline_version: str,
) -> dict:
    now = datetime.now(UTC)
    quarantine = staging.read_many(quarantine_urls, staging.QUARANTINE)
    quarantined_raw = {q["raw_id"] for q in quarantine}
    deduped = staging.read(articles_url)
    batch = [r for r in deduped if r["raw_id"] not in quarantined_raw]
    batch_ids = {r["article_id"] for r in deduped}
    # The dedup stage never passes a batch article as a stored member; its stored version is replaced.
    members = [m for m in staging.read(members_url) if m["article_id"] not in batch_ids]
    cluster, story, relinked = _elect(batch, members, {r["article_id"] for r in deduped if r["raw_id"] in quarantined_raw})
    for row in batch + members:
        found = relinked.get(row["article_id"])
        if found is not None:
            linked = found.canonical != row["article_id"]
            row.update(linked_to=found.canonical if linked else None, similarity=found.similarity if linked else None,
                       method=found.method if linked else None, reclustered=True)

    landed_ids = {r["article_id"] for r in batch}
    articles = [
        {
            **{k: r[k] for k in staging.ARTICLE.names},
            "dup_cluster_id": cluster[r["article_id"]][0], "is_canonical": cluster[r["article_id"]][1],
            "story_id": story[r["article_id"]], "run_id": run_id, "pipeline_version": pipeline_version, "ingested_at": now,
        }
        for r in batch
    ]
    updates = [
        {"article_id": m["article_id"], "dup_cluster_id": cluster[m["article_id"]][0], "is_canonical": cluster[m["article_id"]][1], "story_id": story[m["article_id"]]}
        for m in members
    ]
    links = [
        {"article_id": r["article_id"], "linked_to": r["linked_to"], "similarity": r["similarity"], "method": r["method"]}
        for r in batch if r["linked_to"]
    ] + [
        {"article_id": m["article_id"], "linked_to": cluster[m["article_id"]][0], "similarity": m["similarity"], "method": m["method"]}
        for m in members if m["reclustered"] and not cluster[m["article_id"]][1]
    ]
    removed = [r for r in staging.read_many(removed_urls, staging.REMOVED) if r["article_id"] in landed_ids]
    # The near-duplicate index: every landed sketch; LSH keys for the canonical copies of touched clusters.
    reindexed = batch + [m for m in members if m["reclustered"]]
    leaders = [r for r in reindexed if cluster[r["article_id"]][1]]
    terms = [(r["article_id"], t) for r in batch for t in r["story_terms"]]
    ledger = staging.read_many(ledger_urls, staging.LEDGER)
    ledger += [{"raw_id": q["raw_id"], "uri": q["uri"], "outcome": "quarantined", "article_id": None, "reason": q["reason"]} for q in quarantine]
    ledger += [
        {"raw_id": r["raw_id"], "uri": r["uri"], "outcome": "article" if cluster[r["article_id"]][1] else "duplicate",
         "article_id": r["article_id"], "reason": None if cluster[r["article_id"]][1] else r["method"] or "cluster"}
        for r in batch
    ]
    # A raw document quarantined at two stages is one outcome: the first stage's reason.
    seen: set[str] = set()
    ledger = [row for row in ledger if not (row["raw_id"] in seen or seen.add(row["raw_id"]))]
    seen.clear()
    quarantine = [q for q in quarantine if not (q["raw_id"] in seen or seen.add(q["raw_id"]))]
    counts = {o: sum(1 for row in ledger if row["outcome"] == o) for o in ("article", "duplicate", "quarantined", "unchanged")}

    tables = {
        "batch_articles": pa.Table.from_pylist(articles, schema=pa.schema(list(staging.ARTICLE) + [
            ("dup_cluster_id", pa.string()), ("is_canonical", pa.bool_()), ("story_id", pa.string()),
            ("run_id", pa.string()), ("pipeline_version", pa.string()), ("ingested_at", staging.TS)])),
        "batch_updates": pa.Table.from_pylist(updates, schema=pa.schema([
            ("article_id", pa.string()), ("dup_cluster_id", pa.string()), ("is_canonical", pa.bool_()), ("story_id", pa.string())])),
        "batch_links": pa.Table.from_pylist(links, schema=pa.schema([
            ("article_id", pa.string()), ("linked_to", pa.string()), ("similarity", pa.float64()), ("method", pa.string())])),
        "batch_removed": pa.Table.from_pylist(removed, schema=staging.REMOVED),
        "batch_sketches": pa.table({
            "article_id": pa.array([r["article_id"] for r in batch], pa.string()),
            "doc_key": pa.array([doc_key(r["article_id"]) for r in batch], pa.uint64()),
            "whole_hash": pa.array([r["whole_hash"] for r in batch], pa.uint64()),
            "sketch": pa.array([r["sketch"] for r in batch], pa.binary()),
        }),
        "batch_reindexed": pa.table({"doc_key": pa.array([doc_key(r["article_id"]) for r in reindexed], pa.uint64())}),
        "batch_keys": key_table([doc_key(r["article_id"]) for r in leaders], [r["sketch"] for r in leaders]),
        "batch_terms": pa.table({"article_id": [a for a, _ in terms], "term": pa.array([t for _, t in terms], pa.string())}),
        "batch_quarantine": pa.Table.from_pylist(quarantine, schema=staging.QUARANTINE),
        "batch_ledger": pa.Table.from_pylist(ledger, schema=staging.LEDGER),
        "batch_site_lines": staging.read_table(site_lines_url),
        "batch_validation": staging.read_table(validation_url),
    }
    with connect(settings.db_path, settings.lock_retry_seconds) as con:
        for name, table in tables.items():
            con.register(name, table)
        con.execute("BEGIN TRANSACTION")
        try:
            _write(con, run_id, input_description, pipeline_version, now, counts, validation_success)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        con.execute("CHECKPOINT")
    return {"run_id": run_id, **counts, "documents": len(ledger), "removed_segments": len(removed)}


def _write(con, run_id, input_description, version, now, counts, validation_success) -> None:
    params = {"run_id": run_id, "version": version, "now": now}
    con.execute(f"INSERT OR REPLACE INTO articles ({ARTICLE_COLUMNS}) SELECT {ARTICLE_COLUMNS} FROM batch_articles")
    con.execute(
        "UPDATE articles SET dup_cluster_id = u.dup_cluster_id, is_canonical = u.is_canonical, story_id = u.story_id "
        "FROM batch_updates u WHERE articles.article_id = u.article_id"
    )
    con.execute("INSERT OR REPLACE INTO dup_links SELECT article_id, linked_to, similarity, method FROM batch_links")
    # duplicates: every non-canonical member of a touched cluster, with the similarity of its verified link.
    con.execute(
        """
        DELETE FROM duplicates WHERE article_id IN (
            SELECT article_id FROM batch_articles UNION SELECT article_id FROM batch_updates)
        """
    )
    con.execute(
        """
        INSERT INTO duplicates (article_id, canonical_id, similarity, method, run_id)
        SELECT a.article_id, a.dup_cluster_id, coalesce(l.similarity, 1.0), coalesce(l.method, 'cluster'), $run_id
        FROM articles a LEFT JOIN dup_links l USING (article_id)
        WHERE NOT a.is_canonical AND a.article_id IN (
            SELECT article_id FROM batch_articles UNION SELECT article_id FROM batch_updates)
        """,
        {"run_id": run_id},
    )
    con.execute(
        "INSERT OR REPLACE INTO removed_segments SELECT article_id, position, text, reason, $run_id FROM batch_removed",
        {"run_id": run_id},
    )
    con.execute("INSERT OR REPLACE INTO near_sketches SELECT article_id, doc_key, whole_hash, sketch FROM batch_sketches")
    con.execute("DELETE FROM near_keys WHERE doc_key IN (SELECT doc_key FROM batch_reindexed)")
    con.execute("INSERT INTO near_keys SELECT key, doc_key, size FROM batch_keys")
    con.execute("DELETE FROM story_terms WHERE article_id IN (SELECT article_id FROM batch_articles)")
    con.execute("INSERT INTO story_terms SELECT term, article_id FROM batch_terms")
    con.execute(
        "INSERT OR IGNORE INTO quarantine SELECT raw_id, uri, stage, reason, detail, $run_id, $version, $now FROM batch_quarantine",
        params,
    )
    con.execute(
        """
        INSERT INTO site_lines SELECT domain, line_key, doc_count FROM batch_site_lines
        ON CONFLICT (domain, line_key) DO UPDATE SET doc_count = site_lines.doc_count + excluded.doc_count
        """
    )
    con.execute("INSERT OR REPLACE INTO run_ledger SELECT $run_id, raw_id, uri, outcome, article_id, reason FROM batch_ledger", {"run_id": run_id})
    con.execute("DELETE FROM validation_results WHERE run_id = $run_id", {"run_id": run_id})
    con.execute(
        'INSERT INTO validation_results SELECT $run_id, suite, expectation, "column", success, observed_value, unexpected_count, level, $now FROM batch_validation',
        {"run_id": run_id, "now": now},
    )
    con.execute(
        """
        INSERT OR REPLACE INTO runs (run_id, started_at, finished_at, input, pipeline_version, documents, articles,
                                     duplicates, quarantined, unchanged, validation_success, status)
        VALUES ($run_id, coalesce((SELECT started_at FROM runs WHERE run_id = $run_id), $now), $now, $input, $version,
                $documents, $article, $duplicate, $quarantined, $unchanged, $validation_success, 'landed')
        """,
        {**params, "input": input_description, "documents": sum(counts.values()), **counts, "validation_success": validation_success},
    )
