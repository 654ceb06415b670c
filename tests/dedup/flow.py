"""Landing documents batch by batch through the real dedup and land stages (clean, validate and
the fetch bookkeeping skipped), and reading back the stored clusters."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime
from pathlib import Path

from pipeline import stages, staging
from pipeline.settings import Settings
from pipeline.store.db import read_connection

AGENCY_HOSTS = ("apnews.com", "reuters.com", "afp.com")


def article_rows(docs) -> list[dict]:
    """Article rows as the clean stage writes them, from documents with ``id``, ``text``, ``url``, ``published_at``."""
    rows = []
    for d in docs:
        domain = d.url.split("/")[2]
        digest = hashlib.sha256(d.text.encode()).hexdigest()
        rows.append({
            "article_id": d.id, "raw_id": digest + d.id, "uri": d.url, "url": d.url, "domain": domain,
            "title": d.text.split("\n", 1)[0][:100],
            "published_at": datetime.fromisoformat(d.published_at) if d.published_at else None,
            "authors": [], "wire_agency": "AP" if domain in AGENCY_HOSTS else None, "language": "en", "tags": [],
            "summary": None, "body": d.text, "word_count": len(d.text.split()), "content_hash": digest,
        })
    return rows


RUN_NUMBERS = itertools.count()


def land_batches(home: Path, batches, quarantined: tuple[str, ...] = ()) -> Settings:
    """``quarantined``: ids of documents that fail validation."""
    settings = Settings(home=Path(home))
    for docs in batches:
        run_id = f"run{next(RUN_NUMBERS)}"  # a run id names one batch: a reused one is a retry of it
        out = staging.run_dir(settings.staging_url, run_id)
        rows = article_rows(docs)
        failed = [{"raw_id": r["raw_id"], "uri": r["uri"], "stage": "validate", "reason": "test", "detail": None} for r in rows if r["article_id"] in quarantined]
        clean = [{
            "articles": staging.write(f"{out}/clean/articles.parquet", stages.with_dedup_keys(rows, settings.min_body_words), staging.CLEANED),
            "removed": staging.write(f"{out}/clean/removed.parquet", [], staging.REMOVED),
            "quarantine": staging.write(f"{out}/clean/quarantine.parquet", [], staging.QUARANTINE),
        }]
        deduped = stages.stage_dedup(clean, run_id, settings)
        validated = {
            "quarantine": staging.write(f"{out}/validate/quarantine.parquet", failed, staging.QUARANTINE),
            "results": staging.write(f"{out}/validate/results.parquet", [], staging.VALIDATION), "success": True,
        }
        loaded = {
            "input": "test", "quarantine": staging.write(f"{out}/load/quarantine.parquet", [], staging.QUARANTINE),
            "unchanged": staging.write(f"{out}/load/unchanged.parquet", [], staging.LEDGER),
            "copies": staging.write(f"{out}/load/copies.parquet", [], staging.COPIES),
            "site_lines": staging.write(f"{out}/load/site_lines.parquet", [], staging.SITE_LINES),
        }
        stages.stage_land(loaded, clean, deduped, validated, run_id, settings)
    return settings


def stored_clusters(settings: Settings) -> dict[str, tuple[str, bool, str | None]]:
    """article_id -> (dup_cluster_id, is_canonical, canonical_id in duplicates)."""
    with read_connection(settings.db_path) as con:
        rows = con.execute("SELECT article_id, dup_cluster_id, is_canonical FROM articles").fetchall()
        links = dict(con.execute("SELECT article_id, canonical_id FROM duplicates").fetchall())
    return {a: (cluster, canonical, links.get(a)) for a, cluster, canonical in rows}
