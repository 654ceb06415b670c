from __future__ import annotations

import json

from pipeline.model import Quarantined, RawDocument
from pipeline.sources import iter_local_documents


def test_directory_tree_domains_and_exports(tmp_path):
    site = tmp_path / "dailybugle.example"
    site.mkdir()
    (site / "a.txt").write_text("Some text.\n", encoding="utf-8")
    (site / "b.html").write_text("<html><body><p>x</p></body></html>", encoding="utf-8")
    (tmp_path / "feed.jsonl").write_text(
        json.dumps({"url": "https://wire.example/a", "title": "T", "text": "Body"}) + "\n{not json\n" + json.dumps({"title": "no text"}) + "\n",
        encoding="utf-8",
    )
    (tmp_path / "empty.txt").write_bytes(b"")
    items = list(iter_local_documents([tmp_path], 10_000))
    docs = {i.uri.rsplit("/", 1)[-1]: i for i in items}
    assert isinstance(docs["a.txt"], RawDocument) and docs["a.txt"].domain == "dailybugle.example"
    assert docs["b.html"].content_type == "text/html"
    assert docs["feed.jsonl#1"].domain == "wire.example" and docs["feed.jsonl#1"].declared == {"title": "T"}
    assert isinstance(docs["feed.jsonl#2"], Quarantined) and docs["feed.jsonl#2"].reason == "invalid_json"
    assert docs["feed.jsonl#3"].reason == "missing_text_field"
    assert docs["empty.txt"].reason == "empty_input"


def test_oversize_and_missing(tmp_path):
    (tmp_path / "big.txt").write_bytes(b"x" * 101)
    items = list(iter_local_documents([tmp_path / "big.txt", tmp_path / "nope.txt"], 100))
    assert [i.reason for i in items] == ["oversize_input", "missing_input"]
