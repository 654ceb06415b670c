"""Source health: what each source sent and what came out of it, per run, and drift detection.

In the commit that lands a run, ``record`` sums the run's ledger, articles, removed segments and
quarantine per source into ``source_health`` and ``source_reasons`` (schemas/ducklake/003), then
judges every source of the run against its own recent past. The most common silent failure of news
extraction is a publisher changing its layout: bodies go empty (quarantined as
``no_article_text``), shrink to a teaser, or fill with boilerplate the cleaner now removes. So a
source is flagged when, over its latest ``health_min_documents`` documents (this run's and, in a
stream of small runs, the runs just before), compared with the documents of its runs before them:

- the share of documents without article text, or quarantined, rose by ``health_share_jump``;
- the mean body length fell below ``health_words_drop`` of the baseline's;
- removed boilerplate segments per document changed by a factor of ``health_removals_change``.

A source needs ``health_baseline_documents`` documents of history before it is judged. A change
that persists becomes the baseline after ``health_baseline_runs`` runs: the flag then clears.
Writing is idempotent per run (delete and insert in one commit), so a retry leaves one set of rows.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass

from pipeline.settings import Settings

log = logging.getLogger(__name__)

ACTIONS = ("warn", "fail")
OUTCOME_FIELDS = {"article": "articles", "duplicate": "duplicates", "quarantined": "quarantined", "unchanged": "unchanged"}

LANDED = """
SELECT domain, count(*), coalesce(sum(word_count), 0),
       median(epoch(ingested_at) - epoch(published_at)) FILTER (WHERE published_at IS NOT NULL)
FROM articles WHERE run_id = $run_id GROUP BY domain
"""

OUTCOMES = """
SELECT domain, outcome, reason, count(*) FROM run_ledger
WHERE run_id = $run_id AND domain IS NOT NULL GROUP BY ALL
"""

QUARANTINED_WITHOUT_DOMAIN = "SELECT uri, reason FROM run_ledger WHERE run_id = $run_id AND domain IS NULL"

REMOVED = """
SELECT a.domain, r.reason, count(*) FROM removed_segments r JOIN articles a USING (article_id)
WHERE r.run_id = $run_id GROUP BY ALL
"""


@dataclass(slots=True)
class SourceRun:
    """One source in one run: the counts ``source_health`` stores."""

    domain: str
    documents: int = 0
    articles: int = 0
    duplicates: int = 0
    quarantined: int = 0
    unchanged: int = 0
    no_article_text: int = 0
    landed: int = 0
    body_words: int = 0
    removed_segments: int = 0
    freshness_seconds: float | None = None
    fetch_lag_seconds: float | None = None
    drift: str | None = None


def uri_domain(uri: str) -> str:
    from pipeline.sources.files import domain_of

    if "://" in uri:
        return domain_of(uri)
    return domain_of(None, uri.split("#", 1)[0])


@contextmanager
def fetch_state_attached(con, settings: Settings):
    """The fetcher's state (its own DuckDB file) attached read-only as ``fetch_state_db`` for the
    block; yields whether it is. Attach and detach happen outside any transaction: DuckDB refuses
    to detach inside one. A writer holding the file means no fetch lag this time."""
    import duckdb

    path = settings.fetch_state_path
    if not path or not path.exists():
        yield False
        return
    try:
        con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS fetch_state_db (READ_ONLY)")
    except duckdb.Error as exc:
        log.info("fetch lag not measured: %s", exc)
        yield False
        return
    try:
        yield True
    finally:
        con.execute("DETACH fetch_state_db")


def _fetch_lags(con, run_id: str) -> dict[str, float]:
    """Median of fetched_at - published_at per source, for the run's articles that were fetched."""
    import duckdb

    try:
        rows = con.execute(
            """SELECT a.domain, median(epoch(f.fetched_at) - epoch(a.published_at))
               FROM articles a JOIN fetch_state_db.fetch_state f ON a.url IN (f.url, f.final_url)
               WHERE a.run_id = $run_id AND a.published_at IS NOT NULL AND f.fetched_at IS NOT NULL GROUP BY 1""",
            {"run_id": run_id},
        ).fetchall()
    except duckdb.Error as exc:
        log.info("fetch lag not measured: %s", exc)
        rows = []
    return {d: v for d, v in rows if v is not None}


