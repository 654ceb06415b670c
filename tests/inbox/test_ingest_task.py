"""The DAG's ingest task on the queue: a retry after its land commit must not claim new input."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO, SAMPLE_CORPUS
from tests.inbox.test_queue import drop


def test_a_retry_after_land_settles_its_claim_and_leaves_new_files_pending(tmp_path):
    home = tmp_path / "var"
    sample = sorted(SAMPLE_CORPUS.glob("*.example/*.txt"))
    drop(home / "inbox", "first.example", "a.txt", sample[0].read_text(encoding="utf-8"))
    script = textwrap.dedent(
        f"""
        import shutil, time, os
        from pathlib import Path
        from airflow.dag_processing.dagbag import DagBag
        ingest = DagBag(dag_folder="dags").dags["news_ingest"].get_task("ingest")
        first = ingest.python_callable(params={{"input": ""}}, run_id="r1")
        print("first:", first["micro"]["article"])
        # The try ended after its commit (killed in the report); a file arrives; the task is retried.
        tmp = Path({str(tmp_path)!r}) / "b.txt"
        shutil.copy({str(sample[1])!r}, tmp)
        os.utime(tmp, (time.time() - 10, time.time() - 10))
        os.rename(tmp, Path({str(home)!r}) / "inbox" / "second.example" / "b.txt") if (Path({str(home)!r}) / "inbox" / "second.example").mkdir() is None else None
        again = ingest.python_callable(params={{"input": ""}}, run_id="r1")
        print("again:", again["micro"]["article"])
        """
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "NEWSINGEST_HOME": str(home)}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-2:] == ["first: 1", "again: 1"], result.stdout[-2000:]
    assert (home / "inbox" / "second.example" / "b.txt").exists()  # still pending, for the next run
    assert not list((home / "queue" / "claimed").iterdir())
