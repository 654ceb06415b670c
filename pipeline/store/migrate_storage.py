"""``newsingest migrate-storage``: a corpus of the single-file layout (one DuckDB file) into the
lake, in one commit, verified table by table. The fetcher's tables, and its quarantine rows, go to
the fetch state file.

The source is exported to Parquet first (``legacy_export.py``), by this process's DuckDB when it
reads the file, else by the DuckDB that wrote it: files of DuckDB 2.0 (the single-file layout's
last version) are read by a DuckDB 2.0 kept beside the environment (``make setup`` installs it in
``.venv/legacy-duckdb``; ``NEWSINGEST_LEGACY_DUCKDB`` names another folder). Every table's rows
are then compared: the count the exporting DuckDB read from the source, and the count and an
order-independent checksum of every row between the Parquet export and what landed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from pipeline.settings import Settings
from pipeline.store.db import CORPUS, FETCH_SCHEMA_DIR, connect, connect_file, retrying, rollback
from pipeline.store.legacy_export import export

CORPUS_TABLES = ("runs", "articles", "duplicates", "removed_segments", "run_ledger", "validation_results", "story_terms",
                 "dup_links", "site_lines", "near_sketches", "near_keys", "near_index_state")
FETCH_TABLES = ("fetch_state", "fetch_batches", "fetch_frontier")
FETCH_QUARANTINE = "stage = 'fetch'"  # the fetch stage's quarantine rows belong to the fetcher's state
LEGACY_DUCKDB = Path(os.environ.get("NEWSINGEST_LEGACY_DUCKDB", Path(sys.prefix) / "legacy-duckdb"))


def _export(source: Path, out: Path) -> dict:
    try:
        return export(source, out)
    except duckdb.IOException as exc:
        if "version number" not in str(exc):
            raise
    if not (LEGACY_DUCKDB / "duckdb").is_dir():
        raise RuntimeError(
            f"{source} was written by a newer DuckDB than {duckdb.__version__}; its reader is expected in {LEGACY_DUCKDB} "
            f"(make setup installs it: pip install --target {LEGACY_DUCKDB} duckdb==2.0.0)"
        )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(LEGACY_DUCKDB), str(root)])}
    done = subprocess.run([sys.executable, "-m", "pipeline.store.legacy_export", str(source), str(out)],
                          env=env, capture_output=True, text=True, timeout=24 * 3600)
    if done.returncode != 0:
        raise RuntimeError(f"exporting {source} failed: {done.stderr.strip()[-2000:]}")
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def _columns(con, catalog: str, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND table_name = ? ORDER BY ordinal_position",
        [catalog, table],
    ).fetchall()
    return [f'"{name}"' for (name,) in rows]


def _fingerprint(con, source: str, columns: list[str], where: str | None = None) -> tuple[int, int]:
    """(rows, sum of row hashes): equal for two tables holding the same rows, in any order."""
    clause = f"WHERE {where}" if where else ""
    row = con.execute(f"SELECT count(*), coalesce(sum(hash({', '.join(columns)}))::HUGEINT, 0) FROM {source} {clause}").fetchall()[0]
    return int(row[0]), int(row[1])


def _parquet(folder: Path, table: str) -> str:
    return "read_parquet('" + str(folder / f"{table}.parquet").replace("'", "''") + "')"


def migrate_storage(source: Path, settings: Settings) -> Iterator[str]:
    Path(settings.home).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="newsingest-migrate-", dir=Path(settings.home)) as scratch:
        folder = Path(scratch)
        manifest = _export(source, folder)
        yield f"exported {source} with DuckDB {manifest['duckdb']}"
        checks = []
        with connect(settings.db_path, settings.lock_retry_seconds) as con:
            stored = sum(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("articles", "run_ledger", "runs"))
            if stored:
                raise RuntimeError(f"the corpus at {settings.db_path} already holds data: migrate into a new catalog (--db)")
            plan = [(table, None) for table in CORPUS_TABLES] + [("quarantine", f"NOT ({FETCH_QUARANTINE})")]

            def commit() -> None:
                con.execute("BEGIN TRANSACTION")
                try:
                    for table, where in plan:
                        columns = ", ".join(_columns(con, CORPUS, table))
                        clause = f"WHERE {where}" if where else ""
                        con.execute(f"INSERT INTO {CORPUS}.main.{table} ({columns}) SELECT {columns} FROM {_parquet(folder, table)} {clause}")
                    con.execute(f"CALL {CORPUS}.set_commit_message('newsingest', 'migrate-storage', extra_info => $info)", {"info": f"source={source}"})
                    con.execute("COMMIT")
                except Exception:
                    rollback(con)
                    raise

            retrying(commit, settings.lock_retry_seconds)
            for table, where in plan:
                columns = _columns(con, CORPUS, table)
                checks.append((table, _fingerprint(con, _parquet(folder, table), columns, where), _fingerprint(con, f"{CORPUS}.main.{table}", columns)))
        with connect_file(settings.fetch_state_path, FETCH_SCHEMA_DIR, settings.lock_retry_seconds) as fetch:
            catalog = fetch.execute("SELECT current_database()").fetchall()[0][0]
            plan = [(table, None) for table in FETCH_TABLES] + [("quarantine", FETCH_QUARANTINE)]
            fetch.execute("BEGIN TRANSACTION")
            try:
                for table, where in plan:
                    columns = ", ".join(_columns(fetch, catalog, table))
                    clause = f"WHERE {where}" if where else ""
                    fetch.execute(f"DELETE FROM main.{table}")
                    fetch.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM {_parquet(folder, table)} {clause}")
                fetch.execute("COMMIT")
            except Exception:
                rollback(fetch)
                raise
            for table, where in plan:
                columns = _columns(fetch, catalog, table)
                checks.append((f"fetch.{table}", _fingerprint(fetch, _parquet(folder, table), columns, where), _fingerprint(fetch, f"main.{table}", columns)))
    read = manifest["tables"]
    split = {"quarantine": ("quarantine", "fetch.quarantine")}
    failed = [table for table, before, after in checks if before != after]
    for table, before, after in checks:
        yield f"{table}: {before[0]} rows, checksum {before[1]:032x} -> {after[0]} rows, checksum {after[1]:032x}: {'match' if before == after else 'MISMATCH'}"
    landed = {table: after[0] for table, _, after in checks}
    for table, count in read.items():
        parts = split.get(table, (table if table in CORPUS_TABLES else f"fetch.{table}",))
        if sum(landed.get(p, 0) for p in parts) != count:
            failed.append(table)
            yield f"{table}: {count} rows in the source, {sum(landed.get(p, 0) for p in parts)} moved: MISMATCH"
    if failed:
        raise RuntimeError(f"rows differ after the move in: {', '.join(sorted(set(failed)))}")
    yield f"moved {source} into {settings.db_path} (fetch state: {settings.fetch_state_path}): every table matches"
