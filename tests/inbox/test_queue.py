"""The inbox queue: atomic claims, recovery of claims left by crashed runs, settling after land."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from pipeline.inbox import queue
from pipeline.settings import Settings
from pipeline.stages import claim_queue, stage_load, stage_rest
from tests.e2e.runner import query


def drop(inbox: Path, domain: str, name: str, text: str = "Body text of an article.\n") -> Path:
    """What the README tells users: write elsewhere, rename in."""
    folder = inbox / domain
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent.parent / f".{name}.writing"
    tmp.write_text(text)
    old = time.time() - 10
    os.utime(tmp, (old, old))
    os.rename(tmp, folder / name)
    return folder / name


@pytest.fixture
def qsettings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "var", inbox_settle_seconds=1.0)


def never_landed(run_id: str) -> bool:
    return False


def test_claim_takes_ready_files_once_and_leaves_what_is_still_being_written(qsettings):
    inbox = qsettings.inbox_dir
    drop(inbox, "apnews.com", "a.txt")
    drop(inbox, "reuters.com", "b.html")
    (inbox / "reuters.com" / ".c.txt.swp").write_text("editor swap file")
    (inbox / "reuters.com" / "d.txt.part").write_text("a download in progress")
    (inbox / "reuters.com" / "fresh.txt").write_text("written in place a moment ago")
    first = queue.claim(qsettings, "run-1", never_landed)
    assert first.files == 2 and first.manifests == []
    assert sorted(p.name for p in (first.files_dir).rglob("*")) == ["a.txt", "apnews.com", "b.html", "reuters.com"]
    assert first.uri_roots == {str(first.files_dir): str(inbox)}
    assert sorted(p.name for p in inbox.rglob("*") if p.is_file()) == [".c.txt.swp", "d.txt.part", "fresh.txt"]


def test_a_retry_of_the_same_run_keeps_its_claim_and_adds_what_arrived(qsettings):
    drop(qsettings.inbox_dir, "apnews.com", "a.txt")
    assert queue.claim(qsettings, "manual__2026-11-29T01:00:00+00:00", never_landed).files == 1
    drop(qsettings.inbox_dir, "apnews.com", "b.txt")
    again = queue.claim(qsettings, "manual__2026-11-29T01:00:00+00:00", never_landed)
    assert again.files == 2 and again.adopted == [] and ":" not in again.folder.name


def test_a_claim_of_a_run_that_landed_is_settled_and_one_that_did_not_is_adopted(qsettings):
    drop(qsettings.inbox_dir, "apnews.com", "landed.txt")
    queue.claim(qsettings, "run-landed", never_landed)
    drop(qsettings.inbox_dir, "apnews.com", "crashed.txt")
    crashed = queue.claim(qsettings, "run-crashed", lambda run: run == "run-landed")
    assert crashed.settled == ["run-landed"] and crashed.adopted == []
    drop(qsettings.inbox_dir, "apnews.com", "new.txt")
    third = queue.claim(qsettings, "run-3", lambda run: run == "run-landed")
    assert third.settled == [] and third.adopted == ["run-crashed"]
    assert sorted(p.name for p in third.files_dir.rglob("*.txt")) == ["crashed.txt", "new.txt"]
    processed = list(Path(qsettings.processed_dir).rglob("landed.txt"))
    assert len(processed) == 1 and "run-landed" in str(processed[0])
    with pytest.raises(queue.ClaimLost, match="adopted by a later run"):
        queue.assert_owned(qsettings, "run-crashed")
    queue.assert_owned(qsettings, "run-3")


def test_a_claim_that_fails_too_many_runs_moves_to_the_failed_area(qsettings):
    drop(qsettings.inbox_dir, "apnews.com", "poison.txt")
    queue.claim(qsettings, "r1", never_landed)
    for run in ("r2", "r3"):
        claim = queue.claim(qsettings, run, never_landed)
        assert claim.files == 1
    last = queue.claim(qsettings, "r4", never_landed)
    assert last.failed == ["r3"] and last.empty
    assert queue.status(qsettings)["failed"] == ["r3"]
    assert list((Path(qsettings.queue_dir) / "failed" / "r3").rglob("poison.txt"))


def test_fetch_batches_are_queued_and_claimed_with_the_files(qsettings, tmp_path):
    queue.enqueue_manifest(qsettings, tmp_path / "raw/batches/b1.manifest.jsonl", "b1")
    queue.enqueue_manifest(qsettings, tmp_path / "raw/batches/b2.manifest.jsonl", "b2")
    drop(qsettings.inbox_dir, "apnews.com", "a.txt")
    assert queue.status(qsettings)["pending_manifests"] == 2 and queue.status(qsettings)["pending_files"] == 1
    claim = queue.claim(qsettings, "run-1", never_landed)
    assert claim.manifests == [str(tmp_path / "raw/batches/b1.manifest.jsonl"), str(tmp_path / "raw/batches/b2.manifest.jsonl")]
    assert claim.inputs[0] == str(claim.files_dir) and len(claim.inputs) == 3
    assert queue.status(qsettings)["pending_manifests"] == 0


def test_a_file_renamed_in_again_under_a_claimed_name_is_kept_beside_it(qsettings):
    drop(qsettings.inbox_dir, "apnews.com", "a.txt", "first version")
    queue.claim(qsettings, "run-1", never_landed)
    drop(qsettings.inbox_dir, "apnews.com", "a.txt", "second version")
    claim = queue.claim(qsettings, "run-1", never_landed)
    texts = sorted(p.read_text() for p in claim.files_dir.rglob("a.txt*"))
    assert texts == ["first version", "second version"]


def _claim_in_process(home: str, run_id: str, out, start) -> None:
    start.wait(timeout=60)
    claim = queue.claim(Settings(home=Path(home), inbox_settle_seconds=0), run_id, None)
    out.put(sorted(str(p.relative_to(claim.files_dir)) for p in claim.files_dir.rglob("*") if p.is_file()))


def test_two_claimants_at_once_share_the_files_with_none_twice_and_none_lost(tmp_path):
    settings = Settings(home=tmp_path / "var", inbox_settle_seconds=0)
    for n in range(3000):
        drop(settings.inbox_dir, f"site{n % 7}.example", f"{n:05d}.txt")
    ctx = multiprocessing.get_context("spawn")
    out, start = ctx.Queue(), ctx.Barrier(2)
    workers = [ctx.Process(target=_claim_in_process, args=(str(settings.home), f"run-{i}", out, start)) for i in range(2)]
    for w in workers:
        w.start()
    claimed = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    everything = [name for names in claimed for name in names]
    assert len(everything) == len(set(everything)) == 3000
    assert all(names for names in claimed), "both claimants ran at the same time"


def test_inbox_files_are_ledgered_under_their_inbox_path_and_settled_after_land(qsettings, seeds_dir):
    for seed in sorted(seeds_dir.iterdir())[:3]:
        drop(qsettings.inbox_dir, "wire.example", seed.name, seed.read_text(encoding="utf-8"))
    claim = claim_queue("run-1", qsettings)
    loaded = stage_load(claim.inputs, "run-1", qsettings, claim.uri_roots)
    stage_rest(loaded, "run-1", qsettings)
    queue.settle(qsettings, "run-1")
    uris = sorted(uri for (uri,) in query(qsettings.db_path, "SELECT uri FROM run_ledger WHERE run_id = 'run-1'"))
    assert uris == sorted(str(qsettings.inbox_dir / "wire.example" / seed.name) for seed in sorted(seeds_dir.iterdir())[:3])
    assert not list(Path(qsettings.queue_dir, "claimed").iterdir())
    assert len(list(Path(qsettings.processed_dir).rglob("*.txt"))) == 3
    # A later claim finds nothing, and a retry of the landed run recognises it.
    assert claim_queue("run-2", qsettings).empty



def test_inbox_command_shows_pending_claimed_and_failed(qsettings, capsys, monkeypatch):
    from pipeline.cli import main

    drop(qsettings.inbox_dir, "apnews.com", "a.txt")
    queue.claim(qsettings, "run-1", never_landed)
    drop(qsettings.inbox_dir, "apnews.com", "b.txt")
    queue.enqueue_manifest(qsettings, "/raw/batches/b1.manifest.jsonl", "b1")
    assert main(["inbox", "--home", str(qsettings.home)]) == 0
    out = capsys.readouterr().out
    assert "pending: 1 files, 1 fetch batches" in out and "claimed by run-1: 1 files, 0 fetch batches (attempt 1)" in out


def test_a_run_that_finds_nothing_leaves_no_claim_and_empty_claims_are_not_adopted(qsettings):
    assert queue.claim(qsettings, "r1", never_landed).empty
    assert queue.status(qsettings)["claimed"] == {}
    (Path(qsettings.queue_dir) / "claimed" / "r0").mkdir(parents=True)  # a run killed before it claimed anything
    drop(qsettings.inbox_dir, "apnews.com", "a.txt")
    claim = queue.claim(qsettings, "r2", never_landed)
    assert claim.adopted == [] and claim.files == 1 and list(queue.status(qsettings)["claimed"]) == ["r2"]
