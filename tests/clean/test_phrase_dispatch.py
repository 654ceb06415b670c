"""Whole-line phrase patterns tried by first character and length give what the whole
alternation gives, on real page lines and on generated ones."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from pipeline.clean.lines import _lines, find_needles_reference, split_lines
from pipeline.clean.phrases import LINE_PATTERN_MAX_WORDS, STRIP, phrase_book

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT.parent / "shared" / "bench" / "aeb" / "manifest.jsonl"


def page_lines() -> list[str]:
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted((ROOT / "pipeline" / "sample_corpus").rglob("*.txt"))]
    if MANIFEST.exists():
        rows = map(json.loads, MANIFEST.read_text(encoding="utf-8").splitlines())
        texts.extend(Path(MANIFEST.parent, row["txt"]).read_text(encoding="utf-8", errors="replace") for row in rows)
    found = {" ".join(line.split()).casefold().strip(STRIP) for text in texts for line in text.splitlines()}
    return sorted(line for line in found if len(line.split()) <= 25)


def generated(lines: list[str]) -> list[str]:
    """Page lines cut, joined and prefixed: lengths and first characters the pages lack."""
    rng = random.Random(3)
    out = ["", " ", "ı", "ſign up", "K", "© 2026", "«newsletter»", "1 comment", "12 comments (3)", "vor 5 minuten", "advertisement", "all rights reserved"]
    for _ in range(4000):
        line = rng.choice(lines)
        cut = rng.randrange(0, len(line) + 1)
        out.append(rng.choice([line[:cut], line[cut:], line + " " + rng.choice(lines), rng.choice("0aZ(«©ı- ") + line]))
    return out


def outcome(match):
    return (match.lastgroup, match.span()) if match else None


@pytest.mark.parametrize("kind", ["line_pattern", "list_header_pattern", "section_end_pattern"])
def test_dispatch_agrees_with_the_whole_alternation(kind):
    patterns = getattr(phrase_book(), kind)
    lines = page_lines()
    assert len(lines) > 1000
    matched = 0
    for line in lines + generated(lines):
        expected = outcome(patterns.whole.fullmatch(line))
        assert outcome(patterns.fullmatch(line)) == expected, line
        matched += expected is not None
    assert matched > 20  # the comparison covers matches, not only misses


def reference_families(book, folded_lines: list[str], words: list[int]) -> list[str | None]:
    """Every line against the whole alternation, 'contains' patterns behind a plain trigger test."""
    out = []
    for line, count in zip(folded_lines, words):
        stripped = line.strip(STRIP)
        match = book.line_pattern.whole.fullmatch(stripped) if count <= LINE_PATTERN_MAX_WORDS else None
        if match is None and count <= book.max_words and any(t in stripped for t in book.contains_triggers):
            match = book.contains_pattern.search(stripped)
        out.append(match.lastgroup.split("__")[0] if match else None)
    return out


def test_families_of_whole_documents_agree_with_the_reference():
    book = phrase_book()
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted((ROOT / "pipeline" / "sample_corpus").rglob("*.txt"))]
    if MANIFEST.exists():
        texts += [Path(MANIFEST.parent, row["txt"]).read_text(encoding="utf-8", errors="replace") for row in map(json.loads, MANIFEST.read_text(encoding="utf-8").splitlines())]
    texts.append("Posted by ı Staff\nAll rıghts reserved\nclick here to subscribe\n© 2026 Example News. All rights reserved.")
    labelled = 0
    for text in texts:
        lines, words = split_lines(text)
        folded = "\n".join(lines).casefold().split("\n")
        book.memo.clear()
        expected = reference_families(book, folded, words)
        assert book.families(folded, words) == expected
        labelled += sum(f is not None for f in expected)
    assert labelled > 500


def test_needles_are_found_on_every_line_they_occur_on():
    needles = ["cookie", "e-mail", "all rights reserved", "ll r", "boletín", "日本"]
    text = "Cookie\naccept cookies, cookie policy\n\nALL RIGHTS RESERVED all rights reserved\nboletín 日本 e-mail\nnothing"
    for probe in (text, text.casefold(), "", "\n\n", "cookiecookie"):
        found = sorted(_lines.find_needles(_lines.needles(needles), probe))
        assert found == sorted(find_needles_reference(needles, probe))
    assert sorted(_lines.find_needles(_lines.needles(needles), text.casefold())) == [(0, 0), (1, 0), (3, 2), (3, 3), (4, 1), (4, 4), (4, 5)]
    with pytest.raises(ValueError):
        _lines.needles(["a", "a"])
    with pytest.raises(ValueError):
        _lines.needles([""])


def test_group_names_and_scoped_flags_match_the_whole_pattern():
    from pipeline.clean.phrases import FirstCharPatterns

    empty_family_first = FirstCharPatterns({"a": [], "b": ["x"]})
    assert outcome(empty_family_first.fullmatch("x")) == outcome(empty_family_first.whole.fullmatch("x")) == ("b__1", (0, 1))
    scoped = FirstCharPatterns({"a": ["(?i:a)bc"]}, flags=0)
    assert outcome(scoped.fullmatch("Abc")) == outcome(scoped.whole.fullmatch("Abc")) == ("a__0", (0, 3))
    never = FirstCharPatterns({"a": [".{0,9}\nabc", "abc"]}, gated=True)  # a phrase spanning lines gets no gate
    assert never.gate_literals == {} and outcome(never.fullmatch("abc")) == ("a__0", (0, 3))
