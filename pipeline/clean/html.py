"""HTML pages: trafilatura finds the main text; declared metadata is read from the page's own
tags and validated strictly (an impossible declared date is an error, not a hint to guess)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.clean.metadata import InvalidDate, clean_authors, parse_iso_datetime
from pipeline.model import DocumentError, count_words

DATE_META = (
    "article:published_time", "og:article:published_time", "datepublished", "pubdate",
    "publishdate", "dc.date.issued", "dcterms.created", "sailthru.date", "parsely-pub-date",
)


SHORT_EXTRACTION_WORDS = 100


@dataclass(slots=True)
class HtmlExtraction:
    text: str
    title: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    language: str | None = None
    summary: str | None = None
    credits: list[str] = field(default_factory=list)  # raw author strings: agencies appear here


def _declared(tree) -> dict:
    found: dict = {"dates": [], "tags": [], "authors": []}
    for meta in tree.iterfind(".//meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        content = (meta.get("content") or "").strip()
        if not key or not content:
            continue
        if key in DATE_META:
            found["dates"].append((key, content))
        elif key in ("article:tag", "keywords", "news_keywords"):
            found["tags"].extend(t.strip() for t in content.split(",") if t.strip())
        elif key in ("author", "article:author", "dc.creator", "parsely-author") and not content.startswith("http"):
            found["authors"].append(content)
        elif key == "og:title":
            found.setdefault("title", content)
        elif key == "og:url":
            found.setdefault("url", content)
        elif key in ("description", "og:description"):
            found.setdefault("summary", content)
    for link in tree.iterfind(".//link[@rel='canonical']"):
        if link.get("href", "").startswith("http"):
            found["url"] = link.get("href")
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except json.JSONDecodeError:
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and isinstance(item.get("datePublished"), str):
                found["dates"].append(("ld+json datePublished", item["datePublished"]))
    for time_el in tree.iterfind(".//article//time[@datetime]"):
        found["dates"].append(("time[datetime]", time_el.get("datetime")))
        break
    html_el = tree if tree.tag == "html" else tree.find(".//html")
    if html_el is not None and html_el.get("lang"):
        found["language"] = html_el.get("lang").split("-")[0].lower()
    return found


def _published(dates: list[tuple[str, str]]) -> datetime | None:
    """The first declared date; an impossible one quarantines the page."""
    for source, value in dates:
        try:
            return parse_iso_datetime(value)
        except InvalidDate as exc:
            raise DocumentError("invalid_published_at", f"{source} = {value!r}: {exc}") from None
    return None


def extract_html(html: str, url: str | None = None) -> HtmlExtraction:
    from trafilatura import bare_extraction
    from trafilatura.utils import load_html

    tree = load_html(html)
    if tree is None:
        raise DocumentError("unparseable_html", "no HTML tree could be built from the page")
    declared = _declared(tree)
    published_at = _published(declared["dates"])
    settings = {"url": url or declared.get("url"), "include_comments": False, "include_tables": True, "deduplicate": False}
    document = bare_extraction(tree, with_metadata=True, favor_precision=True, **settings)
    words = count_words(document.text) if document is not None and document.text else 0
    if 0 < words < SHORT_EXTRACTION_WORDS:
        # Precision-first extraction sometimes keeps only a fragment of an article; a balanced one
        # decides then. (Nothing at all means no article: a section front, a login wall.)
        second = bare_extraction(load_html(html), with_metadata=False, **settings)
        if second is not None and second.text and count_words(second.text) >= 2 * words:
            document.text = second.text
    if document is None or not (document.text or "").strip():
        raise DocumentError("no_article_text", "the extractor found no main text on the page")
    authors = clean_authors(declared["authors"] or (document.author or "").split(";"))
    tags = declared["tags"] or [t for t in (document.tags or []) if t]
    if published_at is None and document.date:
        try:
            published_at = parse_iso_datetime(document.date)
        except InvalidDate:
            published_at = None
    return HtmlExtraction(
        text=document.text,
        title=declared.get("title") or document.title,
        url=declared.get("url") or document.url,
        published_at=published_at,
        authors=authors,
        tags=list(dict.fromkeys(tags)),
        language=declared.get("language"),
        summary=declared.get("summary") or document.description,
        credits=declared["authors"] + ([document.author] if document.author else []),
    )
