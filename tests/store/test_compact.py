"""``newsingest compact``: small files merged, old snapshots expired, the rows untouched."""

from __future__ import annotations

import shutil

from pipeline.cli import main
from pipeline.store.db import read_connection, run_snapshot
from tests.conftest import SAMPLE_CORPUS

OUTLETS = sorted(p for p in SAMPLE_CORPUS.iterdir() if p.is_dir() and p.name.endswith(".example"))
TABLES = ("articles", "duplicates", "removed_segments", "quarantine", "run_ledger", "near_keys", "story_terms", "site_lines")


def contents(db) -> dict[str, list[tuple]]:
    with read_connection(db) as con:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


def test_compaction_merges_files_and_expires_only_snapshots_past_the_retention(tmp_path, capsys):
    outlets = sorted(p for p in SAMPLE_CORPUS.iterdir() if p.is_dir() and p.name.endswith(".example"))
    home = tmp_path / "var"
    for number in range(4):
        folder = tmp_path / f"input{number}"
        for outlet in outlets[number::4]:
            shutil.copytree(outlet, folder / outlet.name)
        assert main(["run", "--input", str(folder), "--home", str(home), "--run-id", f"R{number}", "--quiet"]) == 0
    db = home / "corpus.sqlite"
    files = lambda: len(list((home / "corpus.files").rglob("*.parquet")))  # noqa: E731
    before, rows = files(), contents(db)
    capsys.readouterr()

    assert main(["compact", "--home", str(home)]) == 0  # the default retention keeps every snapshot of today
    with read_connection(db) as con:
        assert run_snapshot(con, "R0") is not None
    assert main(["compact", "--home", str(home), "--retention-days", "0"]) == 0
    assert "data files:" in capsys.readouterr().out
    assert files() < before
    assert contents(db) == rows
    with read_connection(db) as con:
        assert run_snapshot(con, "R0") is None  # expired: time travel reaches back only as far as the retention
        assert con.execute("SELECT count(*) FROM ducklake_snapshots('corpus')").fetchall() == [(1,)]
    assert main(["run", "--input", str(tmp_path / "input0"), "--home", str(home), "--run-id", "R4", "--quiet"]) == 0
    with read_connection(db) as con:
        first = con.execute("SELECT count(*) FROM run_ledger WHERE run_id = 'R0'").fetchall()[0][0]
        assert con.execute("SELECT outcome, count(*) FROM run_ledger WHERE run_id = 'R4' GROUP BY ALL").fetchall() == [("unchanged", first)]


def live_delete_files(db) -> int:
    """Delete files of the current snapshot: readers open each and skip the rows it names."""
    with read_connection(db) as con:
        return sum(
            con.execute(f"SELECT count(*) FROM ducklake_list_files('corpus', '{table}') WHERE delete_file IS NOT NULL").fetchall()[0][0]
            for table in TABLES
        )


def test_compaction_rewrites_files_with_deleted_rows(tmp_path, monkeypatch):
    """Batches that regroup stored copies leave delete files; readers pay for each. Files of which
    ``compact_delete_threshold`` of the rows are deleted are rewritten without them."""
    home = tmp_path / "var"
    for number, outlets in enumerate((OUTLETS[::2], OUTLETS[1::2])):  # the second joins the first's clusters
        folder = tmp_path / f"input{number}"
        for outlet in outlets:
            shutil.copytree(outlet, folder / outlet.name)
        assert main(["run", "--input", str(folder), "--home", str(home), "--run-id", f"R{number}", "--quiet"]) == 0
    db = home / "corpus.sqlite"
    rows, deletes = contents(db), live_delete_files(db)
    assert deletes > 0
    monkeypatch.setenv("NEWSINGEST_COMPACT_DELETE_THRESHOLD", "0")
    assert main(["compact", "--home", str(home)]) == 0
    assert live_delete_files(db) == 0
    assert contents(db) == rows
