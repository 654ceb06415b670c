"""The event-driven inbox on the real service: files renamed into the inbox in three bursts are
ingested with no trigger by hand (the inbox watcher in the triggerer), the scheduler is killed in
the middle and comes back, and every file ends with exactly one ledger outcome: nothing lost,
nothing doubled. The service fixture stops everything and asserts no process is left."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipeline.benchmarks.wire_corpus import iter_batch
from pipeline.inbox.queue import status
from tests.e2e.runner import query

pytestmark = pytest.mark.e2e


def drop_burst(inbox: Path, writing: Path, files, tag: str) -> list[str]:
    """Written beside the inbox, renamed in: what the README tells users to do."""
    dropped = []
    for n, f in enumerate(files):
        domain, name = f.path.split("/", 1)
        target = inbox / domain / f"{tag}-{n:04d}-{name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = writing / target.name
        tmp.write_bytes(f.data)
        os.rename(tmp, target)
        dropped.append(str(target))
    return dropped


def ledger_uris(service) -> list[str]:
    if not Path(service.settings.db_path).exists():
        return []
    return [uri for (uri,) in query(service.settings.db_path, "SELECT uri FROM run_ledger")]


def wait_for_uris(service, expected: set[str], timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        uris = ledger_uris(service)
        if expected <= set(uris) or time.monotonic() > deadline:
            return uris
        time.sleep(2)


def test_bursts_into_the_inbox_land_exactly_once_across_a_scheduler_kill(service, tmp_path):
    files = list(iter_batch(150, seed=21))
    writing = service.newsingest_home / "writing"
    writing.mkdir(exist_ok=True)
    dropped: list[str] = []

    dropped += drop_burst(service.inbox, writing, files[:40], "burst1")
    uris = wait_for_uris(service, set(dropped), timeout=240)
    assert set(dropped) <= set(uris), f"{len(set(dropped) - set(uris))} of the first burst not landed"

    # The second burst arrives, and the scheduler dies with it.
    dropped += drop_burst(service.inbox, writing, files[40:50], "burst2")
    old = service.kill_component("scheduler")
    assert service.wait_component("scheduler", old) != old  # supervisord starts it again

    dropped += drop_burst(service.inbox, writing, files[50:], "burst3")
    uris = wait_for_uris(service, set(dropped), timeout=600)
    assert len(dropped) == 150
    assert sorted(uris) == sorted(dropped), f"lost {len(set(dropped) - set(uris))}, doubled {len(uris) - len(set(uris))}"

    outcomes = dict(query(service.settings.db_path, "SELECT outcome, count(*) FROM run_ledger GROUP BY ALL"))
    assert outcomes.get("article", 0) > 0 and sum(outcomes.values()) == 150
    canonical = query(service.settings.db_path, "SELECT count(*) FROM canonical_articles")[0][0]
    assert canonical == outcomes["article"]
    # Runs came from the inbox watcher, not from anyone's trigger.
    runs = service.runs("news_ingest")
    assert runs and all(run["run_type"] in ("asset_triggered", "scheduled") for run in runs), [r["run_type"] for r in runs]
    # Everything settled: the inbox is empty, no claim is left open, nothing failed.
    deadline = time.monotonic() + 60
    while (state := status(service.settings))["claimed"] and time.monotonic() < deadline:
        time.sleep(1)
    assert state["pending_files"] == 0 and state["claimed"] == {} and state["failed"] == []
    processed = [p for p in Path(service.settings.processed_dir).rglob("*") if p.is_file() and p.name != "claim.json"]
    assert len(processed) == 150
