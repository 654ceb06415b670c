"""The history lookup with a stock phrase in every stored canonical copy and every batch document:
the clusters it returns are those an independent count finds, in any chunking of the batch, and a
big batch does not pair every batch hash with every stored copy holding it (that join once filled
the disk with DuckDB's spill)."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from pipeline.benchmarks.wire_corpus import Doc
from pipeline.dedup import history as history_module
from pipeline.dedup.cluster import CANDIDATE_POSTING, CONTAINMENT, MIN_SHARED
from pipeline.dedup.history import StoredIndex
from pipeline.dedup.sketch import sketch_texts
from pipeline.store.reindex import history_connection
from tests.dedup.factory import story, text
from tests.dedup.flow import land_batches

# Every outlet appends the same long notice: its hashes are held by every stored canonical copy.
STOCK = (
    "This article was produced by the newsroom with reporting from correspondents in the region and "
    "was edited for length and clarity before publication on this site and on our partner networks; "
    "readers who spot an error are asked to write to the standards editor, who reviews every request"
)
STORED = CANDIDATE_POSTING + 8


def _doc(number: int, paragraphs: list[str], headline: str, site: str) -> Doc:
    return Doc(f"{site}-{number}", text(headline, [*paragraphs, STOCK]), f"https://{site}.example/{number}", "2026-03-01T08:00:00+00:00", "x")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    stored = []
    for number in range(STORED):
        _, [(headline, paragraphs)] = story(500 + number)
        stored.append(_doc(number, paragraphs, headline, "stored"))
    settings = land_batches(tmp_path_factory.mktemp("stock"), [stored])
    batch = []
    for number in range(0, STORED, 4):  # copies of a quarter of the stored stories, cut and re-headlined
        _, [(headline, paragraphs)] = story(500 + number)
        batch.append(_doc(number, paragraphs[: 3 + number % 4], f"Latest: {headline}", "copy"))
    for number in range(30):  # unrelated stories with the same notice
        _, [(headline, paragraphs)] = story(900 + number)
        batch.append(_doc(number, paragraphs, headline, "other"))
    sketches = [s for s, _, _ in sketch_texts([d.text for d in batch])]
    return settings, batch, sketches


def _expected(con, sketches: list[bytes]) -> set[str]:
    """The stored articles of every cluster whose canonical copy passes the lookup's condition,
    counted in Python from the stored index."""
    import numpy as np

    postings: dict[int, set[int]] = defaultdict(set)
    stored_keys: dict[int, set[int]] = defaultdict(set)
    sizes: dict[int, int] = {}
    for key, doc_key, size in con.execute("SELECT key, doc_key, size FROM near_keys").fetchall():
        postings[key].add(doc_key)
        stored_keys[doc_key].add(key)
        sizes[doc_key] = size
    clusters = set()
    cluster_of = {k: c for k, c in con.execute(
        "SELECT n.doc_key, a.dup_cluster_id FROM near_sketches n JOIN articles a USING (article_id)").fetchall()}
    for sketch in sketches:
        mine = set(np.frombuffer(sketch, dtype="<u8").tolist())
        size = len(sketch) // 8
        found = {d for key in mine if len(postings.get(key, ())) <= CANDIDATE_POSTING for d in postings.get(key, ())}
        for doc_key in found:
            shared = len(mine & stored_keys[doc_key])
            smaller = min(size, sizes[doc_key])
            if shared >= min(MIN_SHARED, smaller) and shared >= CONTAINMENT * smaller:
                clusters.add(cluster_of[doc_key])
    return {a for a, c in con.execute("SELECT article_id, dup_cluster_id FROM articles").fetchall() if c in clusters}


def _looked_up(settings, sketches) -> list[str]:
    with history_connection(settings.db_path) as con, StoredIndex(settings, con) as index:
        return [m["article_id"] for m in index.near_clusters(sketches)]


def test_the_stock_notice_is_in_every_stored_copy(corpus):
    settings, _, _ = corpus
    with history_connection(settings.db_path) as con:
        held = Counter(k for (k,) in con.execute("SELECT key FROM near_keys").fetchall())
    assert sum(1 for n in held.values() if n == STORED) >= 5  # stock hashes: in every stored copy


def test_the_lookup_finds_exactly_the_clusters_an_independent_count_finds(corpus):
    settings, _, sketches = corpus
    with history_connection(settings.db_path) as con:
        expected = _expected(con, sketches)
    found = _looked_up(settings, sketches)
    assert found == sorted(found) and len(found) == len(set(found))
    assert set(found) == expected
    assert {f"stored-{n}" for n in range(0, STORED, 4)} <= expected  # the copies' stories


def test_chunks_of_the_batch_find_the_same_clusters(corpus, monkeypatch):
    settings, _, sketches = corpus
    whole = _looked_up(settings, sketches)
    monkeypatch.setattr(history_module, "HISTORY_CHUNK_DOCS", 7)
    assert _looked_up(settings, sketches) == whole


def test_a_big_batch_sharing_the_notice_does_not_pair_every_hash(corpus, monkeypatch):
    """12,000 batch documents, each holding the stock hashes: joining all of them with the 40
    stored copies holding each would make millions of rows. With DuckDB held to 100 MB and no
    spill to disk, the lookup (2,000 documents at a time) still runs, and finds the same clusters
    for the repeated batch."""
    settings, _, sketches = corpus
    monkeypatch.setattr(history_module, "HISTORY_CHUNK_DOCS", 2000, raising=False)
    big = sketches * 300
    with history_connection(settings.db_path) as con, StoredIndex(settings, con) as index:
        con.execute("SET memory_limit = '100MB'")
        con.execute("SET max_temp_directory_size = '0B'")
        found = [m["article_id"] for m in index.near_clusters(big)]
    assert found == _looked_up(settings, sketches)


@pytest.mark.parametrize(("key_modulus", "containment"), [(1, CONTAINMENT), (4, 0.1)])
def test_the_compiled_pair_check_agrees_with_the_python_reference(monkeypatch, key_modulus, containment):
    """Random sorted sketches around the thresholds (drawn from a small pool of hashes, so shares
    vary from none to most, and shared hashes often meet in one signature bit), empty ones
    included."""
    import numpy as np

    from pipeline.dedup import sketch

    assert sketch._sketch is not None
    rng = np.random.default_rng(7)
    pool = rng.integers(0, 2**63, size=400, dtype=np.uint64) * np.uint64(2)

    def random_sketch() -> bytes:
        size = int(rng.integers(0, 220))
        return np.unique(rng.choice(pool, size=size)).astype("<u8").tobytes() if size else b""

    batch = [random_sketch() for _ in range(60)]
    stored = [random_sketch() for _ in range(40)]
    left = rng.integers(0, len(batch), size=5000)
    right = rng.integers(0, len(stored), size=5000)
    compiled = sketch.pairs_passing(batch, stored, left, right, key_modulus, MIN_SHARED, containment)
    monkeypatch.setattr(sketch, "_sketch", None)
    reference = sketch.pairs_passing(batch, stored, left, right, key_modulus, MIN_SHARED, containment)
    assert compiled.tolist() == reference.tolist()
    assert 100 < int(reference.sum()) < 4900  # both outcomes are well represented


def test_the_compiled_pair_check_refuses_a_pair_out_of_range():
    from pipeline.dedup import sketch

    with pytest.raises(IndexError, match="out of range"):
        sketch.pairs_passing([b""], [b""], [0], [1], 1, MIN_SHARED, CONTAINMENT)
