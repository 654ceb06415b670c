"""Story level: different write-ups of one event share its names (people, places, bodies) and
appear within a few days of each other. A looser grouping than near-duplicates; it never merges
articles away, it only labels them with a common ``story_id``."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime
from typing import NamedTuple

STORY_TERMS = 15
CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-ZÀ-Ý][\w'-]{2,})")
STOP = frozenset(
    ["the", "this", "that", "these", "those", "there", "their", "they", "then", "than", "when", "where", "what", "which", "while", "with", "from", "into", "about", "after", "before", "during", "over", "under", "between", "against", "among", "said", "says", "mr", "mrs", "ms", "dr", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "but", "and", "for", "its", "his", "her", "our", "your", "also", "however", "meanwhile", "according", "der", "die", "das", "und", "les", "des", "une", "el", "los", "las", "il", "della"]
)


def story_terms(title: str | None, body: str) -> list[str]:
    """The most frequent capitalised names of an article (sentence-initial words excluded)."""
    counts: Counter[str] = Counter()
    for text in (title or "", body):
        for line in text.splitlines():
            for match in CAPITALISED.finditer(line):
                term = match.group(1).casefold().removesuffix("'s").removesuffix("’s")
                if term not in STOP:
                    counts[term] += 1
    return [term for term, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:STORY_TERMS]]


def same_story(
    terms_a: list[str], terms_b: list[str], when_a: datetime | None, when_b: datetime | None, min_shared: int, window_days: int
) -> bool:
    if when_a and when_b and abs((when_a - when_b).total_seconds()) > window_days * 86400:
        return False
    shared = len(set(terms_a) & set(terms_b))
    return shared >= max(min_shared, min(len(terms_a), len(terms_b)) // 3)


def candidate_pairs(terms: dict[str, list[str]], min_shared: int) -> list[tuple[str, str]]:
    """The pairs of articles sharing at least ``min_shared`` terms (a necessary condition of
    ``same_story``), found through the terms instead of by comparing every pair."""
    keys = sorted(terms)
    postings: dict[str, list[int]] = defaultdict(list)
    for number, key in enumerate(keys):
        for term in set(terms[key]):
            postings[term].append(number)
    size = len(keys)
    shared: Counter[int] = Counter()
    for numbers in postings.values():
        if len(numbers) > 1:
            shared.update(a * size + b for i, a in enumerate(numbers) for b in numbers[i + 1 :])
    return [(keys[pair // size], keys[pair % size]) for pair, count in sorted(shared.items()) if count >= min_shared]


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
    batch_ids = set(terms) if batch_ids is None else batch_ids
    stored = history is not None and history.available
    stored_stories: dict[str, str] = {}
    members: dict[str, dict] = {}
    for member in near.members:
        members[member["article_id"]] = member
    story_candidates = history.story_candidates(terms) if stored else {}
    sf = UnionFind()
    for a in sorted(batch_ids):
        sf.find(a)
    for a, b in candidate_pairs(terms, settings.story_min_shared_terms):
        if same_story(terms[a], terms[b], when[a], when[b], settings.story_min_shared_terms, settings.story_window_days):
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
