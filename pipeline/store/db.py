"""Connections and migrations.

The writer (the land stage) is the only read-write user of the file; every other stage opens it
read-only for as short a time as possible. DuckDB allows one writing process at a time, so both
retry with backoff while another process holds the lock.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "duckdb"
MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
LOCK_MARKERS = ("Could not set lock", "Conflicting lock", "database is locked")


def migrations(schema_dir: Path = SCHEMA_DIR) -> list[tuple[int, Path]]:
    found = []
    for path in sorted(schema_dir.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name!r} must be named NNN_name.sql")
        found.append((int(match.group(1)), path))
    versions = [v for v, _ in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"two migrations share a number: {versions}")
    return found


def migrate(con: duckdb.DuckDBPyConnection, schema_dir: Path = SCHEMA_DIR) -> int:
    """Apply pending migrations in order, each in its own transaction. Returns the schema version.

    Every migration not yet recorded is applied, not only those above the highest: branches
    developed in parallel may add a lower number after a higher one was applied."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())")
    applied = {v for (v,) in con.execute("SELECT version FROM schema_version").fetchall()}
    current = max(applied, default=0)
    for version, path in migrations(schema_dir):
        if version in applied:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, path.name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        current = max(current, version)
    return current


# DuckDB's own default is 80% of the machine's memory; a batch's inserts and joins spill to disk
# past this instead, so a large batch costs the process no more memory than a small one.
MEMORY_LIMIT = os.environ.get("NEWSINGEST_DUCKDB_MEMORY_LIMIT", "512MB")


def _open(path: Path, read_only: bool, retry_seconds: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + retry_seconds
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config={"memory_limit": MEMORY_LIMIT})
        except duckdb.IOException as exc:
            if not any(marker in str(exc) for marker in LOCK_MARKERS) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


@contextmanager
def connect(path: str | Path, retry_seconds: float = 60.0):
    """Read-write connection with the schema migrated and the near-duplicate index current
    (rebuilt from the stored articles when it is not: ``reindex.py``)."""
    from pipeline.store.reindex import ensure_near_index

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, False, retry_seconds)
    try:
        migrate(con)
        ensure_near_index(con)
        yield con
    finally:
        con.close()


def run_landed(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Whether a run with this id has already committed its batch (a retry must not count twice)."""
    return bool(con.execute("SELECT count(*) FROM runs WHERE run_id = $run_id AND status = 'landed'", {"run_id": run_id}).fetchall()[0][0])


def schema_is_current(con: duckdb.DuckDBPyConnection) -> bool:
    tables = {name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "schema_version" not in tables:
        return False
    applied = {v for (v,) in con.execute("SELECT version FROM schema_version").fetchall()}
    return {v for v, _ in migrations()} <= applied


@contextmanager
def read_connection(path: str | Path, retry_seconds: float = 60.0):
    """Read-only connection, or None when the database does not exist yet. A database without the
    current schema (left empty by a run killed before its first commit, or from an older version)
    is migrated first by a short writer connection, so readers never meet missing tables."""
    path = Path(path)
    if not path.exists():
        yield None
        return
    con = _open(path, True, retry_seconds)
    if not schema_is_current(con):
        con.close()
        with connect(path, retry_seconds):
            pass
        con = _open(path, True, retry_seconds)
    try:
        yield con
    finally:
        con.close()
