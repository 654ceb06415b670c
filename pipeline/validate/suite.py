"""Validate a batch of cleaned articles with Great Expectations (1.x) before landing.

The expectations live as data in ``schemas/expectations/articles.json`` (a GX 1.x
ExpectationSuite JSON).  Every expectation says in its ``meta`` how a failure is handled:

* ``"level": "row"`` -- each failing row is reported as a :class:`RowFailure` (positional
  index into the DataFrame given) so the caller can quarantine it;
* ``"level": "batch"`` with ``"on_failure": "fail"`` -- the batch fails (``success`` False);
* ``"level": "batch"`` with ``"on_failure": "warn"`` -- a warning string, the batch passes.

Great Expectations is imported lazily (inside the functions), with analytics disabled and
an ephemeral, in-memory Data Context: nothing is written anywhere except ``docs_dir``
when Data Docs are asked for. There the validation results are kept (``validation_results/``,
the last ``docs_keep``) so the site's index lists every run, and the pages load their scripts and
styles from the site itself (see ``docs_site``), so that they work offline.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "DEFAULT_SUITE_PATH",
    "RowFailure",
    "ValidationReport",
    "load_suite",
    "merge_reports",
    "validate_articles",
]

DEFAULT_SUITE_PATH = (
    Path(__file__).resolve().parents[2] / "schemas" / "expectations" / "articles.json"
)

MAX_PUBLISHED_AT_PARAMETER = "max_published_at"
OBSERVED_MAX_CHARS = 2000
_PARTIAL_VALUES = 20  # values kept in an observed_value summary of a map expectation
_VALUE_CHARS = 120  # a value quoted in a RowFailure.detail is cut to this length
_LEVELS = ("row", "batch")
_ON_FAILURE = ("warn", "fail")

HISTORY_STORE = "validation_history_store"  # the filesystem store of <docs_dir>/validation_results

# GX keeps an ambient "current project" (a module global) that get_context() replaces;
# validations from several threads must not interleave.
_GX_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class RowFailure:
    row_index: int  # positional index into the DataFrame given
    expectation: str  # e.g. "expect_column_values_to_be_between"
    column: str | None
    detail: str  # short: what was expected, what was found


@dataclass(frozen=True, slots=True)
class ValidationReport:
    suite: str
    success: bool  # all batch-level "fail" expectations passed
    warnings: list[str]  # batch-level "warn" expectations that failed
    row_failures: list[
        RowFailure
    ]  # a row may appear several times (several expectations)
    results: list[dict]  # one dict per expectation in the suite
    docs_index: str | None  # path of the Data Docs index.html built, or None
    rows: int = 0  # rows validated


# --------------------------------------------------------------------------- suite file


def load_suite(path: str | Path) -> dict:
    """Read the suite JSON and check the ``meta.level`` / ``meta.on_failure`` markers."""
    with open(path, encoding="utf-8") as fh:
        suite = json.load(fh)
    if not isinstance(suite, dict) or not suite.get("name"):
        raise ValueError(f"{path}: not an ExpectationSuite (no name)")
    expectations = suite.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise ValueError(f"{path}: suite {suite['name']!r} has no expectations")
    for number, exp in enumerate(expectations):
        meta = exp.get("meta") or {}
        level = meta.get("level")
        if not exp.get("type") or level not in _LEVELS:
            raise ValueError(
                f"{path}: expectation #{number} ({exp.get('type')}) needs meta.level in {_LEVELS}"
            )
        if level == "batch" and meta.get("on_failure") not in _ON_FAILURE:
            raise ValueError(
                f"{path}: batch expectation #{number} ({exp['type']}) needs meta.on_failure in {_ON_FAILURE}"
            )
    return suite


# --------------------------------------------------------------------------- GX plumbing


def _import_gx():
    # Must happen before great_expectations is first imported (no usage statistics, no network).
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    # GX logs some 200 INFO lines per import ("Skipping registering function ..."): noise in task logs.
    import logging

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    return gx


def _context(gx, docs_dir: Path | None):
    """An ephemeral (in-memory) context; its only filesystem store is the optional docs site."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from pipeline.validate.docs_site import RESULTS_DIR

    defaults = InMemoryStoreBackendDefaults(
        init_temp_docs_sites=False
    )  # no temp docs site
    if docs_dir is not None:
        # Runs validate into the in-memory store; validate_articles copies each result here, where
        # the site's pages and index are built from (an ephemeral context forgets earlier runs).
        defaults.stores[HISTORY_STORE] = {
            "class_name": "ValidationResultsStore",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir / RESULTS_DIR),
            },
        }
        defaults.data_docs_sites = {
            "local_site": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "site_section_builders": {
                    # every run name (GX's default hides names containing "profiling")
                    "validations": {"source_store_name": HISTORY_STORE, "run_name_filter": {"matches_regex": "^"}},
                    "profiling": "None",
                },
            }
        }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def _safe_run_name(run_id: str) -> str:
    # The run name becomes a folder of the docs site: keep it a single, harmless path segment.
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(run_id)).strip("._") or "run"
    return name[:100]


