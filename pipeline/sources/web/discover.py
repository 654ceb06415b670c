"""Sources to page URLs: RSS/RDF/Atom feeds, sitemaps (index files, Google News sitemaps, plain text
and gzip), URL lists, and feeds found on a homepage. Parsing only; fetching is the crawler's.

Feeds and sitemaps are parsed with lxml with entities and network access off (no XXE, no
billion laughs); trafilatura's helpers find feed links on a homepage, sitemap lines in robots.txt,
and links in feeds lxml cannot parse (JSON feeds, broken XML)."""

from __future__ import annotations

import email.utils
import gzip
import io
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from pipeline.sources.web.urls import canonical_url

FEED_TYPES = frozenset({
    "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml",
    "application/feed+json", "application/json", "text/plain",
})
SITEMAP_TYPES = frozenset({"application/xml", "text/xml", "text/plain", "application/gzip", "application/x-gzip"})
HOMEPAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MAX_LINKS_PER_SOURCE = 50_000  # the sitemap protocol's own limit per file


@dataclass(frozen=True, slots=True)
class Link:
    url: str  # canonical
    declared: dict  # title and date the source gave, ISO 8601


@dataclass(frozen=True, slots=True)
class SitemapContent:
    pages: list[Link]
    sitemaps: list[str]  # child sitemaps of an index


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True, remove_comments=True)


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(element, *names: str) -> str | None:
    for child in element:
        if _local(child.tag) in names and child.text and child.text.strip():
            return child.text.strip()
    return None


def _iso_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat()


def _link(raw: str | None, base: str, declared: dict) -> Link | None:
    if not raw:
        return None
    try:
        url = canonical_url(raw, base)
    except ValueError:
        return None
    return Link(url, {k: v for k, v in declared.items() if v})


def _root(body: bytes):
    try:
        return etree.fromstring(body.lstrip(), parser=_parser())
    except (etree.XMLSyntaxError, ValueError):
        return None


def parse_feed(body: bytes, base: str) -> list[Link]:
    """Article links of an RSS, RDF or Atom feed, with the title and date each item declares."""
    root = _root(body)
    links: list[Link] = []
    if root is not None:
        for element in root.iter():
            name = _local(element.tag)
            if name == "item":  # RSS 2.0 and RDF
                href = _child_text(element, "link")
                if href is None:
                    guid = next((c for c in element if _local(c.tag) == "guid"), None)
                    if guid is not None and guid.get("isPermaLink", "true") != "false":
                        href = (guid.text or "").strip()
                date = _child_text(element, "pubDate", "date", "published", "updated")
                link = _link(href, base, {"title": _child_text(element, "title"), "published_at": _iso_date(date)})
            elif name == "entry":  # Atom
                hrefs = [c.get("href") for c in element if _local(c.tag) == "link" and c.get("rel", "alternate") == "alternate"]
                date = _child_text(element, "published", "updated")
                link = _link(hrefs[0] if hrefs else None, base, {"title": _child_text(element, "title"), "published_at": _iso_date(date)})
            else:
                continue
            if link is not None:
                links.append(link)
            if len(links) >= MAX_LINKS_PER_SOURCE:
                break
    if not links:  # JSON feeds and XML too broken for lxml
        from trafilatura.feeds import FeedParameters, find_links

        text = body.decode("utf-8", errors="replace")
        found = find_links(text.strip(), FeedParameters(base, "", base, external=True))
        links = [link for href in found[:MAX_LINKS_PER_SOURCE] if (link := _link(href, base, {})) is not None]
    return _unique(links)


def parse_sitemap(body: bytes, base: str, max_bytes: int) -> SitemapContent:
    """Pages (with Google News title and publication date) and child sitemaps of one sitemap file."""
    if body[:2] == b"\x1f\x8b":
        body = _gunzip(body, max_bytes)
    root = _root(body)
    if root is None:  # text sitemap: one URL per line
        lines = body.decode("utf-8", errors="replace").splitlines()
        pages = [link for line in lines[:MAX_LINKS_PER_SOURCE] if line.strip() and (link := _link(line.strip(), base, {})) is not None]
        return SitemapContent(_unique(pages), [])
    pages, children = [], []
    kind = _local(root.tag)
    for element in root:
        name = _local(element.tag)
        loc = _child_text(element, "loc")
        if kind == "sitemapindex" and name == "sitemap":
            if (link := _link(loc, base, {})) is not None:
                children.append(link.url)
        elif name == "url":
            news = next((c for c in element if _local(c.tag) == "news"), None)
            declared = {"published_at": _iso_date(_child_text(element, "lastmod"))}
            if news is not None:
                declared = {"title": _child_text(news, "title"), "published_at": _iso_date(_child_text(news, "publication_date")) or declared["published_at"]}
            if (link := _link(loc, base, declared)) is not None:
                pages.append(link)
        if len(pages) + len(children) >= MAX_LINKS_PER_SOURCE:
            break
    return SitemapContent(_unique(pages), list(dict.fromkeys(children)))


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    from pipeline.sources.web.policy import FetchError

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as fh:
            data = fh.read(max_bytes + 1)
    except (EOFError, OSError, zlib.error) as exc:  # truncated or corrupt (BadGzipFile is an OSError)
        raise FetchError("invalid_gzip", f"gzip sitemap is truncated or corrupt: {type(exc).__name__}: {exc}"[:500]) from None
    if len(data) > max_bytes:
        raise FetchError("oversize_body", f"gzip sitemap expands past the {max_bytes}-byte limit")
    return data


def homepage_feeds(body: bytes, base: str) -> list[str]:
    """Feed URLs a homepage links to (``<link rel="alternate">`` first, then feed-like anchors)."""
    from trafilatura.feeds import FeedParameters, determine_feed

    html = body.decode("utf-8", errors="replace")
    found = determine_feed(html, FeedParameters(base, "", base))
    out = []
    for href in found:
        try:
            out.append(canonical_url(href, base))
        except ValueError:
            continue
    return list(dict.fromkeys(out))


def read_url_list(path: str | Path) -> tuple[list[Link], list[tuple[int, str]]]:
    """A local file of URLs, one a line (``#`` comments): the links and the (line, text) rejected."""
    links, rejected = [], []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip() if not line.lstrip().startswith("http") else line.strip()
        if not text:
            continue
        try:
            links.append(Link(canonical_url(text), {}))
        except ValueError:
            rejected.append((number, text))
    return _unique(links), rejected


def _unique(links: list[Link]) -> list[Link]:
    seen: dict[str, Link] = {}
    for link in links:
        seen.setdefault(link.url, link)
    return list(seen.values())
