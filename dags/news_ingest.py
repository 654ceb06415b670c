"""news_ingest: files -> clean -> dedup -> validate -> land -> report.

Runs on demand with the param ``input`` (a file, a directory or a fetch manifest), and whenever
news_fetch updates the raw-store Asset: such a run ingests the manifests named in the triggering
asset events, and is skipped when they name none (an event created by hand in the UI or API).

Thin wiring over ``pipeline.stages``: each task body is a call into the library. Data moves
between tasks as Parquet files in a run-scoped staging area; XCom carries paths and counts.
The land task's commit is the moment the batch becomes visible to every reader of the corpus
(a DuckLake snapshot): nothing is copied or exported after it.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import Asset, Param, dag, task

SAMPLE_CORPUS = Path(__file__).resolve().parents[1] / "pipeline" / "sample_corpus"
RAW_STORE = Asset(name="newsingest_raw_store", uri="newsingest://raw-store")  # updated by news_fetch


def _settings():
    from pipeline.settings import load_settings

    return load_settings()


@dag(
    dag_id="news_ingest",
    schedule=[RAW_STORE],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # dedup reads the history the previous run landed
    tags=["news", "ingest", "duckdb"],
    params={
        "input": Param(os.environ.get("NEWSINGEST_INPUT", str(SAMPLE_CORPUS)), type="string", description="a file or a directory of articles"),
    },
    default_args={"retries": 2, "retry_delay": timedelta(seconds=20), "retry_exponential_backoff": True},
    doc_md=__doc__,
)
def news_ingest():
    @task
    def load(params=None, run_id=None, triggering_asset_events=None) -> dict:
        from pipeline.sources.web.rawstore import inputs_for_run
        from pipeline.stages import stage_load

        inputs = inputs_for_run(triggering_asset_events, params["input"])
        if not inputs:  # asset events without a manifest (made by hand): nothing to ingest, and never the sample corpus
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException("the triggering asset events name no fetch manifest")
        return stage_load(inputs, run_id, _settings())

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
        from pipeline.stages import stage_land

        return stage_land(loaded, list(cleaned), deduped, validated, run_id, _settings())

    @task
    def report(landed: dict, validated: dict, run_id=None) -> dict:
        from pipeline.stages import stage_report
        from pipeline.staging import remove_run

        settings = _settings()
        summary = stage_report(run_id, settings, validated)
        remove_run(settings.staging_url, run_id)
        return summary

    loaded = load()
    cleaned = clean.expand_kwargs(shards(loaded))
    deduped = dedup(cleaned)
    validated = validate(deduped, cleaned)
    landed = land(loaded, cleaned, deduped, validated)
    report(landed, validated)


news_ingest()
