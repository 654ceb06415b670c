"""``newsingest sql``: one query, a prompt, time travel by run id, full-text search."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from pipeline.cli import main
from pipeline.settings import Settings
from pipeline.store.query import run_sql
from tests.conftest import SAMPLE_CORPUS


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("sql")
    assert main(["run", "--input", str(SAMPLE_CORPUS), "--home", str(home), "--run-id", "R1", "--quiet"]) == 0
    assert main(["run", "--input", str(SAMPLE_CORPUS / "lemessager.example"), "--home", str(home), "--run-id", "R2", "--quiet"]) == 0
    return home


def sql(home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "sql", "--home", str(home), *args], capture_output=True, text=True, timeout=120)


def test_one_query_answers_in_json(home):
    done = sql(home, "--format", "json", "SELECT outcome, count(*) AS n FROM run_ledger WHERE run_id = 'R1' GROUP BY ALL ORDER BY outcome")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        {"outcome": "article", "n": 16}, {"outcome": "duplicate", "n": 10}, {"outcome": "quarantined", "n": 8}]


def test_the_prompt_runs_statements_until_quit_and_survives_an_error(home):
    out = io.StringIO()
    script = io.StringIO("SELECT count(*) AS canonical\n  FROM canonical_articles;\nSELECT nonsense;\nSELECT 41 + 1 AS answer;\n.quit\nSELECT 'never';\n")
    assert run_sql(Settings(home=home), None, out=out, source=script) == 0
    text = out.getvalue()
    assert "canonical" in text and "16" in text
    assert "Error:" in text and "nonsense" in text
    assert "answer" in text and "42" in text and "never" not in text


def test_as_of_a_run_the_corpus_is_as_that_run_left_it(home):
    now = sql(home, "--format", "csv", "SELECT count(*) FROM runs")
    then = sql(home, "--format", "csv", "--as-of-run", "R1", "SELECT count(*) FROM runs")
    assert now.stdout.splitlines()[1:] == ["2"] and then.stdout.splitlines()[1:] == ["1"]
    unknown = sql(home, "--as-of-run", "no-such-run", "SELECT 1")
    assert unknown.returncode == 2 and "no landed run 'no-such-run'" in unknown.stderr


def test_full_text_search_ranks_the_matching_article_first(home):
    assert main(["search-index", "--home", str(home)]) == 0
    done = sql(home, "--format", "csv",
               "SELECT title FROM (SELECT *, search.fts_main_documents.match_bm25(article_id, 'dockworkers container port') AS score "
               "FROM search.documents) WHERE score IS NOT NULL ORDER BY score DESC LIMIT 1")
    assert done.returncode == 0, done.stderr
    assert "strike" in done.stdout.splitlines()[1].lower()


def test_a_missing_corpus_is_a_usage_error(tmp_path):
    done = sql(tmp_path, "SELECT 1")
    assert done.returncode == 2 and "no corpus at" in done.stderr
