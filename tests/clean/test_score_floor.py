"""The cleaner's score on the labelled benchmark must not fall below the stored floor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.clean.evaluate import evaluate, score_page
from tests.conftest import SHARED

MANIFEST = SHARED / "bench" / "aeb" / "manifest.jsonl"
FLOOR = json.loads((Path(__file__).with_name("score_floor.json")).read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", ["html", "txt"])
def test_benchmark_score_stays_above_floor(kind):
    if not MANIFEST.is_file():
        pytest.skip(f"the benchmark is not beside the checkout ({MANIFEST})")
    result = evaluate(MANIFEST, kind, workers=2)
    assert len(result.pages) == 181
    floor = FLOOR[kind]
    assert result.precision >= floor["precision"], f"precision {result.precision:.4f} < {floor['precision']}"
    assert result.recall >= floor["recall"], f"recall {result.recall:.4f} < {floor['recall']}"
    assert result.f1 >= floor["f1"], f"F1 {result.f1:.4f} < {floor['f1']}"


def test_metric_counts_shingle_multisets():
    # 4-token shingles: truth has 3, output repeats one and adds one of its own
    score = score_page("p", "a b c d e a b c d", "a b c d e f")
    assert (score.tp, score.fp, score.fn) == (2, 4, 1)
    assert score_page("p", "", "a b c d").recall == 0.0
    assert score_page("p", "", "a b c d").empty
