"""Retries are exact: a run repeated with the same run id (an Airflow retry or clear) leaves the
state one clean run leaves, and a database left empty by a killed first run is usable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.store.db import attach, read_connection, session
from tests.conftest import SAMPLE_CORPUS

VOLATILE = {"ingested_at", "quarantined_at", "validated_at", "started_at", "finished_at", "applied_at"}
VOLATILE_IN = {"quarantine": {"detail"}}  # a date check's detail names the time it ran
TABLES = ("articles", "duplicates", "removed_segments", "quarantine", "runs", "run_ledger", "validation_results",
          "site_lines", "near_sketches", "near_keys", "story_terms", "dup_links", "near_index_state")


def state(db: Path) -> dict[str, list[tuple]]:
    with read_connection(db) as con:
        found = {}
        for table in TABLES:
            columns = [c for (c,) in con.execute(
                f"SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() AND table_name = '{table}' ORDER BY ordinal_position"
            ).fetchall() if c not in VOLATILE | VOLATILE_IN.get(table, set())]
            found[table] = sorted(con.execute(f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} FROM {table}").fetchall(), key=repr)
        return found


def run(db: Path, home: Path, *extra: str) -> None:
    assert main(["run", "--input", str(SAMPLE_CORPUS), "--db", str(db), "--home", str(home), "--quiet", *extra]) == 0


def test_a_run_repeated_with_its_run_id_leaves_the_state_of_one_run(tmp_path):
    once, twice = tmp_path / "once.sqlite", tmp_path / "twice.sqlite"
    run(once, tmp_path / "a", "--run-id", "R1")
    run(twice, tmp_path / "b", "--run-id", "R1")
    run(twice, tmp_path / "b", "--run-id", "R1")
    expected, got = state(once), state(twice)
    with read_connection(twice) as con:
        assert dict(con.execute("SELECT outcome, count(*) FROM run_ledger GROUP BY ALL").fetchall()) == {
            "article": 16, "duplicate": 10, "quarantined": 8}
    for table in TABLES:
        assert got[table] == expected[table], table


@pytest.mark.parametrize("left", ["empty file", "catalog without tables"])
def test_a_corpus_left_without_tables_is_migrated_by_the_next_run(tmp_path, left):
    db = tmp_path / "left-empty.sqlite"
    if left == "empty file":  # a kill before the catalog was initialised
        sqlite3.connect(db).close()
    else:  # a kill after the catalog was created, before the first migration committed
        con = session()
        attach(con, db)
        con.close()
    run(db, tmp_path / "var")
    with read_connection(db) as con:
        assert con.execute("SELECT count(*) FROM run_ledger").fetchall() == [(34,)]


def test_the_first_run_records_the_sketch_version_so_the_next_does_not_rebuild_the_index(tmp_path):
    from pipeline.dedup.sketch import SKETCH_VERSION
    from pipeline.store.reindex import index_is_current

    db = tmp_path / "corpus.sqlite"
    run(db, tmp_path / "var")
    with read_connection(db) as con:
        assert con.execute("SELECT value FROM near_index_state WHERE name = 'sketch_version'").fetchall() == [(SKETCH_VERSION,)]
        assert index_is_current(con)


def test_a_retry_of_a_landed_wire_batch_is_matched_against_the_history_before_it(tmp_path):
    """400 wire copies: with its own rows in the stored index, a retry finds story pairs the first
    attempt's bounded candidate search did not reach, and regroups articles."""
    from tests.test_kill import write_corpus

    inbox = tmp_path / "inbox"
    write_corpus(inbox)
    once, twice = tmp_path / "once.sqlite", tmp_path / "twice.sqlite"
    for db, times in ((once, 1), (twice, 2)):
        for _ in range(times):
            assert main(["run", "--input", str(inbox), "--db", str(db), "--home", str(tmp_path / db.stem), "--quiet", "--run-id", "R1"]) == 0
    expected, got = state(once), state(twice)
    for table in TABLES:
        assert got[table] == expected[table], table
