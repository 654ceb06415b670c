"""The fetcher's state in its own DuckDB file (``schemas/fetch``; operational state, not corpus,
so not in the lake): last response per canonical URL (for conditional GET and revisit decisions),
the frontier of each batch (for resuming a killed fetch) and the batches themselves.

The fetcher never holds a connection while it waits on the network: each call below opens the
file, runs one short transaction and closes it, retrying while another process holds the lock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pipeline import __version__
from pipeline.model import sha256_hex
from pipeline.store.db import FETCH_SCHEMA_DIR, connect_file

STATE_COLUMNS = (
    "url", "final_url", "kind", "status", "http_status", "etag", "last_modified", "raw_id", "raw_path", "content_type",
    "encoding", "declared_charset", "reason", "detail", "fetched_at", "checked_at", "fetch_run_id", "requests",
)


def _now() -> datetime:
    return datetime.now(UTC)


class FetchStore:
    def __init__(self, db_path: str | Path, retry_seconds: float = 60.0):
        self.db_path = Path(db_path)
        self.retry_seconds = retry_seconds

    def _connect(self):
        return connect_file(self.db_path, FETCH_SCHEMA_DIR, self.retry_seconds)

    # ------------------------------------------------------------------ batches and frontier

    def open_batch(self, signature: str, sources: str, batch_id: str) -> tuple[str, str]:
        """The unfinished batch for these sources (a resumed fetch), else a new one: (batch_id, status)."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT batch_id, status FROM fetch_batches WHERE signature = ? AND status <> 'closed' ORDER BY started_at LIMIT 1", [signature]
            ).fetchall()
            if rows:
                return rows[0][0], rows[0][1]
            con.execute(
                "INSERT INTO fetch_batches (batch_id, signature, sources, status, started_at) VALUES (?, ?, ?, 'discovering', ?)",
                [batch_id, signature, sources, _now()],
            )
            return batch_id, "discovering"

    def enqueue(self, batch_id: str, items: list[tuple[str, str, dict]]) -> int:
        """Add (url, source, declared) to the frontier once each; returns how many were new.

        One bulk INSERT from an Arrow table in one short transaction: 50,000 URLs hold the write
        lock for well under a second (row by row it was minutes, long enough to fail the land task)."""
        if not items:
            return 0
        import pyarrow as pa

        first: dict[str, tuple[str, str]] = {}
        for url, source, declared in items:
            if url not in first:
                first[url] = (source, json.dumps(declared, ensure_ascii=False, default=str))
        table = pa.table({
            "url": list(first), "ord": pa.array(range(len(first)), pa.int64()),
            "source": [v[0] for v in first.values()], "declared": [v[1] for v in first.values()],
        })
        with self._connect() as con:
            con.register("new_frontier", table)
            con.execute("BEGIN TRANSACTION")
            try:
                start = con.execute("SELECT coalesce(max(position), -1) + 1 FROM fetch_frontier WHERE batch_id = ?", [batch_id]).fetchall()[0][0]
                added = con.execute(
                    """INSERT INTO fetch_frontier (batch_id, url, position, source, declared)
                       SELECT ?, url, ? + ord, source, declared FROM new_frontier ORDER BY ord
                       ON CONFLICT DO NOTHING RETURNING url""",
                    [batch_id, start],
                ).fetchall()
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            finally:
                con.unregister("new_frontier")
        return len(added)

    def carry_over(self, batch_id: str, signature: str) -> int:
        """Enqueue what earlier batches of the same sources deferred and never fetched since."""
        with self._connect() as con:
            start = con.execute("SELECT coalesce(max(position), -1) + 1 FROM fetch_frontier WHERE batch_id = ?", [batch_id]).fetchall()[0][0]
            rows = con.execute(
                """
                INSERT INTO fetch_frontier (batch_id, url, position, source, declared)
                SELECT ?, f.url, ? + row_number() OVER (ORDER BY min(f.position)) - 1, any_value(f.source), any_value(f.declared)
                FROM fetch_frontier f JOIN fetch_batches b USING (batch_id)
                WHERE b.signature = ? AND f.batch_id <> ? AND f.outcome = 'deferred'
                  AND NOT EXISTS (SELECT 1 FROM fetch_state s WHERE s.url = f.url)
                GROUP BY f.url
                ON CONFLICT DO NOTHING
                RETURNING url
                """,
                [batch_id, start, signature, batch_id],
            ).fetchall()
        return len(rows)

    def absorb_stale_batches(self, batch_id: str) -> int:
        """Close every other unfinished batch (left by a killed fetch whose source list has changed
        since) and move the pages it fetched into ``batch_id``, so they reach its manifest instead of
        no manifest at all; its pending URLs are deferred. Returns how many pages moved."""
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                stale = [r[0] for r in con.execute(
                    "SELECT batch_id FROM fetch_batches WHERE status <> 'closed' AND batch_id <> ?", [batch_id]
                ).fetchall()]
                moved = []
                if stale:
                    marks = ", ".join("?" for _ in stale)
                    start = con.execute("SELECT coalesce(max(position), -1) + 1 FROM fetch_frontier WHERE batch_id = ?", [batch_id]).fetchall()[0][0]
                    moved = con.execute(
                        f"""
                        INSERT INTO fetch_frontier (batch_id, url, position, source, declared, outcome, reason, raw_id, done_at)
                        SELECT ?, url, ? + row_number() OVER (ORDER BY min(position)) - 1, any_value(source), any_value(declared),
                               'fetched', NULL, arg_max(raw_id, done_at), max(done_at)
                        FROM fetch_frontier WHERE batch_id IN ({marks}) AND outcome = 'fetched'
                        GROUP BY url
                        ON CONFLICT DO UPDATE SET outcome = 'fetched', reason = NULL, raw_id = excluded.raw_id, done_at = excluded.done_at
                        WHERE fetch_frontier.outcome IS NULL OR fetch_frontier.outcome IN ('unchanged', 'not_modified', 'fresh')
                        RETURNING url
                        """,
                        [batch_id, start, *stale],
                    ).fetchall()
                    con.execute(f"UPDATE fetch_frontier SET outcome = 'deferred', done_at = ? WHERE batch_id IN ({marks}) AND outcome IS NULL", [_now(), *stale])
                    con.execute(
                        f"UPDATE fetch_batches SET status = 'closed', finished_at = ?, documents = 0 WHERE batch_id IN ({marks})", [_now(), *stale]
                    )
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        return len(moved)

    def set_batch_status(self, batch_id: str, status: str) -> None:
        with self._connect() as con:
            con.execute("UPDATE fetch_batches SET status = ? WHERE batch_id = ?", [status, batch_id])

    def pending(self, batch_id: str) -> list[tuple[str, str, dict]]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT url, source, declared FROM fetch_frontier WHERE batch_id = ? AND outcome IS NULL ORDER BY position", [batch_id]
            ).fetchall()
        return [(url, source, json.loads(declared or "{}")) for url, source, declared in rows]

    def defer_pending(self, batch_id: str) -> int:
        with self._connect() as con:
            rows = con.execute(
                "UPDATE fetch_frontier SET outcome = 'deferred', done_at = ? WHERE batch_id = ? AND outcome IS NULL RETURNING url", [_now(), batch_id]
            ).fetchall()
        return len(rows)

    def batch_documents(self, batch_id: str) -> list[dict]:
        """Manifest entries: the new bodies this batch received, one per raw object."""
        with self._connect() as con:
            rows = con.execute(
                """
                SELECT f.raw_id, s.final_url, s.content_type, s.encoding, s.declared_charset, s.fetched_at, f.declared, f.source, f.url
                FROM fetch_frontier f JOIN fetch_state s USING (url)
                WHERE f.batch_id = ? AND f.outcome = 'fetched'
                ORDER BY f.position
                """,
                [batch_id],
            ).fetchall()
        entries, seen = [], set()
        for raw_id, final_url, content_type, encoding, declared_charset, fetched_at, declared, source, url in rows:
            if raw_id in seen:
                continue
            seen.add(raw_id)
            entries.append({
                "raw_id": raw_id, "url": final_url or url, "requested_url": url, "content_type": content_type, "encoding": encoding,
                "declared_charset": declared_charset, "fetched_at": fetched_at.astimezone(UTC).isoformat(), "source": source,
                "declared": json.loads(declared or "{}"),
            })
        return entries

    def outcomes(self, batch_id: str) -> dict[str, int]:
        with self._connect() as con:
            rows = con.execute("SELECT coalesce(outcome, 'pending'), count(*) FROM fetch_frontier WHERE batch_id = ? GROUP BY ALL", [batch_id]).fetchall()
        return dict(rows)

    def close_batch(self, batch_id: str, manifest: str, documents: int) -> None:
        with self._connect() as con:
            con.execute(
                "UPDATE fetch_batches SET status = 'closed', finished_at = ?, manifest = ?, documents = ? WHERE batch_id = ?",
                [_now(), manifest, documents, batch_id],
            )

    # ------------------------------------------------------------------ per-URL state

    def state(self, url: str) -> dict | None:
        return self.states([url]).get(url)

    def states(self, urls: list[str]) -> dict[str, dict]:
        """Last known state of each URL (those never requested are absent), in one query."""
        if not urls:
            return {}
        import pyarrow as pa

        with self._connect() as con:
            con.register("wanted_urls", pa.table({"url": list(dict.fromkeys(urls))}))
            rows = con.execute(
                f"SELECT {', '.join('s.' + c for c in STATE_COLUMNS)}, epoch(now()) - epoch(s.checked_at) AS age "
                "FROM fetch_state s JOIN wanted_urls USING (url)"
            ).fetchall()
        return {row[0]: dict(zip(STATE_COLUMNS + ("age",), row)) for row in rows}

    def record(
        self,
        url: str,
        *,
        kind: str,
        run_id: str,
        status: str,
        requests: int,
        batch_id: str | None = None,
        outcome: str | None = None,
        response=None,
        raw_id: str | None = None,
        raw_path: str | None = None,
        error=None,
        quarantine: bool = True,
    ) -> None:
        """One URL's result, its frontier row and (for a failure) its quarantine row, in one transaction."""
        now = _now()
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                if response is not None and response.not_modified:
                    con.execute(
                        """UPDATE fetch_state SET status = 'not_modified', http_status = 304, checked_at = ?, fetch_run_id = ?,
                           etag = coalesce(?, etag), last_modified = coalesce(?, last_modified), reason = NULL, detail = NULL,
                           requests = requests + ? WHERE url = ?""",
                        [now, run_id, response.etag, response.last_modified, requests, url],
                    )
                else:
                    values = {
                        "url": url, "final_url": response.final_url if response else None, "kind": kind, "status": status,
                        "http_status": response.status if response else (error.http_status if error else None),
                        "etag": response.etag if response else None, "last_modified": response.last_modified if response else None,
                        "raw_id": raw_id, "raw_path": raw_path, "content_type": response.media_type if response else None,
                        "encoding": response.encoding if response else None, "declared_charset": response.header_charset if response else None,
                        "reason": error.reason if error else None, "detail": error.detail[:2000] if error else None,
                        "fetched_at": now if response else None, "checked_at": now, "fetch_run_id": run_id, "requests": requests,
                    }
                    names = ", ".join(STATE_COLUMNS)
                    marks = ", ".join("?" for _ in STATE_COLUMNS)
                    updates = {c: f"excluded.{c}" for c in STATE_COLUMNS[1:]}
                    updates["requests"] = "fetch_state.requests + excluded.requests"
                    if response is None:  # a failure keeps the last good body and validators
                        updates.update({c: f"fetch_state.{c}" for c in ("raw_id", "raw_path", "etag", "last_modified", "fetched_at", "content_type", "encoding")})
                    assignments = ", ".join(f"{c} = {e}" for c, e in updates.items())
                    con.execute(
                        f"INSERT INTO fetch_state ({names}) VALUES ({marks}) ON CONFLICT (url) DO UPDATE SET {assignments}",
                        [values[c] for c in STATE_COLUMNS],
                    )
                if error is not None and quarantine:
                    con.execute(
                        """INSERT INTO quarantine (raw_id, uri, stage, reason, detail, run_id, pipeline_version, quarantined_at)
                           VALUES (?, ?, 'fetch', ?, ?, ?, ?, ?)
                           ON CONFLICT (raw_id, uri, stage, reason) DO UPDATE SET detail = excluded.detail, run_id = excluded.run_id,
                           pipeline_version = excluded.pipeline_version, quarantined_at = excluded.quarantined_at""",
                        [sha256_hex(url.encode("utf-8")), url, error.reason, error.detail[:2000], run_id, __version__, now],
                    )
                if batch_id is not None and outcome is not None:
                    con.execute(
                        "UPDATE fetch_frontier SET outcome = ?, reason = ?, raw_id = ?, done_at = ? WHERE batch_id = ? AND url = ?",
                        [outcome, error.reason if error else None, raw_id, now, batch_id, url],
                    )
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise

    def finish(self, batch_id: str, url: str, outcome: str, raw_id: str | None = None) -> None:
        """Settle a frontier row without a request (already fresh in the store)."""
        with self._connect() as con:
            con.execute("UPDATE fetch_frontier SET outcome = ?, raw_id = ?, done_at = ? WHERE batch_id = ? AND url = ?", [outcome, raw_id, _now(), batch_id, url])
