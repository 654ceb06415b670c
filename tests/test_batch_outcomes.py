"""Every input file has exactly one ledger row: byte-identical files at two paths, short near-copies
and short texts that match nothing, through the real stages (``newsingest run`` in this process)."""

from __future__ import annotations

import random
from pathlib import Path

from pipeline.benchmarks.wire_corpus import Event, write_up
from pipeline.cli import main
from pipeline.store.db import read_connection

BOILERPLATE = "Sign up for our daily newsletter to get the top stories in your inbox every morning."


def article(seed: int) -> tuple[str, list[str]]:
    rng = random.Random(seed)
    return write_up(rng, Event(rng, seed), "AP")


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def page(headline: str, paragraphs: list[str]) -> str:
    return "\n\n".join([headline, *paragraphs, BOILERPLATE])


def run_batch(inbox: Path, home: Path) -> Path:
    assert main(["run", "--input", str(inbox), "--home", str(home), "--quiet"]) == 0
    return home / "corpus.sqlite"


def ledger(db: Path) -> dict[str, tuple[str, str | None, str | None, str | None]]:
    with read_connection(db) as con:
        rows = con.execute("SELECT uri, outcome, reason, article_id, domain FROM run_ledger").fetchall()
    return {Path(uri).parent.name + "/" + Path(uri).name: (outcome, reason, article_id, domain) for uri, outcome, reason, article_id, domain in rows}


def input_files(inbox: Path) -> int:
    return sum(1 for p in inbox.rglob("*") if p.is_file())


def test_byte_identical_files_in_two_folders_each_get_a_ledger_row(tmp_path):
    inbox = tmp_path / "inbox"
    headline, body = article(1)
    text = page(headline, body)
    write(inbox / "harbourgazette.example", "strike.txt", text)
    write(inbox / "valleycourier.example", "strike.txt", text)  # the same bytes, another publication
    write(inbox / "valleycourier.example", "other.txt", page(*article(2)))
    write(inbox / "metrotribune.example", "empty.txt", "")
    write(inbox / "lakesideherald.example", "empty.txt", "")  # an identical bad input: quarantined too
    db = run_batch(inbox, tmp_path / "var")
    rows = ledger(db)
    assert len(rows) == input_files(inbox) == 5
    first = rows["harbourgazette.example/strike.txt"]
    second = rows["valleycourier.example/strike.txt"]
    assert first[0] == "article"
    assert second == ("duplicate", "identical_bytes", first[2], "valleycourier.example")
    assert rows["lakesideherald.example/empty.txt"][:2] == ("quarantined", "empty_input")
    with read_connection(db) as con:
        assert con.execute("SELECT count(*) FROM quarantine WHERE reason = 'empty_input'").fetchall() == [(2,)]
        assert con.execute("SELECT documents, articles, duplicates, quarantined FROM runs").fetchall() == [(5, 2, 1, 2)]


def test_a_short_copy_is_a_duplicate_of_its_article_and_a_short_stray_text_is_quarantined(tmp_path):
    inbox = tmp_path / "inbox"
    headline, body = article(3)
    write(inbox / "apnews.com", "original.txt", page(headline, body))
    lede = " ".join(body[0].split()[:30])  # a copy cut to the start of its first paragraph
    assert 10 < len(lede.split()) < 40
    write(inbox / "coastaltimes.example", "brief.txt", page(headline.upper(), [lede]))
    stray = "Council members will meet again next week to discuss the budget for the new library and the repairs to the pool."
    write(inbox / "islandpost.example", "note.txt", page("Council notes", [stray]))
    db = run_batch(inbox, tmp_path / "var")
    rows = ledger(db)
    assert len(rows) == input_files(inbox) == 3
    original = rows["apnews.com/original.txt"]
    brief = rows["coastaltimes.example/brief.txt"]
    assert original[0] == "article"
    assert brief[0] == "duplicate" and brief[1] == "containment"
    assert rows["islandpost.example/note.txt"][:2] == ("quarantined", "no_article_text")
    with read_connection(db) as con:
        linked = con.execute("SELECT canonical_id, method FROM duplicates WHERE article_id = ?", [brief[2]]).fetchall()
        assert linked == [(original[2], "containment")]
        assert con.execute("SELECT is_canonical, word_count < 40 FROM articles WHERE article_id = ?", [brief[2]]).fetchall() == [(False, True)]
        stage = con.execute("SELECT stage, detail FROM quarantine WHERE reason = 'no_article_text'").fetchall()
    assert stage[0][0] == "dedup" and "no near-copy" in stage[0][1]


def test_a_short_copy_of_a_stored_article_is_linked_to_it(tmp_path):
    headline, body = article(4)
    first = tmp_path / "first"
    write(first / "apnews.com", "original.txt", page(headline, body))
    db = run_batch(first, tmp_path / "var")
    later = tmp_path / "later"
    write(later / "eveningstar.example", "brief.txt", page(headline, [" ".join(body[0].split()[:30])]))
    run_batch(later, tmp_path / "var")
    with read_connection(db) as con:
        outcomes = con.execute("SELECT outcome, count(*) FROM run_ledger GROUP BY ALL ORDER BY ALL").fetchall()
        assert outcomes == [("article", 1), ("duplicate", 1)]
        assert con.execute("SELECT count(*) FROM duplicates").fetchall() == [(1,)]
