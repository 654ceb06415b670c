"""Land: one commit per batch (one DuckLake snapshot, tagged with the run id), bulk, keyed on
stable ids (delete and insert, MERGE for counters), so a rerun leaves the same state. A commit
that meets a concurrent writer's is rolled back and tried again whole (``db.retrying``). Bodies, removed segments and sketches go from the staged Parquet files into
DuckDB without passing through Python objects: the land stage holds the batch's verdicts (ids,
clusters, stories), never its payloads."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import staging
from pipeline.dedup.canonical import Member, choose_canonical
from pipeline.dedup.cluster import Assignment, Doc
from pipeline.dedup.cluster import cluster as near_cluster
from pipeline.dedup.keys import doc_key, key_table
from pipeline.monitor import health
from pipeline.settings import Settings
from pipeline.store.db import CORPUS, connect, retrying, rollback, run_landed
from pipeline.store.reindex import record_sketch_version

ARTICLE_COLUMNS = (
    "article_id, raw_id, url, domain, title, published_at, authors, wire_agency, language, tags, summary, body, "
    "word_count, content_hash, dup_cluster_id, is_canonical, story_id, run_id, pipeline_version, ingested_at, uri"
)
VERDICT_COLUMNS = [name for name in staging.DEDUPED.names if name not in ("sketch", "story_terms")]  # both go in by SQL
KEY_CHUNK = 5_000  # leaders whose index keys are computed and inserted at a time
ARTICLE_CHUNK_ROWS = 10_000  # clean-stage rows (bodies) appended to articles by one statement
LINKS = pa.schema([("article_id", pa.string()), ("linked_to", pa.string()), ("similarity", pa.float64()), ("method", pa.string())])


def _member(row: dict, min_body_words: int) -> Member:
    return Member(row["article_id"], row["published_at"], row["word_count"], row["domain"] or "", row["wire_agency"], row["word_count"] < min_body_words)


def _elect(batch: pa.Table, members: list[dict], dropped: set[str], sketches, min_body_words: int):
    """Canonical copy (the dedup stage's cluster leader) and story id per article, batch and stored,
    and the links measured again for the copies of a cluster whose leader was quarantined.
    ``sketches(ids)`` gives (sketch, whole hash) of batch articles, read only for such clusters.
    The batch's answers are columns beside ``batch`` (dup_cluster_id, is_canonical, story_id);
    the stored members' are dicts by article id, as are the relinked."""
    ids, leaders = batch.column("article_id"), batch.column("dup_group")
    # Story id: the smallest article id of the story group, batch and stored members together.
    grouped = pa.table({
        "article_id": pa.chunked_array([*ids.chunks, pa.array([m["article_id"] for m in members], pa.string())], pa.string()),
        "story_group": pa.chunked_array([*batch.column("story_group").chunks, pa.array([m["story_group"] for m in members], pa.string())], pa.string()),
    })
    firsts = grouped.group_by("story_group", use_threads=False).aggregate([("article_id", "min")])
    story_ids = pc.take(firsts.column("article_id_min"), pc.index_in(grouped.column("story_group"), value_set=firsts.column("story_group").combine_chunks(), skip_nulls=False))
    story = dict(zip((m["article_id"] for m in members), story_ids.slice(len(ids)).to_pylist()))
    cluster: dict[str, tuple[str, bool]] = {m["article_id"]: (m["dup_group"], m["article_id"] == m["dup_group"]) for m in members}
    relinked: dict[str, Assignment] = {}
    regrouped = pc.is_in(leaders, value_set=pa.array(sorted(dropped), pa.string()))
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in batch.filter(regrouped).select(VERDICT_COLUMNS).to_pylist() + [m for m in members if m["dup_group"] in dropped]:
        groups[row["dup_group"]].append(row)
    for rows in groups.values():
        # The leader was quarantined: its copies are clustered again without it, so each is
        # linked (or not) by its similarity to the copy that now leads, not to the dropped one.
        found_sketches = sketches([r["article_id"] for r in rows if "sketch" not in r])
        docs = []
        for r in rows:
            sketch, whole = (r["sketch"], r["whole_hash"]) if "sketch" in r else found_sketches.get(r["article_id"], (None, None))
            if sketch is not None:
                docs.append(Doc(r["article_id"], sketch, whole, _member(r, min_body_words)))
        relinked.update(near_cluster(docs))
        leader = choose_canonical([_member(r, min_body_words) for r in rows]).article_id
        for r in rows:
            found = relinked.get(r["article_id"])
            cluster[r["article_id"]] = (found.canonical, found.canonical == r["article_id"]) if found else (leader, r["article_id"] == leader)
    regrouped_ids = {a: cluster[a] for a in batch.filter(regrouped).column("article_id").to_pylist()}
    elected = {
        "dup_cluster_id": _override(ids, leaders, {a: c[0] for a, c in regrouped_ids.items()}, pa.string()),
        "is_canonical": _override(ids, pc.equal(ids, leaders), {a: c[1] for a, c in regrouped_ids.items()}, pa.bool_()),
        "story_id": story_ids.slice(0, len(ids)),
    }
    return elected, cluster, story, relinked


def _override(ids: pa.ChunkedArray, column, values: dict, type_: pa.DataType):
    """``column`` with ``values`` (article id -> value) in the rows of the articles it names."""
    if not values:
        return column
    at = pc.index_in(ids, value_set=pa.array(list(values), pa.string()))
    return pc.if_else(pc.is_valid(at), pc.take(pa.array(list(values.values()), type_), at), column)


def _first_per_document(table: pa.Table) -> pa.Table:
    """A document quarantined at two stages is one outcome: the first stage's reason."""
    numbered = table.append_column("row_number", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    first = numbered.group_by(["raw_id", "uri"], use_threads=False).aggregate([("row_number", "min")]).column("row_number_min")
    return table.take(np.sort(first.to_numpy()))


def land_batch(
    *,
    run_id: str,
    input_description: str,
    settings: Settings,
    articles_url: str,
    article_urls: list[str],
    members_url: str,
    removed_urls: list[str],
    quarantine_urls: list[str],
    ledger_urls: list[str],
    copies_url: str | None,
    site_lines_url: str,
    validation_url: str,
    validation_success: bool,
    pipeline_version: str,
) -> dict:
    """``articles_url``: the dedup stage's verdicts; ``article_urls``: the clean stage's article
    files (bodies); ``copies_url``: inputs whose bytes equal an earlier input's (outcome follows it).
    The batch's verdicts stay columns (Arrow) from the staged file to DuckDB: a dict per article
    would cost more than everything else the stage holds."""
    now = datetime.now(UTC)
    quarantine = staging.read_columns(quarantine_urls, staging.QUARANTINE.names).cast(staging.QUARANTINE)
    quarantined_raw = pc.unique(quarantine.column("raw_id"))
    verdicts = staging.read_table(articles_url, columns=VERDICT_COLUMNS).combine_chunks()
    out = pc.is_in(verdicts.column("raw_id"), value_set=quarantined_raw)
    batch = verdicts.filter(pc.invert(out))
    dropped = set(verdicts.filter(out).column("article_id").to_pylist())
    # The dedup stage never passes a batch article as a stored member; its stored version is replaced.
    members = staging.read_table(members_url)
    members = members.filter(pc.invert(pc.is_in(members.column("article_id"), value_set=verdicts.column("article_id").combine_chunks()))).to_pylist()
    del verdicts, out

    def batch_sketches(ids: list[str]) -> dict[str, tuple[bytes, int]]:
        if not ids:
            return {}
        table = staging.read_table(articles_url, columns=["article_id", "sketch", "whole_hash"], filters=[("article_id", "in", ids)])
        return {a: (s, w) for a, s, w in zip(*(table.column(c).to_pylist() for c in ("article_id", "sketch", "whole_hash")))}

    elected, cluster, story, relinked = _elect(batch, members, dropped, batch_sketches, settings.min_body_words)
    ids = batch.column("article_id")
    moved = {a: found for a, found in relinked.items() if found.canonical != a}
    for name, value in (("linked_to", lambda f: f.canonical), ("similarity", lambda f: f.similarity), ("method", lambda f: f.method)):
        changed = {a: value(found) if a in moved else None for a, found in relinked.items()}
        batch = batch.set_column(batch.schema.get_field_index(name), name, _override(ids, batch.column(name), changed, batch.schema.field(name).type))
    for m in members:
        found = relinked.get(m["article_id"])
        if found is not None:
            linked = found.canonical != m["article_id"]
            m.update(linked_to=found.canonical if linked else None, similarity=found.similarity if linked else None,
                     method=found.method if linked else None, reclustered=True)

    linked = batch.filter(pc.is_valid(batch.column("linked_to")))
    links = pa.concat_tables([
        linked.select(["article_id", "linked_to", "similarity", "method"]).cast(LINKS),
        pa.Table.from_pylist([
            {"article_id": m["article_id"], "linked_to": cluster[m["article_id"]][0], "similarity": m["similarity"], "method": m["method"]}
            for m in members if m["reclustered"] and not cluster[m["article_id"]][1]
        ], schema=LINKS),
    ])
    reclustered = [m for m in members if m["reclustered"]]
    canonical = elected["is_canonical"]
    ledger = pa.concat_tables([
        staging.read_columns(ledger_urls, staging.LEDGER.names).cast(staging.LEDGER),
        pa.table({
            "raw_id": quarantine.column("raw_id"), "uri": quarantine.column("uri"),
            "outcome": pa.array(["quarantined"] * quarantine.num_rows, pa.string()), "article_id": pa.nulls(quarantine.num_rows, pa.string()),
            "reason": quarantine.column("reason"), "domain": pa.nulls(quarantine.num_rows, pa.string()),
        }, schema=staging.LEDGER),
        pa.table({
            "raw_id": batch.column("raw_id"), "uri": batch.column("uri"),
            "outcome": pc.if_else(canonical, "article", "duplicate"), "article_id": ids,
            "reason": pc.if_else(canonical, pa.scalar(None, pa.string()), pc.coalesce(batch.column("method"), "cluster")),
            "domain": batch.column("domain"),
        }, schema=staging.LEDGER),
    ])
    ledger = _first_per_document(ledger)
    quarantine = _first_per_document(quarantine)

    tables = {
        "batch_assign": pa.table({
            "article_id": ids, "raw_id": batch.column("raw_id"),
            "doc_key": pa.array([doc_key(a) for a in ids.to_pylist()], pa.uint64()),
            "dup_cluster_id": elected["dup_cluster_id"], "is_canonical": canonical, "story_id": elected["story_id"],
        }).combine_chunks(),
        "batch_updates": pa.Table.from_pylist(
            [{"article_id": m["article_id"], "dup_cluster_id": cluster[m["article_id"]][0], "is_canonical": cluster[m["article_id"]][1], "story_id": story[m["article_id"]]} for m in members],
            schema=pa.schema([("article_id", pa.string()), ("dup_cluster_id", pa.string()), ("is_canonical", pa.bool_()), ("story_id", pa.string())])),
        "batch_links": links.combine_chunks(),
        "batch_quarantine": quarantine.combine_chunks(),
        "batch_ledger": ledger.combine_chunks(),
        "batch_copies": staging.read_table(copies_url) if copies_url else staging.COPIES.empty_table(),
        "batch_validation": staging.read_table(validation_url),
    }
    leaders = pc.filter(ids, canonical).combine_chunks()
    reclustered_leads = {m["article_id"]: cluster[m["article_id"]][1] for m in reclustered}
    del batch, members, ledger, quarantine, links, linked, elected
    pa.default_memory_pool().release_unused()  # what the reads and joins above freed, before the keys and DuckDB
    # Leaders' index keys, computed a chunk at a time from the staged sketches.
    keys_url = _stage_keys(articles_url, leaders, f"{staging.run_dir(settings.staging_url, run_id)}/land/near_keys.parquet")
    with connect(settings.db_path, settings.lock_retry_seconds) as con, health.fetch_state_attached(con, settings) as fetch_state:
        for name, table in tables.items():
            con.register(name, table)
        # The batch's site-line counts go from their file to the MERGE (hundreds of thousands of rows).
        con.execute(f"CREATE OR REPLACE TEMP VIEW batch_site_lines AS SELECT * FROM {staging.parquet_source(con, [site_lines_url])}")

        def commit() -> tuple[dict[str, int], dict[str, str]]:
            con.execute("BEGIN TRANSACTION")
            try:
                stored_leaders = _rekey(con, reclustered_leads, reclustered)
                _write(con, run_id, input_description, pipeline_version, now, validation_success, article_urls, removed_urls, articles_url)
                _write_keys(con, keys_url, stored_leaders)
                found = _outcome_counts(con, run_id)
                _write_run(con, run_id, input_description, pipeline_version, now, found, validation_success)
                drifting = health.record(con, run_id, settings, fetch_state)  # the run and its source health, one commit
                # The snapshot names its run: time travel by run id (db.run_snapshot).
                con.execute(f"CALL {CORPUS}.set_commit_message('newsingest', $message, extra_info => $info)",
                            {"message": f"land {run_id}", "info": f"run_id={run_id}"})
                con.execute("COMMIT")
            except Exception:
                rollback(con)
                raise
            return found, drifting

        counts, drifting = retrying(commit, settings.lock_retry_seconds)
        removed = con.execute("SELECT count(*) FROM removed_segments WHERE run_id = $run_id", {"run_id": run_id}).fetchall()[0][0]
    health.warn(drifting)
    return {"run_id": run_id, **counts, "documents": sum(counts.values()), "removed_segments": removed, "drifting": drifting}


def _rekey(con, reclustered_leads: dict[str, bool], reclustered: list[dict]) -> list[dict]:
    """Which index keys this commit retires (``batch_retired``) and which stored copies it keys.

    Only canonical copies have keys, and a copy's keys never change while its text does not. So
    keys are retired only for a stored copy that stops leading its cluster and for a batch
    article that replaces a stored one (same id); a stored copy that starts leading gets keys.
    Most batches retire none, and the commit skips the delete, which has to scan ``near_keys``:
    a batch costs the batch, not the size of the index. Returns the stored copies to key."""
    replaced = [key for (key,) in con.execute("SELECT doc_key FROM batch_assign SEMI JOIN articles USING (article_id)").fetchall()]
    con.register("batch_regrouped", pa.table({"article_id": pa.array(list(reclustered_leads), pa.string())}))
    led = {a for (a,) in con.execute("SELECT article_id FROM articles SEMI JOIN batch_regrouped USING (article_id) WHERE is_canonical").fetchall()}
    retired = replaced + [doc_key(a) for a, leads in reclustered_leads.items() if a in led and not leads]
    con.register("batch_retired", pa.table({"doc_key": pa.array(retired, pa.uint64())}))
    return [m for m in reclustered if reclustered_leads[m["article_id"]] and m["article_id"] not in led]


KEYS = pa.schema([("key", pa.uint64()), ("doc_key", pa.uint64()), ("size", pa.int32())])


def _stage_keys(articles_url: str, leader_ids: pa.Array, url: str) -> str:
    """``near_keys`` rows of the batch's canonical copies, computed a chunk at a time from the
    staged sketches into a staged file. DuckDB keeps an Arrow table inserted from alive until the
    commit: the index keys of a big batch (20 bytes a sketch hash) would all be held."""
    fs, path = fsspec.core.url_to_fs(articles_url)

    def keys():
        with fs.open(path, "rb") as fh:
            for chunk in pq.ParquetFile(fh).iter_batches(batch_size=KEY_CHUNK, columns=["article_id", "sketch"]):
                chunk = chunk.filter(pc.is_in(chunk.column("article_id"), value_set=leader_ids))
                if chunk.num_rows:
                    yield key_table([doc_key(a) for a in chunk.column("article_id").to_pylist()], chunk.column("sketch").to_pylist()).cast(KEYS)

    return staging.write_chunks(url, KEYS, keys())


def _write_keys(con, keys_url: str, stored_leaders: list[dict]) -> None:
    """``near_keys`` rows of every canonical copy of a touched cluster: the stored copies that now
    lead, then the batch's (staged by ``_stage_keys``)."""
    if stored_leaders:
        con.register("chunk_keys", key_table([doc_key(m["article_id"]) for m in stored_leaders], [m["sketch"] for m in stored_leaders]))
        con.execute("INSERT INTO near_keys SELECT key, doc_key, size FROM chunk_keys")
        con.unregister("chunk_keys")
    con.execute(f"INSERT INTO near_keys SELECT key, doc_key, size FROM {staging.parquet_source(con, [keys_url])}")


def _outcome_counts(con, run_id: str) -> dict[str, int]:
    found = dict(con.execute("SELECT outcome, count(*) FROM run_ledger WHERE run_id = $run_id GROUP BY ALL", {"run_id": run_id}).fetchall())
    return {o: found.get(o, 0) for o in ("article", "duplicate", "quarantined", "unchanged")}


def _file_groups(urls: list[str], rows: int) -> list[list[str]]:
    """Consecutive groups of the staged files holding about ``rows`` rows each (one file at least)."""
    groups: list[list[str]] = []
    count = 0
    for url in urls:
        fs, path = fsspec.core.url_to_fs(url)
        with fs.open(path, "rb") as fh:
            found = pq.ParquetFile(fh).metadata.num_rows
        if not groups or count + found > rows:
            groups.append([])
            count = 0
        groups[-1].append(url)
        count += found
    return groups


def _write(con, run_id, input_description, version, now, validation_success, article_urls, removed_urls, articles_url) -> None:
    params = {"run_id": run_id, "version": version, "now": now}
    # Delete and append rather than upsert: a plain append writes its row groups to the file
    # before the commit, where an upsert keeps the whole batch in memory. One append per group of
    # clean-stage files: DuckDB holds a statement's rows, bodies included, until it writes them.
    con.execute("DELETE FROM articles WHERE article_id IN (SELECT article_id FROM batch_assign)")
    for urls in _file_groups(article_urls, ARTICLE_CHUNK_ROWS):
        con.execute(
            f"""
            INSERT INTO articles ({ARTICLE_COLUMNS})
            SELECT c.article_id, c.raw_id, c.url, c.domain, c.title, c.published_at, c.authors, c.wire_agency, c.language,
                   c.tags, c.summary, c.body, c.word_count, c.content_hash, s.dup_cluster_id, s.is_canonical, s.story_id,
                   $run_id, $version, $now, c.uri
            FROM {staging.parquet_source(con, urls)} c JOIN batch_assign s ON s.article_id = c.article_id AND s.raw_id = c.raw_id
            """,
            params,
        )
    # Stored members of the touched clusters and stories whose verdict changed, or whose link was
    # measured again. An update rewrites the whole row (body included), so the unchanged majority
    # is left alone: a commit costs what changed, not the size of the stories it touched.
    relinked = con.execute(
        """
        SELECT b.article_id, b.linked_to, b.similarity, b.method FROM batch_links b LEFT JOIN dup_links l USING (article_id)
        WHERE l.article_id IS NULL OR l.linked_to IS DISTINCT FROM b.linked_to
           OR l.similarity IS DISTINCT FROM b.similarity OR l.method IS DISTINCT FROM b.method
        """
    ).to_arrow_table()
    con.register("batch_relinked", relinked)
    changed = con.execute(
        """
        SELECT u.article_id, u.dup_cluster_id, u.is_canonical, u.story_id
        FROM batch_updates u JOIN articles a USING (article_id)
        WHERE a.dup_cluster_id IS DISTINCT FROM u.dup_cluster_id OR a.is_canonical IS DISTINCT FROM u.is_canonical
           OR a.story_id IS DISTINCT FROM u.story_id OR u.article_id IN (SELECT article_id FROM batch_relinked)
        """
    ).to_arrow_table()
    con.register("batch_changed", changed)
    if changed.num_rows:  # else the join would still read the articles the batch just wrote
        con.execute(
            "UPDATE articles SET dup_cluster_id = u.dup_cluster_id, is_canonical = u.is_canonical, story_id = u.story_id "
            "FROM batch_changed u WHERE articles.article_id = u.article_id"
        )
    con.execute("DELETE FROM dup_links WHERE article_id IN (SELECT article_id FROM batch_relinked)")
    con.execute("INSERT INTO dup_links SELECT article_id, linked_to, similarity, method FROM batch_relinked")
    # duplicates: every non-canonical copy written or changed, with the similarity of its verified link.
    con.execute(
        """
        DELETE FROM duplicates WHERE article_id IN (
            SELECT article_id FROM batch_assign UNION SELECT article_id FROM batch_changed)
        """
    )
    con.execute(
        """
        INSERT INTO duplicates (article_id, canonical_id, similarity, method, run_id)
        SELECT a.article_id, a.dup_cluster_id, coalesce(l.similarity, 1.0), coalesce(l.method, 'cluster'), $run_id
        FROM articles a LEFT JOIN dup_links l USING (article_id)
        WHERE NOT a.is_canonical AND a.article_id IN (
            SELECT article_id FROM batch_assign UNION SELECT article_id FROM batch_changed)
        """,
        {"run_id": run_id},
    )
    removed = staging.parquet_source(con, removed_urls)
    con.execute("DELETE FROM removed_segments WHERE article_id IN (SELECT article_id FROM batch_assign)")
    con.execute(
        f"""
        INSERT INTO removed_segments
        SELECT r.article_id, r.position, r.text, r.reason, $run_id
        FROM {removed} r SEMI JOIN batch_assign s ON s.article_id = r.article_id AND s.raw_id = r.raw_id
        """,
        {"run_id": run_id},
    )
    verdicts = staging.parquet_source(con, [articles_url])
    con.execute("DELETE FROM near_sketches WHERE article_id IN (SELECT article_id FROM batch_assign)")
    con.execute(
        f"""
        INSERT INTO near_sketches
        SELECT v.article_id, s.doc_key, v.whole_hash, v.sketch
        FROM {verdicts} v JOIN batch_assign s ON s.article_id = v.article_id AND s.raw_id = v.raw_id
        """
    )
    if con.execute("SELECT count(*) FROM batch_retired").fetchall()[0][0]:
        con.execute("DELETE FROM near_keys WHERE doc_key IN (SELECT doc_key FROM batch_retired)")
    con.execute("DELETE FROM story_terms WHERE article_id IN (SELECT article_id FROM batch_assign)")
    con.execute(
        f"""
        INSERT INTO story_terms
        SELECT unnest(v.story_terms) AS term, v.article_id
        FROM {verdicts} v SEMI JOIN batch_assign s ON s.article_id = v.article_id AND s.raw_id = v.raw_id
        """
    )
    # A document quarantined before keeps its first row (when, and by which run).
    con.execute(
        """
        INSERT INTO quarantine SELECT b.raw_id, b.uri, b.stage, b.reason, b.detail, $run_id, $version, $now FROM batch_quarantine b
        ANTI JOIN quarantine q ON q.raw_id = b.raw_id AND q.uri = b.uri AND q.stage = b.stage AND q.reason = b.reason
        """,
        params,
    )
    # A retry of a run that already landed (same run id) has counted its site lines once already.
    if not run_landed(con, run_id):
        con.execute(
            """
            MERGE INTO site_lines USING batch_site_lines AS b ON site_lines.domain = b.domain AND site_lines.line_key = b.line_key
            WHEN MATCHED THEN UPDATE SET doc_count = site_lines.doc_count + b.doc_count
            WHEN NOT MATCHED THEN INSERT (domain, line_key, doc_count) VALUES (b.domain, b.line_key, b.doc_count)
            """
        )
    # The index now holds sketches of this version (a new database records it with its first batch).
    record_sketch_version(con)
    con.execute("DELETE FROM run_ledger WHERE run_id = $run_id", {"run_id": run_id})
    con.execute(
        "INSERT INTO run_ledger (run_id, raw_id, uri, outcome, article_id, reason, domain) "
        "SELECT $run_id, raw_id, uri, outcome, article_id, reason, domain FROM batch_ledger",
        {"run_id": run_id},
    )
    # Identical bytes at another path: the same content, another document; it follows the first one.
    con.execute(
        """
        INSERT INTO run_ledger (run_id, raw_id, uri, outcome, article_id, reason, domain)
        SELECT $run_id, c.raw_id, c.uri,
               CASE WHEN f.outcome IN ('article', 'duplicate') THEN 'duplicate' ELSE f.outcome END,
               f.article_id,
               CASE WHEN f.outcome IN ('article', 'duplicate') THEN 'identical_bytes' ELSE f.reason END,
               c.domain
        FROM batch_copies c
        JOIN (SELECT * FROM batch_ledger QUALIFY row_number() OVER (PARTITION BY raw_id ORDER BY uri) = 1) f USING (raw_id)
        """,
        {"run_id": run_id},
    )
    con.execute(
        """
        INSERT INTO quarantine
        SELECT c.raw_id, c.uri, q.stage, q.reason, q.detail, $run_id, $version, $now
        FROM batch_copies c JOIN batch_quarantine q USING (raw_id)
        WHERE NOT EXISTS (SELECT 1 FROM quarantine o WHERE o.raw_id = c.raw_id AND o.uri = c.uri AND o.stage = q.stage AND o.reason = q.reason)
        """,
        params,
    )
    con.execute("DELETE FROM validation_results WHERE run_id = $run_id", {"run_id": run_id})
    con.execute(
        'INSERT INTO validation_results SELECT $run_id, suite, expectation, "column", success, observed_value, unexpected_count, level, $now FROM batch_validation',
        {"run_id": run_id, "now": now},
    )


def _write_run(con, run_id, input_description, version, now, counts, validation_success) -> None:
    started = con.execute("SELECT min(started_at) FROM runs WHERE run_id = $run_id", {"run_id": run_id}).fetchall()[0][0]
    con.execute("DELETE FROM runs WHERE run_id = $run_id", {"run_id": run_id})
    con.execute(
        """
        INSERT INTO runs (run_id, started_at, finished_at, input, pipeline_version, documents, articles,
                                     duplicates, quarantined, unchanged, validation_success, status)
        VALUES ($run_id, coalesce($started, $now), $now, $input, $version,
                $documents, $article, $duplicate, $quarantined, $unchanged, $validation_success, 'landed')
        """,
        {"run_id": run_id, "version": version, "now": now, "input": input_description, "documents": sum(counts.values()), **counts, "validation_success": validation_success, "started": started},
    )
