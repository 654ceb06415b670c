"""``newsingest compact``: DuckLake maintenance, run on a schedule rather than per commit.

Every commit adds a few small Parquet files per table it touched (or rows inlined in the catalog)
and delete files for what it replaced, and every statement opens them all. Compaction writes
inlined rows out to Parquet, rewrites the files of which ``compact_delete_threshold`` of the rows
are deleted (a file with deletes is never merged), merges adjacent small files, expires snapshots
older than ``snapshot_retention_days`` (time travel reaches back that far) and deletes the files
no remaining snapshot references. Readers are not disturbed: a reader's snapshot keeps its files
until it ends, and the work commits like any writer (retried on conflict).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.settings import Settings
from pipeline.store.db import CORPUS, connect, lake_location, retrying


def _data_files(settings: Settings) -> int:
    _, data = lake_location(settings.db_path)
    folder = Path(data)
    return sum(1 for _ in folder.rglob("*.parquet")) if folder.is_dir() else -1


def compact(settings: Settings, retention_days: float | None = None) -> dict:
    days = settings.snapshot_retention_days if retention_days is None else retention_days
    horizon = datetime.now(UTC) - timedelta(days=days)
    before = _data_files(settings)
    with connect(settings.db_path, settings.lock_retry_seconds) as con:
        snapshots_before = con.execute(f"SELECT count(*) FROM ducklake_snapshots('{CORPUS}')").fetchall()[0][0]
        retrying(lambda: con.execute(f"CALL ducklake_flush_inlined_data('{CORPUS}')"), settings.lock_retry_seconds)
        retrying(lambda: con.execute(f"CALL ducklake_rewrite_data_files('{CORPUS}', delete_threshold => $threshold)",
                                     {"threshold": settings.compact_delete_threshold}), settings.lock_retry_seconds)
        retrying(lambda: con.execute(f"CALL ducklake_merge_adjacent_files('{CORPUS}')"), settings.lock_retry_seconds)
        retrying(lambda: con.execute(f"CALL ducklake_expire_snapshots('{CORPUS}', older_than => $horizon)", {"horizon": horizon}),
                 settings.lock_retry_seconds)
        retrying(lambda: con.execute(f"CALL ducklake_cleanup_old_files('{CORPUS}', cleanup_all => true)"), settings.lock_retry_seconds)
        snapshots_after = con.execute(f"SELECT count(*) FROM ducklake_snapshots('{CORPUS}')").fetchall()[0][0]
    return {"files_before": before, "files_after": _data_files(settings), "snapshots_before": snapshots_before,
            "snapshots_after": snapshots_after, "expired_before": horizon.isoformat()}
