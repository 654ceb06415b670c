"""A big batch end to end: ``newsingest run`` (and, with ``--dag``, the news_ingest DAG) on a
generated wire corpus of 10,000 and 100,000 articles of about 600 words.

    .venv/bin/python -m pipeline.benchmarks.batch_scale [--sizes 10000 100000] [--seed 4] [--dag] [--no-cli] [--history 10000]
        [--timeout 1200] [--rss-limit GB] [--dag-limit 300] [--keep DIR] [--cache DIR]

The corpus (``wire_corpus.write_batch``: per-outlet folders of ``.txt`` files, several write-ups
per event, edited copies with each site's boilerplate, a heavy tail of cluster sizes, about 8% of
the files byte-identical to a file in another outlet's folder, 1.5% copies cut to fewer than 40
words) is generated once per size and seed and cached in ``$TMPDIR/newsingest-bench/batch``, with
``labels.jsonl`` beside the input folder.

Each run is a fresh process with a fresh database, timed from process start to exit; its process
tree (the process and its workers, listed every 0.5 s) is sampled every 50 ms for the peak of the
summed RSS, and the largest single process is read from the kernel's accounting (``wait4``: max
RSS of the process and its reaped descendants). After the run the outcomes are read from the DuckDB file's ``run_ledger``
and compared with the input files and their labels. A run over ``--timeout`` seconds is stopped
(its process group) and reported with the stage it had reached, and so is a run whose process tree
passes ``--rss-limit`` GB (default: half the machine's memory, at most 12).

``--history SIZE`` lands the corpus of that size and the next seed (other events, the same
outlets and the same kind of prose) before each ``newsingest run``, untimed, so the run meets a
stored history: the near-duplicate and story lookups, the known-input check and the site-line
counts then read it.

``--dag`` runs ``airflow dags test news_ingest -c '{"input": DIR}'`` with a fresh AIRFLOW_HOME
and NEWSINGEST_HOME in a temporary folder (metadata migrated), and prints
the orchestration overhead two ways: the DAG process's wall minus the sum of its task durations
(from Airflow's metadata; ``dags test`` runs tasks one at a time), and the DAG's wall against the
``newsingest run`` wall of the same input (which also holds the clean stage's parallelism the DAG
test run does not have). DAG runs at a larger size are skipped when the previous one took longer
than ``--dag-limit`` seconds, and so is a DAG run whose input stopped ``newsingest run``.

Targets printed beside the figures: at least 1,000 docs/s wall (process start included), time(100k)
/ time(10k) at most 11, peak RSS at most 1.5 GB at 100k and within 20% of the peak at 10k.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import psutil

from pipeline.benchmarks.wire_corpus import BATCH_CORPUS_VERSION, write_batch

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STAGES = ["load", "clean", "dedup", "validate", "land", "publish + report"]
# Settings that would point a run outside its own home; the runs get a fresh home each.
PLACE_SETTINGS = ("DB_PATH", "STAGING_URL", "REPORT_DIR", "REPLICA_PATH", "EXPORT_DIR", "RAW_DIR", "CONFIG", "HOME")
GB = 1024**3


# --------------------------------------------------------------------------- corpus

def corpus(size: int, seed: int, cache: Path) -> tuple[Path, Path, dict]:
    """The input folder, labels file and summary of the batch corpus of ``size`` files, generated
    into the cache on first use (in a temporary folder renamed when complete)."""
    root = cache / f"batch-n{size}-s{seed}-v{BATCH_CORPUS_VERSION}"
    if (root / "summary.json").exists():
        summary = json.loads((root / "summary.json").read_text())
        summary["cached"] = True
        return root / "input", root / "labels.jsonl", summary
    cache.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=root.name + ".partial-", dir=cache))
    try:
        started = time.perf_counter()
        summary = write_batch(partial / "input", partial / "labels.jsonl", size, seed)
        summary["generate_seconds"] = time.perf_counter() - started
        (partial / "summary.json").write_text(json.dumps(summary))
        if root.exists():  # an incomplete earlier attempt
            shutil.rmtree(root)
        partial.rename(root)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    summary["cached"] = False
    return root / "input", root / "labels.jsonl", summary


def read_labels(path: Path) -> dict[str, str]:
    """Each file's kind (original, copy, short, syndicated) by its path in the input folder."""
    with path.open(encoding="utf-8") as fh:
        return {row["path"]: row["kind"] for row in map(json.loads, fh)}


