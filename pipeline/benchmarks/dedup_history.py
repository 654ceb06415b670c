"""Incremental deduplication and commit cost: a batch against a large stored corpus (the lake).

    python -m pipeline.benchmarks.dedup_history [--stored 10000 100000 1000000] [--batch 1000] [--cache DIR] [--repeat 3] [--land]

Builds (once per size, cached under ``--cache``) a corpus of ``--stored`` synthetic articles with
realistic bodies (``--body-words`` words drawn from a 20,000-word vocabulary, 3-5 KB): the
schema's real tables, with sketches of 180 random hashes per article (the size of a 600-word
article's sketch), clusters of two, three and two hundred copies, LSH keys for the canonical copies
and story terms. The originals of a quarter of the batch's wire stories are stored as well, with
their real sketches, so part of the batch must be found in the history. Then it times the dedup
stage (``pipeline.stages.stage_dedup``: reading the staged batch, sketching, the index lookups,
clustering, the story level and writing its output) on a generated batch, and prints the seconds.
With ``--land`` it also times the land stage's commit of that batch into a copy of the corpus
(the cost the storage layer must keep independent of the corpus size), and prints the ratio of
each size's figures to the smallest size's.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

SKETCH_SIZE = 180
CHUNK = 50_000
BIG_CLUSTERS = 200_000  # the first documents form clusters of 200 copies
TERMS_PER_ARTICLE = 15


def _leader(i):
    """The canonical copy of synthetic document i (works on ints and NumPy arrays)."""
    import numpy as np

    i = np.asarray(i)
    small = np.where(i % 5 < 3, i - i % 5, i - i % 5 + 3)
    return np.where(i < BIG_CLUSTERS, i - i % 200, small)


def _synthetic_ids(start: int, stop: int) -> list[str]:
    return [f"synthetic-{i:08d}" for i in range(start, stop)]


VOCABULARY = 20_000


def _bodies(rng, count: int, words: int) -> list[str]:
    """Text of news length and word-frequency shape (Zipf-like draws from a fixed vocabulary)."""
    import numpy as np

    vocabulary = np.array([f"{'abcdefghijklmnopqrstuvwxyz'[k % 26]}{'etaoinshr'[k % 9]}{k:x}" for k in range(VOCABULARY)], dtype=object)
    draws = np.minimum(rng.zipf(1.3, size=(count, words)) - 1, VOCABULARY - 1)
    return [" ".join(vocabulary[row]) for row in draws]


def build_history(path: Path, stored: int, batch_docs, seed: int = 7, body_words: int = 600) -> None:
    """The synthetic corpus, plus the given real documents stored as canonical originals."""
    import numpy as np
    import pyarrow as pa

    from pipeline.dedup.keys import doc_key, key_table
    from pipeline.dedup.near import near_duplicates
    from pipeline.dedup.story import story_terms
    from pipeline.store.db import connect
    from pipeline.store.reindex import record_sketch_version

    done = path.with_name(path.name + ".complete")
    for leftover in (path, path.with_name(f"{path.stem}.files")):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink(missing_ok=True)
    context = connect(path)
    con = context.__enter__()
    rng = np.random.default_rng(seed)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for start in range(0, stored, CHUNK):
        stop = min(start + CHUNK, stored)
        count = stop - start
        ids = _synthetic_ids(start, stop)
        leaders = _leader(np.arange(start, stop))
        canonical = leaders == np.arange(start, stop)
        # A canonical sketch is 180 random hashes; a copy keeps 60-100% of its canonical's
        # (clusters never cross a chunk: CHUNK is a multiple of both cluster patterns).
        values = np.sort(rng.integers(0, 2**64 - 1, size=(count, SKETCH_SIZE), dtype=np.uint64, endpoint=True), axis=1)[leaders - start]
        keep = np.where(canonical, 1.0, rng.uniform(0.6, 1.0, size=count))
        mask = rng.random((count, SKETCH_SIZE)) < keep[:, None]
        sketches = [values[k][mask[k]].astype("<u8").tobytes() for k in range(count)]
        keys = [doc_key(i) for i in ids]
        con.register("chunk_articles", pa.table({
            "article_id": ids, "dup_cluster_id": [f"synthetic-{int(x):08d}" for x in leaders], "is_canonical": canonical,
            "word_count": rng.integers(300, 900, size=count).astype(np.int32),
            "published_at": pa.array([now] * count, pa.timestamp("us", tz="UTC")),
            "body": _bodies(rng, count, body_words),
        }))
        con.execute(
            """
            INSERT INTO articles (article_id, raw_id, url, domain, title, published_at, body, word_count, content_hash,
                                  dup_cluster_id, is_canonical, story_id, run_id, pipeline_version, ingested_at, uri)
            SELECT article_id, article_id, NULL, 'synthetic.example', 'Synthetic article', published_at, body, word_count,
                   article_id, dup_cluster_id, is_canonical, dup_cluster_id, 'synthetic', 'synthetic', published_at, article_id
            FROM chunk_articles
            """
        )
        con.register("chunk_sketches", pa.table({
            "article_id": ids, "doc_key": pa.array(keys, pa.uint64()),
            "whole_hash": pa.array(rng.integers(0, 2**63, size=count, dtype=np.int64).astype(np.uint64), pa.uint64()),
            "sketch": pa.array(sketches, pa.binary()),
        }))
        con.execute("INSERT INTO near_sketches SELECT * FROM chunk_sketches")
        leader_rows = np.flatnonzero(canonical)
        con.register("chunk_keys", key_table([keys[k] for k in leader_rows], [sketches[k] for k in leader_rows]))
        con.execute("INSERT INTO near_keys SELECT key, doc_key, size FROM chunk_keys")
        terms = rng.integers(0, 400_000, size=(count, TERMS_PER_ARTICLE))
        con.register("chunk_terms", pa.table({
            "term": [f"name{t}" for t in terms.ravel()], "article_id": np.repeat(np.array(ids, dtype=object), TERMS_PER_ARTICLE).tolist(),
        }))
        con.execute("INSERT INTO story_terms SELECT term, article_id FROM chunk_terms")
        for name in ("chunk_articles", "chunk_sketches", "chunk_keys", "chunk_terms"):
            con.unregister(name)
        print(f"  stored {stop:,} synthetic articles", file=sys.stderr, flush=True)
    # The real originals: canonical copies of their own clusters, with real sketches and terms.
    rows = [_article_row(d) for d in batch_docs]
    near = near_duplicates(rows)
    con.register("real_articles", pa.Table.from_pylist([{
        "article_id": r["article_id"], "title": r["title"], "published_at": r["published_at"], "body": r["body"], "word_count": r["word_count"],
        "domain": r["domain"], "wire_agency": r["wire_agency"],
    } for r in rows]))
    con.execute(
        """
        INSERT INTO articles (article_id, raw_id, url, domain, title, published_at, wire_agency, body, word_count, content_hash,
                              dup_cluster_id, is_canonical, story_id, run_id, pipeline_version, ingested_at, uri)
        SELECT article_id, article_id, NULL, domain, title, published_at, wire_agency, body, word_count, article_id,
               article_id, true, article_id, 'synthetic', 'synthetic', published_at, article_id
        FROM real_articles
        """
    )
    con.register("real_sketches", pa.table({
        "article_id": [r["article_id"] for r in rows], "doc_key": pa.array([doc_key(r["article_id"]) for r in rows], pa.uint64()),
        "whole_hash": pa.array([near.sketches[r["article_id"]][1] for r in rows], pa.uint64()),
        "sketch": pa.array([near.sketches[r["article_id"]][0] for r in rows], pa.binary()),
    }))
    con.execute("INSERT INTO near_sketches SELECT * FROM real_sketches")
    con.register("real_keys", key_table([doc_key(r["article_id"]) for r in rows], [near.sketches[r["article_id"]][0] for r in rows]))
    con.execute("INSERT INTO near_keys SELECT key, doc_key, size FROM real_keys")
    # The synthetic bodies cannot be sketched again: the index is marked current as built.
    record_sketch_version(con)
    con.register("real_terms", pa.table({
        "term": [t for r in rows for t in story_terms(r["title"], r["body"])],
        "article_id": [r["article_id"] for r in rows for _ in story_terms(r["title"], r["body"])],
    }))
    con.execute("INSERT INTO story_terms SELECT term, article_id FROM real_terms")
    context.__exit__(None, None, None)
    done.touch()


def _article_row(doc) -> dict:
    from pipeline.clean import content_hash

    lines = doc.text.split("\n")
    published = datetime.fromisoformat(doc.published_at) if doc.published_at else None
    return {
        "article_id": hashlib.sha256(doc.url.encode()).hexdigest()[:32], "raw_id": hashlib.sha256(doc.text.encode()).hexdigest(),
        "uri": doc.url, "url": doc.url, "domain": doc.url.split("/")[2], "title": lines[0], "published_at": published,
        "authors": [], "wire_agency": None, "language": "en", "tags": [], "summary": None, "body": doc.text,
        "word_count": len(doc.text.split()), "content_hash": content_hash(doc.text),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--body-words", type=int, default=600)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "newsingest-bench")
    parser.add_argument("--land", action="store_true", help="also time landing the batch into a copy of the stored corpus")
    args = parser.parse_args(argv)

    from pipeline.benchmarks.wire_corpus import generate
    from pipeline.dedup.sketch import SKETCH_VERSION

    docs = generate(args.batch * 5 // 4, args.seed)
    labels = sorted({d.label for d in docs})
    stored_labels = set(labels[::4])  # a quarter of the stories: their original is in the history
    originals = [d for d in docs if d.label in stored_labels and d.id.endswith("-0")]
    batch = [d for d in docs if d not in originals][: args.batch]
    args.cache.mkdir(parents=True, exist_ok=True)
    figures = {}
    for stored in args.stored:
        db = args.cache / f"history-{stored}-{args.batch}-{args.seed}-{args.body_words}w-sketch{SKETCH_VERSION}.sqlite"
        if not db.with_name(db.name + ".complete").exists():
            print(f"building the stored corpus in {db} (once) ...", file=sys.stderr)
            started = time.perf_counter()
            build_history(db, stored, originals, body_words=args.body_words)
            print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        figures[stored] = _measure(db, batch, originals, args)
    if len(figures) > 1:
        base = figures[min(figures)]
        print("\nstored       dedup s   land s   dedup / smallest   land / smallest")
        for stored, (dedup, land) in sorted(figures.items()):
            print(f"{stored:>9,}   {dedup:7.2f}   {land if land is not None else float('nan'):6.2f}   "
                  f"{dedup / base[0]:16.2f}   {(land / base[1]) if land and base[1] else float('nan'):15.2f}")
    return 0


def _measure(db: Path, batch, originals, args) -> tuple[float, float | None]:
    from pipeline import staging
    from pipeline.settings import Settings
    from pipeline.stages import stage_dedup, with_dedup_keys

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp), db_path=db)
        shard = staging.write(f"{tmp}/staging/batch/clean/shard.articles.parquet", with_dedup_keys([_article_row(d) for d in batch], settings.min_body_words), staging.CLEANED)
        stored_count = _count(db)
        print(f"stored articles: {stored_count:,}; batch: {len(batch)} documents; stored originals of batch stories: {len(originals)}")
        times = []
        for attempt in range(1, args.repeat + 1):
            started = time.perf_counter()
            result = stage_dedup([{"articles": shard}], f"bench-{attempt}", settings)
            times.append(time.perf_counter() - started)
            members = staging.read(result["members"])
            joined = sum(1 for m in members if m["reclustered"])
            print(f"run {attempt}: dedup of {result['unique']} against {stored_count:,} stored in {times[-1]:.2f} s "
                  f"({result['clusters']} clusters in the batch, {joined} stored articles re-clustered with it)", flush=True)
        land = _time_land(db, Path(tmp), result, shard, args.repeat) if args.land else None
        shutil.rmtree(Path(tmp) / "staging", ignore_errors=True)
    return min(times), land


def _time_land(db: Path, tmp: Path, dedup_result: dict, shard: str, repeat: int) -> float:
    """Land the deduplicated batch into a copy of the corpus (the index writes included); the
    best of ``repeat`` commits, each into a fresh copy."""
    from pipeline import staging
    from pipeline.settings import Settings
    from pipeline.store.land import land_batch

    empty = {name: staging.write(f"{tmp}/staging/land/{name}.parquet", [], schema) for name, schema in (
        ("removed", staging.REMOVED), ("quarantine", staging.QUARANTINE), ("ledger", staging.LEDGER),
        ("site_lines", staging.SITE_LINES), ("validation", staging.VALIDATION))}
    best = float("inf")
    for attempt in range(1, repeat + 1):
        copy = tmp / "land.sqlite"
        shutil.copyfile(db, copy)
        shutil.copytree(db.with_name(f"{db.stem}.files"), tmp / "land.files")
        started = time.perf_counter()
        landed = land_batch(
            run_id="bench-land", input_description="benchmark", settings=Settings(home=tmp, db_path=copy),
            articles_url=dedup_result["articles"], article_urls=[shard], members_url=dedup_result["members"], removed_urls=[empty["removed"]],
            quarantine_urls=[empty["quarantine"]], ledger_urls=[empty["ledger"]], copies_url=None, site_lines_url=empty["site_lines"],
            validation_url=empty["validation"], validation_success=True, pipeline_version="bench",
        )
        seconds = time.perf_counter() - started
        best = min(best, seconds)
        print(f"land {attempt} of the batch into a copy of the corpus: {seconds:.2f} s "
              f"({landed['article']} articles, {landed['duplicate']} duplicates)", flush=True)
        copy.unlink()
        shutil.rmtree(tmp / "land.files")
    return best


def _count(db: Path) -> int:
    from pipeline.store.db import read_connection

    with read_connection(db) as con:
        return con.execute("SELECT count(*) FROM articles").fetchall()[0][0]


if __name__ == "__main__":
    sys.exit(main())
