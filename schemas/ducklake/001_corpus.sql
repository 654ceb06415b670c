-- The corpus as a DuckLake: the stable SQL surface analysts and reports rely on (DESIGN.md), the
-- same tables and columns as the single-file layout (schemas/duckdb). DuckLake has no primary keys
-- or CHECK constraints: the land stage keeps the keys (delete and insert per batch, MERGE for
-- counters), and the keys each table had are named in its comment.

-- key: run_id
CREATE TABLE IF NOT EXISTS runs (
    run_id            VARCHAR NOT NULL,
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ,
    input             VARCHAR,
    pipeline_version  VARCHAR NOT NULL,
    documents         INTEGER,
    articles          INTEGER,
    duplicates        INTEGER,
    quarantined       INTEGER,
    unchanged         INTEGER,
    validation_success BOOLEAN,
    status            VARCHAR NOT NULL
);

-- key: article_id
CREATE TABLE IF NOT EXISTS articles (
    article_id        VARCHAR NOT NULL,
    raw_id            VARCHAR NOT NULL,
    url               VARCHAR,
    domain            VARCHAR NOT NULL,
    title             VARCHAR,
    published_at      TIMESTAMPTZ,
    authors           VARCHAR[],
    wire_agency       VARCHAR,
    language          VARCHAR,
    tags              VARCHAR[],
    summary           VARCHAR,
    body              VARCHAR NOT NULL,
    word_count        INTEGER NOT NULL,
    content_hash      VARCHAR NOT NULL,
    dup_cluster_id    VARCHAR NOT NULL,
    is_canonical      BOOLEAN NOT NULL,
    story_id          VARCHAR NOT NULL,
    run_id            VARCHAR NOT NULL,
    pipeline_version  VARCHAR NOT NULL,
    ingested_at       TIMESTAMPTZ NOT NULL,
    uri               VARCHAR NOT NULL
);

CREATE OR REPLACE VIEW canonical_articles AS
    SELECT * FROM articles WHERE is_canonical;

-- key: article_id
CREATE TABLE IF NOT EXISTS duplicates (
    article_id        VARCHAR NOT NULL,
    canonical_id      VARCHAR NOT NULL,
    similarity        DOUBLE NOT NULL,
    method            VARCHAR NOT NULL,
    run_id            VARCHAR NOT NULL
);

-- key: article_id, position
CREATE TABLE IF NOT EXISTS removed_segments (
    article_id        VARCHAR NOT NULL,
    position          INTEGER NOT NULL,
    text              VARCHAR NOT NULL,
    reason            VARCHAR NOT NULL,
    run_id            VARCHAR NOT NULL
);

-- key: raw_id, uri, stage, reason
CREATE TABLE IF NOT EXISTS quarantine (
    raw_id            VARCHAR NOT NULL,
    uri               VARCHAR NOT NULL,
    stage             VARCHAR NOT NULL,
    reason            VARCHAR NOT NULL,
    detail            VARCHAR,
    run_id            VARCHAR NOT NULL,
    pipeline_version  VARCHAR NOT NULL,
    quarantined_at    TIMESTAMPTZ NOT NULL
);

-- key: run_id, raw_id, uri; outcome one of article, duplicate, quarantined, unchanged
CREATE TABLE IF NOT EXISTS run_ledger (
    run_id            VARCHAR NOT NULL,
    raw_id            VARCHAR NOT NULL,
    uri               VARCHAR NOT NULL,
    outcome           VARCHAR NOT NULL,
    article_id        VARCHAR,
    reason            VARCHAR,
    domain            VARCHAR
);

CREATE TABLE IF NOT EXISTS validation_results (
    run_id            VARCHAR NOT NULL,
    suite             VARCHAR NOT NULL,
    expectation       VARCHAR NOT NULL,
    "column"          VARCHAR,
    success           BOOLEAN NOT NULL,
    observed_value    VARCHAR,
    unexpected_count  BIGINT,
    level             VARCHAR NOT NULL,
    validated_at      TIMESTAMPTZ NOT NULL
);

-- Names that tie different write-ups of one event together.
CREATE TABLE IF NOT EXISTS story_terms (
    term              VARCHAR NOT NULL,
    article_id        VARCHAR NOT NULL
);

-- How each copy joined its near-duplicate cluster (the link that verified it). key: article_id
CREATE TABLE IF NOT EXISTS dup_links (
    article_id        VARCHAR NOT NULL,
    linked_to         VARCHAR NOT NULL,
    similarity        DOUBLE NOT NULL,
    method            VARCHAR NOT NULL
);

-- Lines seen per site across all runs: a line many documents of one site repeat is boilerplate.
-- key: domain, line_key
CREATE TABLE IF NOT EXISTS site_lines (
    domain            VARCHAR NOT NULL,
    line_key          VARCHAR NOT NULL,
    doc_count         INTEGER NOT NULL
);

-- The sketch of every landed article (pipeline/dedup/sketch.py). key: article_id
CREATE TABLE IF NOT EXISTS near_sketches (
    article_id        VARCHAR NOT NULL,
    doc_key           UBIGINT NOT NULL,   -- 64-bit key of article_id, the compact id near_keys uses
    whole_hash        UBIGINT NOT NULL,   -- hash of the whole folded text: equal for exact copies
    sketch            BLOB NOT NULL       -- sorted unique uint64 hashes, little-endian
);

-- LSH keys of the canonical copy of every near-duplicate cluster: one row per sketch hash.
CREATE TABLE IF NOT EXISTS near_keys (
    key               UBIGINT NOT NULL,
    doc_key           UBIGINT NOT NULL,
    size              INTEGER NOT NULL    -- hashes in the canonical copy's sketch
);

-- key: name ('sketch_version': the sketch function the index was built with)
CREATE TABLE IF NOT EXISTS near_index_state (
    name              VARCHAR NOT NULL,
    value             VARCHAR NOT NULL
);
