"""A hostile batch: each entry gets exactly one outcome, none crashes the run or hangs it, and the
good documents beside them land."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from pipeline.benchmarks.wire_corpus import Event, write_up
from pipeline.cli import main
from pipeline.store.db import read_connection

GOOD_SITE = "goodnews.example"


def good_article(seed: int) -> str:
    import random

    rng = random.Random(seed)
    headline, body = write_up(rng, Event(rng, seed), None)
    return "\n\n".join([headline, *body])


def html_page(published: str, body: str) -> str:
    return (
        f'<html><head><title>Harbour strike</title><meta property="article:published_time" content="{published}"></head>'
        f"<body><article><h1>Harbour strike</h1>{''.join(f'<p>{p}</p>' for p in body.split(chr(10) * 2))}</article></body></html>"
    )


def build_hostile_tree(root: Path) -> tuple[int, set[str]]:
    """The input tree; returns the number of entries that must each get a ledger row and the
    names of the good documents that must land."""
    good = root / GOOD_SITE
    bad = root / "hostile.example"
    good.mkdir(parents=True)
    bad.mkdir()
    entries = 0
    good_names = set()
    for n in range(3):
        (good / f"story-{n}.txt").write_text(good_article(100 + n), encoding="utf-8")
        good_names.add(f"story-{n}.txt")
        entries += 1
    deep = "[" * 10_000 + "]" * 10_000
    (bad / "deep.json").write_text(deep, encoding="utf-8")
    article = good_article(7)
    records = [
        deep,  # nested 10,000 deep
        '{"id": 1, "text": "x", "count": ' + "9" * 5000 + "}",  # past the int-to-string limit
        json.dumps({"url": "https://[::1", "text": good_article(8)}),  # an unclosed IPv6 host
        json.dumps({"url": "https://wire.example/a", "text": article, "published_at": "0001-01-01T00:00:00+01:00"}),
        json.dumps({"url": "https://wire.example/b", "text": good_article(9), "title": {"a" * 3: [[[]]]}}),
        "x" * 30_000,  # a line over the size cap below
        json.dumps({"url": "https://wire.example/c", "text": good_article(10)}),
    ]
    (bad / "feed.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")
    entries += len(records)
    (bad / "empty-list.json").write_text("[]", encoding="utf-8")
    (bad / "early.html").write_text(html_page("0001-01-01T00:00:00+05:00", good_article(11)), encoding="utf-8")
    (bad / "late.html").write_text(html_page("9999-12-31T23:00:00-05:00", good_article(12)), encoding="utf-8")
    (bad / "dateline.txt").write_text("Harbour strike\nPublished December 31, 9999 23:00 EST\n\n" + good_article(13), encoding="utf-8")
    (bad / os.fsdecode(b"caf\xe9-latin1-name.txt")).write_text(good_article(14), encoding="utf-8")
    os.mkfifo(bad / "pipe.txt")
    (bad / "zero.txt").symlink_to("/dev/zero")
    (bad / ".hidden.txt").write_text(good_article(15), encoding="utf-8")
    (bad / ".git").mkdir()
    (bad / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    entries += 11  # deep.json, empty-list.json, three dated pages, the odd name, pipe, zero, .hidden.txt, .git, and dateline
    return entries - 1, good_names  # deep.json is one entry (counted above in the 11)


@pytest.fixture
def no_hang():
    def expire(_signum, _frame):
        raise TimeoutError("the run did not finish in 240 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(240)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_hostile_batch_every_entry_one_outcome_and_the_good_ones_land(tmp_path, monkeypatch, no_hang):
    entries, good_names = build_hostile_tree(tmp_path / "inbox")
    monkeypatch.setenv("NEWSINGEST_MAX_DOCUMENT_BYTES", "25000")
    monkeypatch.setenv("NEWSINGEST_WORKERS", "1")
    home = tmp_path / "var"
    assert main(["run", "--input", str(tmp_path / "inbox"), "--home", str(home), "--quiet"]) == 0
    with read_connection(home / "corpus.sqlite") as con:
        ledger = con.execute("SELECT uri, outcome, reason FROM run_ledger").fetchall()
        reasons = dict(con.execute("SELECT uri, reason FROM quarantine").fetchall())
    uris = [uri for uri, _, _ in ledger]
    assert len(uris) == len(set(uris)) == entries
    by_name = {uri.rsplit("/", 1)[-1]: (outcome, reason) for uri, outcome, reason in ledger}
    assert {name for name in good_names if by_name[name][0] == "article"} == good_names
    expected = {
        "deep.json": "invalid_json", "feed.jsonl#1": "invalid_json", "feed.jsonl#2": "invalid_json", "feed.jsonl#6": "oversize_input",
        "empty-list.json": "empty_input", "pipe.txt": "not_a_regular_file", "zero.txt": "not_a_regular_file",
        ".hidden.txt": "hidden_entry", ".git": "hidden_entry",
    }
    for name, reason in expected.items():
        assert by_name[name] == ("quarantined", reason), name
    # usable records beside bad ones land; an unusable URL or odd metadata costs only itself
    assert by_name["feed.jsonl#3"][0] == "article" and by_name["feed.jsonl#5"][0] == "article" and by_name["feed.jsonl#7"][0] == "article"
    for name in ("early.html", "late.html", "dateline.txt", "feed.jsonl#4"):
        assert by_name[name][0] in ("quarantined", "article"), name
        if by_name[name][0] == "quarantined":
            assert by_name[name][1] == "invalid_published_at", (name, by_name[name])
    assert "caf\\xe9-latin1-name.txt" in by_name
    assert all(reason for reason in reasons.values())


def test_clean_prints_one_valid_line_per_hostile_entry(tmp_path):
    import subprocess
    import sys

    entries, _ = build_hostile_tree(tmp_path / "inbox")
    env = {**os.environ, "NEWSINGEST_MAX_DOCUMENT_BYTES": "25000", "NEWSINGEST_WORKERS": "1"}
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "clean", str(tmp_path / "inbox")], capture_output=True, env=env, timeout=240)
    assert result.returncode == 1, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]  # valid UTF-8 and JSON
    assert len(lines) == entries
    assert b"Traceback" not in result.stderr
