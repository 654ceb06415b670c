"""The stored side of deduplication: candidates and fingerprints of landed articles, read from
DuckDB through a short read-only connection (the land stage is the only writer)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pyarrow as pa

from pipeline.dedup.near import MIN_SHARED_SAMPLES, Fingerprint, fingerprint
from pipeline.settings import Settings

MEMBER_COLUMNS = "article_id, dup_cluster_id, story_id, published_at, word_count, domain, wire_agency"


class StoredIndex:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.con = None
        self._context = None
        self.available = False

    def __enter__(self) -> StoredIndex:
        from pipeline.store import read_connection

        self._context = read_connection(self.settings.db_path, self.settings.lock_retry_seconds)
        self.con = self._context.__enter__()
        if self.con is not None:
            self.available = bool(self.con.execute("SELECT count(*) FROM articles").fetchall()[0][0])
        return self

    def __exit__(self, *exc) -> None:
        self._context.__exit__(*exc)

    def candidates(self, prints: list[Fingerprint]) -> dict[str, list[str]]:
        keys, hashes = [], []
        for fp in prints:
            values = fp.samples.tolist()
            keys.extend([fp.key] * len(values))
            hashes.extend(values)
        self.con.register("batch_samples", pa.table({"key": keys, "hash": pa.array(hashes, pa.uint64())}))
        self.con.register("batch_hashes", pa.table({"key": [fp.key for fp in prints], "content_hash": [fp.content_hash for fp in prints]}))
        rows = self.con.execute(
            f"""
            SELECT b.key, s.article_id FROM batch_samples b JOIN shingle_samples s USING (hash)
            GROUP BY ALL HAVING count(*) >= {MIN_SHARED_SAMPLES}
            UNION
            SELECT h.key, a.article_id FROM batch_hashes h JOIN articles a USING (content_hash)
            """
        ).fetchall()
        found: dict[str, list[str]] = defaultdict(list)
        for key, article_id in rows:
            found[key].append(article_id)
        return found

    def fingerprints(self, article_ids: Iterable[str]) -> list[Fingerprint]:
        ids = sorted(article_ids)
        if not ids:
            return []
        self.con.register("wanted", pa.table({"article_id": ids}))
        rows = self.con.execute("SELECT article_id, content_hash, body FROM articles JOIN wanted USING (article_id)").fetchall()
        return [fingerprint(a, h, body) for a, h, body in rows]

    def _members(self, column: str, values: set[str]) -> list[dict]:
        self.con.register("wanted_groups", pa.table({"value": sorted(values)}))
        cursor = self.con.execute(f"SELECT {MEMBER_COLUMNS} FROM articles WHERE {column} IN (SELECT value FROM wanted_groups)")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def cluster_members(self, article_ids: set[str]) -> list[dict]:
        """Every stored member of the near-duplicate clusters these stored articles belong to."""
        self.con.register("touched", pa.table({"article_id": sorted(article_ids)}))
        clusters = {r[0] for r in self.con.execute("SELECT dup_cluster_id FROM articles JOIN touched USING (article_id)").fetchall()}
        return self._members("dup_cluster_id", clusters)

    def story_members(self, story_ids: set[str]) -> list[dict]:
        return self._members("story_id", story_ids)

    def story_candidates(self, terms: dict[str, list[str]]) -> dict[str, list[dict]]:
        keys, values = [], []
        for key, term_list in terms.items():
            keys.extend([key] * len(term_list))
            values.extend(term_list)
        self.con.register("batch_terms", pa.table({"key": keys, "term": values}))
        rows = self.con.execute(
            f"""
            WITH hits AS (
                SELECT b.key, t.article_id FROM batch_terms b JOIN story_terms t USING (term)
                GROUP BY ALL HAVING count(*) >= {self.settings.story_min_shared_terms}
            )
            SELECT h.key, a.article_id, a.story_id, a.published_at,
                   (SELECT list(term) FROM story_terms s WHERE s.article_id = a.article_id) AS terms
            FROM hits h JOIN articles a USING (article_id)
            """
        ).fetchall()
        found: dict[str, list[dict]] = defaultdict(list)
        for key, article_id, story_id, published_at, term_list in rows:
            found[key].append({"article_id": article_id, "story_id": story_id, "published_at": published_at, "terms": term_list or []})
        return found
