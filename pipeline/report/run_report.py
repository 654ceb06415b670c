"""The data-quality reports, self-contained HTML in ``report_dir`` (served in Airflow's UI by
pipeline/report/plugin.py, readable from disk too):

- ``run-<id>.html`` (and ``latest.html``): the run, its source health (a drifting source is a red
  row), trends across runs on a time axis, and drill-down (removed segments, quarantined documents,
  the largest clusters with their members' similarity);
- ``sources/<domain>.html``: one source's trends, drift history, latest articles and quarantines;
- ``index.html``: every run, newest first, with links to the reports kept.

Trends read ``source_health`` and ``source_reasons`` (pipeline/monitor/health.py), which hold a
few rows a run, so the pages stay cheap while the corpus grows."""

from __future__ import annotations

import html
import os
import re
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from pipeline.report import charts
from pipeline.settings import Settings
from pipeline.store.db import read_connection

TOP_SOURCES = 8  # sources drawn one by one in trends; the rest add up as one line
STYLE = """
html{overflow-y:scroll}body{font-family:system-ui,sans-serif;max-width:1180px;margin:1.5em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
nav a{margin-right:1.2em}table{border-collapse:collapse;margin:.5em 0;font-size:.85em}
th,td{padding:3px 6px;text-align:left;border-bottom:1px solid #eee;vertical-align:top}th{background:#f4f6f8}
td.num,th.num{text-align:right}td.num{white-space:nowrap}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:8px}
figure.chart{margin:0;border:1px solid #eee;border-radius:4px;min-width:0}figure.empty{padding:1em;color:#888}
tr.drift td{background:#fde2e1}tr.drift td.status{color:#a4161a;font-weight:600}td.status{min-width:13em}
.alert{background:#fde2e1;border-left:4px solid #a4161a;padding:.3em 1em}.muted{color:#777}.ok{color:#2b7a0b}details{margin:.3em 0}summary{cursor:pointer}q{color:#555}
"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:120] or "_"


def _esc(value) -> str:
    return html.escape("" if value is None else str(value))


def _page(title: str, body: str, depth: int = 0) -> str:
    up = "../" * depth
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width'><title>{_esc(title)}</title>"
        f"<style>{STYLE}</style><script src='{up}{charts.PLOTLY_JS}'></script></head><body>"
        f"<nav><a href='{up}index.html'>All runs</a><a href='{up}latest.html'>Latest run</a>"
        f"<a href='{up}data_docs/index.html'>Great Expectations Data Docs</a></nav>{body}</body></html>"
    )


def _write(path: Path, page: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, path)


def _table(headers: list[str], rows: list[list], numeric: set[int] = frozenset(), row_class=None) -> str:
    if not rows:
        return "<p class='muted'>none</p>"
    head = "".join(f"<th class='{'num' if i in numeric else ''}'>{_esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for n, row in enumerate(rows):
        cls = row_class(n) if row_class else ""
        cells = "".join(f"<td class='{'num' if i in numeric else ''}'>{cell}</td>" for i, cell in enumerate(row))
        body.append(f"<tr class='{cls}'>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _pct(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f} h"


# --------------------------------------------------------------------------- data


def run_summary(run_id: str, settings: Settings) -> dict:
    with read_connection(settings.db_path, settings.lock_retry_seconds) as con:
        if con is None:
            raise FileNotFoundError(f"no database at {settings.db_path}")
        return _summary(con, run_id, settings)


def _summary(con, run_id: str, settings: Settings) -> dict:
    outcomes = dict(con.execute("SELECT outcome, count(*) FROM run_ledger WHERE run_id = $run_id GROUP BY ALL", {"run_id": run_id}).fetchall())
    canonical = con.execute("SELECT count(*) FROM canonical_articles").fetchall()[0][0]
    total = con.execute("SELECT count(*) FROM articles").fetchall()[0][0]
    return {
        "run_id": run_id,
        **{k: outcomes.get(k, 0) for k in ("article", "duplicate", "quarantined", "unchanged")},
        "corpus_articles": total,
        "corpus_canonical": canonical,
        "db": str(settings.db_path),
    }


class Trends:
    """The ``source_health`` rows of the latest ``report_trend_runs`` runs."""

    COLUMNS = ("run_id", "run_started_at", "domain", "documents", "articles", "duplicates", "quarantined", "unchanged",
               "no_article_text", "landed", "body_words", "removed_segments", "freshness_seconds", "fetch_lag_seconds", "drift")

    def __init__(self, con, runs: int):
        self.rows = [dict(zip(self.COLUMNS, r)) for r in con.execute(
            f"""SELECT {', '.join(self.COLUMNS)} FROM source_health
                WHERE run_id IN (SELECT run_id FROM (SELECT DISTINCT run_id, run_started_at FROM source_health)
                                 ORDER BY run_started_at DESC LIMIT $runs)
                ORDER BY run_started_at, domain""", {"runs": runs}).fetchall()]
        self.reasons = con.execute(
            """SELECT h.run_started_at, r.kind, r.reason, sum(r.count)
               FROM source_reasons r JOIN (SELECT DISTINCT run_id, run_started_at FROM source_health) h USING (run_id)
               WHERE r.run_id IN (SELECT unnest($runs)) GROUP BY ALL ORDER BY 1""",
            {"runs": sorted({r["run_id"] for r in self.rows})}).fetchall()
        volume: dict[str, int] = defaultdict(int)
        self.by_domain: dict[str, list[dict]] = defaultdict(list)
        for r in self.rows:
            volume[r["domain"]] += r["documents"]
            self.by_domain[r["domain"]].append(r)
        self.top = [d for d, _ in sorted(volume.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_SOURCES]]

    def runs(self) -> list[tuple[str, datetime]]:
        return sorted({(r["run_id"], r["run_started_at"]) for r in self.rows}, key=lambda x: x[1])

    def per_source(self, value, domains: list[str] | None = None, other: bool = True) -> dict:
        """{source: (times, values)} with ``value(rows)`` over each source's rows of a run."""
        grouped: dict[str, dict[datetime, list[dict]]] = defaultdict(lambda: defaultdict(list))
        top = set(domains or self.top)
        for r in ([r for d in domains for r in self.by_domain.get(d, [])] if domains else self.rows):
            name = r["domain"] if r["domain"] in top else ("other sources" if other and not domains else None)
            if name:
                grouped[name][r["run_started_at"]].append(r)
        series = {}
        for name in [*(domains or self.top), "other sources"]:
            if name in grouped:
                points = [(t, value(rows)) for t, rows in sorted(grouped[name].items())]
                series[name] = ([t for t, _ in points], [v for _, v in points])
        return series

    def per_run(self, value) -> tuple[list[datetime], list]:
        grouped: dict[datetime, list[dict]] = defaultdict(list)
        for r in self.rows:
            grouped[r["run_started_at"]].append(r)
        points = sorted(grouped.items())
        return [t for t, _ in points], [value(rows) for _, rows in points]


