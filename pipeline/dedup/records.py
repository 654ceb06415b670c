"""``newsingest dedup``: JSON lines ``{"id", "text"}`` (optional ``url``, ``published_at``) in,
one ``{"id", "cluster_id", "canonical_id", "similarity"}`` line per input out, in input order.

Bad input never stops the run. A record that cannot be used (not JSON, not an object, ``id`` not
a non-empty string or integer, ``text`` not a string, a line over ``max_document_bytes``, an id
given on two lines) gets ``{"id", "line", "error", "detail"}`` in its place (``id`` null when
there is no usable one), the good records are clustered without it, and the command exits 1. An
input file that cannot be read is a message on standard error and exit status 2.

Kept light on purpose: this path imports no pyarrow, duckdb or cleaner, so a process that
deduplicates ten thousand articles spends its time deduplicating them.
"""

from __future__ import annotations

import json
from datetime import datetime

from pipeline.dedup.canonical import Member, is_agency_site
from pipeline.dedup.cluster import CONTAINMENT, Doc, cluster
from pipeline.dedup.sketch import sketch_texts


class InputError(ValueError):
    """Records that cannot be clustered together (``dedup_records`` on duplicate ids)."""


DEFAULT_MAX_LINE_BYTES = 5_000_000  # Settings.max_document_bytes


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


def dedup_records(records: list[dict], containment: float = CONTAINMENT) -> list[dict]:
    """Clusters of records with ``id`` and ``text`` (optional ``url``, ``published_at``)."""
    ids = [str(r["id"]) for r in records]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        twice = next(key for key in ids if key in seen or seen.add(key))
        raise InputError(f"ids must be unique: {twice!r} is given more than once")
    sketches = sketch_texts([r["text"] for r in records])
    docs = []
    for key, record, (samples, words, whole) in zip(ids, records, sketches):
        domain = _domain(record.get("url"))
        # Without the cleaner's metadata, a copy on an agency's own site stands for the wire original.
        member = Member(key, _published(record.get("published_at")), words, domain, "wire" if is_agency_site(domain) else None)
        docs.append(Doc(key, samples, whole, member))
    assigned = cluster(docs, containment)
    return [
        {"id": key, "cluster_id": assigned[key].canonical, "canonical_id": assigned[key].canonical, "similarity": assigned[key].similarity}
        for key in ids
    ]


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


def _lines(data: bytes):
    """(line number, bytes) of every non-blank line."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            yield number, line


def _decode_line(line: bytes):
    try:
        import msgspec

        return msgspec.json.decode(line)
    except ImportError:
        return json.loads(line)
    except Exception:  # msgspec refuses lone surrogates the json module accepts (refused above as ids)
        return json.loads(line)


def read_records(path: str, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> list[dict]:
    """One entry per non-blank input line, in order: the record, or an error object for a line
    that cannot be clustered (``"error"`` set). ``OSError`` when the file cannot be read."""
    with open(path, "rb") as fh:
        data = fh.read()
    if _longest_line(data, max_line_bytes) <= max_line_bytes:
        try:
            import msgspec

            records = msgspec.json.Decoder().decode_lines(data)
        except Exception:  # a bad line (or no msgspec): decoded one line at a time below
            records = None
        if records is not None and all(_problem(r) is None for r in records) and _unique_ids(records):
            return records
    entries: list[dict] = []
    for number, line in _lines(data):
        if len(line) > max_line_bytes:
            entries.append(_error(number, "too_large", f"line of {len(line)} bytes, over the limit of {max_line_bytes}"))
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
        else:
            record["_line"] = number
            entries.append(record)
    # An id given twice is ambiguous: every record carrying it is refused, naming the lines.
    lines_of: dict[str, list[int]] = {}
    for entry in entries:
        if "error" not in entry:
            lines_of.setdefault(str(entry["id"]), []).append(entry["_line"])
    for position, entry in enumerate(entries):
        if "error" in entry:
            continue
        number = entry.pop("_line")
        same = lines_of[str(entry["id"])]
        if len(same) > 1:
            entries[position] = _error(number, "duplicate_id", f"id {str(entry['id'])!r} is on lines {', '.join(map(str, same))}", entry["id"])
    return entries


def _longest_line(data: bytes, limit: int) -> int:
    """The length of the longest line, or of the first one over ``limit``."""
    if len(data) <= limit:
        return len(data)
    longest = start = 0
    while longest <= limit:
        end = data.find(b"\n", start)
        longest = max(longest, (len(data) if end < 0 else end) - start)
        if end < 0:
            break
        start = end + 1
    return longest


def _unique_ids(records: list[dict]) -> bool:
    return len({str(r["id"]) for r in records}) == len(records)


def dedup_entries(entries: list[dict], containment: float = CONTAINMENT) -> tuple[list[dict], int]:
    """Output rows for ``read_records``' entries, in order, and the number of error rows."""
    good = [e for e in entries if "error" not in e]
    if len(good) == len(entries):
        return dedup_records(entries, containment), 0
    clustered = iter(dedup_records(good, containment))
    return [e if "error" in e else next(clustered) for e in entries], len(entries) - len(good)


def write_results(rows: list[dict], out: str | None, stdout) -> None:
    try:
        import msgspec

        data = msgspec.json.Encoder().encode_lines(rows)
    except ImportError:
        data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    if out:
        with open(out, "wb") as fh:
            fh.write(data)
    else:
        stdout.buffer.write(data)
        stdout.flush()
