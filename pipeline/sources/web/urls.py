"""Canonical URLs: one spelling per page, so a page shared with tracking parameters is the page
already fetched.

Only what cannot change the page is normalised: scheme and host case, the default port, dot
segments, the fragment (never sent to the server) and a fixed set of tracking parameters matched
by exact name. Every other parameter stays as it was, in its order, blank values and ``;``
parameters included: sites identify articles with names like ``cid``, ``id``, ``ref`` or ``game``,
and the canonical URL is also the URL that gets requested."""

from __future__ import annotations

from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

# Click and campaign identifiers added by ad networks, mailers and social sites; ``utm_*`` besides.
TRACKING_PARAMETERS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "_ga", "_gl",
    "yclid", "igshid", "twclid", "ttclid", "li_fat_id", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id",
    "vero_id", "wickedid", "srsltid",
})
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_parameter(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in TRACKING_PARAMETERS


def strip_tracking(query: str) -> str:
    """``query`` without tracking parameters; everything else byte for byte, in order."""
    kept = [part for part in query.split("&") if part and not is_tracking_parameter(unquote_plus(part.split("=", 1)[0]))]
    return "&".join(kept)


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical spelling of ``url`` (resolved against ``base`` first). Raises ValueError."""
    url = url.strip()
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URL: {url[:200]!r}")
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port  # ValueError when out of range
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:  # kept so that the scheme policy still sees (and refuses) credentials
        netloc = f"{userinfo}@{netloc}"
    path = parts.path or "/"
    if "/." in path:  # dot segments (RFC 3986 5.2.4)
        path = urlsplit(urljoin("http://host", path)).path or "/"
    return urlunsplit((scheme, netloc, path, strip_tracking(parts.query), ""))


def host_key(url: str) -> str:
    """Scheme, host and port: the unit of politeness and of robots.txt."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"
