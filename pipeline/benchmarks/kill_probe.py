"""SIGKILL ``newsingest run`` at random moments, rerun it with the same run id, compare the final state.

    .venv/bin/python -m pipeline.benchmarks.kill_probe [--kills 55] [--documents 600] [--seed 1]
        [--uniform] [--stages land report ...] [--keep DIR]

The corpus is the bundled sample corpus plus a generated wire batch (``wire_corpus.write_batch``,
``--documents`` files) so that every stage lasts long enough to be hit. A clean run of it, in a
home of its own, is the reference; its stage timeline (the progress bar's stage names, with the
moment each appeared) places the kills. Each trial, in a fresh ``NEWSINGEST_HOME``:

1. starts ``newsingest run --input ... --run-id R`` and, at a random moment, sends SIGKILL to the
   main process only (what the OOM killer or a crash does: nothing is told to the workers);
   a stage is drawn uniformly and the kill comes a random part of that stage's reference duration
   after the run reached it (by its own progress output: a slower run still dies in the stage
   drawn), so short stages (dedup, land) are hit too; ``--uniform`` draws the moment uniformly
   over the reference run instead (and kills that long after the stage it fell in began);
2. records the stage the run had reached (its progress output) and whether its commit had landed;
3. checks that no process of the run survives: the descendants listed just before the kill, and
   any process whose command line names the trial's home, must be gone within 15 s;
4. reruns the same command to completion and compares the corpus (ledger, runs, validation
   results, site lines, articles, duplicates, sketches, keys, story terms, source health...: the
   tables of ``tests/test_retries.py`` and the source health, times left out) with the
   reference, and checks that no staging folder is left.

Run from another checkout (``cd CHECKOUT && python -m pipeline.benchmarks.kill_probe``), the runs
use that checkout's code.

Prints one line per trial, then kills per stage, equal / different, orphan processes; exits 1 when
any trial differs, left an orphan, left staging behind or could not be rerun.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil

from pipeline.benchmarks.batch_scale import PLACE_SETTINGS
from pipeline.benchmarks.wire_corpus import write_batch

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "pipeline" / "sample_corpus"
RUN_ID = "kill_probe_R1"
# The progress bar's descriptions, in order (cli._run); "start" is before the first, "exit" after the process ended.
STAGES = ("start", "load", "clean", "dedup", "validate", "land", "report")
STAGE_NAME = re.compile(r"(?:^|[\r\n])(load|clean \d+ docs|dedup|validate|land|report):")
# The state compared: every table a run writes (tests/test_retries.py's, and the source health the
# report stage records after the commit), without the times it ran.
TABLES = ("articles", "duplicates", "removed_segments", "quarantine", "runs", "run_ledger", "validation_results",
          "site_lines", "near_sketches", "near_keys", "story_terms", "dup_links", "near_index_state", "source_health", "source_reasons")
VOLATILE = {"ingested_at", "quarantined_at", "validated_at", "started_at", "finished_at", "applied_at",
            "run_started_at", "freshness_seconds"}  # freshness: ingested_at - published_at
VOLATILE_IN = {"quarantine": {"detail"}}  # a date check's detail names the time it ran


def env_for(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not (k.startswith("NEWSINGEST_") and k.removeprefix("NEWSINGEST_") in PLACE_SETTINGS)}
    # The pipeline of this file's tree (run from it, so a checkout of another commit tests its own code).
    env.update(NEWSINGEST_HOME=str(home), GX_ANALYTICS_ENABLED="false", NEWSINGEST_TRACEBACK="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return env


def command(inputs: list[Path], home: Path, quiet: bool) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", "run", *(a for p in inputs for a in ("--input", str(p))), "--home", str(home),
            "--run-id", RUN_ID, *(["--quiet"] if quiet else [])]


def stage_of(progress: str) -> str:
    """The stage a run had reached, from its progress output so far."""
    found = STAGE_NAME.findall(progress)
    return found[-1].split(" ", 1)[0] if found else "start"


def state(db: Path) -> dict[str, list[tuple]]:
    from pipeline.store.db import read_connection

    with read_connection(db) as con:
        if con is None:
            return {}
        found = {}
        for table in TABLES:
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() AND table_name = $t "
                "ORDER BY ordinal_position", {"t": table}).fetchall() if c not in VOLATILE | VOLATILE_IN.get(table, set())]
            found[table] = sorted(con.execute(f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} FROM {table}").fetchall(), key=repr)
        return found


def committed(db: Path) -> bool:
    """Whether the run's commit is in the corpus."""
    from pipeline.store.db import read_connection, run_landed

    try:
        with read_connection(db) as con:
            return con is not None and run_landed(con, RUN_ID)
    except Exception:  # a catalog the kill left without tables: nothing landed
        return False


