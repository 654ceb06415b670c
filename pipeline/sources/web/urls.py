"""Canonical URLs: one spelling per page, so a page shared with tracking parameters is the page
already fetched. courlan does the normalisation (lower-case scheme and host, default port, path
dots, sorted query, tracker parameters); the fragment never reaches the server and is dropped."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit, urlunsplit

from courlan import normalize_url


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical spelling of ``url`` (resolved against ``base`` first). Raises ValueError."""
    url = url.strip()
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URL: {url[:200]!r}")
    normalized = urlsplit(normalize_url(url, strict=False))
    path = normalized.path or "/"
    if "/." in path:  # dot segments (RFC 3986 5.2.4), which courlan leaves in place
        path = urlsplit(urljoin("http://host", path)).path or "/"
    return urlunsplit((normalized.scheme, normalized.netloc, path, normalized.query, ""))


def host_key(url: str) -> str:
    """Scheme, host and port: the unit of politeness and of robots.txt."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"