def _prepare_frame(df: pandas.DataFrame) -> pandas.DataFrame:
    """A RangeIndex (unnamed) view of ``df``: GX then reports index labels == positions."""
    import pandas as pd

    frame = df.reset_index(drop=True)  # copy-on-write: no data copied
    column = frame.get("published_at")
    if column is None:
        return frame  # the columns check fails the batch
    if column.dtype == object:  # Python datetimes / None instead of datetime64
        try:
            column = pd.to_datetime(column, utc=True)
            frame["published_at"] = column
        except (TypeError, ValueError):
            # Left as is: the between check then reports it could not be evaluated.
            return frame
    # Naive datetimes are taken as UTC so that they compare with the UTC bounds.
    if (
        pd.api.types.is_datetime64_dtype(column.dtype)
        and getattr(column.dtype, "tz", None) is None
    ):
        frame["published_at"] = column.dt.tz_localize("UTC")
    return frame


# --------------------------------------------------------------------------- formatting


def _jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-safe, size-bounded copy of a GX result value (NaN/NaT -> null, times -> ISO)."""
    if _is_missing(value):
        return None
    if isinstance(value, (bool, int, str)):
        return value[: _VALUE_CHARS * 4] if isinstance(value, str) else value
    if isinstance(value, float):
        return None if math.isinf(value) else value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if depth > 4:
        return str(value)[:_VALUE_CHARS]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in list(value.items())[:50]}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v, depth + 1) for v in list(value)[:50]]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return _jsonable(item(), depth + 1)
        except (TypeError, ValueError):
            pass
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        return _jsonable(tolist(), depth + 1)
    return str(value)[:_VALUE_CHARS]


def _json_text(value: Any) -> str:
    text = json.dumps(_jsonable(value), ensure_ascii=False, separators=(",", ":"))
    if len(text) > OBSERVED_MAX_CHARS:
        text = text[: OBSERVED_MAX_CHARS - 1] + "…"
    return text


def _exception_message(info: Any) -> str | None:
    """The error of an expectation that could not run, or None.

    GX 1.x reports it either flat ({"raised_exception": ..., "exception_message": ...}) or
    keyed by metric configuration id ({"MetricConfigurationID(...)": {...}, ...}).
    """
    if not isinstance(info, dict) or not info:
        return None
    entries = (
        [info]
        if "raised_exception" in info
        else [v for v in info.values() if isinstance(v, dict)]
    )
    messages = [
        str(entry.get("exception_message") or "exception")
        for entry in entries
        if entry.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) if messages else None


def _observed(result: dict, exception: str | None) -> str | None:
    if exception:
        return _json_text({"exception": exception[:500]})
    if "observed_value" in result:
        return _json_text(result["observed_value"])
    if "unexpected_count" in result:  # map expectation: a compact summary instead
        summary = {
            "element_count": result.get("element_count"),
            "unexpected_count": result.get("unexpected_count"),
            "unexpected_percent": result.get("unexpected_percent"),
            "missing_count": result.get("missing_count"),
            "partial_unexpected_list": list(
                result.get("partial_unexpected_list") or []
            )[:_PARTIAL_VALUES],
        }
        return _json_text({k: v for k, v in summary.items() if v is not None})
    return None


def _show(value: Any) -> str:
    """A cell value for a detail message."""
    if _is_missing(value):
        return "null"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        text = value if len(value) <= _VALUE_CHARS else value[: _VALUE_CHARS - 1] + "…"
        return repr(text)
    text = str(value)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


def _plain(value: Any) -> str:
    """A bound or a compared value, unquoted (datetimes as ISO-8601)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _show(value).strip("'") if isinstance(value, str) else _show(value)


def _detail_maker(expectation: str, kwargs: dict):
    """Return f(value) -> detail text for one failing cell of this expectation."""
    column = kwargs.get("column")
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
    rng = f"[{'-inf' if lo is None else _plain(lo)}, {'+inf' if hi is None else _plain(hi)}]"
    if expectation == "expect_column_values_to_not_be_null":
        return lambda v: f"{column} is null"
    if expectation == "expect_column_values_to_be_between":
        return lambda v: f"{column} {_plain(v)} outside {rng}"
    if expectation == "expect_column_value_lengths_to_be_between":
        return lambda v: (
            f"{column} length {len(v) if isinstance(v, str) else '?'} outside {rng}"
        )
    if expectation == "expect_column_values_to_match_regex":
        return lambda v: f"{column} {_show(v)} does not match {kwargs.get('regex')}"
    if expectation == "expect_column_values_to_be_in_set":
        size = len(kwargs.get("value_set") or [])
        return lambda v: f"{column} {_show(v)} not in the allowed set ({size} values)"
    if expectation == "expect_column_values_to_not_be_in_set":
        return lambda v: f"{column} {_show(v)} is in the forbidden set"
    if expectation == "expect_column_values_to_be_unique":
        return lambda v: f"{column} {_show(v)} is duplicated"
    return lambda v: f"{column} {_show(v)} failed {expectation}"