# --------------------------------------------------------------------------- measuring one process tree

def measure(command: list[str], env: dict, log: Path, timeout: float, rss_limit: float = float("inf"), interval: float = 0.05) -> dict:
    """Run ``command`` (stdout and stderr to ``log``) in its own process group; wall seconds from
    start to exit, peak summed RSS of the tree (sampled), peak single RSS (sampled, and the kernel's
    max RSS of the process and its reaped descendants from wait4). Stopped after ``timeout``
    seconds, or once the tree's RSS passes ``rss_limit`` bytes (a shared machine must not swap or
    kill its neighbours)."""
    peak_tree = peak_single = 0
    peak_processes = 0
    timed_out = over_memory = False
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        root = psutil.Process(proc.pid)
        status = rusage = None
        tree: list[psutil.Process] = [root]
        samples = 0
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if samples % 10 == 0:  # listing the descendants scans /proc: every 0.5 s; their RSS every 50 ms
                try:
                    tree = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    tree = []
            samples += 1
            total = 0
            for p in tree:
                try:
                    rss = p.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                total += rss
                peak_single = max(peak_single, rss)
            peak_tree = max(peak_tree, total)
            peak_processes = max(peak_processes, len(tree))
            if not (timed_out or over_memory):
                if time.perf_counter() - started > timeout:
                    timed_out = True
                    _stop_group(proc.pid)
                elif total > rss_limit:
                    over_memory = True
                    _stop_group(proc.pid)
            time.sleep(interval)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall": wall, "returncode": proc.returncode, "timed_out": timed_out or over_memory,
        "stopped": "timeout" if timed_out else ("rss_limit" if over_memory else None),
        "peak_tree_rss": peak_tree, "peak_single_rss_sampled": peak_single,
        "peak_single_rss_kernel": rusage.ru_maxrss * 1024, "max_processes": peak_processes,
        "cpu_seconds": rusage.ru_utime + rusage.ru_stime,
    }


def _stop_group(pgid: int) -> None:
    """SIGTERM to the run's process group, SIGKILL to what is left after 10 s (a thread, so the
    sampling loop keeps reaping)."""
    import threading

    def stop():
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 0.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                return
            time.sleep(wait)

    threading.Thread(target=stop, daemon=True).start()


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not (k.startswith("NEWSINGEST_") and k.removeprefix("NEWSINGEST_") in PLACE_SETTINGS)}
    env.update(GX_ANALYTICS_ENABLED="false", **extra)
    return env


# --------------------------------------------------------------------------- outcomes

def outcomes(db: Path, input_dir: Path, labels: dict[str, str]) -> dict:
    """Outcome counts from the run's ledger, quarantine reasons, and outcomes by kind of file."""
    import duckdb

    from pipeline.store.db import read_connection

    if not db.exists():
        return {"error": f"no database at {db}"}
    try:
        with read_connection(db) as con:
            if con is None:
                return {"error": f"no corpus at {db}"}
            return _ledger_outcomes(con, input_dir, labels)
    except duckdb.Error as exc:
        return {"error": f"cannot open {db}: {exc}"}


