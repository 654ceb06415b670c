"""The compiled per-line functions of the text cleaner give exactly what their Python reference gives."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from pipeline.clean import lines

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
# Line breaks of every kind, spaces of every kind, zero-width space, CJK, Turkish dotless i,
# sharp s, ligatures, combining marks, digits of other scripts, a lone surrogate, punctuation.
ALPHABET = list("abcXYZ  \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029\u00a0\u2009\u3000\u200b.,;:!?…\"'”’»)]。」-–•_") + list(
    "日本語のテキスト中文ıİßẞﬁŉǅΣσςé\u0301٣४\ud800ÀÉ"
)


def texts() -> list[str]:
    found = [p.read_text(encoding="utf-8", errors="replace") for p in sorted((ROOT / "pipeline" / "sample_corpus").rglob("*.txt"))]
    found += [p.read_text(encoding="utf-8", errors="replace") for p in sorted((SHARED / "seeds").glob("*.txt"))]
    manifest = SHARED / "bench" / "aeb" / "manifest.jsonl"
    if manifest.exists():
        for row in map(json.loads, manifest.read_text(encoding="utf-8").splitlines()[:60]):
            found.append(Path(manifest.parent, row["txt"]).read_text(encoding="utf-8", errors="replace"))
    rng = random.Random(7)
    for _ in range(3000):
        found.append("".join(rng.choice(ALPHABET) if rng.random() < 0.5 else rng.choice(" abcdefgh") for _ in range(rng.randrange(0, 120))))
    found += ["", "\n", "\r\n\r\n", "x", "\u200b", " \u200b ", "a\r\nb\rc\nd", "end\n"]
    return found


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    assert lines._lines is not None, "the compiled module pipeline.clean._lines is not built: run `make setup`"
    return texts()


def test_split_lines_agrees(corpus):
    for text in corpus:
        assert lines._lines.split_lines(text) == lines.split_lines_reference(text), repr(text[:200])


def test_hard_wrapped_lines_are_joined_and_counted():
    text = "Officials said the harbour would stay closed\nuntil the storm passed.\n- a bullet\n日本語のテキスト です"
    expected = (["Officials said the harbour would stay closed until the storm passed.", "- a bullet", "日本語のテキスト です"], [11, 3, 2 + 10 // 2])
    assert lines._lines.split_lines(text) == lines.split_lines_reference(text) == expected


def test_line_keys_agree(corpus):
    for text in corpus:
        folded = "\n".join(lines.split_lines_reference(text)[0]).casefold()
        assert lines._lines.line_keys(folded) == lines.line_keys_reference(folded), repr(folded[:200])
        assert lines._lines.line_keys(text) == lines.line_keys_reference(text), repr(text[:200])


def test_repeated_lines_agree(corpus):
    rng = random.Random(11)
    vocabulary = [f"w{i}" for i in range(40)] + ["日本", "ıi", "x_y"]
    for text in corpus:
        keys = lines.line_keys_reference("\n".join(lines.split_lines_reference(text)[0]).casefold())
        # real lines, then shuffled repeats of some of them and lines drawn from a small vocabulary
        keys += [keys[rng.randrange(len(keys))] for _ in range(3)] + [" ".join(rng.choices(vocabulary, k=rng.randrange(0, 30))) for _ in range(4)]
        candidates = sorted(rng.sample(range(len(keys)), k=max(1, len(keys) * 3 // 4)))
        for min_shingles, containment in ((8, 0.6), (1, 0.3), (3, 1.0)):
            expected = lines.repeated_lines_reference(keys, candidates, min_shingles, containment)
            assert lines._lines.repeated_lines(keys, candidates, min_shingles, containment) == expected


def test_a_pasted_summary_is_marked_once():
    story = "the council approved the new harbour wall after a long debate on tuesday evening in the town hall"
    keys = [story, "a different paragraph about the weather on the coast this week and next", story + " officials said", story]
    assert lines._lines.repeated_lines(keys, [0, 1, 2, 3], 8, 0.6) == lines.repeated_lines_reference(keys, [0, 1, 2, 3], 8, 0.6) == [2, 3]


def test_bad_arguments_raise():
    with pytest.raises(TypeError):
        lines._lines.repeated_lines(["a b c d"], [0], "8", 0.6)
    with pytest.raises(IndexError):
        lines._lines.repeated_lines(["a b c d"], [3], 8, 0.6)
    with pytest.raises(TypeError):
        lines._lines.split_lines(b"bytes")


def test_find_needles_agrees_on_random_needles_and_texts():
    rng = random.Random(5)
    for _ in range(300):
        needles = sorted({"".join(rng.choices("abé日", k=rng.randrange(1, 5))) for _ in range(rng.randrange(1, 12))})
        automaton = lines._lines.needles(needles)
        for _ in range(5):
            text = "".join(rng.choices("abé日\n", k=rng.randrange(0, 60)))
            assert sorted(lines._lines.find_needles(automaton, text)) == sorted(lines.find_needles_reference(needles, text)), (needles, text)
