"""Local files: single files, directory trees and JSON/JSONL exports.

Convention for flattened text without a URL: the parent directory names the site
(``inbox/<domain>/story.txt``), so site-level boilerplate can be learned per domain.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.model import Quarantined, RawDocument, sha256_hex

HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
EXPORT_SUFFIXES = {".jsonl", ".ndjson", ".json"}
TEXT_FIELDS = ("text", "body", "content", "maintext")
HTML_FIELDS = ("html", "raw_html")


def domain_of(url: str | None, path: Path | None = None) -> str:
    if url:
        host = (urlsplit(url).hostname or "").lower()
        if host:
            return host.removeprefix("www.")
    if path is not None and "." in path.parent.name and not path.parent.name.startswith("."):
        return path.parent.name.lower().removeprefix("www.")
    return "local"


def iter_input_files(paths: list[str | Path]) -> Iterator[Path]:
    """Every file below each path, in a stable order; hidden files and folders are skipped."""
    for path in map(Path, paths):
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root) / name
        else:
            yield path


def _export_records(path: Path, data: bytes, now: datetime) -> Iterator[RawDocument | Quarantined]:
    uri = str(path)
    text = data.decode("utf-8", errors="strict") if data else ""
    if path.suffix.lower() == ".json":
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Quarantined(sha256_hex(data), uri, "load", "invalid_json", f"{exc.msg} at line {exc.lineno} column {exc.colno}")
            return
        records = parsed if isinstance(parsed, list) else [parsed]
        lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records]
    else:
        lines = [line for line in text.splitlines() if line.strip()]
    for number, line in enumerate(lines, start=1):
        record_uri = f"{uri}#{number}"
        payload = line.encode("utf-8")
        raw_id = sha256_hex(payload)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Quarantined(raw_id, record_uri, "load", "invalid_json", f"{exc.msg} at column {exc.colno}")
            continue
        if not isinstance(record, dict):
            yield Quarantined(raw_id, record_uri, "load", "invalid_json", f"expected an object, found {type(record).__name__}")
            continue
        url = record.get("url") if isinstance(record.get("url"), str) else None
        html_field = next((f for f in HTML_FIELDS if isinstance(record.get(f), str)), None)
        if html_field is None and not any(isinstance(record.get(f), str) for f in TEXT_FIELDS):
            yield Quarantined(raw_id, record_uri, "load", "missing_text_field", f"record has none of {TEXT_FIELDS + HTML_FIELDS}")
            continue
        yield RawDocument(
            raw_id=raw_id,
            uri=record_uri,
            domain=domain_of(url, path),
            fetched_at=now,
            content_type="application/json",
            payload=payload,
            encoding="utf-8",
            url=url,
            declared={k: record[k] for k in ("title", "published_at", "authors", "language", "tags") if k in record},
        )


def iter_local_documents(paths: list[str | Path], max_bytes: int, now: datetime | None = None) -> Iterator[RawDocument | Quarantined]:
    """Raw documents (or load-stage quarantine records) for every input file."""
    now = now or datetime.now(UTC)
    for path in iter_input_files(paths):
        uri = str(path)
        if not path.exists():
            yield Quarantined(sha256_hex(uri.encode()), uri, "load", "missing_input", "no such file or directory")
            continue
        try:
            size = path.stat().st_size
            if size > max_bytes:
                yield Quarantined(sha256_hex(uri.encode()), uri, "load", "oversize_input", f"{size} bytes, limit {max_bytes}")
                continue
            data = path.read_bytes()
        except OSError as exc:
            yield Quarantined(sha256_hex(uri.encode()), uri, "load", "unreadable_input", exc.strerror or str(exc))
            continue
        raw_id = sha256_hex(data)
        if not data.strip():
            yield Quarantined(raw_id, uri, "load", "empty_input", f"{size} bytes, no content")
            continue
        suffix = path.suffix.lower()
        if suffix in EXPORT_SUFFIXES:
            try:
                yield from _export_records(path, data, now)
            except UnicodeDecodeError as exc:
                yield Quarantined(raw_id, uri, "load", "invalid_encoding", f"export is not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}")
            continue
        yield RawDocument(
            raw_id=raw_id,
            uri=uri,
            domain=domain_of(None, path),
            fetched_at=now,
            content_type="text/html" if suffix in HTML_SUFFIXES else "text/plain",
            payload=data,
        )
