"""Sketches of texts: sampled hashes of character grams, robust to the edits wire copies get.

A text is folded to a stream of letters and digits: case, accents, punctuation and spacing go
(so re-hyphenation, joined or split words and typographic quotes do not matter), and characters
OCR confuses are mapped to one letter (0/o, 1/i/l, c/e, rn/m, vv/w). Every ``GRAM``
consecutive characters are hashed (a polynomial rolling hash), the grams whose hash falls in the
lowest ``1/MODULUS`` of the range are kept, and their hashes, finalised by a 64-bit mixer, are the
sketch. A gram is kept or dropped the same way in
every text, so the overlap of two sketches is a uniform sample of the overlap of the texts:
containment and Jaccard are estimated from the sketches alone, and a copy cut to its first
paragraphs keeps exactly the samples of those paragraphs.

The compiled module ``_sketch`` (built by ``pip install``) runs the same algorithm; the Python
version here is its reference (a test checks they agree) and the fallback.
"""

from __future__ import annotations

import os
import threading
import unicodedata
from array import array

SKETCH_VERSION = "2"  # change with anything that changes sketches: the stored index is then rebuilt
GRAM = 14  # characters of the folded stream, two to three words
MODULUS = 16  # keep one gram in 16: about 180 samples for a 600-word article
MASK = (1 << 64) - 1
BASE = 0x100000001B3
LATIN1 = "aaaaaaaceeeeiiiidnooooo ouuuuyts" "aaaaaaaceeeeiiiidnooooo ouuuuyty"
PARALLEL_MIN_TEXTS = 256
# Letters with a stroke, which NFKD leaves whole, to their base letter (dotless i like i: to l).
STROKED = {0x131: 0x6C, 0x142: 0x6C, 0x111: 0x64, 0x127: 0x68, 0x167: 0x74, 0x180: 0x62, 0x1B6: 0x7A}

try:
    from pipeline.dedup import _sketch
except ImportError:  # not built: the Python reference is used (slow, same results)
    _sketch = None


def mix64(x: int) -> int:
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def _ascii_fold(code: int) -> int:
    char = chr(code)
    out = char.lower() if char.isascii() and char.isalnum() else ""
    if out == "0":
        out = "o"
    if out in ("1", "i"):
        out = "l"
    if out == "c":
        out = "e"
    return ord(out) if out else 0


ASCII_FOLD = [_ascii_fold(code) for code in range(128)]


def _fold(text: str) -> tuple[list[int], int]:
    """The folded character stream and the word count of a text in NFKD (``normalise``)."""
    stream: list[int] = []
    words = 0
    in_word = False
    for char in text:
        code = ord(char)
        if code < 0x80:
            is_word = char.isascii() and char.isalnum()
            value = ASCII_FOLD[code]
        elif code < 0xC0:
            is_word, value = False, 0
        elif code <= 0xFF:
            is_word = True
            base = LATIN1[code - 0xC0]
            value = 0 if base == " " else ord({"c": "e", "i": "l"}.get(base, base))
        elif char.isalnum():
            is_word, value = True, ord(char.lower()[0])
            value = STROKED.get(value, value)
        else:  # a combining mark (an accent after NFKD) does not end its word
            is_word, value = in_word and unicodedata.category(char) == "Mn", 0
        if is_word and not in_word:
            words += 1
        in_word = is_word
        if not value:
            continue
        if stream and ((stream[-1] == 0x72 and value == 0x6E) or (stream[-1] == 0x76 and value == 0x76)):
            stream[-1] = 0x6D if value == 0x6E else 0x77  # rn -> m, vv -> w
            continue
        stream.append(value)
    return stream, words


def normalise(text: str) -> str:
    """NFKD, so that precomposed and decomposed accents, ligatures and compatibility forms become
    base letters and combining marks, which folding drops (ASCII texts are already there)."""
    return text if text.isascii() else unicodedata.normalize("NFKD", text)


