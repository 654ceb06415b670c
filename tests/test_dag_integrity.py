"""The DAG folder parses without errors and the DAG is wired as documented."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO


def inspect_dags(tmp_path) -> str:
    script = textwrap.dedent(
        """
        import json, time
        start = time.perf_counter()
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder="dags")
        dag = bag.dags.get("news_ingest")
        out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "seconds": time.perf_counter() - start}
        if dag:
            out.update(
                tags=sorted(dag.tags), max_active_runs=dag.max_active_runs, params=sorted(dag.params.keys()),
                tasks={t.task_id: {"retries": t.retries, "pool": t.pool, "mapped": type(t).__name__.endswith("MappedOperator"),
                                   "upstream": sorted(t.upstream_task_ids)} for t in dag.tasks},
            )
        print(json.dumps(out))
        """
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=300)
    return result.stdout.strip().splitlines()[-1]


def test_news_ingest_dag(tmp_path):
    import json

    info = json.loads(inspect_dags(tmp_path))
    assert info["errors"] == {}
    assert info["tags"] == ["duckdb", "ingest", "news"]
    assert info["max_active_runs"] == 1
    assert info["params"] == ["input"]
    tasks = info["tasks"]
    assert set(tasks) == {"load", "shards", "clean", "dedup", "validate", "land", "publish", "report"}
    assert all(t["retries"] >= 1 for t in tasks.values())
    assert tasks["clean"]["mapped"] and not tasks["land"]["mapped"]
    assert tasks["land"]["pool"] == "duckdb_writer"
    assert tasks["land"]["upstream"] == ["clean", "dedup", "load", "validate"]
    assert tasks["report"]["upstream"] == ["land", "publish", "validate"]


def test_dag_file_has_no_heavy_imports_at_parse_time():
    source = (REPO / "dags" / "news_ingest.py").read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    for heavy in ("duckdb", "great_expectations", "trafilatura", "pandas", "pyarrow", "pipeline"):
        assert not [line for line in top_level if line.split()[1].split(".")[0] == heavy], heavy
