"""The raw store: fetched bytes kept content-addressed on disk (``<raw_dir>/objects/ab/<sha256>``),
and one manifest per fetch batch (``<raw_dir>/batches/<batch_id>.manifest.jsonl``) that says which
URL, content type, encoding and time each object came with. ``news_ingest`` loads a manifest as it
loads a file; the same bytes under two URLs are stored once."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from pipeline.model import Quarantined, RawDocument, sha256_hex

MANIFEST_SUFFIX = ".manifest.jsonl"
HTML_TYPES = {"text/html", "application/xhtml+xml"}


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RawStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def object_path(self, raw_id: str) -> Path:
        return self.root / "objects" / raw_id[:2] / raw_id

    def put(self, payload: bytes) -> tuple[str, Path]:
        raw_id = sha256_hex(payload)
        path = self.object_path(raw_id)
        if not path.exists():
            _atomic_write(path, payload)
        return raw_id, path

    def get(self, raw_id: str) -> bytes:
        return self.object_path(raw_id).read_bytes()

    def write_manifest(self, batch_id: str, entries: list[dict]) -> Path:
        path = self.root / "batches" / f"{batch_id}{MANIFEST_SUFFIX}"
        lines = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True, default=str) + "\n" for e in entries)
        _atomic_write(path, lines.encode("utf-8"))
        return path


def is_manifest(path: str | Path) -> bool:
    return str(path).endswith(MANIFEST_SUFFIX)


def iter_manifest_documents(manifest: str | Path, max_bytes: int) -> Iterator[RawDocument | Quarantined]:
    """The raw documents of one fetch batch, each with the URL it was fetched from."""
    from pipeline.sources.files import domain_of

    manifest = Path(manifest)
    store = RawStore(manifest.parent.parent)
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        entry = json.loads(line)
        uri = entry.get("url") or f"{manifest}#{number}"
        path = store.object_path(entry["raw_id"])
        try:
            payload = path.read_bytes()
        except OSError as exc:
            yield Quarantined(entry["raw_id"], uri, "load", "missing_raw_object", f"{path}: {exc.strerror or exc}")
            continue
        if len(payload) > max_bytes:
            yield Quarantined(entry["raw_id"], uri, "load", "oversize_input", f"{len(payload)} bytes, limit {max_bytes}")
            continue
        if sha256_hex(payload) != entry["raw_id"]:
            yield Quarantined(entry["raw_id"], uri, "load", "corrupt_raw_object", f"{path} does not hash to its name")
            continue
        yield RawDocument(
            raw_id=entry["raw_id"],
            uri=uri,
            domain=domain_of(entry["url"]),
            fetched_at=datetime.fromisoformat(entry["fetched_at"]),
            content_type="text/html" if entry.get("content_type") in HTML_TYPES else "text/plain",
            payload=payload,
            encoding=entry.get("encoding"),
            url=entry["url"],
            declared=entry.get("declared") or {},
        )
