"""The dedup stage hands the near-duplicate level its batch column by column; rows and columns
give the same answer."""

from __future__ import annotations

from datetime import datetime

from pipeline.benchmarks.wire_corpus import generate
from pipeline.dedup.near import NEAR_COLUMNS, near_duplicates, near_duplicates_columns
from pipeline.dedup.sketch import sketch_texts


def test_rows_and_columns_give_the_same_clusters():
    docs = generate(300, seed=31)
    sketches = sketch_texts([d.text for d in docs])
    rows = [{
        "article_id": d.id, "published_at": datetime.fromisoformat(d.published_at) if d.published_at else None,
        "word_count": words, "domain": d.url.split("/")[2], "wire_agency": None, "sketch": sketch, "whole_hash": whole,
    } for d, (sketch, words, whole) in zip(docs, sketches)]
    by_rows = near_duplicates(rows, min_body_words=40)
    by_columns = near_duplicates_columns({name: [r[name] for r in rows] for name in NEAR_COLUMNS}, min_body_words=40)
    assert by_rows.assigned == by_columns.assigned
    assert by_rows.unmatched_short == by_columns.unmatched_short
    assert by_columns.sketches == {r["article_id"]: (r["sketch"], r["whole_hash"]) for r in rows}
    assert len({a.canonical for a in by_columns.assigned.values()}) < len(rows)  # copies were found
