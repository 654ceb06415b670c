"""Exit codes of ``newsingest``: 0 done, 1 done with refused records, 2 usage or unreadable input,
3 the command failed (one line on standard error, no traceback)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import SAMPLE_CORPUS


def newsingest(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *map(str, args)], capture_output=True, text=True, timeout=300)


def test_run_on_a_missing_input_is_a_usage_error_and_runs_nothing(tmp_path):
    result = newsingest("run", "--input", tmp_path / "nope", "--home", tmp_path / "var", "--quiet")
    assert result.returncode == 2
    assert "no such input" in result.stderr
    assert not (tmp_path / "var" / "corpus.sqlite").exists()
    assert not (tmp_path / "var" / "corpus.files").exists()


def test_report_of_an_unknown_run_is_a_usage_error(tmp_path):
    assert newsingest("run", "--input", SAMPLE_CORPUS / "broken", "--home", tmp_path, "--quiet").returncode == 0
    result = newsingest("report", "--run", "nope", "--home", tmp_path)
    assert result.returncode == 2 and "no run 'nope'" in result.stderr


def test_a_failed_run_exits_3_with_one_line(tmp_path):
    (tmp_path / "db-is-a-folder").mkdir()
    result = newsingest("run", "--input", SAMPLE_CORPUS / "broken", "--home", tmp_path, "--db", tmp_path / "db-is-a-folder", "--quiet")
    assert result.returncode == 3
    assert "Traceback" not in result.stderr and "failed:" in result.stderr


def test_clean_exits_1_for_quarantined_documents_and_0_when_all_clean(tmp_path):
    assert newsingest("clean", SAMPLE_CORPUS / "broken" / "stub.txt").returncode == 1
    assert newsingest("clean", next((SAMPLE_CORPUS / "metrotribune.example").iterdir())).returncode == 0
