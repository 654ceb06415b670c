"""The inbox watcher: an Airflow event trigger that runs in the triggerer and fires when files
are ready in the inbox, updating the asset that schedules news_ingest.

The event only says "there is input"; the run claims whatever is pending when it starts
(``pipeline.inbox.queue``), so events that Airflow collapses into one run, or that are lost
while the triggerer restarts, never strand a file. A file fires once when it becomes ready; files
still waiting after ``resignal_seconds`` fire again (a run may have been cleared or failed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from pipeline.inbox.queue import iter_pending_files


def scan(directory: str, settle_seconds: float) -> dict[str, int]:
    """Ready files of the inbox by path, with the time they appeared there (ctime: a rename sets it)."""
    from pathlib import Path

    return {str(path): info.st_ctime_ns for path, info in iter_pending_files(Path(directory), settle_seconds)}


class InboxTrigger(BaseEventTrigger):
    """Fires when a file is ready in ``directory`` (or any folder below it)."""

    def __init__(self, *, directory: str, poke_interval: float = 1.0, settle_seconds: float = 1.0, resignal_seconds: float = 60.0) -> None:
        super().__init__()
        self.directory = directory
        self.poke_interval = poke_interval
        self.settle_seconds = settle_seconds
        self.resignal_seconds = resignal_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "pipeline.inbox.trigger.InboxTrigger",
            {"directory": self.directory, "poke_interval": self.poke_interval, "settle_seconds": self.settle_seconds, "resignal_seconds": self.resignal_seconds},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        signalled: dict[str, int] = {}
        last_signal = 0.0
        while True:
            ready = await asyncio.to_thread(scan, self.directory, self.settle_seconds)
            new = [path for path, ctime in ready.items() if signalled.get(path) != ctime]
            now = time.monotonic()
            if new or (ready and now - last_signal >= self.resignal_seconds):
                signalled = ready  # what the inbox no longer holds is forgotten: memory follows the inbox
                last_signal = now
                self.log.info("inbox %s: %d files ready (%d new)", self.directory, len(ready), len(new))
                yield TriggerEvent({"directory": self.directory, "ready": len(ready), "new": len(new)})
            else:
                signalled = {path: ctime for path, ctime in signalled.items() if path in ready}
            await asyncio.sleep(self.poke_interval)
