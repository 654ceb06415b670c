"""Line classifier for flattened text (one line per block element, boilerplate inline).

Every non-empty line is labelled first: boilerplate families (multilingual phrase data), lines
the site repeats across its pages, repeated titles and paragraphs, menus, bylines, dates, tags.

For a whole flattened page the article is then the densest run of prose: each line scores its
word count when it is unlabelled prose and a penalty otherwise, and the best-scoring contiguous
run wins (comment sections, footers and teaser lists lose to the article around which they sit).
Text that an HTML extractor already reduced to the main content skips that step and only loses
labelled lines. Every removed line is kept with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from pipeline.clean.lines import SENTENCE_END, WORD, line_keys, repeated_lines, split_lines
from pipeline.clean.metadata import InvalidDate, parse_byline, parse_date
from pipeline.clean.phrases import PhraseBook, phrase_book
from pipeline.model import DocumentError, RemovedSegment

# Memory grows with lines (a few hundred bytes of state each: keys, labels, removed segments) and
# words (the repeated-paragraph shingles), more than with bytes: 4.8 MB of two-letter lines is 1.6
# million lines, one line of 800,000 words fills shingle tables of 400 MB. No article comes near
# either limit (the evaluation pages have at most 672 lines and 8,409 words).
MAX_LINES = 20_000
MAX_WORDS = 100_000  # \w+ tokens, as the line keys count them
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines splits at
NON_EMPTY_LINE = re.compile(f"[^\\s\u200b][^{LINE_BREAKS}]*")  # split_lines drops zero-width spaces
BULLET = re.compile(r"^[-•*·▪–]\s+")
TAGS_LINE = re.compile(r"^(?:tags|topics|schlagworte|themen|mots-clés|etiquetas|tag|argomenti)\s*:\s*(?P<tags>.+)$", re.IGNORECASE)
GLUED_CRUMB = re.compile(r"^(?:Home|Start|Accueil|Inicio)(?=[A-Z])")
MASTHEAD_CHROME = re.compile(r"^(?:[\w.-]+\.(?:com|net|org|co\.uk|de|fr|it|es|example)|[\d\s.,:/|-]+)$", re.IGNORECASE)
MENU_SEPARATORS = re.compile(r"\s+[|·•]\s+")
BYLINE_START = re.compile(r"^(?:by|von|par|por|di|de|door)\s", re.IGNORECASE)
CAPITALISED = re.compile(r"\b[A-ZÀ-Ý0-9]")
REPEAT_CONTAINMENT = 0.6
REPEAT_MIN_SHINGLES = 8

# Scores for the densest-run search over a whole page.
LABELLED_PENALTY = 6
SHORT_LINE_PENALTY = 2
LIST_HEADER_PENALTY = 40
EARLIER_RUN_SHARE = 0.5
NON_BODY_REASONS = {"title", "byline", "dateline", "metadata_line"}


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
    prose_words: int = 0  # words of the body in lines of running prose (not headlines or labels)
    body_words: int = 0  # words of the body (count_words per line)
    body_key: str = ""  # the body's words, case-folded, one space apart (what content_hash hashes)


def line_key(line: str) -> str:
    """Key for 'same line' comparisons: case and punctuation folded."""
    return " ".join(WORD.findall(line.casefold()))


def is_prose(line: str, words: int) -> bool:
    if GLUED_CRUMB.match(line):
        return False
    if line.endswith(("...", "…")):  # truncated teasers and crumbs
        return words >= 20
    if words >= 15:
        return True
    if words < 6 or not line.endswith(SENTENCE_END):
        return False
    return not _title_case(line, words)


def _title_case(line: str, words: int) -> bool:
    """Headings and teaser titles capitalise most words; sentences do not."""
    return words >= 4 and len(CAPITALISED.findall(line)) >= 0.7 * words


def clean_text(
    text: str,
    *,
    title_hint: str | None = None,
    site_boilerplate: frozenset[str] | set[str] = frozenset(),
    book: PhraseBook | None = None,
    extracted: bool = False,
) -> TextResult:
    """Clean flattened text. ``extracted``: the text is already an extractor's main content
    (keep everything not labelled); otherwise it is a whole page and the article is located."""
    book = book or phrase_book()
    _check_size(text)
    lines, words = split_lines(text)
    count = len(lines)
    folded_text = "\n".join(lines).casefold()  # one call for the document; casefold adds no line breaks
    folded = folded_text.split("\n")
    keys = line_keys(folded_text)  # == [line_key(line) for line in lines]
    reason: list[str | None] = [None] * count
    prose = [is_prose(line, w) for line, w in zip(lines, words)]
    family = book.families(folded, words, folded_text)

    title_key = line_key(title_hint) if title_hint else None
    title_index = None
    if title_key is None:
        title_index = _find_title(lines, words, keys, prose, family, book)
        if title_index is not None:
            title_key = keys[title_index]
            prose[title_index] = False

    result = TextResult(title=title_hint or (lines[title_index] if title_index is not None else None), body="", removed=[])
    seen: set[str] = set()
    dates: dict[int, object] = {}  # line -> parse_date's answer (a datetime, None or the InvalidDate raised)
    inherited: str | None = None
    list_headers: set[int] = set()
    section_end = count
    prose_words = 0
    for i, line in enumerate(lines):
        key = keys[i]
        w = words[i]
        if i == title_index:
            reason[i] = "title"
        elif title_key and key == title_key:
            reason[i] = "duplicate_title"
        elif not extracted and prose_words >= 50 and section_end == count and book.ends_article(line, w):
            reason[i] = "comment_widget"
            section_end = i
        elif (header := book.list_header(line, w)) is not None:
            reason[i] = inherited = header
            list_headers.add(i)
            continue
        elif family[i] is not None:
            reason[i] = family[i]
        elif key and key in seen and not (extracted and w >= 8):
            reason[i] = "repeated_paragraph"
        elif key in site_boilerplate:
            reason[i] = "site_boilerplate"
        elif GLUED_CRUMB.match(line) or (_is_menu(line) and not line.startswith("|")) or (line.endswith(("...", "…")) and w <= 20 and not prose[i]):
            reason[i] = "navigation"
        elif w <= 40 and ":" in line and (tags := TAGS_LINE.match(line)):
            result.tags = [t for t in re.split(r"[,;|]\s*|\s+", tags.group("tags")) if t]
            reason[i] = "metadata_line"
        elif w <= 16 and BYLINE_START.match(line) and (authors := parse_byline(line)) is not None:
            result.authors = result.authors or authors
            reason[i] = "byline"
        elif w <= 14 and _is_date_line(line, dates, i):
            reason[i] = "dateline"
        elif inherited and not (prose[i] and w >= 8 and line.endswith(SENTENCE_END)):
            reason[i] = inherited
            continue
        if reason[i] is None and prose[i]:
            inherited = None
            prose_words += w
        if key:
            seen.add(key)

    candidates = [i for i in range(count) if reason[i] is None and prose[i]]
    if not extracted:
        # Teasers and pasted summaries: prose lines whose 4-word shingles mostly appeared earlier.
        for i in repeated_lines(keys, candidates, REPEAT_MIN_SHINGLES, REPEAT_CONTAINMENT):
            reason[i] = "repeated_paragraph"
    if extracted:
        start, end = 0, count - 1
        while start < count and reason[start] is not None:
            start += 1
    else:
        start, end = _densest_run(lines, words, reason, prose, list_headers, min(section_end, count))
    # Bullets ahead of the first paragraph are highlights, not body.
    while start <= end and (reason[start] is not None or BULLET.match(lines[start])):
        start += 1
    header_end = min(count, start + 3)
    _read_dates(lines, reason, words, result, title_index if title_index is not None else -1, header_end, dates)

    body_lines: list[str] = []
    for i, line in enumerate(lines):
        if reason[i] is None and i < start and BULLET.match(line) and words[i] >= 4 and not extracted:
            result.highlights.append(BULLET.sub("", line))
            reason[i] = "highlights"
        elif reason[i] is None and not start <= i <= end:
            reason[i] = _outside_reason(line, i < start)
        if reason[i] is None:
            body_lines.append(line)
            result.body_words += words[i]
            result.prose_words += words[i] if prose[i] else 0
        elif reason[i] != "title":
            result.removed.append(RemovedSegment(position=i, text=line, reason=reason[i]))
    result.body = "\n".join(body_lines)
    result.body_key = " ".join(keys[i] for i in range(count) if reason[i] is None and keys[i])
    result.dateline_lines = body_lines[:2]
    return result


def _check_size(text: str) -> None:
    """DocumentError for a text of more than MAX_LINES non-empty lines or MAX_WORDS words, counted
    before any list of lines is built (hard-wrapped lines counted apart, as they are before
    split_lines joins them). Texts too short to reach a limit are not scanned."""
    if sum(text.count(c) for c in LINE_BREAKS) >= MAX_LINES and _count(NON_EMPTY_LINE, text, MAX_LINES) > MAX_LINES:
        raise DocumentError("too_many_lines", f"more than {MAX_LINES:,} lines: a list or a dump, not an article")
    if len(text) >= 2 * MAX_WORDS and _count(WORD, text, MAX_WORDS) > MAX_WORDS:
        raise DocumentError("too_many_words", f"more than {MAX_WORDS:,} words: a book or a dump, not an article")


def _count(pattern: re.Pattern, text: str, limit: int) -> int:
    """Matches of a pattern in a text, counted up to one past ``limit`` without keeping them."""
    return sum(1 for _ in islice(pattern.finditer(text), limit + 1))


def _densest_run(lines, words, reason, prose, list_headers, limit) -> tuple[int, int]:
    """The article's run of lines: runs are scored (prose words minus penalties, Kadane) and the
    earliest run within EARLIER_RUN_SHARE of the best wins, since articles precede what a page
    appends to them (teasers, comments, footers)."""
    runs: list[tuple[float, int, int]] = []
    best, best_start, best_end = 0.0, 0, -1
    total, run_start = 0.0, 0
    for i in range(limit):
        if reason[i] is None and prose[i]:
            # A lone sentence between short lines is how teaser lists look; paragraphs come in runs.
            alone = _teaser_neighbour(i - 1, reason, prose, limit) and _teaser_neighbour(i + 1, reason, prose, limit)
            score = words[i] / 2 if alone else words[i]
        elif reason[i] is None:
            score = -(SHORT_LINE_PENALTY + words[i])
        elif i in list_headers and words[i] <= 4:  # a bare header opens a list; "Read more: <title>" is one teaser
            score = -LIST_HEADER_PENALTY
        elif reason[i] in NON_BODY_REASONS:
            score = -SHORT_LINE_PENALTY
        else:
            score = -(LABELLED_PENALTY + min(words[i], 30))
        if total <= 0:
            if best > 0:
                runs.append((best, best_start, best_end))
            best, total, run_start = 0.0, score, i
        else:
            total += score
        if total > best:
            best, best_start, best_end = total, run_start, i
    if best > 0:
        runs.append((best, best_start, best_end))
    if not runs:
        return 0, -1
    top = max(score for score, _, _ in runs)
    _, start, end = next(run for run in runs if run[0] >= EARLIER_RUN_SHARE * top)
    return start, end


def _teaser_neighbour(i: int, reason, prose, limit: int) -> bool:
    """Teaser summaries sit between lines that are not article prose (their titles, authors, times)."""
    return not 0 <= i < limit or not (reason[i] is None and prose[i])


def _read_dates(lines, reason, words, result: TextResult, title_index: int, header_end: int, dates: dict) -> None:
    """The publication date is a date line near the headline; dates elsewhere on a page (comments,
    teasers) are neither the article's date nor a reason to reject it."""
    for i in range(max(0, title_index - 3), header_end):
        if reason[i] == "dateline" or (reason[i] is None and words[i] <= 14):
            parsed = _parsed_date(lines[i], dates, i)
            if isinstance(parsed, InvalidDate):
                result.date_error = result.date_error or str(parsed)
                reason[i] = "dateline"
                continue
            if parsed is not None:
                reason[i] = "dateline"
                if result.published_at is None:
                    result.published_at = parsed


