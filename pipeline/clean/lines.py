"""Per-line work of the text cleaner: splitting a text into lines, line keys and repeated lines.

The compiled module ``_lines`` (built by ``pip install``) does the same word by word in C; the
functions here are its reference (a test checks they agree) and the fallback when it is absent.
"""

from __future__ import annotations

import re

from pipeline.model import count_words

WORD = re.compile(r"\w+")
SENTENCE_END = tuple(".!?:;…\"'”’»)]。！？」』")

try:
    from pipeline.clean import _lines
except ImportError:  # not built: the Python reference is used (slower, same results)
    _lines = None


def split_lines_reference(text: str) -> tuple[list[str], list[int]]:
    """Non-empty lines with spacing normalised, and their word counts. A line that starts in lower
    case after a line of six or more words that ended without closing punctuation carries on that
    line's sentence (a hard-wrapped paragraph): the two are joined."""
    lines: list[str] = []
    words: list[int] = []
    for raw in text.replace("\u200b", "").splitlines():
        if parts := raw.split():  # str.split also splits on no-break spaces
            line = " ".join(parts)
            if lines and words[-1] >= 6 and line[0].islower() and not lines[-1].endswith(SENTENCE_END):
                lines[-1] = f"{lines[-1]} {line}"
                words[-1] += count_words(line, parts)
                continue
            lines.append(line)
            words.append(count_words(line, parts))
    return lines, words


def line_keys_reference(folded: str) -> list[str]:
    """Keys of case-folded lines separated by '\\n': each line's words, one space apart."""
    return [" ".join(WORD.findall(line)) for line in folded.split("\n")]


def repeated_lines_reference(keys: list[str], candidates: list[int], min_shingles: int, containment: float) -> list[int]:
    """Candidates (in order) whose distinct 4-word shingles number at least ``min_shingles`` and
    were at least ``containment`` seen in earlier candidates that were not marked themselves.
    ``keys`` are line_keys' output (words one space apart); candidates index into them."""
    seen: set[tuple[str, ...]] = set()
    marked = []
    for i in candidates:
        tokens = keys[i].split()
        shingles = set(zip(tokens, tokens[1:], tokens[2:], tokens[3:]))  # 4-word shingles
        if len(shingles) >= min_shingles and len(shingles & seen) / len(shingles) >= containment:
            marked.append(i)
            continue
        seen |= shingles
    return marked


def find_needles_reference(needles: list[str], text: str) -> list[tuple[int, int]]:
    """(line, needle index) for every needle on every line of a text (lines end at '\\n')."""
    return [(i, k) for i, line in enumerate(text.split("\n")) for k, needle in enumerate(needles) if needle in line]


split_lines = _lines.split_lines if _lines else split_lines_reference
line_keys = _lines.line_keys if _lines else line_keys_reference
repeated_lines = _lines.repeated_lines if _lines else repeated_lines_reference
