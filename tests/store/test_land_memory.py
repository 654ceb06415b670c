"""The land stage keeps a batch's verdicts as columns (Arrow) from the dedup stage's file to
DuckDB: what it holds in Python and Arrow grows far less than a dict per article would."""

from __future__ import annotations

import gc
import tracemalloc

import pyarrow as pa

from pipeline import stages, staging
from pipeline.benchmarks.wire_corpus import generate
from pipeline.settings import Settings
from pipeline.store import land
from tests.dedup.flow import article_rows


def staged_batch(tmp_path, documents: int) -> tuple[dict, list[dict], dict, dict, str, Settings]:
    """A batch through the dedup stage (clean and validate stand in), ready to land."""
    settings = Settings(home=tmp_path / f"var-{documents}")
    run_id = f"land-{documents}"
    out = staging.run_dir(settings.staging_url, run_id)
    rows = article_rows(generate(documents, seed=documents))
    clean = [{
        "articles": staging.write(f"{out}/clean/articles.parquet", stages.with_dedup_keys(rows, settings.min_body_words), staging.CLEANED),
        "removed": staging.write(f"{out}/clean/removed.parquet", [], staging.REMOVED),
        "quarantine": staging.write(f"{out}/clean/quarantine.parquet", [], staging.QUARANTINE),
    }]
    deduped = stages.stage_dedup(clean, run_id, settings)
    validated = {
        "quarantine": staging.write(f"{out}/validate/quarantine.parquet", [], staging.QUARANTINE),
        "results": staging.write(f"{out}/validate/results.parquet", [], staging.VALIDATION), "success": True,
    }
    loaded = {
        "input": "test", "quarantine": staging.write(f"{out}/load/quarantine.parquet", [], staging.QUARANTINE),
        "unchanged": staging.write(f"{out}/load/unchanged.parquet", [], staging.LEDGER),
        "copies": staging.write(f"{out}/load/copies.parquet", [], staging.COPIES),
        "site_lines": staging.write(f"{out}/load/site_lines.parquet", [], staging.SITE_LINES),
    }
    return loaded, clean, deduped, validated, run_id, settings


def land_peak(batch) -> int:
    """Peak bytes held (Python objects and Arrow buffers; not DuckDB's) while landing a batch."""
    gc.collect()
    pool = pa.default_memory_pool()
    arrow_before = pool.max_memory() or 0
    tracemalloc.start()
    try:
        stages.stage_land(*batch)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return python_peak + max(0, (pool.max_memory() or 0) - arrow_before)


def test_land_holds_no_row_per_article(tmp_path, monkeypatch):
    monkeypatch.setattr(land, "KEY_CHUNK", 200)  # index keys are computed a chunk at a time: a fixed cost
    small, large = staged_batch(tmp_path, 1000), staged_batch(tmp_path, 3000)
    land_peak(staged_batch(tmp_path, 200))  # imports, extensions and first-use caches
    grown = land_peak(large) - land_peak(small)
    # Verdicts, ledger and links as dicts cost 1.8 KB an article here; as columns about 0.4 KB.
    assert grown / 2000 < 1_000, grown


def test_article_files_are_grouped_by_rows(tmp_path):
    sizes = [0, 3, 4, 0, 9, 2, 2]
    urls = []
    for number, rows in enumerate(sizes):
        urls.append(staging.write(str(tmp_path / f"shard-{number}.parquet"), [{"raw_id": str(i), "uri": "u", "domain": "d"} for i in range(rows)], staging.COPIES))
    groups = land._file_groups(urls, 5)
    assert [u for group in groups for u in group] == urls  # every file once, in order
    assert [sum(sizes[urls.index(u)] for u in group) for group in groups] == [3, 4, 9, 4]  # a file over the limit is a group of its own
    assert land._file_groups([], 5) == []
