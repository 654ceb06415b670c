"""SIGKILL of ``newsingest run`` at any moment: its workers die with it, the next run removes its
staging folder, and a rerun with the same run id leaves the state of one clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from pipeline.benchmarks.wire_corpus import generate
from tests.test_retries import state

DOCUMENTS = 400


def write_corpus(folder) -> None:
    for doc in generate(DOCUMENTS, seed=11):
        outlet = folder / doc.url.split("/")[2]
        outlet.mkdir(parents=True, exist_ok=True)
        (outlet / f"{doc.id}.txt").write_text(doc.text, encoding="utf-8")


def start(inbox, home, run_id: str) -> subprocess.Popen:
    env = {**os.environ, "NEWSINGEST_WORKERS": "2"}
    command = [sys.executable, "-m", "pipeline.cli", "run", "--input", str(inbox), "--home", str(home), "--run-id", run_id, "--quiet"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish(inbox, home, run_id: str) -> None:
    process = start(inbox, home, run_id)
    assert process.wait(timeout=300) == 0


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.1)
    return alive


def wait_children(process: subprocess.Popen, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        children = [c.pid for c in psutil.Process(process.pid).children(recursive=True)]
        if children:
            return children
        time.sleep(0.02)
    return []


def test_killed_runs_leave_no_process_no_staging_and_reruns_reach_the_clean_state(tmp_path):
    inbox = tmp_path / "inbox"
    write_corpus(inbox)
    finish(inbox, tmp_path / "reference", "R1")
    reference = state(tmp_path / "reference" / "corpus.sqlite")

    home = tmp_path / "killed"
    # The moment the clean workers exist, then fixed moments: reading, cleaning, the stages after it.
    for moment in ("workers", 2.0, 4.5, 7.0, 9.5):
        process = start(inbox, home, "R1")
        if moment == "workers":
            children = wait_children(process, 120)
            assert children, "the run never started its clean workers"
        else:
            time.sleep(moment)
            children = [c.pid for c in psutil.Process(process.pid).children(recursive=True)]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert wait_gone(children, 15) == [], "a worker outlived its killed run"
    finish(inbox, home, "R1")
    assert not any((home / "staging").iterdir()), "a killed run's staging folder is still there"
    got = state(home / "corpus.sqlite")
    for table, rows in reference.items():
        assert got[table] == rows, table
