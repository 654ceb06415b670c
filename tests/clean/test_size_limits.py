"""Pathological texts: memory follows lines and words more than bytes, so both are capped before
any per-line state is built, and a text over a cap is refused, not cleaned for minutes."""

from __future__ import annotations

import random
import tracemalloc
from datetime import UTC, datetime

import pytest

from pipeline.clean import clean_document
from pipeline.clean.lines import split_lines, split_lines_reference
from pipeline.clean.metadata import detect_language
from pipeline.clean.phrases import phrase_book
from pipeline.clean.text import MAX_LINES, MAX_WORDS, NON_EMPTY_LINE
from pipeline.model import DocumentError, RawDocument

MB = 1_000_000


def raw(text: str, content_type: str = "text/plain") -> RawDocument:
    return RawDocument("r", "f.txt", "example.com", datetime(2026, 1, 1, tzinfo=UTC), content_type, text.encode("utf-8"))


def peak_of_cleaning(document: RawDocument) -> tuple[int, DocumentError | None]:
    phrase_book()
    detect_language("warming up the language model once per process, as any run does")
    tracemalloc.start()
    try:
        clean_document(document)
        error = None
    except DocumentError as exc:
        error = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, error


def test_two_letter_lines_are_refused_in_bounded_memory():
    document = raw("ab\n" * 1_600_000)  # 4.8 MB, 1.6 million lines: peaked at 500-740 MB and ran for minutes
    peak, error = peak_of_cleaning(document)
    assert error is not None and error.reason == "too_many_lines", error
    assert peak < 20 * MB, peak


def test_one_line_of_many_words_is_refused_in_bounded_memory():
    rng = random.Random(7)
    vocabulary = ["".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 8))) for _ in range(50_000)]
    document = raw(" ".join(rng.choice(vocabulary) for _ in range(800_000)) + ".")  # 4.8 MB on one line
    peak, error = peak_of_cleaning(document)
    assert error is not None and error.reason == "too_many_words", error
    assert peak < 20 * MB, peak


@pytest.mark.parametrize("text", ["ab\n" * MAX_LINES, "ab " * (MAX_WORDS - 1) + "ab."], ids=["lines", "words"])
def test_texts_at_the_limits_are_cleaned(text):
    peak, error = peak_of_cleaning(raw(text))
    assert error is None or error.reason == "no_article_text", error
    assert peak < 64 * MB, peak


def test_lines_are_counted_as_split_lines_splits():
    text = "a\r\nb\n\n  \t\n\u200b\n\u200bc\u2028d\x1ce\x1f f\x0bg\x0ch\x85i\u2029j\rk\u00a0\n\u3000l"
    expected = sum(1 for line in text.replace("\u200b", "").splitlines() if line.split())
    assert expected == 11
    assert sum(1 for _ in NON_EMPTY_LINE.finditer(text)) == expected
    assert len(split_lines_reference(text)[0]) == len(split_lines(text)[0]) == expected  # short lines: none joined
