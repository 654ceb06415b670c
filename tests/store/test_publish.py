"""Publish: the replica and the Parquet exports belong to the database they copy."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline.settings import Settings, load_settings
from pipeline.store.db import connect
from pipeline.store.publish import publish


def make_db(path: Path, marker: str) -> None:
    with connect(path, 5) as con:
        con.execute(
            "INSERT INTO quarantine VALUES (?, ?, 'load', 'empty_file', NULL, 'run', 'test', ?)",
            [marker, f"{marker}.txt", datetime(2026, 1, 1, tzinfo=UTC)],
        )


def markers(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        with duckdb.connect() as con:
            return [r[0] for r in con.execute("SELECT raw_id FROM read_parquet(?)", [str(path)]).fetchall()]
    with duckdb.connect(str(path), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT raw_id FROM quarantine").fetchall()]


def test_default_layout_is_kept(tmp_path):
    settings = Settings(home=tmp_path)
    assert settings.replica_path == tmp_path / "newsingest.read.duckdb"
    assert settings.export_dir == tmp_path / "export"
    # the same database named explicitly gets the same layout
    named = load_settings(environ={}, home=str(tmp_path), db_path=str(tmp_path / "newsingest.duckdb"))
    assert (named.replica_path, named.export_dir) == (settings.replica_path, settings.export_dir)


def test_explicit_replica_and_export_paths_win(tmp_path):
    settings = load_settings(
        environ={"NEWSINGEST_REPLICA_PATH": str(tmp_path / "r.duckdb")},
        home=str(tmp_path), db_path=str(tmp_path / "a.duckdb"), export_dir=str(tmp_path / "out"),
    )
    assert settings.replica_path == tmp_path / "r.duckdb"
    assert settings.export_dir == tmp_path / "out"


def test_two_databases_under_one_home_keep_their_own_replica_and_exports(tmp_path):
    home, dbs = tmp_path / "home", tmp_path / "dbs"
    published = {}
    for name in ("A", "B"):  # as `newsingest run --db dbs/A.duckdb` then `--db dbs/B.duckdb`
        settings = load_settings(environ={}, home=str(home), db_path=str(dbs / f"{name}.duckdb"))
        make_db(settings.db_path, name)
        published[name] = publish(settings)
    assert published["A"]["replica"] == str(dbs / "A.read.duckdb")
    assert published["B"]["replica"] == str(dbs / "B.read.duckdb")
    for name in ("A", "B"):
        assert markers(Path(published[name]["replica"])) == [name]
        assert markers(Path(published[name]["exports"]["quarantine"])) == [name]
    assert Path(published["A"]["exports"]["quarantine"]).parent != Path(published["B"]["exports"]["quarantine"]).parent


def test_paths_with_quotes_publish(tmp_path):
    home = tmp_path / "o'brien's \"news\""
    settings = Settings(home=home)
    make_db(settings.db_path, "q")
    result = publish(settings)
    assert markers(Path(result["replica"])) == ["q"]
    exported = Path(result["exports"]["quarantine"])
    assert exported == home / "export" / "quarantine.parquet"
    with duckdb.connect() as con:
        assert con.execute("SELECT raw_id FROM read_parquet(?)", [str(exported)]).fetchall() == [("q",)]
    assert not list((home / "export").glob(".*.tmp"))
