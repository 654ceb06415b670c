"""``newsingest``: the command-line interface (stable: other tools call it).

    newsingest clean PATH... [--format auto|html|text] [--url URL]
    newsingest dedup IN.jsonl [--out OUT.jsonl]
    newsingest run --input PATH [--db FILE]
    newsingest report [--run RUN_ID] [--db FILE]
    newsingest reindex [--db FILE]
    newsingest clean-staging [--older-than HOURS]
    newsingest eval-clean --manifest M [--input html|txt] [--workers N]
    newsingest fetch --feed URL | --sitemap URL | --urls FILE | --homepage URL [--db FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from pipeline import __version__
from pipeline.settings import load_settings
from pipeline.workers import clean_shard, import_in_background, import_module_quietly, process_pool

EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_DRIFT = 4  # run: landed, but sources look like they changed their layout and health_action is fail


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _clean_one(job):
    from pipeline.model import Quarantined
    from pipeline.stages import clean_raw

    item, settings, url, force_format = job
    if isinstance(item, Quarantined):
        return item
    if url:
        item.url = url
    return clean_raw(item, settings, {}, force_format=force_format)


def cmd_clean(args) -> int:
    from pipeline.model import Quarantined
    from pipeline.sources import iter_local_documents

    settings = load_settings(args.config)
    force_format = None if args.format == "auto" else args.format
    jobs = ((item, settings, args.url, force_format) for item in iter_local_documents(args.paths, settings.max_document_bytes))
    workers = settings.worker_count
    failures = 0
    with process_pool(workers) if workers > 1 else _Inline() as pool:
        # map keeps input order; chunks amortise the hand-over between processes
        for result in pool.map(_clean_one, jobs, chunksize=16):
            if isinstance(result, Quarantined):
                failures += 1
                line = {"source": result.uri, "error": result.reason, "detail": result.detail}
            else:
                line = {
                    "source": result.uri, "title": result.title,
                    "published_at": result.published_at.isoformat() if result.published_at else None,
                    "authors": result.authors, "wire_agency": result.wire_agency, "language": result.language,
                    "body": result.body, "removed": [{"text": s.text, "reason": s.reason} for s in result.removed],
                    "url": result.url, "tags": result.tags, "summary": result.summary,
                }
            print(json.dumps(line, ensure_ascii=False), flush=True)
    return 1 if failures else 0


class _Inline:
    """The executor interface, in this process (one worker, or a machine with one core)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, iterable, chunksize=1):
        return map(fn, iterable)


def cmd_eval_clean(args) -> int:
    from pipeline.clean.evaluate import evaluate

    settings = load_settings(args.config)
    min_docs = settings.site_repeat_min_docs if args.site_repeat_min_docs is None else args.site_repeat_min_docs
    result = evaluate(args.manifest, args.input, workers=args.workers, site_repeat_min_docs=min_docs or None)
    failed = sum(1 for page in result.pages if page.error)
    print(f"pages      {len(result.pages)} ({args.input}; {failed} with no output)")
    print(f"precision  {result.precision:.4f}")
    print(f"recall     {result.recall:.4f}")
    print(f"f1         {result.f1:.4f}")
    print(f"docs/s     {result.docs_per_second:.1f} on {result.workers} worker(s)")
    if args.per_page:
        for page in result.pages:
            print(f"{page.page_id}\tP={page.precision:.3f}\tR={page.recall:.3f}\t{page.error or ''}")
    return 0