def collect(con, run_id: str, fetch_state: bool = False) -> tuple[dict[str, SourceRun], list[tuple]]:
    """Per-source counts of one landed run and its (domain, kind, reason, count) rows;
    ``fetch_state``: the fetcher's state is attached (``fetch_state_attached``)."""
    sources: dict[str, SourceRun] = {}

    def source(domain: str) -> SourceRun:
        if domain not in sources:
            sources[domain] = SourceRun(domain)
        return sources[domain]

    reasons: dict[tuple[str, str, str], int] = defaultdict(int)

    def count(domain: str, outcome: str, reason: str | None, n: int) -> None:
        s = source(domain)
        s.documents += n
        field = OUTCOME_FIELDS.get(outcome)
        if field:
            setattr(s, field, getattr(s, field) + n)
        if outcome == "quarantined":
            reasons[(domain, "quarantined", reason or "unknown")] += n
            if reason == "no_article_text":
                s.no_article_text += n

    for domain, outcome, reason, n in con.execute(OUTCOMES, {"run_id": run_id}).fetchall():
        count(domain, outcome, reason, n)
    # Quarantined documents carry no domain in the ledger: the input's address names the source.
    for uri, reason in con.execute(QUARANTINED_WITHOUT_DOMAIN, {"run_id": run_id}).fetchall():
        count(uri_domain(uri), "quarantined", reason, 1)
    for domain, landed, words, freshness in con.execute(LANDED, {"run_id": run_id}).fetchall():
        s = source(domain)
        s.landed, s.body_words, s.freshness_seconds = landed, int(words), freshness
    for domain, reason, n in con.execute(REMOVED, {"run_id": run_id}).fetchall():
        source(domain).removed_segments += n
        reasons[(domain, "removed", reason)] += n
    for domain, lag in (_fetch_lags(con, run_id) if fetch_state else {}).items():
        source(domain).fetch_lag_seconds = lag
    return sources, [(d, k, r, n) for (d, k, r), n in sorted(reasons.items())]


HISTORY = """
SELECT domain, documents - unchanged, quarantined, no_article_text, landed, body_words, removed_segments
FROM (
    SELECT *, row_number() OVER (PARTITION BY domain ORDER BY run_started_at DESC, run_id DESC) AS back
    FROM source_health WHERE domain IN (SELECT unnest($domains)) AND run_id <> $run_id AND run_started_at <= $started
) WHERE back <= $runs ORDER BY domain, back
"""


@dataclass(slots=True)
class Totals:
    processed: int = 0  # documents the run cleaned (unchanged ones were not looked at again)
    quarantined: int = 0
    no_article_text: int = 0
    landed: int = 0
    body_words: int = 0
    removed_segments: int = 0

    def add(self, row: tuple) -> None:
        self.processed += row[0]
        self.quarantined += row[1]
        self.no_article_text += row[2]
        self.landed += row[3]
        self.body_words += row[4]
        self.removed_segments += row[5]

    def share(self, part: int) -> float:
        return part / self.processed if self.processed else 0.0

    @property
    def words(self) -> float:
        return self.body_words / self.landed if self.landed else 0.0

    @property
    def removals(self) -> float:
        return self.removed_segments / self.landed if self.landed else 0.0


def _counts(s: SourceRun) -> tuple:
    return (s.documents - s.unchanged, s.quarantined, s.no_article_text, s.landed, s.body_words, s.removed_segments)


def judge(current: SourceRun, history: list[tuple], settings: Settings) -> str | None:
    """Why ``current`` (with ``history``, the source's earlier runs' counts, newest first) looks like
    a changed layout, or None. Not judged without enough recent documents or enough baseline."""
    recent, baseline = Totals(), Totals()
    recent.add(_counts(current))
    rest = iter(history)
    for row in rest:
        if recent.processed >= settings.health_min_documents:
            baseline.add(row)
            break
        recent.add(row)
    if current.documents - current.unchanged == 0 or recent.processed < settings.health_min_documents:
        return None
    for row in rest:
        baseline.add(row)
    if baseline.processed < settings.health_baseline_documents:
        return None
    found = []
    empty_now, empty_before = recent.share(recent.no_article_text), baseline.share(baseline.no_article_text)
    if empty_now - empty_before >= settings.health_share_jump:
        found.append(f"no article text in {empty_now:.0%} of documents (baseline {empty_before:.0%})")
    else:
        held_now, held_before = recent.share(recent.quarantined), baseline.share(baseline.quarantined)
        if held_now - held_before >= settings.health_share_jump:
            found.append(f"{held_now:.0%} of documents quarantined (baseline {held_before:.0%})")
    if baseline.words and recent.landed and recent.words < settings.health_words_drop * baseline.words:
        found.append(f"bodies of {recent.words:.0f} words on average (baseline {baseline.words:.0f})")
    factor = settings.health_removals_change
    if recent.landed and baseline.landed and abs(recent.removals - baseline.removals) >= 1.0 and (
        recent.removals >= factor * baseline.removals or recent.removals * factor <= baseline.removals
    ):
        found.append(f"{recent.removals:.1f} boilerplate segments removed a document (baseline {baseline.removals:.1f})")
    return "; ".join(found) or None


