-- Every input gets its own ledger row, including a file whose bytes equal another input's (the same
-- content at two paths, two publications): the ledger and quarantine keys take the uri, and the
-- ledger records each document's domain.

CREATE TABLE run_ledger_007 (
    run_id            VARCHAR NOT NULL,
    raw_id            VARCHAR NOT NULL,
    uri               VARCHAR NOT NULL,
    outcome           VARCHAR NOT NULL CHECK (outcome IN ('article', 'duplicate', 'quarantined', 'unchanged')),
    article_id        VARCHAR,
    reason            VARCHAR,
    domain            VARCHAR,
    PRIMARY KEY (run_id, raw_id, uri)
);
INSERT INTO run_ledger_007 (run_id, raw_id, uri, outcome, article_id, reason)
    SELECT run_id, raw_id, uri, outcome, article_id, reason FROM run_ledger;
DROP TABLE run_ledger;
ALTER TABLE run_ledger_007 RENAME TO run_ledger;

CREATE TABLE quarantine_007 (
    raw_id            VARCHAR NOT NULL,
    uri               VARCHAR NOT NULL,
    stage             VARCHAR NOT NULL,
    reason            VARCHAR NOT NULL,
    detail            VARCHAR,
    run_id            VARCHAR NOT NULL,
    pipeline_version  VARCHAR NOT NULL,
    quarantined_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (raw_id, uri, stage, reason)
);
INSERT INTO quarantine_007 SELECT raw_id, uri, stage, reason, detail, run_id, pipeline_version, quarantined_at FROM quarantine;
DROP TABLE quarantine;
ALTER TABLE quarantine_007 RENAME TO quarantine;
