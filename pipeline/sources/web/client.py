"""A polite, bounded HTTP client on requests.

- Every connection goes to an address checked by :mod:`policy` right before the socket opens
  (resolve, check all addresses, connect to a checked one): DNS rebinding and redirects to
  internal hosts cannot slip between check and use. No proxies from the environment.
- Redirects are followed by hand, with a hop cap, a loop check and the scheme, robots and address
  checks again at every hop.
- One request at a time per host, a delay between requests (robots.txt Crawl-delay when larger),
  retries with exponential backoff on 429 and 5xx that honour Retry-After (a Retry-After longer
  than the limit gives up instead of hanging).
- Connect and read timeouts, a deadline for the whole body, and one deadline per URL over all of
  it (every hop, retry, wait, connect, header and body byte): a watchdog shuts the socket down when
  it passes, so not even a server dripping header bytes can hold a run. A content-type allowlist checked
  before the body is read; a size cap enforced while streaming and after decompression (the
  decompressor is never allowed to produce more than the cap).
"""

from __future__ import annotations

import email.utils
import re
import socket
import threading
import time
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.util import connection as urllib3_connection

from pipeline.sources.web.charset import declared_charset, detect_encoding
from pipeline.sources.web.policy import FetchError, Resolver, checked_addresses, scheme_refusal, system_resolver
from pipeline.sources.web.urls import canonical_url, host_key

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CHUNK = 16384


@dataclass(frozen=True, slots=True)
class ClientConfig:
    user_agent: str = "newsingest/0.1 (+https://news.example.invalid/crawler)"
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    body_deadline: float = 60.0  # seconds for the whole body, against slow drips
    url_deadline: float = 60.0  # seconds for everything one fetch() does
    retries: int = 3
    backoff: float = 1.0  # first retry wait; doubles
    max_retry_after: float = 120.0
    host_delay: float = 1.0
    max_crawl_delay: float = 30.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    content_types: frozenset[str] = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
    allow_loopback: bool = False  # test-only: lets 127.0.0.1 through the address policy
    ca_bundle: str = ""  # PEM file of trusted CAs; empty: certifi's bundle

    @classmethod
    def from_settings(cls, settings) -> ClientConfig:
        return cls(
            user_agent=settings.fetch_user_agent, connect_timeout=settings.fetch_connect_timeout,
            read_timeout=settings.fetch_read_timeout, body_deadline=settings.fetch_body_deadline,
            url_deadline=settings.fetch_url_deadline,
            retries=settings.fetch_retries, backoff=settings.fetch_backoff_seconds,
            max_retry_after=settings.fetch_max_retry_after, host_delay=settings.fetch_host_delay,
            max_crawl_delay=settings.fetch_max_crawl_delay, max_bytes=settings.fetch_max_bytes,
            max_redirects=settings.fetch_max_redirects,
            content_types=frozenset(t.strip().lower() for t in settings.fetch_content_types.split(",") if t.strip()),
            allow_loopback=settings.fetch_allow_loopback, ca_bundle=settings.fetch_ca_bundle,
        )


@dataclass(slots=True)
class FetchResponse:
    url: str  # as requested
    final_url: str  # after redirects
    status: int  # 200 or 304
    media_type: str | None = None
    body: bytes | None = None
    encoding: str | None = None
    header_charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    redirects: list[str] = field(default_factory=list)
    requests: int = 0
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def _pinned_connection(base: type, allow_loopback: bool, resolver: Resolver, on_connect: Callable[[object], None] | None) -> type:
    def _new_conn(self) -> socket.socket:
        # Raises FetchRefused before any packet leaves when an address is not allowed.
        addresses = checked_addresses(self.host, self.port, allow_loopback, resolver)
        last_error: OSError | None = None
        for address in addresses:
            try:
                sock = urllib3_connection.create_connection(
                    (address, self.port), self.timeout, source_address=self.source_address, socket_options=self.socket_options
                )
                if on_connect is not None:
                    on_connect(self)
                return sock
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"connection to {self.host} ({address}) timed out") from exc
            except OSError as exc:
                last_error = exc
        raise NewConnectionError(self, f"failed to connect to {self.host}: {last_error}")

    return type(f"Pinned{base.__name__}", (base,), {"_new_conn": _new_conn})


