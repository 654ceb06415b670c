-- The near-duplicate index gets the sketch size of every key's canonical copy (the history lookup
-- keeps a stored canonical copy when the shared keys can reach the containment threshold) and a
-- record of the sketch version it was built with. near_keys is rebuilt from articles.body by
-- pipeline/store/reindex.py on the next connection, as is the whole index whenever articles lack
-- a sketch (history landed before 004) or the sketch version changes.

CREATE TABLE IF NOT EXISTS near_index_state (
    name              VARCHAR PRIMARY KEY,
    value             VARCHAR NOT NULL
);

DROP TABLE IF EXISTS near_keys;
CREATE TABLE near_keys (
    key               UBIGINT NOT NULL,
    doc_key           UBIGINT NOT NULL,
    size              INTEGER NOT NULL    -- hashes in the canonical copy's sketch
);

DELETE FROM near_index_state WHERE name = 'sketch_version';
