"""``newsingest dedup``: JSON lines ``{"id", "text"}`` (optional ``url``, ``published_at``) in,
one ``{"id", "cluster_id", "canonical_id", "similarity"}`` line per input out, in input order.

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
    """A line of the input is not a ``{"id", "text"}`` object; the message names the line."""


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
        raise InputError("ids must be unique")
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


def _check(record, where: str) -> dict:
    if not isinstance(record, dict) or not isinstance(record.get("id"), (str, int)) or isinstance(record.get("id"), bool) or not isinstance(record.get("text"), str):
        raise InputError(f'{where}: needs "id" (string) and "text" (string)')
    return record


def read_records(path: str) -> list[dict]:
    """The input's records; an ``InputError`` naming ``path:line`` for the first bad line."""
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        import msgspec

        records = msgspec.json.Decoder().decode_lines(data)
    except Exception:  # find and name the bad line
        records = None
    if records is not None:
        bad = next((i for i, r in enumerate(records) if not isinstance(r, dict) or not isinstance(r.get("id"), (str, int)) or not isinstance(r.get("text"), str)), None)
        if bad is None:
            return records
    found = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append(_check(json.loads(line), f"{path}:{number}"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: {exc}") from None
    return found


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
