"""Fetch runs against a generated news site on 127.0.0.1: sources, robots.txt, conditional GET,
canonical URLs, quarantine rows and the manifest news_ingest loads."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import duckdb

from pipeline.sources import iter_documents
from pipeline.sources.web import Source, load_sources, run_fetch
from pipeline.sources.web.discover import parse_feed, parse_sitemap
from tests.sources.web.conftest import paths
from tests.sources.web.news_site import article, conditional, rss, serve_site


def query(settings, sql):
    with duckdb.connect(str(settings.fetch_state_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def manifest_urls(summary) -> list[str]:
    with open(summary["manifest"], encoding="utf-8") as fh:
        return [json.loads(line)["url"] for line in fh]


def test_feed_pages_land_in_the_raw_store_with_their_urls(server, fetch_settings):
    feed = serve_site(server, 5)
    summary = run_fetch(fetch_settings, "run-1", [Source("feed", feed)])
    assert summary["documents"] == 5 and summary["outcomes"] == {"fetched": 5}
    assert sorted(manifest_urls(summary)) == sorted(server.url_for(f"/news/{n}") for n in range(5))
    docs = list(iter_documents([summary["manifest"]], fetch_settings.max_document_bytes))
    assert {d.domain for d in docs} == {"127.0.0.1"}
    assert all(d.content_type == "text/html" and d.encoding == "utf-8" for d in docs)
    first = next(d for d in docs if d.url.endswith("/news/0"))
    assert first.payload == article(0)[1].encode()
    assert first.declared["title"] == article(0)[0]  # the feed's item title travels with the page


def test_second_run_sends_only_conditional_requests_and_hands_over_nothing(server, fetch_settings):
    log: list = []
    feed = serve_site(server, 4, log)
    run_fetch(fetch_settings, "run-1", [Source("feed", feed)])
    log.clear()
    summary = run_fetch(fetch_settings, "run-2", [Source("feed", feed)])
    assert summary["documents"] == 0 and summary["outcomes"] == {"not_modified": 4}
    assert [p for p, _, _ in log] == ["/feed.xml"] + [f"/news/{n}" for n in range(4)]  # robots.txt is cached
    assert all(etag and modified for _, etag, modified in log)
    assert manifest_urls(summary) == []


def test_pages_checked_recently_are_not_requested_at_all(server, fetch_settings):
    feed = serve_site(server, 3)
    settings = replace(fetch_settings, fetch_revisit_seconds=3600)
    run_fetch(settings, "run-1", [Source("feed", feed)])
    server.clear_log()
    summary = run_fetch(settings, "run-2", [Source("feed", feed)])
    assert summary["outcomes"] == {"fresh": 3}
    assert paths(server) == ["/feed.xml"]


def test_url_with_tracking_parameters_is_the_page_already_fetched(server, fetch_settings, tmp_path):
    serve_site(server, 2)
    urls = tmp_path / "urls.txt"
    urls.write_text(server.url_for("/news/0") + "\n")
    run_fetch(replace(fetch_settings, fetch_revisit_seconds=3600), "run-1", [Source("urls", str(urls))])
    shared = server.url_for("/news/0") + "?utm_source=newsletter&utm_medium=email&fbclid=AbC123#comments"
    urls.write_text(shared + "\n" + server.url_for("/news/1") + "?utm_campaign=x\n")
    summary = run_fetch(replace(fetch_settings, fetch_revisit_seconds=3600), "run-2", [Source("urls", str(urls))])
    assert paths(server).count("/news/0") == 1
    assert [r[0].query_string for r in server.log if r[0].path == "/news/1"] == [b""]  # requested without trackers
    assert summary["outcomes"] == {"fresh": 1, "fetched": 1}
    assert query(fetch_settings, "SELECT count(*) FROM fetch_state WHERE url LIKE '%utm%' OR url LIKE '%fbclid%'") == [(0,)]


def test_robots_disallow_is_obeyed_and_quarantined(server, fetch_settings):
    feed = serve_site(server, 4, robots="User-agent: *\nDisallow: /news/2\n\nUser-agent: otherbot\nDisallow: /\n")
    summary = run_fetch(fetch_settings, "run-1", [Source("feed", feed)])
    assert "/news/2" not in paths(server)
    assert summary["outcomes"] == {"fetched": 3, "quarantined": 1}
    assert query(fetch_settings, "SELECT uri, stage, reason FROM quarantine") == [(server.url_for("/news/2"), "fetch", "robots_disallowed")]


def test_robots_crawl_delay_spaces_requests(server, fetch_settings):
    import time

    feed = serve_site(server, 1, robots="User-agent: *\nCrawl-delay: 1\n")
    start = time.monotonic()
    run_fetch(fetch_settings, "run-1", [Source("feed", feed)])
    assert time.monotonic() - start >= 1.0  # the host delay setting is 0; robots.txt asks for 1 s


def test_unreachable_robots_txt_keeps_the_host_off_limits(server, fetch_settings):
    serve_site(server, 1)
    server.clear()
    server.expect_request("/robots.txt").respond_with_data("down", status=503)
    server.expect_request("/feed.xml").respond_with_data(rss(server.url_for("/"), range(1)), content_type="application/rss+xml")
    run_fetch(replace(fetch_settings, fetch_retries=0), "run-1", [Source("feed", server.url_for("/feed.xml"))])
    assert paths(server) == ["/robots.txt"]
    assert ("fetch", "robots_unavailable") in query(fetch_settings, "SELECT stage, reason FROM quarantine")


def test_loopback_source_is_refused_by_default_with_a_quarantine_row(server, fetch_settings):
    feed = serve_site(server, 2)
    summary = run_fetch(replace(fetch_settings, fetch_allow_loopback=False), "run-1", [Source("feed", feed)])
    assert paths(server) == []
    assert summary["documents"] == 0
    assert sorted(query(fetch_settings, "SELECT uri, reason FROM quarantine WHERE stage = 'fetch'")) == [
        (feed, "loopback_address"), (server.url_for("/robots.txt"), "loopback_address"),
    ]


def test_every_failure_is_a_quarantine_row_with_its_reason(server, fetch_settings, tmp_path):
    serve_site(server, 1)
    server.expect_request("/big").respond_with_data(b"z" * 300_000, content_type="text/html")
    server.expect_request("/doc.pdf").respond_with_data(b"%PDF-1.7", content_type="application/pdf")
    server.expect_request("/gone").respond_with_data("", status=404)
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join([
        server.url_for("/news/0"), server.url_for("/big"), server.url_for("/doc.pdf"), server.url_for("/gone"),
        "ftp://files.example.invalid/a.txt", "file:///etc/passwd", "not a url",
    ]))
    summary = run_fetch(fetch_settings, "run-1", [Source("urls", str(urls))])
    reasons = dict(query(fetch_settings, "SELECT uri, reason FROM quarantine WHERE stage = 'fetch'"))
    assert reasons == {
        server.url_for("/big"): "oversize_body",
        server.url_for("/doc.pdf"): "unsupported_content_type",
        server.url_for("/gone"): "not_found",
        "ftp://files.example.invalid/a.txt": "unsupported_scheme",
        "file:///etc/passwd": "unsupported_scheme",
        "not a url": "invalid_url",
    }
    assert summary["documents"] == 1


def test_sitemap_index_and_google_news_sitemap(server, fetch_settings):
    base = server.url_for("/")
    serve_site(server, 4)
    news = f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{base}news/0</loc><news:news><news:publication><news:name>Harbour Ledger</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2026-11-01T08:00:00Z</news:publication_date><news:title>{article(0)[0]}</news:title></news:news></url>
<url><loc>{base}news/1?utm_source=sitemap</loc></url></urlset>"""
    plain = f"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{base}news/2</loc><lastmod>2026-11-02</lastmod></url></urlset>"""
    index = f"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>{base}sitemap-news.xml</loc></sitemap>