class PinnedAdapter(HTTPAdapter):
    """An adapter whose connections only open to policy-checked addresses."""

    def __init__(self, allow_loopback: bool, resolver: Resolver = system_resolver, on_connect: Callable[[object], None] | None = None):
        self._pools = {
            "http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": _pinned_connection(HTTPConnection, allow_loopback, resolver, on_connect)}),
            "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": _pinned_connection(HTTPSConnection, allow_loopback, resolver, on_connect)}),
        }
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self._pools)

    def proxy_manager_for(self, *args, **kwargs):
        raise FetchError("proxy_refused", "the fetcher connects directly; a proxy would bypass the address policy")


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]{1,9}", value):  # ASCII digits only: "²".isdigit() is true
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class HostGate:
    """One request at a time per host, spaced by the host's delay. The crawler is one thread, so
    'one at a time' holds by construction; the gate keeps the spacing and exposes when each host
    is next free, so the scheduler can serve another host meanwhile."""

    def __init__(self, default_delay: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.default_delay = default_delay
        self.delays: dict[str, float] = {}
        self.next_free: dict[str, float] = {}
        self.clock = clock
        self.sleep = sleep

    def set_delay(self, host: str, delay: float) -> None:
        self.delays[host] = max(self.default_delay, delay)

    def ready_at(self, host: str) -> float:
        return self.next_free.get(host, 0.0)

    def wait(self, host: str) -> None:
        pause = self.ready_at(host) - self.clock()
        if pause > 0:
            self.sleep(pause)

    def done(self, host: str, extra_wait: float = 0.0) -> None:
        self.next_free[host] = self.clock() + max(self.delays.get(host, self.default_delay), extra_wait)


class PoliteClient:
    def __init__(self, config: ClientConfig, resolver: Resolver = system_resolver, robots=None, gate: HostGate | None = None):
        self.config = config
        self.robots = robots  # object with check(url) raising FetchRefused; None for robots.txt itself
        self.gate = gate or HostGate(config.host_delay)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or netrc from the environment
        self.session.verify = config.ca_bundle or True
        self._connections: weakref.WeakSet = weakref.WeakSet()  # for the deadline watchdog
        self.session.mount("http://", PinnedAdapter(config.allow_loopback, resolver, self._connections.add))
        self.session.mount("https://", PinnedAdapter(config.allow_loopback, resolver, self._connections.add))
        self._deadline = float("inf")
        self.session.headers.clear()
        self.session.headers.update({"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate", "Accept": "*/*"})

    def close(self) -> None:
        self.session.close()

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        content_types: frozenset[str] | None = None,
        max_bytes: int | None = None,
        check_robots: bool = True,
        deadline: float | None = None,
    ) -> FetchResponse:
        """GET ``url`` (conditionally when validators are given). Raises FetchError with a reason.

        Everything happens before ``url_deadline`` seconds from now, or before ``deadline`` (a
        ``time.monotonic()`` value, e.g. the end of the run's budget) when that comes first."""
        ends = time.monotonic() + self.config.url_deadline
        ends = min(ends, deadline) if deadline is not None else ends
        outer, self._deadline = self._deadline, min(self._deadline, ends)  # robots.txt is fetched inside a page's fetch
        fired = threading.Event()
        watchdog = threading.Timer(max(0.0, self._deadline - time.monotonic()), lambda: (fired.set(), self._abort()))
        watchdog.daemon = True
        watchdog.start()
        timeout = FetchError("fetch_timeout", f"{url}: not done within the URL deadline ({self.config.url_deadline:.0f}s) or the run's time budget")
        try:
            response = self._fetch(url, etag, last_modified, content_types, max_bytes, check_robots)
        except Exception as exc:
            if (fired.is_set() or time.monotonic() >= self._deadline) and not (isinstance(exc, FetchError) and exc.reason == "fetch_timeout"):
                raise timeout from exc
            raise
        finally:
            watchdog.cancel()
            self._deadline = outer
        if fired.is_set():  # a shut-down socket can look like the end of the headers or of the body
            raise timeout
        return response

    def _abort(self) -> None:
        """The deadline passed: shut the sockets down, which ends any blocked read at once."""
        for _ in range(3):  # the fetching thread may add a connection while this copies the set
            try:
                connections = list(self._connections)
                break
            except RuntimeError:
                continue
        else:
            return
        for connection in connections:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _remaining(self) -> float:
        return self._deadline - time.monotonic()

    def _fetch(self, url, etag, last_modified, content_types, max_bytes, check_robots) -> FetchResponse:
        allowed = content_types or self.config.content_types
        limit = max_bytes or self.config.max_bytes
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, chain, sent = url, [canonical_url(url)], 0
        for _hop in range(self.config.max_redirects + 1):
            refusal = scheme_refusal(current)
            if refusal:
                raise refusal
            if check_robots and self.robots is not None:
                self.robots.check(current)
            response, tries = self._send(current, headers)
            sent += tries
            if response.status_code in REDIRECT_STATUSES:
                location = response.headers.get("Location")
                response.close()
                if not location:
                    raise FetchError("redirect_without_location", f"{response.status_code} from {current} has no Location")
                try:
                    target = urljoin(current, location)
                    refusal = scheme_refusal(target)
                    if refusal and refusal.reason == "invalid_url":
                        raise ValueError(refusal.detail)
                    if refusal:
                        raise refusal
                    _ = urlsplit(target).port  # an out-of-range port raises here, not deep inside requests
                    target_key = canonical_url(target)
                except ValueError:
                    raise FetchError("invalid_redirect", f"{current} redirects to {location[:200]!r}") from None
                if target_key in chain:
                    raise FetchError("redirect_loop", " -> ".join(chain + [target_key])[:1000])
                chain.append(target_key)
                current = target
                continue
            try:
                return self._finish(url, current, response, chain, sent, allowed, limit)
            finally:
                response.close()
        raise FetchError("too_many_redirects", f"more than {self.config.max_redirects} redirects: " + " -> ".join(chain)[:1000])

    def _send(self, url: str, headers: dict) -> tuple[requests.Response, int]:
        host = host_key(url)
        for attempt in range(self.config.retries + 1):
            if self.gate.ready_at(host) >= self._deadline:
                raise FetchError("fetch_timeout", f"{url}: the host is not free again before the URL deadline")
            self.gate.wait(host)
            remaining = max(0.001, self._remaining())
            timeout = (min(self.config.connect_timeout, remaining), min(self.config.read_timeout, remaining))
            try:
                response = self.session.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=False)
            except requests.exceptions.ConnectTimeout as exc:
                self.gate.done(host)
                raise FetchError("connect_timeout", f"{url}: no connection within {self.config.connect_timeout}s") from exc
            except requests.exceptions.ReadTimeout as exc:
                self.gate.done(host)
                raise FetchError("read_timeout", f"{url}: no response within {self.config.read_timeout}s") from exc
            except requests.exceptions.SSLError as exc:
                self.gate.done(host)
                raise FetchError("tls_error", f"{url}: {exc}"[:500]) from exc
            except requests.exceptions.ConnectionError as exc:
                self.gate.done(host)
                if attempt < self.config.retries:
                    self.gate.done(host, self.config.backoff * 2**attempt)
                    continue
                raise FetchError("connection_error", f"{url}: {exc}"[:500]) from exc
            except (requests.exceptions.RequestException, ValueError) as exc:  # InvalidURL, bad port, bad IPv6 literal...
                self.gate.done(host)
                raise FetchError("invalid_url", f"{url}: {exc}"[:500]) from exc
            if response.status_code not in RETRY_STATUSES:
                self.gate.done(host)
                return response, attempt + 1
            response.close()
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            wait = self.config.backoff * 2**attempt if wait is None else wait
            reason = "rate_limited" if response.status_code == 429 else "server_error"
            if wait > self.config.max_retry_after:
                self.gate.done(host, wait)
                raise FetchError(reason, f"{url}: HTTP {response.status_code}, Retry-After {wait:.0f}s exceeds the {self.config.max_retry_after:.0f}s limit", response.status_code)
            if wait >= self._remaining() and attempt < self.config.retries:
                # waiting would outlast the URL deadline (or the run's budget): give up now, the host keeps its pause
                self.gate.done(host, wait)
                raise FetchError(reason, f"{url}: HTTP {response.status_code}, a {wait:.1f}s wait would pass the URL deadline", response.status_code)
            self.gate.done(host, wait)  # the whole host waits, not just this URL
            if attempt == self.config.retries:
                raise FetchError(reason, f"{url}: HTTP {response.status_code} after {attempt + 1} attempts", response.status_code)
        raise AssertionError("unreachable")

    def _finish(self, url, final_url, response, chain, sent, allowed, limit) -> FetchResponse:
        result = FetchResponse(
            url=url, final_url=final_url, status=response.status_code, requests=sent, redirects=chain[1:],
            etag=response.headers.get("ETag"), last_modified=response.headers.get("Last-Modified"),
        )
        if response.status_code == 304:
            return result
        if response.status_code != 200:
            reason = "not_found" if response.status_code in (404, 410) else "http_error"
            raise FetchError(reason, f"{final_url}: HTTP {response.status_code}", response.status_code)
        content_type = response.headers.get("Content-Type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type not in allowed:
            raise FetchError("unsupported_content_type", f"{final_url}: {media_type or 'no content type'}; allowed: {', '.join(sorted(allowed))}")
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > limit:
            raise FetchError("oversize_body", f"{final_url}: Content-Length {length} exceeds the {limit}-byte limit")
        result.media_type = media_type
        result.body = self._read_body(response, final_url, limit)
        result.header_charset = declared_charset(content_type)
        result.encoding = detect_encoding(result.body, result.header_charset)
        return result

    def _read_body(self, response: requests.Response, url: str, limit: int) -> bytes:
        coding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if coding in ("", "identity"):
            inflater = None
        elif coding in ("gzip", "x-gzip"):
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            inflater = zlib.decompressobj()
        else:
            raise FetchError("unsupported_content_encoding", f"{url}: Content-Encoding {coding}")
        deadline = min(time.monotonic() + self.config.body_deadline, self._deadline)
        received, parts, size = 0, [], 0
        try:
            while True:
                chunk = response.raw.read1(CHUNK, decode_content=False) if hasattr(response.raw, "read1") else response.raw.read(CHUNK, decode_content=False)
                if not chunk:
                    break
                received += len(chunk)
                if received > limit:
                    raise FetchError("oversize_body", f"{url}: more than {limit} bytes on the wire")
                if inflater is None:
                    parts.append(chunk)
                    size += len(chunk)
                else:
                    data = chunk
                    while data:
                        # never let the decompressor produce more than one byte past the cap
                        out = inflater.decompress(data, limit - size + 1)
                        parts.append(out)
                        size += len(out)
                        if size > limit:
                            break
                        data = inflater.unconsumed_tail
                if size > limit:
                    what = f"decompressed ({coding}) body" if inflater is not None else "body"
                    raise FetchError("oversize_body", f"{url}: {what} exceeds the {limit}-byte limit after {received} bytes received")
                if time.monotonic() > deadline:
                    raise FetchError("body_timeout", f"{url}: body not complete within {self.config.body_deadline}s")
        except (requests.exceptions.ReadTimeout, ReadTimeoutError, TimeoutError) as exc:
            raise FetchError("read_timeout", f"{url}: body stalled for {self.config.read_timeout}s") from exc
        except (requests.exceptions.ConnectionError, ProtocolError, OSError) as exc:
            raise FetchError("connection_error", f"{url}: {exc}"[:500]) from exc
        except zlib.error as exc:
            raise FetchError("invalid_content_encoding", f"{url}: {coding} stream is corrupt: {exc}") from exc
        return b"".join(parts)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