def _ledger_outcomes(con, input_dir: Path, labels: dict[str, str]) -> dict:
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "run_ledger" not in tables:
        return {"error": "no run_ledger table"}
    # The measured run is the latest (with --history an earlier run landed the history).
    [(measured,)] = con.execute("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1").fetchall() or [(None,)]
    quoted = "NULL" if measured is None else "'" + measured.replace("'", "''") + "'"
    con.execute(f"CREATE OR REPLACE TEMP VIEW measured_ledger AS SELECT * FROM run_ledger WHERE run_id = {quoted}")
    by_outcome = dict(con.execute("SELECT outcome, count(*) FROM measured_ledger GROUP BY 1 ORDER BY 1").fetchall())
    rows = con.execute("SELECT count(*), count(DISTINCT uri), count(DISTINCT raw_id) FROM measured_ledger").fetchone()
    reasons = con.execute("SELECT stage || '/' || reason, count(*) FROM quarantine WHERE run_id = $run_id GROUP BY 1 ORDER BY 2 DESC",
                          {"run_id": measured}).fetchall() if "quarantine" in tables else []
    articles = con.execute("SELECT count(*) FROM articles").fetchone()[0] if "articles" in tables else None
    stories = None
    if "articles" in tables and "story_id" in {c[0] for c in con.execute("DESCRIBE articles").fetchall()}:
        stories = con.execute("SELECT count(DISTINCT story_id) FROM articles").fetchone()[0]
    prefix = str(input_dir) + os.sep
    by_kind: dict[str, Counter] = defaultdict(Counter)
    seen: set[str] = set()
    for uri, outcome in con.execute("SELECT uri, outcome FROM measured_ledger").fetchall():
        rel = uri.removeprefix(prefix)
        by_kind[labels.get(rel, "(not an input file)")][outcome] += 1
        seen.add(rel)
    for rel, kind in labels.items():
        if rel not in seen:
            by_kind[kind]["(no ledger row)"] += 1
    return {
        "by_outcome": by_outcome, "ledger_rows": rows[0], "ledger_uris": rows[1], "ledger_raw_ids": rows[2],
        "quarantine_reasons": reasons, "articles_table": articles, "stories": stories,
        "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
    }


# --------------------------------------------------------------------------- the two ways of running

_PROGRESS = re.compile(r"^(?P<desc>[^\r\n]*?): +\d+%\|[^|]*\| *(?P<n>\d+)/\d+ \[(?P<elapsed>[\d:]+)")


def _seconds(stamp: str) -> int:
    total = 0
    for part in stamp.split(":"):
        total = total * 60 + int(part)
    return total


def progress_stages(log: Path) -> tuple[dict[str, float], str | None]:
    """Stage durations (1 s resolution) from the progress bar ``newsingest run`` draws on stderr,
    and the last stage it showed."""
    text = log.read_text(encoding="utf-8", errors="replace")
    firsts: list[tuple[str, int]] = []
    end = None
    last = None
    for chunk in re.split(r"[\r\n]+", text):
        m = _PROGRESS.match(chunk.strip())
        if not m:
            continue
        desc = m["desc"].split(" ")[0] if m["desc"].startswith("clean ") else m["desc"]
        elapsed = _seconds(m["elapsed"])
        last = m["desc"]
        if not firsts or firsts[-1][0] != desc:
            firsts.append((desc, elapsed))
        if int(m["n"]) == len(STAGES):
            end = elapsed
    stages = {}
    for (name, start), (_, stop) in zip(firsts, firsts[1:] + [("end", end)]):
        if stop is not None:
            stages[name] = float(stop - start)
    return stages, last


def run_cli(input_dir: Path, work: Path, timeout: float, rss_limit: float, history: Path | None = None) -> dict:
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    db = home / "batch.sqlite"  # the lake's catalog; its Parquet files go beside it
    if history is not None:  # landed first, not timed
        subprocess.run([str(BIN / "newsingest"), "run", "--input", str(history), "--db", str(db), "--home", str(home), "--quiet"],
                       env=_env(), check=True, stdout=subprocess.DEVNULL)
    command = [str(BIN / "newsingest"), "run", "--input", str(input_dir), "--db", str(db), "--home", str(home), "--timings"]
    result = measure(command, _env(), work / "run.log", timeout, rss_limit)
    result["stages"], result["last_stage"] = progress_stages(work / "run.log")
    timed = re.search(r"^seconds: (.*)$", (work / "run.log").read_text(encoding="utf-8", errors="replace"), re.M)
    if timed:  # the run's own clock, finer than the progress bar's
        result["stages"] = {name: float(value) for name, value in (part.rsplit(" ", 1) for part in timed[1].split(", "))}
        result["stage_resolution"] = "timed by the run"
    result["db"] = db
    return result