<sitemap><loc>{base}sitemap-2.xml.gz</loc></sitemap></sitemapindex>"""
    server.expect_request("/sitemap.xml").respond_with_handler(conditional(index.encode(), "application/xml"))
    server.expect_request("/sitemap-news.xml").respond_with_handler(conditional(news.encode(), "application/xml"))
    server.expect_request("/sitemap-2.xml.gz").respond_with_handler(conditional(gzip.compress(plain.encode()), "application/x-gzip"))
    summary = run_fetch(fetch_settings, "run-1", [Source("sitemap", base + "sitemap.xml")])
    assert sorted(manifest_urls(summary)) == [f"{base}news/{n}" for n in range(3)]
    assert "/news/3" not in paths(server)
    content = parse_sitemap(news.encode(), base, 10_000)
    assert content.pages[0].declared == {"title": article(0)[0], "published_at": "2026-11-01T08:00:00+00:00"}


def test_feeds_are_discovered_from_a_homepage(server, fetch_settings):
    feed = serve_site(server, 2)
    home = '<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body><h1>Harbour Ledger</h1></body></html>'
    server.expect_request("/").respond_with_data(home, content_type="text/html")
    summary = run_fetch(fetch_settings, "run-1", [Source("homepage", server.url_for("/"))])
    assert summary["documents"] == 2
    assert "/feed.xml" in paths(server) and feed.endswith("/feed.xml")


def test_atom_and_rss_feeds_parse_to_canonical_links():
    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><title>Quay reopens</title><link rel="alternate" href="https://news.example.invalid/a?utm_source=rss"/><published>2026-11-03T10:00:00Z</published></entry>
<entry><title>No link</title></entry></feed>"""
    links = parse_feed(atom, "https://news.example.invalid/feed")
    assert [(link.url, link.declared) for link in links] == [("https://news.example.invalid/a", {"title": "Quay reopens", "published_at": "2026-11-03T10:00:00+00:00"})]
    entities = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel><item><title>&x;</title><link>https://news.example.invalid/b</link></item></channel></rss>"""
    parsed = parse_feed(entities, "https://news.example.invalid/feed")
    assert [link.url for link in parsed] == ["https://news.example.invalid/b"]
    assert "root:" not in json.dumps(parsed[0].declared)


