"""Local files: single files, directory trees and JSON/JSONL exports.

Convention for flattened text without a URL: the parent directory names the site
(``inbox/<domain>/story.txt``), so site-level boilerplate can be learned per domain.

Every entry of an input tree ends as a raw document or a load-stage quarantine record, so the
ledger accounts for all of them: only regular files are read, with a read bounded by the size cap
(a FIFO, a device or a socket is ``not_a_regular_file`` and never opened for a blocking read); an
unreadable folder is ``unreadable_input``; hidden files and folders (names starting with a dot:
editor swap files, ``.DS_Store``, version-control folders, files still being written under a
temporary name) are not read and are recorded once each as ``hidden_entry``, a hidden folder as
one entry. A JSONL export is read line by line, each line its own document with its own limit.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.model import Quarantined, RawDocument, sha256_hex

HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
EXPORT_SUFFIXES = {".jsonl", ".ndjson", ".json"}
TEXT_FIELDS = ("text", "body", "content", "maintext")
HTML_FIELDS = ("html", "raw_html")
DECLARED_FIELDS = ("title", "published_at", "authors", "language", "tags")


def domain_of(url: str | None, path: Path | str | None = None) -> str:
    if url:
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:  # e.g. an unclosed IPv6 bracket: the URL names no usable host
            host = ""
        if host:
            return host.removeprefix("www.")
    folder = os.path.basename(os.path.dirname(path)) if path is not None else ""
    if "." in folder and not folder.startswith("."):
        return folder.lower().removeprefix("www.")
    return "local"


def uri_of(path: Path | str) -> str:
    """The path as text that any UTF-8 writer accepts: bytes of a file name that are not UTF-8 are
    written as ``\\xNN`` escapes instead of lone surrogates."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _refused(path: Path | str, reason: str, detail: str) -> Quarantined:
    uri = uri_of(path)
    return Quarantined(sha256_hex(uri.encode("utf-8")), uri, "load", reason, detail)


def iter_input_entries(paths: list[str | Path]) -> Iterator[str | Quarantined]:
    """Every file below each path in a stable order, or the quarantine record of an entry that is
    not read: a hidden file or folder, a folder that cannot be listed. Paths are plain strings:
    pathlib would intern every file name (Python 3.11), a cost per file of a long batch."""
    for path in (str(Path(p)) for p in paths):  # the top path normalised as before; below it, strings
        if not os.path.isdir(path):
            yield path
            continue
        problems: list[OSError] = []
        for root, dirs, files in os.walk(path, onerror=problems.append):
            while problems:
                error = problems.pop(0)
                yield _refused(error.filename or root, "unreadable_input", f"folder cannot be listed: {error.strerror or error}")
            hidden = sorted(d for d in dirs if d.startswith("."))
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in hidden:
                yield _refused(os.path.join(root, name), "hidden_entry", "hidden folder: not read")
            for name in sorted(files):
                if name.startswith("."):
                    yield _refused(os.path.join(root, name), "hidden_entry", "hidden file: not read")
                else:
                    yield os.path.join(root, name)
        while problems:
            error = problems.pop(0)
            yield _refused(error.filename or path, "unreadable_input", f"folder cannot be listed: {error.strerror or error}")


def iter_input_files(paths: list[str | Path]) -> Iterator[str]:
    """Every file below each path that is read, in a stable order."""
    return (entry for entry in iter_input_entries(paths) if isinstance(entry, str))


