"""The stored side of deduplication, read from DuckDB through a short read-only connection (the
land stage is the only writer): the near-duplicate index (``near_keys``: sketch hashes of
canonical copies; ``near_sketches``: every article's sketch) and the story terms."""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np
import pyarrow as pa

from pipeline.dedup.cluster import CANDIDATE_POSTING, CONTAINMENT, KEY_MODULUS, MIN_SHARED
from pipeline.settings import Settings

MEMBER_COLUMNS = "a.article_id, a.dup_cluster_id, a.story_id, a.published_at, a.word_count, a.domain, a.wire_agency"


def doc_key(article_id: str) -> int:
    """The 64-bit key ``near_keys`` stores for an article (stable across processes)."""
    return int.from_bytes(hashlib.blake2b(article_id.encode("utf-8"), digest_size=8).digest(), "little")


def key_table(keys: list[int], sketches: list[bytes]) -> pa.Table:
    """``(key, doc_key, size)`` rows: the index keys (sketch hashes divisible by ``KEY_MODULUS``) of
    the given documents, with the size of each document's whole sketch."""
    sizes = np.array([len(s) // 8 for s in sketches], dtype=np.int64)
    values = np.frombuffer(b"".join(sketches), dtype="<u8")
    owners = np.repeat(np.array(keys, dtype=np.uint64), sizes)
    chosen = values % np.uint64(KEY_MODULUS) == 0
    return pa.table({
        "key": pa.array(values[chosen], pa.uint64()), "doc_key": pa.array(owners[chosen], pa.uint64()),
        "size": pa.array(np.repeat(sizes, sizes)[chosen].astype(np.int32), pa.int32()),
    })


class StoredIndex:
    """Opened on the settings' database (``StoredIndex(settings)``) or on a given connection."""

    def __init__(self, settings: Settings, con=None):
        self.settings = settings
        self.con = con
        self._context = None
        self.available = False

    def __enter__(self) -> StoredIndex:
        if self.con is None:
            from pipeline.store import connect, read_connection
            from pipeline.store.reindex import index_is_current

            self._context = read_connection(self.settings.db_path, self.settings.lock_retry_seconds)
            self.con = self._context.__enter__()
            if self.con is not None and not index_is_current(self.con):
                # History landed before the index existed, or sketched by another version: the
                # writer's connection rebuilds the index once, so this batch is matched against it.
                self._context.__exit__(None, None, None)
                with connect(self.settings.db_path, self.settings.lock_retry_seconds):
                    pass
                self._context = read_connection(self.settings.db_path, self.settings.lock_retry_seconds)
                self.con = self._context.__enter__()
        if self.con is not None:
            self.available = bool(self.con.execute("SELECT count(*) FROM articles").fetchall()[0][0])
        return self

    def __exit__(self, *exc) -> None:
        if self._context is not None:
            self._context.__exit__(*exc)

    def near_clusters(self, sketches: list[bytes]) -> list[dict]:
        """Every stored member (with its sketch) of the clusters whose canonical copy could pass
        the clustering's verification with a batch document: found through a rare shared hash,
        and sharing (all hashes counted) at least ``max(MIN_SHARED, CONTAINMENT × the smaller
        sketch)`` with it, the necessary condition of a match. No cap on candidates per document:
        a short stored canonical copy (a cut copy that arrived before its original) must not lose
        its place to long write-ups of the same event, or the result would depend on batch order."""
        self.con.register("batch_keys", key_table(list(range(len(sketches))), sketches).rename_columns(["key", "doc", "size"]))
        cursor = self.con.execute(
            f"""
            WITH matched AS (
                SELECT b.doc, b.size AS mine, k.key, k.doc_key, k.size AS theirs FROM batch_keys b JOIN near_keys k ON k.key = b.key
            ), stock AS (
                SELECT key FROM matched GROUP BY key HAVING count(DISTINCT doc_key) > {CANDIDATE_POSTING}
            ), found AS (
                SELECT DISTINCT doc, doc_key FROM matched WHERE key NOT IN (SELECT key FROM stock)
            ), shared AS (
                SELECT m.doc, m.doc_key FROM matched m SEMI JOIN found f ON f.doc = m.doc AND f.doc_key = m.doc_key
                GROUP BY m.doc, m.doc_key
                HAVING count(*) >= least({MIN_SHARED}, least(any_value(m.mine), any_value(m.theirs)))
                   AND count(*) >= {CONTAINMENT} * least(any_value(m.mine), any_value(m.theirs))
            ), clusters AS (
                SELECT DISTINCT a.dup_cluster_id FROM shared s
                JOIN near_sketches n ON n.doc_key = s.doc_key JOIN articles a ON a.article_id = n.article_id
            )
            SELECT {MEMBER_COLUMNS}, n.whole_hash, n.sketch
            FROM articles a JOIN near_sketches n ON n.article_id = a.article_id
            WHERE a.dup_cluster_id IN (SELECT dup_cluster_id FROM clusters)
            """
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row)) for row in cursor.fetchall()]
        self.con.unregister("batch_keys")
        return rows

    def _members(self, column: str, values: set[str]) -> list[dict]:
        self.con.register("wanted_groups", pa.table({"value": sorted(values)}))
        cursor = self.con.execute(f"SELECT {MEMBER_COLUMNS} FROM articles a WHERE {column} IN (SELECT value FROM wanted_groups)")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def story_members(self, story_ids: set[str]) -> list[dict]:
        return self._members("story_id", story_ids)

    def story_candidates(self, terms: dict[str, list[str]]) -> dict[str, list[dict]]:
        keys, values = [], []
        for key, term_list in terms.items():
            keys.extend([key] * len(term_list))
            values.extend(term_list)
        self.con.register("batch_terms", pa.table({"key": pa.array(keys, pa.string()), "term": pa.array(values, pa.string())}))
        rows = self.con.execute(
            f"""
            WITH hits AS (
                SELECT b.key, t.article_id FROM batch_terms b JOIN story_terms t USING (term)
                GROUP BY ALL HAVING count(*) >= {self.settings.story_min_shared_terms}
            ), terms AS (
                SELECT t.article_id, list(t.term) AS terms FROM story_terms t
                WHERE t.article_id IN (SELECT article_id FROM hits) GROUP BY t.article_id
            )
            SELECT h.key, a.article_id, a.story_id, a.published_at, t.terms
            FROM hits h JOIN articles a USING (article_id) JOIN terms t USING (article_id)
            """
        ).fetchall()
        found: dict[str, list[dict]] = defaultdict(list)
        for key, article_id, story_id, published_at, term_list in rows:
            found[key].append({"article_id": article_id, "story_id": story_id, "published_at": published_at, "terms": term_list or []})
        return found
