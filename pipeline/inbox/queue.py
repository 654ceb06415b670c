"""The durable queue of input that arrives on its own: files renamed into the inbox, and the
manifests of fetch batches that news_fetch enqueues.

Layout (all on one file system, so every move is an atomic rename)::

    <inbox_dir>/<domain>/<name>                 pending files, written elsewhere and renamed in
    <queue_dir>/manifests/<batch>.json          pending fetch batches: {"manifest": <path>}
    <queue_dir>/claimed/<run>/claim.json        the run that owns this claim, and its attempts
    <queue_dir>/claimed/<run>/files/<domain>/   the files it claimed
    <queue_dir>/claimed/<run>/manifests/        the fetch batches it claimed
    <processed_dir>/<date>/<run>/...            settled claims (or removed: inbox_keep_processed)
    <queue_dir>/failed/<run>/...                claims that failed inbox_max_attempts runs

Exactly once: a claim is a rename out of the pending area, so each item belongs to one run. The
run's land commit is the moment the claim is settled; ``settle`` then moves it to the processed
area. A claim found later whose run landed is only settled (a crash after the commit); one whose
run did not land is adopted by the claiming run (a crash before it), so nothing is lost and
nothing lands twice. Runs of news_ingest never overlap (``max_active_runs=1``), which is what
makes a claim left by another run safe to adopt.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline.settings import Settings

log = logging.getLogger(__name__)

CLAIM_FILE = "claim.json"
# Names that writers use while a file is still being written (rsync, browsers, editors, curl -o).
PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", ".swp", "~")


class ClaimLost(RuntimeError):
    """The run's claim was adopted by a later run: landing it now would ingest its files twice."""


@dataclass(frozen=True)
class QueuePaths:
    inbox: Path
    manifests: Path
    claimed: Path
    failed: Path
    processed: Path

    @classmethod
    def of(cls, settings: Settings) -> QueuePaths:
        queue = Path(settings.queue_dir)
        return cls(Path(settings.inbox_dir), queue / "manifests", queue / "claimed", queue / "failed", Path(settings.processed_dir))

    def create(self) -> None:
        for path in (self.inbox, self.manifests, self.claimed, self.failed, self.processed):
            path.mkdir(parents=True, exist_ok=True)


@dataclass
class Claim:
    """What one run claimed: ``inputs`` go to ``stage_load``; ``uri_roots`` maps the claim folder
    back to the inbox, so the ledger names each file by the path it was given in the inbox."""

    run_id: str
    folder: Path
    files: int = 0
    manifests: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    inbox: Path | None = None

    @property
    def files_dir(self) -> Path:
        return self.folder / "files"

    @property
    def inputs(self) -> list[str]:
        return ([str(self.files_dir)] if self.files else []) + self.manifests

    @property
    def uri_roots(self) -> dict[str, str]:
        return {str(self.files_dir): str(self.inbox)} if self.inbox is not None else {}

    @property
    def empty(self) -> bool:
        return not self.files and not self.manifests

    def summary(self) -> dict:
        return {
            "run_id": self.run_id, "claim": str(self.folder), "files": self.files, "manifests": len(self.manifests),
            "adopted": self.adopted, "settled": self.settled, "failed": self.failed,
        }