class SourceDriftError(RuntimeError):
    """Sources look like they changed their layout and ``health_action`` is 'fail'."""

    def __init__(self, run_id: str, drifting: dict[str, str]):
        listed = "; ".join(f"{domain}: {why}" for domain, why in sorted(drifting.items()))
        super().__init__(f"run {run_id}: {len(drifting)} source(s) look like they changed their layout ({listed})")
        self.drifting = drifting


def check_action(settings: Settings) -> None:
    if settings.health_action not in ACTIONS:
        raise ValueError(f"health_action must be one of {', '.join(ACTIONS)}, found {settings.health_action!r}")


def record(con, run_id: str, settings: Settings, fetch_state: bool = False) -> dict[str, str]:
    """Store and judge the health of landed run ``run_id`` inside the caller's transaction (land
    records it in its own commit); returns the drifting sources with why. Nothing is written for
    a run that has not landed."""
    import pyarrow as pa

    check_action(settings)
    started = con.execute("SELECT started_at FROM runs WHERE run_id = $run_id AND status = 'landed'", {"run_id": run_id}).fetchall()
    if not started:
        return {}
    sources, reasons = collect(con, run_id, fetch_state)
    history: dict[str, list[tuple]] = defaultdict(list)
    params = {"domains": sorted(sources), "run_id": run_id, "started": started[0][0], "runs": settings.health_baseline_runs}
    for domain, *row in con.execute(HISTORY, params).fetchall():
        history[domain].append(tuple(row))
    for s in sources.values():
        s.drift = judge(s, history[s.domain], settings)
    names = list(SourceRun.__slots__)
    rows = {name: [getattr(s, name) for s in sources.values()] for name in names}
    con.register("health_rows", pa.table({"run_id": [run_id] * len(sources), "run_started_at": [started[0][0]] * len(sources), **rows}))
    con.register("reason_rows", pa.table({
        "run_id": [run_id] * len(reasons),
        "domain": [r[0] for r in reasons], "kind": [r[1] for r in reasons], "reason": [r[2] for r in reasons],
        "count": pa.array([r[3] for r in reasons], pa.int32()),
    }))
    con.execute("DELETE FROM source_health WHERE run_id = $run_id", {"run_id": run_id})
    con.execute("DELETE FROM source_reasons WHERE run_id = $run_id", {"run_id": run_id})
    con.execute(f"INSERT INTO source_health BY NAME SELECT {', '.join(['run_id', 'run_started_at', *names])} FROM health_rows")
    con.execute("INSERT INTO source_reasons BY NAME SELECT * FROM reason_rows")
    con.unregister("health_rows")
    con.unregister("reason_rows")
    return {s.domain: s.drift for s in sources.values() if s.drift}


def warn(drifting: dict[str, str]) -> None:
    for domain, why in sorted(drifting.items()):
        log.warning("source %s looks like it changed its layout: %s", domain, why)


def record_source_health(run_id: str, settings: Settings) -> dict[str, str]:
    """``record`` in a commit of its own, for a run landed before source health was kept
    (``backfill``). Idempotent: a second call leaves one set of rows."""
    from pipeline.store.db import connect, retrying, rollback

    check_action(settings)

    def write() -> dict[str, str]:
        with connect(settings.db_path, settings.lock_retry_seconds, near_index=False) as con, fetch_state_attached(con, settings) as attached:
            con.execute("BEGIN TRANSACTION")
            try:
                drifting = record(con, run_id, settings, attached)
                con.execute("COMMIT")
            except Exception:
                rollback(con)
                raise
            return drifting

    drifting = retrying(write, settings.lock_retry_seconds)
    warn(drifting)
    return drifting


def enforce(run_id: str, drifting: dict[str, str], settings: Settings) -> None:
    """The check of a run: with ``health_action = 'fail'`` drifting sources fail it (after landing:
    the data is kept, the run is marked failed for someone to look)."""
    if drifting and settings.health_action == "fail":
        raise SourceDriftError(run_id, drifting)


def backfill(settings: Settings) -> int:
    """Record every landed run without source health, oldest first (each is judged against the
    runs before it, as if monitoring had been on). Returns how many were recorded."""
    from pipeline.store.db import read_connection

    with read_connection(settings.db_path, settings.lock_retry_seconds) as con:
        missing = [r for (r,) in con.execute(
            "SELECT run_id FROM runs WHERE status = 'landed' AND run_id NOT IN (SELECT DISTINCT run_id FROM source_health) ORDER BY started_at, run_id"
        ).fetchall()] if con is not None else []
    for run_id in missing:
        record_source_health(run_id, settings)
    return len(missing)
