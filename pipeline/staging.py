"""Run-scoped staging area: Parquet files between stages, addressed by URL (a local path or any
fsspec URL, so a cluster can put staging on shared storage). Only paths and counts leave a stage."""

from __future__ import annotations

import re

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

TS = pa.timestamp("us", tz="UTC")
STRINGS = pa.list_(pa.string())

RAW = pa.schema([
    ("raw_id", pa.string()), ("uri", pa.string()), ("domain", pa.string()), ("fetched_at", TS),
    ("content_type", pa.string()), ("encoding", pa.string()), ("url", pa.string()),
    ("declared", pa.string()), ("payload", pa.binary()),
])
ARTICLE = pa.schema([
    ("article_id", pa.string()), ("raw_id", pa.string()), ("uri", pa.string()), ("url", pa.string()),
    ("domain", pa.string()), ("title", pa.string()), ("published_at", TS), ("authors", STRINGS),
    ("wire_agency", pa.string()), ("language", pa.string()), ("tags", STRINGS), ("summary", pa.string()),
    ("body", pa.string()), ("word_count", pa.int32()), ("content_hash", pa.string()),
])
# What the clean stage hands on besides the article: what deduplication needs, so the dedup stage
# never reads bodies. ``short``: under min_body_words, kept only as a near-copy of a longer article.
CLEANED = pa.schema(list(ARTICLE) + [
    ("sketch", pa.binary()), ("whole_hash", pa.uint64()), ("story_terms", STRINGS), ("short", pa.bool_()),
])
DEDUP_INPUT = ["article_id", "raw_id", "uri", "domain", "published_at", "wire_agency", "word_count", "sketch", "whole_hash", "story_terms"]
# The dedup stage's verdict per batch article (bodies stay in the clean stage's files).
DEDUPED = pa.schema([
    ("article_id", pa.string()), ("raw_id", pa.string()), ("uri", pa.string()), ("domain", pa.string()),
    ("published_at", TS), ("word_count", pa.int32()), ("wire_agency", pa.string()),
    ("dup_group", pa.string()), ("similarity", pa.float64()), ("method", pa.string()),
    ("linked_to", pa.string()), ("story_group", pa.string()), ("story_terms", STRINGS),
    ("sketch", pa.binary()), ("whole_hash", pa.uint64()),
])
# Stored articles a batch touched: re-clustered near-duplicates (with their sketch) and story members.
MEMBER = pa.schema([
    ("article_id", pa.string()), ("dup_group", pa.string()), ("story_group", pa.string()),
    ("published_at", TS), ("word_count", pa.int32()), ("domain", pa.string()), ("wire_agency", pa.string()),
    ("reclustered", pa.bool_()), ("similarity", pa.float64()), ("method", pa.string()),
    ("sketch", pa.binary()), ("whole_hash", pa.uint64()),
])
REMOVED = pa.schema([
    ("article_id", pa.string()), ("raw_id", pa.string()), ("position", pa.int32()),
    ("text", pa.string()), ("reason", pa.string()),
])
QUARANTINE = pa.schema([
    ("raw_id", pa.string()), ("uri", pa.string()), ("stage", pa.string()), ("reason", pa.string()), ("detail", pa.string()),
])
LEDGER = pa.schema([
    ("raw_id", pa.string()), ("uri", pa.string()), ("outcome", pa.string()), ("article_id", pa.string()), ("reason", pa.string()),
    ("domain", pa.string()),
])
# A file whose bytes equal an earlier input of the run: one content, another document (its own uri and domain).
COPIES = pa.schema([("raw_id", pa.string()), ("uri", pa.string()), ("domain", pa.string())])
SITE_KEYS = pa.schema([("domain", pa.string()), ("line_key", pa.string())])
SITE_LINES = pa.schema([("domain", pa.string()), ("line_key", pa.string()), ("doc_count", pa.int32())])
VALIDATION = pa.schema([
    ("suite", pa.string()), ("expectation", pa.string()), ("column", pa.string()), ("success", pa.bool_()),
    ("observed_value", pa.string()), ("unexpected_count", pa.int64()), ("level", pa.string()),
])


def run_dir(staging_url: str, run_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)
    return f"{staging_url.rstrip('/')}/{safe}"


