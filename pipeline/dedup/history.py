"""The stored side of deduplication, queried through a reading session the caller opens on the
corpus (``pipeline.store.history_connection``): the near-duplicate index (``near_keys``: sketch
hashes of canonical copies; ``near_sketches``: every article's sketch) and the story terms. Dedup
computes and store persists: nothing here imports ``pipeline.store``."""

from __future__ import annotations

from collections import Counter, defaultdict
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.dedup.cluster import CANDIDATE_POSTING, CONTAINMENT, KEY_MODULUS, MIN_SHARED
from pipeline.dedup.keys import key_table
from pipeline.dedup.sketch import pairs_passing
from pipeline.settings import Settings

STORED_STORIES = 32  # a term held by more stored stories does not find story candidates
STORED_PER_STORY = 4  # per term and stored story, the latest members a batch article is compared with
MEMBER_COLUMNS = "a.article_id, a.dup_cluster_id, a.story_id, a.published_at, a.word_count, a.domain, a.wire_agency"
HISTORY_CHUNK_DOCS = 10_000  # batch documents looked up in the near-duplicate index at a time

# The stored canonical copies each batch document finds through a hash held by at most
# CANDIDATE_POSTING of them (a stock phrase's hash finds none); their sketches are then compared
# whole. Joining every batch hash with every copy holding it would pair a stock phrase's hash with
# all of them: a 100,000-document batch on a corpus of 7,600 articles made 1.4 billion such rows.
FOUND_PAIRS = f"""
WITH held AS MATERIALIZED (
    SELECT k.key, k.doc_key FROM near_keys k SEMI JOIN batch_keys b ON b.key = k.key
), rare AS (
    SELECT key FROM held GROUP BY key HAVING count(DISTINCT doc_key) <= {CANDIDATE_POSTING}
)
SELECT DISTINCT b.doc, h.doc_key FROM batch_keys b JOIN rare r ON r.key = b.key JOIN held h ON h.key = r.key
"""
FOUND_SKETCHES = "SELECT n.doc_key, n.article_id, n.sketch FROM near_sketches n SEMI JOIN found_keys f ON f.doc_key = n.doc_key"
CLUSTER_MEMBERS = f"""
SELECT {MEMBER_COLUMNS}, n.whole_hash, n.sketch
FROM articles a JOIN near_sketches n ON n.article_id = a.article_id
WHERE a.dup_cluster_id IN (SELECT c.dup_cluster_id FROM articles c SEMI JOIN matched m ON m.article_id = c.article_id)
"""
STORY_CHUNK_KEYS = 5_000  # batch articles whose story candidates are looked up at a time
# {need}: story_min_shared_terms. batch_held: how many batch articles hold each term (whole batch).
STORY_FOUND = f"""
WITH held_stored AS (
    SELECT term, count(*) AS articles FROM story_terms WHERE term IN (SELECT term FROM batch_terms) GROUP BY term
), ranked AS (
    SELECT b.key, b.term, b.lo, b.hi,
           row_number() OVER (PARTITION BY b.key ORDER BY coalesce(s.articles, 0) + h.articles, b.term) AS place,
           count(*) OVER (PARTITION BY b.key) AS held
    FROM batch_terms b JOIN batch_held h USING (term) LEFT JOIN held_stored s USING (term)
), prefix AS (
    SELECT key, term, lo, hi FROM ranked WHERE place <= held - {{need}} + 1
), stored AS (
    SELECT t.term, t.article_id, a.story_id, a.published_at FROM story_terms t JOIN articles a USING (article_id)
    WHERE t.term IN (SELECT term FROM prefix)
), rare AS (
    SELECT term FROM stored GROUP BY term HAVING count(DISTINCT story_id) <= {STORED_STORIES}
), probe AS (
    SELECT * FROM prefix WHERE term IN (SELECT term FROM rare)
), latest AS (
    SELECT term, article_id, story_id, published_at FROM stored WHERE term IN (SELECT term FROM rare)
    QUALIFY row_number() OVER (PARTITION BY term, story_id ORDER BY published_at DESC NULLS LAST, article_id) <= {STORED_PER_STORY}
), found AS (
    SELECT DISTINCT p.key, l.article_id, l.story_id, l.published_at FROM probe p JOIN latest l USING (term)
    WHERE p.lo IS NULL OR l.published_at IS NULL OR l.published_at BETWEEN p.lo AND p.hi
)
SELECT key, article_id, story_id, published_at FROM found ORDER BY key, article_id
"""
# The candidates' terms (candidates: their ids as an Arrow table, so the planner knows how few they
# are and builds the join on them). Shared terms are then counted in Python: counted in SQL, the
# planner joined on terms first (a common term's stored holders times all its batch holders), or
# held every (candidate, batch term) row at once, 1.6 GB for a 100,000-document batch.
CANDIDATE_TERMS = "SELECT t.article_id, list(t.term) FROM story_terms t SEMI JOIN candidates c ON c.article_id = t.article_id GROUP BY 1"


