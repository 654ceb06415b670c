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
    with duckdb.connect(str(home / "fetch_state.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), count(*) FILTER (WHERE status = 'closed') FROM fetch_batches").fetchall() == [(1, 1)]


def test_pages_of_a_killed_batch_reach_a_manifest_after_the_source_list_changed(server, fetch_settings, tmp_path, monkeypatch):
    from dataclasses import replace

    from pipeline.sources.web import Source, run_fetch
    from pipeline.sources.web.crawl import Crawler
    from tests.sources.web.news_site import serve_site

    serve_site(server, 4)
    server.expect_request("/other").respond_with_data("<p>other</p>", content_type="text/html")
    urls, added = tmp_path / "urls.txt", tmp_path / "added.txt"
    urls.write_text("".join(server.url_for(f"/news/{n}") + "\n" for n in range(4)))
    added.write_text(server.url_for("/other") + "\n")
    settings = replace(fetch_settings, fetch_revisit_seconds=86_400.0)
    fetch_page, calls = Crawler.fetch_page, []

    def dies_at_the_third_page(self, *args):
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt  # stands in for SIGKILL: no clean-up runs
        return fetch_page(self, *args)

    monkeypatch.setattr(Crawler, "fetch_page", dies_at_the_third_page)
    try:
        run_fetch(settings, "run-1", [Source("urls", str(urls))])
    except KeyboardInterrupt:
        pass
    monkeypatch.setattr(Crawler, "fetch_page", fetch_page)
    summary = run_fetch(settings, "run-2", [Source("urls", str(urls)), Source("urls", str(added))])  # a source was added meanwhile
    with open(summary["manifest"], encoding="utf-8") as fh:
        listed = sorted(json.loads(line)["url"] for line in fh)
    assert listed == sorted([server.url_for(f"/news/{n}") for n in range(4)] + [server.url_for("/other")])
    assert summary["absorbed"] == 2
    with duckdb.connect(str(settings.fetch_state_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM fetch_batches WHERE status <> 'closed'").fetchall() == [(0,)]
