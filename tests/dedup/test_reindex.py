"""The near-duplicate index is rebuilt from the stored articles when they lack sketches (history
landed before the index existed) or were sketched by another version of the sketch function."""

from __future__ import annotations

from contextlib import closing

from pipeline.benchmarks.wire_corpus import Doc
from pipeline.cli import main
from pipeline.store.db import attach, migrate, read_connection, session
from pipeline.store.reindex import index_is_current
from tests.dedup.factory import edited_copies
from tests.dedup.flow import land_batches, stored_clusters


def docs():
    original, copies = edited_copies(8)
    return (Doc("orig", original, "https://apnews.com/x", "2026-03-01T08:00:00+00:00", "x"),
            Doc("copy", copies["tail_trimmed"], "https://paper.example/y", "2026-03-01T09:00:00+00:00", "x"))


def raw_session(path):
    """A writing session on the corpus without the migration and reindex ``connect`` does, to plant
    an old state."""
    con = session()
    attach(con, path)
    return closing(con)


def test_history_landed_before_the_index_is_matched_after_the_upgrade(tmp_path):
    original, copy = docs()
    settings = land_batches(tmp_path, [[original]])
    with raw_session(settings.db_path) as con:  # the state before the index existed: articles, no index
        con.execute("DROP TABLE near_keys; DROP TABLE near_sketches; DROP TABLE near_index_state")
        con.execute("DELETE FROM schema_version")
        migrate(con)
        assert con.execute("SELECT count(*) FROM near_sketches").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM articles").fetchall() == [(1,)]
        assert not index_is_current(con)
    land_batches(tmp_path, [[copy]])
    assert stored_clusters(settings) == {"orig": ("orig", True, None), "copy": ("orig", False, "orig")}


def test_a_changed_sketch_version_rebuilds_the_index(tmp_path):
    original, copy = docs()
    settings = land_batches(tmp_path, [[original]])
    with raw_session(settings.db_path) as con:  # sketches of another version match nothing
        con.execute("UPDATE near_sketches SET sketch = '', whole_hash = 1")
        con.execute("DELETE FROM near_keys")
        con.execute("UPDATE near_index_state SET value = 'old' WHERE name = 'sketch_version'")
        assert not index_is_current(con)
    land_batches(tmp_path, [[copy]])
    assert stored_clusters(settings)["copy"] == ("orig", False, "orig")


def test_reindex_command_rebuilds_the_index(tmp_path):
    original, _ = docs()
    settings = land_batches(tmp_path, [[original]])
    with read_connection(settings.db_path) as con:
        before = con.execute("SELECT * FROM near_sketches ORDER BY ALL").fetchall(), con.execute("SELECT * FROM near_keys ORDER BY ALL").fetchall()
    with raw_session(settings.db_path) as con:
        # a damaged index that still looks current (every article sketched, current version): only
        # the command's forced rebuild repairs it, not the check every writing session makes
        con.execute("UPDATE near_sketches SET sketch = '', whole_hash = 1")
        con.execute("DELETE FROM near_keys")
        assert index_is_current(con)
    assert main(["reindex", "--db", str(settings.db_path)]) == 0
    with read_connection(settings.db_path) as con:
        after = con.execute("SELECT * FROM near_sketches ORDER BY ALL").fetchall(), con.execute("SELECT * FROM near_keys ORDER BY ALL").fetchall()
    assert after == before and after[1]
