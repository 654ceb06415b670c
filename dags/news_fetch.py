"""news_fetch: poll the configured feeds, sitemaps, URL lists and homepages into the raw store.

Thin wiring over ``pipeline.sources.web``. The fetch task writes raw bytes to the content-addressed
raw store and a manifest per batch; its writes (fetch state, frontier, fetch quarantine rows) go
to its own DuckDB file in millisecond transactions with lock retry, never to the corpus. When a batch brought new pages, ``announce``
enqueues its manifest in the ingest queue and updates the raw-store Asset, which triggers news_ingest
(the run claims every queued batch, so collapsed events strand nothing).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, dag, task

RAW_STORE = Asset(name="newsingest_raw_store", uri="newsingest://raw-store")


@dag(
    dag_id="news_fetch",
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # one crawler per raw store: politeness and the frontier assume it
    tags=["fetch", "news", "web"],
    params={
        "sources": Param(os.environ.get("NEWSINGEST_FETCH_SOURCES", ""), type="string", description="sources TOML file (default: the fetch_sources setting)"),
    },
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True},
    doc_md=__doc__,
)
def news_fetch():
    @task(execution_timeout=timedelta(minutes=60))
    def fetch(params=None, run_id=None) -> dict:
        from pipeline.settings import load_settings
        from pipeline.sources.web import load_sources, run_fetch

        settings = load_settings()
        sources_file = params["sources"] or settings.fetch_sources
        if not sources_file:  # deployed but not configured yet: nothing to do, not a failure every 15 minutes
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException("no sources configured: set the DAG param 'sources' or NEWSINGEST_FETCH_SOURCES")
        return run_fetch(settings, run_id, load_sources(sources_file))

    @task(outlets=[RAW_STORE])
    def announce(batch: dict, outlet_events=None) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        if not batch["documents"]:
            raise AirflowSkipException(f"batch {batch['batch_id']}: no new pages, nothing to ingest")
        from pipeline.inbox.queue import enqueue_manifest
        from pipeline.settings import load_settings

        # Queued before it is announced: the next news_ingest run claims it whatever events it sees.
        enqueue_manifest(load_settings(), batch["manifest"], batch["batch_id"])
        outlet_events[RAW_STORE].extra = {"manifest": batch["manifest"], "batch_id": batch["batch_id"], "documents": batch["documents"]}
        return {"manifest": batch["manifest"], "documents": batch["documents"]}

    announce(fetch())


news_fetch()
