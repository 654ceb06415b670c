"""End to end: the real news_ingest DAG (``airflow dags test``, SQLite metadata) into a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.store.db import read_connection
from tests.conftest import SAMPLE_CORPUS, corpus_expectations
from tests.e2e.runner import dags_test, prepare_airflow, query, table_counts

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    return prepare_airflow(tmp_path_factory.mktemp("airflow"))


def run_dag(env: dict, newsingest_home: Path, source: Path) -> None:
    dags_test(env, newsingest_home, "news_ingest", {"input": str(source)})


@pytest.fixture(scope="module")
def sample_run(airflow_env, tmp_path_factory):
    home = tmp_path_factory.mktemp("sample")
    run_dag(airflow_env, home, SAMPLE_CORPUS)
    return home


def test_sample_corpus_outcomes(sample_run):
    db = sample_run / "corpus.sqlite"
    outcomes = dict(query(db, "SELECT outcome, count(*) FROM run_ledger GROUP BY ALL"))
    assert outcomes == {"article": 16, "duplicate": 10, "quarantined": 8}
    assert query(db, "SELECT count(*) FROM canonical_articles")[0][0] == 16
    assert query(db, "SELECT count(*) FROM articles")[0][0] == 26
    # three wire stories: AP in five copies, Reuters and AFP in four each
    sizes = sorted(n for (n,) in query(db, "SELECT count(*) FROM articles GROUP BY dup_cluster_id HAVING count(*) > 1"))
    assert sizes == [4, 4, 5]
    assert query(db, "SELECT count(*) FROM duplicates")[0][0] == 10
    # the four write-ups of the earthquake are kept apart but share one story
    quake = query(db, "SELECT count(DISTINCT dup_cluster_id), count(DISTINCT story_id) FROM articles WHERE title ILIKE '%quake%'")
    assert quake == [(4, 1)]


def input_documents(folder: Path) -> int:
    """Input files, an export counting one document per record."""
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
    lines = sum(len([line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]) for p in files if p.suffix == ".jsonl")
    return lines + sum(1 for p in files if p.suffix != ".jsonl")


def test_every_raw_document_has_exactly_one_outcome(sample_run):
    db = sample_run / "corpus.sqlite"
    rows = query(db, "SELECT count(*), count(DISTINCT uri) FROM run_ledger")
    assert rows == [(34, 34)]
    assert input_documents(SAMPLE_CORPUS) == len(corpus_expectations()) == 34
    runs = query(db, "SELECT documents, articles, duplicates, quarantined, unchanged, status FROM runs")
    assert runs == [(34, 16, 10, 8, 0, "landed")]


def test_broken_inputs_are_quarantined_with_specific_reasons(sample_run):
    db = sample_run / "corpus.sqlite"
    reasons = {Path(uri).name: (stage, reason) for uri, stage, reason in query(db, "SELECT uri, stage, reason FROM quarantine")}
    assert reasons == {
        "empty.txt": ("load", "empty_input"),
        "scan.html": ("clean", "binary_content"),
        "latin1-notice.txt": ("clean", "invalid_encoding"),
        "section-front.html": ("clean", "no_article_text"),
        "truncated.html": ("clean", "no_article_text"),
        "stub.txt": ("clean", "no_article_text"),
        "impossible-date.html": ("clean", "invalid_published_at"),
        "partner-feed.jsonl#4": ("validate", "expect_column_values_to_be_between"),
    }


def test_validation_results_and_reports(sample_run):
    db = sample_run / "corpus.sqlite"
    failed = query(db, "SELECT expectation, \"column\", unexpected_count FROM validation_results WHERE NOT success")
    assert failed == [("expect_column_values_to_be_between", "published_at", 1)]
    assert query(db, "SELECT count(*) FROM validation_results")[0][0] >= 10
    report = (sample_run / "reports" / "latest.html").read_text()
    assert report.count("class=\"plotly-graph-div\"") >= 10 and "plotly.min.js" in report  # charts drawn by plotly.js in the browser
    assert (sample_run / "reports" / "plotly.min.js").exists() and (sample_run / "reports" / "index.html").exists()
    assert query(db, "SELECT sum(documents) FROM source_health")[0][0] == 34
    assert (sample_run / "reports" / "data_docs" / "index.html").exists()
    assert any((sample_run / "corpus.files" / "main" / "articles").glob("*.parquet"))  # the open format, no export step
    assert query(db, "SELECT count(*) FROM removed_segments")[0][0] > 100


def test_rerun_adds_no_rows(airflow_env, sample_run):
    db = sample_run / "corpus.sqlite"
    before = table_counts(db)
    run_dag(airflow_env, sample_run, SAMPLE_CORPUS)
    assert table_counts(db) == before
    latest = query(db, "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1")[0][0]
    assert query(db, f"SELECT outcome, count(*) FROM run_ledger WHERE run_id = '{latest}' GROUP BY ALL") == [("unchanged", 34)]


def test_seeds_through_the_dag(airflow_env, tmp_path, seeds_dir):
    run_dag(airflow_env, tmp_path, seeds_dir)
    db = tmp_path / "corpus.sqlite"
    assert dict(query(db, "SELECT outcome, count(*) FROM run_ledger GROUP BY ALL")) == {"article": 5}
    assert query(db, "SELECT count(*), count(DISTINCT dup_cluster_id), count(DISTINCT story_id) FROM canonical_articles") == [(5, 5, 1)]


def test_a_run_without_input_drains_the_inbox(airflow_env, tmp_path):
    """What the inbox watcher and the sweep start: the run claims the inbox, lands it, and moves
    the files to the processed area; each keeps its inbox path in the ledger."""
    import shutil

    home = tmp_path / "var"
    inbox = home / "inbox"
    shutil.copytree(SAMPLE_CORPUS, tmp_path / "writing")
    inbox.mkdir(parents=True)
    for folder in sorted((tmp_path / "writing").iterdir()):
        folder.rename(inbox / folder.name)  # written elsewhere, renamed in
    dags_test(airflow_env, home, "news_ingest", {})
    db = home / "corpus.sqlite"
    assert dict(query(db, "SELECT outcome, count(*) FROM run_ledger GROUP BY ALL")) == {"article": 16, "duplicate": 10, "quarantined": 8}
    uris = [uri for (uri,) in query(db, "SELECT uri FROM run_ledger")]
    assert all(uri.startswith(str(inbox) + "/") for uri in uris), uris[:3]
    assert not [p for p in inbox.rglob("*") if p.is_file()]
    assert len([p for p in (home / "processed").rglob("*") if p.is_file() and p.name != "claim.json"]) == len([p for p in SAMPLE_CORPUS.rglob("*") if p.is_file()])
    assert not list((home / "queue" / "claimed").iterdir())
    # Nothing pending: the next run is skipped and lands nothing.
    output = dags_test(airflow_env, home, "news_ingest", {})
    assert "nothing pending in the inbox or the fetch queue" in output
    assert query(db, "SELECT count(*) FROM runs")[0][0] == 1


def test_a_batch_over_the_micro_batch_size_maps_clean_over_shards(airflow_env, tmp_path):
    env = {**airflow_env, "NEWSINGEST_MICRO_BATCH_MAX_DOCS": "10", "NEWSINGEST_SHARD_SIZE": "8"}
    output = dags_test(env, tmp_path / "var", "news_ingest", {"input": str(SAMPLE_CORPUS)})
    db = tmp_path / "var" / "corpus.sqlite"
    assert dict(query(db, "SELECT outcome, count(*) FROM run_ledger GROUP BY ALL")) == {"article": 16, "duplicate": 10, "quarantined": 8}
    mapped = {line.split("map_index=")[1].split()[0].strip(",") for line in output.splitlines() if "task_id=clean" in line and "map_index=" in line}
    assert len(mapped) >= 3, output[-3000:]


def test_maintenance_dag_compacts_the_corpus_without_changing_it(airflow_env, tmp_path):
    home = tmp_path / "var"
    for _ in range(2):  # two commits: small files to merge
        dags_test(airflow_env, home, "news_ingest", {"input": str(SAMPLE_CORPUS)})
    db = home / "corpus.sqlite"
    before, files_before = table_counts(db), live_files(db)
    dags_test(airflow_env, home, "news_maintenance", {})
    assert table_counts(db) == before
    # Small files merged, inlined rows written out: one file a table for a corpus this small.
    files_after = live_files(db)
    assert files_after != files_before and set(files_after.values()) == {1}, (files_before, files_after)


def live_files(db) -> dict[str, int]:
    """Data files of the current snapshot, per table (rows inlined in the catalog have none)."""
    with read_connection(db) as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'corpus'").fetchall()]
        return {t: con.execute(f"SELECT count(*) FROM ducklake_list_files('corpus', '{t}')").fetchall()[0][0] for t in tables}


def test_a_drifting_source_fails_the_run_when_health_action_is_fail(airflow_env, tmp_path):
    """Three runs of four outlets, then one whose pages of shiftpost.example moved behind a wall:
    with health_action 'fail', the DAG run lands its batch and fails, saying which source drifted."""
    import subprocess

    from pipeline.benchmarks.source_drift import CHANGED, write_series
    from tests.e2e.runner import AIRFLOW

    home = tmp_path / "home"
    folders = write_series(tmp_path / "input", runs=4, docs=12, change_at=4, seed=5)
    newsingest = str(Path(AIRFLOW).with_name("newsingest"))
    for folder in folders[:3]:
        subprocess.run([newsingest, "run", "--input", str(folder), "--quiet", "--home", str(home)], check=True, capture_output=True, timeout=300)
    result = subprocess.run(
        [AIRFLOW, "dags", "test", "news_ingest", "-c", f'{{"input": "{folders[3]}"}}'],
        env={**airflow_env, "NEWSINGEST_HOME": str(home), "NEWSINGEST_HEALTH_ACTION": "fail"}, capture_output=True, text=True, timeout=900,
    )
    output = result.stdout + result.stderr
    assert "state=failed" in output, output[-6000:]
    assert f"look like they changed their layout ({CHANGED}:" in output
    db = home / "corpus.sqlite"
    assert query(db, "SELECT count(*) FROM runs WHERE status = 'landed'")[0][0] == 4  # the batch is kept
    assert query(db, "SELECT DISTINCT domain FROM source_health WHERE drift IS NOT NULL") == [(CHANGED,)]
