from __future__ import annotations

import duckdb
import pytest

from pipeline.store.db import SCHEMA_DIR, connect, migrate, migrations


def test_migrations_are_ordered_and_idempotent(tmp_path):
    db = tmp_path / "x.duckdb"
    with connect(db) as con:
        version = con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
        assert version == len(migrations(SCHEMA_DIR))
        assert migrate(con) == version  # nothing left to apply
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"articles", "canonical_articles", "duplicates", "removed_segments", "quarantine", "runs", "run_ledger", "validation_results"} <= tables


def test_bad_migration_rolls_back(tmp_path):
    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / "001_ok.sql").write_text("CREATE TABLE a (x INTEGER);")
    (schema / "002_broken.sql").write_text("CREATE TABLE b (x INTEGER); SELECT * FROM missing_table;")
    con = duckdb.connect(str(tmp_path / "y.duckdb"))
    with pytest.raises(duckdb.CatalogException):
        migrate(con, schema)
    assert con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0] == 1
    assert not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'b'").fetchall()[0][0]


def test_migration_names_are_checked(tmp_path):
    (tmp_path / "1_bad.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="NNN_name.sql"):
        migrations(tmp_path)
