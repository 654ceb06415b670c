"""Quality and speed of the story level (different write-ups of one event share a ``story_id``).

    python -m pipeline.benchmarks.story_quality [--size 10000] [--seed 4] [--wire-names] [--no-old]

Builds a topical batch from the wire corpus's events (``wire_corpus``): one leader's name in every
write-up (three sentences each), every event within four days (so the three-day story window
rarely separates two events), two to twelve write-ups per event and one event in thirty-three
with 40 to 120, each republished with the corpus's heavy-tailed copies; event people get
surnames of their own (``--wire-names``: the corpus's 32, each a name in one event of six).
Documents are cleaned as the clean stage does, near-duplicates found, and the story level run
through ``story.assign_stories`` (what ``stage_dedup`` calls). Prints pairwise precision and
recall of the story groups against the events, the candidate pairs (sharing enough terms) and
those verified (``same_story`` calls: the others were already in one story), the stories found
and the seconds of the story level, for the algorithm before candidates were bounded (every
pair sharing enough terms, kept here only) and the current one.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from pipeline.benchmarks import wire_corpus as wc
from pipeline.benchmarks.dedup_quality import scores
from pipeline.dedup import story
from pipeline.settings import Settings

LEADER = "Helena Varga"
LEADER_LINES = [
    "President {leader} {verb} that the {noun} would be handled in {city}.",
    "{city} officials briefed President {leader} on {issue}.",
    "Aides to President {leader} {verb} on {issue}.",
]
SYLLABLES = ["ka", "ro", "vi", "len", "mar", "to", "bel", "sa", "dor", "ni", "gra", "hol", "mi", "zen", "ta", "ber", "lo", "van", "ric", "so", "du", "fen", "ga", "lin"]


def _surname(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize() + rng.choice(["", "s", "ov", "ez", "i", "ek", "ston"])


def topical(documents: int, seed: int = 4, span_days: int = 4, writeups: tuple[int, int] = (2, 12), big: float = 0.03,
            big_writeups: tuple[int, int] = (40, 120), wire_names: bool = False) -> list[wc.Doc]:
    """``documents`` labelled documents (``Doc.event`` is the story truth) of one topical batch.
    Event people get the corpus's first names and surnames of their own (the corpus's 32 surnames
    would put each in one event of six), unless ``wire_names``."""
    rng = random.Random(seed)
    names = random.Random(seed + 7)
    sizes = wc._cluster_sizes(rng, documents)
    rng.shuffle(sizes)  # the big copy clusters spread over the events
    start = datetime(2026, 3, 2, tzinfo=UTC)
    docs: list[wc.Doc] = []
    left = 0
    for number, size in enumerate(sizes):
        if left == 0:
            event = wc.Event(rng, number)
            event.when = start + timedelta(minutes=rng.randint(0, span_days * 1440))
            event_id = f"e{number}"
            if not wire_names:
                event.people = [(f"{names.choice(wc.FIRST)} {_surname(names)}", role) for _, role in event.people]
            left = rng.randint(*big_writeups) if rng.random() < big else rng.randint(*writeups)
        left -= 1
        agency, site = rng.choice(wc.AGENCIES) if rng.random() < 0.7 else (None, f"{rng.choice(wc.PAPERS)}.example")
        headline, body = wc.write_up(rng, event, agency)
        for _ in range(3):
            line = rng.choice(LEADER_LINES).format(leader=LEADER, verb=rng.choice(wc.VERBS), noun=rng.choice(wc.NOUNS), city=event.city,
                                                   issue=rng.choice(wc.TOPICS[event.topic][2]))
            paragraph = rng.randrange(len(body))
            body[paragraph] = f"{body[paragraph]} {line}"
        byline = f"By {wc._person(rng)}"
        label = f"w{number}"
        when = event.when + timedelta(minutes=rng.randint(0, 600))
        docs.append(wc.Doc(f"{label}-0", "\n".join([headline, byline, *body]), f"https://{site}/{event.topic}/{number}", when.isoformat(), label, (), event_id))
        for k in range(1, size):
            copy_site = f"{rng.choice(wc.PAPERS)}{rng.randint(1, 40)}.example"
            published = (when + timedelta(minutes=rng.randint(5, 4000))).isoformat() if rng.random() < 0.85 else None
            text, edits = wc.copy_of(rng, event, headline, byline, body, copy_site)
            docs.append(wc.Doc(f"{label}-{k}", text, f"https://{copy_site}/news/{number}-{k}", published, label, edits, event_id))
        if len(docs) >= documents:
            break
    rng.shuffle(docs)
    return docs[:documents]


def cleaned_rows(docs: list[wc.Doc], settings: Settings) -> tuple[list[dict], dict[str, str]]:
    """Article rows as the clean stage writes them (with their dedup keys), and the event of each."""
    from pipeline.clean import clean_document
    from pipeline.model import RawDocument
    from pipeline.stages import SHORT_TEXT_MIN_WORDS, article_row, with_dedup_keys

    fetched = datetime(2026, 3, 10, tzinfo=UTC)
    rows, events = [], {}
    for doc in docs:
        raw = RawDocument(raw_id=doc.id, uri=doc.url, domain=doc.url.split("/")[2], fetched_at=fetched, content_type="text/plain",
                          payload=doc.text.encode("utf-8"), url=doc.url)
        try:
            article = clean_document(raw, min_body_words=SHORT_TEXT_MIN_WORDS)
        except Exception:  # noqa: BLE001 - a document the cleaner refuses is not in the batch
            continue
        row = article_row(article)
        row["published_at"] = datetime.fromisoformat(doc.published_at) if doc.published_at else row["published_at"]
        if row["article_id"] in events:
            continue  # the same URL twice: the dedup stage keeps one
        rows.append(row)
        events[row["article_id"]] = doc.event
    return with_dedup_keys(rows, settings.min_body_words), events


class _NoHistory:
    available = False


def old_assign_stories(rows: list[dict], settings: Settings) -> tuple[story.UnionFind, int]:
    """The story level before candidates were bounded: every pair of the batch sharing at least
    ``story_min_shared_terms`` terms, counted through all postings, is verified."""
    terms = {r["article_id"]: r["story_terms"] for r in rows}
    when = {r["article_id"]: r["published_at"] for r in rows}
    keys = sorted(terms)
    postings: dict[str, list[int]] = defaultdict(list)
    for number, key in enumerate(keys):
        for term in set(terms[key]):
            postings[term].append(number)
    size = len(keys)
    shared: Counter[int] = Counter()
    for numbers in postings.values():
        if len(numbers) > 1:
            shared.update(a * size + b for i, a in enumerate(numbers) for b in numbers[i + 1 :])
    pairs = [(keys[pair // size], keys[pair % size]) for pair, count in sorted(shared.items()) if count >= settings.story_min_shared_terms]
    del shared
    groups = story.UnionFind()
    for a in keys:
        groups.find(a)
    for a, b in pairs:
        if story.same_story(terms[a], terms[b], when[a], when[b], settings.story_min_shared_terms, settings.story_window_days):
            groups.union(a, b)
    return groups, len(pairs)


def new_assign_stories(rows: list[dict], near, settings: Settings) -> tuple[story.UnionFind, float, dict[str, int]]:
    """``story.assign_stories`` timed, then run again counting the pairs ``candidate_pairs``
    returns (sharing enough terms) and the ``same_story`` calls (those not already in one story)."""
    started = time.perf_counter()
    groups = story.assign_stories(rows, near, _NoHistory(), settings).groups
    seconds = time.perf_counter() - started
    counts = {"candidates": 0, "verified": 0}
    verify, candidates = story.same_story, story.candidate_pairs

    def counted_verify(*args):
        counts["verified"] += 1
        return verify(*args)

    def counted_candidates(*args):
        found = candidates(*args)
        counts["candidates"] += len(found)
        return found

    story.same_story, story.candidate_pairs = counted_verify, counted_candidates
    try:
        story.assign_stories(rows, near, _NoHistory(), settings)
    finally:
        story.same_story, story.candidate_pairs = verify, candidates
    return groups, seconds, counts


def main(argv: list[str] | None = None) -> int:
    from pipeline.dedup.near import near_duplicates

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--wire-names", action="store_true", help="event people from the wire corpus's 32 first names and 32 surnames")
    parser.add_argument("--no-old", action="store_true", help="skip the old algorithm (minutes and gigabytes at 10,000)")
    args = parser.parse_args(argv)
    settings = Settings()
    docs = topical(args.size, args.seed, wire_names=args.wire_names)
    rows, events = cleaned_rows(docs, settings)
    near = near_duplicates(rows, None, settings.near_dup_threshold, settings.min_body_words)
    rows = [r for r in rows if r["article_id"] not in near.unmatched_short]  # quarantined by the dedup stage
    truth = [events[r["article_id"]] for r in rows]
    leader = sum(1 for r in rows if "varga" in r["story_terms"])
    print(f"{len(rows)} articles of {len(set(truth))} events, {sum(1 for r in rows if near.assigned[r['article_id']].canonical == r['article_id'])} "
          f"near-duplicate clusters, '{LEADER}' a story term of {leader}")
    print(f"{'algorithm':<10} {'P':>8} {'R':>8} {'candidates':>10} {'verified':>10} {'stories':>8} {'seconds':>8}")
    groups, seconds, counts = new_assign_stories(rows, near, settings)  # first: the old one leaves a heap of gigabytes
    results = [("bounded", groups, counts, seconds)]
    if not args.no_old:
        started = time.perf_counter()
        groups, pairs = old_assign_stories(rows, settings)
        results.insert(0, ("old", groups, {"candidates": pairs, "verified": pairs}, time.perf_counter() - started))
    for name, groups, counts, seconds in results:
        found = [groups.find(r["article_id"]) for r in rows]
        s = scores(truth, found)
        print(f"{name:<10} {s['precision']:>8.5f} {s['recall']:>8.5f} {counts['candidates']:>10} {counts['verified']:>10} {len(set(found)):>8} {seconds:>8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
