"""The history lookup loads every stored cluster whose canonical copy could match a batch
document: a short stored canonical copy (a cut copy that arrived before its original) is not
crowded out by long stored articles that share more hashes with the original but do not match."""

from __future__ import annotations

import random

from pipeline.benchmarks.wire_corpus import Doc
from tests.dedup.factory import story, text
from tests.dedup.flow import land_batches, stored_clusters


def test_a_stored_cut_copy_joins_its_original_despite_longer_partial_overlaps(tmp_path):
    _, [(headline, paragraphs)] = story(41)
    original = Doc("original", text(headline, paragraphs), "https://apnews.com/a/1", "2026-03-01T08:00:00+00:00", "x")
    cut = Doc("cut", text(headline, paragraphs[:1]), "https://paper.example/cut", "2026-03-01T09:00:00+00:00", "x")
    # Ten long pages each quoting two paragraphs of the original among their own paragraphs:
    # each shares more hashes with the original than the cut copy, none is a copy of it.
    rng = random.Random(3)
    pages = []
    for number in range(10):
        _, [(_, others)] = story(100 + number)
        _, [(_, more)] = story(200 + number)
        quoted = rng.sample(paragraphs[1:], 2)
        pages.append(Doc(f"page{number}", text(f"Roundup {number}", quoted + others + more), f"https://site{number}.example/p",
                         "2026-03-01T10:00:00+00:00", f"p{number}"))
    settings = land_batches(tmp_path, [[cut, *pages], [original]])
    stored = stored_clusters(settings)
    assert stored["original"] == ("original", True, None)
    assert stored["cut"] == ("original", False, "original")
    assert {p.id: stored[p.id][0] for p in pages} == {p.id: p.id for p in pages}