def cmd_dedup(args) -> int:
    """Exit 0, or 1 when some records were refused (an error object stands in their place), or 2
    when the input cannot be read or the output written."""
    from pipeline.dedup.records import iter_results, read_records, write_results

    settings = load_settings(args.config)
    try:
        records = read_records(args.input, settings.max_document_bytes)
    except OSError as exc:
        print(f"newsingest dedup: cannot read {args.input}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    # Counted before the rows are written: writing consumes the records.
    refused, first, total = records.refused, records.first_refused(), len(records)
    try:
        write_results(iter_results(records, containment=settings.near_dup_threshold), args.out, sys.stdout)
    except OSError as exc:
        print(f"newsingest dedup: cannot write {args.out or 'standard output'}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    finally:
        records.close()
    if refused:
        print(f"newsingest dedup: {refused} of {total} records refused (first: line {first['line']}, {first['error']}: {first['detail']})", file=sys.stderr)
        return 1
    return 0


def _warm_cleaner() -> None:
    """Imports and models a clean worker needs, loaded while the main process reads the input."""
    import py3langid

    from pipeline.clean import phrase_book

    phrase_book()
    py3langid.classify("warming up the language model")


def _release_memory() -> None:
    """What a stage freed goes back to the system before the next one, so peaks do not stack."""
    import gc

    import pyarrow as pa

    gc.collect()
    # What survives is mostly imported modules (Great Expectations and pandas: millions of
    # objects); frozen, later collections skip them. Frozen objects are still freed when
    # unreferenced; only a cycle among them would wait for the process to end.
    gc.freeze()
    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):  # freed Python objects stay in malloc's arenas otherwise
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass


def cmd_run(args) -> int:
    """Exit 0 when the batch landed (quarantined documents are outcomes too: see the summary),
    2 when an input does not exist (nothing is run), 3 when the run failed (nothing is landed), 4
    when it landed but sources drifted and ``health_action`` is 'fail'."""
    from pipeline import staging

    settings = load_settings(args.config, db_path=args.db, home=args.home)
    missing = [path for path in args.input if not os.path.lexists(path)]
    if missing:
        print(f"newsingest run: no such input: {', '.join(map(str, missing))}", file=sys.stderr)
        return EXIT_USAGE
    run_id = args.run_id or "cli__" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    staging.remove_stale_runs(settings.staging_url)  # left by runs that were killed
    staging.claim_run(settings.staging_url, run_id)
    try:
        return _run(args, settings, run_id)
    finally:
        if not args.keep_staging:
            staging.remove_run(settings.staging_url, run_id)


def _run(args, settings, run_id: str) -> int:
    from tqdm import tqdm

    from pipeline import stages
    from pipeline.sources.files import iter_input_files

    progress = tqdm(total=6, desc="load", unit="stage", disable=args.quiet, file=sys.stderr)
    clock = stages.StageClock()

    def done(stage: str, following: str | None) -> None:
        clock.lap(stage)
        progress.update(1)
        if following:
            progress.set_description(following)

    files = sum(1 for _ in iter_input_files(args.input))
    workers = min(settings.worker_count, max(1, files))
    shard_size = max(1, min(settings.shard_size, math.ceil(files / workers) if files else 1))
    # Great Expectations costs about 2 s of CPU to import. A process of its own imports it while
    # this one reads the input (the load leaves a core idle) and then validates the batch there;
    # imported here, on a thread, it would take that time from the clean workers.
    validator = process_pool(1) if settings.worker_count > 1 else None
    try:
        if validator is not None:
            validator.submit(import_module_quietly, "pipeline.validate.gx_import")
        # The workers start and load their models while this process reads the input.
        pool = process_pool(workers) if workers > 1 else None
        try:
            if pool is not None:
                for _ in range(workers):
                    pool.submit(_warm_cleaner)
            loaded = stages.stage_load(args.input, run_id, replace(settings, shard_size=shard_size))
            _release_memory()
            done("load", f"clean {loaded['to_clean']} docs")
            validation_import = import_in_background("pipeline.validate.gx_import") if validator is None else None
            import_in_background("pipeline.report.charts")
            jobs = [(shard, loaded["boilerplate"], settings) for shard in loaded["shards"]]
            cleaned = list(pool.map(clean_shard, jobs)) if pool is not None and len(jobs) > 1 else [clean_shard(job) for job in jobs]
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        done("clean", "dedup")
        deduped = stages.stage_dedup(cleaned, run_id, settings)
        _release_memory()
        done("dedup", "validate")
        if validator is not None:
            validated = validator.submit(stages.stage_validate, deduped, cleaned, run_id, settings).result()
        else:
            validation_import.join()
            validated = stages.stage_validate(deduped, cleaned, run_id, settings)
    finally:
        if validator is not None:
            validator.shutdown(wait=True, cancel_futures=True)
    _release_memory()
    done("validate", "land")
    stages.stage_land(loaded, cleaned, deduped, validated, run_id, settings)
    _release_memory()
    done("land", "report")
    report = stages.stage_report(run_id, settings, validated)
    done("report", None)
    progress.close()
    print(format_summary(report))
    if args.timings:
        print(f"seconds: {clock}", file=sys.stderr)
    for domain, why in sorted(report["drifting"].items()):
        print(f"newsingest run: source {domain} looks like it changed its layout: {why}", file=sys.stderr)
    return EXIT_DRIFT if report["drifting"] and settings.health_action == "fail" else 0


def format_summary(summary: dict) -> str:
    return (
        f"run {summary['run_id']}: {summary['article']} articles, {summary['duplicate']} duplicates, "
        f"{summary['quarantined']} quarantined, {summary['unchanged']} unchanged\n"
        f"corpus: {summary['corpus_articles']} articles, {summary['corpus_canonical']} canonical\n"
        f"database: {summary['db']}\nreport: {summary.get('report', '-')}"
    )


def cmd_reindex(args) -> int:
    """Sketch every stored article again (``store/reindex.py``), in one commit."""
    from pipeline.store import connect
    from pipeline.store.db import corpus_exists, retrying
    from pipeline.store.reindex import rebuild_near_index

    settings = load_settings(args.config, db_path=args.db, home=args.home)
    if not corpus_exists(settings.db_path):
        print(f"newsingest reindex: no corpus at {settings.db_path}", file=sys.stderr)
        return EXIT_USAGE
    with connect(settings.db_path, settings.lock_retry_seconds) as con:
        count = retrying(lambda: rebuild_near_index(con), settings.lock_retry_seconds)
    print(f"near-duplicate index rebuilt: {count} articles")
    return 0


def cmd_sql(args) -> int:
    """A SQL prompt (or one query) on the corpus: the latest snapshot, or the corpus as of a run."""
    from pipeline.store.query import run_sql

    settings = load_settings(args.config, db_path=args.db, home=args.home)
    return run_sql(settings, args.query, as_of_run=args.as_of_run, output=args.format)


def cmd_migrate_storage(args) -> int:
    """Move a corpus of the single-file layout (a DuckDB file) into the lake, verified table by table."""
    from pipeline.store.migrate_storage import migrate_storage

    settings = load_settings(args.config, db_path=args.db, home=args.home)
    source = Path(args.source)
    if not source.is_file():
        print(f"newsingest migrate-storage: no DuckDB file at {source}", file=sys.stderr)
        return EXIT_USAGE
    for line in migrate_storage(source, settings):
        print(line)
    return 0


def cmd_compact(args) -> int:
    """Merge small data files, expire old snapshots, delete unreferenced files."""
    from pipeline.store.db import corpus_exists
    from pipeline.store.maintain import compact

    settings = load_settings(args.config, db_path=args.db, home=args.home)
    if not corpus_exists(settings.db_path):
        print(f"newsingest compact: no corpus at {settings.db_path}", file=sys.stderr)
        return EXIT_USAGE
    done = compact(settings, args.retention_days)
    print(f"data files: {done['files_before']} -> {done['files_after']}; snapshots: {done['snapshots_before']} -> "
          f"{done['snapshots_after']} (expired before {done['expired_before']})")
    return 0


def cmd_search_index(args) -> int:
    """(Re)build the full-text index of titles and bodies (BM25) from the latest snapshot."""
    from pipeline.store.search import build_search_index

    settings = load_settings(args.config, db_path=args.db, home=args.home)
    summary = build_search_index(settings)
    print(f"search index: {summary['articles']} articles as of snapshot {summary['snapshot']} in {summary['path']}")
    return 0


def cmd_inbox(args) -> int:
    """What waits in the inbox and the fetch queue, what each run has claimed, what failed."""
    from pipeline.inbox.queue import status

    settings = load_settings(args.config, home=args.home)
    state = status(settings)
    if args.json:
        print(json.dumps(state, indent=2))
        return 0
    print(f"inbox: {state['inbox']}\npending: {state['pending_files']} files, {state['pending_manifests']} fetch batches")
    for run_id, claim in state["claimed"].items():
        print(f"claimed by {run_id}: {claim['files']} files, {claim['manifests']} fetch batches (attempt {claim['attempts']})")
    if state["failed"]:
        print(f"failed claims (in {settings.queue_dir}/failed, move their files back to the inbox to retry): {', '.join(state['failed'])}")
    return 0


def cmd_report(args) -> int:
    from pipeline.stages import stage_report
    from pipeline.store import read_connection

    settings = load_settings(args.config, db_path=args.db, home=args.home)
    run_id = args.run
    if run_id is None:
        with read_connection(settings.db_path) as con:
            rows = con.execute("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1").fetchall() if con else []
            row = rows[0] if rows else None
        if row is None:
            print(f"newsingest report: no runs in {settings.db_path}", file=sys.stderr)
            return 2
        run_id = row[0]
    else:
        with read_connection(settings.db_path) as con:
            known = con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchall()[0][0] if con else 0
        if not known:
            print(f"newsingest report: no run {run_id!r} in {settings.db_path}", file=sys.stderr)
            return EXIT_USAGE
    if args.backfill_health:
        from pipeline.monitor.health import backfill

        print(f"source health recorded for {backfill(settings)} earlier runs", file=sys.stderr)
    print(format_summary(stage_report(run_id, settings)))
    return 0


def cmd_clean_staging(args) -> int:
    from pipeline.staging import remove_stale_runs

    settings = load_settings(args.config, home=args.home)
    older = None if args.older_than is None else args.older_than * 3600
    for path in remove_stale_runs(settings.staging_url, older):
        print(f"removed {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsingest", description="Clean, deduplicate, validate and land news articles in DuckDB.")
    parser.add_argument("--version", action="version", version=f"newsingest {__version__}")
    parser.add_argument("--config", help="TOML settings file (overrides defaults; NEWSINGEST_* variables override it)")
    sub = parser.add_subparsers(dest="command", required=True)

    clean = sub.add_parser("clean", help="clean documents, print one JSON object per document")
    clean.add_argument("paths", nargs="+", help="files or directories")
    clean.add_argument("--format", choices=["auto", "html", "text"], default="auto")
    clean.add_argument("--url", help="the page's URL (for metadata and ids)")
    clean.set_defaults(func=cmd_clean)

    dedup = sub.add_parser("dedup", help='near-duplicate clusters of {"id","text"} JSON lines')
    dedup.add_argument("input", help="JSONL with id and text (optional url, published_at)")
    dedup.add_argument("--out", help="output JSONL (default: standard output)")
    dedup.set_defaults(func=cmd_dedup)

    evaluation = sub.add_parser("eval-clean", help="score the cleaner on labelled pages (precision, recall, F1, docs/s)")
    evaluation.add_argument("--manifest", required=True, help="JSONL: id, html and/or txt, expected (paths relative to it)")
    evaluation.add_argument("--input", choices=["html", "txt"], default="html", help="which input of each page to clean")
    evaluation.add_argument("--workers", type=int, help="processes (default: one per core)")
    evaluation.add_argument("--per-page", action="store_true", help="also print each page's scores")
    evaluation.add_argument(
        "--site-repeat-min-docs", type=int,
        help="lines a site repeats on this many of its pages are boilerplate, as in a pipeline batch (0: off; default: the setting)",
    )
    evaluation.set_defaults(func=cmd_eval_clean)

    run = sub.add_parser("run", help="the whole flow without Airflow")
    run.add_argument("--input", required=True, action="append", help="file or directory (repeatable)")
    run.add_argument("--db", help="the corpus catalog: a SQLite file, or postgres:<libpq string> (default: <home>/corpus.sqlite)")
    run.add_argument("--home", help="folder for the database, staging and reports (default: ./var)")
    run.add_argument("--run-id")
    run.add_argument("--keep-staging", action="store_true")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--timings", action="store_true", help="print each stage's seconds on stderr")
    run.set_defaults(func=cmd_run)

    report = sub.add_parser("report", help="write the HTML report of a run (default: the latest)")
    report.add_argument("--run")
    report.add_argument("--backfill-health", action="store_true",
                        help="first record source health for every landed run that has none (a corpus from before monitoring)")
    report.add_argument("--db")
    report.add_argument("--home")
    report.set_defaults(func=cmd_report)

    reindex = sub.add_parser("reindex", help="rebuild the near-duplicate index from the stored articles")
    reindex.add_argument("--db")
    reindex.add_argument("--home")
    reindex.set_defaults(func=cmd_reindex)

    sql = sub.add_parser("sql", help="SQL on the corpus: one query, or a prompt when none is given")
    sql.add_argument("query", nargs="?", help="one SQL statement (default: an interactive prompt)")
    sql.add_argument("--as-of-run", metavar="RUN_ID", help="the corpus as that run's commit left it (time travel)")
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sql.add_argument("--db")
    sql.add_argument("--home")
    sql.set_defaults(func=cmd_sql)

    compacting = sub.add_parser("compact", help="merge small data files, expire old snapshots, delete unreferenced files")
    compacting.add_argument("--retention-days", type=float, help="keep snapshots this recent (default: the setting, 30)")
    compacting.add_argument("--db")
    compacting.add_argument("--home")
    compacting.set_defaults(func=cmd_compact)

    search = sub.add_parser("search-index", help="(re)build the full-text (BM25) index of titles and bodies")
    search.add_argument("--db")
    search.add_argument("--home")
    search.set_defaults(func=cmd_search_index)

    inbox = sub.add_parser("inbox", help="the ingest queue: pending inbox files and fetch batches, claims of runs, failed claims")
    inbox.add_argument("--json", action="store_true")
    inbox.add_argument("--home")
    inbox.set_defaults(func=cmd_inbox)

    moving = sub.add_parser("migrate-storage", help="move a corpus of the single-file layout (DuckDB file) into the lake")
    moving.add_argument("source", help="the DuckDB file (e.g. var/newsingest.duckdb)")
    moving.add_argument("--db", help="the lake catalog to fill (default: <home>/corpus.sqlite)")
    moving.add_argument("--home")
    moving.set_defaults(func=cmd_migrate_storage)

    staging = sub.add_parser("clean-staging", help="remove the staging folders of runs that were killed or failed")
    staging.add_argument("--home")
    staging.add_argument("--older-than", type=float, metavar="HOURS",
                         help="also folders of runs started elsewhere (a DAG run, another machine) untouched for this many hours")
    staging.set_defaults(func=cmd_clean_staging)

    from pipeline.sources.web.cli import add_parser as add_fetch_parser

    add_fetch_parser(sub)

    from pipeline.service import add_parser as add_service_parser

    add_service_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done; 1 done, but some records were refused (clean, dedup, fetch: an error
    object or a quarantine row says which); 2 a usage error or an input that cannot be read,
    nothing done; 3 the command itself failed (storage, a batch-level validation failure, a bug),
    with a one-line message on standard error."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("NEWSINGEST_TRACEBACK"):
            raise
        print(f"newsingest {args.command}: failed: {type(exc).__name__}: {str(exc)[:2000]} (NEWSINGEST_TRACEBACK=1 shows where)", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
