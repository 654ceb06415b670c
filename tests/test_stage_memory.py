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


def cleaned_batch(tmp_path, documents: int) -> tuple[list[dict], Settings]:
    inbox = tmp_path / f"dedup-inbox-{documents}"
    write_corpus(inbox, documents)
    settings = replace(Settings(home=tmp_path / f"dedup-var-{documents}", workers=1), shard_size=SHARD)
    loaded = stages.stage_load([str(inbox)], f"dedup-{documents}", settings)
    return [stages.stage_clean(shard, loaded["boilerplate"], settings) for shard in loaded["shards"]], settings


def dedup_peak(cleaned: list[dict], settings: Settings, run_id: str) -> int:
    """Peak bytes held (Python objects and Arrow buffers) by the dedup stage."""
    gc.collect()
    pool = pa.default_memory_pool()
    arrow_before = pool.max_memory() or 0
    tracemalloc.start()
    try:
        stages.stage_dedup(cleaned, run_id, settings)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return python_peak + max(0, (pool.max_memory() or 0) - arrow_before)


def test_dedup_holds_no_row_per_article(tmp_path):
    small, large = cleaned_batch(tmp_path, 1000), cleaned_batch(tmp_path, 3000)
    dedup_peak(*small, "warm")  # imports and first-use caches
    grown = dedup_peak(*large, "large") - dedup_peak(*small, "small")
    # What stays per article: its sketch (about 1.3 KB), the clustering's and the story level's
    # objects. A dict per article (its strings, terms and sketch with it) cost 16 KB an article.
    assert grown / 2000 < 8_000, grown
