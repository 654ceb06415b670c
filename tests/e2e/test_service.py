"""End to end: the always-on service (``make up``: Airflow 3 under supervisord on 127.0.0.1), its
REST API, its UI in a real headless Chromium, a component killed with SIGKILL, and ``down``."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from pipeline.service import service_processes
from tests.browser import SCREENSHOTS, chrome, needs_chromium
from tests.conftest import SAMPLE_CORPUS
from tests.e2e.runner import query

pytestmark = pytest.mark.e2e

DAG_IDS = {"news_ingest", "news_fetch", "news_maintenance"}


def test_every_dag_parsed_unpaused_without_import_errors(service):
    dags = {d["dag_id"]: d for d in service.api("GET", "dags", params={"limit": 100}).json()["dags"]}
    assert set(dags) == DAG_IDS
    assert not any(d["is_paused"] for d in dags.values())
    errors = service.api("GET", "importErrors").json()
    assert errors["total_entries"] == 0, errors
    health = service.api("GET", "monitor/health").json()
    assert {k: v["status"] for k, v in health.items()} == dict.fromkeys(("metadatabase", "scheduler", "triggerer", "dag_processor"), "healthy")
    assert service.inbox.is_dir()


def test_tasks_fork_from_a_scheduler_with_the_pipeline_loaded(service):
    """The scheduler imported DuckDB and the cleaners before forking its workers, so a task starts
    with them in memory instead of importing them (seconds per micro-batch)."""
    maps = Path(f"/proc/{service.component_pid('scheduler')}/maps").read_text()
    assert "duckdb" in maps and "_lines" in maps  # DuckDB's module and the line cleaner's C extension


def test_sample_corpus_run_lands_in_the_corpus(service):
    started = time.monotonic()
    run_id = service.trigger("news_ingest", {"input": str(SAMPLE_CORPUS)})
    service.wait_for_run("news_ingest", run_id, timeout=300)
    print(f"news_ingest on the sample corpus: trigger to success in {time.monotonic() - started:.1f} s")
    db = service.settings.db_path
    assert query(db, "SELECT count(*) FROM canonical_articles")[0][0] == 16
    assert query(db, f"SELECT documents, articles, duplicates, quarantined, status FROM runs WHERE run_id = '{run_id}'") == [(34, 16, 10, 8, "landed")]


def test_up_twice_is_harmless(service):
    before = {name: service.component_pid(name) for name in ("api-server", "scheduler", "dag-processor", "triggerer")}
    again = service.cli("up")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already running" in again.stdout
    assert service.password in again.stdout and service.url in again.stdout
    assert {name: service.component_pid(name) for name in before} == before
    status = service.cli("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count("RUNNING") == 5  # four components and the reaper


@needs_chromium
def test_ui_login_shows_every_dag(service, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    profile = Path(tempfile.mkdtemp(dir=tmp_path))
    driver = chrome(profile)
    try:
        driver.get(f"{service.url}/dags")
        wait = WebDriverWait(driver, 90)
        _sign_in(driver, service, wait)
        wait.until(lambda d: all(f"/dags/{dag_id}" in (d.page_source or "") for dag_id in DAG_IDS))
        links = {a.text.strip() for a in driver.find_elements(By.CSS_SELECTOR, "a[href]") if a.get_attribute("href").rstrip("/").split("/dags/")[-1] in DAG_IDS}
        assert links == DAG_IDS
        body = driver.find_element(By.TAG_NAME, "body").text
        assert f"{len(DAG_IDS)} Dags" in body and "Import Error" not in body
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / "service-dags.png"
        assert driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    print(f"screenshot of the DAG list: {shot}")


def _sign_in(driver, service, wait) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    wait.until(EC.presence_of_element_located((By.NAME, "username"))).send_keys(service.user)
    driver.find_element(By.NAME, "password").send_keys(service.password)
    driver.find_element(By.XPATH, "//button[normalize-space()='Sign in']").click()


@needs_chromium
def test_data_quality_report_in_the_airflow_ui(service, tmp_path):
    """The plugin (pipeline/report/plugin.py): the reports behind Airflow's sign-in, and a "Data
    quality" entry in its navigation that shows them with their charts drawn."""
    import requests
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    if not (service.settings.report_dir / "latest.html").exists():  # this module's DAG run writes one
        run_id = service.trigger("news_ingest", {"input": str(SAMPLE_CORPUS)})
        service.wait_for_run("news_ingest", run_id, timeout=300)
    assert requests.get(f"{service.url}/newsingest/latest.html", timeout=30).status_code == 401
    signed = requests.get(f"{service.url}/newsingest/latest.html", headers={"Authorization": f"Bearer {service.token()}"}, timeout=30)
    assert signed.status_code == 200 and "plotly.min.js" in signed.text
    assert requests.get(f"{service.url}/newsingest/%2e%2e/airflow.cfg", headers={"Authorization": f"Bearer {service.token()}"}, timeout=30).status_code == 404

    driver = chrome(Path(tempfile.mkdtemp(dir=tmp_path)))
    try:
        wait = WebDriverWait(driver, 90)
        driver.get(f"{service.url}/dags")
        _sign_in(driver, service, wait)
        entry = wait.until(lambda d: d.find_elements(By.XPATH, "//a[contains(@href, 'plugin/data-quality')]"))
        entry[0].click()
        frame = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "iframe[src*='/newsingest/']"))[0]
        assert frame.get_attribute("src").endswith("/newsingest/latest.html")
        driver.switch_to.frame(frame)
        wait.until(lambda d: d.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length") >= 4)
        assert driver.find_element(By.TAG_NAME, "h1").text.startswith("Run ")
        assert "Source health" in driver.find_element(By.TAG_NAME, "body").text
        driver.switch_to.default_content()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / "service-data-quality.png"
        assert driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    print(f"screenshot of the report in Airflow: {shot}")


def test_scheduler_killed_with_sigkill_is_restarted_and_runs_succeed(service):
    old = service.kill_component("scheduler", signal.SIGKILL)
    new = service.wait_component("scheduler", old, timeout=120)
    assert new != old
    # the reaper stops what the dead scheduler left (its LocalExecutor workers)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and [p for p in service.processes() if _pgid(p) == old]:
        time.sleep(0.5)
    assert not [p.pid for p in service.processes() if _pgid(p) == old]
    run_id = service.trigger("news_ingest", {"input": str(SAMPLE_CORPUS)})
    service.wait_for_run("news_ingest", run_id, timeout=300)
    db = service.settings.db_path
    assert query(db, f"SELECT outcome, count(*) FROM run_ledger WHERE run_id = '{run_id}' GROUP BY ALL") == [("unchanged", 34)]


def _pgid(proc: psutil.Process) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except OSError:
        return None


def test_down_stops_every_process(service):
    pids = [p.pid for p in service.processes()]
    assert len(pids) >= 6  # supervisord, reaper, four components (and their workers)
    stopped = service.cli("down")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "supervisord" in stopped.stdout and "scheduler" in stopped.stdout
    assert service_processes(service.config) == []
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert service.cli("status").returncode == 3
