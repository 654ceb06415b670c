"""Source health: per-source counts of every run and the drift check against each source's own
baseline, on real runs of a generated outlet whose template changes halfway (conftest.py)."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta

import pytest

from pipeline.benchmarks.source_drift import write_series
from pipeline.monitor.health import SourceDriftError, SourceRun, check_action, enforce, judge, record_source_health
from pipeline.settings import Settings, load_settings
from tests.conftest import REPO
from tests.monitor.conftest import CHANGE_AT, DOCS, NEWSINGEST, RUNS


def test_the_changed_outlet_is_flagged_from_its_first_changed_run_and_no_other(drift_series):
    rows = drift_series.sql("SELECT run_id, domain, drift FROM source_health ORDER BY run_id, domain")
    flagged = {(run, domain) for run, domain, drift in rows if drift}
    expected = {(f"series-{n:02d}", drift_series.changed) for n in range(CHANGE_AT, RUNS + 1)}
    assert flagged == expected
    assert len(rows) == RUNS * len(drift_series.outlets)
    why = dict(((run, domain), drift) for run, domain, drift in rows)[(f"series-{CHANGE_AT:02d}", drift_series.changed)]
    assert "words on average" in why  # the teaser is a fraction of the old bodies
    warned = drift_series.runs[CHANGE_AT - 1].stderr
    assert f"source {drift_series.changed} looks like it changed its layout" in warned
    assert "looks like it changed" not in drift_series.runs[CHANGE_AT - 2].stderr


def test_every_ledger_row_is_counted_once_under_its_source(drift_series):
    per_run = drift_series.sql(
        "SELECT h.run_id, sum(h.documents), any_value(l.n) FROM source_health h "
        "JOIN (SELECT run_id, count(*) AS n FROM run_ledger GROUP BY 1) l USING (run_id) GROUP BY 1 ORDER BY 1")
    assert len(per_run) == RUNS and all(total == ledger for _, total, ledger in per_run)
    per_source = drift_series.sql("SELECT DISTINCT documents FROM source_health")
    assert per_source == [(DOCS,)]
    reasons = drift_series.sql(
        "SELECT r.run_id, r.domain, sum(r.count), any_value(h.quarantined) FROM source_reasons r JOIN source_health h USING (run_id, domain) "
        "WHERE r.kind = 'quarantined' GROUP BY 1, 2")
    assert all(n == held for *_, n, held in reasons)


def test_recording_a_run_again_leaves_one_set_of_rows(drift_series):
    before = drift_series.sql("SELECT * FROM source_health WHERE run_id = 'series-05' ORDER BY domain")
    reasons = drift_series.sql("SELECT * FROM source_reasons WHERE run_id = 'series-05' ORDER BY ALL")
    drifting = record_source_health("series-05", load_settings(home=drift_series.home))
    assert set(drifting) == {drift_series.changed}
    assert drift_series.sql("SELECT * FROM source_health WHERE run_id = 'series-05' ORDER BY domain") == before
    assert drift_series.sql("SELECT * FROM source_reasons WHERE run_id = 'series-05' ORDER BY ALL") == reasons


def test_fail_action_lands_the_batch_and_exits_4(drift_series, tmp_path):
    [folder] = write_series(tmp_path, runs=1, docs=DOCS, change_at=1, seed=99)  # new pages, the changed template
    done = drift_series.run(folder, run_id="series-fail", NEWSINGEST_HEALTH_ACTION="fail")
    assert done.returncode == 4, done.stdout + done.stderr
    assert drift_series.sql("SELECT status FROM runs WHERE run_id = 'series-fail'") == [("landed",)]
    assert drift_series.sql("SELECT domain FROM source_health WHERE run_id = 'series-fail' AND drift IS NOT NULL") == [(drift_series.changed,)]


def _history(runs: int, words: int = 400, empty: int = 0, removed: int = 0, docs: int = 12) -> list[tuple]:
    landed = docs - empty
    return [(docs, empty, empty, landed, words * landed, removed * landed)] * runs


def test_judge_needs_a_baseline_and_enough_recent_documents():
    settings = Settings()
    collapsed = SourceRun("x.example", documents=12, articles=12, landed=12, body_words=12 * 45)
    assert judge(collapsed, _history(1), settings) is None  # 12 documents of baseline: not judged yet
    assert "words on average" in judge(collapsed, _history(3), settings)
    few = SourceRun("x.example", documents=3, articles=3, landed=3, body_words=3 * 45)
    # three documents alone are not judged; with the runs just before them they are
    assert judge(few, [], settings) is None
    assert judge(few, [(3, 0, 0, 3, 135, 0)] * 3 + _history(3), settings) is not None
    unchanged = SourceRun("x.example", documents=12, unchanged=12)
    assert judge(unchanged, _history(5), settings) is None


def test_judge_names_each_kind_of_change():
    settings = Settings()
    empty = SourceRun("x.example", documents=12, quarantined=8, no_article_text=8, articles=4, landed=4, body_words=4 * 400)
    assert judge(empty, _history(4), settings).startswith("no article text in 67% of documents (baseline 0%)")
    noisy = SourceRun("x.example", documents=12, articles=12, landed=12, body_words=12 * 390, removed_segments=12 * 9)
    assert judge(noisy, _history(4, removed=3), settings) == "9.0 boilerplate segments removed a document (baseline 3.0)"
    steady = SourceRun("x.example", documents=12, articles=12, landed=12, body_words=12 * 380, removed_segments=12 * 3)
    assert judge(steady, _history(4, removed=3), settings) is None
    # a change that lasted becomes the baseline: the flag clears
    assert judge(SourceRun("x.example", documents=12, articles=12, landed=12, body_words=12 * 45), _history(6, words=45), settings) is None


def test_health_action_is_checked():
    with pytest.raises(ValueError, match="health_action must be one of warn, fail"):
        check_action(Settings(health_action="stop"))
    enforce("r1", {"x.example": "why"}, Settings())  # warn: nothing raised
    with pytest.raises(SourceDriftError, match="x.example: why"):
        enforce("r1", {"x.example": "why"}, Settings(health_action="fail"))


def test_backfill_records_runs_that_have_no_health(drift_series):
    from pipeline.store.db import connect

    settings = load_settings(home=drift_series.home)
    before = drift_series.sql("SELECT * FROM source_health WHERE run_id IN ('series-01', 'series-02') ORDER BY ALL")
    with connect(settings.db_path, near_index=False) as con:
        con.execute("DELETE FROM source_health WHERE run_id IN ('series-01', 'series-02')")
    done = subprocess.run([NEWSINGEST, "report", "--backfill-health"], env=drift_series.env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "source health recorded for 2 earlier runs" in done.stderr
    assert drift_series.sql("SELECT * FROM source_health WHERE run_id IN ('series-01', 'series-02') ORDER BY ALL") == before


def test_fetch_lag_of_fetched_pages(drift_series):
    """Pages the fetcher received (its fetch_state) get fetched_at - published_at per source."""
    from pipeline.store.db import connect_file

    settings = load_settings(home=drift_series.home)
    articles = drift_series.sql("SELECT url, published_at FROM articles WHERE run_id = 'series-02' AND domain = 'metrotribune.example'")
    assert len(articles) == DOCS
    with connect_file(settings.fetch_state_path, REPO / "schemas" / "fetch") as con:
        for n, (url, published) in enumerate(articles):
            con.execute("INSERT INTO fetch_state (url, kind, status, fetched_at, checked_at, fetch_run_id) VALUES (?, 'page', 'fetched', ?, ?, 'f1')",
                        [url, published + timedelta(hours=2 + n % 2), published + timedelta(hours=3)])
    try:
        record_source_health("series-02", settings)
        lags = dict(drift_series.sql("SELECT domain, fetch_lag_seconds FROM source_health WHERE run_id = 'series-02'"))
        assert lags.pop("metrotribune.example") == pytest.approx(2.5 * 3600)  # median of 2 h and 3 h lags
        assert set(lags.values()) == {None}
    finally:
        settings.fetch_state_path.unlink()
        record_source_health("series-02", settings)


def test_a_source_without_enough_history_is_learning_not_ok():
    from pipeline.report.run_report import Trends, source_table

    trends = Trends.__new__(Trends)
    row = {"run_id": "r1", "run_started_at": datetime(2026, 1, 1), "domain": "new.example", "documents": 12,
           "articles": 12, "duplicates": 0, "quarantined": 0, "unchanged": 0, "no_article_text": 0, "landed": 12, "body_words": 4800,
           "removed_segments": 0, "freshness_seconds": None, "fetch_lag_seconds": None, "drift": None}
    trends.rows, trends.by_domain = [row], {"new.example": [row]}
    assert "learning" in source_table(trends, set(), learning=40)
    assert ">ok<" in source_table(trends, set(), learning=12)


def test_land_records_source_health_in_the_commit_that_lands_the_run(tmp_path):
    """No report stage runs here: the counts come with the batch, in the same snapshot."""
    from pipeline.benchmarks.wire_corpus import Doc
    from pipeline.store.db import read_connection, run_snapshot
    from tests.dedup.factory import story, text
    from tests.dedup.flow import land_batches

    _, [(headline, paragraphs)] = story(5)
    original = Doc("original", text(headline, paragraphs), "https://apnews.com/a/1", "2026-03-01T08:00:00+00:00", "x")
    copy = Doc("copy", original.text, "https://paper.example/news/1", "2026-03-01T09:00:00+00:00", "x")
    settings = land_batches(tmp_path, [[original, copy]])
    with read_connection(settings.db_path) as con:
        health = con.execute("SELECT domain, documents, articles, duplicates, landed FROM source_health ORDER BY domain").fetchall()
        assert health == [("apnews.com", 1, 1, 0, 1), ("paper.example", 1, 0, 1, 1)]
        [(run_id,)] = con.execute("SELECT run_id FROM runs").fetchall()
        landed = run_snapshot(con, run_id)
        at_landing = con.execute(f"SELECT count(*) FROM source_health AT (VERSION => {landed})").fetchall()
        before = con.execute(f"SELECT count(*) FROM source_health AT (VERSION => {landed - 1})").fetchall()
        assert (at_landing, before) == ([(2,)], [(0,)])