def _is_missing(value: Any) -> bool:
    """None, NaN, NaT, pd.NA (containers are never missing)."""
    if value is None:
        return True
    if isinstance(value, (list, tuple, dict, set, frozenset, str)):
        return False
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-likes
        return False


def _cell(series, position: int) -> Any:
    value = series.iloc[position]
    if _is_missing(value):
        return None
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime()
    return value


# --------------------------------------------------------------------------- validation


def validate_articles(
    df: pandas.DataFrame,
    *,
    suite_path: str | Path,
    run_id: str,
    now: datetime | None = None,
    docs_dir: str | Path | None = None,
    docs_keep: int | None = None,
) -> ValidationReport:
    """Validate one batch of cleaned articles against the suite at ``suite_path``.

    ``now`` (default: current UTC time) sets the suite parameter ``max_published_at`` to
    ``now + 1 day``.  With ``docs_dir``, GX Data Docs for this validation are built there and
    the path of its ``index.html`` is returned in the report; the site keeps the ``docs_keep``
    most recent validations (0: all; None: the ``data_docs_keep`` setting).
    """
    suite_dict = load_suite(suite_path)
    suite_name = str(suite_dict["name"])
    now_utc = _utc(now)
    parameters = {MAX_PUBLISHED_AT_PARAMETER: (now_utc + timedelta(days=1)).isoformat()}
    frame = _prepare_frame(df)
    docs_path = Path(docs_dir).resolve() if docs_dir is not None else None

    gx = _import_gx()
    from great_expectations.core.run_identifier import RunIdentifier

    with _GX_LOCK:
        context = _context(gx, docs_path)
        asset = context.data_sources.add_pandas("articles_source").add_dataframe_asset(
            "articles"
        )
        batch_definition = asset.add_batch_definition_whole_dataframe("batch")
        suite = gx.ExpectationSuite(
            name=suite_name,
            expectations=suite_dict["expectations"],
            meta=dict(suite_dict.get("meta") or {}),
            notes=suite_dict.get("notes"),
        )
        if len(suite.expectations) != len(suite_dict["expectations"]):
            # ExpectationSuite() logs and drops expectations it cannot build; do not validate less.
            raise ValueError(
                f"{suite_path}: GX accepted {len(suite.expectations)} of "
                f"{len(suite_dict['expectations'])} expectations (see the GX log for the invalid ones)"
            )
        suite = context.suites.add(suite)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(
                name=f"{suite_name}_validation", data=batch_definition, suite=suite
            )
        )
        run = definition.run(
            batch_parameters={"dataframe": frame},
            expectation_parameters=parameters,
            result_format={
                "result_format": "COMPLETE",  # full unexpected_index_list for row-level checks
                "partial_unexpected_count": _PARTIAL_VALUES,
                "return_unexpected_index_query": False,
            },
            run_id=RunIdentifier(run_name=_safe_run_name(run_id), run_time=now_utc),
        )
        docs_index = None
        if docs_path is not None:
            if docs_keep is None:
                from pipeline.settings import load_settings

                docs_keep = load_settings().data_docs_keep
            docs_index = _build_docs(context, docs_path, run, docs_keep)

    return _report(suite_name, suite, run, frame, parameters, docs_index)


