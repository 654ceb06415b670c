"""A series of runs from a few outlets, one of which changes its page template halfway: the case
source-health monitoring exists for (pipeline/monitor/health.py).

Every outlet publishes HTML pages of its own template (navigation, cookie banner, related links,
footer) around articles written by ``wire_corpus``. From run ``change_at`` on, ``changed`` moves
its article body behind a subscription wall: the page keeps the headline and a one-paragraph teaser
in a new container, the rest is prompts to subscribe and a longer list of related links. Nothing
fails; bodies go short or empty, which is exactly what nobody notices for weeks.

    python -m pipeline.benchmarks.source_drift --out DIR [--runs 8] [--docs 12] [--run]

writes DIR/run-01 ... DIR/run-NN (one folder per outlet inside each) and, with ``--run``, runs
``newsingest run`` on each in turn into ``NEWSINGEST_HOME`` and prints the drifting sources the
last run reported.
"""

from __future__ import annotations

import argparse
import html
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.benchmarks.wire_corpus import Event, write_up

OUTLETS = ["harbourgazette.example", "metrotribune.example", "valleycourier.example", "shiftpost.example"]
CHANGED = "shiftpost.example"
RELATED = ["Council approves new budget", "Storm warning for the coast", "Local team wins the cup", "Rail works this weekend",
           "Museum reopens after repairs", "Schools plan longer hours", "Market prices rise again", "Bridge closed for inspection"]


def _page(rng: random.Random, outlet: str, headline: str, paragraphs: list[str], published: datetime, walled: bool) -> str:
    name = outlet.split(".")[0].capitalize()
    related = "".join(f"<li><a href='/news/{i}'>{html.escape(t)}</a></li>" for i, t in enumerate(rng.sample(RELATED, 4 if not walled else 8)))
    head = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(headline)} | {name}</title>"
            f"<meta property='article:published_time' content='{published.isoformat()}'>"
            f"<link rel='canonical' href='https://{outlet}/news/{rng.randrange(10**9)}'></head><body>"
            f"<header><nav><a href='/'>{name}</a> <a href='/world'>World</a> <a href='/business'>Business</a> <a href='/sport'>Sport</a></nav></header>"
            "<div class='cookie'>We use cookies to improve your experience. By continuing you accept our cookie policy.</div>")
    tail = (f"<aside><h3>Related stories</h3><ul>{related}</ul></aside>"
            f"<footer>Copyright 2026 {name}. All rights reserved.</footer></body></html>")
    if walled:  # the new template: a teaser and a subscription wall
        return (head + f"<main><div class='teaser-wrap'><h1>{html.escape(headline)}</h1><div class='teaser'>{html.escape(paragraphs[0])}</div>"
                "<div class='wall'><p>Subscribe to continue reading.</p><p>Already a subscriber? Log in.</p>"
                f"<p>Get unlimited access to {name} for 1 euro a week.</p></div></div></main>" + tail)
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return head + f"<main><article><h1>{html.escape(headline)}</h1><p class='byline'>By staff</p>{body}</article></main>" + tail


def write_series(out: str | Path, runs: int = 8, docs: int = 12, change_at: int | None = None, seed: int = 7,
                 changed: str = CHANGED, now: datetime | None = None) -> list[Path]:
    """Folders run-01 .. run-NN; ``changed`` switches template at run ``change_at`` (1-based;
    default: halfway). Returns the run folders in order."""
    rng = random.Random(seed)
    change_at = change_at or runs // 2 + 1
    now = now or datetime.now(UTC)
    folders = []
    for run in range(1, runs + 1):
        folder = Path(out) / f"run-{run:02d}"
        for outlet in OUTLETS:
            (folder / outlet).mkdir(parents=True, exist_ok=True)
            for n in range(docs):
                event = Event(rng, run * 1000 + n)
                headline, paragraphs = write_up(rng, event, None, (6, 9))
                published = now - timedelta(hours=rng.uniform(1, 30))
                walled = outlet == changed and run >= change_at
                page = _page(rng, outlet, headline, paragraphs, published, walled)
                (folder / outlet / f"story-{run:02d}-{n:03d}.html").write_text(page, encoding="utf-8")
        folders.append(folder)
    return folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--docs", type=int, default=12, help="documents per outlet and run")
    parser.add_argument("--change-at", type=int, default=None, help="first run of the new template (default: halfway)")
    parser.add_argument("--run", action="store_true", help="run newsingest on each folder in turn")
    args = parser.parse_args(argv)
    folders = write_series(args.out, args.runs, args.docs, args.change_at)
    print(f"{len(folders)} run folders of {len(OUTLETS)} outlets x {args.docs} pages in {args.out}; {CHANGED} changes template at run "
          f"{args.change_at or args.runs // 2 + 1}")
    if args.run:
        for folder in folders:
            done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--input", str(folder), "--quiet"], capture_output=True, text=True)
            print(f"{folder.name}: exit {done.returncode} {done.stdout.strip().splitlines()[0] if done.stdout.strip() else done.stderr.strip()[-300:]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
