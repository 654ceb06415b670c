"""The frontier in DuckDB: bulk enqueue that holds the write lock briefly, and the per-source cap."""

from __future__ import annotations

import time
from dataclasses import replace

import duckdb

from pipeline.sources.web import Source, run_fetch
from pipeline.sources.web.state import FetchStore
from tests.sources.web.conftest import paths
from tests.sources.web.news_site import serve_site


def test_a_large_sitemap_is_enqueued_in_one_short_transaction(tmp_path):
    store = FetchStore(tmp_path / "x.duckdb", 5)
    batch_id, _ = store.open_batch("sig", "[]", "b1")
    items = [(f"https://news.example.invalid/a{i}", "https://news.example.invalid/sitemap.xml", {"published_at": "2026-11-01T00:00:00+00:00"}) for i in range(50_000)]
    start = time.monotonic()
    assert store.enqueue(batch_id, items + items[:10]) == 50_000  # a URL named twice is enqueued once
    assert time.monotonic() - start < 10.0  # row by row this took minutes
    assert store.enqueue(batch_id, items[:5] + [("https://news.example.invalid/new", "s", {})]) == 1
    with duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT url, position, declared FROM fetch_frontier WHERE url IN ('https://news.example.invalid/a0', 'https://news.example.invalid/new') ORDER BY position").fetchall()
    assert rows[0] == ("https://news.example.invalid/a0", 0, '{"published_at": "2026-11-01T00:00:00+00:00"}')
    assert rows[1][0] == "https://news.example.invalid/new" and rows[1][1] >= 50_000  # after what was there


def test_each_source_enqueues_at_most_its_cap_most_recent_first(server, fetch_settings):
    serve_site(server, 5)
    dates = ["2026-10-01", "2026-11-05", "2026-09-01", "2026-11-04", "2026-11-03T23:00:00-05:00"]
    sitemap = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + "".join(
        f"<url><loc>{server.url_for(f'/news/{n}')}</loc><lastmod>{date}</lastmod></url>" for n, date in enumerate(dates)
    ) + "</urlset>"
    server.expect_request("/sitemap.xml").respond_with_data(sitemap, content_type="application/xml")
    summary = run_fetch(replace(fetch_settings, fetch_max_links_per_source=3), "run-1", [Source("sitemap", server.url_for("/sitemap.xml"))])
    assert summary["outcomes"] == {"fetched": 3} and summary["links_dropped"] == 2
    assert [p for p in paths(server) if p.startswith("/news/")] == ["/news/1", "/news/3", "/news/4"]  # 04:00 UTC on the 4th is the newest but one