Sketch = tuple[bytes, int, int]  # (sorted unique sampled hashes as native uint64, word count, whole-text hash)


def sketch_python(text: str, gram: int = GRAM, modulus: int = MODULUS) -> Sketch:
    stream, words = _fold(normalise(text))
    power = pow(BASE, gram - 1, 1 << 64)
    limit = MASK // modulus
    value = whole = 0
    kept = set()
    for i, code in enumerate(stream):
        whole = (whole * BASE + mix64(code)) & MASK
        if i >= gram:
            value = (value - mix64(stream[i - gram]) * power) & MASK
        value = (value * BASE + mix64(code)) & MASK
        if i + 1 >= gram and value <= limit:
            kept.add(mix64(value))
    if 0 < len(stream) < gram:
        kept.add(mix64(value))
    # No letters or digits: no exact key (0), so such texts are never exact copies of each other.
    exact = (mix64(whole ^ len(stream)) or 1) if stream else 0
    return array("Q", sorted(kept)).tobytes(), words, exact


def sketch_texts(texts: list[str], gram: int = GRAM, modulus: int = MODULUS) -> list[Sketch]:
    """(sketch, word count, whole-text hash) per text; compiled and on two threads when it can."""
    if _sketch is None:
        return [sketch_python(t, gram, modulus) for t in texts]
    texts = [normalise(t) for t in texts]
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or len(texts) < PARALLEL_MIN_TEXTS:
        return _sketch.sketch_many(texts, gram, modulus)
    size = -(-len(texts) // workers)
    parts: list = [None] * workers

    def work(index: int) -> None:
        try:
            parts[index] = _sketch.sketch_many(texts[index * size : (index + 1) * size], gram, modulus)
        except Exception as exc:  # raised again in the calling thread
            parts[index] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(1, workers)]
    for thread in threads:
        thread.start()
    work(0)
    for thread in threads:
        thread.join()
    for part in parts:
        if isinstance(part, Exception):
            raise part
    return [item for part in parts for item in part]


def values(samples: bytes) -> list[int]:
    """The hashes of a sketch as integers (for storage)."""
    return array("Q", samples).tolist()



def pairs_passing(batch: list[bytes], stored: list[bytes], pair_batch, pair_stored, key_modulus: int, min_shared: int, containment: float):
    """Per pair ``(batch[pair_batch[k]], stored[pair_stored[k]])``, whether the two sketches share
    at least ``min(min_shared, s)`` and at least ``containment × s`` index keys (hashes divisible
    by ``key_modulus``), ``s`` the smaller sketch's size: a boolean numpy array. Compiled when it
    can (a signature of each sketch settles most pairs without merging them); the Python version
    is the reference (a test checks they agree)."""
    import numpy as np

    left = np.ascontiguousarray(pair_batch, dtype=np.int64)
    right = np.ascontiguousarray(pair_stored, dtype=np.int64)
    if len(left) != len(right):
        raise ValueError("pair arrays must be int64 of one length and key_modulus >= 1")
    if _sketch is not None:
        passing = _sketch.pairs_passing(list(batch), list(stored), left, right, key_modulus, min_shared, containment)
        return np.frombuffer(passing, dtype=np.bool_)
    keys_a: dict[int, set[int]] = {}
    keys_b: dict[int, set[int]] = {}
    out = np.zeros(len(left), dtype=np.bool_)
    for k, (i, j) in enumerate(zip(left.tolist(), right.tolist())):
        a = keys_a.get(i)
        if a is None:
            a = keys_a[i] = {h for h in values(batch[i]) if h % key_modulus == 0}
        b = keys_b.get(j)
        if b is None:
            b = keys_b[j] = set(values(stored[j]))
        shared, smaller = len(a & b), min(len(batch[i]), len(stored[j])) // 8
        out[k] = shared >= min(min_shared, smaller) and shared >= containment * smaller
    return out
