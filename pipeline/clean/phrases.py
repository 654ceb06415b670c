"""Boilerplate phrase families, compiled once from ``boilerplate_phrases.json``.

Each kind of pattern of every family is joined into one alternation with a named group per
family, so classifying a line costs one regex call per kind, not one per phrase. Whole-line
patterns are also split by the first character a line can start with: a line is tried only
against the phrases that can begin with its first character, in their original order, so the
answer is the one the whole alternation gives.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from re import _constants as sre
from re import _parser as sre_parse

from pipeline.clean.lines import _lines, find_needles_reference

PHRASES_FILE = Path(__file__).with_name("boilerplate_phrases.json")
LINE_PATTERN_MAX_WORDS = 25
MEMO_LIMIT = 200_000
MISSING = object()
PATTERN_CACHE_LIMIT = 2048  # compiled (first character, open gates) patterns kept
STRIP = " \t-–—•*|·>»›"


class FirstCharPatterns:
    """``fullmatch`` of an alternation of named groups, tried only with the branches that can match
    a string's first character (when ASCII). The branches keep their order, so the match is the
    one the whole alternation gives.

    ``gated``: a phrase that can start with any character ('.{0,120}all rights reserved') is
    costly on every line; it gets a gate, the set of strings one of which each of its matches
    contains, and the caller says which gates a line opens (the lines holding those strings)."""

    def __init__(self, groups: dict[str, list[str]], flags: int = re.IGNORECASE, gated: bool = False):
        self.whole = _join(groups, flags)
        self.flags = flags
        # (family index, family, phrase, ASCII characters it can start with, gate bit); the index
        # counts families as _join does, so group names are the whole pattern's.
        self.phrases: list[tuple] = []
        self.gate_literals: dict[int, frozenset[str]] = {}  # gate bit -> its strings
        for n, (name, exprs) in enumerate(groups.items()):
            for expr in exprs:
                parsed = sre_parse.parse(expr, flags).data
                starts = _ascii_starts(parsed, flags)
                literals = _required_literals(parsed) if gated and starts == ASCII else None
                if literals and any("\n" in literal for literal in literals):
                    literals = None  # lines hold no line breaks: such a phrase never matches, leave it ungated
                bit = 1 << len(self.gate_literals) if literals else 0
                if bit:
                    self.gate_literals[bit] = literals
                self.phrases.append((n, name, expr, starts, bit))
        self.all_gates = (1 << len(self.gate_literals)) - 1
        self.patterns: dict[tuple[str, int], re.Pattern] = {}  # (first character, open gates) -> pattern

    def fullmatch(self, text: str, gates: int = -1) -> re.Match | None:
        """``gates``: the gates the text opens (all by default)."""
        first = text[:1]
        if not first.isascii():
            first = ""  # no first-character filter
        key = (first, gates & self.all_gates)
        pattern = self.patterns.get(key)
        if pattern is None:
            if len(self.patterns) >= PATTERN_CACHE_LIMIT:
                self.patterns.clear()
            pattern = self.patterns[key] = self._compile(*key)  # lazily: most keys never occur
        return pattern.fullmatch(text)

    def _candidates(self, first: str, gates: int):
        return (i for i, phrase in enumerate(self.phrases) if (not first or first in phrase[3]) and (not phrase[4] or phrase[4] & gates))

    def _compile(self, first: str, gates: int) -> re.Pattern:
        possible = list(self._candidates(first, gates))
        subset: dict[tuple[int, str], list[str]] = {}
        for i in possible:
            n, name, expr = self.phrases[i][:3]
            subset.setdefault((n, name), []).append(expr)
        # Group names keep their index in the whole pattern, so families stay recoverable and distinct.
        parts = [f"(?P<{name}__{n}>{'|'.join(f'(?:{e})' for e in exprs)})" for (n, name), exprs in subset.items()]
        return re.compile("|".join(parts) or r"(?!x)x", self.flags)


ASCII = frozenset(map(chr, range(128)))
CATEGORIES = {
    sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_NOT_DIGIT: r"\D", sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S", sre.CATEGORY_WORD: r"\w", sre.CATEGORY_NOT_WORD: r"\W",
}


def _ascii_starts(parsed, flags: int) -> frozenset[str]:
    """The ASCII characters a match of a parsed pattern can start with (all when it can be empty)."""
    first, nullable = _first_chars(parsed, flags)
    return ASCII if first is None or nullable else frozenset(first)


def _first_chars(items, flags: int) -> tuple[set[str] | None, bool]:
    """The ASCII characters a parsed pattern can start with (None: any) and whether it can match ''."""
    found: set[str] = set()
    for op, av in items:
        first, nullable = _first_of(op, av, flags)
        if first is None:
            return None, False
        found |= first
        if not nullable:
            return found, False
    return found, True


def _first_of(op, av, flags: int) -> tuple[set[str] | None, bool]:
    if op is sre.LITERAL:
        char = re.compile(re.escape(chr(av)), flags)
        return {c for c in ASCII if char.fullmatch(c)}, False
    if op is sre.IN:
        parts = []
        for kind, value in av:
            if kind is sre.NEGATE:
                parts.append("^")
            elif kind is sre.LITERAL:
                parts.append(re.escape(chr(value)))
            elif kind is sre.RANGE:
                parts.append(f"{re.escape(chr(value[0]))}-{re.escape(chr(value[1]))}")
            elif kind is sre.CATEGORY and value in CATEGORIES:
                parts.append(CATEGORIES[value])
            else:
                return None, False
        members = re.compile(f"[{''.join(parts)}]", flags)
        return {c for c in ASCII if members.fullmatch(c)}, False
    if op is sre.SUBPATTERN:  # (group, flags added, flags removed, pattern): '(?i:...)' scopes
        return _first_chars(av[3], (flags | av[1]) & ~av[2])
    if op is sre.BRANCH:
        union: set[str] = set()
        any_nullable = False
        for branch in av[1]:
            first, nullable = _first_chars(branch, flags)
            if first is None:
                return None, False
            union |= first
            any_nullable |= nullable
        return union, any_nullable
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        first, nullable = _first_chars(av[2], flags)
        return first, nullable or av[0] == 0
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):  # zero-width: the next item decides
        return set(), True
    return None, False


class Needles:
    """The trigger words and gate strings of a phrase book, found per line in one pass."""

    def __init__(self, triggers: tuple[str, ...], gates: dict[int, frozenset[str]]):
        for trigger in triggers:
            if trigger != trigger.strip(STRIP) or "\n" in trigger:
                raise ValueError(f"trigger {trigger!r} must not start or end with {STRIP!r}")  # lines are stripped
        meaning: dict[str, list] = {}
        for trigger in triggers:
            meaning.setdefault(trigger, [False, 0])[0] = True
        for bit, strings in gates.items():
            for string in strings:
                meaning.setdefault(string, [False, 0])[1] |= bit
        self.strings = list(meaning)
        self.meaning = [tuple(meaning[string]) for string in self.strings]
        self.automaton = _lines.needles(self.strings) if _lines else None

    def find(self, text: str) -> tuple[set[int], dict[int, int]]:
        """Lines (of text split at '\\n') holding a trigger, and the gates each line opens."""
        hits = _lines.find_needles(self.automaton, text) if self.automaton is not None else find_needles_reference(self.strings, text)
        triggered: set[int] = set()
        gates: dict[int, int] = {}
        for line, needle in hits:
            trigger, bits = self.meaning[needle]
            if trigger:
                triggered.add(line)
            if bits:
                gates[line] = gates.get(line, 0) | bits
        return triggered, gates


REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Non-ASCII characters that match an ASCII letter when case is ignored and survive casefold():
# a line holding one opens every gate (its literals might be spelt with it).
ASCII_LOOKALIKES = "ı"


def _required_literals(items) -> frozenset[str] | None:
    """Strings one of which every match of a parsed pattern contains (ASCII pieces in lower case,
    to look for in case-folded text), or None when there are none."""
    candidates: list[set[str]] = []
    run: list[str] = []
    for op, av in [*items, (None, None)]:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        if run:
            candidates.append({"".join(run)})
            run = []
        inner = None
        if op is sre.SUBPATTERN:
            inner = _required_literals(av[3])
        elif op is sre.BRANCH:
            branches = [_required_literals(branch) for branch in av[1]]
            inner = frozenset().union(*branches) if all(branches) else None
        elif op in REPEATS and av[0] >= 1:
            inner = _required_literals(av[2])
        if inner:
            candidates.append(set(inner))
    usable = []
    for strings in candidates:
        pieces = {max(NON_ASCII.split(string), key=len).lower() for string in strings}
        if "" not in pieces:
            usable.append(frozenset(pieces))
    # The best set is the one whose shortest string is longest: it occurs least by chance.
    return max(usable, key=lambda pieces: (min(map(len, pieces)), -len(pieces)), default=None)


@dataclass(frozen=True, slots=True)
class PhraseBook:
    line_pattern: FirstCharPatterns
    contains_pattern: re.Pattern
    list_header_pattern: FirstCharPatterns
    section_end_pattern: FirstCharPatterns
    wire_agency_pattern: re.Pattern
    wire_agency_words: tuple[str, ...]
    contains_triggers: tuple[str, ...]
    max_words: int
    needles: Needles
    # Short lines (menus, labels, widgets) recur across the pages of a site: classify each once.
    memo: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def families(self, folded_lines: list[str], words: list[int], folded_text: str | None = None) -> list[str | None]:
        """The boilerplate family of every line of a document (or None), given its case-folded
        lines (and the same lines joined by '\\n'). The strings that phrases need (the trigger
        words of 'contains' patterns, the gates of whole-line ones) are found in one pass."""
        whole = "\n".join(folded_lines) if folded_text is None else folded_text
        triggered, gates = self.needles.find(whole)
        if ASCII_LOOKALIKES[0] in whole:
            for i, line in enumerate(folded_lines):
                if any(c in line for c in ASCII_LOOKALIKES):
                    gates[i] = -1
        out: list[str | None] = []
        for i, (line, count) in enumerate(zip(folded_lines, words)):
            folded = line.strip(STRIP)
            if count > LINE_PATTERN_MAX_WORDS:
                out.append(self._contains(folded, count, i in triggered))
                continue
            key = ("line", folded)
            reason = self.memo.get(key, MISSING)
            if reason is MISSING:
                match = self.line_pattern.fullmatch(folded, gates.get(i, 0))
                reason = _family(match) if match else self._contains(folded, count, i in triggered)
                self._remember(key, reason)
            out.append(reason)
        return out

    def _contains(self, folded: str, words: int, triggered: bool) -> str | None:
        if words <= self.max_words and triggered and (match := self.contains_pattern.search(folded)):
            return _family(match)
        return None

    def _remember(self, key: tuple, value) -> None:
        if len(self.memo) >= MEMO_LIMIT:
            self.memo.clear()
        self.memo[key] = value

    def may_name_agency(self, text: str) -> bool:
        """Whether the text holds the first word of any agency pattern (every match contains one)."""
        return any(word in text for word in self.wire_agency_words)

    def wire_agency(self, line: str) -> str | None:
        if not self.may_name_agency(line):
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
    line_pattern = FirstCharPatterns({reason: spec.get("line", []) for reason, spec in families.items()}, gated=True)
    return PhraseBook(
        line_pattern=line_pattern,
        contains_pattern=_join({reason: spec.get("contains", []) for reason, spec in families.items()}),
        list_header_pattern=FirstCharPatterns(data["list_headers"]),
        section_end_pattern=FirstCharPatterns(data["section_ends"]),
        wire_agency_pattern=_join(data["wire_agencies"], flags=0),
        wire_agency_words=_leading_words(expr for exprs in data["wire_agencies"].values() for expr in exprs),
        contains_triggers=tuple(data["contains_triggers"]),
        max_words=int(data["max_words"]),
        needles=Needles(tuple(data["contains_triggers"]), line_pattern.gate_literals),
    )
