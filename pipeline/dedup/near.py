"""Near-duplicate links between documents.

Candidates share sampled shingles (hash mod 8 == 0: a sample that preserves containment, so a
copy cut to its first paragraphs still meets its original). Each candidate pair is verified on
the full shingle sets: containment of the shorter copy catches trimmed and cut copies, and a
minimum number of shared shingles keeps a shared quote from linking two write-ups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from pipeline.dedup.shingles import overlap, sampled, shingle_hashes

MIN_SHARED_SAMPLES = 2
MIN_SHARED_SHINGLES = 15
MAX_POSTING = 1000  # a sampled shingle in more documents than this is a stock phrase, not evidence


@dataclass(slots=True)
class Link:
    a: str
    b: str
    similarity: float
    method: str  # "exact", "jaccard" or "containment"


@dataclass(slots=True)
class Fingerprint:
    key: str
    content_hash: str
    shingles: np.ndarray
    samples: np.ndarray


def fingerprint(key: str, content_hash: str, text: str) -> Fingerprint:
    hashes = shingle_hashes(text)
    return Fingerprint(key, content_hash, hashes, sampled(hashes))


def verify(a: Fingerprint, b: Fingerprint, threshold: float) -> Link | None:
    if a.content_hash == b.content_hash:
        return Link(a.key, b.key, 1.0, "exact")
    shared, containment, jaccard = overlap(a.shingles, b.shingles)
    if containment < threshold or shared < min(MIN_SHARED_SHINGLES, len(a.shingles), len(b.shingles)):
        return None
    if jaccard >= threshold:
        return Link(a.key, b.key, round(jaccard, 4), "jaccard")
    return Link(a.key, b.key, round(containment, 4), "containment")


def links_within(prints: list[Fingerprint], threshold: float) -> list[Link]:
    by_hash: dict[str, list[int]] = defaultdict(list)
    postings: dict[int, list[int]] = defaultdict(list)
    for index, fp in enumerate(prints):
        by_hash[fp.content_hash].append(index)
        for value in fp.samples.tolist():
            postings[value].append(index)
    pair_counts: dict[tuple[int, int], int] = defaultdict(int)
    for members in postings.values():
        if 1 < len(members) <= MAX_POSTING:
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    pair_counts[(members[x], members[y])] += 1
    for members in by_hash.values():
        for other in members[1:]:
            pair_counts[(members[0], other)] = MIN_SHARED_SAMPLES
    links = []
    for (x, y), count in pair_counts.items():
        a, b = prints[x], prints[y]
        needed = min(MIN_SHARED_SAMPLES, len(a.samples), len(b.samples)) or 1
        if count >= needed or a.content_hash == b.content_hash:
            link = verify(a, b, threshold)
            if link:
                links.append(link)
    return links


def links_to_history(
    prints: list[Fingerprint],
    candidates: Callable[[list[Fingerprint]], dict[str, list[str]]],
    load: Callable[[Iterable[str]], list[Fingerprint]],
    threshold: float,
) -> list[Link]:
    """Links from batch documents to stored ones: ``candidates`` maps batch keys to stored keys
    that share enough samples or the same content hash; ``load`` fingerprints stored documents."""
    wanted = candidates(prints)
    stored = {fp.key: fp for fp in load({k for keys in wanted.values() for k in keys})}
    links = []
    for fp in prints:
        for key in wanted.get(fp.key, ()):
            if key in stored and key != fp.key:
                link = verify(fp, stored[key], threshold)
                if link:
                    links.append(link)
    return links


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self.parent.setdefault(item, item)
        if parent != item:
            parent = self.parent[item] = self.find(parent)
        return parent

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for item in list(self.parent):
            out[self.find(item)].append(item)
        return dict(out)
