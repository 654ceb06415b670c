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
DEDUPED = pa.schema(list(ARTICLE) + [
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
])
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


def read_table(url: str) -> pa.Table:
    fs, path = fsspec.core.url_to_fs(url)
    with fs.open(path, "rb") as fh:
        return pq.read_table(fh)


def read(url: str) -> list[dict]:
    return read_table(url).to_pylist()


def read_many(urls: list[str], schema: pa.Schema) -> list[dict]:
    rows: list[dict] = []
    for url in urls:
        rows.extend(read(url))
    return rows


def remove_run(staging_url: str, run_id: str) -> None:
    fs, path = fsspec.core.url_to_fs(run_dir(staging_url, run_id))
    if fs.exists(path):
        fs.rm(path, recursive=True)
