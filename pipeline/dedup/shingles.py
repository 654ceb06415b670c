"""Word shingles hashed to stable 64-bit integers (stable across processes and machines, so
they can be stored in DuckDB and compared with later batches)."""

from __future__ import annotations

import hashlib
import re

import numpy as np

WORD = re.compile(r"\w+")
SHINGLE = 5
SAMPLE_MODULUS = 8  # keep shingles whose hash is 0 mod this: a containment-preserving sample
_MULTIPLIERS = np.array([0x9E3779B97F4A7C15 ** k % 2**64 for k in range(1, SHINGLE + 1)], dtype=np.uint64)
_token_cache: dict[str, int] = {}


def _token_hash(token: str) -> int:
    value = _token_cache.get(token)
    if value is None:
        value = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")
        if len(_token_cache) < 2_000_000:
            _token_cache[token] = value
    return value


def tokens(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def shingle_hashes(text: str) -> np.ndarray:
    """Sorted unique hashes of the word 5-grams of text (the whole text when shorter)."""
    words = tokens(text)
    if not words:
        return np.empty(0, dtype=np.uint64)
    ids = np.fromiter((_token_hash(w) for w in words), dtype=np.uint64, count=len(words))
    if len(ids) < SHINGLE:
        ids = np.concatenate([ids, np.zeros(SHINGLE - len(ids), dtype=np.uint64)])
    count = len(ids) - SHINGLE + 1
    with np.errstate(over="ignore"):
        combined = np.zeros(count, dtype=np.uint64)
        for k in range(SHINGLE):
            combined ^= ids[k : k + count] * _MULTIPLIERS[k]
        combined ^= combined >> np.uint64(29)
        combined *= np.uint64(0xBF58476D1CE4E5B9)
        combined ^= combined >> np.uint64(32)
    return np.unique(combined)


def sampled(hashes: np.ndarray) -> np.ndarray:
    return hashes[hashes % np.uint64(SAMPLE_MODULUS) == 0]


def overlap(a: np.ndarray, b: np.ndarray) -> tuple[int, float, float]:
    """(shared count, containment of the smaller set, Jaccard)."""
    if not len(a) or not len(b):
        return 0, 0.0, 0.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared, shared / min(len(a), len(b)), shared / (len(a) + len(b) - shared)
