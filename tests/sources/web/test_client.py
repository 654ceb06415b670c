"""The HTTP client against a real server on 127.0.0.1: limits, retries, redirects, safety."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time

import pytest
from werkzeug.wrappers import Response

from pipeline.sources.web.client import ClientConfig, PoliteClient, retry_after_seconds
from pipeline.sources.web.policy import FetchError, FetchRefused
from tests.sources.web.conftest import paths

FAST = dict(connect_timeout=2.0, read_timeout=2.0, body_deadline=5.0, retries=2, backoff=0.05, max_retry_after=3.0, host_delay=0.0, max_bytes=100_000)


def client(**overrides) -> PoliteClient:
    return PoliteClient(ClientConfig(**{**FAST, "allow_loopback": True, **overrides}))


def fetch_error(c: PoliteClient, url: str, **kwargs) -> FetchError:
    with pytest.raises(FetchError) as caught:
        c.fetch(url, **kwargs)
    return caught.value


def test_loopback_is_refused_by_default_and_no_request_is_sent(server):
    server.expect_request("/a").respond_with_data("<p>hi</p>", content_type="text/html")
    error = fetch_error(PoliteClient(ClientConfig(**FAST)), server.url_for("/a"))
    assert isinstance(error, FetchRefused)
    assert error.reason == "loopback_address"
    assert paths(server) == []


def test_loopback_is_fetched_with_the_test_allowance(server):
    server.expect_request("/a").respond_with_data("<p>hi</p>", content_type="text/html")
    response = client().fetch(server.url_for("/a"))
    assert (response.status, response.body, response.media_type) == (200, b"<p>hi</p>", "text/html")
    assert paths(server) == ["/a"]


def test_every_redirect_hop_is_checked_against_the_address_policy(server):
    # mixed.test resolves to 127.0.0.1 and a private address: refused before any connection.
    # Without the per-hop check the connection would go to 127.0.0.1 and the server would log /next.
    def resolver(host, port):
        return ["127.0.0.1", "10.0.0.7"] if host == "mixed.test" else ["127.0.0.1"]

    port = server.port
    server.expect_request("/start").respond_with_response(Response(status=302, headers={"Location": f"http://mixed.test:{port}/next"}))
    server.expect_request("/next").respond_with_data("<p>internal</p>", content_type="text/html")
    c = PoliteClient(ClientConfig(**FAST, allow_loopback=True), resolver=resolver)
    error = fetch_error(c, server.url_for("/start"))
    assert error.reason == "private_address"
    assert paths(server) == ["/start"]


def test_redirect_to_another_scheme_is_refused(server):
    server.expect_request("/start").respond_with_response(Response(status=301, headers={"Location": "file:///etc/passwd"}))
    assert fetch_error(client(), server.url_for("/start")).reason == "unsupported_scheme"


def test_connection_goes_to_the_checked_address_with_the_original_host(server):
    server.expect_request("/a").respond_with_data("<p>pinned</p>", content_type="text/html")
    c = PoliteClient(ClientConfig(**FAST, allow_loopback=True), resolver=lambda host, port: ["127.0.0.1"])
    assert c.fetch(f"http://pinned.test:{server.port}/a").body == b"<p>pinned</p>"
    assert server.log[0][0].headers["Host"] == f"pinned.test:{server.port}"


def test_user_agent_is_sent(server):
    server.expect_request("/a", headers={"User-Agent": "newsingest-test/9"}).respond_with_data("ok", content_type="text/plain")
    assert client(user_agent="newsingest-test/9").fetch(server.url_for("/a")).body == b"ok"


def test_429_waits_for_retry_after_then_succeeds(server):
    server.expect_ordered_request("/busy").respond_with_response(Response("slow down", status=429, headers={"Retry-After": "1"}))
    server.expect_ordered_request("/busy").respond_with_data("<p>done</p>", content_type="text/html")
    start = time.monotonic()
    response = client().fetch(server.url_for("/busy"))
    elapsed = time.monotonic() - start
    assert response.body == b"<p>done</p>" and response.requests == 2
    assert elapsed >= 0.95  # honoured Retry-After: 1 (backoff alone would be 0.05 s)
    assert paths(server) == ["/busy", "/busy"]


def test_retry_after_beyond_the_limit_gives_up_without_waiting(server):
    server.expect_request("/busy").respond_with_response(Response("later", status=429, headers={"Retry-After": "3600"}))
    start = time.monotonic()
    error = fetch_error(client(), server.url_for("/busy"))
    assert error.reason == "rate_limited" and error.http_status == 429
    assert time.monotonic() - start < 1.0
    assert paths(server) == ["/busy"]


def test_5xx_is_retried_with_backoff_then_quarantined(server):
    server.expect_request("/down").respond_with_data("oops", status=503)
    error = fetch_error(client(retries=2), server.url_for("/down"))
    assert error.reason == "server_error"
    assert paths(server) == ["/down"] * 3


def test_retry_after_http_date():
    from datetime import UTC, datetime

    now = datetime(2026, 11, 22, 4, 0, 0, tzinfo=UTC).timestamp()
    assert retry_after_seconds("Sun, 22 Nov 2026 04:00:10 GMT", now=now) == pytest.approx(10.0)
    assert retry_after_seconds("Sun, 22 Nov 2026 03:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("soon") is None


def test_a_response_slower_than_the_read_timeout_is_cut_off(server):
    release = threading.Event()

    def slow(request):
        release.wait(5)
        return Response("<p>late</p>", content_type="text/html")

    server.expect_request("/slow").respond_with_handler(slow)
    start = time.monotonic()
    try:
        error = fetch_error(client(read_timeout=0.3), server.url_for("/slow"))
    finally:
        release.set()
    assert error.reason == "read_timeout"
    assert time.monotonic() - start < 2.0


def test_a_body_dripping_past_the_deadline_is_cut_off(server):
    def drip():
        for _ in range(50):
            time.sleep(0.1)
            yield b"<p>x</p>"

    server.expect_request("/drip").respond_with_response(Response(drip(), content_type="text/html"))
    start = time.monotonic()
    error = fetch_error(client(body_deadline=0.5), server.url_for("/drip"))
    assert error.reason == "body_timeout"
    assert time.monotonic() - start < 2.0


def test_oversize_body_with_content_length_is_refused_before_reading(server):
    server.expect_request("/big").respond_with_data(b"x" * 5000, content_type="text/html")
    error = fetch_error(client(max_bytes=1000), server.url_for("/big"))
    assert error.reason == "oversize_body" and "Content-Length 5000" in error.detail


def test_oversize_body_without_content_length_is_cut_while_streaming(server):
    def stream():
        for _ in range(100):
            yield b"y" * 1000

    server.expect_request("/stream").respond_with_response(Response(stream(), content_type="text/html"))
    error = fetch_error(client(max_bytes=10_000), server.url_for("/stream"))
    assert error.reason == "oversize_body" and "on the wire" in error.detail


PEAK_PROBE = """
import json, sys, tracemalloc
from pipeline.sources.web.client import ClientConfig, PoliteClient
from pipeline.sources.web.policy import FetchError
client = PoliteClient(ClientConfig(max_bytes=100_000, allow_loopback=True, host_delay=0, connect_timeout=2, read_timeout=2))
tracemalloc.start()
try:
    client.fetch(sys.argv[1])
    print(json.dumps({"reason": None}))
