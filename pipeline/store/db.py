"""Connections and migrations.

The corpus is a DuckLake (https://ducklake.select): a catalog database (a SQLite file on one
machine, PostgreSQL in a cluster) and Parquet data files. Every connection is a fresh in-memory
DuckDB session with the lake attached as ``corpus`` and made the default, so queries name tables
as before (``SELECT ... FROM articles``). A commit is one catalog transaction: readers keep the
snapshot they started with and never wait on a writer; writers in any number of processes commit
optimistically and retry a conflict with backoff (``retrying``).

Plain DuckDB files remain for what is not corpus: the fetcher's state (``FETCH_SCHEMA_DIR``) and
corpora of the earlier single-file layout, which ``newsingest migrate-storage`` moves over.
"""

from __future__ import annotations

import importlib.util
import os
import re
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
SCHEMA_DIR = SCHEMAS / "ducklake"
LEGACY_SCHEMA_DIR = SCHEMAS / "duckdb"
FETCH_SCHEMA_DIR = SCHEMAS / "fetch"
MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
CORPUS = "corpus"
POSTGRES_PREFIX = "postgres:"
# Another process holds the file (plain DuckDB), the SQLite catalog is mid-commit, or DuckLake found
# a concurrent commit touching what this transaction touched. A PostgreSQL catalog's: another writer
# took the snapshot id (DuckLake's own retries of it ran out) or created the catalog first (a fresh
# cluster's first tasks), or the server aborted a transaction that raced another. All resolve by
# trying again.
TRANSIENT_MARKERS = ("Could not set lock", "Conflicting lock", "database is locked", "onflict", "busy",
                     "maximum retry count", "duplicate key value", '"ducklake_metadata" already exists',
                     "could not serialize access", "deadlock detected")

# DuckDB's own default is 80% of the machine's memory; a batch's inserts and joins spill to disk
# past this instead, so a large batch costs the process no more memory than a small one. 1 GB, not
# less: the land stage's join over stored articles reads whole row groups of bodies (512 MB failed
# on a million-article corpus whose files held row groups of 50,000 articles).
MEMORY_LIMIT = os.environ.get("NEWSINGEST_DUCKDB_MEMORY_LIMIT", "1GB")