class StoredIndex:
    """The history behind ``con`` (a reading session on the corpus, or None for no history).

    ``hide_run``: a retry of a run that already landed (same run id) is matched against the
    history without its own rows, as the first attempt was; otherwise its articles would find
    themselves, and pairs the first attempt's bounded candidate search did not reach."""

    def __init__(self, settings: Settings, con=None, hide_run: str | None = None):
        self.settings = settings
        self.con = con
        self.available = False
        if con is not None:
            if hide_run is not None:
                self._hide_run(hide_run)
            self.available = bool(con.execute("SELECT count(*) FROM articles").fetchall()[0][0])

    def _hide_run(self, run_id: str) -> None:
        """Temporary views in place of the stored tables, without this run's rows (they shadow the
        tables for this session only)."""
        database = self.con.execute("SELECT current_database()").fetchall()[0][0].replace('"', '""')
        run = run_id.replace("'", "''")
        own = f"SELECT article_id FROM \"{database}\".main.articles WHERE run_id = '{run}'"
        views = {
            "articles": f"SELECT * FROM \"{database}\".main.articles WHERE article_id NOT IN ({own})",
            "near_sketches": f"SELECT * FROM \"{database}\".main.near_sketches WHERE article_id NOT IN ({own})",
            "story_terms": f"SELECT * FROM \"{database}\".main.story_terms WHERE article_id NOT IN ({own})",
            "near_keys": f"SELECT * FROM \"{database}\".main.near_keys WHERE doc_key NOT IN ("
                         f"SELECT doc_key FROM \"{database}\".main.near_sketches WHERE article_id IN ({own}))",
        }
        for name, query in views.items():
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {query}")

    def __enter__(self) -> StoredIndex:
        return self

    def __exit__(self, *exc) -> None:
        if self.con is not None:
            for name in ("articles", "near_sketches", "story_terms", "near_keys"):
                self.con.execute(f"DROP VIEW IF EXISTS temp.main.{name}")

    def near_clusters(self, sketches: list[bytes]) -> list[dict]:
        """Every stored member (with its sketch) of the clusters whose canonical copy could pass
        the clustering's verification with a batch document: found through a rare shared hash,
        and sharing (all hashes counted) at least ``max(MIN_SHARED, CONTAINMENT × the smaller
        sketch)`` with it, the necessary condition of a match. No cap on candidates per document:
        a short stored canonical copy (a cut copy that arrived before its original) must not lose
        its place to long write-ups of the same event, or the result would depend on batch order.

        ``HISTORY_CHUNK_DOCS`` batch documents at a time: DuckDB finds the pairs, the compiled
        ``pairs_passing`` compares their sketches, DuckDB reads the clusters that pass. Ordered
        by article id."""
        members: dict[str, dict] = {}
        for start in range(0, len(sketches), HISTORY_CHUNK_DOCS):
            for member in self._chunk_clusters(sketches[start:start + HISTORY_CHUNK_DOCS]):
                members.setdefault(member["article_id"], member)
        return [members[a] for a in sorted(members)]

    @contextmanager
    def _native(self, name: str, table: pa.Table):
        """``table`` as a temporary DuckDB table for the block. A registered Arrow table would get
        the join's filters pushed down as pyarrow expressions, and a 64-bit key above 2^63 does not
        convert ("Python int too large to convert to C long")."""
        self.con.register(f"{name}_arrow", table)
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
        finally:
            self.con.unregister(f"{name}_arrow")
        try:
            yield
        finally:
            self.con.execute(f"DROP TABLE IF EXISTS temp.main.{name}")

    def _chunk_clusters(self, sketches: list[bytes]) -> list[dict]:
        import numpy as np

        with self._native("batch_keys", key_table(list(range(len(sketches))), sketches).rename_columns(["key", "doc", "size"])):
            pairs = self.con.execute(FOUND_PAIRS).to_arrow_table()
        if pairs.num_rows == 0:
            return []
        docs = pairs.column("doc").to_numpy()
        encoded = pc.dictionary_encode(pairs.column("doc_key")).combine_chunks()  # hashed, not sorted
        keys, stored_of_pair = encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False)
        del pairs, encoded
        with self._native("found_keys", pa.table({"doc_key": keys})):
            found = self.con.execute(FOUND_SKETCHES).to_arrow_table()
        # Stored sketches and article ids in the order of ``keys`` (every found key has its row).
        stored: list[bytes] = [b""] * len(keys)
        article_of: list[str | None] = [None] * len(keys)
        positions = pc.index_in(found.column("doc_key"), value_set=keys).to_pylist()
        for position, article_id, sketch in zip(positions, found.column("article_id").to_pylist(), found.column("sketch").to_pylist()):
            stored[position], article_of[position] = sketch, article_id
        del found
        passing = pairs_passing(sketches, stored, docs, stored_of_pair, KEY_MODULUS, MIN_SHARED, CONTAINMENT)
        matched = sorted({article_of[i] for i in np.unique(stored_of_pair[passing]).tolist()} - {None})
        if not matched:
            return []
        self.con.register("matched", pa.table({"article_id": pa.array(matched, pa.string())}))
        try:
            cursor = self.con.execute(CLUSTER_MEMBERS)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        finally:
            self.con.unregister("matched")

    def _members(self, column: str, values: set[str]) -> list[dict]:
        self.con.register("wanted_groups", pa.table({"value": sorted(values)}))
        cursor = self.con.execute(f"SELECT {MEMBER_COLUMNS} FROM articles a WHERE {column} IN (SELECT value FROM wanted_groups)")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def story_members(self, story_ids: set[str]) -> list[dict]:
        return self._members("story_id", story_ids)

    def story_candidates(self, terms: dict[str, list[str]], when: dict | None = None) -> dict[str, list[dict]]:
        """Per batch article, the stored articles sharing at least ``story_min_shared_terms`` of
        its terms (and published within ``story_window_days`` of it, when both are dated), with
        their terms. Bounded however common a term is: each article's terms are ranked rarest
        first (stored and batch articles holding them) and only its first ``len - min_shared + 1``
        are looked up (prefix filtering: a stored article sharing enough terms holds one of
        them); a term held by more than ``STORED_STORIES`` stored stories does not discriminate
        and is not looked up; and per term and stored story only its ``STORED_PER_STORY`` latest
        members are, since joining one of them joins the story. ``STORY_CHUNK_KEYS`` batch
        articles at a time (ranked by the whole batch's counts, so chunks change nothing): a big
        batch's candidates and their terms would not fit DuckDB's memory at once."""
        from datetime import timedelta

        when = when or {}
        window = timedelta(days=self.settings.story_window_days)
        held: Counter[str] = Counter()
        for term_list in terms.values():
            held.update(set(term_list))  # each article counts once per term
        self.con.register("batch_held", pa.table({"term": pa.array(list(held), pa.string()), "articles": pa.array(list(held.values()), pa.int64())}))
        found: dict[str, list[dict]] = defaultdict(list)
        names = list(terms)
        need = self.settings.story_min_shared_terms
        try:
            for start in range(0, len(names), STORY_CHUNK_KEYS):
                keys, values, lows, highs = [], [], [], []
                for key in names[start:start + STORY_CHUNK_KEYS]:
                    moment = when.get(key)
                    for term in dict.fromkeys(terms[key]):
                        keys.append(key)
                        values.append(term)
                        lows.append(moment - window if moment is not None else None)
                        highs.append(moment + window if moment is not None else None)
                self.con.register("batch_terms", pa.table({
                    "key": pa.array(keys, pa.string()), "term": pa.array(values, pa.string()),
                    "lo": pa.array(lows, pa.timestamp("us", "UTC")), "hi": pa.array(highs, pa.timestamp("us", "UTC")),
                }))
                try:
                    pairs = self.con.execute(STORY_FOUND.format(need=need)).to_arrow_table()
                finally:
                    self.con.unregister("batch_terms")
                if pairs.num_rows == 0:
                    continue
                self.con.register("candidates", pa.table({"article_id": pc.unique(pairs.column("article_id"))}))
                try:
                    terms_of = dict(self.con.execute(CANDIDATE_TERMS).fetchall())
                finally:
                    self.con.unregister("candidates")
                mine: dict[str, set[str]] = {}
                for key, article_id, story_id, published_at in zip(*(pairs.column(c).to_pylist() for c in ("key", "article_id", "story_id", "published_at"))):
                    theirs = terms_of.get(article_id) or []
                    own = mine.get(key)
                    if own is None:
                        own = mine[key] = set(terms[key])
                    if len(own.intersection(theirs)) >= need:
                        found[key].append({"article_id": article_id, "story_id": story_id, "published_at": published_at, "terms": theirs})
        finally:
            self.con.unregister("batch_held")
        return found
