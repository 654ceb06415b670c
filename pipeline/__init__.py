"""News ingestion pipeline: load, clean, deduplicate, validate and land news articles in DuckDB."""

__version__ = "0.1.0"
