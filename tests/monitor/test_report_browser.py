"""What a person sees in the reports after the series of runs (conftest.py), in headless Chromium
with no network: trend charts drawn by plotly.js from the file beside the pages, the drifting
source as a red row, its page with its articles. Screenshots land in var/screenshots/."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pipeline.settings import load_settings
from tests.browser import chrome, needs_chromium, screenshot
from tests.monitor.conftest import CHANGE_AT

DRAWN = """
const id = arguments[0];
const plot = document.getElementById(id);
if (!plot || !plot._fullData) return null;
return plot._fullData.map(t => ({name: t.name, points: (t.y || []).filter(v => v !== null && v !== undefined).length,
                                 drawn: plot.querySelectorAll('.scatterlayer .trace path.js-line, .barlayer .trace path').length}));
"""


def _wait_for_plots(driver, count: int) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length") >= count)


@needs_chromium
def test_report_shows_trends_and_the_drifting_source(drift_series):
    from selenium.webdriver.common.by import By

    reports = Path(load_settings(home=drift_series.home).report_dir)
    [(runs,)] = drift_series.sql("SELECT count(*) FROM runs")  # the series, and any run another test added
    assert (reports / "plotly.min.js").stat().st_size > 1_000_000  # the library's own file, beside the pages
    driver = chrome(Path(tempfile.mkdtemp()))
    try:
        driver.get((reports / "latest.html").as_uri())
        assert driver.execute_script("return typeof Plotly") == "object"  # loaded from disk: no network here
        charts = driver.find_elements(By.CSS_SELECTOR, "figure.chart:not(.empty)")
        assert len(charts) >= 14
        _wait_for_plots(driver, len(charts))
        # Trends on a time axis: one line per source, a point per run, each line drawn.
        documents = driver.execute_script(DRAWN, "trend-documents")
        assert {t["name"] for t in documents} == set(drift_series.outlets)
        assert all(t["points"] == runs for t in documents)
        assert driver.execute_script("return document.getElementById('trend-words')._fullLayout.xaxis.type") == "date"
        words = {t["name"]: t for t in driver.execute_script(DRAWN, "trend-words")}
        assert words[drift_series.changed]["drawn"] >= 1 and words[drift_series.changed]["points"] == runs
        # The drifting source: a red row, first, with why; the others are ok.
        rows = driver.find_elements(By.CSS_SELECTOR, "h2 + p + table tbody tr")
        first = rows[0]
        assert first.get_attribute("class") == "drift" and drift_series.changed in first.text and "words on average" in first.text
        assert first.find_element(By.CSS_SELECTOR, "td").value_of_css_property("background-color") == "rgba(253, 226, 225, 1)"
        assert [r.get_attribute("class") for r in rows[1:]] == [""] * (len(drift_series.outlets) - 1)
        assert all(r.text.endswith(" ok") for r in rows[1:])  # judged against a baseline, not still learning
        assert "look like they changed their layout" in driver.find_element(By.CSS_SELECTOR, ".alert").text
        shot = screenshot(driver, "report-latest.png")
        # Drill-down: the source's row links to its page, which lists its articles.
        driver.set_window_size(1400, 1000)
        first.find_element(By.CSS_SELECTOR, "a").click()
        assert driver.current_url.endswith(f"sources/{drift_series.changed}.html")
        _wait_for_plots(driver, 5)
        assert "drifting:" in driver.find_element(By.CSS_SELECTOR, "p.alert").text
        articles = driver.find_elements(By.XPATH, "//h2[.='Latest articles']/following-sibling::table[1]/tbody/tr")
        assert len(articles) >= 20
        flagged = driver.find_elements(By.XPATH, "//h2[starts-with(., 'Runs flagged')]/following-sibling::table[1]/tbody/tr")
        assert len(flagged) == runs - CHANGE_AT + 1
        screenshot(driver, "report-source.png")
        # Every run in the index, the runs with a drifting source in red.
        driver.set_window_size(1400, 1000)
        driver.get((reports / "index.html").as_uri())
        index_rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert len(index_rows) == runs and sum(r.get_attribute("class") == "drift" for r in index_rows) == runs - CHANGE_AT + 1
    finally:
        driver.quit()
    print(f"screenshot of the report: {shot}")
