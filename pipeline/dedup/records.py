"""``newsingest dedup``: JSON lines ``{"id", "text"}`` (optional ``url``, ``published_at``) in,
one ``{"id", "cluster_id", "canonical_id", "similarity"}`` line per input out, in input order.

Bad input never stops the run. A record that cannot be used (not JSON, not an object, ``id`` not
a non-empty string or integer, ``text`` not a string, a line over ``max_document_bytes``, an id
given on two lines) gets ``{"id", "line", "error", "detail"}`` in its place (``id`` null when
there is no usable one), the good records are clustered without it, and the command exits 1. An
input file that cannot be read is a message on standard error and exit status 2.

The input is read a line at a time and each text is dropped once sketched; per record only its
sketch, id, exact-copy hash, line number and canonical-order fields are kept, in columns (about
150 bytes beside the sketch), refused lines' answers go to a spill file, the sketches are released
once clustered and the output is written as it is produced. Peak memory is the sketches (about a
third of the input for news articles) and the clustering's index over them, not the file's size.

Kept light on purpose: this path imports no pyarrow, duckdb or cleaner, so a process that
deduplicates ten thousand articles spends its time deduplicating them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import pickle
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from datetime import datetime

from pipeline.dedup import cluster as clustering
from pipeline.dedup.canonical import Member, canonical_key, is_agency_site
from pipeline.dedup.cluster import CANDIDATE_POSTING, CONTAINMENT, FULL_COPY, KEY_MODULUS, MAX_CANDIDATES, MIN_SHARED, Doc, cluster
from pipeline.dedup.sketch import Sketch, sketch_texts


class InputError(ValueError):
    """Records that cannot be clustered together (``dedup_records`` on duplicate ids)."""


DEFAULT_MAX_LINE_BYTES = 5_000_000  # Settings.max_document_bytes
SKETCH_BATCH = 512  # texts sketched together (on threads from 256, sketch.PARALLEL_MIN_TEXTS)
SKETCH_BATCH_CHARS = 8_000_000  # and at most this much text held waiting for it
READ_CHUNK = 1 << 20  # read buffer; a line over the limit is skipped in pieces of this size
WRITE_BATCH = 10_000  # output rows encoded at a time
SPILL_BYTES = 1 << 20  # refused lines' error objects held in memory before they go to a temporary file


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


class Records:
    """The usable lines of an input reduced to what clustering and the output need, column by
    column (a Python object per record would cost more than its sketch), and the refused lines.

    Per record: its id, sketch, exact-copy hash, line number and the parts of its canonical order
    (agency site, publication time, word count); never its text, url or date. Refused lines are
    pickled to a spill file in order as they are met (in memory until it passes ``SPILL_BYTES``),
    so a file of bad lines costs no memory either."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.samples: list[bytes] | None = []
        self.wholes = array("Q")
        self.lines = array("q")
        self.not_agency = bytearray()
        self.published = array("d")  # canonical_key's timestamp (inf: no date)
        self.less_words = array("q")  # minus the word count: more complete copies first
        self.twice: dict[str, list[int]] = {}  # an id given on several lines -> those lines
        self.spill = tempfile.SpooledTemporaryFile(max_size=SPILL_BYTES)  # noqa: SIM115 (closed by close(), which iter_results calls)
        self.errors = 0
        self.first_error: dict | None = None

    def refuse(self, row: dict) -> None:
        pickle.dump(row, self.spill, pickle.HIGHEST_PROTOCOL)
        self.errors += 1
        if self.first_error is None:
            self.first_error = row

    def add(self, line: int, key: str, url, published_at, sketch: Sketch) -> None:
        samples, words, whole = sketch
        domain = _domain(url)
        agency = is_agency_site(domain)
        # canonical_key itself, so the order is the one cluster() uses (a record is never short).
        _, not_agency, published, less_words, _ = canonical_key(Member(key, _published(published_at), words, domain, "wire" if agency else None))
        self.keys.append(key)
        self.samples.append(samples)
        self.wholes.append(whole)
        self.lines.append(line)
        self.not_agency.append(not_agency)
        self.published.append(published)
        self.less_words.append(less_words)

    @property
    def refused(self) -> int:
        """Lines answered with an error object."""
        return self.errors + sum(map(len, self.twice.values()))

    def __len__(self) -> int:
        """Lines answered: one per non-blank input line."""
        return self.errors + len(self.keys)

    def first_refused(self) -> dict | None:
        """The first error object of the output (in line order)."""
        first = self.first_error
        for key, lines in self.twice.items():
            if first is None or lines[0] < first["line"]:
                first = _twice(key, lines)
        return first

    def close(self) -> None:
        self.spill.close()


def _twice(key: str, lines: list[int], line: int | None = None) -> dict:
    return _error(lines[0] if line is None else line, "duplicate_id", f"id {key!r} is on lines {', '.join(map(str, lines))}", key)


