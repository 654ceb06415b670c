"""news_ingest: inbox and fetch queue -> clean -> dedup -> validate -> land -> report.

What a run ingests:
- triggered with the param ``input`` (a file, a directory or a fetch manifest): that input;
- otherwise (the inbox watcher fired, news_fetch announced a batch, the periodic sweep, a manual
  trigger without ``input``): everything pending in the durable queue, claimed atomically for this
  run (``pipeline.inbox.queue``): files renamed into ``<home>/inbox/<domain>/`` and the fetch
  batches news_fetch enqueued. Events carry no data, so events that Airflow collapses into one run
  never strand input; a run that finds nothing pending is skipped.

A batch of at most ``micro_batch_max_docs`` documents is finished inside the ``ingest`` task (one
process, one set of imports); a larger one is handed to the mapped ``clean`` tasks, a shard each.
The land commit is the moment the batch becomes visible to every reader (a DuckLake snapshot) and
the moment its queue claim is settled; the claimed files then move to the processed area.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable, Param, dag, task

from pipeline.inbox.trigger import InboxTrigger
from pipeline.settings import load_settings

_SETTINGS = load_settings()
RAW_STORE = Asset(name="newsingest_raw_store", uri="newsingest://raw-store")  # updated by news_fetch
INBOX = Asset(
    name="newsingest_inbox",
    uri="newsingest://inbox",
    watchers=[AssetWatcher(name="newsingest_inbox_watcher", trigger=InboxTrigger(directory=str(_SETTINGS.inbox_dir.resolve()), settle_seconds=_SETTINGS.inbox_settle_seconds))],
)
# The sweep: input that arrived while the triggerer was down, or a claim left by a crashed run.
SWEEP = CronTriggerTimetable(os.environ.get("NEWSINGEST_SWEEP_CRON", "*/5 * * * *"), timezone="UTC")


def _settings():
    return load_settings()


def _check_sources(run_id: str, summary: dict, settings) -> None:
    """Drifting sources fail the run when ``health_action`` is 'fail', without retries: the batch
    has landed, a retry would find the same sources."""
    from airflow.sdk.exceptions import AirflowFailException

    from pipeline.monitor.health import SourceDriftError, enforce

    try:
        enforce(run_id, summary.get("drifting") or {}, settings)
    except SourceDriftError as exc:
        raise AirflowFailException(str(exc)) from exc


@dag(
    dag_id="news_ingest",
    schedule=AssetOrTimeSchedule(timetable=SWEEP, assets=(INBOX | RAW_STORE)),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # dedup reads the history the previous run landed; claims of another run are adopted only when it has ended
    tags=["news", "ingest", "duckdb"],
    params={
        "input": Param(os.environ.get("NEWSINGEST_INPUT", ""), type="string", description="a file, a directory or a fetch manifest; empty: everything pending in the inbox and the fetch queue"),
    },
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10), "retry_exponential_backoff": True},
    doc_md=__doc__,
)
def news_ingest():
    @task
    def ingest(params=None, run_id=None) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from pipeline import staging
        from pipeline.inbox.queue import assert_owned, settle
        from pipeline.stages import claim_queue, landed_runs, stage_load, stage_report, stage_rest

        settings = _settings()
        queued = not params["input"]
        if queued:
            # A retry after this run's land commit: its claim holds exactly what landed, so only the
            # bookkeeping is left; claiming now would settle new files without ingesting them.
            if landed_runs(settings)(run_id):
                settle(settings, run_id)
                summary = stage_report(run_id, settings)
                _check_sources(run_id, summary, settings)
                return {"micro": summary, "queued": True}
            claim = claim_queue(run_id, settings)
            print(f"queue claim: {claim.summary()}")
            if claim.empty:
                raise AirflowSkipException("nothing pending in the inbox or the fetch queue")
            inputs, uri_roots = claim.inputs, claim.uri_roots
        else:
            inputs, uri_roots = [params["input"]], None
        loaded = stage_load(inputs, run_id, settings, uri_roots)
        loaded["queued"] = queued
        if loaded["to_clean"] <= settings.micro_batch_max_docs:
            if queued:
                assert_owned(settings, run_id)
            loaded["micro"] = stage_rest(loaded, run_id, settings)
            if queued:
                settle(settings, run_id)
            staging.remove_run(settings.staging_url, run_id)
            _check_sources(run_id, loaded["micro"], settings)
        return loaded

    # Skips every downstream task at once when ingest finished the batch or found nothing pending;
    # a branch would skip them one level per scheduler loop, about a second each.
    @task.short_circuit(trigger_rule="none_failed")
    def route(loaded: dict | None) -> bool:
        return bool(loaded) and not loaded.get("micro")

    @task
    def shards(loaded: dict) -> list[dict]:
        return [{"shard": shard, "boilerplate": loaded["boilerplate"]} for shard in loaded["shards"]]

    @task(max_active_tis_per_dagrun=4)
    def clean(shard: str, boilerplate: str) -> dict:
        from pipeline.stages import stage_clean

        return stage_clean(shard, boilerplate, _settings())

    @task
    def dedup(cleaned, run_id=None) -> dict:
        from pipeline.stages import stage_dedup

        return stage_dedup(list(cleaned), run_id, _settings())

    @task
    def validate(deduped: dict, cleaned, run_id=None) -> dict:
        from pipeline.stages import stage_validate

        return stage_validate(deduped, list(cleaned), run_id, _settings())

    @task
    def land(loaded: dict, cleaned, deduped: dict, validated: dict, run_id=None) -> dict:
        from pipeline.inbox.queue import assert_owned, settle
        from pipeline.stages import stage_land

        settings = _settings()
        if loaded["queued"]:
            assert_owned(settings, run_id)
        landed = stage_land(loaded, list(cleaned), deduped, validated, run_id, settings)
        if loaded["queued"]:
            settle(settings, run_id)
        return landed

    @task
    def report(landed: dict, validated: dict, run_id=None) -> dict:
        from pipeline.stages import stage_report
        from pipeline.staging import remove_run

        settings = _settings()
        summary = stage_report(run_id, settings, validated)
        remove_run(settings.staging_url, run_id)
        _check_sources(run_id, summary, settings)
        return summary

    loaded = ingest()
    batches = shards(loaded)
    route(loaded) >> batches
    cleaned = clean.expand_kwargs(batches)
    deduped = dedup(cleaned)
    validated = validate(deduped, cleaned)
    landed = land(loaded, cleaned, deduped, validated)
    report(landed, validated)


news_ingest()
