from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = REPO / "pipeline" / "sample_corpus"
SHARED = Path(os.environ.get("NEWSINGEST_SHARED", REPO.parent / "shared"))
SEEDS = SHARED / "seeds"
EXPECTED = REPO / "tests" / "sample_corpus_expected"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "var", workers=1)


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"the shared seeds are not beside the checkout ({SEEDS})")
    return SEEDS


def corpus_expectations() -> list[dict]:
    rows = []
    for name in ("wire.json", "other.json"):
        rows.extend(json.loads((EXPECTED / name).read_text(encoding="utf-8")))
    return rows


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of this session (tests/services/postgres.py), stopped at its end."""
    from tests.services.postgres import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer()
    except PostgresUnavailable as exc:
        missing = str(exc)
    else:
        missing = None
    if missing:
        pytest.fail(missing, pytrace=False)  # not a skip: CI has the packages
    try:
        server.start()
        yield server
    finally:
        left = server.stop()
        assert not left, f"PostgreSQL processes left running: {left}"


@pytest.fixture
def postgres_db(postgres) -> str:
    """A fresh database on the session's server: its libpq connection string."""
    return postgres.create_database()
