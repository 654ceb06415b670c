"""``newsingest dedup``'s peak memory follows its sketches, not its input: eight times the text
(the same sketches) and eight times the refused lines cost the process next to nothing."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

WORDS = 160  # of a record's own paragraph
RECORDS = 2_000


def write_input(path, repeats: int, refused: int) -> int:
    """``RECORDS`` records whose text is their own paragraph ``repeats`` times (a sketch keeps each
    sampled gram once: its size does not depend on ``repeats``), then ``refused`` lines that are no
    record. Returns the size in bytes."""
    rng = random.Random(3)
    vocabulary = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(5_000)]
    with path.open("w", encoding="utf-8") as fh:
        for n in range(RECORDS):
            paragraph = " ".join(rng.choice(vocabulary) for _ in range(WORDS)) + ".\n"
            fh.write(json.dumps({"id": f"doc-{n}", "text": paragraph * repeats, "url": f"https://site{n % 30}.example/{n}",
                                 "published_at": f"2026-03-{1 + n % 28:02d}T08:00:00"}) + "\n")
        for n in range(refused):
            fh.write(f'{{"id": "bad-{n}", "text": {n}}}\n')
    return path.stat().st_size


def peak_rss(source, out) -> int:
    """Peak RSS of ``newsingest dedup`` in a fresh process (the kernel's count at exit, wait4)."""
    process = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "dedup", str(source), "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 1  # the refused lines
    return usage.ru_maxrss * 1024


def test_peak_memory_does_not_follow_the_size_of_the_input(tmp_path):
    small, big = tmp_path / "small.jsonl", tmp_path / "big.jsonl"
    small_bytes = write_input(small, repeats=5, refused=20_000)  # about 10 MB
    big_bytes = write_input(big, repeats=40, refused=160_000)  # about 75 MB
    small_peak = peak_rss(small, tmp_path / "small.out")
    big_peak = peak_rss(big, tmp_path / "big.out")
    # Measured: +10 MB, most of it the texts waiting to be sketched together (at most
    # SKETCH_BATCH_CHARS). Holding the texts would add about 65 MB, the refused lines' answers 45 MB.
    assert big_peak - small_peak < 20_000_000, (small_bytes, small_peak, big_bytes, big_peak)
    assert sum(1 for _ in (tmp_path / "big.out").open()) == RECORDS + 160_000
