"""Publish: after commit, refresh what readers use, so ad-hoc SQL never waits on ingestion.

- a read-only replica file, copied under a shared lock (no writer can be mid-transaction) and
  swapped in atomically with ``os.replace``;
- Parquet exports of the corpus tables, also written to a temporary name and swapped in.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipeline.settings import Settings
from pipeline.store.db import read_connection

EXPORTED = ("canonical_articles", "articles", "duplicates", "quarantine", "run_ledger")


def publish(settings: Settings) -> dict:
    replica = Path(settings.replica_path)
    export_dir = Path(settings.export_dir)
    export_dir.mkdir(parents=True, exist_ok=True)
    replica.parent.mkdir(parents=True, exist_ok=True)
    exports = {}
    with read_connection(settings.db_path, settings.lock_retry_seconds) as con:
        if con is None:
            raise FileNotFoundError(f"no database at {settings.db_path} to publish")
        # Row order of an export does not matter, and without it COPY streams row groups instead
        # of buffering whole columns: the memory limit of the connection holds for any corpus.
        con.execute("SET preserve_insertion_order = false")
        temporary = replica.with_name(replica.name + ".tmp")
        shutil.copyfile(settings.db_path, temporary)
        os.replace(temporary, replica)
        for table in EXPORTED:
            target = export_dir / f"{table}.parquet"
            partial = export_dir / f".{table}.parquet.tmp"
            # The path as a parameter: any character a home directory may hold is safe.
            con.execute(f"COPY (SELECT * FROM {table}) TO ? (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 8192)", [str(partial)])
            os.replace(partial, target)
            exports[table] = str(target)
        canonical = con.execute("SELECT count(*) FROM canonical_articles").fetchall()[0][0]
    return {"replica": str(replica), "exports": exports, "canonical_articles": canonical}
