"""Rebuilding the near-duplicate index (``near_sketches``, ``near_keys``) from ``articles.body``.

Needed when articles have no sketch (history landed before migration 004 added the index) and
whenever the sketch function changes (``sketch.SKETCH_VERSION``): sketches of two versions do not
match each other. The writer's connection (``store.connect``) checks and rebuilds after the
migrations; ``newsingest reindex`` forces a rebuild. Clusters, canonical copies and links stay as
they are: only the index they are found through is rebuilt.
"""

from __future__ import annotations

from contextlib import contextmanager

import pyarrow as pa

from pipeline.dedup.keys import doc_key, key_table
from pipeline.dedup.sketch import SKETCH_VERSION, sketch_texts

CHUNK = 20_000  # articles sketched and written at a time: bounds memory on a large history


def _tables(con) -> set[str]:
    return {name for (name,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()").fetchall()}


def index_is_current(con) -> bool:
    """Whether every article has a sketch of the current version (cheap: two counts and a row)."""
    if not {"articles", "near_sketches", "near_index_state"} <= _tables(con):
        return False
    version = con.execute("SELECT value FROM near_index_state WHERE name = 'sketch_version'").fetchall()
    articles = con.execute("SELECT count(*) FROM articles").fetchall()[0][0]
    if not version:
        return articles == 0
    sketches = con.execute("SELECT count(*) FROM near_sketches").fetchall()[0][0]
    return version[0][0] == SKETCH_VERSION and articles == sketches


def rebuild_near_index(con, chunk: int = CHUNK) -> int:
    """Sketch every stored article again and re-key the canonical copies, in one transaction.
    Returns the number of articles indexed."""
    from pipeline.store.db import rollback

    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM near_sketches")
        con.execute("DELETE FROM near_keys")
        done, last = 0, ""
        while True:
            rows = con.execute(
                "SELECT article_id, coalesce(body, ''), is_canonical FROM articles WHERE article_id > ? ORDER BY article_id LIMIT ?",
                [last, chunk],
            ).fetchall()
            if not rows:
                break
            sketches = sketch_texts([body for _, body, _ in rows])
            keys = [doc_key(article_id) for article_id, _, _ in rows]
            con.register("rebuilt_sketches", pa.table({
                "article_id": pa.array([article_id for article_id, _, _ in rows], pa.string()),
                "doc_key": pa.array(keys, pa.uint64()),
                "whole_hash": pa.array([whole for _, _, whole in sketches], pa.uint64()),
                "sketch": pa.array([samples for samples, _, _ in sketches], pa.binary()),
            }))
            con.execute("INSERT INTO near_sketches SELECT article_id, doc_key, whole_hash, sketch FROM rebuilt_sketches")
            leaders = [i for i, (_, _, canonical) in enumerate(rows) if canonical]
            con.register("rebuilt_keys", key_table([keys[i] for i in leaders], [sketches[i][0] for i in leaders]))
            con.execute("INSERT INTO near_keys SELECT key, doc_key, size FROM rebuilt_keys")
            con.unregister("rebuilt_sketches")
            con.unregister("rebuilt_keys")
            done += len(rows)
            last = rows[-1][0]
        record_sketch_version(con)
        con.execute("COMMIT")
    except Exception:
        rollback(con)
        raise
    return done


def record_sketch_version(con) -> None:
    con.execute("DELETE FROM near_index_state WHERE name = 'sketch_version'")
    con.execute("INSERT INTO near_index_state VALUES ('sketch_version', ?)", [SKETCH_VERSION])


def ensure_near_index(con) -> int | None:
    """Rebuild when the index is not current; the number of articles indexed, or None."""
    return None if index_is_current(con) else rebuild_near_index(con)


@contextmanager
def history_connection(path, retry_seconds: float = 60.0):
    """A reading session on the corpus with the near-duplicate index current, or None when there is
    no corpus. History landed before the index existed, or sketched by another version, is
    re-indexed once by a writing session first, so the batch is matched against it."""
    from pipeline.store.db import connect, read_connection

    with read_connection(path, retry_seconds) as con:
        current = con is None or index_is_current(con)
    if not current:
        with connect(path, retry_seconds):
            pass
    with read_connection(path, retry_seconds) as con:
        yield con
