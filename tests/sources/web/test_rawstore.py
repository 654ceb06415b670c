from __future__ import annotations

import json

from pipeline.model import Quarantined, sha256_hex
from pipeline.sources import iter_documents
from pipeline.sources.web.rawstore import RawStore


def test_objects_are_content_addressed_and_stored_once(tmp_path):
    store = RawStore(tmp_path / "raw")
    raw_id, path = store.put(b"<p>same bytes</p>")
    again, path_again = store.put(b"<p>same bytes</p>")
    assert raw_id == again == sha256_hex(b"<p>same bytes</p>")
    assert path == path_again == tmp_path / "raw" / "objects" / raw_id[:2] / raw_id
    assert store.get(raw_id) == b"<p>same bytes</p>"


def test_manifest_loads_with_urls_and_flags_missing_or_corrupt_objects(tmp_path):
    store = RawStore(tmp_path / "raw")
    good, _ = store.put(b"<html><p>good</p></html>")
    bad, bad_path = store.put(b"<html><p>will be altered</p></html>")
    bad_path.write_bytes(b"tampered")
    entry = {"fetched_at": "2026-11-22T04:00:00+00:00", "content_type": "text/html", "encoding": "utf-8"}
    manifest = store.write_manifest("b1", [
        {**entry, "raw_id": good, "url": "https://www.news.example.invalid/a"},
        {**entry, "raw_id": bad, "url": "https://news.example.invalid/b"},
        {**entry, "raw_id": "0" * 64, "url": "https://news.example.invalid/c"},
    ])
    items = list(iter_documents([str(manifest)], 1_000_000))
    doc = items[0]
    assert (doc.url, doc.uri, doc.domain, doc.content_type, doc.encoding) == (
        "https://www.news.example.invalid/a", "https://www.news.example.invalid/a", "news.example.invalid", "text/html", "utf-8")
    assert [(q.uri, q.reason) for q in items[1:] if isinstance(q, Quarantined)] == [
        ("https://news.example.invalid/b", "corrupt_raw_object"), ("https://news.example.invalid/c", "missing_raw_object"),
    ]
    assert json.loads(manifest.read_text().splitlines()[0])["raw_id"] == good
