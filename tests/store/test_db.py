from __future__ import annotations

import duckdb
import pytest

from pipeline.store.db import SCHEMA_DIR, connect, migrate, migrations


def test_migrations_are_ordered_and_idempotent(tmp_path):
    db = tmp_path / "x.duckdb"
    with connect(db) as con:
        version = con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
        assert version == max(v for v, _ in migrations(SCHEMA_DIR))
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


def test_a_lower_migration_merged_later_is_still_applied(tmp_path):
    # Parallel branches: 003 is applied first, then a branch that adds 002 is merged.
    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / "001_a.sql").write_text("CREATE TABLE a (x INTEGER);")
    (schema / "003_c.sql").write_text("CREATE TABLE c (x INTEGER);")
    con = duckdb.connect(str(tmp_path / "z.duckdb"))
    assert migrate(con, schema) == 3
    (schema / "002_b.sql").write_text("CREATE TABLE b (x INTEGER);")
    assert migrate(con, schema) == 3
    assert [v for (v,) in con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()] == [1, 2, 3]
    assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'b'").fetchall()[0][0] == 1


def test_two_migrations_with_one_number_are_rejected(tmp_path):
    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / "001_a.sql").write_text("SELECT 1;")
    (schema / "001_b.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="share a number"):
        migrations(schema)
