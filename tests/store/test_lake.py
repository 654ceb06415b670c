"""The corpus as a lake: readers never block or fail a run, concurrent writers both land, a killed
commit leaves the previous snapshot whole, and the corpus as of any run can be queried."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

from pipeline.cli import main
from pipeline.sources.files import iter_input_files
from pipeline.store.db import connect, read_connection, retrying, run_snapshot
from tests.conftest import SAMPLE_CORPUS

OUTLETS = sorted(p.name for p in SAMPLE_CORPUS.iterdir() if p.is_dir() and p.name.endswith(".example"))


def split_corpus(tmp_path):
    """The sample corpus's outlets in two inputs."""
    halves = []
    for number, names in enumerate((OUTLETS[::2], OUTLETS[1::2])):
        folder = tmp_path / f"input{number}"
        for name in names:
            shutil.copytree(SAMPLE_CORPUS / name, folder / name)
        halves.append(folder)
    return halves


def run(db, home, folder, run_id) -> int:
    return main(["run", "--input", str(folder), "--db", str(db), "--home", str(home), "--run-id", run_id, "--quiet"])


def count(con, sql: str) -> int:
    return con.execute(sql).fetchall()[0][0]


def test_an_analyst_session_held_open_across_a_run_neither_blocks_it_nor_misses_the_batch(tmp_path):
    first, second = split_corpus(tmp_path)
    db = tmp_path / "corpus.sqlite"
    assert run(db, tmp_path / "var", first, "R1") == 0
    with read_connection(db) as analyst:
        before = count(analyst, "SELECT count(*) FROM run_ledger")
        analyst.execute("BEGIN TRANSACTION")  # a long read: its snapshot stays put
        assert count(analyst, "SELECT count(*) FROM run_ledger") == before
        assert run(db, tmp_path / "var", second, "R2") == 0
        assert count(analyst, "SELECT count(*) FROM run_ledger") == before
        analyst.execute("COMMIT")
        after = count(analyst, "SELECT count(*) FROM run_ledger")  # the next query: the new batch
    with read_connection(db) as fresh:
        assert count(fresh, "SELECT count(*) FROM run_ledger") == after
        assert sorted(r for (r,) in fresh.execute("SELECT DISTINCT run_id FROM run_ledger").fetchall()) == ["R1", "R2"]
    assert after > before > 0


def test_two_runs_committing_at_once_both_land(tmp_path):
    first, second = split_corpus(tmp_path)
    db = tmp_path / "corpus.sqlite"
    assert run(db, tmp_path / "setup", first, "R0") == 0  # the schema exists: the two race on data only
    env = {**os.environ, "NEWSINGEST_WORKERS": "1"}
    processes = [
        subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", "--input", str(folder), "--db", str(db),
                          "--home", str(tmp_path / run_id), "--run-id", run_id, "--quiet"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for folder, run_id in ((first, "A"), (second, "B"))
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
    with read_connection(db) as con:
        ledger = dict(con.execute("SELECT run_id, count(*) FROM run_ledger GROUP BY ALL").fetchall())
        files = {name: sum(1 for _ in iter_input_files([folder])) for name, folder in (("A", first), ("B", second))}
        assert ledger["B"] == files["B"]
        assert ledger["A"] == files["A"] and ledger["A"] == ledger["R0"]  # the same input again: unchanged rows
        assert count(con, "SELECT count(*) FROM runs WHERE status = 'landed'") == 3
        assert count(con, "SELECT count(*) - count(DISTINCT article_id) FROM articles") == 0


WRITER = """
import sys
from pipeline.store.db import connect, retrying
db, rows, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with connect(db) as con:
    batch = 0
    while True:
        def commit():
            con.execute("BEGIN TRANSACTION")
            con.execute(
                "INSERT INTO removed_segments SELECT 'kill-' || $batch, range, repeat('x', 2000), 'test', $tag || $batch FROM range($rows)",
                {"batch": batch, "rows": rows, "tag": tag})
            con.execute("INSERT INTO runs VALUES ($tag || $batch, now(), now(), 'kill test', 'test', 0, 0, 0, 0, 0, true, 'landed')", {"batch": batch, "tag": tag})
            con.execute("COMMIT")
        retrying(commit, 60)
        print(batch, flush=True)
        batch += 1
"""


def test_a_writer_killed_mid_commit_leaves_whole_snapshots_and_the_next_run_lands(tmp_path):
    db = tmp_path / "corpus.sqlite"
    with connect(db):
        pass
    rows = 20_000
    for number, delay in enumerate((0.7, 1.6, 2.9)):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(rows), f"K{number}-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        with read_connection(db) as con:
            per_batch = con.execute("SELECT run_id, count(*) FROM removed_segments GROUP BY ALL").fetchall()
            runs = {r for (r,) in con.execute("SELECT run_id FROM runs").fetchall()}
        assert all(n == rows for _, n in per_batch), per_batch  # never a part of a commit
        assert {r for r, _ in per_batch} == runs  # and never one table of it without the other
    assert run(db, tmp_path / "var", SAMPLE_CORPUS, "after-kill") == 0
    with read_connection(db) as con:
        assert count(con, "SELECT count(*) FROM run_ledger WHERE run_id = 'after-kill'") == 34


def test_the_corpus_as_of_an_earlier_run(tmp_path):
    first, second = split_corpus(tmp_path)
    db = tmp_path / "corpus.sqlite"
    assert run(db, tmp_path / "var", first, "R1") == 0
    with read_connection(db) as con:
        as_of_r1 = sorted(con.execute("SELECT article_id, dup_cluster_id, is_canonical FROM articles").fetchall())
    assert run(db, tmp_path / "var", second, "R2") == 0
    with read_connection(db) as con:
        snapshot = run_snapshot(con, "R1")
        assert snapshot is not None and run_snapshot(con, "R2") > snapshot
        assert len(con.execute("SELECT * FROM articles").fetchall()) > len(as_of_r1)
        assert sorted(con.execute(f"SELECT article_id, dup_cluster_id, is_canonical FROM articles AT (VERSION => {snapshot})").fetchall()) == as_of_r1
    with read_connection(db, snapshot=snapshot) as con:
        assert sorted(con.execute("SELECT article_id, dup_cluster_id, is_canonical FROM articles").fetchall()) == as_of_r1
        assert {r for (r,) in con.execute("SELECT run_id FROM runs").fetchall()} == {"R1"}
    assert retrying(lambda: 1, 1) == 1
