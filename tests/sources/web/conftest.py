from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from pipeline.settings import Settings


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 (the only address any test talks to)."""
    httpserver = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    httpserver.start()
    try:
        yield httpserver
    finally:
        httpserver.clear()
        httpserver.stop()


@pytest.fixture
def fetch_settings(tmp_path) -> Settings:
    """Tiny delays and timeouts so nothing in the tests waits long; 127.0.0.1 allowed."""
    return Settings(
        home=tmp_path / "var", workers=1, lock_retry_seconds=10, fetch_allow_loopback=True, fetch_host_delay=0.0,
        fetch_connect_timeout=2.0, fetch_read_timeout=2.0, fetch_body_deadline=5.0, fetch_retries=2,
        fetch_backoff_seconds=0.05, fetch_max_retry_after=3.0, fetch_revisit_seconds=0.0, fetch_max_bytes=200_000,
    )


def paths(server) -> list[str]:
    return [request.path for request, _response in server.log]
