"""Story level: different write-ups of one event share its names (people, places, bodies) and
appear within a few days of each other. A looser grouping than near-duplicates; it never merges
articles away, it only labels them with a common ``story_id``."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime

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
