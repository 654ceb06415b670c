"""Near-duplicate clusters, each led by its canonical copy.

Documents are visited in canonical order (``canonical.canonical_key``: wire original, earliest,
most complete, smallest id). The first document of a cluster is its canonical copy, and only
canonical copies are indexed: every later document is compared with the canonical copies that
share the most sketch samples with it (an inverted index over sampled hashes, i.e. LSH with
one-sample bands) and joins the one it matches best, or starts a cluster of its own. Because every member
is verified against its canonical copy and never against another member, clusters cannot chain
one story into the next as they grow, and because the visiting order depends only on the
documents, the clusters and canonical copies do not depend on input or batch order.

Verification on the sketches: containment of the smaller sketch in the larger
(``|A ∩ B| / min(|A|, |B|)``, the similarity reported, or the Jaccard index when that reaches
``FULL_COPY``: a copy of the whole text) survives re-headlined, re-bylined, trimmed and cut copies; at
least ``MIN_SHARED`` shared samples keeps a shared quote or a short stock paragraph from linking
two write-ups. A page quoting several stories (a digest, a live page) would lead them all,
since each is contained in it: so a leader records what its partial (containment) copies cover of
it, and a further partial copy must overlap that by the containment threshold; a part disjoint
from it is another story. Partial copies of one original all hold its opening (cut and trimmed
copies), so they overlap. Candidates come only from rare samples: a sample held by more than
``CANDIDATE_POSTING`` canonical copies is a stock phrase (site boilerplate, agency credits, set
phrases) and finds nobody, which keeps the work per document bounded as the corpus grows.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from pipeline.dedup.canonical import Member, canonical_key
from pipeline.dedup.sketch import _sketch

CONTAINMENT = 0.45
FULL_COPY = 0.8  # Jaccard from which a copy counts as the whole text ("jaccard"), not a part of it ("containment")
MIN_SHARED = 4
CANDIDATE_POSTING = 32  # a sample shared by more canonical copies than this finds no candidates (stock phrase)
MAX_CANDIDATES = 8  # canonical copies verified per document, those sharing the most rare samples first
KEY_MODULUS = 1  # sketch hashes divisible by this are index keys (1: all); verification uses whole sketches


METHODS = ("canonical", "exact", "jaccard", "containment")


@dataclass(slots=True)
class Doc:
    key: str
    samples: bytes  # the sketch: sorted unique uint64 hashes (native byte order), see sketch.py
    whole: int  # hash of the whole folded text: equal hashes are exact copies (0: none, a text without letters or digits)
    member: Member


@dataclass(slots=True)
class Assignment:
    canonical: str
    similarity: float
    method: str  # one of METHODS


def cluster(docs: list[Doc], containment: float = CONTAINMENT, min_shared: int = MIN_SHARED) -> dict[str, Assignment]:
    """Canonical copy, similarity to it and how it was found, for every document."""
    if len({d.key for d in docs}) != len(docs):
        raise ValueError("document keys must be unique")
    order = sorted(docs, key=lambda d: canonical_key(d.member))
    samples, wholes = [d.samples for d in order], [d.whole for d in order]
    if _sketch is not None:
        found = _sketch.cluster_sorted(samples, wholes, containment, FULL_COPY, min_shared, CANDIDATE_POSTING, MAX_CANDIDATES, KEY_MODULUS)
    else:
        found = cluster_sorted(samples, wholes, containment, min_shared)
    return {d.key: Assignment(order[position].key, round(similarity, 4), METHODS[method]) for d, (position, similarity, method) in zip(order, found)}


def cluster_sorted(samples: list[bytes], wholes: list[int], containment: float = CONTAINMENT, min_shared: int = MIN_SHARED) -> list[tuple[int, float, int]]:
    """The algorithm on documents in canonical order: per document (position of its canonical
    copy, similarity, index into METHODS). The reference of the compiled ``cluster_sorted``."""
    postings: dict[int, list[int] | None] = {}  # sample -> canonical copies holding it; None once stock
    leaders: list[int] = []  # leader number -> document position
    sets: list[frozenset[int]] = []
    claimed: list[set[int]] = []  # leader number -> what its partial (containment) copies cover of it
    exact: dict[int, int] = {}
    out: list[tuple[int, float, int]] = []
    for position, (packed, whole) in enumerate(zip(samples, wholes)):
        if whole and whole in exact:  # 0: no letters or digits, no exact key
            out.append((leaders[exact[whole]], 1.0, 1))
            continue
        mine = array("Q", packed)
        shared: dict[int, int] = {}
        for value in mine:
            posting = postings.get(value) if value % KEY_MODULUS == 0 else None
            if posting:
                for number in posting:
                    shared[number] = shared.get(number, 0) + 1
        ranked = sorted((-count, number) for number, count in shared.items() if len(shared) <= MAX_CANDIDATES or count > 1)
        best: tuple[int, float, int] | None = None
        best_number = -1
        mine_set = frozenset(mine)
        for _, number in ranked[:MAX_CANDIDATES]:
            other = sets[number]
            smaller = min(len(mine_set), len(other))
            if not smaller:
                continue
            common = len(mine_set & other)
            if common < min(min_shared, smaller) or common / smaller < containment:
                continue
            jaccard = common / (len(mine_set) + len(other) - common)
            if jaccard < FULL_COPY and claimed[number]:
                part = mine_set & other
                overlap = len(part & claimed[number])
                if overlap < min(min_shared, len(part)) or overlap < containment * min(len(part), len(claimed[number])):
                    continue  # a part of the leader disjoint from what its partial copies cover: another story
            score, method = (jaccard, 2) if jaccard >= FULL_COPY else (common / smaller, 3)
            if best is None or score > best[1]:
                best, best_number = (leaders[number], score, method), number
        if best is not None:
            if best[2] == 3:
                claimed[best_number] |= mine_set & sets[best_number]
            out.append(best)
            continue
        number = len(leaders)
        leaders.append(position)
        sets.append(mine_set)
        claimed.append(set())
        if whole:
            exact[whole] = number
        for value in mine:
            if value % KEY_MODULUS:
                continue
            posting = postings.setdefault(value, [])
            if posting is not None:
                if len(posting) >= CANDIDATE_POSTING:
                    postings[value] = None
                else:
                    posting.append(number)
        out.append((position, 1.0, 0))
    return out
