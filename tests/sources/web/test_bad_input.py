"""Bad input from the web settles the URL with a quarantine row: the batch goes on, a rerun goes
past it, and pages fetched before it reach the manifest."""

from __future__ import annotations

import gzip
from dataclasses import replace

import duckdb
import pytest
from werkzeug.wrappers import Response

from pipeline.sources.web import Source, run_fetch
from pipeline.sources.web import crawl as crawl_module
from pipeline.sources.web.charset import detect_encoding
from pipeline.sources.web.client import retry_after_seconds
from tests.sources.web.conftest import paths


def query(settings, sql):
    with duckdb.connect(str(settings.fetch_state_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def reasons(settings) -> dict[str, str]:
    return dict(query(settings, "SELECT uri, reason FROM quarantine WHERE stage = 'fetch'"))


def good_pages_around(server, tmp_path, bad_url: str | None = None):
    server.expect_request("/robots.txt").respond_with_data("", status=404)
    server.expect_request("/good1").respond_with_data("<p>good one</p>", content_type="text/html")
    server.expect_request("/good2").respond_with_data("<p>good two</p>", content_type="text/html")
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join([server.url_for("/good1"), bad_url or server.url_for("/bad"), server.url_for("/good2")]) + "\n")
    return Source("urls", str(urls))


def run_twice(settings, source):
    first = run_fetch(settings, "run-1", [source])
    second = run_fetch(settings, "run-2", [source])
    return first, second


def answering(bad_response: bytes):
    """A raw responder: no rules in robots.txt, ``bad_response`` for everything else."""

    def respond(conn, head):
        if head.startswith("GET /robots.txt "):
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        else:
            conn.sendall(bad_response)

    return respond


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (b"HTTP/1.1 302 Found\r\nLocation: http://[::1\r\n", "invalid_url"),  # requests parses the Location itself
        (b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:99999/x\r\n", "invalid_redirect"),
        (b"HTTP/1.1 304 Not Modified\r\n", "unexpected_not_modified"),
    ],
    ids=["unbalanced-ipv6-location", "port-out-of-range-location", "304-without-validators"],
)
def test_a_bad_page_is_quarantined_and_the_batch_goes_on(server, fetch_settings, tmp_path, raw_server, response, reason):
    raw = raw_server(answering(response + b"Content-Length: 0\r\nConnection: close\r\n\r\n"))
    source = good_pages_around(server, tmp_path, raw.url("/bad"))
    first, second = run_twice(fetch_settings, source)
    assert first["outcomes"] == {"fetched": 2, "quarantined": 1} and first["documents"] == 2
    assert second["outcomes"]["quarantined"] == 1
    assert reasons(fetch_settings) == {raw.url("/bad"): reason}


@pytest.mark.parametrize("label", ["hex", "base64", "zlib", "rot13"])
def test_a_non_text_codec_label_is_never_the_encoding(server, fetch_settings, tmp_path, label):
    body = f'<meta charset="{label}"><p>caf'.encode() + b"\xe9</p>"
    assert detect_encoding(body, None) not in (None, label)
    assert detect_encoding(b"<p>caf\xe9</p>", label) not in (None, label)
    source = good_pages_around(server, tmp_path)
    server.expect_request("/bad").respond_with_data(body, content_type="text/html")
    summary = run_fetch(fetch_settings, "run-1", [source])
    assert summary["outcomes"] == {"fetched": 3}


def test_retry_after_takes_ascii_digits_only():
    assert retry_after_seconds("\xb2") is None  # "²".isdigit() is true, float("²") fails
    assert retry_after_seconds("٣") is None
    assert retry_after_seconds("7") == 7.0


