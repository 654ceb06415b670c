"""Export a corpus of the single-file layout to Parquet, one file per table, with each table's row
count and checksum (``manifest.json``).

Run in the process that migrates when its DuckDB reads the file, else as
``python -m pipeline.store.legacy_export SOURCE OUT`` with the DuckDB that wrote it first on the
path: a file written by DuckDB 2.0 cannot be read by the 1.5 series the lake runs on
(``migrate_storage.py`` starts it). The source is first brought to the last single-file schema
(``schemas/duckdb``), as the previous version's next run would have done.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

from pipeline.store.db import LEGACY_SCHEMA_DIR, migrate

TABLES = ("runs", "articles", "duplicates", "removed_segments", "quarantine", "run_ledger", "validation_results", "story_terms",
          "dup_links", "site_lines", "near_sketches", "near_keys", "near_index_state", "fetch_state", "fetch_batches", "fetch_frontier")


def export(source: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(source))
    try:
        migrate(con, LEGACY_SCHEMA_DIR)
        manifest = {"duckdb": duckdb.__version__, "tables": {}}
        for table in TABLES:
            target = out / f"{table}.parquet"
            con.execute(f"COPY (SELECT * FROM main.{table}) TO '{str(target).replace(chr(39), chr(39) * 2)}' (FORMAT parquet, COMPRESSION zstd)")
            manifest["tables"][table] = con.execute(f"SELECT count(*) FROM main.{table}").fetchall()[0][0]
    finally:
        con.close()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


if __name__ == "__main__":
    print(json.dumps(export(Path(sys.argv[1]), Path(sys.argv[2]))))
