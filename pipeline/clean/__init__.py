"""Cleaning: one raw document in, one Article out (or a DocumentError with a reason code)."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import threading
from contextlib import contextmanager

from pipeline.clean.decode import decode_payload
from pipeline.clean.html import extract_html
from pipeline.clean.metadata import STOPWORD_SAMPLE_WORDS, InvalidDate, clean_authors, detect_language, detect_wire_agency, parse_iso_datetime
from pipeline.clean.phrases import phrase_book
from pipeline.clean.text import WORD, clean_text, line_key
from pipeline.model import Article, DocumentError, RawDocument

__all__ = ["article_id_for", "canonical_url", "clean_document", "content_hash", "line_key"]

HTML_SNIFF = re.compile(r"^\s*(?:<!doctype html|<html|<head|<body)", re.IGNORECASE)


def content_hash(body: str) -> str:
    """Hash of the normalised body: case, punctuation and spacing do not matter."""
    return key_hash(" ".join(WORD.findall(body.casefold())))


def key_hash(words: str) -> str:
    """content_hash from the body's words already case-folded and joined by single spaces."""
    return hashlib.sha256(words.encode("utf-8")).hexdigest()[:32]


def canonical_url(url: str | None) -> str | None:
    """The article's URL in the fetcher's canonical spelling (tracking parameters dropped by exact
    name, every other parameter kept: sites identify articles with them), so a fetched page and
    its article share one id. None when there is no absolute http(s) URL."""
    if not url or not url.lower().startswith(("http://", "https://")):
        return None
    from pipeline.sources.web.urls import canonical_url as fetch_canonical_url

    try:
        return fetch_canonical_url(url)
    except ValueError:
        return None


def article_id_for(url: str | None, body: str, body_hash: str | None = None) -> str:
    key = f"url:{url}" if url else f"body:{body_hash or content_hash(body)}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@contextmanager
def time_limit(seconds: float):
    """Per-document time limit (SIGALRM, so only in a main thread; elsewhere no limit)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum, _frame):
        raise DocumentError("timeout", f"cleaning took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def detect_format(raw: RawDocument, text: str) -> str:
    if raw.content_type == "text/html":
        return "html"
    if raw.content_type == "application/json":
        return "json"
    return "html" if HTML_SNIFF.match(text[:1024]) else "text"


def clean_document(
    raw: RawDocument,
    *,
    min_body_words: int = 40,
    site_boilerplate: frozenset[str] = frozenset(),
    force_format: str | None = None,
    time_limit_seconds: float = 0,
) -> Article:
    with time_limit(time_limit_seconds):
        return _clean(raw, min_body_words, site_boilerplate, force_format)


def _clean(raw: RawDocument, min_body_words: int, site_boilerplate: frozenset[str], force_format: str | None) -> Article:
    book = phrase_book()
    text = decode_payload(raw.payload, raw.content_type, raw.encoding)
    fmt = force_format if force_format and force_format != "auto" else detect_format(raw, text)
    declared = dict(raw.declared)
    url, published_at, language, summary = raw.url, None, None, None
    authors: list[str] = []
    tags: list[str] = []
    title_hint = None
    credits: list[str] = []
    if fmt == "json":
        record = json.loads(text)
        html = next((record[f] for f in ("html", "raw_html") if isinstance(record.get(f), str)), None)
        text = html if html is not None else next(record[f] for f in ("text", "body", "content", "maintext") if isinstance(record.get(f), str))
        fmt = "html" if html is not None else "text"
        title_hint = declared.get("title") if isinstance(declared.get("title"), str) else None
        if declared.get("published_at"):
            try:
                published_at = parse_iso_datetime(str(declared["published_at"]))
            except InvalidDate as exc:
                raise DocumentError("invalid_published_at", f"published_at = {declared['published_at']!r}: {exc}") from None
        if isinstance(declared.get("authors"), list):
            authors = clean_authors(declared["authors"])
        if isinstance(declared.get("tags"), list):
            tags = [str(t) for t in declared["tags"]]
    if fmt == "html":
        extraction = extract_html(text, url)
        text = extraction.text
        title_hint = title_hint or extraction.title
        url = url or extraction.url
        published_at = published_at or extraction.published_at
        authors = authors or extraction.authors
        tags = tags or extraction.tags
        language, summary = extraction.language, extraction.summary
        credits = extraction.credits
    result = clean_text(text, title_hint=title_hint, site_boilerplate=site_boilerplate, book=book, extracted=fmt == "html")
    body_words = result.body_words
    if body_words and not result.prose_words:
        raise DocumentError("no_article_text", f"{body_words} words but no line of running prose: headlines or links, not an article")
    if body_words < min_body_words:
        raise DocumentError("no_article_text", f"{body_words} words of article text after cleaning, need at least {min_body_words}")
    if published_at is None:
        if result.published_at is None and result.date_error:
            raise DocumentError("invalid_published_at", result.date_error)
        published_at = result.published_at
    authors = authors or result.authors
    credit_lines = [s.text for s in result.removed if s.reason in ("copyright_footer", "byline", "media_placeholder", "wire_credit")]
    credit_lines += result.body.splitlines()[-2:]
    wire_agency = detect_wire_agency(book, result.dateline_lines, credit_lines + credits + [", ".join(authors)])
    canonical = canonical_url(url)
    body_hash = key_hash(result.body_key)
    return Article(
        article_id=article_id_for(canonical, result.body, body_hash),
        raw_id=raw.raw_id,
        uri=raw.uri,
        url=canonical,
        domain=raw.domain,
        title=result.title,
        published_at=published_at,
        authors=authors,
        wire_agency=wire_agency,
        language=language or detect_language(result.body, result.body_key.split(" ", STOPWORD_SAMPLE_WORDS)),
        tags=list(dict.fromkeys(tags or result.tags)),
        summary=summary or ("\n".join(result.highlights) or None),
        body=result.body,
        removed=result.removed,
        body_hash=body_hash,
    )