def test_non_ascii_retry_after_from_a_server(server, fetch_settings, tmp_path, raw_server):
    raw = raw_server(answering(b"HTTP/1.1 503 Busy\r\nRetry-After: \xb2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
    source = good_pages_around(server, tmp_path, raw.url("/bad"))
    summary = run_fetch(replace(fetch_settings, fetch_retries=1), "run-1", [source])
    assert summary["outcomes"] == {"fetched": 2, "quarantined": 1}
    assert reasons(fetch_settings)[raw.url("/bad")] == "server_error"


def test_an_unforeseen_exception_is_an_internal_error_row_not_a_crash(server, fetch_settings, tmp_path, monkeypatch):
    source = good_pages_around(server, tmp_path)
    server.expect_request("/bad").respond_with_data("<p>bad</p>", content_type="text/html")
    original = crawl_module.RawStore.put

    def put(self, payload):
        if payload == b"<p>bad</p>":
            raise RuntimeError("disk says no")
        return original(self, payload)

    monkeypatch.setattr(crawl_module.RawStore, "put", put)
    first, second = run_twice(fetch_settings, source)
    assert first["outcomes"] == {"fetched": 2, "quarantined": 1} and first["documents"] == 2
    assert second["outcomes"] == {"unchanged": 2, "quarantined": 1}
    detail = query(fetch_settings, "SELECT reason, detail FROM quarantine")
    assert detail == [("internal_error", "RuntimeError: disk says no")]


def test_a_304_for_a_feed_requested_without_validators(server, fetch_settings):
    server.expect_request("/robots.txt").respond_with_data("", status=404)
    server.expect_request("/feed.xml").respond_with_response(Response(status=304))
    summary = run_fetch(fetch_settings, "run-1", [Source("feed", server.url_for("/feed.xml"))])
    assert summary["documents"] == 0
    assert reasons(fetch_settings) == {server.url_for("/feed.xml"): "unexpected_not_modified"}


def test_a_304_for_robots_txt_requested_without_validators(server, fetch_settings, tmp_path):
    server.expect_request("/robots.txt").respond_with_response(Response(status=304))
    server.expect_request("/good1").respond_with_data("<p>good one</p>", content_type="text/html")
    urls = tmp_path / "urls.txt"
    urls.write_text(server.url_for("/good1") + "\n")
    summary = run_fetch(fetch_settings, "run-1", [Source("urls", str(urls))])
    assert summary["outcomes"] == {"quarantined": 1}
    assert reasons(fetch_settings) == {server.url_for("/robots.txt"): "unexpected_not_modified", server.url_for("/good1"): "robots_unavailable"}


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_broken_gzip_sitemap_is_quarantined(server, fetch_settings, damage):
    plain = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{server.url_for("/good1")}</loc></url></urlset>'
    packed = gzip.compress(plain.encode())
    packed = packed[: len(packed) // 2] if damage == "truncated" else packed[:12] + b"\x00" * 20 + packed[32:]
    server.expect_request("/robots.txt").respond_with_data("", status=404)
    server.expect_request("/good1").respond_with_data("<p>good one</p>", content_type="text/html")
    server.expect_request("/s.xml.gz").respond_with_data(packed, content_type="application/x-gzip")
    server.expect_request("/feed.xml").respond_with_data(f"<rss><channel><item><link>{server.url_for('/good1')}</link></item></channel></rss>", content_type="application/rss+xml")
    summary = run_fetch(fetch_settings, "run-1", [Source("sitemap", server.url_for("/s.xml.gz")), Source("feed", server.url_for("/feed.xml"))])
    assert summary["documents"] == 1  # the other source still counts
    assert reasons(fetch_settings) == {server.url_for("/s.xml.gz"): "invalid_gzip"}


def test_a_missing_raw_object_for_cached_robots_txt_means_an_unconditional_fetch(server, fetch_settings, tmp_path):
    import shutil

    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n", content_type="text/plain", headers={"ETag": '"r1"'})
    server.expect_request("/good1").respond_with_data("<p>good one</p>", content_type="text/html")
    urls = tmp_path / "urls.txt"
    urls.write_text(server.url_for("/good1") + "\n")
    settings = replace(fetch_settings, fetch_robots_ttl_seconds=0.0)
    run_fetch(settings, "run-1", [Source("urls", str(urls))])
    shutil.rmtree(settings.raw_dir / "objects")
    server.clear_log()
    summary = run_fetch(settings, "run-2", [Source("urls", str(urls))])
    assert summary["outcomes"] == {"unchanged": 1}
    assert paths(server) == ["/robots.txt", "/good1"]
    assert all("If-None-Match" not in request.headers for request, _ in server.log)


def test_a_gzip_sitemap_expanding_past_the_cap_is_quarantined(server, fetch_settings):
    server.expect_request("/robots.txt").respond_with_data("", status=404)
    server.expect_request("/s.xml.gz").respond_with_data(gzip.compress(b" " * 1_000_000), content_type="application/x-gzip")
    run_fetch(fetch_settings, "run-1", [Source("sitemap", server.url_for("/s.xml.gz"))])
    assert reasons(fetch_settings) == {server.url_for("/s.xml.gz"): "oversize_body"}
    assert query(fetch_settings, "SELECT status FROM fetch_state WHERE kind = 'sitemap'") == [("failed",)]


@pytest.mark.parametrize(
    ("kind", "body", "content_type"),
    [
        ("feed", "<rss><channel><title>Nothing today</title></channel></rss>", "application/rss+xml"),
        ("sitemap", '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>', "application/xml"),
    ],
)
def test_a_source_without_links_is_quarantined(server, fetch_settings, kind, body, content_type):
    server.expect_request("/robots.txt").respond_with_data("", status=404)
    server.expect_request("/source").respond_with_data(body, content_type=content_type)
    summary = run_fetch(fetch_settings, "run-1", [Source(kind, server.url_for("/source"))])
    assert summary["documents"] == 0
    assert reasons(fetch_settings) == {server.url_for("/source"): "no_links_found"}
