"""The evaluation's scores on small clusterings worked out by hand."""

from __future__ import annotations

import pytest

from pipeline.benchmarks.dedup_quality import bcubed, merged_hard_negatives


def test_bcubed_on_a_merge_and_a_split():
    truth = ["a", "a", "b", "c", "c"]
    found = ["1", "1", "1", "2", "3"]  # b merged into a's cluster, c split in two
    result = bcubed(truth, found)
    assert result["bcubed_precision"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1) / 5)
    assert result["bcubed_recall"] == pytest.approx((1 + 1 + 1 + 1 / 2 + 1 / 2) / 5)


def test_merged_hard_negatives_counts_pairs_of_different_writeups_of_one_event():
    truth = ["a", "a", "b", "c"]
    events = ["e", "e", "e", "f"]
    found = ["1", "1", "1", "1"]  # b (same event as a) and c (another event) merged into a's cluster
    assert merged_hard_negatives(truth, events, found) == 2  # (a, b) twice; c is not a hard negative


def test_the_hard_corpus_lacks_originals_dates_copies_first_and_has_templated_reports():
    from pipeline.benchmarks.wire_corpus import generate

    docs = generate(1500, seed=3, hard=True)
    labels = {d.label for d in docs}
    originals = {d.label: d for d in docs if d.id.endswith("-0")}
    assert len(originals) < 0.9 * len(labels)  # stories without their original (a quarter lost it; some had no copies either)
    earlier = [d for d in docs if d.published_at and d.label in originals and d.published_at < originals[d.label].published_at]
    assert earlier  # a copy published before its original
    assert len({d.label for d in docs if d.event == "earnings-template"}) >= 10
    assert any(d.id.startswith("digest") for d in docs)
    assert generate(300, seed=3) == generate(300, seed=3, hard=False)
