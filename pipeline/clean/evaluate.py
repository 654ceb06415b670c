"""Score the cleaner on labelled pages with the article-extraction benchmark's metric.

Tokens are the matches of ``\\w+``; per page the multisets of contiguous 4-token shingles of truth
and output are compared (tp = shared, fp = extra output, fn = missing truth). Precision and recall
are means over pages; a page with empty output counts 0 for recall and is left out of the precision
mean. F1 is the harmonic mean of the two means.

A manifest is JSON lines, one page each: ``id`` and paths relative to the manifest for ``html``
and/or ``txt`` (the input) and ``expected`` (the truth); ``url`` is optional.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline.sources.files import domain_of
from pipeline.workers import process_pool

TOKEN = re.compile(r"\w+")
SHINGLE = 4


def shingles(text: str) -> Counter:
    tokens = TOKEN.findall(text)
    return Counter(tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1))


@dataclass(slots=True)
class PageScore:
    page_id: str
    tp: int
    fp: int
    fn: int
    empty: bool
    error: str | None = None

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        if self.empty:
            return 0.0
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def score_page(page_id: str, output: str, truth: str, error: str | None = None) -> PageScore:
    got, want = shingles(output), shingles(truth)
    tp = sum((got & want).values())
    return PageScore(page_id, tp, sum(got.values()) - tp, sum(want.values()) - tp, not output.strip(), error)


@dataclass(slots=True)
class EvalResult:
    pages: list[PageScore] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1

    @property
    def precision(self) -> float:
        scored = [p.precision for p in self.pages if not p.empty]
        return sum(scored) / len(scored) if scored else 0.0

    @property
    def recall(self) -> float:
        return sum(p.recall for p in self.pages) / len(self.pages) if self.pages else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def docs_per_second(self) -> float:
        return len(self.pages) / self.seconds if self.seconds else 0.0


def read_manifest(manifest: str | Path, input_kind: str) -> list[dict]:
    base = Path(manifest).parent
    pages = []
    with open(manifest, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            entry = json.loads(line)
            if input_kind not in entry or "expected" not in entry:
                raise ValueError(f"{manifest}:{number}: needs {input_kind!r} and 'expected' paths")
            pages.append(
                {
                    "id": str(entry.get("id", number)),
                    "url": entry.get("url"),
                    "input": str(base / entry[input_kind]),
                    "expected": str(base / entry["expected"]),
                }
            )
    return pages


def clean_for_eval(payload: bytes, kind: str, url: str | None, domain: str, site_boilerplate: frozenset[str] = frozenset()):
    """The body the cleaner keeps, or an error code (an empty output for the metric)."""
    from pipeline.clean import clean_document
    from pipeline.model import DocumentError, RawDocument, sha256_hex

    raw = RawDocument(
        raw_id=sha256_hex(payload), uri=url or "", domain=domain, fetched_at=datetime.now(UTC),
        content_type="text/html" if kind == "html" else "text/plain", payload=payload, url=url,
    )
    try:
        article = clean_document(raw, min_body_words=1, site_boilerplate=site_boilerplate, force_format=kind)
    except DocumentError as exc:
        return "", exc.reason
    return article.body, None


def _score_chunk(job: tuple[list[dict], str, dict[str, frozenset[str]]]) -> list[PageScore]:
    pages, kind, learned = job
    scores = []
    for page in pages:
        payload = Path(page["input"]).read_bytes()
        domain = domain_of(page["url"])
        body, error = clean_for_eval(payload, "html" if kind == "html" else "text", page["url"], domain, learned.get(domain, frozenset()))
        truth = Path(page["expected"]).read_text(encoding="utf-8")
        scores.append(score_page(page["id"], body, truth, error))
    return scores


def learn_site_lines(pages: list[dict], kind: str, min_docs: int) -> dict[str, frozenset[str]]:
    """What the pipeline learns from a batch: per site, the short lines that many of its pages repeat."""
    from pipeline.clean.site_lines import site_line_keys

    counts: Counter = Counter()
    for page in pages:
        domain = domain_of(page["url"])
        if domain != "local":  # no URL: no site to learn for, as in the pipeline
            content_type = "text/html" if kind == "html" else "text/plain"
            counts.update((domain, key) for key in site_line_keys(Path(page["input"]).read_bytes(), content_type))
    learned: dict[str, set[str]] = {}
    for (domain, key), n in counts.items():
        if n >= min_docs:
            learned.setdefault(domain, set()).add(key)
    return {domain: frozenset(keys) for domain, keys in learned.items()}


def evaluate(manifest: str | Path, input_kind: str = "html", workers: int | None = None, site_repeat_min_docs: int | None = 3) -> EvalResult:
    """Clean every page of a manifest and score it, as one batch of the pipeline would be cleaned:
    lines a site repeats on ``site_repeat_min_docs`` of its pages are its boilerplate (None: off).
    Pages are spread over ``workers`` processes."""
    pages = read_manifest(manifest, input_kind)
    learned = learn_site_lines(pages, input_kind, site_repeat_min_docs) if site_repeat_min_docs else {}
    workers = max(1, min(workers or os.cpu_count() or 1, len(pages) or 1))
    chunks = [(pages[i::workers], input_kind, learned) for i in range(workers)]
    started = time.perf_counter()
    if workers == 1:
        results = [_score_chunk(chunks[0])]
    else:
        with process_pool(workers) as pool:
            results = list(pool.map(_score_chunk, chunks))
    elapsed = time.perf_counter() - started
    order = {page["id"]: i for i, page in enumerate(pages)}
    scores = sorted((s for chunk in results for s in chunk), key=lambda s: order[s.page_id])
    return EvalResult(scores, elapsed, workers)
