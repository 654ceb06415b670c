"""Boilerplate phrase families, compiled once from ``boilerplate_phrases.json``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PHRASES_FILE = Path(__file__).with_name("boilerplate_phrases.json")
LINE_PATTERN_MAX_WORDS = 25


@dataclass(frozen=True, slots=True)
class PhraseBook:
    line_patterns: tuple[tuple[str, re.Pattern], ...]
    contains_patterns: tuple[tuple[str, re.Pattern], ...]
    list_headers: tuple[tuple[str, re.Pattern], ...]
    wire_agencies: tuple[tuple[str, re.Pattern], ...]
    max_words: int

    def reason_for(self, line: str, words: int) -> str | None:
        """The boilerplate family a line belongs to, or None."""
        folded = line.strip(" \t-–—•*|").casefold()
        if words <= LINE_PATTERN_MAX_WORDS:
            for reason, pattern in self.line_patterns:
                if pattern.fullmatch(folded):
                    return reason
        if words <= self.max_words:
            for reason, pattern in self.contains_patterns:
                if pattern.search(folded):
                    return reason
        return None

    def list_header(self, line: str, words: int) -> str | None:
        if words > 12:
            return None
        folded = line.strip(" \t-–—•*|").casefold()
        for reason, pattern in self.list_headers:
            if pattern.fullmatch(folded):
                return reason
        return None


def _compile_families(families: dict, key: str) -> tuple[tuple[str, re.Pattern], ...]:
    return tuple(
        (reason, re.compile(expr, re.IGNORECASE))
        for reason, spec in families.items()
        for expr in spec.get(key, [])
    )


@cache
def phrase_book(path: str = str(PHRASES_FILE)) -> PhraseBook:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return PhraseBook(
        line_patterns=_compile_families(data["families"], "line"),
        contains_patterns=_compile_families(data["families"], "contains"),
        list_headers=tuple(
            (reason, re.compile(expr, re.IGNORECASE))
            for reason, exprs in data["list_headers"].items()
            for expr in exprs
        ),
        wire_agencies=tuple(
            (agency, re.compile("|".join(exprs)))
            for agency, exprs in data["wire_agencies"].items()
        ),
        max_words=int(data["max_words"]),
    )
