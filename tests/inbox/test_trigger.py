"""The inbox watcher's event trigger, driven the way the triggerer drives it (its async generator)."""

from __future__ import annotations

import asyncio

from pipeline.inbox.trigger import InboxTrigger
from tests.inbox.test_queue import drop


async def next_event(events: asyncio.Queue, seconds: float):
    try:
        return await asyncio.wait_for(events.get(), seconds)
    except TimeoutError:
        return None


async def collect(trigger: InboxTrigger, events: asyncio.Queue) -> None:
    async for event in trigger.run():
        await events.put(event)


def test_fires_once_per_ready_file_and_again_for_files_left_waiting(tmp_path):
    inbox = tmp_path / "inbox"
    trigger = InboxTrigger(directory=str(inbox), poke_interval=0.05, settle_seconds=1.0, resignal_seconds=2.0)
    assert trigger.serialize() == ("pipeline.inbox.trigger.InboxTrigger", {"directory": str(inbox), "poke_interval": 0.05, "settle_seconds": 1.0, "resignal_seconds": 2.0})

    async def scenario():
        events: asyncio.Queue = asyncio.Queue()
        watcher = asyncio.create_task(collect(trigger, events))
        assert await next_event(events, 0.5) is None  # no inbox yet: nothing, and no error
        drop(inbox, "apnews.com", "a.txt")
        first = await next_event(events, 2.0)
        assert first is not None and first.payload["new"] == 1
        assert await next_event(events, 0.5) is None  # the same file does not fire again at once
        (inbox / "apnews.com" / "b.txt.part").write_text("still downloading")
        assert await next_event(events, 0.5) is None
        drop(inbox, "apnews.com", "b.txt")
        second = await next_event(events, 2.0)
        assert second is not None and second.payload == {"directory": str(inbox), "ready": 2, "new": 1}
        third = await next_event(events, 3.0)  # nobody claimed them: fired again
        assert third is not None and third.payload["new"] == 0 and third.payload["ready"] == 2
        assert not watcher.done()  # a watcher runs for as long as the triggerer does
        watcher.cancel()

    asyncio.run(scenario())
