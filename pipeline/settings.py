"""One settings object. Defaults ship here; a TOML file or environment variables override
only what they set (``NEWSINGEST_<FIELD>``, e.g. ``NEWSINGEST_DB_PATH``)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

ENV_PREFIX = "NEWSINGEST_"
DEFAULT_DB_NAME = "corpus.sqlite"


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path = Path("var")
    # The corpus: its DuckLake catalog, a SQLite file (Parquet files in <stem>.files/ beside it), or
    # postgres:<libpq string> with NEWSINGEST_LAKE_DATA_PATH naming the shared data folder.
    db_path: Path | str | None = None  # default: <home>/corpus.sqlite
    staging_url: str | None = None  # local path or fsspec URL; default: <home>/staging
    report_dir: Path | None = None  # default: <home>/reports
    fetch_state_path: Path | None = None  # the fetcher's own state (DuckDB); default: <home>/fetch_state.duckdb
    shard_size: int = 200  # documents per clean task
    max_document_bytes: int = 5_000_000
    max_clean_seconds: float = 20.0  # per document
    min_body_words: int = 40
    site_repeat_min_docs: int = 3  # a line seen in this many documents of one site is boilerplate
    near_dup_threshold: float = 0.45  # containment of the smaller copy's sketch in the canonical's (pipeline/dedup/cluster.py)
    story_min_shared_terms: int = 5
    story_window_days: int = 3
    lock_retry_seconds: float = 60.0  # how long a commit that meets another writer's is tried again
    snapshot_retention_days: float = 30.0  # newsingest compact expires older snapshots (time travel reaches this far)
    compact_delete_threshold: float = 0.1  # newsingest compact rewrites a data file once this share of its rows is deleted
    workers: int = 0  # 0: one per core
    # The inbox (pipeline/inbox): files renamed into <inbox_dir>/<domain>/ are ingested by the service.
    inbox_dir: Path | None = None  # default: <home>/inbox
    queue_dir: Path | None = None  # claims, pending fetch manifests, dead letters; default: <home>/queue
    processed_dir: Path | None = None  # where ingested inbox files end; default: <home>/processed
    inbox_keep_processed: bool = True  # false: ingested files are removed (their outcome stays in the ledger)
    inbox_settle_seconds: float = 1.0  # a file modified more recently may still be being written
    inbox_max_claim: int = 50_000  # files per run; the rest waits for the next run
    inbox_max_attempts: int = 3  # runs that may fail on a claim before it moves to <queue_dir>/failed
    micro_batch_max_docs: int = 1_000  # a batch this small runs in one task, in one process
    validate_chunk_rows: int = 5_000  # articles per Great Expectations validation: bounds the validate stage's memory
    data_docs_keep: int = 100  # validations kept in the Data Docs (<report_dir>/data_docs), the oldest dropped first; 0 keeps all
    # Fetching from the web (pipeline/sources/web): politeness, limits and the address policy.
    fetch_sources: Path | None = None  # TOML list of feeds, sitemaps, URL lists, homepages
    raw_dir: Path | None = None  # content-addressed raw store; default: <home>/raw
    fetch_user_agent: str = "newsingest/0.1 (+https://news.example.invalid/crawler)"
    fetch_connect_timeout: float = 10.0
    fetch_read_timeout: float = 20.0
    fetch_body_deadline: float = 60.0  # whole body, against servers that drip bytes
    fetch_url_deadline: float = 60.0  # everything for one URL: hops, retries and their waits, connect, headers, body
    fetch_retries: int = 3  # on 429 and 5xx
    fetch_backoff_seconds: float = 1.0  # first retry wait, doubling; Retry-After wins
    fetch_max_retry_after: float = 120.0  # a longer Retry-After gives up instead of waiting
    fetch_host_delay: float = 2.0  # between requests to one host; robots.txt Crawl-delay when larger
    fetch_max_crawl_delay: float = 30.0
    fetch_max_bytes: int = 5_000_000  # per response, on the wire and after decompression
    fetch_max_redirects: int = 5
    fetch_content_types: str = "text/html,application/xhtml+xml,text/plain"
    fetch_revisit_seconds: float = 86_400.0  # a page checked more recently is not requested again
    fetch_robots_ttl_seconds: float = 86_400.0
    fetch_max_links_per_source: int = 5_000  # enqueued per feed/sitemap/list per run; the most recently dated first
    fetch_max_pages: int = 5_000  # per run; the rest is carried over to the next run
    fetch_time_budget_seconds: float = 600.0  # per run (the DAG runs every 15 min); the rest is carried over
    fetch_allow_loopback: bool = False  # test-only: lets 127.0.0.1 through the address policy
    fetch_ca_bundle: str = ""  # extra CA certificates (PEM file); default: the certifi bundle
    # Source health (pipeline/monitor/health.py): a source is judged on its latest documents against
    # the documents of its runs before them.
    health_min_documents: int = 10  # latest documents of a source (this run's and back) judged together
    health_baseline_documents: int = 30  # documents before them needed for a baseline; fewer: not judged
    health_baseline_runs: int = 50  # runs of a source looked back at, at most
    health_share_jump: float = 0.25  # empty-body or quarantine share this much above the baseline's
    health_words_drop: float = 0.5  # mean body words below this fraction of the baseline's
    health_removals_change: float = 2.0  # removed boilerplate segments per document changed by this factor
    health_action: str = "warn"  # warn: log and flag the report; fail: the run fails after landing
    report_trend_runs: int = 500  # runs the trend charts span
    report_keep_runs: int = 1_000  # run reports kept in report_dir (the oldest are removed)
    report_max_source_pages: int = 100  # source pages a run writes at most (drifting sources always); the rest in later runs
    report_source_refresh_seconds: float = 60.0  # a source's page is rewritten at most this often (and when its verdict changes)

    def __post_init__(self) -> None:
        home = Path(self.home)
        object.__setattr__(self, "home", home)
        db = home / DEFAULT_DB_NAME if self.db_path is None else self.db_path
        if not str(db).startswith("postgres:"):
            db = Path(db)
        object.__setattr__(self, "db_path", db)
        defaults = {
            "staging_url": str(home / "staging"),
            "report_dir": home / "reports",
            "fetch_state_path": home / "fetch_state.duckdb",
            "raw_dir": home / "raw",
            "inbox_dir": home / "inbox",
            "queue_dir": home / "queue",
            "processed_dir": home / "processed",
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
    if kind == "bool":
        if raw.strip().lower() not in {"1", "true", "yes", "on", "0", "false", "no", "off", ""}:
            raise ValueError(f"expected a boolean (true/false), found {raw!r}")
        return raw.strip().lower() in {"1", "true", "yes", "on"}
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