def write(url: str, rows: list[dict], schema: pa.Schema) -> str:
    fs, path = fsspec.core.url_to_fs(url)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=schema)
    with fs.open(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
    return url


def write_table(url: str, table: pa.Table) -> str:
    fs, path = fsspec.core.url_to_fs(url)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with fs.open(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
    return url


def write_chunks(url: str, schema: pa.Schema, chunks) -> str:
    """One file from an iterable of tables (one row group each), each written before the next is
    built: a big table costs the memory of a chunk."""
    fs, path = fsspec.core.url_to_fs(url)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with fs.open(path, "wb") as fh, pq.ParquetWriter(fh, schema, compression="zstd") as writer:
        for chunk in chunks:
            writer.write_table(chunk)
            del chunk
            pa.default_memory_pool().release_unused()  # else the allocator keeps every chunk's pages
    return url


def read_table(url: str, columns: list[str] | None = None, filters=None) -> pa.Table:
    fs, path = fsspec.core.url_to_fs(url)
    with fs.open(path, "rb") as fh:
        return pq.read_table(fh, columns=columns, filters=filters)


def parquet_source(con, urls: list[str]) -> str:
    """A ``read_parquet([...])`` expression over staged files for DuckDB connection ``con``: local
    paths as they are, other URLs through their fsspec file system registered with DuckDB."""
    paths = []
    for url in urls:
        fs, path = fsspec.core.url_to_fs(url)
        protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        if "file" in protocols or "local" in protocols:
            paths.append(path)
        else:
            if not con.filesystem_is_registered(protocols[0]):
                con.register_filesystem(fs)
            paths.append(url)
    if not paths:
        raise ValueError("no staged files to read")
    return "read_parquet([" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "])"


def read(url: str) -> list[dict]:
    return read_table(url).to_pylist()


def read_many(urls: list[str], schema: pa.Schema) -> list[dict]:
    rows: list[dict] = []
    for url in urls:
        rows.extend(read(url))
    return rows


def read_columns(urls: list[str], columns: list[str]) -> pa.Table:
    """The named columns of several staged files as one table (the other columns are never read)."""
    tables = []
    for url in urls:
        fs, path = fsspec.core.url_to_fs(url)
        with fs.open(path, "rb") as fh:
            tables.append(pq.read_table(fh, columns=columns))
    return pa.concat_tables(tables) if tables else pa.table({c: [] for c in columns})


def remove_run(staging_url: str, run_id: str) -> None:
    fs, path = fsspec.core.url_to_fs(run_dir(staging_url, run_id))
    if fs.exists(path):
        fs.rm(path, recursive=True)


OWNER_FILE = "owner.json"


def claim_run(staging_url: str, run_id: str) -> None:
    """Record which process owns a run's staging folder, so a later run can tell a dead run's
    leftovers from a live run's files."""
    import json
    import os
    import socket

    import psutil

    fs, path = fsspec.core.url_to_fs(run_dir(staging_url, run_id))
    fs.makedirs(path, exist_ok=True)
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "created": psutil.Process().create_time()}
    with fs.open(f"{path}/{OWNER_FILE}", "w") as fh:
        json.dump(owner, fh)


def _owner_alive(owner: dict) -> bool | None:
    """Whether the owning process still runs; None when it ran on another machine."""
    import socket

    import psutil

    if owner.get("host") != socket.gethostname():
        return None
    try:
        return abs(psutil.Process(int(owner["pid"])).create_time() - float(owner["created"])) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError, TypeError, ValueError):
        return False


def stale_runs(staging_url: str, older_than_seconds: float | None = None) -> list[str]:
    """Run folders nobody will finish: owned by a process of this machine that is gone, or (with
    ``older_than_seconds``) unowned or owned elsewhere and untouched for that long."""
    import json
    import time

    fs, root = fsspec.core.url_to_fs(staging_url)
    if not fs.exists(root):
        return []
    found = []
    for entry in fs.ls(root, detail=True):
        if entry["type"] != "directory":
            continue
        path = entry["name"]
        alive = None
        try:
            with fs.open(f"{path}/{OWNER_FILE}", "r") as fh:
                alive = _owner_alive(json.load(fh))
        except (FileNotFoundError, ValueError):
            pass
        if alive is False:
            found.append(path)
        elif alive is None and older_than_seconds is not None:
            modified = entry.get("mtime") or entry.get("LastModified") or entry.get("created")
            stamp = modified.timestamp() if hasattr(modified, "timestamp") else float(modified or 0)
            if time.time() - stamp > older_than_seconds:
                found.append(path)
    return found


def remove_stale_runs(staging_url: str, older_than_seconds: float | None = None) -> list[str]:
    fs, _ = fsspec.core.url_to_fs(staging_url)
    removed = stale_runs(staging_url, older_than_seconds)
    for path in removed:
        fs.rm(path, recursive=True)
    return removed
