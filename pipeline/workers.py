"""Worker processes that never outlive the process that started them.

A pool's workers wait on a queue; when their parent is killed (SIGKILL, the OOM killer) nothing
tells them, and they would wait forever holding hundreds of megabytes. On Linux each worker asks
the kernel to send it SIGKILL when its parent dies (``PR_SET_PDEATHSIG``), and checks once that
the parent is still there (it may have died before the request)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # no prctl: the check below still catches a dead parent at start
            pass
    if os.getppid() != parent:
        os._exit(1)


def process_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, initializer=_die_with_parent, initargs=(os.getpid(),))


def import_module_quietly(name: str) -> None:
    """Import a module in a pool worker ahead of the work that needs it (the module itself would
    not travel back as a result)."""
    import importlib

    importlib.import_module(name)


def import_in_background(name: str):
    """Import a heavy module on a thread while other work goes on (the clean workers, the load)."""
    import importlib
    import threading

    thread = threading.Thread(target=importlib.import_module, args=(name,), daemon=True)
    thread.start()
    return thread


def clean_shard(job):
    """One shard through ``stage_clean`` in a pool worker: ``(shard, boilerplate, settings)``."""
    from pipeline.stages import stage_clean

    shard, boilerplate, settings = job
    return stage_clean(shard, boilerplate, settings)

