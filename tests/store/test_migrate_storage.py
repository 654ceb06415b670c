"""``newsingest migrate-storage``: a corpus of the single-file layout, written by DuckDB 2.0 as the
previous version wrote it, moves into the lake with every table's rows intact."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipeline.cli import main
from pipeline.store.db import read_connection
from pipeline.store.migrate_storage import CORPUS_TABLES, LEGACY_DUCKDB
from tests.conftest import SAMPLE_CORPUS

ROOT = Path(__file__).resolve().parents[2]

# Runs under DuckDB 2.0: a single-file corpus with the last single-file schema, filled from Parquet.
BUILD_LEGACY = """
import sys
from pathlib import Path
import duckdb
from pipeline.store.db import LEGACY_SCHEMA_DIR, migrate
target, exported = sys.argv[1], Path(sys.argv[2])
assert duckdb.__version__.startswith("2."), duckdb.__version__
con = duckdb.connect(target)
migrate(con, LEGACY_SCHEMA_DIR)
for table in sys.argv[3:]:
    con.execute(f"INSERT INTO {table} SELECT * FROM read_parquet('{exported / table}.parquet')")
con.execute("INSERT INTO fetch_state (url, kind, status, checked_at, fetch_run_id, requests) VALUES ('https://paper.example/a', 'page', 'failed', now(), 'F1', 1)")
con.execute("INSERT INTO quarantine VALUES ('f1', 'https://paper.example/a', 'fetch', 'http_error', '503', 'F1', '0.1.0', now())")
con.close()
"""


def table_rows(con, table: str) -> list[tuple]:
    return sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def test_a_single_file_corpus_of_duckdb_2_moves_into_the_lake_with_every_row(tmp_path, capsys):
    original = tmp_path / "original.sqlite"
    assert main(["run", "--input", str(SAMPLE_CORPUS), "--db", str(original), "--home", str(tmp_path / "a"), "--run-id", "R1", "--quiet"]) == 0
    exported = tmp_path / "exported"
    exported.mkdir()
    tables = (*CORPUS_TABLES, "quarantine")
    with read_connection(original) as con:
        expected = {table: table_rows(con, table) for table in tables}
        for table in tables:
            con.execute(f"COPY {table} TO '{exported / table}.parquet' (FORMAT parquet)")
    legacy = tmp_path / "newsingest.duckdb"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(LEGACY_DUCKDB), str(ROOT)])}
    built = subprocess.run([sys.executable, "-c", BUILD_LEGACY, str(legacy), str(exported), *tables], env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr

    home = tmp_path / "b"
    capsys.readouterr()
    assert main(["migrate-storage", str(legacy), "--home", str(home)]) == 0
    printed = capsys.readouterr().out
    assert "exported" in printed and "DuckDB 2.0.0" in printed and "MISMATCH" not in printed
    assert printed.count(": match") == len(CORPUS_TABLES) + 1 + 4  # the corpus tables, quarantine, the fetch tables and fetch quarantine
    with read_connection(home / "corpus.sqlite") as con:
        for table in tables:
            assert table_rows(con, table) == expected[table], table
        assert con.execute("SELECT count(*) FROM quarantine WHERE stage = 'fetch'").fetchall() == [(0,)]
    import duckdb

    with duckdb.connect(str(home / "fetch_state.duckdb"), read_only=True) as fetch:
        assert fetch.execute("SELECT uri, reason FROM quarantine").fetchall() == [("https://paper.example/a", "http_error")]
        assert fetch.execute("SELECT url, status FROM fetch_state").fetchall() == [("https://paper.example/a", "failed")]

    # The moved corpus is the history of the next run: the same input is unchanged.
    assert main(["run", "--input", str(SAMPLE_CORPUS), "--home", str(home), "--run-id", "R2", "--quiet"]) == 0
    with read_connection(home / "corpus.sqlite") as con:
        assert con.execute("SELECT outcome, count(*) FROM run_ledger WHERE run_id = 'R2' GROUP BY ALL").fetchall() == [("unchanged", 34)]

    # Into a corpus that already holds data: refused, nothing changed.
    assert main(["migrate-storage", str(legacy), "--home", str(home)]) == 3
    assert "already holds data" in capsys.readouterr().err