def _not_regular(path: Path | str, max_bytes: int) -> Quarantined | None:
    """Why a path is not read (missing, unreadable, not a regular file, over the cap), or None."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return _refused(path, "missing_input", "no such file or directory")
    except OSError as exc:
        return _refused(path, "unreadable_input", exc.strerror or str(exc))
    if not stat.S_ISREG(info.st_mode):
        return _refused(path, "not_a_regular_file", f"{_kind(info.st_mode)}: only regular files are read")
    if info.st_size > max_bytes:
        return _refused(path, "oversize_input", f"{info.st_size} bytes, limit {max_bytes}")
    return None


def read_bounded(path: Path | str, max_bytes: int) -> bytes | Quarantined:
    """The bytes of a regular file, or why it is not read. Special files are never opened for a
    blocking read (a FIFO would wait forever), and at most ``max_bytes + 1`` bytes are read, so a
    file whose size the kernel misreports still cannot exhaust memory."""
    if (problem := _not_regular(path, max_bytes)) is not None:
        return problem
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return _refused(path, "unreadable_input", exc.strerror or str(exc))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between the two looks
            return _refused(path, "not_a_regular_file", "not a regular file when opened")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        return _refused(path, "unreadable_input", exc.strerror or str(exc))
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        return _refused(path, "oversize_input", f"more than {max_bytes} bytes (the file grew while read)")
    return data


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def _jsonable(value) -> bool:
    try:
        json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        return False
    return True


def _record_document(path: Path | str, record_uri: str, payload: bytes, now: datetime) -> RawDocument | Quarantined:
    raw_id = sha256_hex(payload)
    try:
        record = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return Quarantined(raw_id, record_uri, "load", "invalid_encoding", f"record is not UTF-8: byte 0x{payload[exc.start]:02x} at offset {exc.start}")
    except json.JSONDecodeError as exc:
        return Quarantined(raw_id, record_uri, "load", "invalid_json", f"{exc.msg} at column {exc.colno}")
    except RecursionError:
        return Quarantined(raw_id, record_uri, "load", "invalid_json", "nested too deeply")
    except ValueError as exc:  # e.g. an integer past Python's digit limit
        return Quarantined(raw_id, record_uri, "load", "invalid_json", str(exc)[:200])
    if not isinstance(record, dict):
        return Quarantined(raw_id, record_uri, "load", "invalid_json", f"expected an object, found {type(record).__name__}")
    url = record.get("url") if isinstance(record.get("url"), str) else None
    html_field = next((f for f in HTML_FIELDS if isinstance(record.get(f), str)), None)
    if html_field is None and not any(isinstance(record.get(f), str) for f in TEXT_FIELDS):
        return Quarantined(raw_id, record_uri, "load", "missing_text_field", f"record has none of {TEXT_FIELDS + HTML_FIELDS}")
    # Metadata that cannot be written back as JSON (nested too deeply, a huge integer) is dropped, not fatal.
    declared = {k: record[k] for k in DECLARED_FIELDS if k in record and _jsonable(record[k])}
    return RawDocument(
        raw_id=raw_id, uri=record_uri, domain=domain_of(url, path), fetched_at=now, content_type="application/json",
        payload=payload, encoding="utf-8", url=url, declared=declared,
    )


def _json_records(path: Path | str, data: bytes, now: datetime) -> Iterator[RawDocument | Quarantined]:
    """A ``.json`` export: one object or a list of them, each a document."""
    uri = uri_of(path)
    raw_id = sha256_hex(data)
    try:
        parsed = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        yield Quarantined(raw_id, uri, "load", "invalid_encoding", f"export is not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}")
        return
    except json.JSONDecodeError as exc:
        yield Quarantined(raw_id, uri, "load", "invalid_json", f"{exc.msg} at line {exc.lineno} column {exc.colno}")
        return
    except RecursionError:
        yield Quarantined(raw_id, uri, "load", "invalid_json", "nested too deeply")
        return
    except ValueError as exc:
        yield Quarantined(raw_id, uri, "load", "invalid_json", str(exc)[:200])
        return
    records = parsed if isinstance(parsed, list) else [parsed]
    if not records:
        yield Quarantined(raw_id, uri, "load", "empty_input", "the export holds no records")
        return
    for number, record in enumerate(records, start=1):
        record_uri = f"{uri}#{number}"
        try:
            payload = json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8")
        except (ValueError, RecursionError) as exc:
            yield Quarantined(sha256_hex(f"{raw_id}#{number}".encode()), record_uri, "load", "invalid_json", f"record cannot be read back: {type(exc).__name__}")
            continue
        yield _record_document(path, record_uri, payload, now)


def _jsonl_records(path: Path | str, max_bytes: int, now: datetime) -> Iterator[RawDocument | Quarantined]:
    """A JSONL export, read a line at a time: a line over the size cap is that record's problem."""
    uri = uri_of(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below; a generator holds it across yields
    except OSError as exc:
        yield _refused(path, "unreadable_input", exc.strerror or str(exc))
        return
    with fh:
        number = 0  # non-blank lines, as the records are numbered in their uri
        while True:
            line = fh.readline(max_bytes + 1)
            if not line:
                break
            if len(line) > max_bytes and not line.endswith(b"\n"):
                while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass  # the rest of an oversize line is skipped, not held
                number += 1
                yield Quarantined(sha256_hex(f"{uri}#{number}".encode()), f"{uri}#{number}", "load", "oversize_input", f"line over {max_bytes} bytes")
                continue
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue
            number += 1
            yield _record_document(path, f"{uri}#{number}", line, now)
        if not number:
            yield Quarantined(sha256_hex(uri.encode("utf-8")), uri, "load", "empty_input", "the export holds no records")


def iter_local_documents(paths: list[str | Path], max_bytes: int, now: datetime | None = None) -> Iterator[RawDocument | Quarantined]:
    """Raw documents (or load-stage quarantine records) for every input entry."""
    now = now or datetime.now(UTC)
    for entry in iter_input_entries(paths):
        if isinstance(entry, Quarantined):
            yield entry
            continue
        path = entry
        suffix = os.path.splitext(path)[1].lower()
        if suffix in EXPORT_SUFFIXES - {".json"}:  # read a line at a time: no cap on the whole file
            if (problem := _not_regular(path, float("inf"))) is not None:
                yield problem
            else:
                yield from _jsonl_records(path, max_bytes, now)
            continue
        data = read_bounded(path, max_bytes)
        if isinstance(data, Quarantined):
            yield data
            continue
        uri = uri_of(path)
        raw_id = sha256_hex(data)
        if not data.strip():
            yield Quarantined(raw_id, uri, "load", "empty_input", f"{len(data)} bytes, no content")
            continue
        if suffix == ".json":
            yield from _json_records(path, data, now)
            continue
        yield RawDocument(
            raw_id=raw_id,
            uri=uri,
            domain=domain_of(None, path),
            fetched_at=now,
            content_type="text/html" if suffix in HTML_SUFFIXES else "text/plain",
            payload=data,
        )
