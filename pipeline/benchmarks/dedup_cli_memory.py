"""Peak memory of ``newsingest dedup`` against the size of its input.

    .venv/bin/python -m pipeline.benchmarks.dedup_cli_memory [--sizes 100 1100] [--seed 4] [--paragraphs 12 20] [--keep DIR]
        [--command "CMD ARGS"]

For each size (MB) a JSON lines input of that size is generated (``{"id", "text", "url",
"published_at"}`` per line; the texts are the wire corpus of ``wire_corpus.iter_batch``: write-ups of
about 600 words (``--paragraphs 1 1``: about 100, so that the cost per record shows), their
edited copies with each site's boilerplate, short and byte-identical copies; a corpus of 50,000
documents after another until the size is reached), then ``newsingest dedup INPUT --out OUT`` runs as a fresh process whose RSS is sampled
every 50 ms (psutil) and read from the kernel's accounting at exit (``wait4``). Printed per size:
input MB and records, peak RSS, peak RSS / input, seconds, and between sizes the growth slope
(MB of RSS per MB of input). Inputs are written to a temporary folder (``--keep``: kept there and
reused by later runs of the same size and seed). ``--command`` measures another build of the
command (an older checkout's ``newsingest dedup``) on the same inputs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from pipeline.benchmarks.batch_scale import measure
from pipeline.benchmarks.wire_corpus import iter_batch

BIN = Path(sys.executable).parent
MB = 1_000_000
CHUNK_DOCUMENTS = 50_000


def write_input(path: Path, megabytes: float, seed: int = 4, paragraphs: tuple[int, int] = (12, 20)) -> tuple[int, int]:
    """Write about ``megabytes`` MB of JSON lines to ``path``; returns (bytes, records). Written
    in corpora of ``CHUNK_DOCUMENTS`` (seeds ``seed``, ``seed + 1``...): planning one corpus of
    millions of documents takes quadratic time."""
    limit = int(megabytes * MB)
    size = records = 0
    with path.open("wb") as fh:
        for chunk in itertools.count():
            for f in iter_batch(CHUNK_DOCUMENTS, seed=seed + chunk, paragraphs=paragraphs):
                site, name = f.path.split("/", 1)
                row = {"id": f"{chunk}/{f.path.removesuffix('.txt')}", "text": f.data.decode("utf-8"),
                       "url": f"https://{site}/news/{chunk}-{name.removesuffix('.txt')}", "published_at": f.published_at}
                line = json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n"
                fh.write(line)
                size += len(line)
                records += 1
                if size >= limit:
                    return size, records


def run(input_path: Path, out: Path, work: Path, prefix: list[str]) -> dict:
    env = {**os.environ, "NEWSINGEST_HOME": str(work / "home")}
    return measure([*prefix, str(input_path), "--out", str(out)], env, work / "dedup.log", timeout=3600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--sizes", type=float, nargs="+", default=[100, 1100], help="input sizes in MB")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--paragraphs", type=int, nargs=2, default=[12, 20], help="bounds of a write-up's body paragraphs (default 12 20)")
    parser.add_argument("--command", default=f"{BIN / 'newsingest'} dedup", help="the command measured, before INPUT --out OUT (default: newsingest dedup)")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the inputs and outputs in this folder")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="newsingest-dedup-mem-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    failed = False
    try:
        for megabytes in sorted(args.sizes):
            shape = "" if args.paragraphs == [12, 20] else f"-p{args.paragraphs[0]}-{args.paragraphs[1]}"
            source = work / f"input-{megabytes:g}MB-s{args.seed}{shape}.jsonl"
            count_file = source.with_suffix(".records")
            if source.exists() and count_file.exists():
                size, records = source.stat().st_size, int(count_file.read_text())
            else:
                size, records = write_input(source, megabytes, args.seed, tuple(args.paragraphs))
                count_file.write_text(str(records))
            r = run(source, work / f"output-{megabytes:g}MB{shape}.jsonl", work, shlex.split(args.command))
            peak = max(r["peak_tree_rss"], r["peak_single_rss_kernel"])
            rows.append((size, peak))
            failed |= r["returncode"] not in (0, 1)
            print(f"input {size / MB:8.1f} MB  {records:>9,} records  peak RSS {peak / MB:8.1f} MB ({peak / size:.2f}x input)  "
                  f"{r['wall']:6.1f} s  exit {r['returncode']}", flush=True)
            if r["returncode"] not in (0, 1):
                print((work / "dedup.log").read_text(errors="replace")[-2000:])
        for (small, small_peak), (big, big_peak) in zip(rows, rows[1:]):
            print(f"slope {small / MB:.0f} -> {big / MB:.0f} MB: {(big_peak - small_peak) / (big - small):.2f} MB of RSS per MB of input")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
