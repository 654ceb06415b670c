"""DuckDB storage: connections with lock retry, ordered migrations from ``schemas/duckdb``."""

from pipeline.store.db import SCHEMA_DIR, connect, migrate, read_connection

__all__ = ["SCHEMA_DIR", "connect", "migrate", "read_connection"]
