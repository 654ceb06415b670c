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
