-- Pages and sources the fetcher refused or failed on (stage 'fetch'), the columns of the corpus's
-- quarantine table. They stay here, with the state that explains them: `newsingest sql` attaches
-- this file as `fetch` (SELECT * FROM fetch.quarantine).
CREATE TABLE IF NOT EXISTS quarantine (
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
