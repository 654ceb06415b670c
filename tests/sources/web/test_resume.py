"""A fetch killed in the middle (SIGKILL, no clean-up) resumes where it stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import duckdb

from tests.sources.web.news_site import article, conditional

NEWSINGEST = str(Path(sys.executable).with_name("newsingest"))
PAGES = 10
HELD = 5  # the page in flight when the process is killed


def fetch_cli(urls: Path, home: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "NEWSINGEST_FETCH_ALLOW_LOOPBACK": "true", "NEWSINGEST_FETCH_HOST_DELAY": "0.05", "NEWSINGEST_FETCH_READ_TIMEOUT": "10"}
    return subprocess.Popen([NEWSINGEST, "fetch", "--urls", str(urls), "--home", str(home), "--quiet"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_killed_fetch_resumes_without_fetching_again(server, tmp_path):
    release = threading.Event()
    held_requests = []

    def held_page(request):
        held_requests.append(time.monotonic())
        if len(held_requests) == 1:
            release.wait(30)  # the first request for this page never completes: the fetcher dies waiting
        return conditional(article(HELD)[1].encode(), "text/html; charset=utf-8")(request)

    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n", content_type="text/plain")
    for n in range(PAGES):
        if n == HELD:
            server.expect_request(f"/news/{n}").respond_with_handler(held_page)
        else:
            server.expect_request(f"/news/{n}").respond_with_handler(conditional(article(n)[1].encode(), "text/html; charset=utf-8"))
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(server.url_for(f"/news/{n}") + "\n" for n in range(PAGES)))
    home = tmp_path / "var"

    first = fetch_cli(urls, home)
    try:
        deadline = time.monotonic() + 60
        while not held_requests and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.05)
        assert held_requests, "the fetcher never reached the held page: " + (first.stderr.read() if first.poll() is not None else "")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
        release.set()
    assert first.returncode == -signal.SIGKILL

    second = fetch_cli(urls, home)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err[-3000:]
    summary = json.loads(out)
    assert summary["resumed"] is True
    assert summary["documents"] == PAGES and summary["outcomes"] == {"fetched": PAGES}

    requests = Counter(request.path for request, _ in server.log)
    assert requests.pop("/robots.txt") == 1  # cached by the first process
    # Pages settled before the kill are not requested again; the one in flight is requested once more.
    assert requests == {f"/news/{n}": (2 if n == HELD else 1) for n in range(PAGES)}
    manifest = [json.loads(line) for line in Path(summary["manifest"]).read_text().splitlines()]
    assert sorted(e["url"] for e in manifest) == sorted(server.url_for(f"/news/{n}") for n in range(PAGES))
    with duckdb.connect(str(home / "newsingest.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), count(*) FILTER (WHERE status = 'closed') FROM fetch_batches").fetchall() == [(1, 1)]
