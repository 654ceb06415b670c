"""Readers beside a growing corpus: consecutive batches while analysts query it.

    python -m pipeline.benchmarks.storage_readers [--batches 20] [--docs 50] [--home DIR]

Runs ``--batches`` consecutive ``newsingest run`` batches of ``--docs`` generated wire documents
into one corpus while two other processes read it: an analyst loop that opens a new session for
each query, and a session held open the whole time that queries it again and again. Prints failed
or stalled runs, failed queries, and stale answers (a query that started after a batch committed
but did not see it), with run and query times.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READER = """
import json, sys, time
from pathlib import Path
from pipeline.store.db import read_connection
db, out, stop, held = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "held"
QUERY = "SELECT count(*) FROM runs WHERE status = 'landed'"
ANALYST = "SELECT domain, count(*), avg(word_count) FROM canonical_articles GROUP BY ALL ORDER BY 2 DESC LIMIT 5"
with out.open("w") as fh:
    def one(con):
        started = time.time()
        try:
            seen = con.execute(QUERY).fetchall()[0][0]
            con.execute(ANALYST).fetchall()
            fh.write(json.dumps({"start": started, "end": time.time(), "seen": seen}) + "\\n")
        except Exception as exc:
            fh.write(json.dumps({"start": started, "end": time.time(), "error": str(exc)[:300]}) + "\\n")
        fh.flush()
    if held:
        with read_connection(db) as con:
            while not stop.exists():
                one(con)
                time.sleep(0.2)
    else:
        while not stop.exists():
            try:
                with read_connection(db) as con:
                    one(con)
            except Exception as exc:
                fh.write(json.dumps({"start": time.time(), "end": time.time(), "error": "open: " + str(exc)[:300]}) + "\\n")
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--docs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--home", type=Path)
    args = parser.parse_args(argv)

    from pipeline.benchmarks.wire_corpus import generate
    from pipeline.store.db import connect

    home = args.home or Path(tempfile.mkdtemp(prefix="newsingest-readers-"))
    db = home / "corpus.sqlite"
    docs = generate(args.batches * args.docs, args.seed)
    for number in range(args.batches):
        for doc in docs[number * args.docs:(number + 1) * args.docs]:
            folder = home / "input" / f"batch{number:02d}" / doc.url.split("/")[2]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{doc.id}.txt").write_text(doc.text, encoding="utf-8")
    with connect(db):  # the schema, before the readers start
        pass
    stop = home / "stop"
    readers = {
        kind: subprocess.Popen([sys.executable, "-c", READER, str(db), str(home / f"{kind}.jsonl"), str(stop), kind])
        for kind in ("analyst", "held")
    }
    time.sleep(3)
    runs = []
    for number in range(args.batches):
        started = time.time()
        done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--input", str(home / "input" / f"batch{number:02d}"),
                               "--db", str(db), "--home", str(home), "--run-id", f"B{number:02d}", "--quiet"],
                              capture_output=True, text=True, timeout=600)
        runs.append({"start": started, "end": time.time(), "rc": done.returncode, "error": done.stderr.strip()[-300:]})
        print(f"batch {number + 1:2d}: exit {done.returncode} in {runs[-1]['end'] - started:.1f} s", flush=True)
    time.sleep(2)
    stop.touch()
    for process in readers.values():
        process.wait(timeout=60)
    failed_runs = [r for r in runs if r["rc"] != 0]
    print(f"\nruns: {len(runs)}, failed: {len(failed_runs)}; run time p50 {_percentile([r['end'] - r['start'] for r in runs], 0.5):.1f} s, "
          f"max {max(r['end'] - r['start'] for r in runs):.1f} s")
    for r in failed_runs:
        print(f"  failed run: {r['error']}")
    for kind in readers:
        answers = [json.loads(line) for line in (home / f"{kind}.jsonl").read_text().splitlines()]
        errors = [a for a in answers if "error" in a]
        good = [a for a in answers if "error" not in a]
        # A query that started after k batches had committed must see at least k.
        stale = [a for a in good if a["seen"] < sum(1 for r in runs if r["rc"] == 0 and r["end"] <= a["start"])]
        times = [a["end"] - a["start"] for a in good]
        print(f"{kind} readers: {len(answers)} queries, {len(errors)} failed, {len(stale)} stale; "
              f"query time p50 {_percentile(times, 0.5) * 1000:.0f} ms, p95 {_percentile(times, 0.95) * 1000:.0f} ms, max {max(times, default=0) * 1000:.0f} ms")
        for a in errors[:3]:
            print(f"  failed query: {a['error']}")
    print(f"corpus: {db}")
    return 1 if failed_runs else 0


if __name__ == "__main__":
    sys.exit(main())
