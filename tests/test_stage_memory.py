"""Memory of the load and clean stages is bounded by the shard, not by the batch: the peak of a
batch five times larger stays where the small batch's peak is."""

from __future__ import annotations

import gc
import tracemalloc
from dataclasses import replace

import pyarrow as pa

from pipeline import stages
from pipeline.benchmarks.wire_corpus import generate
from pipeline.settings import Settings

SHARD = 100


def write_corpus(folder, documents: int) -> None:
    for doc in generate(documents):
        outlet = folder / doc.url.split("/")[2]
        outlet.mkdir(parents=True, exist_ok=True)
        (outlet / f"{doc.id}.txt").write_text(doc.text, encoding="utf-8")


def load_and_clean_peak(tmp_path, documents: int) -> int:
    """Peak bytes held (Python objects and Arrow buffers) while loading and cleaning a batch."""
    inbox = tmp_path / f"inbox-{documents}"
    write_corpus(inbox, documents)
    settings = replace(Settings(home=tmp_path / f"var-{documents}", workers=1), shard_size=SHARD)
    gc.collect()
    pool = pa.default_memory_pool()
    arrow_before = pool.max_memory() or 0
    tracemalloc.start()
    try:
        loaded = stages.stage_load([str(inbox)], f"run-{documents}", settings)
        for shard in loaded["shards"]:
            stages.stage_clean(shard, loaded["boilerplate"], settings)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert loaded["to_clean"] == documents
    assert len(loaded["shards"]) == -(-documents // SHARD)
    return python_peak + max(0, (pool.max_memory() or 0) - arrow_before)


def test_load_and_clean_peak_does_not_grow_with_the_batch(tmp_path):
    load_and_clean_peak(tmp_path, 300)  # models, phrase patterns and the line memo fill once per process
    small = load_and_clean_peak(tmp_path, 300)
    large = load_and_clean_peak(tmp_path, 1500)
    # Holding the payloads of the whole batch would cost the large run 1,200 x 4.6 KB (5.5 MB) more.
    assert large < small + 2_000_000, (small, large)