except FetchError as exc:
    print(json.dumps({"reason": exc.reason, "detail": exc.detail, "peak": tracemalloc.get_traced_memory()[1]}))
"""


def test_compressed_body_that_expands_past_the_cap_is_refused(server):
    bomb = gzip.compress(b"\0" * 20_000_000)  # ~20 KB on the wire, 20 MB inflated
    assert len(bomb) < 100_000
    server.expect_request("/bomb").respond_with_response(Response(bomb, content_type="text/html", headers={"Content-Encoding": "gzip"}))
    # The client runs in its own process so that only its memory is measured, not the server thread's.
    probe = subprocess.run([sys.executable, "-c", PEAK_PROBE, server.url_for("/bomb")], capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(probe.stdout)
    assert result["reason"] == "oversize_body" and "decompressed" in result["detail"]
    assert result["peak"] < 5_000_000  # never inflated much past the cap (the whole bomb would be 20 MB)


def test_compressed_body_within_the_cap_is_inflated(server):
    page = b"<html><body><p>" + b"compressed news " * 500 + b"</p></body></html>"
    server.expect_request("/gz").respond_with_response(Response(gzip.compress(page), content_type="text/html", headers={"Content-Encoding": "gzip"}))
    assert client().fetch(server.url_for("/gz")).body == page


def test_content_type_outside_the_allowlist_is_refused(server):
    server.expect_request("/file.pdf").respond_with_data(b"%PDF-1.7", content_type="application/pdf")
    error = fetch_error(client(), server.url_for("/file.pdf"))
    assert error.reason == "unsupported_content_type" and "application/pdf" in error.detail


def test_wrong_declared_charset_is_detected(server):
    text = "Café owners in Zürich protest the new façade rules – «enough», they say."
    page = '<html><head><meta charset="windows-1252"></head><body><p>' + text + "</p></body></html>"
    server.expect_request("/cp1252").respond_with_data(page.encode("cp1252"), content_type="text/html; charset=utf-8")
    server.expect_request("/unlabelled").respond_with_data(text.encode("cp1252"), content_type="text/html; charset=utf-8")
    server.expect_request("/utf8").respond_with_data(text.encode("utf-8"), content_type="text/html; charset=iso-8859-1")
    lying_utf8 = client().fetch(server.url_for("/cp1252"))
    assert lying_utf8.header_charset == "utf-8"
    assert lying_utf8.encoding == "cp1252"  # the page's own meta charset, since the header's fails
    assert lying_utf8.body.decode(lying_utf8.encoding) == page
    guessed = client().fetch(server.url_for("/unlabelled"))
    assert guessed.encoding != "utf-8"
    assert guessed.body.decode(guessed.encoding) == text
    lying_latin1 = client().fetch(server.url_for("/utf8"))
    assert lying_latin1.encoding == "utf-8"
    assert lying_latin1.body.decode(lying_latin1.encoding) == text


def test_redirect_loop_is_stopped(server):
    server.expect_request("/a").respond_with_response(Response(status=302, headers={"Location": "/b"}))
    server.expect_request("/b").respond_with_response(Response(status=302, headers={"Location": "/a?utm_source=loop"}))
    error = fetch_error(client(), server.url_for("/a"))
    assert error.reason == "redirect_loop"
    assert paths(server) == ["/a", "/b"]


def test_redirect_chain_longer_than_the_cap_is_stopped(server):
    for n in range(10):
        server.expect_request(f"/r{n}").respond_with_response(Response(status=301, headers={"Location": f"/r{n + 1}"}))
    error = fetch_error(client(max_redirects=3), server.url_for("/r0"))
    assert error.reason == "too_many_redirects"
    assert paths(server) == ["/r0", "/r1", "/r2", "/r3"]


def test_redirect_is_followed_and_reported(server):
    server.expect_request("/old").respond_with_response(Response(status=301, headers={"Location": "/new"}))
    server.expect_request("/new").respond_with_data("<p>moved</p>", content_type="text/html")
    response = client().fetch(server.url_for("/old"))
    assert response.body == b"<p>moved</p>" and response.final_url == server.url_for("/new")


def test_conditional_request_gets_304_without_a_body(server):
    server.expect_request("/a", headers={"If-None-Match": '"v1"'}).respond_with_response(Response(status=304, headers={"ETag": '"v1"'}))
    response = client().fetch(server.url_for("/a"), etag='"v1"', last_modified="Sun, 01 Nov 2026 08:00:00 GMT")
    assert response.not_modified and response.body is None
    assert server.log[0][0].headers["If-Modified-Since"] == "Sun, 01 Nov 2026 08:00:00 GMT"


def test_requests_to_one_host_are_spaced_by_the_host_delay(server):
    server.expect_request("/a").respond_with_data("a", content_type="text/plain")
    c = client(host_delay=0.4)
    start = time.monotonic()
    for _ in range(3):
        c.fetch(server.url_for("/a"))
    assert time.monotonic() - start >= 0.8


def test_a_server_dripping_header_bytes_cannot_outlast_the_url_deadline(raw_server):
    def drip(conn, head):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n")
        for _ in range(200):  # a header line that never ends, one byte well inside the read timeout
            conn.sendall(b"X")
            time.sleep(0.1)

    raw = raw_server(drip)
    c = client(read_timeout=1.0, body_deadline=2.0, url_deadline=1.0)
    start = time.monotonic()
    error = fetch_error(c, raw.url("/slow"), check_robots=False)
    assert error.reason == "fetch_timeout"
    assert time.monotonic() - start < 2.0


def test_a_retry_wait_longer_than_the_url_deadline_gives_up_at_once(server):
    server.expect_request("/busy").respond_with_data("busy", status=503, headers={"Retry-After": "2"})
    c = client(url_deadline=1.0, max_retry_after=30.0, retries=3)
    start = time.monotonic()
    error = fetch_error(c, server.url_for("/busy"))
    assert error.reason == "server_error" and "deadline" in error.detail
    assert time.monotonic() - start < 1.0
    assert paths(server) == ["/busy"]


def test_the_run_budget_bounds_a_fetch_too(server):
    server.expect_request("/busy").respond_with_data("busy", status=429, headers={"Retry-After": "1"})
    c = client(url_deadline=60.0, max_retry_after=30.0, retries=3)
    error = fetch_error(c, server.url_for("/busy"), deadline=time.monotonic() + 0.5)
    assert error.reason == "rate_limited"
    assert paths(server) == ["/busy"]
