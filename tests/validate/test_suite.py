"""Real Great Expectations runs of the articles suite (no mocks of GX)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from pipeline.validate import (
    RowFailure,
    ValidationReport,
    load_suite,
    validate_articles,
)

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "schemas" / "expectations" / "articles.json"
NOW = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
COLUMNS = [
    "article_id",
    "raw_id",
    "url",
    "domain",
    "title",
    "published_at",
    "authors",
    "wire_agency",
    "language",
    "tags",
    "summary",
    "body",
    "word_count",
    "content_hash",
]


def make_row(i: int, **overrides) -> dict:
    body = " ".join(f"word{j}" for j in range(60 + i))
    row = {
        "article_id": f"art-{i:05d}",
        "raw_id": hashlib.sha256(f"raw-{i}".encode()).hexdigest(),
        "url": f"https://news.example.com/{i}",
        "domain": "news.example.com",
        "title": f"Headline number {i}",
        "published_at": "2024-05-01T10:00:00+00:00",
        "authors": ["Jane Doe"],
        "wire_agency": None,
        "language": "en",
        "tags": ["politics"],
        "summary": None,
        "body": body,
        "word_count": len(body.split()),
        "content_hash": hashlib.sha256(body.encode()).hexdigest(),
    }
    row.update(overrides)
    return row


def make_frame(rows: list[dict], index=None) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["published_at"] = pd.to_datetime(df["published_at"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    df["word_count"] = df["word_count"].astype("int64")
    if index is not None:
        df.index = index
    return df


def run(df: pd.DataFrame, **kwargs) -> ValidationReport:
    kwargs.setdefault("now", NOW)
    return validate_articles(df, suite_path=SUITE, run_id="test-run", **kwargs)


def failures_for(report: ValidationReport, column: str) -> list[RowFailure]:
    return [f for f in report.row_failures if f.column == column]


# --------------------------------------------------------------------------- the suite file


def test_suite_file_marks_every_expectation():
    suite = load_suite(SUITE)
    assert suite["name"] == "articles"
    types = {(e["type"], e["kwargs"].get("column")) for e in suite["expectations"]}
    for needed in [
        ("expect_column_values_to_not_be_null", "article_id"),
        ("expect_column_values_to_match_regex", "raw_id"),
        ("expect_column_values_to_not_be_null", "body"),
        ("expect_column_values_to_be_between", "word_count"),
        ("expect_column_values_to_be_between", "published_at"),
        ("expect_column_values_to_be_in_set", "language"),
        ("expect_column_values_to_match_regex", "url"),
        ("expect_column_value_lengths_to_be_between", "title"),
        ("expect_table_columns_to_match_set", None),
        ("expect_column_values_to_be_unique", "article_id"),
        ("expect_table_row_count_to_be_between", None),
        ("expect_column_values_to_not_be_null", "title"),
    ]:
        assert needed in types
    for exp in suite["expectations"]:
        assert exp["meta"]["level"] in ("row", "batch")
        if exp["meta"]["level"] == "batch":
            assert exp["meta"]["on_failure"] in ("warn", "fail")
    published = next(
        e for e in suite["expectations"] if e["kwargs"].get("column") == "published_at"
    )
    assert published["kwargs"]["max_value"] == {"$PARAMETER": "max_published_at"}
    assert set(
        next(
            e
            for e in suite["expectations"]
            if e["type"] == "expect_table_columns_to_match_set"
        )["kwargs"]["column_set"]
    ) == set(COLUMNS)


def test_load_suite_rejects_unmarked_expectation(tmp_path):
    suite = json.loads(SUITE.read_text())
    del suite["expectations"][0]["meta"]["level"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(suite))
    with pytest.raises(ValueError, match="meta.level"):
        load_suite(bad)


# --------------------------------------------------------------------------- validation


def test_clean_batch_passes():
    report = run(make_frame([make_row(i) for i in range(20)]))
    assert report.suite == "articles"
    assert report.success is True
    assert report.row_failures == []
    assert report.warnings == []
    assert report.docs_index is None
    assert all(r["success"] for r in report.results)


def test_results_one_entry_per_expectation():
    suite = load_suite(SUITE)
    report = run(make_frame([make_row(i) for i in range(5)]))
    assert [(r["expectation"], r["column"], r["level"]) for r in report.results] == [
        (e["type"], e["kwargs"].get("column"), e["meta"]["level"])
        for e in suite["expectations"]
    ]
    for r in report.results:
        assert set(r) == {
            "suite",
            "expectation",
            "column",
            "success",
            "observed_value",
            "unexpected_count",
            "level",
        }
        assert r["suite"] == "articles"
        assert r["observed_value"] is None or len(r["observed_value"]) <= 2000
        if r["observed_value"] is not None:
            json.loads(r["observed_value"])
        assert r["unexpected_count"] is None or isinstance(r["unexpected_count"], int)


@pytest.mark.parametrize(
    "index",
    [
        None,
        [50, 10, 40, 0, 30, 20],  # shuffled integers: labels are not positions
        ["f", "e", "d", "c", "b", "a"],  # string labels
        pd.Index([5, 4, 3, 2, 1, 0], name="original_position"),  # a named index
    ],
    ids=["range", "shuffled", "strings", "named"],
)
def test_future_published_at_is_a_row_failure_at_its_position(index):
    rows = [make_row(i) for i in range(6)]
    rows[2]["published_at"] = "2031-05-01T10:00:00+00:00"
    report = run(make_frame(rows, index=index))

    assert report.success is True  # row-level: quarantine, not a batch failure
    assert report.row_failures == [
        RowFailure(
            row_index=2,
            expectation="expect_column_values_to_be_between",
            column="published_at",
            detail="published_at 2031-05-01T10:00:00+00:00 outside "
            "[1990-01-01T00:00:00+00:00, 2026-11-23T00:00:00+00:00]",
        )
    ]
    entry = next(r for r in report.results if r["column"] == "published_at")
    assert entry["success"] is False and entry["unexpected_count"] == 1


def test_max_published_at_follows_now():
    rows = [
        make_row(
            0, published_at=(NOW + timedelta(hours=20)).isoformat()
        ),  # within now + 1 day
        make_row(1, published_at=(NOW + timedelta(days=2)).isoformat()),
        make_row(2, published_at="1989-12-31T23:59:59+00:00"),
    ]
    report = run(make_frame(rows))
    assert [f.row_index for f in failures_for(report, "published_at")] == [1, 2]
    later = run(make_frame(rows), now=NOW + timedelta(days=5))
    assert [f.row_index for f in failures_for(later, "published_at")] == [2]


def test_bad_raw_id_is_reported():
    rows = [make_row(i) for i in range(4)]
    rows[1]["raw_id"] = "NOT-A-SHA256"
    rows[3]["raw_id"] = rows[3]["raw_id"].upper()  # hex, but uppercase
    report = run(make_frame(rows, index=[9, 7, 5, 3]))
    raw = failures_for(report, "raw_id")
    assert [(f.row_index, f.expectation) for f in raw] == [
        (1, "expect_column_values_to_match_regex"),
        (3, "expect_column_values_to_match_regex"),
    ]
    assert "NOT-A-SHA256" in raw[0].detail and "^[0-9a-f]{64}$" in raw[0].detail
    assert report.success is True


def test_nulls_allowed_where_optional():
    rows = [make_row(i) for i in range(10)]
    rows[0].update(published_at=None, language=None, url=None)
    rows[3].update(published_at=None)
    rows[5].update(language=None, url=None, title=None)
    df = make_frame(rows)
    assert df["published_at"].isna().sum() == 2
    report = run(df)
    assert report.row_failures == []
    assert report.success is True
    assert report.warnings == []


def test_other_row_checks():
    rows = [make_row(i) for i in range(8)]
    rows[0]["word_count"] = 3
    rows[1]["language"] = "english"
    rows[2]["url"] = "ftp://example.com/x"
    rows[3]["title"] = ""
    rows[4]["title"] = "x" * 501
    rows[5]["body"] = None
    rows[6]["article_id"] = None
    report = run(make_frame(rows, index=list(range(100, 92, -1))))
    got = {(f.row_index, f.expectation, f.column) for f in report.row_failures}
    assert got == {
        (0, "expect_column_values_to_be_between", "word_count"),
        (1, "expect_column_values_to_be_in_set", "language"),
        (2, "expect_column_values_to_match_regex", "url"),
        (3, "expect_column_value_lengths_to_be_between", "title"),
        (4, "expect_column_value_lengths_to_be_between", "title"),
        (5, "expect_column_values_to_not_be_null", "body"),
        (6, "expect_column_values_to_not_be_null", "article_id"),
    }
    details = {f.row_index: f.detail for f in report.row_failures}
    assert details[0] == "word_count 3 outside [5, 100000]"
    assert details[3] == "title length 0 outside [1, 500]"
    assert details[6] == "article_id is null"


def test_duplicate_article_id_fails_the_batch():
    rows = [make_row(i) for i in range(5)]
    rows[4]["article_id"] = rows[1]["article_id"]
    report = run(make_frame(rows))
    assert report.success is False
    assert report.row_failures == []  # uniqueness is a batch-level check
    unique = next(
        r
        for r in report.results
        if r["expectation"] == "expect_column_values_to_be_unique"
    )
    assert unique["success"] is False and unique["unexpected_count"] == 2
    assert unique["level"] == "batch"


def test_warn_level_checks_only_warn():
    rows = [
        make_row(i, title=None if i % 2 else f"t{i}") for i in range(10)
    ]  # 50% titles missing
    report = run(make_frame(rows))
    assert report.success is True
    assert len(report.warnings) == 1 and "title" in report.warnings[0]

    empty = run(make_frame([make_row(0)]).iloc[:0])
    assert empty.success is True
    assert any("expect_table_row_count_to_be_between" in w for w in empty.warnings)


def test_unexpected_columns_fail_the_batch():
    df = make_frame([make_row(i) for i in range(3)])
    extra = run(df.assign(extra=1))
    assert extra.success is False
    missing = run(df.drop(columns=["language"]))
    assert missing.success is False
    assert any("language" in w for w in missing.warnings)  # the row check could not run


def test_data_docs_written_only_to_docs_dir(tmp_path, monkeypatch, no_network):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    home_gx = Path.home() / ".great_expectations"
    home_gx_existed = home_gx.exists()

    rows = [make_row(i) for i in range(5)]
    rows[1]["published_at"] = "2031-05-01T10:00:00+00:00"
    report = run(make_frame(rows), docs_dir="docs")  # relative: inside cwd

    index = cwd / "docs" / "index.html"
    assert report.docs_index == str(index.resolve())
    assert index.is_file()
    assert "articles" in index.read_text(encoding="utf-8")
    pages = list((cwd / "docs" / "validations").rglob("*.html"))
    assert len(pages) == 1
    assert "published_at" in pages[0].read_text(encoding="utf-8")
    assert sorted(p.name for p in cwd.iterdir()) == ["docs"]  # no gx/ or anything else
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd"]
    assert home_gx.exists() == home_gx_existed


def test_no_docs_dir_writes_nothing(tmp_path, monkeypatch, no_network):
    monkeypatch.chdir(tmp_path)
    report = run(make_frame([make_row(i) for i in range(3)]))
    assert report.docs_index is None
    assert list(tmp_path.iterdir()) == []


def test_package_imports_without_great_expectations():
    code = (
        "import sys, pipeline.validate; assert 'great_expectations' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_thousand_rows_are_fast():
    run(make_frame([make_row(0)]))  # warm up (GX import)
    rows = [make_row(i % 50, article_id=f"a{i}") for i in range(1000)]
    rows[999]["published_at"] = "2031-05-01T10:00:00+00:00"
    df = make_frame(rows)
    started = time.perf_counter()
    report = run(df)
    elapsed = time.perf_counter() - started
    assert [f.row_index for f in report.row_failures] == [999]
    assert elapsed < 5.0, f"1,000 rows took {elapsed:.2f}s"


def test_a_batch_failure_keeps_its_message_and_failures_across_processes():
    """newsingest run validates in a process of its own: the error is pickled back to the run."""
    import pickle

    from pipeline.stages import BatchValidationError

    failed = [{"expectation": "expect_column_values_to_be_unique", "column": "article_id", "observed_value": "2 duplicated"}]
    error = pickle.loads(pickle.dumps(BatchValidationError("articles", failed)))
    assert isinstance(error, BatchValidationError) and error.failed == failed and error.suite == "articles"
    assert str(error) == "suite 'articles': batch expectations failed: expect_column_values_to_be_unique(article_id) observed 2 duplicated"