def run_key(run_id: str) -> str:
    """A folder name for a run id (Airflow's hold ``:`` and ``+``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)


def is_pending_name(name: str) -> bool:
    """Hidden names and the suffixes of files still being written are not input yet."""
    return not name.startswith(".") and not name.endswith(PARTIAL_SUFFIXES)


def iter_pending_files(inbox: Path, settle_seconds: float = 0.0, now: float | None = None) -> Iterator[tuple[Path, os.stat_result]]:
    """Entries below the inbox that are ready: not hidden, not partial, and not modified within
    ``settle_seconds`` (a file renamed in keeps the mtime of its writing, so it is ready at once).
    Entries that are not regular files are claimed too: the load stage quarantines them with a
    reason, rather than leaving them in the inbox unexplained."""
    now = time.time() if now is None else now
    stack = [inbox]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("inbox folder %s cannot be listed: %s", folder, exc)
            continue
        for entry in entries:
            if not is_pending_name(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if now - info.st_mtime >= settle_seconds:
                yield Path(entry.path), info


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _move_free(source: Path, target: Path) -> Path:
    """Rename ``source`` to ``target``, or to ``target~N`` when that name is taken in the claim
    (a file of the same name renamed into the inbox again after an earlier one was claimed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    candidate, number = target, 1
    while os.path.lexists(candidate):
        number += 1
        candidate = target.with_name(f"{target.name}~{number}")
    os.rename(source, candidate)
    return candidate


def _move_tree(source: Path, target: Path) -> int:
    """Move every entry below ``source`` into ``target`` (same relative paths); returns the count."""
    moved = 0
    for root, dirs, names in os.walk(source):
        for name in names:
            path = Path(root) / name
            _move_free(path, target / path.relative_to(source))
            moved += 1
        for name in dirs:  # symlinks to folders are entries, not folders to descend into
            path = Path(root) / name
            if path.is_symlink():
                _move_free(path, target / path.relative_to(source))
                moved += 1
    return moved


def enqueue_manifest(settings: Settings, manifest: str | Path, batch_id: str) -> Path:
    """Add a fetch batch to the queue (news_fetch, before it announces the batch)."""
    paths = QueuePaths.of(settings)
    paths.manifests.mkdir(parents=True, exist_ok=True)
    pointer = paths.manifests / f"{run_key(batch_id)}.json"
    _write_json(pointer, {"manifest": str(manifest), "batch_id": batch_id, "enqueued_at": datetime.now(UTC).isoformat()})
    return pointer


def _count_entries(folder: Path) -> int:
    return sum(len(names) for _, _, names in os.walk(folder)) if folder.exists() else 0


def _recover(paths: QueuePaths, own: Path, settings: Settings, is_landed: Callable[[str], bool], claim: Claim) -> int:
    """Settle the claims of runs that landed; adopt those of runs that did not (or dead-letter them
    after too many attempts). Returns the attempt number of the claim being built."""
    attempts = 1
    for folder in sorted(p for p in paths.claimed.iterdir() if p.is_dir() and p != own):
        owner = _read_json(folder / CLAIM_FILE)
        owner_run = owner.get("run_id", folder.name)
        if not _count_entries(folder / "files") and not _count_entries(folder / "manifests"):
            shutil.rmtree(folder, ignore_errors=True)  # claimed nothing: nothing to settle or adopt
            continue
        if owner and is_landed(owner_run):
            _settle_folder(paths, folder, settings)
            claim.settled.append(owner_run)
            continue
        tried = int(owner.get("attempts", 1))
        if tried >= settings.inbox_max_attempts:
            target = paths.failed / folder.name
            os.rename(folder, target if not target.exists() else target.with_name(f"{folder.name}-{int(time.time())}"))
            log.error("claim of run %s failed %d runs; moved to %s for inspection", owner_run, tried, paths.failed)
            claim.failed.append(owner_run)
            continue
        attempts = max(attempts, tried + 1)
        _move_tree(folder / "files", own / "files")
        _move_tree(folder / "manifests", own / "manifests")
        shutil.rmtree(folder, ignore_errors=True)
        claim.adopted.append(owner_run)
        log.warning("adopted the claim of run %s, which did not land", owner_run)
    return attempts


def claim(settings: Settings, run_id: str, is_landed: Callable[[str], bool] | None) -> Claim:
    """Claim everything pending for ``run_id`` (again, on a retry of the same run: its earlier
    claim is kept). ``is_landed(run_id)`` tells whether a run committed its batch; with None, the
    claims of other runs are left alone (for claimants that may run at the same time)."""
    paths = QueuePaths.of(settings)
    paths.create()
    own = paths.claimed / run_key(run_id)
    own.mkdir(exist_ok=True)
    result = Claim(run_id=run_id, folder=own, inbox=paths.inbox)
    previous = _read_json(own / CLAIM_FILE)
    recovered = _recover(paths, own, settings, is_landed, result) if is_landed is not None else 1
    attempts = max(recovered, int(previous.get("attempts", 1)))
    # The owner is on record before the first file moves, so a crash mid-claim is recoverable.
    _write_json(own / CLAIM_FILE, {"run_id": run_id, "claimed_at": datetime.now(UTC).isoformat(), "attempts": attempts})
    budget = settings.inbox_max_claim - _count_entries(own / "files")
    for path, _ in iter_pending_files(paths.inbox, settings.inbox_settle_seconds):
        if budget <= 0:
            break
        try:
            _move_free(path, own / "files" / path.relative_to(paths.inbox))
        except FileNotFoundError:  # removed or claimed by someone else since it was listed
            continue
        budget -= 1
    for pointer in sorted(paths.manifests.glob("*.json")):
        try:
            _move_free(pointer, own / "manifests" / pointer.name)
        except FileNotFoundError:
            continue
    result.files = _count_entries(own / "files")
    for pointer in sorted((own / "manifests").glob("*.json")):
        manifest = _read_json(pointer).get("manifest")
        if manifest and manifest not in result.manifests:
            result.manifests.append(manifest)
    if result.files == 0 and not _count_entries(own / "manifests"):
        shutil.rmtree(own, ignore_errors=True)  # a run that finds nothing leaves no claim behind
    return result


def assert_owned(settings: Settings, run_id: str) -> None:
    """Raise ``ClaimLost`` when this run's claim is gone (adopted by a later run)."""
    folder = QueuePaths.of(settings).claimed / run_key(run_id)
    if not (folder / CLAIM_FILE).exists():
        raise ClaimLost(
            f"the inbox claim of run {run_id} was adopted by a later run, which ingests its files; "
            "landing this run would ingest them twice. Nothing to do: the files' outcomes are in the later run's ledger."
        )


def _settle_folder(paths: QueuePaths, folder: Path, settings: Settings) -> None:
    if settings.inbox_keep_processed:
        day = paths.processed / datetime.now(UTC).strftime("%Y-%m-%d")
        day.mkdir(parents=True, exist_ok=True)
        target = day / folder.name
        if target.exists():
            target = day / f"{folder.name}-{int(time.time() * 1000)}"
        os.rename(folder, target)
    else:
        shutil.rmtree(folder)


def settle(settings: Settings, run_id: str) -> None:
    """The run landed: its claim moves to the processed area (or is removed). Idempotent."""
    paths = QueuePaths.of(settings)
    folder = paths.claimed / run_key(run_id)
    if folder.exists():
        _settle_folder(paths, folder, settings)


def status(settings: Settings) -> dict:
    """What waits, what is claimed by which run, and what failed: for ``newsingest inbox``."""
    paths = QueuePaths.of(settings)
    claimed = {}
    if paths.claimed.exists():
        for folder in sorted(paths.claimed.iterdir()):
            owner = _read_json(folder / CLAIM_FILE)
            claimed[owner.get("run_id", folder.name)] = {"files": _count_entries(folder / "files"), "manifests": _count_entries(folder / "manifests"), "attempts": owner.get("attempts")}
    return {
        "inbox": str(paths.inbox),
        "pending_files": sum(1 for _ in iter_pending_files(paths.inbox)),
        "pending_manifests": len(list(paths.manifests.glob("*.json"))) if paths.manifests.exists() else 0,
        "claimed": claimed,
        "failed": sorted(p.name for p in paths.failed.iterdir()) if paths.failed.exists() else [],
    }
