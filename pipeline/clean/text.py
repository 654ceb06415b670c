"""Line classifier for flattened text (one line per block element, boilerplate inline).

Each non-empty line is labelled. The article body is the span from the first to the last
line of article prose; inside it, only lines that match a boilerplate family or repeat
earlier text are removed. Everything outside it is removed with the most specific reason
known. Header lines give the title, dates, bylines, tags and highlights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.clean.metadata import InvalidDate, parse_byline, parse_date
from pipeline.clean.phrases import PhraseBook, phrase_book
from pipeline.model import RemovedSegment

WORD = re.compile(r"\w+")
SENTENCE_END = re.compile(r"[.!?:;…\"'”’»)\]]$")
BULLET = re.compile(r"^[-•*·▪–]\s+")
TAGS_LINE = re.compile(r"^(?:tags|topics|schlagworte|themen|mots-clés|etiquetas|tag|argomenti)\s*:\s*(?P<tags>.+)$", re.IGNORECASE)
GLUED_CRUMB = re.compile(r"^(?:Home|Start|Accueil|Inicio)(?=[A-Z])")
MASTHEAD_CHROME = re.compile(r"^(?:[\w.-]+\.(?:com|net|org|co\.uk|de|fr|it|es|example)|[\d\s.,:/|-]+)$", re.IGNORECASE)
MENU_SEPARATORS = re.compile(r"\s+[|·•]\s+")
REPEAT_SHINGLE = 4
REPEAT_CONTAINMENT = 0.6


@dataclass(slots=True)
class TextResult:
    title: str | None
    body: str
    removed: list[RemovedSegment]
    published_at: datetime | None = None
    date_error: str | None = None
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    highlights: list[str] = field(default_factory=list)
    dateline_lines: list[str] = field(default_factory=list)


def normalise_line(line: str) -> str:
    return " ".join(line.replace("\u00a0", " ").replace("\u200b", "").split())


def line_key(line: str) -> str:
    """Key for 'same line' comparisons: case and punctuation folded."""
    return " ".join(WORD.findall(line.casefold()))


def _shingles(tokens: list[str]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + REPEAT_SHINGLE]) for i in range(max(0, len(tokens) - REPEAT_SHINGLE + 1))}


def is_prose(line: str, words: int) -> bool:
    if GLUED_CRUMB.match(line):
        return False
    if line.endswith(("...", "…")):  # truncated teasers and crumbs
        return words >= 20
    return words >= 15 or (words >= 6 and bool(SENTENCE_END.search(line)))


def clean_text(
    text: str,
    *,
    title_hint: str | None = None,
    site_boilerplate: frozenset[str] | set[str] = frozenset(),
    book: PhraseBook | None = None,
) -> TextResult:
    book = book or phrase_book()
    lines = [normalised for raw in text.splitlines() if (normalised := normalise_line(raw))]
    count = len(lines)
    words = [len(line.split()) for line in lines]
    keys = [line_key(line) for line in lines]
    reason: list[str | None] = [None] * count
    prose = [is_prose(line, w) for line, w in zip(lines, words)]

    title_key = line_key(title_hint) if title_hint else None
    title_index = None
    if title_key is None:
        title_index = _find_title(lines, words, keys, prose, book)
        if title_index is not None:
            title_key = keys[title_index]
            prose[title_index] = False

    result = TextResult(title=title_hint or (lines[title_index] if title_index is not None else None), body="", removed=[])
    seen: dict[str, int] = {}
    inherited: str | None = None
    for i, line in enumerate(lines):
        key = keys[i]
        if i == title_index:
            reason[i] = "title"
        elif title_key and key == title_key:
            reason[i] = "duplicate_title"
        elif (header := book.list_header(line, words[i])) is not None:
            reason[i] = inherited = header
            continue
        elif (family := book.reason_for(line, words[i])) is not None:
            reason[i] = family
        elif key and key in seen:
            reason[i] = "repeated_paragraph"
        elif key in site_boilerplate:
            reason[i] = "site_boilerplate"
        elif GLUED_CRUMB.match(line) or _is_menu(line) or (line.endswith(("...", "…")) and words[i] <= 20 and not prose[i]):
            reason[i] = "navigation"
        elif TAGS_LINE.match(line):
            result.tags = [t for t in re.split(r"[,;|]\s*|\s+", TAGS_LINE.match(line).group("tags")) if t]
            reason[i] = "metadata_line"
        elif (authors := parse_byline(line)) is not None:
            result.authors = result.authors or authors
            reason[i] = "byline"
        elif _date_line(line, result):
            reason[i] = "dateline"
        elif inherited and not (prose[i] and words[i] >= 8 and SENTENCE_END.search(line)):
            reason[i] = inherited
            continue
        inherited = None if reason[i] is None and prose[i] else inherited
        if key:
            seen.setdefault(key, i)

    body_candidates = [i for i in range(count) if reason[i] is None and prose[i]]
    _mark_repeated_text(lines, reason, body_candidates)
    body_candidates = [i for i in body_candidates if reason[i] is None]
    # Bullets ahead of the first paragraph are highlights, not body.
    while body_candidates and BULLET.match(lines[body_candidates[0]]):
        body_candidates.pop(0)
    start = body_candidates[0] if body_candidates else count
    end = body_candidates[-1] if body_candidates else -1

    body_lines: list[str] = []
    for i, line in enumerate(lines):
        if reason[i] is None and i < start and BULLET.match(line) and words[i] >= 4:
            result.highlights.append(BULLET.sub("", line))
            reason[i] = "highlights"
        elif reason[i] is None and not start <= i <= end:
            reason[i] = _outside_reason(line, i < start)
        if reason[i] is None:
            body_lines.append(line)
        elif reason[i] != "title":
            result.removed.append(RemovedSegment(position=i, text=line, reason=reason[i]))
    result.body = "\n".join(body_lines)
    result.dateline_lines = body_lines[:2]
    return result


def _find_title(lines, words, keys, prose, book) -> int | None:
    """The headline: a short line before the first prose line, preferably one the page repeats."""
    first_prose = next((i for i, p in enumerate(prose) if p and book.reason_for(lines[i], words[i]) is None), len(lines))
    window = range(min(first_prose + 1, len(lines), 12))
    for i in window:
        if 3 <= words[i] <= 25 and keys[i] and keys.count(keys[i]) > 1 and _headline_like(lines[i], words[i], book):
            return i
    for i in window:
        if i == first_prose:
            break
        if 3 <= words[i] <= 25 and _headline_like(lines[i], words[i], book) and not lines[i].endswith((".", ";", ":")):
            return i
    return None


def _headline_like(line: str, words: int, book: PhraseBook) -> bool:
    if book.reason_for(line, words) or book.list_header(line, words) or BULLET.match(line):
        return False
    if GLUED_CRUMB.match(line) or _is_menu(line) or TAGS_LINE.match(line) or parse_byline(line) is not None:
        return False
    try:
        if parse_date(line) is not None:
            return False
    except InvalidDate:
        return False
    return not line.endswith(("...", "…"))


def _is_menu(line: str) -> bool:
    """'News | City | Business | Sport': three or more short items between separators."""
    items = MENU_SEPARATORS.split(line)
    return len(items) >= 3 and all(len(item.split()) <= 3 for item in items)


def _date_line(line: str, result: TextResult) -> bool:
    try:
        parsed = parse_date(line)
    except InvalidDate as exc:
        result.date_error = result.date_error or str(exc)
        return True
    if parsed is None:
        return False
    if result.published_at is None:
        result.published_at = parsed
    return True


def _mark_repeated_text(lines: list[str], reason: list[str | None], candidates: list[int]) -> None:
    """A prose line whose 4-word shingles mostly appeared earlier (teasers, pasted summaries)."""
    seen: set[tuple[str, ...]] = set()
    for i in candidates:
        tokens = WORD.findall(lines[i].casefold())
        shingles = _shingles(tokens)
        if len(shingles) >= 8 and len(shingles & seen) / len(shingles) >= REPEAT_CONTAINMENT:
            reason[i] = "repeated_paragraph"
            continue
        seen |= shingles


def _outside_reason(line: str, before_body: bool) -> str:
    if MASTHEAD_CHROME.match(line):
        return "navigation"
    return "leading_boilerplate" if before_body else "trailing_boilerplate"
