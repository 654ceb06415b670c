"""Story level: different write-ups of one event share its names (people, places, bodies) and
appear within a few days of each other. A looser grouping than near-duplicates; it never merges
articles away, it only labels them with a common ``story_id``."""

from __future__ import annotations

import re
from array import array
from collections import Counter
from datetime import datetime
from typing import NamedTuple

STORY_TERMS = 15
# A capital not at a line's start, not after a sentence's end, not inside a word. The pattern
# starts with the capital (the lookbehinds follow it) so the engine skips ahead to candidates.
CAPITALISED = re.compile(r"([A-ZÀ-Ý](?<![.!?]\s.)(?<!^.)(?<!\w.)[\w'-]{2,})", re.M)
STOP = frozenset(
    ["the", "this", "that", "these", "those", "there", "their", "they", "then", "than", "when", "where", "what", "which", "while", "with", "from", "into", "about", "after", "before", "during", "over", "under", "between", "against", "among", "said", "says", "mr", "mrs", "ms", "dr", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "but", "and", "for", "its", "his", "her", "our", "your", "also", "however", "meanwhile", "according", "der", "die", "das", "und", "les", "des", "une", "el", "los", "las", "il", "della"]
)


def story_terms(title: str | None, body: str) -> list[str]:
    """The most frequent capitalised names of an article (sentence-initial words excluded)."""
    names: Counter[str] = Counter()
    for text in (title or "", body):
        names.update(CAPITALISED.findall("\n".join(text.splitlines())))  # any line break counts as one
    counts: Counter[str] = Counter()
    for name, count in names.items():
        term = name.casefold().removesuffix("'s").removesuffix("’s")
        if term not in STOP:
            counts[term] += count
    return [term for term, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:STORY_TERMS]]


def same_story(
    terms_a: list[str], terms_b: list[str], when_a: datetime | None, when_b: datetime | None, min_shared: int, window_days: int
) -> bool:
    if when_a and when_b and abs((when_a - when_b).total_seconds()) > window_days * 86400:
        return False
    shared = len(set(terms_a) & set(terms_b))
    return shared >= max(min_shared, min(len(terms_a), len(terms_b)) // 3)


POSTING_CAP = 32  # a term held by more articles of the batch is too common to pair all of them
NEIGHBOURS = 8  # ... so each of them is paired with this many of its next in time instead
PAIR_CHUNK = 16384  # candidate pairs verified at a time (each takes width² bytes of comparisons, several times)


def candidate_pairs(terms: dict[str, list[str]], min_shared: int, when: dict[str, datetime | None] | None = None) -> list[tuple[str, str]]:
    """The pairs of articles sharing at least ``min_shared`` terms (a necessary condition of
    ``same_story``), found without comparing every pair.

    Each article's terms are ranked rarest first (by how many articles of the batch hold them);
    two articles sharing ``min_shared`` terms share one of the first ``len - min_shared + 1`` of
    each (prefix filtering), so only those are indexed, and the names every article carries
    mostly stay out. A term still indexed for more than ``POSTING_CAP`` articles pairs each of
    them only with its ``NEIGHBOURS`` next in time (``when``, then id): a big story published
    together still chains, and the pairs stay linear in the batch. Exact when no indexed term
    is held by more than ``POSTING_CAP`` articles."""
    import numpy as np

    keys = sorted(terms)
    size = len(keys)
    if size < 2:
        return []
    vocabulary = {term: number for number, term in enumerate(sorted({t for key in keys for t in terms[key]}))}
    # Each article's term numbers, sorted, in one flat array: a list of ints per article would
    # cost more than the table built from them.
    held, counts = array("q"), array("q")
    for key in keys:
        ids = sorted({vocabulary[t] for t in terms[key]})
        held.extend(ids)
        counts.append(len(ids))
    counts = np.frombuffer(counts, dtype=np.int64)
    width = int(counts.max())
    if width < min_shared:
        return []
    table = np.full((size, width), -1, dtype=np.int64)
    table[np.arange(width)[None, :] < counts[:, None]] = np.frombuffer(held, dtype=np.int64)  # row by row, left-aligned
    del held, counts
    present = table >= 0
    df = np.bincount(table[present], minlength=len(vocabulary))
    rarity = np.where(present, df[table] * len(vocabulary) + table, np.iinfo(np.int64).max)  # rarest first, then by term
    ranked = np.take_along_axis(table, np.argsort(rarity, axis=1, kind="stable"), axis=1)
    prefix = np.arange(width)[None, :] < (present.sum(axis=1) - min_shared + 1)[:, None]
    post_rows = np.nonzero(prefix)[0]
    post_terms = ranked[prefix]
    del present, rarity, ranked, prefix
    when = when or {}
    instants = np.array([_instant(when.get(key)) for key in keys])
    rank = np.empty(size, dtype=np.int64)
    rank[np.argsort(instants, kind="stable")] = np.arange(size)
    order = np.lexsort((rank[post_rows], post_terms))  # postings by term, each in time order
    post_rows, post_terms = post_rows[order], post_terms[order]
    starts = np.flatnonzero(np.r_[True, post_terms[1:] != post_terms[:-1]])
    lengths = np.diff(np.r_[starts, len(post_terms)])
    length = np.repeat(lengths, lengths)
    position = np.arange(len(post_terms)) - np.repeat(starts, lengths)
    reach = np.where(length <= POSTING_CAP, length - 1, NEIGHBOURS)
    codes = [np.empty(0, dtype=np.int64)]
    for step in range(1, int(reach.max(initial=0)) + 1):
        first = np.flatnonzero((position + step < length) & (step <= reach))
        a, b = post_rows[first], post_rows[first + step]
        codes.append(np.minimum(a, b) * size + np.maximum(a, b))
    pairs = np.concatenate(codes)
    del codes, position, length, reach
    pairs.sort()
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]][: len(pairs)]]  # np.unique hashes, and is far slower here
    found: list[tuple[str, str]] = []
    for chunk in range(0, len(pairs), PAIR_CHUNK):
        a, b = np.divmod(pairs[chunk : chunk + PAIR_CHUNK], size)
        ta, tb = table[a], table[b]
        shared = ((ta[:, :, None] == tb[:, None, :]) & (ta[:, :, None] >= 0)).sum(axis=(1, 2))
        keep = shared >= min_shared
        found.extend(zip(map(keys.__getitem__, a[keep].tolist()), map(keys.__getitem__, b[keep].tolist())))
    return found


