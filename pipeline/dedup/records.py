"""``newsingest dedup``: JSON lines ``{"id", "text"}`` (optional ``url``, ``published_at``) in,
one ``{"id", "cluster_id", "canonical_id", "similarity"}`` line per input out, in input order.

Bad input never stops the run. A record that cannot be used (not JSON, not an object, ``id`` not
a non-empty string or integer, ``text`` not a string, a line over ``max_document_bytes``, an id
given on two lines) gets ``{"id", "line", "error", "detail"}`` in its place (``id`` null when
there is no usable one), the good records are clustered without it, and the command exits 1. An
input file that cannot be read is a message on standard error and exit status 2.

The input is read a line at a time and each text is dropped once sketched: memory follows the
number of records (their sketches, about half the size of their texts, and their metadata), not
the size of the file.

Kept light on purpose: this path imports no pyarrow, duckdb or cleaner, so a process that
deduplicates ten thousand articles spends its time deduplicating them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from pipeline.dedup.canonical import Member, is_agency_site
from pipeline.dedup.cluster import CONTAINMENT, Doc, cluster
from pipeline.dedup.sketch import Sketch, sketch_texts


class InputError(ValueError):
    """Records that cannot be clustered together (``dedup_records`` on duplicate ids)."""


DEFAULT_MAX_LINE_BYTES = 5_000_000  # Settings.max_document_bytes
SKETCH_BATCH = 512  # texts sketched together (on threads from 256, sketch.PARALLEL_MIN_TEXTS)
SKETCH_BATCH_CHARS = 8_000_000  # and at most this much text held waiting for it
READ_CHUNK = 1 << 20  # read buffer; a line over the limit is skipped in pieces of this size
WRITE_BATCH = 10_000  # output rows encoded at a time


def _domain(url) -> str:
    """The host of a URL (a light parse: this runs once per input line)."""
    if not isinstance(url, str) or "://" not in url:
        return ""
    host = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return host.rsplit("@", 1)[-1].split(":", 1)[0].lower()


def _published(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _doc(key: str, url, published_at, sketch: Sketch, domains: dict[str, str]) -> Doc:
    samples, words, whole = sketch
    domain = _domain(url)
    domain = domains.setdefault(domain, domain)  # one string per site, not one per record
    # Without the cleaner's metadata, a copy on an agency's own site stands for the wire original.
    member = Member(key, _published(published_at), words, domain, "wire" if is_agency_site(domain) else None)
    return Doc(key, samples, whole, member)


def _clusters(docs: list[Doc], containment: float) -> list[dict]:
    assigned = cluster(docs, containment)
    return [
        {"id": d.key, "cluster_id": assigned[d.key].canonical, "canonical_id": assigned[d.key].canonical, "similarity": assigned[d.key].similarity}
        for d in docs
    ]


def dedup_records(records: list[dict], containment: float = CONTAINMENT) -> list[dict]:
    """Clusters of records with ``id`` and ``text`` (optional ``url``, ``published_at``)."""
    ids = [str(r["id"]) for r in records]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        twice = next(key for key in ids if key in seen or seen.add(key))
        raise InputError(f"ids must be unique: {twice!r} is given more than once")
    sketches = sketch_texts([r["text"] for r in records])
    domains: dict[str, str] = {}
    docs = [_doc(key, r.get("url"), r.get("published_at"), sketch, domains) for key, r, sketch in zip(ids, records, sketches)]
    return _clusters(docs, containment)


@dataclass(slots=True)
class Record:
    """A usable input line reduced to what clustering needs: its text is sketched and dropped."""

    line: int
    key: str
    doc: Doc | None = None  # set once the batch holding its text is sketched


def _problem(record) -> str | None:
    """Why a decoded line cannot be clustered, or None."""
    if not isinstance(record, dict):
        return f"a line must be a JSON object, not {type(record).__name__}"
    key = record.get("id")
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        return '"id" must be a string or an integer' if "id" in record else 'no "id"'
    if key == "":
        return '"id" is empty'
    if isinstance(key, str) and not key.isprintable() and not _encodable(key):
        return '"id" is not valid Unicode (a lone surrogate)'
    if not isinstance(record.get("text"), str):
        return '"text" must be a string' if "text" in record else 'no "text"'
    return None


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _error(line: int, code: str, detail: str, key=None) -> dict:
    usable = key if isinstance(key, (str, int)) and not isinstance(key, bool) and (not isinstance(key, str) or _encodable(key)) else None
    return {"id": None if usable is None else str(usable), "line": line, "error": code, "detail": detail}


def _read_lines(fh, limit: int):
    """(line number, bytes) of every non-blank line, read one at a time; a line over ``limit`` bytes
    comes as (line number, its length) and is skipped without being held."""
    number = 0
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        number += 1
        if line.endswith(b"\n") or len(line) <= limit:
            if line.strip():
                yield number, line.removesuffix(b"\n")
            continue
        length, blank = len(line), not line.strip()
        while not line.endswith(b"\n"):
            line = fh.readline(READ_CHUNK)
            if not line:
                break
            length += len(line)
            blank = blank and not line.strip()
        if not blank:
            yield number, length - line.endswith(b"\n")


def _decode_line(line: bytes):
    try:
        import msgspec

        return msgspec.json.decode(line)
    except ImportError:
        return json.loads(line)
    except Exception:  # msgspec refuses lone surrogates the json module accepts (refused above as ids)
        return json.loads(line)


def read_records(path: str, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> list:
    """One entry per non-blank input line, in order: a ``Record`` (the line's id, sketch and
    metadata; the text itself is not kept), or an error object for a line that cannot be
    clustered (``"error"`` set). The file is read a line at a time and texts are sketched in
    batches, so memory follows the number of records, not the size of the input. ``OSError``
    when the file cannot be read."""
    entries: list = []
    pending: list[tuple[Record, object, object, str]] = []  # sketched together: (record, url, published_at, text)
    pending_chars = 0
    domains: dict[str, str] = {}

    def sketch_pending() -> None:
        for (record, url, published_at, _), sketch in zip(pending, sketch_texts([text for *_, text in pending])):
            record.doc = _doc(record.key, url, published_at, sketch, domains)
        pending.clear()

    with open(path, "rb", buffering=READ_CHUNK) as fh:
        for number, line in _read_lines(fh, max_line_bytes):
            if isinstance(line, int):
                entries.append(_error(number, "too_large", f"line of {line} bytes, over the limit of {max_line_bytes}"))
                continue
            try:
                record = _decode_line(line)
            except RecursionError:
                entries.append(_error(number, "invalid_json", "nested too deeply"))
                continue
            except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError
                entries.append(_error(number, "invalid_json", str(exc)))
                continue
            problem = _problem(record)
            if problem:
                entries.append(_error(number, "invalid_record", problem, record.get("id") if isinstance(record, dict) else None))
                continue
            entry = Record(number, str(record["id"]))
            entries.append(entry)
            pending.append((entry, record.get("url"), record.get("published_at"), record["text"]))
            pending_chars += len(record["text"])
            if len(pending) >= SKETCH_BATCH or pending_chars >= SKETCH_BATCH_CHARS:
                sketch_pending()
                pending_chars = 0
    sketch_pending()
    # An id given twice is ambiguous: every record carrying it is refused, naming the lines.
    lines_of: dict[str, list[int]] = {}
    for entry in entries:
        if isinstance(entry, Record):
            lines_of.setdefault(entry.key, []).append(entry.line)
    for position, entry in enumerate(entries):
        if isinstance(entry, Record) and len(same := lines_of[entry.key]) > 1:
            entries[position] = _error(entry.line, "duplicate_id", f"id {entry.key!r} is on lines {', '.join(map(str, same))}", entry.key)
    return entries


def dedup_entries(entries: list, containment: float = CONTAINMENT) -> tuple[list[dict], int]:
    """Output rows for ``read_records``' entries, in order, and the number of error rows."""
    docs = [e.doc for e in entries if isinstance(e, Record)]
    clustered = iter(_clusters(docs, containment))
    return [next(clustered) if isinstance(e, Record) else e for e in entries], len(entries) - len(docs)


def write_results(rows: list[dict], out: str | None, stdout) -> None:
    try:
        import msgspec

        encode = msgspec.json.Encoder().encode_lines
    except ImportError:

        def encode(part):
            return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in part).encode("utf-8")

    # In slices: the encoded output is never held whole.
    if out:
        with open(out, "wb") as fh:
            for start in range(0, len(rows), WRITE_BATCH):
                fh.write(encode(rows[start : start + WRITE_BATCH]))
    else:
        for start in range(0, len(rows), WRITE_BATCH):
            stdout.buffer.write(encode(rows[start : start + WRITE_BATCH]))
        stdout.flush()
