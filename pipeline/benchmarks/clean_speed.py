"""Cleaning speed and quality on the labelled benchmark and the seeds.

    .venv/bin/python -m pipeline.benchmarks.clean_speed [--bench ../shared/bench/aeb] [--seeds ../shared/seeds]

Prints, per core: HTML pages/s through our cleaner (text and metadata) and through trafilatura
alone at the same extraction settings, with its metadata and without; flattened pages/s (whole pages with boilerplate inline) and article-sized
texts/s (the seeds and the sample corpus's text files); then the benchmark's precision, recall and F1 for both inputs, and the
wall-clock throughput of ``newsingest clean`` on both cores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.clean.evaluate import clean_for_eval, evaluate, read_manifest

TRAFILATURA_SETTINGS = {"include_comments": False, "include_tables": True, "deduplicate": False, "favor_precision": True, "with_metadata": True}


def per_core(label: str, items: list, work, repeat: int = 1) -> float:
    from pipeline.clean.phrases import phrase_book

    for item in items[:40]:  # lazy one-off costs (models, date parsers, regex caches) stay out of the timing
        work(item)
    elapsed = 0.0
    for _ in range(repeat):
        phrase_book().memo.clear()  # each pass starts cold: no line is known from an earlier pass
        started = time.process_time()
        for item in items:
            work(item)
        elapsed += time.process_time() - started
    rate = len(items) * repeat / elapsed
    print(f"{label:<52} {rate:8.1f} docs/s per core")
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parents[2]
    parser.add_argument("--bench", type=Path, default=here.parent / "shared" / "bench" / "aeb")
    parser.add_argument("--seeds", type=Path, default=here.parent / "shared" / "seeds")
    args = parser.parse_args(argv)
    manifest = args.bench / "manifest.jsonl"
    html_pages = read_manifest(manifest, "html")
    txt_pages = read_manifest(manifest, "txt")
    html = [(Path(p["input"]).read_bytes(), p["url"]) for p in html_pages]
    txt = [Path(p["input"]).read_bytes() for p in txt_pages]
    seeds = [p.read_bytes() for p in sorted(args.seeds.glob("*.txt"))]
    corpus = Path(__file__).resolve().parents[1] / "sample_corpus"
    articles = seeds + [p.read_bytes() for p in sorted(corpus.rglob("*.txt")) if p.parent.name != "broken"]

    import trafilatura

    from pipeline.clean.metadata import detect_language

    detect_language("a sentence long enough to load the language model once")  # a one-off per process
    print(f"pages: {len(html)} HTML, {len(txt)} flattened; seeds: {len(seeds)}")
    ours = per_core("HTML, newsingest cleaner", html, lambda d: clean_for_eval(d[0], "html", d[1], ""))
    alone = per_core("HTML, trafilatura.extract alone (same settings)", html, lambda d: trafilatura.extract(d[0].decode("utf-8", "replace"), url=d[1], **TRAFILATURA_SETTINGS))
    print(f"{'  ratio ours / trafilatura':<52} {ours / alone:8.2f}")
    text_only = {**TRAFILATURA_SETTINGS, "with_metadata": False}
    bare = per_core("HTML, trafilatura.extract alone, text only", html, lambda d: trafilatura.extract(d[0].decode("utf-8", "replace"), url=d[1], **text_only))
    print(f"{'  ratio ours (text and metadata) / text only':<52} {ours / bare:8.2f}")
    per_core("flattened whole pages (page.txt)", txt, lambda d: clean_for_eval(d, "text", None, ""))
    per_core(f"article-sized flattened texts ({len(articles)}: seeds, sample corpus)", articles, lambda d: clean_for_eval(d, "text", None, ""), repeat=50)

    for kind in ("html", "txt"):
        result = evaluate(manifest, kind)
        print(f"benchmark {kind:<5} P={result.precision:.4f} R={result.recall:.4f} F1={result.f1:.4f} ({result.docs_per_second:.1f} docs/s on {result.workers} workers)")

    with tempfile.TemporaryDirectory() as folder:
        for i, payload in enumerate(txt * 5):
            Path(folder, f"{i:05d}.txt").write_bytes(payload)
        count = len(txt) * 5
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipeline.cli", "clean", "--format", "text", folder], check=False, stdout=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        print(f"newsingest clean, {count} flattened pages, all cores: {count / elapsed:.1f} docs/s wall ({elapsed:.1f} s, process start included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
