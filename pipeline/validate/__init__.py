"""Validation stage: Great Expectations checks on cleaned articles before they are landed."""

from pipeline.validate.suite import (
    DEFAULT_SUITE_PATH,
    RowFailure,
    ValidationReport,
    load_suite,
    merge_reports,
    validate_articles,
)

__all__ = [
    "DEFAULT_SUITE_PATH",
    "RowFailure",
    "ValidationReport",
    "load_suite",
    "merge_reports",
    "validate_articles",
]
