"""Keys of the near-duplicate index: the compact id of an article and the LSH keys of a sketch.
Computed here; stored by ``pipeline/store`` (``near_keys``) and looked up by ``history.py``."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from pipeline.dedup.cluster import KEY_MODULUS


def doc_key(article_id: str) -> int:
    """The 64-bit key ``near_keys`` stores for an article (stable across processes)."""
    return int.from_bytes(hashlib.blake2b(article_id.encode("utf-8"), digest_size=8).digest(), "little")


def key_table(keys: list[int], sketches: list[bytes]) -> pa.Table:
    """``(key, doc_key, size)`` rows: the index keys (sketch hashes divisible by ``KEY_MODULUS``) of
    the given documents, with the size of each document's whole sketch."""
    sizes = np.array([len(s) // 8 for s in sketches], dtype=np.int64)
    values = np.frombuffer(b"".join(sketches), dtype="<u8")
    owners = np.repeat(np.array(keys, dtype=np.uint64), sizes)
    chosen = values % np.uint64(KEY_MODULUS) == 0
    return pa.table({
        "key": pa.array(values[chosen], pa.uint64()), "doc_key": pa.array(owners[chosen], pa.uint64()),
        "size": pa.array(np.repeat(sizes, sizes)[chosen].astype(np.int32), pa.int32()),
    })