def run_dag(input_dir: Path, work: Path, timeout: float, rss_limit: float) -> dict:
    airflow_home, home = work / "airflow", work / "home"
    airflow_home.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    env = _env(
        AIRFLOW_HOME=str(airflow_home), NEWSINGEST_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",  # the run's state is read from the log
    )
    airflow = str(BIN / "airflow")
    started = time.perf_counter()
    with (work / "setup.log").open("wb") as out:
        subprocess.run([airflow, "db", "migrate"], env=env, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=600)
    setup = time.perf_counter() - started
    command = [airflow, "dags", "test", "news_ingest", "-c", json.dumps({"input": str(input_dir)})]
    result = measure(command, env, work / "dag.log", timeout, rss_limit)
    result["setup_seconds"] = setup
    result["success"] = result["returncode"] == 0 and "state=success" in (work / "dag.log").read_text(encoding="utf-8", errors="replace")
    result["tasks"] = task_durations(airflow_home / "airflow.db")
    result["db"] = home / "corpus.sqlite"  # the default corpus of a home (settings.db_path)
    return result


def task_durations(metadata: Path) -> dict:
    """Per task (mapped instances summed): seconds, instances, tries, states; and the run's span."""
    if not metadata.exists():
        return {}
    con = sqlite3.connect(f"file:{metadata}?mode=ro", uri=True)
    try:
        tasks: dict[str, dict] = {}
        for task_id, state, tries, duration in con.execute(
            "SELECT task_id, state, try_number, duration FROM task_instance WHERE dag_id = 'news_ingest' ORDER BY start_date"
        ).fetchall():
            t = tasks.setdefault(task_id, {"seconds": 0.0, "instances": 0, "tries": 0, "states": Counter()})
            t["seconds"] += duration or 0.0
            t["instances"] += 1
            t["tries"] += tries or 0
            t["states"][state] += 1
        span = con.execute("SELECT julianday(max(end_date)) - julianday(min(start_date)) FROM dag_run WHERE dag_id = 'news_ingest'").fetchone()[0]
    finally:
        con.close()
    for t in tasks.values():
        t["states"] = dict(t["states"])
    return {"tasks": tasks, "dag_run_seconds": span * 86400 if span is not None else None}


# --------------------------------------------------------------------------- printing

def code_state() -> str:
    """The commit and a digest of the code a run executes (``pipeline`` but its benchmarks, ``dags``,
    ``schemas``, committed and uncommitted): the tree may change between runs."""
    import hashlib

    paths = ["pipeline", "dags", "schemas"]
    own = b"\tpipeline/benchmarks/"
    try:
        def git(*args: str) -> bytes:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, timeout=30, check=True).stdout

        head = git("rev-parse", "--short", "HEAD").decode().strip()
        tree = b"\n".join(line for line in git("ls-tree", "-r", "HEAD", "--", *paths).splitlines() if own not in line)
        diff = git("diff", "HEAD", "--", *paths, ":!pipeline/benchmarks")
        digest = hashlib.sha256(tree + diff).hexdigest()[:10]
        changed = len(git("status", "--porcelain", "--", *paths, ":!pipeline/benchmarks").splitlines())
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return f"{head}, pipeline code {digest}" + (f" ({changed} files uncommitted)" if changed else "")


def _gb(n: float) -> str:
    return f"{n / GB:.2f} GB"


def _mark(ok: bool | None) -> str:
    return "" if ok is None else ("  [target met]" if ok else "  [target missed]")


