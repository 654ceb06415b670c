-- Data-quality monitoring (pipeline/monitor/health.py): per run and source, what came in and what
-- came out, written after the run lands. Trends and drift detection read these small tables, never
-- the corpus. Counts and sums (not ratios), so any window of runs adds up.

-- key: run_id, domain
CREATE TABLE IF NOT EXISTS source_health (
    run_id             VARCHAR NOT NULL,
    run_started_at     TIMESTAMPTZ NOT NULL,
    domain             VARCHAR NOT NULL,
    documents          INTEGER NOT NULL,   -- ledger rows: every input of the source
    articles           INTEGER NOT NULL,
    duplicates         INTEGER NOT NULL,
    quarantined        INTEGER NOT NULL,
    unchanged          INTEGER NOT NULL,
    no_article_text    INTEGER NOT NULL,   -- quarantined because cleaning left no article body
    landed             INTEGER NOT NULL,   -- rows landed with a body (articles and duplicates)
    body_words         BIGINT NOT NULL,    -- summed over the landed rows
    removed_segments   INTEGER NOT NULL,   -- boilerplate segments the cleaner removed
    freshness_seconds  DOUBLE,             -- median of ingested_at - published_at
    fetch_lag_seconds  DOUBLE,             -- median of fetched_at - published_at (fetched pages)
    drift              VARCHAR             -- why the source looks like it changed its layout; NULL when it does not
);

-- key: run_id, domain, kind, reason; kind 'removed' (boilerplate segments) or 'quarantined' (documents)
CREATE TABLE IF NOT EXISTS source_reasons (
    run_id             VARCHAR NOT NULL,
    domain             VARCHAR NOT NULL,
    kind               VARCHAR NOT NULL,
    reason             VARCHAR NOT NULL,
    count              INTEGER NOT NULL
);