def read_records(path: str, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Records:
    """Every non-blank input line, as a record (id, sketch and what orders it; the text is
    sketched in batches and dropped) or an error object for a line that cannot be clustered.
    The file is read a line at a time. ``OSError`` when it cannot be read."""
    records = Records()
    pending: list[tuple[int, str, object, object, str]] = []  # sketched together: (line, id, url, published_at, text)
    pending_chars = 0

    def sketch_pending() -> None:
        for (line, key, url, published_at, _), sketch in zip(pending, sketch_texts([text for *_, text in pending])):
            records.add(line, key, url, published_at, sketch)
        pending.clear()

    try:
        with open(path, "rb", buffering=READ_CHUNK) as fh:
            for number, line in _read_lines(fh, max_line_bytes):
                if isinstance(line, int):
                    records.refuse(_error(number, "too_large", f"line of {line} bytes, over the limit of {max_line_bytes}"))
                    continue
                try:
                    record = _decode_line(line)
                except RecursionError:
                    records.refuse(_error(number, "invalid_json", "nested too deeply"))
                    continue
                except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError
                    records.refuse(_error(number, "invalid_json", str(exc)))
                    continue
                problem = _problem(record)
                if problem:
                    records.refuse(_error(number, "invalid_record", problem, record.get("id") if isinstance(record, dict) else None))
                    continue
                pending.append((number, str(record["id"]), record.get("url"), record.get("published_at"), record["text"]))
                pending_chars += len(record["text"])
                if len(pending) >= SKETCH_BATCH or pending_chars >= SKETCH_BATCH_CHARS:
                    sketch_pending()
                    pending_chars = 0
        sketch_pending()
    except BaseException:
        records.close()
        raise
    # An id given twice is ambiguous: every record carrying it is refused, naming the lines.
    seen: set[str] = set()
    twice = {key for key in records.keys if key in seen or seen.add(key)}
    del seen
    if twice:
        for key, line in zip(records.keys, records.lines):
            if key in twice:
                records.twice.setdefault(key, []).append(line)
    return records


def _cluster_sorted(samples: list[bytes], wholes: list[int], containment: float) -> list[tuple[int, float, int]]:
    """``cluster.cluster`` on sketches already in canonical order: the same calls without a Doc,
    a Member and an Assignment per record."""
    if clustering._sketch is not None:
        return clustering._sketch.cluster_sorted(samples, wholes, containment, FULL_COPY, MIN_SHARED, CANDIDATE_POSTING, MAX_CANDIDATES, KEY_MODULUS)
    return clustering.cluster_sorted(samples, wholes, containment, MIN_SHARED)


def iter_results(records: Records, containment: float = CONTAINMENT) -> Iterator[dict]:
    """Output rows in input order: the clusters of the records and the error objects of the
    refused lines. The sketches are released once clustered, before the first row. Consumes
    ``records``."""
    keys, lines, twice = records.keys, records.lines, records.twice
    not_agency, published, less_words = records.not_agency, records.published, records.less_words
    clustered = [i for i in range(len(keys)) if keys[i] not in twice] if twice else range(len(keys))
    order = array("q", sorted(clustered, key=lambda i: (not_agency[i], published[i], less_words[i], keys[i])))
    del clustered
    records.not_agency = records.published = records.less_words = None
    samples = [records.samples[i] for i in order]
    wholes = [records.wholes[i] for i in order]
    records.samples = records.wholes = None
    found = _cluster_sorted(samples, wholes, containment)
    del samples, wholes  # the sketches: the bulk of the memory
    canonical = array("q", bytes(8 * len(keys)))
    similarity = array("d", bytes(8 * len(keys)))
    for i, (position, score, _method) in zip(order, found):
        canonical[i] = order[position]
        similarity[i] = round(score, 4)
    del found, order
    errors = _spilled(records)
    error = next(errors, None)
    try:
        for i, key in enumerate(keys):
            while error is not None and error["line"] < lines[i]:
                yield error
                error = next(errors, None)
            if key in twice:
                yield _twice(key, twice[key], lines[i])
            else:
                leader = keys[canonical[i]]
                yield {"id": key, "cluster_id": leader, "canonical_id": leader, "similarity": similarity[i]}
        while error is not None:
            yield error
            error = next(errors, None)
    finally:
        records.close()


def _spilled(records: Records) -> Iterator[dict]:
    records.spill.seek(0)
    for _ in range(records.errors):
        yield pickle.load(records.spill)


def dedup_entries(records: Records, containment: float = CONTAINMENT) -> tuple[list[dict], int]:
    """All output rows of ``read_records``' result, in order, and the number of error rows (for
    tests and small inputs: the command streams ``iter_results`` to ``write_results``)."""
    refused = records.refused
    return list(iter_results(records, containment)), refused


def write_results(rows: Iterable[dict], out: str | None, stdout) -> int:
    """Write the rows as JSON lines to ``out`` (standard output when None), encoded a slice at a
    time as they come; returns how many were written."""
    try:
        import msgspec

        encode = msgspec.json.Encoder().encode_lines
    except ImportError:

        def encode(part):
            return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in part).encode("utf-8")

    rows = iter(rows)
    written = 0
    with open(out, "wb") if out else contextlib.nullcontext(stdout.buffer) as fh:
        while part := list(itertools.islice(rows, WRITE_BATCH)):
            fh.write(encode(part))
            written += len(part)
        fh.flush()
    return written
