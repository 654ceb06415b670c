"""Run report: an HTML page with charts of what came in, what was removed, what failed."""

from pipeline.report.run_report import run_summary, write_run_report

__all__ = ["run_summary", "write_run_report"]