def _build_docs(context, site: Path, run, keep: int) -> str:
    """Keep this run's result in the site's store, drop those beyond ``keep``, build the pages of
    this run (and of any stored run without one) and the index, then make the site offline-ready."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    from pipeline.validate import docs_site

    [key] = context.validation_results_store.list_keys()  # the ephemeral store holds this run only
    # The page's "Data asset:" comes from batch_spec, where a dataframe asset leaves no name.
    run.meta["batch_spec"] = {**dict(run.meta.get("batch_spec") or {}), "data_asset_name": run.asset_name}
    history = context.stores[HISTORY_STORE]
    with docs_site.site_lock(site):
        history.set(key, run)
        stored = history.list_keys()
        dropped = docs_site.expired(stored, keep)
        for old in dropped:
            history.remove_key(old)  # its page goes when the index is built
        unbuilt = [k for k in stored if k not in dropped and not docs_site.page_path(site, k).is_file()]
        suite_key = ExpectationSuiteIdentifier(name=run.suite_name)
        context.build_data_docs(resource_identifiers=[suite_key, key, *unbuilt])
        written = [site / "index.html", site.joinpath("expectations", *suite_key.to_tuple()[:-1], f"{suite_key.to_tuple()[-1]}.html")]
        docs_site.finish(site, written + [docs_site.page_path(site, k) for k in {key, *unbuilt}])
    index = site / "index.html"
    if not index.is_file():
        raise RuntimeError(f"GX did not build Data Docs at {index}")
    return str(index)


def _report(suite_name, suite, run, frame, parameters, docs_index) -> ValidationReport:
    # Results in suite order (matched by expectation id; GX keeps the order, but do not rely on it).
    by_id = {r.expectation_config.id: r for r in run.results if r.expectation_config.id}
    ordered = []
    for position, exp in enumerate(suite.expectations):
        found = by_id.get(exp.id)
        if found is None and position < len(run.results):
            found = run.results[position]
        ordered.append(found)

    success = True
    warnings: list[str] = []
    row_failures: list[RowFailure] = []
    results: list[dict] = []
    for exp, res in zip(suite.expectations, ordered):
        config = exp.configuration
        meta = config.meta or {}
        level = meta.get("level", "batch")
        on_failure = meta.get("on_failure", "fail")
        kwargs = dict(config.kwargs)
        for key, value in list(
            kwargs.items()
        ):  # resolve $PARAMETER references for messages
            if isinstance(value, dict) and "$PARAMETER" in value:
                kwargs[key] = parameters.get(value["$PARAMETER"], value)
        column = kwargs.get("column")
        label = f"{config.type}({column})" if column else config.type

        if res is None:  # GX returned no result for it: treat as an error
            passed, result, exception = (
                False,
                {},
                "no result returned by Great Expectations",
            )
        else:
            result = dict(res.result or {})
            exception = _exception_message(res.exception_info)
            passed = bool(res.success) and exception is None

        unexpected = result.get("unexpected_count")
        results.append(
            {
                "suite": suite_name,
                "expectation": config.type,
                "column": column,
                "success": passed,
                "observed_value": _observed(result, exception),
                "unexpected_count": int(unexpected) if unexpected is not None else None,
                "level": level,
            }
        )
        if passed:
            continue
        if exception:
            # The check could not run (e.g. a missing column): never let that pass silently.
            success = False
            warnings.append(f"{label} could not be evaluated: {exception[:300]}")
            continue
        if level == "row":
            indices = result.get("unexpected_index_list") or []
            make_detail = _detail_maker(config.type, kwargs)
            series = frame[column] if column in frame.columns else None
            for index in indices:
                if isinstance(
                    index, dict
                ):  # only if a named index was used; not expected
                    continue
                position = int(index)
                value = _cell(series, position) if series is not None else None
                row_failures.append(
                    RowFailure(position, config.type, column, make_detail(value))
                )
            if not indices or (unexpected is not None and len(indices) < unexpected):
                # Rows we cannot name cannot be quarantined: fail the batch instead.
                success = False
                warnings.append(
                    f"{label} failed on {unexpected} rows but GX returned {len(indices)} row indices"
                )
        elif on_failure == "warn":
            warnings.append(f"{label} failed: observed {_observed(result, None)}")
        else:
            success = False

    row_failures.sort(key=lambda f: f.row_index)
    return ValidationReport(
        suite=suite_name,
        success=success,
        warnings=warnings,
        row_failures=row_failures,
        results=results,
        docs_index=docs_index,
        rows=len(frame),
    )


def merge_reports(reports: list[ValidationReport]) -> ValidationReport:
    """One report for a batch validated in chunks (``validate_articles`` per chunk, in order): an
    expectation succeeds when it held on every chunk, unexpected counts add up, the observed
    value is that of the first chunk it failed on (else the last chunk's), row failures are
    numbered over the whole batch and the Data Docs are the last chunk's."""
    if len(reports) == 1:
        return reports[0]
    if not reports:
        raise ValueError("no validation reports to merge")
    results = []
    for parts in zip(*(r.results for r in reports)):
        failing = next((p for p in parts if not p["success"]), None)
        counts = [p["unexpected_count"] for p in parts if p["unexpected_count"] is not None]
        results.append({
            **parts[-1],
            "success": failing is None,
            "observed_value": (failing or parts[-1])["observed_value"],
            "unexpected_count": sum(counts) if counts else None,
        })
    row_failures, offset = [], 0
    for report in reports:
        row_failures += [RowFailure(f.row_index + offset, f.expectation, f.column, f.detail) for f in report.row_failures]
        offset += report.rows
    return ValidationReport(
        suite=reports[0].suite,
        success=all(r.success for r in reports),
        warnings=list(dict.fromkeys(w for r in reports for w in r.warnings)),
        row_failures=row_failures,
        results=results,
        docs_index=reports[-1].docs_index,
        rows=offset,
    )
