"""The DAG folder parses without errors and the DAG is wired as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO

RAW_STORE_URI = "newsingest://raw-store/"
INBOX_URI = "newsingest://inbox/"


def inspect_dags(tmp_path) -> str:
    script = textwrap.dedent(
        """
        import json, time
        start = time.perf_counter()
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder="dags")
        out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "seconds": time.perf_counter() - start, "dags": {}}
        for dag_id, dag in bag.dags.items():
            out["dags"][dag_id] = dict(
                tags=sorted(dag.tags), max_active_runs=dag.max_active_runs, params=sorted(dag.params.keys()),
                catchup=dag.catchup, schedule=getattr(dag.timetable, "expression", None),
                schedule_assets=sorted(a.uri for a in getattr(getattr(dag.timetable, "asset_condition", None), "objects", [])),
                sweep=getattr(getattr(dag.timetable, "timetable", None), "_expression", None) or getattr(getattr(dag.timetable, "timetable", None), "expression", None),
                watchers={a.uri: [(w.name, type(w.trigger).__name__, w.trigger.serialize()[1]) for w in a.watchers]
                          for a in getattr(getattr(dag.timetable, "asset_condition", None), "objects", []) if getattr(a, "watchers", None)},
                tasks={t.task_id: {"retries": t.retries, "pool": t.pool, "operator": type(t).__name__, "trigger_rule": str(getattr(t, "trigger_rule", "")), "mapped": type(t).__name__.endswith("MappedOperator"),
                                   "upstream": sorted(t.upstream_task_ids), "outlets": sorted(getattr(o, "uri", str(o)) for o in t.outlets)} for t in dag.tasks},
            )
        print(json.dumps(out))
        """
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=300)
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def dags_info(tmp_path_factory) -> dict:
    info = json.loads(inspect_dags(tmp_path_factory.mktemp("dagbag")))
    assert info["errors"] == {}
    return info


def test_news_ingest_dag(dags_info):
    info = dags_info["dags"]["news_ingest"]
    assert info["tags"] == ["duckdb", "ingest", "news"]
    assert info["max_active_runs"] == 1
    assert info["params"] == ["input"]
    tasks = info["tasks"]
    assert set(tasks) == {"ingest", "route", "shards", "clean", "dedup", "validate", "land", "report"}  # land's commit publishes
    assert all(t["retries"] >= 1 for t in tasks.values())
    assert tasks["clean"]["mapped"] and not tasks["land"]["mapped"]
    assert tasks["land"]["pool"] == "default_pool"  # lake writers commit optimistically: no writer pool
    assert tasks["route"]["upstream"] == ["ingest"] and tasks["shards"]["upstream"] == ["ingest", "route"]
    # A finished micro-batch or an empty run skips everything downstream in one step, not level by level.
    assert "ShortCircuit" in tasks["route"]["operator"] and tasks["route"]["trigger_rule"].lower().endswith("none_failed")
    assert tasks["land"]["upstream"] == ["clean", "dedup", "ingest", "validate"]
    assert tasks["report"]["upstream"] == ["land", "validate"]
    # Runs on the inbox watcher, on news_fetch's batches, and on the periodic sweep.
    assert info["schedule_assets"] == [INBOX_URI, RAW_STORE_URI]
    assert info["sweep"] == "*/5 * * * *"
    [(name, trigger, kwargs)] = info["watchers"][INBOX_URI]
    assert (name, trigger) == ("newsingest_inbox_watcher", "InboxTrigger")
    assert kwargs["directory"].endswith("/inbox")


def test_news_fetch_dag(dags_info):
    info = dags_info["dags"]["news_fetch"]
    assert info["tags"] == ["fetch", "news", "web"]
    assert info["max_active_runs"] == 1 and info["catchup"] is False
    assert info["schedule"] == "*/15 * * * *"
    assert info["params"] == ["sources"]
    tasks = info["tasks"]
    assert set(tasks) == {"fetch", "announce"}
    assert all(t["retries"] >= 1 for t in tasks.values())
    assert tasks["announce"]["upstream"] == ["fetch"]
    assert tasks["announce"]["outlets"] == [RAW_STORE_URI]
    assert tasks["fetch"]["outlets"] == []


@pytest.mark.parametrize("dag_file", ["news_ingest.py", "news_fetch.py", "news_maintenance.py"])
def test_dag_file_has_no_heavy_imports_at_parse_time(dag_file, tmp_path):
    script = textwrap.dedent(
        f"""
        import runpy, sys
        runpy.run_path("dags/{dag_file}")
        print(sorted(m for m in ("duckdb", "great_expectations", "trafilatura", "pandas", "pyarrow", "requests", "pipeline.stages") if m in sys.modules))
        """
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.stdout.strip().splitlines()[-1:] == ["[]"], result.stderr[-3000:]


def test_an_ingest_run_with_nothing_pending_is_skipped(tmp_path):
    script = textwrap.dedent(
        """
        from airflow.dag_processing.dagbag import DagBag
        from airflow.sdk.exceptions import AirflowSkipException
        ingest = DagBag(dag_folder="dags").dags["news_ingest"].get_task("ingest")
        try:
            ingest.python_callable(params={"input": ""}, run_id="r1")
        except AirflowSkipException as exc:
            print("skipped:", exc)
        """
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "NEWSINGEST_HOME": str(tmp_path / "var")}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.stdout.strip().splitlines()[-1:] == ["skipped: nothing pending in the inbox or the fetch queue"], result.stderr[-3000:]


def test_news_maintenance_dag(dags_info):
    info = dags_info["dags"]["news_maintenance"]
    assert info["max_active_runs"] == 1 and info["catchup"] is False
    assert info["schedule"] == "7,22,37,52 * * * *"  # every 15 minutes: micro-batches add small files all day
    assert set(info["tasks"]) == {"compact"} and info["tasks"]["compact"]["retries"] >= 1
