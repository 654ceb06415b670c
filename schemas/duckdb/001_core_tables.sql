-- Core corpus tables: the stable SQL surface analysts and reports rely on.

CREATE TABLE IF NOT EXISTS runs (
    run_id            VARCHAR PRIMARY KEY,
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

CREATE TABLE IF NOT EXISTS articles (
    article_id        VARCHAR PRIMARY KEY,
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

CREATE TABLE IF NOT EXISTS duplicates (
    article_id        VARCHAR PRIMARY KEY,
    canonical_id      VARCHAR NOT NULL,
    similarity        DOUBLE NOT NULL,
    method            VARCHAR NOT NULL,
    run_id            VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS removed_segments (
    article_id        VARCHAR NOT NULL,
    position          INTEGER NOT NULL,
    text              VARCHAR NOT NULL,
    reason            VARCHAR NOT NULL,
    run_id            VARCHAR NOT NULL,
    PRIMARY KEY (article_id, position)
);

CREATE TABLE IF NOT EXISTS quarantine (
    raw_id            VARCHAR NOT NULL,
    uri               VARCHAR NOT NULL,
    stage             VARCHAR NOT NULL,
    reason            VARCHAR NOT NULL,
    detail            VARCHAR,
    run_id            VARCHAR NOT NULL,
    pipeline_version  VARCHAR NOT NULL,
    quarantined_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (raw_id, stage, reason)
);

CREATE TABLE IF NOT EXISTS run_ledger (
    run_id            VARCHAR NOT NULL,
    raw_id            VARCHAR NOT NULL,
    uri               VARCHAR NOT NULL,
    outcome           VARCHAR NOT NULL CHECK (outcome IN ('article', 'duplicate', 'quarantined', 'unchanged')),
    article_id        VARCHAR,
    reason            VARCHAR,
    PRIMARY KEY (run_id, raw_id)
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
