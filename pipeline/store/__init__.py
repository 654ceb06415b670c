"""Storage: the corpus as a DuckLake (catalog + Parquet files), sessions with conflict retry,
ordered migrations from ``schemas/ducklake``."""

from pipeline.store.db import SCHEMA_DIR, connect, migrate, read_connection

__all__ = ["SCHEMA_DIR", "connect", "migrate", "read_connection"]
