"""``newsingest fetch --feed URL | --sitemap URL | --urls FILE | --homepage URL [--db FILE]``.

Without a source option it fetches the sources file (``--sources`` or the ``fetch_sources``
setting). Prints the batch summary as JSON; the manifest it names is what ``newsingest run
--input`` or the news_ingest DAG loads. Exit code 1 when any URL was quarantined."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime


def add_parser(sub) -> None:
    fetch = sub.add_parser("fetch", help="fetch feeds, sitemaps, URL lists or homepages into the raw store")
    what = fetch.add_mutually_exclusive_group()
    what.add_argument("--feed", action="append", help="RSS or Atom feed URL (repeatable)")
    what.add_argument("--sitemap", action="append", help="sitemap or sitemap index URL (repeatable)")
    what.add_argument("--urls", action="append", help="file of URLs, one a line (repeatable)")
    what.add_argument("--homepage", action="append", help="homepage whose feeds are discovered (repeatable)")
    what.add_argument("--sources", help="sources TOML file (default: the fetch_sources setting)")
    fetch.add_argument("--db", help="DuckDB file (default: <home>/newsingest.duckdb)")
    fetch.add_argument("--home", help="folder for the database and the raw store (default: ./var)")
    fetch.add_argument("--run-id")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(func=cmd_fetch)


def cmd_fetch(args) -> int:
    from tqdm import tqdm

    from pipeline.settings import load_settings
    from pipeline.sources.web.crawl import Source, load_sources, run_fetch

    settings = load_settings(args.config, db_path=args.db, home=args.home)
    given = [Source(kind, location) for kind in ("feed", "sitemap", "urls", "homepage") for location in (getattr(args, kind) or [])]
    try:
        sources = given or load_sources(args.sources or settings.fetch_sources or _missing_sources())
    except (OSError, ValueError) as exc:
        print(f"newsingest fetch: {exc}", file=sys.stderr)
        return 2
    run_id = args.run_id or "cli__" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    with tqdm(desc="fetch", unit="page", disable=args.quiet, file=sys.stderr) as progress:
        summary = run_fetch(settings, run_id, sources, progress=progress, on_total=lambda n: progress.reset(total=n))
    print(json.dumps(summary, indent=2))
    return 1 if summary["outcomes"].get("quarantined") else 0


def _missing_sources():
    raise ValueError("nothing to fetch: give --feed, --sitemap, --urls, --homepage or --sources (or set NEWSINGEST_FETCH_SOURCES)")