def _sum(field: str):
    return lambda rows: sum(r[field] for r in rows)


def _ratio(part: str, whole):
    def value(rows):
        denominator = sum(whole(r) for r in rows)
        return sum(r[part] for r in rows) / denominator if denominator else None
    return value


def _processed(r: dict) -> int:
    return r["documents"] - r["unchanged"]


def _median_of(field: str):
    def value(rows):
        found = sorted(r[field] / 3600 for r in rows if r[field] is not None)
        return found[len(found) // 2] if found else None
    return value


def trend_charts(trends: Trends, prefix: str = "trend", domains: list[str] | None = None) -> str:
    by = (lambda v: trends.per_source(v, domains)) if domains else trends.per_source
    parts = [
        charts.over_time(f"{prefix}-documents", "Documents in, per source", by(_sum("documents")), "documents"),
        charts.over_time(f"{prefix}-articles", "Articles landed, per source", by(_sum("articles")), "articles"),
        charts.over_time(f"{prefix}-duplicates", "Duplicates, per source", by(_sum("duplicates")), "duplicates"),
        charts.over_time(f"{prefix}-quarantined", "Quarantined, per source", by(_sum("quarantined")), "documents"),
        charts.over_time(f"{prefix}-dup-rate", "Duplicate rate (duplicates / landed)",
                         by(_ratio("duplicates", lambda r: r["articles"] + r["duplicates"])), percent=True),
        charts.over_time(f"{prefix}-words", "Extraction yield: body words per landed document", by(_ratio("body_words", lambda r: r["landed"])), "words"),
        charts.over_time(f"{prefix}-empty", "Share of documents with no article text", by(_ratio("no_article_text", _processed)), percent=True),
        charts.over_time(f"{prefix}-removals", "Boilerplate segments removed per landed document", by(_ratio("removed_segments", lambda r: r["landed"])), "segments"),
        charts.over_time(f"{prefix}-freshness", "Freshness: hours from publication to ingestion (median)", by(_median_of("freshness_seconds")), "hours"),
        charts.over_time(f"{prefix}-fetch-lag", "Fetch lag: hours from publication to fetch (median, fetched pages)", by(_median_of("fetch_lag_seconds")), "hours"),
    ]
    page = f"<div class='grid'>{''.join(parts)}</div>"
    return page.replace(", per source", "") if domains else page


def reason_charts(trends: Trends) -> str:
    processed = dict(zip(*trends.per_run(lambda rows: sum(_processed(r) for r in rows))))
    landed = dict(zip(*trends.per_run(_sum("landed"))))
    counts: dict[str, dict[str, dict[datetime, int]]] = {"quarantined": defaultdict(dict), "removed": defaultdict(dict)}
    for started, kind, reason, n in trends.reasons:
        counts[kind][reason][started] = n
    times = [t for _, t in trends.runs()]
    series: dict[str, dict[str, tuple[list, list]]] = {}
    for kind, whole in (("quarantined", processed), ("removed", landed)):
        # Every run is a point: a run without a reason has a rate of zero, not a gap.
        series[kind] = {reason: (times, [by_run.get(t, 0) / whole[t] if whole.get(t) else None for t in times])
                        for reason, by_run in sorted(counts[kind].items())}
    return "<div class='grid'>" + charts.over_time("trend-quarantine-reasons", "Quarantine rate by reason (share of documents)",
                                                   series["quarantined"], percent=True, stacked=True) + charts.over_time(
        "trend-removal-reasons", "Removed segments by reason (per landed document)", series["removed"], "segments") + "</div>"


def source_table(trends: Trends, pages: set[str], learning: int, link_depth: int = 0) -> str:
    """A row a source: its window's figures and its latest run's verdict (red: drifting;
    'learning' under ``learning`` documents, too few to judge); linked to the source's page when
    it has one (``pages``)."""
    by_source: dict[str, list[dict]] = defaultdict(list)
    for r in trends.rows:
        by_source[r["domain"]].append(r)
    rows, drifting = [], []
    for domain, runs in sorted(by_source.items(), key=lambda kv: (kv[1][-1]["drift"] is None, kv[0])):
        latest = runs[-1]
        processed = sum(_processed(r) for r in runs)
        landed = sum(r["landed"] for r in runs)
        if latest["drift"]:
            status = f"drifting: {_esc(latest['drift'])}"
        elif processed < learning:  # not judged yet: too little history for a baseline
            status = "<span class='muted'>learning</span>"
        else:
            status = "<span class='ok'>ok</span>"
        drifting.append(bool(latest["drift"]))
        link = f"<a href='{'../' * link_depth}sources/{_slug(domain)}.html'>{_esc(domain)}</a>" if domain in pages else _esc(domain)
        rows.append([
            link, _esc(latest["run_started_at"].strftime("%m-%d %H:%M")), len(runs), sum(r["documents"] for r in runs),
            sum(r["articles"] for r in runs), _pct(sum(r["duplicates"] for r in runs), landed),
            _pct(sum(r["quarantined"] for r in runs), processed), _pct(sum(r["no_article_text"] for r in runs), processed),
            f"{sum(r['body_words'] for r in runs) / landed:.0f}" if landed else "-",
            f"{sum(r['removed_segments'] for r in runs) / landed:.1f}" if landed else "-",
            _hours(latest["freshness_seconds"]), status,
        ])
    headers = ["source", "last run", "runs", "documents", "articles", "duplicate rate", "quarantined", "no article text",
               "words / doc", "removed / doc", "freshness", "status"]
    table = _table(headers, rows, numeric={1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
                   row_class=lambda n: "drift" if drifting[n] else "")
    return table.replace("<td class=''>drifting", "<td class='status'>drifting").replace("<td class=''><span class='", "<td class='status'><span class='")


# --------------------------------------------------------------------------- drill-down


REMOVED_EXAMPLES = """
SELECT domain, reason, text, article_id FROM (
    SELECT a.domain, r.reason, r.text, r.article_id,
           row_number() OVER (PARTITION BY {by} ORDER BY r.article_id, r.position) AS n
    FROM removed_segments r JOIN articles a USING (article_id) WHERE r.run_id = $run_id)
WHERE n <= {per_reason} ORDER BY domain, reason, n
"""


def _removed_examples(con, run_id: str, per_domain: bool = False, per_reason: int = 4) -> dict[str | None, str]:
    """Examples of the run's removed segments per reason, as HTML: {None: all sources} or, with
    ``per_domain``, {domain: its examples}, in one query either way."""
    by = "a.domain, r.reason" if per_domain else "r.reason"
    rows = con.execute(REMOVED_EXAMPLES.format(by=by, per_reason=int(per_reason)), {"run_id": run_id}).fetchall()
    grouped: dict[str | None, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for domain, reason, text, article_id in rows:
        grouped[domain if per_domain else None][reason].append(
            f"<li><q>{_esc(text[:300])}</q> <span class='muted'>{_esc(domain)} · {_esc(article_id[:12])}</span></li>")
    return {key: "".join(f"<details><summary>{_esc(reason)}</summary><ul>{''.join(items)}</ul></details>" for reason, items in reasons.items())
            for key, reasons in grouped.items()}


def _quarantined(con, run_ids: list[str], limit: int = 200) -> dict[str, list[list]]:
    """Quarantined documents of ``run_ids`` (newest run first) per source, ``limit`` each; the
    source is read from the input's address (the ledger has no domain for them)."""
    from pipeline.monitor.health import uri_domain

    rows = con.execute(
        """SELECT l.run_id, l.uri, q.stage, q.reason, q.detail FROM run_ledger l
           JOIN quarantine q ON q.raw_id = l.raw_id AND q.uri = l.uri AND q.run_id = l.run_id
           WHERE l.run_id IN (SELECT unnest($runs)) AND l.outcome = 'quarantined'
           ORDER BY l.run_id DESC, l.uri""", {"runs": run_ids}).fetchall()
    found: dict[str, list[list]] = defaultdict(list)
    for run_id, uri, stage, reason, detail in rows:
        domain = uri_domain(uri)
        if len(found[domain]) < limit:
            found[domain].append([_esc(run_id), _esc(uri), _esc(f"{stage}: {reason}"), _esc((detail or "")[:200])])
    return found


def _clusters(con, run_id: str, limit: int = 5) -> str:
    clusters = con.execute(
        """SELECT dup_cluster_id, count(*) FROM articles
           WHERE dup_cluster_id IN (SELECT dup_cluster_id FROM articles WHERE run_id = $run_id)
           GROUP BY 1 HAVING count(*) > 1 ORDER BY 2 DESC, 1 LIMIT $limit""", {"run_id": run_id, "limit": limit}).fetchall()
    parts = []
    for cluster_id, size in clusters:
        members = con.execute(
            """SELECT a.is_canonical, a.domain, a.title, a.url, a.word_count, d.similarity, d.method
               FROM articles a LEFT JOIN duplicates d USING (article_id)
               WHERE a.dup_cluster_id = $cluster ORDER BY a.is_canonical DESC, d.similarity DESC NULLS LAST, a.domain LIMIT 50""",
            {"cluster": cluster_id}).fetchall()
        title = next((m[2] for m in members if m[0]), members[0][2] if members else cluster_id)
        rows = [["canonical" if c else "copy", _esc(d), _link(t, u), w, "-" if s is None else f"{s:.2f}", _esc(m or "")]
                for c, d, t, u, w, s, m in members]
        parts.append(f"<details><summary>{_esc(title)} ({size} copies)</summary>"
                     + _table(["role", "source", "title", "words", "similarity", "method"], rows, numeric={3, 4}) + "</details>")
    return "".join(parts) or "<p class='muted'>no cluster with more than one member</p>"


def _link(title, url) -> str:
    text = _esc(title or url or "(no title)")
    return f"<a href='{_esc(url)}' rel='noreferrer'>{text}</a>" if url and str(url).startswith(("http://", "https://")) else text


# --------------------------------------------------------------------------- pages


def _run_page(con, run_id: str, summary: dict, trends: Trends, settings: Settings, docs_index: str | None) -> str:
    params = {"run_id": run_id}
    failed = con.execute(
        "SELECT expectation, \"column\", unexpected_count FROM validation_results WHERE run_id = $run_id AND NOT success ORDER BY 1", params).fetchall()
    validation = "".join(f"<li>{_esc(e)} on {_esc(c or 'table')}: {n if n is not None else '-'} unexpected</li>" for e, c, n in failed) \
        or "<li class='ok'>all expectations met</li>"
    this_run = [
        charts.bars("run-outcomes", "Outcomes of this run", con.execute(
            "SELECT outcome, count(*) FROM run_ledger WHERE run_id = $run_id GROUP BY ALL ORDER BY 2 DESC", params).fetchall()),
        charts.bars("run-sources", "Articles by source (this run)", con.execute(
            "SELECT domain, count(*) FROM articles WHERE run_id = $run_id GROUP BY ALL ORDER BY 2 DESC, 1 LIMIT 20", params).fetchall()),
        charts.bars("run-removed", "Removed segments by reason (this run)", con.execute(
            "SELECT reason, count(*) FROM removed_segments WHERE run_id = $run_id GROUP BY ALL ORDER BY 2 DESC, 1", params).fetchall()),
        charts.bars("run-quarantine", "Quarantine reasons (this run)", con.execute(
            "SELECT q.stage || ': ' || q.reason, count(*) FROM run_ledger l JOIN quarantine q USING (raw_id, uri) "
            "WHERE l.run_id = $run_id AND l.outcome = 'quarantined' GROUP BY ALL ORDER BY 2 DESC, 1", params).fetchall()),
    ]
    drifting = [r for r in trends.rows if r["run_id"] == run_id and r["drift"]]
    alert = "".join(f"<li><b>{_esc(r['domain'])}</b>: {_esc(r['drift'])}</li>" for r in drifting)
    alert = f"<div class='alert'><h2>Sources that look like they changed their layout</h2><ul>{alert}</ul></div>" if alert else ""
    started = con.execute("SELECT started_at, input FROM runs WHERE run_id = $run_id", params).fetchall()
    when = f"<p class='muted'>started {_esc(started[0][0])} · input {_esc(started[0][1])}</p>" if started else ""
    docs = f"<p><a href='{_esc(os.path.relpath(docs_index, settings.report_dir))}'>Validation of this run in Data Docs</a></p>" if docs_index else ""
    summary_rows = "".join(f"<tr><td>{_esc(k)}</td><td class='num'>{_esc(v)}</td></tr>" for k, v in summary.items())
    return _page(f"newsingest run {run_id}", (
        f"<h1>Run {_esc(run_id)}</h1>{when}<table>{summary_rows}</table>{docs}{alert}"
        f"<h2>Source health</h2><p class='muted'>Each source over the last {len(trends.runs())} runs; the status is its latest run's."
        " A red row: empty bodies, quarantines, body length or removed boilerplate moved far from the source's own baseline.</p>"
        + source_table(trends, {d for d in trends.by_domain if (Path(settings.report_dir) / "sources" / f"{_slug(d)}.html").exists()},
                       settings.health_min_documents + settings.health_baseline_documents)
        + f"<h2>Failed expectations</h2><ul>{validation}</ul>"
        + f"<h2>This run</h2><div class='grid'>{''.join(this_run)}</div>"
        + "<h2>Trends</h2>" + trend_charts(trends) + reason_charts(trends)
        + "<h2>Removed segments (examples from this run)</h2>" + (_removed_examples(con, run_id).get(None) or "<p class='muted'>none</p>")
        + "<h2>Quarantined documents (this run)</h2>"
        + _table(["run", "input", "reason", "detail"], [row for rows in _quarantined(con, [run_id]).values() for row in rows][:200])
        + "<h2>Largest duplicate clusters touched by this run</h2>" + _clusters(con, run_id)
    ))


class SourceDetails:
    """What the pages of the run's sources list, fetched for all of them in three queries (a batch
    from hundreds of sites would otherwise cost three queries a site)."""

    def __init__(self, con, run_id: str, domains: list[str], trends: Trends):
        import pyarrow as pa

        runs = trends.by_domain
        # Latest articles: those of each source's last 20 runs at most (file statistics skip the rest).
        since = pa.table({"domain": domains, "since": [runs[d][-min(20, len(runs[d]))]["run_started_at"] for d in domains]})
        con.register("source_since", since)
        self.articles: dict[str, list] = defaultdict(list)
        for domain, *row in con.execute(
            """SELECT domain, title, url, published_at, word_count, is_canonical, run_id FROM (
                   SELECT a.*, row_number() OVER (PARTITION BY a.domain ORDER BY a.ingested_at DESC, a.article_id) AS n
                   FROM articles a JOIN source_since s ON a.domain = s.domain AND a.ingested_at >= s.since)
               WHERE n <= 50 ORDER BY domain, n""").fetchall():
            self.articles[domain].append(row)
        con.unregister("source_since")
        held = sorted({r["run_id"] for d in domains for r in runs[d][-20:] if r["quarantined"]})
        self.quarantined = _quarantined(con, held, 50) if held else {}
        self.removed = _removed_examples(con, run_id, per_domain=True)


def _source_page(domain: str, trends: Trends, details: SourceDetails) -> str:
    runs = trends.by_domain[domain]
    article_rows = [[_link(t, u), _esc(p.strftime("%Y-%m-%d %H:%M") if p else "-"), w, "canonical" if c else "duplicate", _esc(r)]
                    for t, u, p, w, c, r in details.articles.get(domain, [])]
    drifted = [[_esc(r["run_started_at"].strftime("%Y-%m-%d %H:%M")), _esc(r["run_id"]), _esc(r["drift"])] for r in runs if r["drift"]]
    status = f"<p class='alert'>drifting: {_esc(runs[-1]['drift'])}</p>" if runs and runs[-1]["drift"] else "<p class='ok'>no drift in its latest run</p>"
    outcomes = {
        name: ([r["run_started_at"] for r in runs], [r[field] for r in runs])
        for name, field in (("articles", "articles"), ("duplicates", "duplicates"), ("quarantined", "quarantined"), ("unchanged", "unchanged"))
    }
    return _page(f"newsingest source {domain}", (
        f"<h1>Source {_esc(domain)}</h1>{status}"
        + "<div class='grid'>" + charts.over_time("source-outcomes", "Outcomes per run", outcomes, "documents", kind="bars") + "</div>"
        + trend_charts(trends, prefix="source", domains=[domain])
        + "<h2>Runs flagged as a probable layout change</h2>" + _table(["run started", "run", "why"], drifted)
        + "<h2>Latest articles</h2>" + _table(["title", "published", "words", "role", "run"], article_rows, numeric={2})
        + "<h2>Latest quarantined documents</h2>" + _table(["run", "input", "reason", "detail"], details.quarantined.get(domain, []))
        + "<h2>Removed segments (examples from its latest run)</h2>" + (details.removed.get(domain) or "<p class='muted'>none</p>")
    ), depth=1)


def _index_page(con, report_dir: Path, runs_shown: int = 500) -> str:
    runs = con.execute(
        """SELECT r.run_id, r.started_at, r.documents, r.articles, r.duplicates, r.quarantined, r.unchanged, r.validation_success, r.status,
                  (SELECT count(*) FROM source_health h WHERE h.run_id = r.run_id AND h.drift IS NOT NULL)
           FROM runs r ORDER BY r.started_at DESC LIMIT $n""", {"n": runs_shown}).fetchall()
    rows, flagged = [], []
    for run_id, started, docs, arts, dups, held, same, valid, status, drifting in runs:
        name = f"run-{_slug(run_id)}.html"
        link = f"<a href='{name}'>{_esc(run_id)}</a>" if (report_dir / name).exists() else _esc(run_id)
        rows.append([link, _esc(started.strftime("%Y-%m-%d %H:%M:%S")), docs, arts, dups, held, same,
                     "passed" if valid else "failed", _esc(status), drifting or ""])
        flagged.append(bool(drifting))
    return _page("newsingest runs", "<h1>Runs</h1>" + _table(
        ["run", "started", "documents", "articles", "duplicates", "quarantined", "unchanged", "validation", "status", "drifting sources"],
        rows, numeric={2, 3, 4, 5, 6, 9}, row_class=lambda n: "drift" if flagged[n] else ""))


def _verdict_changed(trends: Trends, row: dict) -> bool:
    earlier = [r for r in trends.by_domain[row["domain"]] if r["run_id"] != row["run_id"]]
    return bool(earlier) and bool(earlier[-1]["drift"]) != bool(row["drift"])


def _prune(report_dir: Path, keep: int) -> None:
    reports = sorted(report_dir.glob("run-*.html"), key=lambda p: p.stat().st_mtime)
    for old in reports[: max(0, len(reports) - keep)]:
        old.unlink(missing_ok=True)


def write_run_report(run_id: str, settings: Settings, docs_index: str | None = None) -> dict:
    report_dir = Path(settings.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    charts.install_plotly(report_dir)
    with read_connection(settings.db_path, settings.lock_retry_seconds) as con:
        if con is None:
            raise FileNotFoundError(f"no database at {settings.db_path}")
        summary = _summary(con, run_id, settings)
        trends = Trends(con, settings.report_trend_runs)
        # A stream lands a run every few seconds: a source's page is written again when it is older
        # than report_source_refresh_seconds, or when the source's verdict changed in this run.
        # A backfill from a thousand sites writes the pages of report_max_source_pages of them
        # (drifting and changed verdicts first, then the largest); the rest follow in later runs.
        now = time.time()
        urgent, rest = [], []
        for row in trends.rows:
            if row["run_id"] != run_id:
                continue
            page = report_dir / "sources" / f"{_slug(row['domain'])}.html"
            age = now - page.stat().st_mtime if page.exists() else None
            if row["drift"] or _verdict_changed(trends, row):
                urgent.append(row["domain"])
            elif age is None or age >= settings.report_source_refresh_seconds:
                rest.append((-row["documents"], row["domain"]))
        due = (urgent + [domain for _, domain in sorted(rest)])[: max(settings.report_max_source_pages, len(urgent))]
        if due:
            details = SourceDetails(con, run_id, due, trends)
            for domain in due:
                _write(report_dir / "sources" / f"{_slug(domain)}.html", _source_page(domain, trends, details))
        page = _run_page(con, run_id, summary, trends, settings, docs_index)
        target = report_dir / f"run-{_slug(run_id)}.html"
        _write(target, page)
        _write(report_dir / "latest.html", page)
        _prune(report_dir, settings.report_keep_runs)
        _write(report_dir / "index.html", _index_page(con, report_dir))
        drifting = {r["domain"]: r["drift"] for r in trends.rows if r["run_id"] == run_id and r["drift"]}
    return {**summary, "report": str(target), "drifting": drifting}
