"""The cleaner's output on the sample corpus and the seeds equals the reviewed golden files
(regenerate with ``python -m tests.clean.golden`` after an intended change)."""

from __future__ import annotations

import json

import pytest

from tests.clean.golden import GOLDEN, sample_corpus_golden, seeds_golden


def _load(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def _compare(expected: dict, actual: dict) -> None:
    assert sorted(actual) == sorted(expected)
    for key, want in expected.items():
        got = json.loads(json.dumps(actual[key], ensure_ascii=False))
        for field in sorted(set(want) | set(got)):
            assert got.get(field) == want.get(field), f"{key}: {field} differs from the golden file"


def test_sample_corpus_matches_golden():
    _compare(_load("sample_corpus"), sample_corpus_golden())


def test_seeds_match_golden(seeds_dir):
    expected = _load("seeds")
    actual = seeds_golden()
    _compare(expected, actual)
    assert len(actual) == 5 and all("error" not in row for row in actual.values())


@pytest.mark.parametrize("name", ["sample_corpus", "seeds"])
def test_golden_files_are_committed(name):
    assert (GOLDEN / f"{name}.json").is_file()
