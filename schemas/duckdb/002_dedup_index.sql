-- Indexes that let a new batch be deduplicated against the whole history.

-- Sampled 5-word shingle hashes (hash mod 8 = 0) of every landed article.
CREATE TABLE IF NOT EXISTS shingle_samples (
    hash              UBIGINT NOT NULL,
    article_id        VARCHAR NOT NULL
);

-- Names that tie different write-ups of one event together.
CREATE TABLE IF NOT EXISTS story_terms (
    term              VARCHAR NOT NULL,
    article_id        VARCHAR NOT NULL
);

-- How each copy joined its near-duplicate cluster (the link that verified it).
CREATE TABLE IF NOT EXISTS dup_links (
    article_id        VARCHAR PRIMARY KEY,
    linked_to         VARCHAR NOT NULL,
    similarity        DOUBLE NOT NULL,
    method            VARCHAR NOT NULL
);