def differences(reference: dict, got: dict) -> list[str]:
    out = []
    for table in TABLES:
        want, have = reference.get(table, []), got.get(table, [])
        if want != have:
            want_rows, have_rows = Counter(map(repr, want)), Counter(map(repr, have))  # rows hold lists: compared by repr
            missing, extra = want_rows - have_rows, have_rows - want_rows
            example = next(iter(missing or extra), None)
            out.append(f"{table}: {len(want)} rows expected, {len(have)} found ({sum(missing.values())} missing, "
                       f"{sum(extra.values())} extra; e.g. {'missing' if missing else 'extra'} {(example or '')[:300]})")
    return out


def reference_run(inputs: list[Path], home: Path) -> tuple[float, dict[str, tuple[float, float]]]:
    """A clean run: its seconds and each stage's window (start, end) in seconds from process start."""
    log = home / "progress.log"
    home.mkdir(parents=True)
    seen: dict[str, float] = {"start": 0.0}
    with log.open("wb") as err:
        started = time.monotonic()
        process = subprocess.Popen(command(inputs, home, quiet=False), env=env_for(home), cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        while process.poll() is None:
            seen.setdefault(stage_of(log.read_text(errors="replace")), time.monotonic() - started)
            time.sleep(0.01)
        total = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit(f"the reference run failed (exit {process.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
    names = [s for s in STAGES if s in seen]
    windows = {s: (seen[s], seen[names[i + 1]] if i + 1 < len(names) else total) for i, s in enumerate(names)}
    return total, windows


def survivors(pids: list[int], home: Path, seconds: float) -> list[psutil.Process]:
    """Processes of the killed run still alive after ``seconds``: listed descendants, or any
    process naming the trial's home on its command line (a worker started after the listing)."""
    deadline = time.monotonic() + seconds
    while True:
        alive = []
        for pid in pids:
            try:
                p = psutil.Process(pid)
                if p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        mine = os.getpid()
        alive.extend(p for p in psutil.process_iter(["pid", "cmdline", "status"])
                     if p.info["pid"] != mine and p.info["pid"] not in pids and p.info["status"] != psutil.STATUS_ZOMBIE
                     and str(home) in " ".join(p.info["cmdline"] or []))
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def trial(number: int, inputs: list[Path], home: Path, stage: str, offset: float, reference: dict) -> dict:
    """Kill the run ``offset`` seconds after it reached ``stage`` (by its own progress output, so a
    slower machine still hits the stage), rerun it, compare."""
    home.mkdir(parents=True)
    log = home / "progress.log"
    env = env_for(home)
    target = STAGES.index(stage)
    with log.open("wb") as err:
        started = time.monotonic()
        process = subprocess.Popen(command(inputs, home, quiet=False), env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        children: list[int] = []
        reached = started if target == 0 else None
        while process.poll() is None and (reached is None or time.monotonic() - reached < offset):
            try:  # listed until the kill: pool workers come and go
                children = sorted(set(children) | {c.pid for c in psutil.Process(process.pid).children(recursive=True)})
            except psutil.NoSuchProcess:
                break
            if reached is None and STAGES.index(stage_of(log.read_text(errors="replace"))) >= target:
                reached = time.monotonic()
            time.sleep(0.01)
        if process.poll() is None:
            seen = stage_of(log.read_text(errors="replace"))
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed_at = time.monotonic() - started
        else:
            seen, killed_at = "exit", time.monotonic() - started
    left = survivors(children, home, 15.0)
    for p in left:  # ours: do not leave them to the machine
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    landed = committed(home / "corpus.sqlite")
    rerun = subprocess.run(command(inputs, home, quiet=True), env=env, cwd=REPO, capture_output=True, text=True, timeout=1800)
    result = {"number": number, "planned": f"{stage} + {offset:.2f} s", "killed_at": killed_at, "stage": seen, "landed": landed, "children": len(children),
              "orphans": len(left), "rerun": rerun.returncode, "staging_left": [], "differences": []}
    if rerun.returncode != 0:
        result["differences"] = [f"rerun exit {rerun.returncode}: {(rerun.stderr or rerun.stdout)[-1500:]}"]
        return result
    staging = home / "staging"
    result["staging_left"] = sorted(p.name for p in staging.iterdir()) if staging.exists() else []
    result["differences"] = differences(reference, state(home / "corpus.sqlite"))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--kills", type=int, default=55)
    parser.add_argument("--documents", type=int, default=600, help="generated wire files beside the sample corpus (0: none)")
    parser.add_argument("--seed", type=int, default=1, help="of the kill moments (the corpus is always the same)")
    parser.add_argument("--uniform", action="store_true", help="kill moments uniform over the run, not stage by stage")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES), help="draw kills in these stages only (default: all)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary folder, kept only for failed trials)")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="newsingest-kill-"))
    work.mkdir(parents=True, exist_ok=True)
    inputs = [SAMPLE]
    if args.documents:
        batch = work / "corpus" / "input"
        if not batch.exists():
            write_batch(batch, work / "corpus" / "labels.jsonl", args.documents, seed=4)
        inputs.append(batch)
    rng = random.Random(args.seed)
    print(f"{os.cpu_count()} cores; work in {work}; inputs {', '.join(map(str, inputs))}", flush=True)
    total, windows = reference_run(inputs, work / "reference")
    reference = state(work / "reference" / "corpus.sqlite")
    print(f"reference run: {total:.1f} s; stages (s from start): " + ", ".join(f"{s} {a:.1f}-{b:.1f}" for s, (a, b) in windows.items())
          + "; rows: " + ", ".join(f"{t} {len(r)}" for t, r in reference.items()), flush=True)

    results = []
    for number in range(1, args.kills + 1):
        if args.uniform:  # a moment of the reference run, then the stage it fell in
            moment = rng.uniform(0, total)
            stage = next(s for s, (a, b) in windows.items() if a <= moment <= b)
        else:
            stage = rng.choice([s for s in windows if s in args.stages])
            moment = rng.uniform(*windows[stage])
        offset = moment - windows[stage][0]
        home = work / f"trial-{number:03d}"
        if home.exists():
            shutil.rmtree(home)
        r = trial(number, inputs, home, stage, offset, reference)
        results.append(r)
        bad = r["differences"] or r["orphans"] or r["staging_left"]
        print(f"#{number:3d} kill at {r['killed_at']:5.1f} s (planned {r['planned']:<17}) in {r['stage']:<8} {'after' if r['landed'] else 'before'} the commit; "
              f"{r['children']} workers seen, {r['orphans']} survived; rerun exit {r['rerun']}; "
              + ("DIFFERENT: " + "; ".join(r["differences"]) if r["differences"] else "equal")
              + (f"; staging left: {r['staging_left']}" if r["staging_left"] else ""), flush=True)
        if not bad:
            shutil.rmtree(home, ignore_errors=True)

    by_stage = Counter(r["stage"] + (" (committed)" if r["landed"] and r["stage"] != "exit" else "") for r in results)
    different = [r["number"] for r in results if r["differences"]]
    orphans = sum(r["orphans"] for r in results)
    left = [r["number"] for r in results if r["staging_left"]]
    print("\nkills per stage: " + ", ".join(f"{s} {n}" for s, n in sorted(by_stage.items(), key=lambda kv: _stage_rank(kv[0]))))
    print(f"final states equal to the reference: {len(results) - len(different)} of {len(results)}; different: {len(different)}"
          + (f" (trials {different})" if different else ""))
    print(f"orphan processes: {orphans}; trials that left staging behind: {len(left)}" + (f" ({left})" if left else ""))
    failed = bool(different or orphans or left)
    if failed:
        print(f"failed trials kept in {work}")
    elif not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


def _stage_rank(name: str) -> tuple[int, str]:
    base = name.split(" ", 1)[0]
    return (STAGES.index(base) if base in STAGES else len(STAGES), name)


if __name__ == "__main__":
    sys.exit(main())
