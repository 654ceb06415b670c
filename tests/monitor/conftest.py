"""A series of real runs (``newsingest run``) from four outlets, one of which changes its page
template at the fourth run (pipeline/benchmarks/source_drift.py), shared by this folder's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.benchmarks.source_drift import CHANGED, OUTLETS, write_series

NEWSINGEST = str(Path(sys.executable).with_name("newsingest"))
RUNS, CHANGE_AT, DOCS = 6, 4, 12


@dataclass
class Series:
    home: Path
    folders: list[Path]
    runs: list[subprocess.CompletedProcess]
    changed: str = CHANGED
    outlets: tuple[str, ...] = tuple(OUTLETS)

    def env(self, **extra: str) -> dict:
        return {**os.environ, "NEWSINGEST_HOME": str(self.home), **extra}

    def run(self, folder: Path, run_id: str | None = None, **extra: str) -> subprocess.CompletedProcess:
        command = [NEWSINGEST, "run", "--input", str(folder), "--quiet"] + (["--run-id", run_id] if run_id else [])
        return subprocess.run(command, env=self.env(**extra), capture_output=True, text=True, timeout=300)

    def sql(self, query: str) -> list[tuple]:
        from pipeline.settings import load_settings
        from pipeline.store.db import read_connection

        with read_connection(load_settings(home=self.home).db_path) as con:
            return con.execute(query).fetchall()


@pytest.fixture(scope="package")
def drift_series(tmp_path_factory) -> Series:
    root = tmp_path_factory.mktemp("drift")
    folders = write_series(root / "input", runs=RUNS, docs=DOCS, change_at=CHANGE_AT, seed=11)
    series = Series(root / "home", folders, [])
    for n, folder in enumerate(folders, start=1):
        done = series.run(folder, run_id=f"series-{n:02d}")
        assert done.returncode == 0, done.stdout + done.stderr
        series.runs.append(done)
    return series
