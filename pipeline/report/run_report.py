"""The run report: counts per outcome, volume by source, removal reasons, duplicate clusters,
quarantine reasons and the trend across runs, as a self-contained HTML page (inline SVG charts)."""

from __future__ import annotations

import html
import os
from pathlib import Path

from pipeline.settings import Settings
from pipeline.store.db import read_connection

QUERIES = {
    "Outcomes of this run": "SELECT outcome, count(*) FROM run_ledger WHERE run_id = $run_id GROUP BY ALL ORDER BY 2 DESC",
    "Articles by source (this run)": "SELECT domain, count(*) FROM articles WHERE run_id = $run_id GROUP BY ALL ORDER BY 2 DESC, 1 LIMIT 20",
    "Removed segments by reason (this run)": "SELECT reason, count(*) FROM removed_segments WHERE run_id = $run_id GROUP BY ALL ORDER BY 2 DESC, 1",
    "Quarantine reasons (this run)": "SELECT q.stage || ': ' || q.reason, count(*) FROM run_ledger l JOIN quarantine q USING (raw_id, uri) WHERE l.run_id = $run_id AND l.outcome = 'quarantined' GROUP BY ALL ORDER BY 2 DESC, 1",
    "Largest duplicate clusters": "SELECT any_value(title) FILTER (WHERE is_canonical) || ' (' || count(*) || ')', count(*) FROM articles GROUP BY dup_cluster_id HAVING count(*) > 1 ORDER BY 2 DESC, 1 LIMIT 15",
    "Articles landed per run (trend)": "SELECT run_id, articles FROM runs ORDER BY started_at DESC LIMIT 20",
}


def run_summary(run_id: str, settings: Settings) -> dict:
    with read_connection(settings.db_path, settings.lock_retry_seconds) as con:
        if con is None:
            raise FileNotFoundError(f"no database at {settings.db_path}")
        outcomes = dict(con.execute(QUERIES["Outcomes of this run"], {"run_id": run_id}).fetchall())
        canonical = con.execute("SELECT count(*) FROM canonical_articles").fetchall()[0][0]
        total = con.execute("SELECT count(*) FROM articles").fetchall()[0][0]
    return {
        "run_id": run_id,
        **{k: outcomes.get(k, 0) for k in ("article", "duplicate", "quarantined", "unchanged")},
        "corpus_articles": total,
        "corpus_canonical": canonical,
        "db": str(settings.db_path),
    }


def _bars(rows: list[tuple[str, int]]) -> str:
    if not rows:
        return "<p class='empty'>nothing</p>"
    top = max(n for _, n in rows) or 1
    height = 22 * len(rows) + 4
    parts = [f"<svg role='img' width='760' height='{height}' xmlns='http://www.w3.org/2000/svg'>"]
    for i, (label, n) in enumerate(rows):
        width = max(2, int(440 * n / top))
        y = 22 * i + 2
        parts.append(
            f"<text x='0' y='{y + 14}' font-size='12'>{html.escape(str(label))[:60]}</text>"
            f"<rect x='300' y='{y}' width='{width}' height='18' fill='#3b6ea5'/>"
            f"<text x='{305 + width}' y='{y + 14}' font-size='12'>{n}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def write_run_report(run_id: str, settings: Settings, docs_index: str | None = None) -> dict:
    summary = run_summary(run_id, settings)
    sections = []
    with read_connection(settings.db_path, settings.lock_retry_seconds) as con:
        for heading, query in QUERIES.items():
            rows = con.execute(query, {"run_id": run_id} if "$run_id" in query else {}).fetchall()
            sections.append(f"<h2>{html.escape(heading)}</h2>{_bars(rows)}")
        failed = con.execute(
            "SELECT expectation, \"column\", unexpected_count FROM validation_results WHERE run_id = $run_id AND NOT success ORDER BY 1",
            {"run_id": run_id},
        ).fetchall()
    validation = "".join(f"<li>{html.escape(e)} on {html.escape(c or 'table')}: {n if n is not None else '-'} unexpected</li>" for e, c, n in failed) or "<li>all expectations met</li>"
    report_dir = Path(settings.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    target = report_dir / f"run-{''.join(ch if ch.isalnum() or ch in '-_.' else '_' for ch in run_id)}.html"
    docs_link = f"<p><a href='{html.escape(os.path.relpath(docs_index, report_dir))}'>Great Expectations Data Docs</a></p>" if docs_index else ""
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>newsingest run {html.escape(run_id)}</title>"
        "<style>body{font-family:sans-serif;max-width:800px;margin:2em auto;color:#222}h2{font-size:1.05em;margin-top:1.6em}"
        "table{border-collapse:collapse}td{padding:2px 10px}.empty{color:#888}</style></head><body>"
        f"<h1>Run {html.escape(run_id)}</h1><table>"
        + "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in summary.items())
        + f"</table>{docs_link}<h2>Failed expectations</h2><ul>{validation}</ul>"
        + "".join(sections)
        + "</body></html>"
    )
    partial = target.with_name(target.name + ".tmp")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, target)
    latest = report_dir / "latest.html"
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, latest)
    return {**summary, "report": str(target)}
