-- Fetching from the web: what each canonical URL returned last, the frontier of each fetch batch
-- (what makes a killed fetch resumable) and the batches handed to ingestion.

-- One row per canonical URL ever requested (pages, feeds, sitemaps, robots.txt).
CREATE TABLE IF NOT EXISTS fetch_state (
    url               VARCHAR PRIMARY KEY,    -- canonical URL
    final_url         VARCHAR,                -- after redirects
    kind              VARCHAR NOT NULL,       -- page, feed, sitemap, homepage, robots
    status            VARCHAR NOT NULL CHECK (status IN ('fetched', 'not_modified', 'failed', 'refused')),
    http_status       INTEGER,
    etag              VARCHAR,
    last_modified     VARCHAR,
    raw_id            VARCHAR,                -- sha256 of the last body received
    raw_path          VARCHAR,
    content_type      VARCHAR,
    encoding          VARCHAR,                -- detected; the clean stage decodes with it
    declared_charset  VARCHAR,                -- what the server said
    reason            VARCHAR,                -- quarantine reason of the last failure
    detail            VARCHAR,
    fetched_at        TIMESTAMPTZ,            -- last time a body was received
    checked_at        TIMESTAMPTZ NOT NULL,   -- last time the URL was requested
    fetch_run_id      VARCHAR NOT NULL,
    requests          BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS fetch_batches (
    batch_id          VARCHAR PRIMARY KEY,
    signature         VARCHAR NOT NULL,       -- hash of the source list: a rerun resumes the open batch
    sources           VARCHAR NOT NULL,
    status            VARCHAR NOT NULL CHECK (status IN ('discovering', 'fetching', 'closed')),
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ,
    manifest          VARCHAR,                -- raw-store manifest news_ingest loads
    documents         INTEGER
);

CREATE TABLE IF NOT EXISTS fetch_frontier (
    batch_id          VARCHAR NOT NULL,
    url               VARCHAR NOT NULL,       -- canonical URL
    position          INTEGER NOT NULL,
    source            VARCHAR NOT NULL,       -- the feed, sitemap or list that named it
    declared          VARCHAR,                -- JSON: title and date the source gave
    outcome           VARCHAR,                -- NULL while pending
    reason            VARCHAR,
    raw_id            VARCHAR,
    done_at           TIMESTAMPTZ,
    PRIMARY KEY (batch_id, url)
);
