"""Boilerplate phrase families, compiled once from ``boilerplate_phrases.json``.

Each kind of pattern of every family is joined into one alternation with a named group per
family, so classifying a line costs one regex call per kind, not one per phrase.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

PHRASES_FILE = Path(__file__).with_name("boilerplate_phrases.json")
LINE_PATTERN_MAX_WORDS = 25
MEMO_LIMIT = 200_000
MISSING = object()
STRIP = " \t-–—•*|·>»›"


@dataclass(frozen=True, slots=True)
class PhraseBook:
    line_pattern: re.Pattern
    contains_pattern: re.Pattern
    list_header_pattern: re.Pattern
    section_end_pattern: re.Pattern
    wire_agency_pattern: re.Pattern
    wire_agency_words: tuple[str, ...]
    contains_triggers: tuple[str, ...]
    max_words: int
    # Short lines (menus, labels, widgets) recur across the pages of a site: classify each once.
    memo: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def families(self, folded_lines: list[str], words: list[int]) -> list[str | None]:
        """The boilerplate family of every line of a document (or None), given its case-folded
        lines; the trigger words of 'contains' patterns are looked for once in the whole document."""
        whole = "\n".join(folded_lines)
        triggers = [t for t in self.contains_triggers if t in whole]
        out: list[str | None] = []
        for line, count in zip(folded_lines, words):
            folded = line.strip(STRIP)
            if count > LINE_PATTERN_MAX_WORDS:
                out.append(self._contains(folded, count, triggers))
                continue
            key = ("line", folded)
            reason = self.memo.get(key, MISSING)
            if reason is MISSING:
                match = self.line_pattern.fullmatch(folded)
                reason = _family(match) if match else self._contains(folded, count, self.contains_triggers)
                self._remember(key, reason)
            out.append(reason)
        return out

    def _contains(self, folded: str, words: int, triggers) -> str | None:
        if words <= self.max_words and triggers and any(t in folded for t in triggers) and (match := self.contains_pattern.search(folded)):
            return _family(match)
        return None

    def _remember(self, key: tuple, value) -> None:
        if len(self.memo) >= MEMO_LIMIT:
            self.memo.clear()
        self.memo[key] = value

    def wire_agency(self, line: str) -> str | None:
        if not any(word in line for word in self.wire_agency_words):
            return None
        match = self.wire_agency_pattern.search(line)
        return _family(match) if match else None

    def list_header(self, line: str, words: int) -> str | None:
        """The reason shared by the list a header line opens ('Related stories', 'Most read')."""
        if words > 12:
            return None
        key = ("header", line)
        if key in self.memo:
            return self.memo[key]
        match = self.list_header_pattern.fullmatch(line.strip(STRIP).casefold())
        header = _family(match) if match else None
        self._remember(key, header)
        return header

    def ends_article(self, line: str, words: int) -> bool:
        """A header that opens what follows an article (the comment section, the site footer)."""
        return words <= 12 and self.section_end_pattern.fullmatch(line.strip(STRIP).casefold()) is not None


def _family(match: re.Match) -> str:
    return match.lastgroup.split("__", 1)[0]


def _join(groups: dict[str, list[str]], flags: int = re.IGNORECASE) -> re.Pattern:
    # Group names must be unique; "family__n" keeps the family recoverable from lastgroup.
    parts = [f"(?P<{name}__{n}>{'|'.join(f'(?:{e})' for e in exprs)})" for n, (name, exprs) in enumerate(groups.items()) if exprs]
    return re.compile("|".join(parts) or r"(?!x)x", flags)


def _leading_words(exprs) -> tuple[str, ...]:
    """The first literal word of each pattern, which any match contains (agency patterns are
    plain sequences: a name, a dateline in brackets); a cheap test before the regex."""
    words = set()
    for expr in exprs:
        literal = re.findall(r"[^\W\d_]{2,}", re.sub(r"\\.", " ", expr))
        if not literal:
            raise ValueError(f"wire agency pattern {expr!r} has no literal word")
        words.add(literal[0])
    return tuple(sorted(words))


@cache
def phrase_book(path: str = str(PHRASES_FILE)) -> PhraseBook:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    families = data["families"]
    return PhraseBook(
        line_pattern=_join({reason: spec.get("line", []) for reason, spec in families.items()}),
        contains_pattern=_join({reason: spec.get("contains", []) for reason, spec in families.items()}),
        list_header_pattern=_join(data["list_headers"]),
        section_end_pattern=_join(data["section_ends"]),
        wire_agency_pattern=_join(data["wire_agencies"], flags=0),
        wire_agency_words=_leading_words(expr for exprs in data["wire_agencies"].values() for expr in exprs),
        contains_triggers=tuple(data["contains_triggers"]),
        max_words=int(data["max_words"]),
    )
