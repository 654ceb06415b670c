"""``newsingest sql``: DuckDB SQL on the corpus, one query or a prompt.

The session is what an analyst would set up by hand (README, "SQL surface"): the lake attached
read-only as ``corpus`` and made the default, the fetcher's state as ``fetch`` and the full-text
index as ``search`` when they exist. Reading never blocks ingestion: each statement sees the
snapshot committed when it started, and a new statement sees the batches committed since.
"""

from __future__ import annotations

import json
import sys

import duckdb

from pipeline.settings import Settings
from pipeline.store.db import POSTGRES_PREFIX, attach, corpus_exists, load_extension, run_snapshot, session

EXIT_USAGE = 2


def open_session(settings: Settings, as_of_run: str | None = None) -> duckdb.DuckDBPyConnection:
    """The analyst's session; ``as_of_run``: the corpus as that run's land commit left it."""
    from pipeline.store.search import search_index_path

    if not corpus_exists(settings.db_path):
        raise FileNotFoundError(f"no corpus at {settings.db_path} (run `newsingest run` first)")
    con = session()
    snapshot = None
    if as_of_run is not None:
        attach(con, settings.db_path, read_only=True, alias="latest", use=False, retry_seconds=settings.lock_retry_seconds)
        snapshot = run_snapshot(con, as_of_run, alias="latest")
        con.execute("DETACH latest")
        if snapshot is None:
            con.close()
            raise LookupError(f"no landed run {as_of_run!r} in {settings.db_path}")
    attach(con, settings.db_path, read_only=True, snapshot=snapshot, retry_seconds=settings.lock_retry_seconds)
    if settings.fetch_state_path.exists():
        con.execute(f"ATTACH '{_escape(settings.fetch_state_path)}' AS fetch (READ_ONLY)")
    index = search_index_path(settings)
    if index.exists():
        load_extension(con, "fts")
        con.execute(f"ATTACH '{_escape(index)}' AS search (READ_ONLY)")
        # The index's BM25 macro names its tables by schema only (fts_main_documents.*).
        con.execute("SET search_path = 'corpus.main,search.main,search.fts_main_documents'")
    return con


def _escape(path) -> str:
    return str(path).replace("'", "''")


def _print(con: duckdb.DuckDBPyConnection, statement: str, output: str, out) -> None:
    cursor = con.execute(statement)
    if cursor.description is None:
        return
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    if output == "json":
        for row in rows:
            out.write(json.dumps(dict(zip(names, row)), default=str, ensure_ascii=False) + "\n")
    elif output == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
    else:
        out.write(_table(names, rows) + "\n")


def _table(names: list[str], rows: list[tuple], width: int = 60) -> str:
    def cell(value) -> str:
        text = "NULL" if value is None else str(value).replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
    line = "+".join("-" * (w + 2) for w in widths)
    render = [" | ".join(n.ljust(w) for n, w in zip(names, widths)), line]
    render += [" | ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    render.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(render)


def run_sql(settings: Settings, query: str | None, as_of_run: str | None = None, output: str = "table", out=None, source=None) -> int:
    out = out or sys.stdout
    try:
        con = open_session(settings, as_of_run)
    except (FileNotFoundError, LookupError) as exc:
        print(f"newsingest sql: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if query is not None:
            _print(con, query, output, out)
            return 0
        return _prompt(con, output, out, source or sys.stdin)
    finally:
        con.close()


def _prompt(con, output: str, out, source) -> int:
    """Statements end with ``;``; ``.quit`` (or end of input) leaves. An error is printed and the
    prompt goes on, as in the DuckDB shell."""
    interactive = source.isatty()
    if interactive:
        out.write("newsingest sql: the corpus is attached as `corpus` (tables: SHOW TABLES;). End statements with ';', leave with .quit\n")
    pending: list[str] = []
    while True:
        if interactive:
            out.write("corpus> " if not pending else "   ...> ")
            out.flush()
        line = source.readline()
        if not line or (not pending and line.strip() in (".quit", ".exit", "\\q")):
            break
        pending.append(line)
        text = "".join(pending).strip()
        if not text.endswith(";"):
            continue
        pending = []
        try:
            _print(con, text, output, out)
        except duckdb.Error as exc:
            out.write(f"Error: {exc}\n")
        out.flush()
    if interactive:
        out.write("\n")
    return 0


__all__ = ["POSTGRES_PREFIX", "open_session", "run_sql"]
