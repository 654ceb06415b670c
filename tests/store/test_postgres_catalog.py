"""The cluster's storage: a DuckLake whose catalog is a real PostgreSQL server (the ``postgres``
fixture, tests/services/postgres.py) and whose Parquet files are in NEWSINGEST_LAKE_DATA_PATH.
Runs go through the command line and ``pipeline.store``, as a DAG's tasks would."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.sources.files import iter_input_files
from pipeline.store.db import connect, read_connection, run_snapshot
from tests.conftest import SAMPLE_CORPUS
from tests.services.postgres import PostgresServer, alive
from tests.store.test_lake import WRITER, count, run, split_corpus

NEWSINGEST = Path(sys.executable).with_name("newsingest")


@pytest.fixture
def corpus(postgres_db, tmp_path, monkeypatch) -> str:
    """``--db`` of a corpus cataloged in a fresh PostgreSQL database, its files in tmp_path/lake."""
    monkeypatch.setenv("NEWSINGEST_LAKE_DATA_PATH", str(tmp_path / "lake"))
    return "postgres:" + postgres_db


def dbname(corpus: str) -> str:
    return dict(part.split("=", 1) for part in corpus.removeprefix("postgres:").split())["dbname"]


def table_counts(db) -> dict[str, int]:
    with read_connection(db) as con:
        names = [n for (n,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()").fetchall()]
        return {name: count(con, f'SELECT count(*) FROM "{name}"') for name in names}


def newsingest(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(NEWSINGEST), *args], capture_output=True, text=True, timeout=300)


def test_the_server_listens_on_loopback_only_and_stops_without_leaving_a_process():
    server = PostgresServer()
    server.start()
    try:
        assert server.psql("postgres", "SHOW listen_addresses") == "127.0.0.1"
        assert server.psql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'checkpointer'") == "1"
        processes = server.processes()
        assert server.pid in processes and len(processes) > 1
    finally:
        left = server.stop()
    assert left == [] and alive(processes) == []
    assert not server.root.exists()


def test_the_sample_corpus_lands_the_same_rows_as_with_a_sqlite_catalog(corpus, postgres, tmp_path):
    sqlite = tmp_path / "corpus.sqlite"
    assert run(sqlite, tmp_path / "lite", SAMPLE_CORPUS, "R1") == 0
    assert run(corpus, tmp_path / "pg", SAMPLE_CORPUS, "R1") == 0
    expected, found = table_counts(sqlite), table_counts(corpus)
    assert found == expected
    assert found["run_ledger"] == 34 and found["articles"] > 0
    with read_connection(sqlite) as lite, read_connection(corpus) as pg:
        query = "SELECT article_id, dup_cluster_id, is_canonical FROM articles ORDER BY ALL"
        assert pg.execute(query).fetchall() == lite.execute(query).fetchall()
    # The catalog is in PostgreSQL and the data files in NEWSINGEST_LAKE_DATA_PATH.
    assert int(postgres.psql(dbname(corpus), "SELECT count(*) FROM ducklake_snapshot_changes WHERE commit_extra_info = 'run_id=R1'")) == 1
    assert postgres.psql(dbname(corpus), "SELECT value FROM ducklake_metadata WHERE key = 'data_path'").rstrip("/") == str(tmp_path / "lake")
    assert list((tmp_path / "lake").rglob("*.parquet"))


def test_two_runs_committing_at_once_both_land(corpus, tmp_path):
    first, second = split_corpus(tmp_path)
    assert run(corpus, tmp_path / "setup", first, "R0") == 0  # the schema exists: the two race on data only
    env = {**os.environ, "NEWSINGEST_WORKERS": "1"}
    processes = [
        subprocess.Popen([str(NEWSINGEST), "run", "--input", str(folder), "--db", corpus, "--home", str(tmp_path / run_id),
                          "--run-id", run_id, "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for folder, run_id in ((first, "A"), (second, "B"))
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
    with read_connection(corpus) as con:
        ledger = dict(con.execute("SELECT run_id, count(*) FROM run_ledger GROUP BY ALL").fetchall())
        files = {name: sum(1 for _ in iter_input_files([folder])) for name, folder in (("A", first), ("B", second))}
        assert ledger["B"] == files["B"]
        assert ledger["A"] == files["A"] and ledger["A"] == ledger["R0"]  # the same input again: unchanged rows
        assert count(con, "SELECT count(*) FROM runs WHERE status = 'landed'") == 3
        assert count(con, "SELECT count(*) - count(DISTINCT article_id) FROM articles") == 0
        assert {run_snapshot(con, r) is not None for r in ("R0", "A", "B")} == {True}


def test_two_writers_committing_batches_in_a_loop_both_land_whole_batches(corpus, tmp_path):
    """Two processes commit as fast as they can into one catalog; their snapshot ids collide and
    they retry. Then both are killed, mid-commit or not, and a run lands after them."""
    rows = 2_000
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, corpus, str(rows), f"W{n}-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for n in range(2)]
    try:
        time.sleep(12)
        for writer in writers:
            assert writer.poll() is None, writer.stderr.read().decode()  # no commit failed for good
    finally:
        for writer in writers:
            writer.send_signal(signal.SIGKILL)
    # The batch numbers each printed after its commit returned (DuckDB's progress bar may share stdout).
    printed = [[int(n) for n in re.findall(rb"^(\d+)$", writer.communicate(timeout=30)[0], re.M)] for writer in writers]
    with read_connection(corpus) as con:
        per_batch = con.execute("SELECT run_id, count(*) FROM removed_segments GROUP BY ALL").fetchall()
        runs = {r for (r,) in con.execute("SELECT run_id FROM runs").fetchall()}
    assert all(n == rows for _, n in per_batch), per_batch  # never a part of a commit
    assert {r for r, _ in per_batch} == runs  # and never one table of it without the other
    for number, committed in enumerate(printed):
        landed = sorted(int(r.split("-")[1]) for r in runs if r.startswith(f"W{number}-"))
        assert landed == list(range(len(landed)))  # one after another, none lost
        assert len(committed) >= 3 and max(committed) < len(landed)  # every commit that returned is there
    assert run(corpus, tmp_path / "var", SAMPLE_CORPUS, "after") == 0
    with read_connection(corpus) as con:
        assert count(con, "SELECT count(*) FROM run_ledger WHERE run_id = 'after'") == 34


def test_an_analyst_session_keeps_its_snapshot_while_a_new_one_sees_the_new_batch(corpus, tmp_path):
    first, second = split_corpus(tmp_path)
    assert run(corpus, tmp_path / "var", first, "R1") == 0
    with read_connection(corpus) as analyst:
        before = count(analyst, "SELECT count(*) FROM run_ledger")
        analyst.execute("BEGIN TRANSACTION")  # a long read: its snapshot stays put
        assert count(analyst, "SELECT count(*) FROM run_ledger") == before
        assert run(corpus, tmp_path / "var", second, "R2") == 0
        assert count(analyst, "SELECT count(*) FROM run_ledger") == before
        with read_connection(corpus) as fresh:
            after = count(fresh, "SELECT count(*) FROM run_ledger")
            assert sorted(r for (r,) in fresh.execute("SELECT DISTINCT run_id FROM run_ledger").fetchall()) == ["R1", "R2"]
        assert count(analyst, "SELECT count(*) FROM run_ledger") == before
        analyst.execute("COMMIT")
        assert count(analyst, "SELECT count(*) FROM run_ledger") == after  # the next query: the new batch
    assert after > before > 0


def test_the_corpus_as_of_an_earlier_run_and_newsingest_sql(corpus, tmp_path):
    first, second = split_corpus(tmp_path)
    home = tmp_path / "var"
    assert run(corpus, home, first, "R1") == 0
    with read_connection(corpus) as con:
        as_of_r1 = sorted(con.execute("SELECT article_id, dup_cluster_id, is_canonical FROM articles").fetchall())
    assert run(corpus, home, second, "R2") == 0
    with read_connection(corpus) as con:
        snapshot = run_snapshot(con, "R1")
        assert snapshot is not None and run_snapshot(con, "R2") > snapshot
        latest = count(con, "SELECT count(*) FROM articles")
        assert sorted(con.execute(f"SELECT article_id, dup_cluster_id, is_canonical FROM articles AT (VERSION => {snapshot})").fetchall()) == as_of_r1
    assert latest > len(as_of_r1) > 0
    with read_connection(corpus, snapshot=snapshot) as con:
        assert sorted(con.execute("SELECT article_id, dup_cluster_id, is_canonical FROM articles").fetchall()) == as_of_r1

    query = "SELECT count(*) AS n, count(DISTINCT run_id) AS runs FROM run_ledger"
    common = ["--db", corpus, "--home", str(home), "--format", "json"]
    now, then = newsingest("sql", *common, query), newsingest("sql", *common, "--as-of-run", "R1", query)
    assert now.returncode == 0 and then.returncode == 0, now.stderr + then.stderr
    assert json.loads(then.stdout)["runs"] == 1 and json.loads(now.stdout)["runs"] == 2
    assert json.loads(then.stdout)["n"] < json.loads(now.stdout)["n"]
    articles = newsingest("sql", *common, "--as-of-run", "R1", "SELECT count(*) AS n FROM articles")
    assert json.loads(articles.stdout) == {"n": len(as_of_r1)}
    missing = newsingest("sql", *common, "--as-of-run", "nope", query)
    assert missing.returncode == 2 and "no landed run 'nope'" in missing.stderr


def test_processes_attaching_a_fresh_catalog_at_once_all_get_it(corpus):
    """A new cluster's first tasks: each finds no catalog and creates it; the losers retry."""
    code = "import sys\nfrom pipeline.store.db import connect\nwith connect(sys.argv[1]):\n    pass"
    processes = [subprocess.Popen([sys.executable, "-c", code, corpus], stderr=subprocess.PIPE) for _ in range(3)]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
    with read_connection(corpus) as con:
        assert count(con, "SELECT count(*) - count(DISTINCT version) FROM schema_version") == 0


def test_a_relative_data_path_is_kept_as_the_folder_it_named(postgres_db, tmp_path, monkeypatch):
    """The catalog stores its data path: a relative one would name another folder in every process
    started elsewhere. The absolute folder is stored, and a path naming another one is refused."""
    corpus = "postgres:" + postgres_db
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSINGEST_LAKE_DATA_PATH", "lake")
    with connect(corpus) as con:
        con.execute("INSERT INTO removed_segments SELECT 'a', range, repeat('x', 100), 'test', 'r' FROM range(20000)")
    monkeypatch.chdir(tmp_path / "elsewhere")  # another worker, started in another folder
    with pytest.raises(duckdb.Error, match="does not match existing data path"), read_connection(corpus):
        pass
    monkeypatch.setenv("NEWSINGEST_LAKE_DATA_PATH", str(tmp_path / "lake"))
    with read_connection(corpus) as con:
        assert count(con, "SELECT sum(length(text)) FROM removed_segments") == 2_000_000
    assert list((tmp_path / "lake").rglob("*.parquet")) and not (tmp_path / "elsewhere" / "lake").exists()
