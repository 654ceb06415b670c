"""Full-text search (BM25) over titles and bodies of the canonical articles.

DuckDB's full-text index is built over a table of one database and is not updated incrementally,
so it is not part of the commit (a commit's cost must not grow with the corpus): ``newsingest
search-index`` builds it on demand from the latest snapshot into its own DuckDB file, written
beside and swapped in whole, so readers of the previous index are never disturbed. The file
records the snapshot it was built from (``search_meta``).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from pipeline.settings import Settings
from pipeline.store.db import MEMORY_LIMIT, load_extension, read_connection


def search_index_path(settings: Settings) -> Path:
    return Path(settings.home) / "search.duckdb"


def build_search_index(settings: Settings) -> dict:
    target = search_index_path(settings)
    partial = target.with_name(target.name + ".building")
    partial.unlink(missing_ok=True)
    with read_connection(settings.db_path, settings.lock_retry_seconds) as lake:
        if lake is None:
            raise FileNotFoundError(f"no corpus at {settings.db_path}")
        snapshot = lake.execute("SELECT max(snapshot_id) FROM ducklake_snapshots('corpus')").fetchall()[0][0]
        lake.execute(f"ATTACH '{str(partial).replace(chr(39), chr(39) * 2)}' AS building")
        lake.execute(
            "CREATE TABLE building.documents AS SELECT article_id, title, body, domain, published_at, story_id "
            "FROM corpus.canonical_articles"
        )
        articles = lake.execute("SELECT count(*) FROM building.documents").fetchall()[0][0]
        lake.execute("CREATE TABLE building.search_meta AS SELECT $snapshot::BIGINT AS snapshot_id, now() AS built_at", {"snapshot": snapshot})
        lake.execute("DETACH building")
    con = duckdb.connect(str(partial), config={"memory_limit": MEMORY_LIMIT})
    try:
        load_extension(con, "fts")
        con.execute("PRAGMA create_fts_index('documents', 'article_id', 'title', 'body', stemmer = 'porter', stopwords = 'english', overwrite = 1)")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(partial, target)
    return {"path": str(target), "articles": articles, "snapshot": snapshot}