T = TypeVar("T")


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction, if any: a failed COMMIT may already have ended it, and the
    error that matters is the one that made us roll back."""
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException:
        pass


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
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, name VARCHAR, applied_at TIMESTAMPTZ)")
    applied = {v for (v,) in con.execute("SELECT version FROM schema_version").fetchall()}
    current = max(applied, default=0)
    for version, path in migrations(schema_dir):
        if version in applied:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)", [version, path.name, datetime.now(UTC)])
            con.execute("COMMIT")
        except Exception:
            rollback(con)
            raise
        current = max(current, version)
    return current


def schema_is_current(con: duckdb.DuckDBPyConnection, schema_dir: Path = SCHEMA_DIR) -> bool:
    # Asked directly: listing information_schema walks every attached catalog (0.2 s on a lake).
    try:
        applied = {v for (v,) in con.execute("SELECT version FROM schema_version").fetchall()}
    except duckdb.CatalogException:
        return False
    return {v for v, _ in migrations(schema_dir)} <= applied


def is_transient(exc: Exception) -> bool:
    return isinstance(exc, duckdb.Error) and any(marker in str(exc) for marker in TRANSIENT_MARKERS)


def retrying(action: Callable[[], T], retry_seconds: float) -> T:
    """``action()``, tried again with exponential backoff while it fails for a transient reason
    (``TRANSIENT_MARKERS``), for at most ``retry_seconds``. The action must be all or nothing."""
    deadline = time.monotonic() + retry_seconds
    delay = 0.05
    while True:
        try:
            return action()
        except duckdb.Error as exc:
            if not is_transient(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


# --------------------------------------------------------------------------- plain DuckDB files

def open_file(path: Path, read_only: bool = False, retry_seconds: float = 60.0) -> duckdb.DuckDBPyConnection:
    """A plain DuckDB file (fetch state, a corpus of the single-file layout), waiting for its lock."""
    return retrying(lambda: duckdb.connect(str(path), read_only=read_only, config={"memory_limit": MEMORY_LIMIT}), retry_seconds)


@contextmanager
def connect_file(path: str | Path, schema_dir: Path, retry_seconds: float = 60.0):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = open_file(path, False, retry_seconds)
    try:
        migrate(con, schema_dir)
        yield con
    finally:
        con.close()


# --------------------------------------------------------------------------- the lake

def _extension_file(name: str) -> str | None:
    """The extension shipped as a Python package (``duckdb-extension-<name>``), loadable offline."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(root.glob(f"extensions/v{duckdb.__version__}/*.duckdb_extension"))
    return str(found[0]) if found else None


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    path = _extension_file(name)
    con.execute(f"LOAD '{path}'" if path else f"LOAD {name}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def lake_location(path: str | Path) -> tuple[str, str]:
    """(catalog, data path) of a corpus. A file path is a SQLite catalog with its Parquet files in
    ``<stem>.files/`` beside it; ``postgres:<libpq string>`` is a PostgreSQL catalog, whose data
    path (shared storage every worker mounts) comes from ``NEWSINGEST_LAKE_DATA_PATH``."""
    text = str(path)
    if text.startswith(POSTGRES_PREFIX):
        data = os.environ.get("NEWSINGEST_LAKE_DATA_PATH")
        if not data:
            raise ValueError("a PostgreSQL catalog needs NEWSINGEST_LAKE_DATA_PATH: the folder (or object store URL) of its Parquet files")
        if "://" not in data:
            # The catalog keeps the path as given: a relative one would name another folder in each
            # process's working directory.
            data = str(Path(data).absolute())
        return text, data.rstrip("/") + "/"
    file = Path(text).absolute()
    return f"sqlite:{file}", str(file.with_name(f"{file.stem}.files")) + "/"


def _write_ahead_log(catalog: Path, retry_seconds: float) -> None:
    """SQLite's write-ahead log on the catalog (a setting the file keeps): a reader's open snapshot
    then never blocks a commit, and a commit never blocks a reader. In the default rollback-journal
    mode an analyst's long transaction would hold the writer off until it ended."""
    import sqlite3

    # Bytes 18 and 19 of a SQLite header are 2 in WAL mode. Checked on the bytes: opening the file
    # with Python's SQLite and closing it drops the POSIX locks that DuckDB's own SQLite holds on it
    # in this process (an analyst's open snapshot), which then fails with "disk I/O error".
    try:
        with open(catalog, "rb") as fh:
            if fh.read(20)[18:20] == b"\x02\x02":
                return
    except FileNotFoundError:
        pass
    catalog.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(catalog, timeout=retry_seconds) as lite:
        if lite.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            lite.execute("PRAGMA journal_mode = WAL")
    lite.close()


def corpus_exists(path: str | Path) -> bool:
    return str(path).startswith(POSTGRES_PREFIX) or Path(path).exists()


def session(extensions: tuple[str, ...] = ()) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with the lake extensions loaded."""
    # The extensions are files of pinned Python packages, whose hashes pip checked at install, the
    # same trust as the Python code beside them; DuckDB's own signature check hashes each binary at
    # every load (0.3 s a session, several sessions a run: a micro-batch's latency).
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "allow_unsigned_extensions": "true"})
    con.execute("SET enable_progress_bar = false")  # it would print into task logs and piped output
    for name in ("ducklake", "sqlite_scanner", *extensions):
        load_extension(con, name)
    return con


def attach(con: duckdb.DuckDBPyConnection, path: str | Path, *, read_only: bool = False, snapshot: int | None = None,
           alias: str = CORPUS, use: bool = True, retry_seconds: float = 60.0) -> None:
    catalog, data = lake_location(path)
    if catalog.startswith(POSTGRES_PREFIX):
        load_extension(con, "postgres_scanner")
    else:
        Path(data).mkdir(parents=True, exist_ok=True)
        if not read_only:
            _write_ahead_log(Path(catalog.removeprefix("sqlite:")), retry_seconds)
    options = [f"DATA_PATH {_quote(data)}"]
    if not catalog.startswith(POSTGRES_PREFIX):
        # The files folder sits beside its catalog and moves with it (a copied or restored var/):
        # the catalog's stored paths are relative to it.
        options.append("OVERRIDE_DATA_PATH TRUE")
    if read_only:
        options.append("READ_ONLY")
    if snapshot is not None:
        options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
    retrying(lambda: con.execute(f"ATTACH {_quote('ducklake:' + catalog)} AS {alias} ({', '.join(options)})"), retry_seconds)
    if use:
        con.execute(f"USE {alias}")


@contextmanager
def connect(path: str | Path, retry_seconds: float = 60.0, near_index: bool = True):
    """Writing session on the corpus, with the schema migrated and the near-duplicate index current
    (rebuilt from the stored articles when it is not: ``reindex.py``; ``near_index=False`` for a
    writer that does not touch the index)."""
    from pipeline.store.reindex import ensure_near_index

    con = session()
    try:
        attach(con, path, retry_seconds=retry_seconds)
        if not schema_is_current(con):
            retrying(lambda: migrate(con), retry_seconds)
        if near_index:
            retrying(lambda: ensure_near_index(con), retry_seconds)
        yield con
    finally:
        con.close()


@contextmanager
def read_connection(path: str | Path, retry_seconds: float = 60.0, snapshot: int | None = None):
    """Reading session on the corpus (the latest snapshot, or ``snapshot``), or None when there is
    no corpus yet. A corpus without the current schema is migrated first by a short writing
    session, so readers never meet missing tables."""
    if not corpus_exists(path):
        yield None
        return
    con = session()
    try:
        try:
            attach(con, path, read_only=True, snapshot=snapshot, retry_seconds=retry_seconds)
            current = schema_is_current(con)
        except duckdb.InvalidInputException as exc:
            if "creating a new DuckLake" not in str(exc):
                raise
            current = False  # a catalog file left empty (a kill before its first commit)
        if not current:
            con.close()
            with connect(path, retry_seconds):
                pass
            con = session()
            attach(con, path, read_only=True, snapshot=snapshot, retry_seconds=retry_seconds)
        yield con
    finally:
        con.close()


def run_landed(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Whether a run with this id has already committed its batch (a retry must not count twice)."""
    return bool(con.execute("SELECT count(*) FROM runs WHERE run_id = $run_id AND status = 'landed'", {"run_id": run_id}).fetchall()[0][0])


def run_snapshot(con: duckdb.DuckDBPyConnection, run_id: str, alias: str = CORPUS) -> int | None:
    """The snapshot the land commit of ``run_id`` created (its latest, after a retry): the corpus
    as of that run is ``ATTACH ... (SNAPSHOT_VERSION n)`` or ``FROM t AT (VERSION => n)``."""
    rows = con.execute(
        f"SELECT max(snapshot_id) FROM ducklake_snapshots({_quote(alias)}) WHERE commit_extra_info = $info",
        {"info": f"run_id={run_id}"},
    ).fetchall()
    return rows[0][0] if rows else None
