"""The compiled sketcher reads texts without the GIL: another thread changing the list meanwhile
must not free what it reads. Run in a child process, so a crash fails the test instead of pytest."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.dedup import sketch

SCRIPT = r"""
import threading, time
from pipeline.dedup import _sketch

def big_text():
    return "".join("word%d " % i for i in range(3_000_000))

def clobber(values):
    time.sleep(0.01)
    values[0] = None  # the list held the only reference: the str is freed
    junk = [bytearray(30_000_000) for _ in range(2)]

expected = _sketch.sketch_many([big_text()], 14, 16)
values = [big_text()]
thread = threading.Thread(target=clobber, args=(values,))
thread.start()
got = _sketch.sketch_many(values, 14, 16)
thread.join()
assert got == expected, "the sketch changed"
print("ok", len(got[0][0]) // 8)
"""


def test_sketching_survives_a_list_changed_by_another_thread():
    if sketch._sketch is None:
        pytest.skip("the compiled module is not built")
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok ")
