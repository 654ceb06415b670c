"""One settings object. Defaults ship here; a TOML file or environment variables override
only what they set (``NEWSINGEST_<FIELD>``, e.g. ``NEWSINGEST_DB_PATH``)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

ENV_PREFIX = "NEWSINGEST_"


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path = Path("var")
    db_path: Path | None = None  # default: <home>/newsingest.duckdb
    staging_url: str | None = None  # local path or fsspec URL; default: <home>/staging
    report_dir: Path | None = None  # default: <home>/reports
    replica_path: Path | None = None  # default: <home>/newsingest.read.duckdb
    export_dir: Path | None = None  # default: <home>/export
    shard_size: int = 200  # documents per clean task
    max_document_bytes: int = 5_000_000
    max_clean_seconds: float = 20.0  # per document
    min_body_words: int = 40
    site_repeat_min_docs: int = 3  # a line seen in this many documents of one site is boilerplate
    near_dup_threshold: float = 0.45  # containment of the smaller copy's sketch in the canonical's (pipeline/dedup/cluster.py)
    story_min_shared_terms: int = 5
    story_window_days: int = 3
    lock_retry_seconds: float = 60.0
    workers: int = 0  # 0: one per core

    def __post_init__(self) -> None:
        home = Path(self.home)
        object.__setattr__(self, "home", home)
        defaults = {
            "db_path": home / "newsingest.duckdb",
            "staging_url": str(home / "staging"),
            "report_dir": home / "reports",
            "replica_path": home / "newsingest.read.duckdb",
            "export_dir": home / "export",
        }
        for name, value in defaults.items():
            current = getattr(self, name)
            if current is None:
                object.__setattr__(self, name, value)
            elif name != "staging_url":
                object.__setattr__(self, name, Path(current))

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


def _coerce(kind: str, raw: str):
    if "int" in kind and "float" not in kind:
        return int(raw)
    if "float" in kind:
        return float(raw)
    return raw


def load_settings(config_file: str | Path | None = None, environ=None, **overrides) -> Settings:
    """Defaults, then the TOML file (``[newsingest]`` table or top level), then the environment,
    then explicit keyword overrides (None values are ignored)."""
    environ = os.environ if environ is None else environ
    values: dict = {}
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        with open(config_file, "rb") as fh:
            data = tomllib.load(fh)
        values.update(data.get("newsingest", data))
    known = {f.name: str(f.type) for f in fields(Settings)}
    for name, kind in known.items():
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = _coerce(kind, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}; known: {sorted(known)}")
    return Settings(**values)
