"""Quality and speed of ``newsingest dedup`` on the generated wire corpus.

    python -m pipeline.benchmarks.dedup_quality [--sizes 1000 10000] [--seed 4] [--paragraphs 7 13] [--hard] [--workdir DIR]

For each size: writes the corpus as JSONL, runs ``newsingest dedup`` as a fresh process (so the
time includes process start, reading and writing), and prints the adjusted Rand index, pairwise
precision and recall, B-cubed precision and recall against the labels, the pairs of hard
negatives (different write-ups of one event) merged, and documents per second.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from pipeline.benchmarks.wire_corpus import generate


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def scores(truth: list[str], predicted: list[str]) -> dict[str, float]:
    """Adjusted Rand index and pairwise precision and recall of a clustering against labels."""
    both = sum(_pairs(n) for n in Counter(zip(truth, predicted)).values())
    true_pairs = sum(_pairs(n) for n in Counter(truth).values())
    predicted_pairs = sum(_pairs(n) for n in Counter(predicted).values())
    total = _pairs(len(truth))
    expected = true_pairs * predicted_pairs / total if total else 0.0
    maximum = (true_pairs + predicted_pairs) / 2
    ari = (both - expected) / (maximum - expected) if maximum != expected else 1.0
    return {
        "ari": ari,
        "precision": both / predicted_pairs if predicted_pairs else 1.0,
        "recall": both / true_pairs if true_pairs else 1.0,
    }


def bcubed(truth: list[str], predicted: list[str]) -> dict[str, float]:
    """B-cubed precision and recall: per document, the share of its found cluster that is truly
    its cluster, and of its true cluster that it was put with, averaged over documents (big
    clusters do not dominate as they do in pairwise scores)."""
    both = Counter(zip(truth, predicted))
    true_sizes, found_sizes = Counter(truth), Counter(predicted)
    n = len(truth) or 1
    return {
        "bcubed_precision": sum(count * count / found_sizes[f] for (_, f), count in both.items()) / n,
        "bcubed_recall": sum(count * count / true_sizes[t] for (t, _), count in both.items()) / n,
    }


def merged_hard_negatives(truth: list[str], events: list[str], predicted: list[str]) -> int:
    """Pairs of documents from different write-ups of one event (hard negatives) put in one cluster."""
    same_event_found = Counter(zip(events, predicted))
    same_writeup_found = Counter(zip(truth, predicted))
    return sum(_pairs(n) for n in same_event_found.values()) - sum(_pairs(n) for n in same_writeup_found.values())


def minhash_lsh_clusters(texts: list[str], permutations: int = 128, bands: int = 32, seed: int = 1) -> list[int]:
    """The usual baseline: MinHash of word 5-grams, LSH banding (32 bands of 4 rows: the S-curve
    crosses 0.5 near Jaccard 0.45), connected components of every bucket collision, no verification."""
    import re
    import zlib

    import numpy as np

    prime = (1 << 61) - 1
    rng = np.random.default_rng(seed)
    a = rng.integers(1, prime, size=(permutations, 1), dtype=np.uint64)
    b = rng.integers(0, prime, size=(permutations, 1), dtype=np.uint64)
    parent = list(range(len(texts)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    buckets: dict[tuple, int] = {}
    rows = permutations // bands
    for index, text in enumerate(texts):
        words = re.findall(r"\w+", text.lower())
        shingles = {zlib.crc32(" ".join(words[i : i + 5]).encode()) for i in range(max(len(words) - 4, 1))}
        values = np.array(sorted(shingles), dtype=np.uint64)[None, :]
        with np.errstate(over="ignore"):
            signature = ((a * values + b) % np.uint64(prime)).min(axis=1)
        for band in range(bands):
            key = (band, signature[band * rows : (band + 1) * rows].tobytes())
            other = buckets.setdefault(key, index)
            if other != index:
                parent[find(index)] = find(other)
    return [find(i) for i in range(len(texts))]


def write_corpus(path: Path, documents: int, seed: int, paragraphs: tuple[int, int], hard: bool = False) -> dict[str, tuple[str, str]]:
    docs = generate(documents, seed, paragraphs, hard)
    with path.open("w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"id": d.id, "text": d.text, "url": d.url, "published_at": d.published_at}, ensure_ascii=False) + "\n")
    return {d.id: (d.label, d.event) for d in docs}


def run(documents: int, seed: int, workdir: Path, paragraphs: tuple[int, int], hard: bool = False) -> dict:
    name = f"{documents}-{seed}-{paragraphs[0]}-{paragraphs[1]}{'-hard' if hard else ''}"
    source, out = workdir / f"wire-{name}.jsonl", workdir / f"clusters-{name}.jsonl"
    labels = write_corpus(source, documents, seed, paragraphs, hard)
    words = sum(len(json.loads(line)["text"].split()) for line in source.open(encoding="utf-8"))
    command = [str(Path(sys.executable).with_name("newsingest")), "dedup", str(source), "--out", str(out)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - started
    rows = [json.loads(line) for line in out.open(encoding="utf-8")]
    ids = [r["id"] for r in rows]
    truth, found = [labels[i][0] for i in ids], [r["cluster_id"] for r in rows]
    result = {**scores(truth, found), **bcubed(truth, found), "merged_hard_negatives": merged_hard_negatives(truth, [labels[i][1] for i in ids], found)}
    sizes = Counter(labels.values())
    return {
        "documents": len(rows), "mean_words": words / len(rows), "seconds": seconds, "docs_per_second": len(rows) / seconds,
        "clusters_true": len(sizes), "largest_true": max(sizes.values()), "clusters_found": len({r["cluster_id"] for r in rows}), **result,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--paragraphs", type=int, nargs=2, default=[7, 13], metavar=("MIN", "MAX"),
                        help="body paragraphs of a write-up: 7 13 gives about 420 words a document, 12 20 about 600")
    parser.add_argument("--hard", action="store_true", help="the harder corpus: originals missing for a quarter of the stories, "
                        "copies published before the original, templated earnings reports as hard negatives")
    parser.add_argument("--baseline", action="store_true", help="also score plain MinHash-LSH (word 5-grams, connected components) on the same corpus")
    parser.add_argument("--workdir", type=Path, help="where the corpus and results are written (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"{'docs':>6} {'words/doc':>9} {'clusters':>8} {'largest':>7} {'found':>6} {'ARI':>7} {'P':>7} {'R':>7} {'B3-P':>7} {'B3-R':>7} {'hardneg':>7} {'seconds':>8} {'docs/s':>8}")
        for size in args.sizes:
            r = run(size, args.seed, workdir, tuple(args.paragraphs), args.hard)
            print(
                f"{r['documents']:>6} {r['mean_words']:>9.0f} {r['clusters_true']:>8} {r['largest_true']:>7} {r['clusters_found']:>6} "
                f"{r['ari']:>7.4f} {r['precision']:>7.4f} {r['recall']:>7.4f} {r['bcubed_precision']:>7.4f} {r['bcubed_recall']:>7.4f} "
                f"{r['merged_hard_negatives']:>7} {r['seconds']:>8.3f} {r['docs_per_second']:>8.0f}",
                flush=True,
            )
            if args.baseline:
                docs = generate(size, args.seed, tuple(args.paragraphs), args.hard)
                started = time.perf_counter()
                found = minhash_lsh_clusters([d.text for d in docs])
                base = scores([d.label for d in docs], found)
                print(f"{'':>6} MinHash-LSH baseline (in process, {time.perf_counter() - started:.1f} s): "
                      f"ARI {base['ari']:.4f}  P {base['precision']:.4f}  R {base['recall']:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
