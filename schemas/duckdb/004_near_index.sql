-- The near-duplicate index a new batch is verified against (replaces shingle_samples).
-- Written by the land stage; read by the dedup stage (pipeline/dedup/history.py).

-- The sketch of every landed article: its sampled character-gram hashes (pipeline/dedup/sketch.py).
CREATE TABLE IF NOT EXISTS near_sketches (
    article_id        VARCHAR PRIMARY KEY,
    doc_key           UBIGINT NOT NULL,   -- 64-bit key of article_id, the compact id near_keys uses
    whole_hash        UBIGINT NOT NULL,   -- hash of the whole folded text: equal for exact copies
    sketch            BLOB NOT NULL       -- sorted unique uint64 hashes, little-endian
);

-- LSH keys of the canonical copy of every near-duplicate cluster: one row per sketch hash.
-- Only canonical copies are keys, because a document is only ever verified against those.
CREATE TABLE IF NOT EXISTS near_keys (
    key               UBIGINT NOT NULL,
    doc_key           UBIGINT NOT NULL
);

DROP TABLE IF EXISTS shingle_samples;