def _find_title(lines, words, keys, prose, family, book) -> int | None:
    """The headline: a short line before the first prose line, preferably one the page repeats."""
    first_prose = next((i for i, p in enumerate(prose) if p and family[i] is None), len(lines))
    window = range(min(first_prose + 1, len(lines), 12))
    for i in window:
        if 3 <= words[i] <= 25 and keys[i] and keys.count(keys[i]) > 1 and _headline_like(lines[i], words[i], family[i], book):
            return i
    for i in window:
        if i == first_prose:
            break
        if 3 <= words[i] <= 25 and _headline_like(lines[i], words[i], family[i], book) and not lines[i].endswith((".", ";", ":")):
            return i
    return None


def _headline_like(line: str, words: int, family: str | None, book: PhraseBook) -> bool:
    if family or book.list_header(line, words) or BULLET.match(line):
        return False
    if GLUED_CRUMB.match(line) or _is_menu(line) or TAGS_LINE.match(line) or parse_byline(line) is not None:
        return False
    if _is_date_line(line):
        return False
    return not line.endswith(("...", "…"))


def _parsed_date(line: str, dates: dict | None = None, index: int = -1):
    """parse_date's answer for a line: a datetime, None, or the InvalidDate it raised (kept per
    document, since the header's date lines are read twice: to label them and to date the article)."""
    if dates is not None and index in dates:
        return dates[index]
    try:
        parsed = parse_date(line)
    except InvalidDate as exc:
        parsed = exc
    if dates is not None:
        dates[index] = parsed
    return parsed


def _is_date_line(line: str, dates: dict | None = None, index: int = -1) -> bool:
    return _parsed_date(line, dates, index) is not None


def _is_menu(line: str) -> bool:
    """'News | City | Business | Sport': three or more short items between separators."""
    if not ("|" in line or "·" in line or "•" in line):
        return False
    items = MENU_SEPARATORS.split(line)
    return len(items) >= 3 and all(len(item.split()) <= 3 for item in items)


def _outside_reason(line: str, before_body: bool) -> str:
    if MASTHEAD_CHROME.match(line):
        return "navigation"
    return "leading_boilerplate" if before_body else "trailing_boilerplate"
