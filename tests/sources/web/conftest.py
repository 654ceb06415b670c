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


class RawServer:
    """A TCP server on 127.0.0.1 that answers each request with ``respond(conn, request_head)``:
    for responses no HTTP library will produce (bytes a server should never send, slow drips)."""

    def __init__(self, respond):
        import socket
        import threading

        self.respond = respond
        self.requests: list[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading

        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
                self.requests.append(head)
                self.respond(conn, head)
            except OSError:
                pass

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.sock.close()


@pytest.fixture
def raw_server():
    servers = []

    def start(respond):
        servers.append(RawServer(respond))
        return servers[-1]

    yield start
    for s in servers:
        s.close()