def print_run(kind: str, size: int, r: dict, files: int) -> None:
    state = {"timeout": "STOPPED at --timeout", "rss_limit": "STOPPED at --rss-limit"}.get(r["stopped"]) if r["timed_out"] else ("ok" if r["returncode"] == 0 and r.get("success", True) else f"FAILED (exit {r['returncode']})")
    rate = files / r["wall"]
    print(f"\n== {kind}, {size:,} files: {state} (code {r.get('code', '?')})")
    print(f"   wall {r['wall']:.1f} s (process start included), {rate:,.0f} docs/s{_mark(rate >= 1000 if not r['timed_out'] else False)}; "
          f"CPU {r['cpu_seconds']:.0f} s; load average {r['load_before']:.1f} before, {r['load_after']:.1f} after")
    print(f"   peak RSS: process tree (sum, sampled every 50 ms) {_gb(r['peak_tree_rss'])}; largest single process "
          f"{_gb(r['peak_single_rss_kernel'])} (kernel max RSS), {_gb(r['peak_single_rss_sampled'])} (sampled); up to {r['max_processes']} processes")
    if r["timed_out"]:
        print(f"   stopped after {r['wall']:.0f} s ({r['stopped']}); last stage shown: {r.get('last_stage') or '-'}")
    if r.get("stages"):
        accounted = sum(r["stages"].values())
        if r.get("stage_resolution"):
            print(f"   stages ({r['stage_resolution']}): " + ", ".join(f"{k} {v:.2f} s" for k, v in r["stages"].items())
                  + f"; outside the stages (start-up, imports, summary) {r['wall'] - accounted:.2f} s")
        else:
            print("   stages (progress bar, 1 s resolution): " + ", ".join(f"{k} {v:.0f} s" for k, v in r["stages"].items())
                  + f"; outside the stages (start-up, imports, summary) {r['wall'] - accounted:.0f} s")
    o = r.get("outcomes") or {}
    if "error" in o:
        print(f"   outcomes: {o['error']}")
    elif o:
        print(f"   ledger: {o['ledger_rows']:,} rows ({o['ledger_uris']:,} distinct uris, {o['ledger_raw_ids']:,} distinct raw_ids) for {files:,} input files: "
              + ", ".join(f"{k} {v:,}" for k, v in o["by_outcome"].items()))
        print(f"   articles table {o['articles_table']:,}" + (f", stories {o['stories']:,}" if o["stories"] is not None else ""))
        if o["quarantine_reasons"]:
            print("   quarantine: " + ", ".join(f"{k} {v:,}" for k, v in o["quarantine_reasons"]))
        for kind_name, counts in o["by_kind"].items():
            print(f"     {kind_name:<20} " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))


def print_dag_overhead(r: dict, cli: dict | None) -> None:
    tasks = r.get("tasks", {}).get("tasks", {})
    if tasks:
        total = sum(t["seconds"] for t in tasks.values())
        print("   tasks (Airflow metadata): " + ", ".join(
            f"{name} {t['seconds']:.1f} s" + (f" ({t['instances']} mapped)" if t["instances"] > 1 else "")
            + ("" if set(t["states"]) == {"success"} else f" {t['states']}") for name, t in tasks.items()))
        span = r["tasks"].get("dag_run_seconds")
        print(f"   overhead, DAG process wall minus the sum of task durations: {r['wall'] - total:.1f} s = {(r['wall'] - total) / r['wall']:.0%} of the DAG wall"
              + (f" (dag_run span {span:.1f} s; the rest is the airflow command's start-up and DAG parsing)" if span else ""))
    if cli and not cli["timed_out"] and not r["timed_out"]:
        print(f"   DAG wall vs newsingest run wall of the same input: {r['wall']:.1f} s vs {cli['wall']:.1f} s, difference "
              f"{r['wall'] - cli['wall']:+.1f} s = {(r['wall'] - cli['wall']) / r['wall']:.0%} of the DAG wall "
              "(includes the clean stage running serially in dags test vs on all cores in newsingest run)")
    print(f"   metadata set-up (db migrate, pool; not in the wall): {r['setup_seconds']:.1f} s")


