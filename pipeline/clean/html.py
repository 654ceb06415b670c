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
    found: dict = {"dates": [], "tags": [], "authors": [], "ld_authors": []}
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
        for item in _ld_items(data):
            if isinstance(item.get("datePublished"), str):
                found["dates"].append(("ld+json datePublished", item["datePublished"]))
            if "author" in item and not found["ld_authors"]:
                found["ld_authors"] = _ld_names(item["author"])
            if isinstance(item.get("headline"), str):
                found.setdefault("ld_title", item["headline"])
            keywords = item.get("keywords")
            if keywords and not found["tags"]:
                found["tags"] = [k.strip() for k in (keywords.split(",") if isinstance(keywords, str) else keywords) if isinstance(k, str) and k.strip()]
    for time_el in tree.iterfind(".//article//time[@datetime]"):
        found["dates"].append(("time[datetime]", time_el.get("datetime")))
        break
    title = tree.find(".//title")
    if title is not None and title.text and title.text.strip():
        found["page_title"] = " ".join(title.text.split())
    if not found["authors"] and not found["ld_authors"]:
        found["byline_authors"] = _byline_elements(tree)
    html_el = tree if tree.tag == "html" else tree.find(".//html")
    if html_el is not None and html_el.get("lang"):
        found["language"] = html_el.get("lang").split("-")[0].lower()
    return found


ARTICLE_TYPES = {"NewsArticle", "Article", "ReportageNewsArticle", "BlogPosting", "AnalysisNewsArticle", "OpinionNewsArticle", "WebPage"}
BYLINE_XPATH = (
    "//*[@itemprop='author'] | //*[@rel='author'] | //*[@class and (contains(@class, 'byline') or "
    "contains(@class, 'author-name') or contains(@class, 'author__name') or contains(@class, 'article-author'))]"
)


def _ld_items(data) -> list[dict]:
    """JSON-LD objects, articles first: top level, lists and @graph."""
    items = data if isinstance(data, list) else [data]
    flat = []
    for item in items:
        if isinstance(item, dict):
            flat.extend(i for i in item.get("@graph", []) if isinstance(i, dict))
            flat.append(item)
    return sorted(flat, key=lambda i: str(i.get("@type")) not in ARTICLE_TYPES)


def _ld_names(value) -> list[str]:
    values = value if isinstance(value, list) else [value]
    names = []
    for v in values:
        if isinstance(v, str):
            names.append(v)
        elif isinstance(v, dict) and isinstance(v.get("name"), str) and v.get("@type") != "Organization":
            names.append(v["name"])
    return names


def _byline_elements(tree) -> list[str]:
    """Author names marked up in the page itself (itemprop, rel or a byline class)."""
    names = []
    for element in tree.xpath(BYLINE_XPATH)[:6]:
        text = " ".join(" ".join(element.itertext()).split())
        if 1 < len(text.split()) <= 8:
            names.append(text)
    return names


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
    page_url = url or declared.get("url")
    if published_at is None:
        published_at = _found_date(tree, page_url)
    settings = {"url": page_url, "include_comments": False, "include_tables": True, "deduplicate": False}
    # Metadata comes from the page's own declarations above, so the extractor only finds the text.
    document = bare_extraction(tree, with_metadata=False, favor_precision=True, **settings)
    words = count_words(document.text) if document is not None and document.text else 0
    if 0 < words < SHORT_EXTRACTION_WORDS:
        # Precision-first extraction sometimes keeps only a fragment of an article; a balanced one
        # decides then. (Nothing at all means no article: a section front, a login wall.)
        second = bare_extraction(load_html(html), with_metadata=False, **settings)
        if second is not None and second.text and count_words(second.text) >= 2 * words:
            document.text = second.text
    if document is None or not (document.text or "").strip():
        raise DocumentError("no_article_text", "the extractor found no main text on the page")
    raw_authors = declared["authors"] or declared["ld_authors"] or declared.get("byline_authors", [])
    authors = clean_authors(name for raw in raw_authors for name in raw.split(";"))
    return HtmlExtraction(
        text=document.text,
        title=declared.get("title") or declared.get("ld_title") or declared.get("page_title"),
        url=declared.get("url"),
        published_at=published_at,
        authors=authors,
        tags=list(dict.fromkeys(declared["tags"])),
        language=declared.get("language"),
        summary=declared.get("summary"),
        credits=raw_authors,
    )


def _found_date(tree, url: str | None) -> datetime | None:
    """A page that declares no date: htmldate's search of the page (a guess, so never a reason
    to reject the page when it finds something impossible)."""
    from htmldate import find_date

    found = find_date(tree, url=url, original_date=True, extensive_search=True, outputformat="%Y-%m-%d")
    if not found:
        return None
    try:
        return parse_iso_datetime(found)
    except InvalidDate:
        return None
