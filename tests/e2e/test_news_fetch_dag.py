"""End to end: news_fetch (real ``airflow dags test``) fetches a 50-article feed from 127.0.0.1 into
the raw store and updates the raw-store Asset; news_ingest lands the batch the asset event names.
A second fetch sends only conditional requests and adds no rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import pytest
from pytest_httpserver import HTTPServer

from tests.e2e.runner import CORPUS_TABLES, dags_test, prepare_airflow, query, table_counts
from tests.sources.web.news_site import article, serve_site

pytestmark = pytest.mark.e2e
PAGES = 50
TABLES = (*CORPUS_TABLES, "run_ledger")


def fetch_query(home, sql: str):
    """The fetcher's own state file."""
    with duckdb.connect(str(home / "fetch_state.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    return prepare_airflow(
        tmp_path_factory.mktemp("airflow"),
        NEWSINGEST_FETCH_ALLOW_LOOPBACK="true",  # test-only: the site below is on 127.0.0.1
        NEWSINGEST_FETCH_HOST_DELAY="0",
        NEWSINGEST_FETCH_REVISIT_SECONDS="0",  # revalidate every page on the second run
    )


@pytest.fixture(scope="module")
def news_site():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    log: list = []
    feed = serve_site(server, PAGES, log)
    try:
        yield server, feed, log
    finally:
        server.clear()
        server.stop()


def asset_events(env: dict) -> list[dict]:
    with sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db") as con:
        rows = con.execute("SELECT e.extra, e.source_dag_id FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.uri = 'newsingest://raw-store/' ORDER BY e.id").fetchall()
    return [{"extra": json.loads(extra), "dag": dag} for extra, dag in rows]


def test_feed_of_50_pages_is_fetched_cleaned_deduplicated_and_landed(airflow_env, news_site, tmp_path):
    server, feed, log = news_site
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "harbour ledger"\nfeed = "{feed}"\n')
    home = tmp_path / "var"
    db = home / "corpus.sqlite"

    dags_test(airflow_env, home, "news_fetch", {"sources": str(sources)})
    page_requests = [entry for entry in log if entry[0].startswith("/news/")]
    assert len(page_requests) == PAGES and not any(etag for _, etag, _ in page_requests)
    events = asset_events(airflow_env)
    assert len(events) == 1 and events[0]["dag"] == "news_fetch"
    manifest = events[0]["extra"]["manifest"]
    assert events[0]["extra"]["documents"] == PAGES

    # What the scheduler does on that asset event: a news_ingest run over the event's manifest.
    dags_test(airflow_env, home, "news_ingest", {"input": manifest})
    assert dict(query(db, "SELECT outcome, count(*) FROM run_ledger GROUP BY ALL")) == {"article": PAGES}
    landed = query(db, "SELECT url, domain, title FROM articles ORDER BY url")
    assert sorted(url for url, _, _ in landed) == sorted(server.url_for(f"/news/{n}") for n in range(PAGES))
    assert {domain for _, domain, _ in landed} == {"127.0.0.1"}
    assert article(7)[0] in {title for _, _, title in landed}
    assert query(db, "SELECT count(*) FROM canonical_articles")[0][0] == PAGES
    assert query(db, "SELECT count(*) FROM quarantine")[0][0] == 0
    # boilerplate of the page chrome was removed, not landed
    assert query(db, "SELECT count(*) FROM articles WHERE body ILIKE '%accept all cookies%' OR body ILIKE '%all rights reserved%'")[0][0] == 0

    # Second run: every request is conditional, nothing new reaches the raw store or the corpus.
    before = table_counts(db, TABLES)
    log.clear()
    output = dags_test(airflow_env, home, "news_fetch", {"sources": str(sources)})
    assert [path for path, _, _ in log] == ["/feed.xml"] + [f"/news/{n}" for n in range(PAGES)]
    assert all(etag and modified for _, etag, modified in log)
    assert len(asset_events(airflow_env)) == 1, output[-3000:]  # announce skipped: no event, no ingest run
    latest = fetch_query(home, "SELECT manifest, documents FROM fetch_batches ORDER BY started_at DESC LIMIT 1")[0]
    assert latest[1] == 0
    dags_test(airflow_env, home, "news_ingest", {"input": latest[0]})
    assert table_counts(db, TABLES) == before
    assert fetch_query(home, "SELECT status, count(*) FROM fetch_state WHERE kind = 'page' GROUP BY ALL") == [("not_modified", PAGES)]
