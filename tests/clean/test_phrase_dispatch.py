"""Whole-line phrase patterns tried by first character and length give what the whole
alternation gives, on real page lines and on generated ones."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from pipeline.clean.phrases import STRIP, phrase_book

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT.parent / "shared" / "bench" / "aeb" / "manifest.jsonl"


def page_lines() -> list[str]:
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted((ROOT / "pipeline" / "sample_corpus").rglob("*.txt"))]
    if MANIFEST.exists():
        for row in map(json.loads, MANIFEST.read_text(encoding="utf-8").splitlines()):
            texts.append(Path(MANIFEST.parent, row["txt"]).read_text(encoding="utf-8", errors="replace"))
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
