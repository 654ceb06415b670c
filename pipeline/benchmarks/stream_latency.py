"""Latency of the running service: files renamed into the inbox at a steady rate or in bursts,
timed until their ledger row is visible to a new analyst connection.

Runs against a service started with ``make up`` (or ``--start``: one started here in a scratch
folder and stopped at the end). Prints p50, p95 and max latency, the backlog over time, and for
bursts the count of outcomes: every file exactly one ledger row, none lost, none doubled.

    .venv/bin/python -m pipeline.benchmarks.stream_latency --start --rate 20 --minutes 10
    .venv/bin/python -m pipeline.benchmarks.stream_latency --start --bursts 10000
    .venv/bin/python -m pipeline.benchmarks.stream_latency --start --rate 40 80 160 --minutes 3
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from pipeline.benchmarks.wire_corpus import iter_batch
from pipeline.settings import load_settings
from pipeline.store.db import read_connection


class Stream:
    """Drops files into the inbox (written beside it, renamed in) and watches the ledger."""

    def __init__(self, settings, tag: str, documents: int, seed: int):
        self.settings = settings
        self.inbox = Path(settings.inbox_dir)
        self.writing = Path(settings.home) / "bench-writing"
        self.writing.mkdir(parents=True, exist_ok=True)
        self.tag = tag
        files = list(iter_batch(documents, seed=seed))
        random.Random(seed).shuffle(files)  # copies of a story arrive spread over the day, not together
        self.files = files
        self.dropped: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.rows = 0
        self.backlog: list[tuple[float, int]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def drop(self, index: int) -> None:
        f = self.files[index]
        domain, name = f.path.split("/", 1)
        target = self.inbox / domain / f"{self.tag}-{index:06d}-{name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.writing / target.name
        tmp.write_bytes(f.data)
        old = time.time() - 5  # written a moment ago, as a file being moved in would be
        os.utime(tmp, (old, old))
        os.rename(tmp, target)
        with self.lock:
            self.dropped[str(target)] = time.monotonic()

    def poll(self) -> None:
        """A new analyst connection each time: what a notebook opening the corpus now would see."""
        prefix = str(self.inbox) + "/"
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                with read_connection(self.settings.db_path) as con:
                    rows = [] if con is None else con.execute(
                        "SELECT uri FROM run_ledger WHERE starts_with(uri, $prefix) AND contains(uri, $tag)", {"prefix": prefix, "tag": f"/{self.tag}-"}
                    ).fetchall()
            except Exception as exc:  # a failed query is a finding, not a reason to stop measuring
                print(f"  query failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                rows = []
            now = time.monotonic()
            with self.lock:
                self.rows = len(rows)
                for (uri,) in rows:
                    self.seen.setdefault(uri, started)
                self.backlog.append((now, len(self.dropped) - len(self.seen)))
            self.stop.wait(max(0.0, 0.5 - (time.monotonic() - started)))

    def latencies(self, keys=None) -> list[float]:
        with self.lock:
            keys = self.dropped.keys() if keys is None else keys
            return sorted(self.seen[k] - self.dropped[k] for k in keys if k in self.seen)

    def wait_all(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.seen) >= len(self.dropped):
                    return True
            time.sleep(0.5)
        return False


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def steady(stream: Stream, rate: float, minutes: float) -> dict:
    total = int(rate * minutes * 60)
    start = time.monotonic()
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        stream.drop(i)
    drained = stream.wait_all(timeout=300)
    lat = stream.latencies()
    half = start + minutes * 30
    tail = [(t, b) for t, b in stream.backlog if half <= t <= start + minutes * 60]
    slope = statistics.linear_regression([t for t, _ in tail], [b for _, b in tail]).slope if len(tail) > 2 else float("nan")
    return {"files": total, "drained": drained, "p50": pct(lat, 0.5), "p95": pct(lat, 0.95), "max": lat[-1] if lat else float("nan"),
            "backlog_max": max((b for _, b in stream.backlog), default=0), "backlog_slope": slope, "seen": len(lat)}


def bursts(stream: Stream, sizes: list[int], pause: float) -> dict:
    index = 0
    for size in sizes:
        for _ in range(size):
            stream.drop(index)
            index += 1
        time.sleep(pause)
    drained = stream.wait_all(timeout=1800)
    lat = stream.latencies()
    with stream.lock:
        lost = len(set(stream.dropped) - set(stream.seen))
        rows = stream.rows
    return {"files": index, "drained": drained, "rows": rows, "distinct": len(stream.seen), "lost": lost, "doubled": rows - len(stream.seen),
            "p50": pct(lat, 0.5), "p95": pct(lat, 0.95), "max": lat[-1] if lat else float("nan")}


def burst_sizes(total: int, seed: int) -> list[int]:
    """Bursts of 1 to 2,000 files that add up to ``total``."""
    rng, sizes = random.Random(seed), []
    while sum(sizes) < total:
        sizes.append(min(total - sum(sizes), rng.choice([1, 2, 5, 20, 100, 500, 2000])))
    return sizes


NEWSINGEST = str(Path(sys.executable).with_name("newsingest"))


def start_service() -> dict:
    """A service of its own (``newsingest service up``) in a scratch folder, on a free port."""
    import socket
    import tempfile

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = Path(tempfile.mkdtemp(prefix="newsingest-latency-")) / "var"
    env = {**os.environ, "NEWSINGEST_HOME": str(home), "AIRFLOW_HOME": str(home / "airflow"), "NEWSINGEST_SERVICE_PORT": str(port)}
    env.pop("NEWSINGEST_CONFIG", None)
    started = time.monotonic()
    subprocess.run([NEWSINGEST, "service", "up"], env=env, check=True, stdin=subprocess.DEVNULL)
    print(f"service up in {time.monotonic() - started:.0f} s, home {home}", flush=True)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", help="the service's NEWSINGEST_HOME (default: the setting, ./var)")
    parser.add_argument("--start", action="store_true", help="start a service in a scratch folder for the measurement, stop it after")
    parser.add_argument("--rate", type=float, nargs="*", default=[], help="steady rates to measure, files per second")
    parser.add_argument("--minutes", type=float, default=10.0, help="per steady rate")
    parser.add_argument("--bursts", type=int, default=0, help="total files dropped in bursts of 1 to 2,000")
    parser.add_argument("--pause", type=float, default=5.0, help="seconds between bursts")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    if not args.rate and not args.bursts:
        parser.error("give --rate and/or --bursts")

    scratch = None
    if args.start:
        scratch = start_service()
        home = scratch["NEWSINGEST_HOME"]
    else:
        home = args.home
    settings = load_settings(home=home)
    try:
        tag_base = f"bench{int(time.time())}"
        sustained = []
        for rate in args.rate:
            stream = Stream(settings, f"{tag_base}r{int(rate)}", int(rate * args.minutes * 60), args.seed)
            watcher = threading.Thread(target=stream.poll, daemon=True)
            watcher.start()
            r = steady(stream, rate, args.minutes)
            stream.stop.set()
            watcher.join()
            grows = not (r["drained"] and r["backlog_slope"] < 0.05 * rate)
            print(f"steady {rate:g} files/s for {args.minutes:g} min: {r['files']} files, latency p50 {r['p50']:.1f} s, p95 {r['p95']:.1f} s, "
                  f"max {r['max']:.1f} s; backlog max {r['backlog_max']}, slope over the second half {r['backlog_slope']:+.2f} files/s "
                  f"({'grows' if grows else 'no growth'}); visible {r['seen']}/{r['files']}", flush=True)
            if not grows:
                sustained.append(rate)
        if args.rate:
            best = f"{max(sustained):g} files/s" if sustained else "none"
            print(f"highest steady rate with no backlog growth: {best} (of {', '.join(f'{r:g}' for r in args.rate)} files/s)", flush=True)
        if args.bursts:
            stream = Stream(settings, f"{tag_base}b", args.bursts, args.seed + 1)
            watcher = threading.Thread(target=stream.poll, daemon=True)
            watcher.start()
            sizes = burst_sizes(args.bursts, args.seed)
            r = bursts(stream, sizes, args.pause)
            stream.stop.set()
            watcher.join()
            print(f"bursts: {r['files']} files in {len(sizes)} bursts of {min(sizes)} to {max(sizes)}: {r['rows']} ledger outcomes, "
                  f"{r['lost']} lost, {r['doubled']} doubled; latency p50 {r['p50']:.1f} s, p95 {r['p95']:.1f} s, max {r['max']:.1f} s", flush=True)
    finally:
        if scratch is not None:
            subprocess.run([NEWSINGEST, "service", "down"], env=scratch, check=False, stdin=subprocess.DEVNULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
