"""The stable command-line interface, run as a user runs it (a real process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipeline.store.db import read_connection
from tests.conftest import SAMPLE_CORPUS

NEWSINGEST = [sys.executable, "-m", "pipeline.cli"]
SEED_BOILERPLATE = ["cookies on our site", "LEAVE A REPLY", "Daily Newsletter", "All rights reserved", "All Rights Reserved", "Read and Post Comments"]
TABLES = ("articles", "duplicates", "removed_segments", "quarantine", "validation_results", "near_sketches", "near_keys", "story_terms")


def run(*args, check=True) -> subprocess.CompletedProcess:
    return subprocess.run([*NEWSINGEST, *map(str, args)], capture_output=True, text=True, check=check, timeout=600)


def counts(db: Path) -> dict[str, int]:
    with read_connection(db) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}


def test_run_lands_seeds_as_five_distinct_clean_articles(tmp_path, seeds_dir):
    db = tmp_path / "seeds.sqlite"
    first = run("run", "--input", seeds_dir, "--db", db, "--home", tmp_path / "var", "--quiet")
    assert "5 articles, 0 duplicates, 0 quarantined, 0 unchanged" in first.stdout
    with read_connection(db) as con:
        rows = con.execute("SELECT body, is_canonical, story_id FROM articles").fetchall()
        assert con.execute("SELECT count(*) FROM canonical_articles").fetchall()[0][0] == 5
    assert len(rows) == 5 and all(canonical for _, canonical, _ in rows)
    assert len({story for _, _, story in rows}) == 1  # one event, five write-ups
    for body, _, _ in rows:
        for fragment in SEED_BOILERPLATE:
            assert fragment not in body
    before = counts(db)
    second = run("run", "--input", seeds_dir, "--db", db, "--home", tmp_path / "var", "--quiet")
    assert "0 articles, 0 duplicates, 0 quarantined, 5 unchanged" in second.stdout
    assert counts(db) == before


def test_clean_prints_one_json_object_per_document(tmp_path):
    result = run("clean", SAMPLE_CORPUS / "broken", SAMPLE_CORPUS / "valleycourier.example" / "port-strike.txt", check=False)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1  # some inputs were errors
    by_source = {Path(line["source"]).name: line for line in lines}
    assert by_source["empty.txt"]["error"] == "empty_input"
    assert by_source["latin1-notice.txt"]["error"] == "invalid_encoding"
    article = by_source["port-strike.txt"]
    assert set(article) >= {"source", "title", "published_at", "authors", "wire_agency", "language", "body", "removed"}
    assert article["wire_agency"] == "AP" and article["language"] == "en"
    assert {r["reason"] for r in article["removed"]} >= {"cookie_banner", "newsletter_prompt", "copyright_footer"}


def test_dedup_reads_and_writes_jsonl(tmp_path):
    text = " ".join(f"word{i} alpha{i % 7} beta{i % 11}" for i in range(200))
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in [
        {"id": "a", "text": text},
        {"id": "b", "text": "Updated headline\n" + text[: len(text) // 2]},
        {"id": "c", "text": " ".join(f"other{i}" for i in range(300))},
    ]), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    run("dedup", source, "--out", out)
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["a"]["cluster_id"] == rows["b"]["cluster_id"] == rows["b"]["canonical_id"] == "a"
    assert rows["c"]["cluster_id"] == "c" and rows["c"]["similarity"] == 1.0
    assert 0.7 <= rows["b"]["similarity"] <= 1.0


def test_dedup_answers_every_bad_record_and_clusters_the_rest(tmp_path):
    text = " ".join(f"word{i} alpha{i % 7} beta{i % 11}" for i in range(200))
    lines = [
        json.dumps({"id": "a", "text": text}),
        '{"id": "b"}',
        "[1, 2]",
        '{"id": true, "text": "x"}',
        '{"id": "\\ud800", "text": "lone surrogate"}',
        '{"id": "deep", "text": "x", "meta": ' + "[" * 5_000 + "]" * 5_000 + "}",
        '{"id": "cut", "text": "trunc',
        json.dumps({"id": "big", "text": "w " * 15_000}),
        json.dumps({"id": "twice", "text": "one"}),
        json.dumps({"id": "twice", "text": "two"}),
        json.dumps({"id": "copy", "text": "Updated headline\n" + text[: len(text) // 2]}),
    ]
    source = tmp_path / "bad.jsonl"
    source.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + b"\n" + b'{"id": "latin", "text": "caf\xe9"}\n')
    out = tmp_path / "out.jsonl"
    result = subprocess.run([*NEWSINGEST, "dedup", str(source), "--out", str(out)], capture_output=True, text=True, timeout=600,
                            env={**__import__("os").environ, "NEWSINGEST_MAX_DOCUMENT_BYTES": "20000"})
    assert result.returncode == 1 and "Traceback" not in result.stderr and "records refused" in result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 12  # one per input line, in order
    errors = {row["line"]: (row["id"], row["error"]) for row in rows if "error" in row}
    assert errors == {
        2: ("b", "invalid_record"), 3: (None, "invalid_record"), 4: (None, "invalid_record"), 5: (None, "invalid_record"),
        6: (None, "invalid_json"), 7: (None, "invalid_json"), 8: (None, "too_large"),
        9: ("twice", "duplicate_id"), 10: ("twice", "duplicate_id"), 12: (None, "invalid_json"),
    }
    assert "lines 9, 10" in rows[8]["detail"]
    assert rows[0] == {"id": "a", "cluster_id": "a", "canonical_id": "a", "similarity": 1.0}
    assert rows[10]["id"] == "copy" and rows[10]["cluster_id"] == "a"


def test_dedup_on_a_missing_file_says_so_without_a_traceback(tmp_path):
    result = run("dedup", tmp_path / "nowhere.jsonl", check=False)
    assert result.returncode == 2 and "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_eval_clean_prints_scores(tmp_path):
    """eval-clean on a two-page manifest of our own: one clean extraction, one page with a banner."""
    pages = tmp_path / "pages"
    pages.mkdir()
    article = (
        "The harbour authority on Tuesday approved a six-month trial of a night ferry between the old port "
        "and the new housing district across the estuary, a route residents have requested for years."
    )
    (pages / "a.txt").write_text(f"We use cookies to improve your experience on our site.\n{article}\n", encoding="utf-8")
    (pages / "a.expected.txt").write_text(article + "\n", encoding="utf-8")
    (pages / "b.txt").write_text(article + "\n", encoding="utf-8")
    (pages / "b.expected.txt").write_text(article + " The service starts in March.\n", encoding="utf-8")
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(
        '{"id": "a", "txt": "pages/a.txt", "expected": "pages/a.expected.txt", "url": "https://harbour.example/a"}\n'
        '{"id": "b", "txt": "pages/b.txt", "expected": "pages/b.expected.txt", "url": "https://harbour.example/b"}\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "eval-clean", "--manifest", str(manifest), "--input", "txt", "--workers", "1"],
        capture_output=True, text=True, check=True,
    )
    scores = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert float(scores["precision"]) == 1.0
    # page b misses the 4-token shingles of its last sentence: recall below 1, above 0.5
    assert 0.5 < float(scores["recall"]) < 1.0
    assert scores["pages"].startswith("2 (txt")


def test_dedup_command_imports_nothing_heavy(tmp_path):
    """Process start is part of `newsingest dedup`'s throughput: building the parser (which knows
    every subcommand) and clustering must not load the database, HTTP or extraction libraries."""
    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"id": "a", "text": "One short text about the harbour ferry and its night trial."}\n', encoding="utf-8")
    probe = (
        "import sys; from pipeline.cli import main; main(['dedup', sys.argv[1], '--out', sys.argv[2]]); "
        "heavy = sorted(m for m in ('duckdb', 'pyarrow', 'requests', 'trafilatura', 'airflow', 'numpy', 'pandas') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(docs), str(tmp_path / "out.jsonl")], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
