"""What the end-to-end tests share: a project-local Airflow with SQLite metadata, `airflow dags
test` runs, and reads of the corpus they produce."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pipeline.store.db import read_connection
from tests.conftest import REPO

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
# Tables a rerun of known input must not grow (run_ledger does: it records the `unchanged` outcomes).
CORPUS_TABLES = ("articles", "duplicates", "removed_segments", "quarantine", "validation_results", "near_sketches", "near_keys", "story_terms", "site_lines")


def prepare_airflow(home: Path, **extra_env: str) -> dict:
    """Migrated metadata in ``home``; the environment to run Airflow with."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "GX_ANALYTICS_ENABLED": "false",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",  # the run state is asserted from the log
        **extra_env,
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=600)
    return env


def dags_test(env: dict, newsingest_home: Path, dag_id: str, conf: dict) -> str:
    """One real DAG run; fails the test unless it succeeded. Returns Airflow's output."""
    result = subprocess.run(
        [AIRFLOW, "dags", "test", dag_id, "-c", json.dumps(conf)],
        env={**env, "NEWSINGEST_HOME": str(newsingest_home)}, capture_output=True, text=True, timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "state=success" in output, output[-6000:]
    return output


def query(db: Path, sql: str):
    with read_connection(db) as con:
        return con.execute(sql).fetchall()


def table_counts(db: Path, tables: tuple[str, ...] = CORPUS_TABLES) -> dict[str, int]:
    return {t: query(db, f"SELECT count(*) FROM {t}")[0][0] for t in tables}