def test_sources_file(tmp_path):
    (tmp_path / "list.txt").write_text("https://news.example.invalid/a\n")
    config = tmp_path / "sources.toml"
    config.write_text('[[source]]\nfeed = "https://news.example.invalid/rss"\n[[source]]\nname = "picks"\nurls = "list.txt"\n')
    assert load_sources(config) == [Source("feed", "https://news.example.invalid/rss"), Source("urls", str(tmp_path / "list.txt"), "picks")]
    config.write_text('[[source]]\nfeed = "https://a.example.invalid/"\nsitemap = "https://a.example.invalid/s.xml"\n')
    try:
        load_sources(config)
    except ValueError as exc:
        assert "exactly one of" in str(exc)
    else:
        raise AssertionError("a source with two kinds must be rejected")


def test_example_sources_file_points_nowhere_real():
    from tests.conftest import REPO

    sources = load_sources(REPO / "sources.example.toml")
    assert {s.kind for s in sources} == {"feed", "sitemap", "homepage", "urls"}
    for source in sources:
        text = source.location if source.kind != "urls" else Path(source.location).read_text()
        assert ".invalid" in text


def test_pages_beyond_the_per_run_cap_are_carried_over_to_the_next_run(server, fetch_settings, tmp_path):
    serve_site(server, 4)
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(server.url_for(f"/news/{n}") + "\n" for n in range(4)))
    capped = replace(fetch_settings, fetch_max_pages=2)
    first = run_fetch(capped, "run-1", [Source("urls", str(urls))])
    assert first["outcomes"] == {"fetched": 2, "deferred": 2} and first["deferred"] == 2
    urls.write_text("")  # the list no longer names them: the carried-over frontier still does
    second = run_fetch(capped, "run-2", [Source("urls", str(urls))])
    assert second["outcomes"] == {"fetched": 2}
    assert sorted(manifest_urls(first) + manifest_urls(second)) == [server.url_for(f"/news/{n}") for n in range(4)]
    assert sorted(paths(server)) == sorted(["/robots.txt"] + [f"/news/{n}" for n in range(4)])


def test_time_budget_stops_the_run_and_defers_the_rest(server, fetch_settings, monkeypatch):
    from pipeline.sources.web.crawl import Crawler

    feed = serve_site(server, 3)
    discover = Crawler.discover

    def discover_then_run_out(self, source):
        links = discover(self, source)
        self.budget_ends = 0.0  # the budget is spent by the time discovery ends
        return links

    monkeypatch.setattr(Crawler, "discover", discover_then_run_out)
    summary = run_fetch(fetch_settings, "run-1", [Source("feed", feed)])
    assert summary["outcomes"] == {"deferred": 3} and summary["documents"] == 0
    assert not any(p.startswith("/news/") for p in paths(server))


def test_time_budget_covers_discovery(server, fetch_settings):
    feed = serve_site(server, 3)
    summary = run_fetch(replace(fetch_settings, fetch_time_budget_seconds=0.0), "run-1", [Source("feed", feed), Source("sitemap", feed)])
    assert summary["sources_skipped"] == 2 and summary["outcomes"] == {}
    assert paths(server) == []


def test_pages_told_apart_by_a_parameter_are_each_fetched_as_requested(server, fetch_settings, tmp_path):
    serve_site(server, 0)
    for cid in (101, 102, 103):
        server.expect_request("/story.php", query_string=f"cid={cid}&print=").respond_with_data(f"<p>story {cid}</p>", content_type="text/html")
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(server.url_for(f"/story.php?cid={cid}&print=&utm_source=x") + "\n" for cid in (101, 102, 103)))
    summary = run_fetch(fetch_settings, "run-1", [Source("urls", str(urls))])
    assert summary["outcomes"] == {"fetched": 3}
    assert [r[0].query_string for r in server.log if r[0].path == "/story.php"] == [f"cid={cid}&print=".encode() for cid in (101, 102, 103)]


def test_fractional_crawl_delay_is_honoured_and_capped():
    from pipeline.sources.web.robots import RobotsCache

    text = "User-agent: otherbot\nCrawl-delay: 9\n\nUser-agent: newsingest\nUser-agent: thirdbot\nDisallow: /private\nCrawl-delay: 2.5\n\nUser-agent: *\nCrawl-delay: 5.0\n"
    delays = {}
    robots = RobotsCache("newsingest/0.1", lambda url: text, lambda host, delay: delays.setdefault(host, delay), max_delay=30.0)
    assert robots.rules("https://a.example.invalid/x").crawl_delay("newsingest/0.1") == 2.5
    assert robots.rules("https://a.example.invalid/x").crawl_delay("somebot") == 5.0
    assert delays == {"https://a.example.invalid": 2.5}
    capped = RobotsCache("somebot", lambda url: "User-agent: *\nCrawl-delay: 45.5\n", lambda host, delay: delays.__setitem__(host, delay), max_delay=30.0)
    capped.rules("https://b.example.invalid/")
    assert delays["https://b.example.invalid"] == 30.0
    assert not robots.rules("https://a.example.invalid/").allows("newsingest", "https://a.example.invalid/private")