def print_targets(cli: dict[int, dict]) -> None:
    done = {size: r for size, r in cli.items() if not r["timed_out"] and r["returncode"] == 0}
    if 10000 in cli and 100000 in cli:
        small, big = cli[10000], cli[100000]
        if 10000 in done and 100000 in done:
            ratio = big["wall"] / small["wall"]
            print(f"\ntime(100k) / time(10k) = {big['wall']:.1f} / {small['wall']:.1f} = {ratio:.1f}{_mark(ratio <= 11)}")
        else:
            print(f"\ntime(100k) / time(10k): not measured (a run timed out or failed): at least {big['wall'] / small['wall']:.1f}")
        if small.get("code", "").split(", ")[-1] != big.get("code", "").split(", ")[-1]:
            print(f"   (the pipeline code changed between the two runs: {small.get('code')} then {big.get('code')})")
        peak_big, peak_small = big["peak_tree_rss"], small["peak_tree_rss"]
        print(f"peak RSS (tree) 100k {_gb(peak_big)}{_mark(peak_big <= 1.5 * GB)}, vs 10k {_gb(peak_small)}: "
              f"{peak_big / peak_small - 1:+.0%}{_mark(peak_big <= 1.2 * peak_small)}"
              + (" (the 100k run was stopped: its peak is a lower bound)" if big["timed_out"] else ""))


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--dag", action="store_true", help="also run the news_ingest DAG with airflow dags test")
    parser.add_argument("--history", type=int, metavar="SIZE",
                        help="land the corpus of this size and the next seed first (untimed), so newsingest run meets a stored history")
    parser.add_argument("--no-cli", action="store_true", help="skip the newsingest run runs")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per run before it is stopped and reported (default 1200)")
    parser.add_argument("--rss-limit", type=float, default=min(12.0, psutil.virtual_memory().total / GB / 2),
                        help="GB of RSS (the run's process tree) at which a run is stopped and reported (default: half the memory, at most 12)")
    parser.add_argument("--dag-limit", type=float, default=300.0, help="skip DAG runs at larger sizes once a DAG run took longer (default 300 s)")
    parser.add_argument("--keep", type=Path, help="keep the runs' homes (databases, logs, Airflow metadata) and results.json in this folder")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "newsingest-bench" / "batch", help="where generated corpora are kept")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="newsingest-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    cli_runs: dict[int, dict] = {}
    dag_allowed = True
    print(f"{os.cpu_count()} cores, {_gb(psutil.virtual_memory().total)} memory; runs in {work}; code {code_state()}", flush=True)
    history_input = corpus(args.history, args.seed + 1, args.cache)[0] if args.history else None
    if history_input is not None:
        print(f"history: each newsingest run meets the landed corpus of {args.history:,} files of seed {args.seed + 1} ({history_input}); "
              "outcomes are the measured run's", flush=True)
    try:
        for size in sorted(args.sizes):
            input_dir, labels_path, summary = corpus(size, args.seed, args.cache)
            labels = read_labels(labels_path)
            files = len(labels)
            made = "cached"
            if not summary["cached"]:
                made = (f"generated in {summary['generate_seconds']:.1f} s by {summary['processes']} processes; peak RSS of a generating process "
                        f"{_gb(summary['max_rss'])}, of this one {_gb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)}")
            print(f"\ncorpus {input_dir} ({made}): {summary['files']:,} files in {summary['folders']:,} outlet folders, "
                  f"{summary['mean_words']:.0f} words a file, {summary['bytes'] / 1e6:.0f} MB; "
                  + ", ".join(f"{k} {v:,}" for k, v in sorted(summary["kinds"].items())), flush=True)
            for kind in (["cli"] if not args.no_cli else []) + (["dag"] if args.dag else []):
                if kind == "dag" and not dag_allowed:
                    print(f"\n== DAG, {size:,} files: skipped (a smaller DAG run took over --dag-limit {args.dag_limit:.0f} s)", flush=True)
                    continue
                if kind == "dag" and cli_runs.get(size, {}).get("timed_out"):
                    print(f"\n== DAG, {size:,} files: skipped (newsingest run on this input was stopped; the DAG runs its stages one at a time "
                          "and would be stopped too)", flush=True)
                    continue
                run_dir = work / f"{kind}-{size}"
                if run_dir.exists():
                    shutil.rmtree(run_dir)
                run_dir.mkdir(parents=True)
                load_before = os.getloadavg()[0]
                if kind == "cli":
                    r = run_cli(input_dir, run_dir, args.timeout, args.rss_limit * GB, history_input)
                else:
                    r = run_dag(input_dir, run_dir, args.timeout, args.rss_limit * GB)
                r["load_before"], r["load_after"] = load_before, os.getloadavg()[0]
                r["code"] = code_state()
                r["outcomes"] = outcomes(r["db"], input_dir, labels)
                print_run("newsingest run" if kind == "cli" else "airflow dags test news_ingest", size, r, files)
                if kind == "cli":
                    cli_runs[size] = r
                else:
                    print_dag_overhead(r, cli_runs.get(size))
                    if r["wall"] > args.dag_limit:
                        dag_allowed = False
                if r["returncode"] != 0 and not r["timed_out"]:
                    log = run_dir / ("run.log" if kind == "cli" else "dag.log")
                    print("   last lines of the log:\n" + "\n".join("     " + line for line in log.read_text(errors="replace").splitlines()[-25:]))
                sys.stdout.flush()
                results[f"{kind}-{size}"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in r.items()}
                (work / "results.json").write_text(json.dumps(results, indent=1, default=str))
        print_targets(cli_runs)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
