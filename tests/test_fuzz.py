"""Properties over arbitrary input: no input is a poison pill.

- every file the local loaders meet ends as raw documents or quarantine records, never an exception;
- the cleaner turns any payload (and anything a loader yields) into an Article or a DocumentError;
- the dedup reader answers every non-blank line of any file exactly once, never raising.

Derandomized, so a run is repeatable and CI sees the examples a developer saw.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.clean import clean_document
from pipeline.clean.text import NON_EMPTY_LINE
from pipeline.dedup.records import dedup_entries, read_records
from pipeline.model import Article, DocumentError, Quarantined, RawDocument
from pipeline.sources.files import iter_local_documents

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NOW = datetime(2026, 1, 1, tzinfo=UTC)

# JSON values, with the awkward ones a scraper export may hold.
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)

tags = st.sampled_from([
    "<html>", "<head>", "<body>", "</body>", "<p>", "</p>", "<div class='article'>", "</div>", "<article>", "</article>", "<br>", "<h1>", "</h1>",
    "<script>var x = '</p>';</script>", "<style>p{}</style>", "<!-- c -->", "<!--", "<![CDATA[", "<title>T</title>", "<meta charset='latin-1'>",
    "<meta charset='bogus'>", "<meta property='article:published_time' content='2026-13-45'>", "<time datetime='9999-99-99'>", "&amp;", "&#0;", "&#x110000;",
    "&nbsp;", "<a href='javascript:x'>", "<a href='http://[::1'>", "</a>", "<table><tr><td>", "<ul><li>", "<?xml version='1.0'?>", "<svg>", "<",
    ">", "\x00", "\r\n", "\n\n", "\u2028", "\u200b", "By Jane Doe", "Published 2026-02-30", "(AP) —", "Reuters", "Cookie settings", "Read more",
])
sentences = st.sampled_from([
    "The harbour authority approved a six-month trial of a night ferry between the old port and the new district.",
    "Residents have asked for the route for years, and the council said the first crossings would start in March.",
    "Die Stadt kündigte am Dienstag an, den Hafen bis zum Frühjahr auszubauen, sagte der Bürgermeister.",
    "Le conseil municipal a voté mardi un budget de 12 millions d'euros pour la rénovation du port.",
    "东京电力公司周二表示，核电站的处理水排放将持续到明年春季。",
])
noise = st.lists(tags | st.text(max_size=12), max_size=3).map("".join)
paragraphs = st.lists(st.tuples(st.lists(sentences, min_size=1, max_size=4).map(" ".join), noise), max_size=10)
html_ish = st.lists(tags | sentences | st.text(max_size=30), max_size=40).map("".join)
html_page = st.builds(
    lambda head, body, tail: f"<html><head>{head}</head><body><article>{''.join(f'<p>{s}{n}</p>' for s, n in body)}</article>{tail}</body></html>",
    noise, paragraphs, html_ish,
)
text_ish = st.lists(sentences | st.text(max_size=60) | st.sampled_from(["\n", "\n\n", "Related stories", "Share this", "© 2026 All rights reserved"]), max_size=40).map("\n".join)
text_page = st.builds(lambda head, body, tail: "\n".join([head, *(f"{s}{n}" for s, n in body), tail]), text_ish, paragraphs, text_ish)
payloads = st.one_of(
    html_page.map(lambda t: t.encode("utf-8", "surrogatepass")),
    text_page.map(lambda t: t.encode("utf-8", "surrogatepass")),
    html_ish.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=400),
    st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff\x00<", b"%PDF-1.4", b"\x1f\x8b\x08", "é".encode("latin-1") * 50]),
)

dates = st.sampled_from(["2026-03-01T08:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-02-30", "+002026-01-01", "1e400", "2026-W01", ""])
field_names = st.sampled_from(["id", "text", "body", "content", "maintext", "html", "raw_html", "url", "title", "published_at", "authors", "tags", "language"])
records = st.dictionaries(field_names | st.text(max_size=6), json_values | st.text(max_size=200) | text_page | html_page | dates, max_size=8)
pathological_json = st.sampled_from([
    "[" * 100_000, "[" * 3_000 + "]" * 3_000, '{"text": ' + "[" * 2_000 + "]" * 2_000 + "}", "1" * 5_000, '{"id": ' + "9" * 5_000 + ', "text": "x"}',
    '{"text": "\\ud800"}', '{"html": "<p>\\u0000</p>"}', "NaN", '{"text": Infinity}', "\ufeff{}", "{}", "[]", '"just a string"',
])


def json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def json_document() -> st.SearchStrategy[bytes]:
    value = st.one_of(records.map(json_text), st.lists(records, max_size=4).map(json_text), json_values.map(json_text), pathological_json)
    return value.map(lambda text: text.encode("utf-8", "surrogatepass"))


def jsonl_document() -> st.SearchStrategy[bytes]:
    line = st.one_of(records.map(json_text).map(str.encode), st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" ")), pathological_json.map(str.encode), st.just(b""), st.just(b"  \r"))
    return st.lists(line, max_size=8).map(b"\n".join)


file_names = st.binary(min_size=1, max_size=40).filter(lambda b: b"/" not in b and b"\x00" not in b and b not in (b".", b".."))
suffixes = st.sampled_from([b"", b".txt", b".html", b".htm", b".xhtml", b".json", b".jsonl", b".ndjson", b".JSON"])
contents = st.one_of(st.binary(max_size=300), payloads, json_document(), jsonl_document())


def _clean_or_document_error(raw: RawDocument, **options) -> None:
    try:
        result = clean_document(raw, **options)
    except DocumentError as exc:
        assert exc.reason and exc.reason == exc.reason.lower() and " " not in exc.reason
        return
    assert isinstance(result, Article)
    assert result.body.strip()


@FUZZ
@given(files=st.dictionaries(st.tuples(file_names, suffixes).map(b"".join), contents, min_size=1, max_size=5), max_bytes=st.sampled_from([16, 200, 5_000_000]))
def test_local_loaders_yield_only_documents_or_quarantine(files, max_bytes):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "inbox.example"
        root.mkdir()
        for name, data in files.items():
            (root / os.fsdecode(name)).write_bytes(data)
        found = list(iter_local_documents([root], max_bytes, NOW))
        assert all(isinstance(item, (RawDocument, Quarantined)) for item in found)
        uris = [item.uri for item in found]
        for name in files:  # every file is accounted for
            uri = os.fsencode(root / os.fsdecode(name)).decode("utf-8", "backslashreplace")
            assert any(u == uri or u.startswith(uri + "#") for u in uris), (uri, uris)
        for item in found:
            if isinstance(item, RawDocument):  # and whatever was loaded cleans or is refused with a reason
                _clean_or_document_error(item)


@FUZZ
@given(
    payload=payloads,
    content_type=st.sampled_from(["text/html", "text/plain"]),
    encoding=st.none() | st.sampled_from(["utf-8", "latin-1", "utf-16", "cp1252", "shift_jis", "no-such-charset"]),
    url=st.sampled_from([None, "https://www.apnews.com/article/x", "http://[::1", "https://harbour.example/a?utm_source=x", "ftp://x", ""]),
    force_format=st.sampled_from([None, "auto", "html", "text"]),
    min_body_words=st.sampled_from([1, 40]),
)
def test_cleaner_returns_an_article_or_a_document_error(payload, content_type, encoding, url, force_format, min_body_words):
    raw = RawDocument("r", "inbox/harbour.example/a", "harbour.example", NOW, content_type, payload, encoding=encoding, url=url)
    _clean_or_document_error(raw, force_format=force_format, min_body_words=min_body_words)


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(["a", "b", " ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\u2028", "\u200b", "\u00a0", "\u3000"]), max_size=60))
def test_line_count_matches_the_line_splitter(text):
    expected = sum(1 for line in text.replace("\u200b", "").splitlines() if line.split())
    assert sum(1 for _ in NON_EMPTY_LINE.finditer(text)) == expected


dedup_ids = st.one_of(st.text(max_size=12), st.integers(), st.integers(min_value=10**20, max_value=10**40), st.booleans(), st.none(), st.floats(allow_nan=False), st.lists(st.integers(), max_size=2))
dedup_records = st.fixed_dictionaries(
    {"id": dedup_ids, "text": st.one_of(text_ish, st.text(max_size=80), st.integers(), st.none())},
    optional={"url": st.sampled_from(["https://apnews.com/a", "https://user@www.reuters.com:8080/x?y#z", "nonsense", "http://[::1"]) | st.integers(),
              "published_at": dates | st.sampled_from(["2026-01-01T10:00:00", "2026-01-01T10:00:00+02:00"]) | st.floats(allow_nan=False)},
)
dedup_lines = st.one_of(
    dedup_records.map(lambda r: json.dumps(r, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.binary(max_size=80),
    pathological_json.map(str.encode),
    st.sampled_from([b"", b"   ", b"\r", b'{"id": "dup", "text": "one"}', b'{"id": "x", "text": "a"} {"id": "y", "text": "b"}', b"\xff\xfe{}"]),
)


@FUZZ
@given(lines=st.lists(dedup_lines, max_size=12), separator=st.sampled_from([b"\n", b"\r\n"]), limit=st.sampled_from([40, 1_000, 5_000_000]))
def test_dedup_reader_answers_every_line_once(lines, separator, limit):
    data = separator.join(lines)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.jsonl"
        source.write_bytes(data)
        rows, refused = dedup_entries(read_records(str(source), limit))
    assert len(rows) == sum(1 for line in data.split(b"\n") if line.strip())
    assert refused == sum(1 for row in rows if "error" in row)
    json.dumps(rows)  # every answer can be written
    for row in rows:
        assert "error" in row or set(row) == {"id", "cluster_id", "canonical_id", "similarity"}
    answered = [row["id"] for row in rows if "error" not in row]
    assert len(answered) == len(set(answered))