def _instant(when: datetime | None) -> float:
    return when.timestamp() if when is not None else float("-inf")


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        root = self.parent.setdefault(item, item)
        while self.parent[root] != root:
            root = self.parent[root]
        while item != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class Stories(NamedTuple):
    terms: dict[str, list[str]]  # story terms per batch article
    groups: UnionFind  # story group (``groups.find``) of batch and stored articles
    members: dict[str, dict]  # stored articles to re-key: near-duplicate members, then members of the stories joined


def assign_stories(rows: list[dict], near, history, settings, batch_ids: set[str] | None = None) -> Stories:
    """The story level: batch against batch, then against stored candidates. ``rows`` are batch
    articles (``article_id``, ``story_terms``, ``published_at``); ``near`` the near-duplicate
    result; ``history`` a ``StoredIndex`` (or None); ``batch_ids`` every article of the batch
    (default: the rows'), whose stored versions are replaced, not kept."""
    terms = {r["article_id"]: r["story_terms"] for r in rows}
    when = {r["article_id"]: r["published_at"] for r in rows}
    return stories_of(terms, when, near, history, settings, batch_ids)


def stories_of(terms: dict[str, list[str]], when: dict[str, datetime | None], near, history, settings, batch_ids: set[str] | None = None) -> Stories:
    """``assign_stories`` on the batch's story terms and publication times per article (what the
    dedup stage builds from columns, without a row per article)."""
    batch_ids = set(terms) if batch_ids is None else batch_ids
    stored = history is not None and history.available
    stored_stories: dict[str, str] = {}
    members: dict[str, dict] = {}
    for member in near.members:
        members[member["article_id"]] = member
    sf = UnionFind()
    for a in sorted(batch_ids):
        sf.find(a)
    # A near-copy shares its canonical copy's story: only the others (leaders, and copies of a
    # stored article) are compared.
    leaders = {}
    for a in sorted(terms):
        found = near.assigned.get(a)
        if found is not None and found.canonical != a and found.canonical in terms:
            sf.union(a, found.canonical)
        else:
            leaders[a] = terms[a]
    story_candidates = history.story_candidates(leaders, when) if stored else {}
    for a, b in candidate_pairs(leaders, settings.story_min_shared_terms, when):
        if sf.find(a) != sf.find(b) and same_story(terms[a], terms[b], when[a], when[b], settings.story_min_shared_terms, settings.story_window_days):
            sf.union(a, b)
    for a, candidates in story_candidates.items():
        for found in candidates:
            if same_story(terms[a], found["terms"], when[a], found["published_at"], settings.story_min_shared_terms, settings.story_window_days):
                sf.union(a, found["article_id"])
                sf.union(found["article_id"], found["story_id"])
                if found["article_id"] not in batch_ids:  # a batch article's stored version is replaced, not kept
                    stored_stories[found["article_id"]] = found["story_id"]
    for member in members.values():  # a re-clustered stored copy keeps its story
        sf.union(member["article_id"], member["story_id"])
        stored_stories[member["article_id"]] = member["story_id"]
    if stored and stored_stories:
        for member in history.story_members(set(stored_stories.values())):
            sf.union(member["article_id"], member["story_id"])
            if member["article_id"] not in batch_ids:
                members.setdefault(member["article_id"], {**member, "sketch": None, "whole_hash": None})
    return Stories(terms, sf, members)
