"""The Data Docs site: offline (every script, stylesheet and image local and on disk), a history of
validations with retention, the data asset named; and, with Debian's Chromium, what a person sees."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from pipeline.validate import assets, docs_site, validate_articles
from tests.browser import SCREENSHOTS, chrome, needs_chromium
from tests.validate.test_suite import NOW, SUITE, make_frame, make_row

GX_TEMPLATES = Path(__import__("great_expectations").__file__).parent / "render" / "view" / "templates"
_ROW_LINK = re.compile(r"'_table_row_link_path': '(validations/[^']+)'")
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")




def validate(site: Path, run_id: str, hours: int = 0, failing: bool = False, docs_keep: int | None = 10):
    rows = [make_row(i) for i in range(4)]
    if failing:
        rows[2]["language"] = "xx"  # one row outside the allowed set
    return validate_articles(make_frame(rows), suite_path=SUITE, run_id=run_id, now=NOW + timedelta(hours=hours), docs_dir=site, docs_keep=docs_keep)


def listed_runs(site: Path) -> list[str]:
    """Run names of the validations the index page lists (its table's data, newest first)."""
    links = _ROW_LINK.findall((site / "index.html").read_text(encoding="utf-8"))
    assert all((site / link).is_file() for link in links), links
    return [link.split("/")[2] for link in links]


def stored_runs(site: Path) -> list[str]:
    return sorted(p.parent.parent.name for p in (site / docs_site.RESULTS_DIR).rglob("*.json"))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Two validations, an hour apart, built into one docs folder (the second fails a row check)."""
    docs = tmp_path_factory.mktemp("data_docs")
    first = validate(docs, "run-a", hours=0)
    second = validate(docs, "run-b", hours=1, failing=True)
    assert first.docs_index == second.docs_index == str(docs / "index.html")
    assert first.success and len(second.row_failures) == 1
    return docs


# --------------------------------------------------------------------------- history


def test_index_lists_every_validation(site):
    assert listed_runs(site) == ["run-b", "run-a"]
    assert stored_runs(site) == ["run-a", "run-b"]
    pages = sorted(p.relative_to(site).parts[2] for p in (site / "validations").rglob("*.html"))
    assert pages == ["run-a", "run-b"]


def test_retention_drops_the_oldest(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="great_expectations")
    docs = tmp_path / "docs"
    for hours, name in enumerate(["r1", "r2", "r3"]):
        validate(docs, name, hours=hours, docs_keep=2)
    assert listed_runs(docs) == ["r3", "r2"]
    assert stored_runs(docs) == ["r2", "r3"]
    assert sorted(p.relative_to(docs).parts[2] for p in (docs / "validations").rglob("*.html")) == ["r2", "r3"]
    # no empty folders left where r1's page and result were
    assert not [d for d in docs.rglob("*") if d.is_dir() and not any(d.iterdir())]
    # a validation older than the ones kept is dropped at once
    validate(docs, "r0", hours=-1, docs_keep=2)
    assert listed_runs(docs) == ["r3", "r2"]
    # 0 keeps every one
    validate(docs, "r4", hours=4, docs_keep=0)
    validate(docs, "r5", hours=5, docs_keep=0)
    assert listed_runs(docs) == ["r5", "r4", "r3", "r2"]
    gx_noise = [r for r in caplog.records if r.name.startswith("great_expectations") and r.levelno >= logging.INFO]
    assert gx_noise == []


def test_retention_defaults_to_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSINGEST_DATA_DOCS_KEEP", "1")
    docs = tmp_path / "docs"
    validate(docs, "first", hours=0, docs_keep=None)
    validate(docs, "second", hours=1, docs_keep=None)
    assert listed_runs(docs) == ["second"]


def test_page_lost_from_the_site_is_built_again(tmp_path):
    docs = tmp_path / "docs"
    validate(docs, "one", hours=0)
    [page] = (docs / "validations").rglob("*.html")
    page.unlink()
    validate(docs, "two", hours=1)
    assert listed_runs(docs) == ["two", "one"]
    assert "static/vendor/" in page.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- data asset


def test_validation_page_names_the_data_asset(site):
    for page in (site / "validations").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "Data asset: articles<br>" in text
        assert "Data asset: None" not in text
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.count("'asset_name': 'articles'") == 2


# --------------------------------------------------------------------------- offline


class _Assets(HTMLParser):
    """What a page makes the browser load: scripts, <link>s (stylesheets, icon), images, CSS url()s."""

    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img") and attrs.get("src"):
            self.refs.append((tag, attrs["src"]))
        elif tag == "link" and attrs.get("href"):
            self.refs.append((f"link rel={attrs.get('rel')}", attrs["href"]))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.refs += [("style url()", url) for url in _CSS_URL.findall(data) if not url.startswith("data:")]


def _local_file(base: Path, ref: str, site: Path) -> Path:
    parts = urlsplit(ref)
    assert not parts.scheme and not parts.netloc and not ref.startswith("/"), f"not a relative path: {ref}"
    target = (base / unquote(parts.path)).resolve()
    assert target.is_relative_to(site.resolve()), f"{ref} leaves the site"
    return target


def test_every_page_loads_only_local_files_that_exist(site):
    pages = [p for p in site.rglob("*.html") if not p.is_relative_to(site / "static")]
    assert len(pages) == 4  # index, suite, two validations
    stylesheets: set[Path] = set()
    for page in pages:
        parser = _Assets()
        parser.feed(page.read_text(encoding="utf-8"))
        kinds = {kind for kind, _ in parser.refs}
        assert {"script", "img", "link rel=stylesheet", "style url()"} <= kinds, (page, kinds)
        for kind, ref in parser.refs:
            target = _local_file(page.parent, ref, site)
            assert target.is_file(), f"{page.relative_to(site)}: {kind} {ref} missing"
            if target.suffix == ".css":
                stylesheets.add(target)
        assert "integrity=" not in page.read_text(encoding="utf-8")  # SRI needs CORS, which file:// cannot do
    assert len(stylesheets) >= 6
    for sheet in stylesheets:  # fonts and images the stylesheets load
        for ref in _CSS_URL.findall(sheet.read_text(encoding="utf-8")):
            if not ref.startswith("data:"):
                assert _local_file(sheet.parent, ref, site).is_file(), f"{sheet.name}: {ref} missing"


def test_vendored_files_are_the_pinned_ones():
    assert assets.check() == []
    for name in assets.vendored_files():  # the repository ignores dist/ and build/ folders
        assert not {"dist", "build"} & set(Path(name).parts), name


def test_every_cdn_url_of_the_gx_templates_is_vendored():
    """Read GX's own templates: a GX upgrade that loads something else fails here."""
    tags = re.findall(r"<(?:script|link)\b[^>]*>", "".join(p.read_text(encoding="utf-8") for p in GX_TEMPLATES.glob("*.j2")))
    urls = {m.group(2): m.group(0) for tag in tags for m in [re.search(r'\b(src|href)="(https?://[^"]+)"', tag)] if m}
    assert set(urls) == set(assets.CDN)
    for tag in tags:
        sri = re.search(r'integrity="sha384-([^"]+)"', tag)
        if sri:
            url = re.search(r'src="([^"]+)"', tag).group(1)
            digest = base64.b64encode(hashlib.sha384((assets.STATIC_DIR / assets.CDN[url]).read_bytes()).digest()).decode()
            assert digest == sri.group(1), url


def test_docs_build_without_network(tmp_path, no_network):
    report = validate(tmp_path / "docs", "offline")
    assert Path(report.docs_index).is_file()
    assert (tmp_path / "docs" / docs_site.VENDOR_DIR / "bootstrap-4.3.1" / "LICENSE").is_file()


# --------------------------------------------------------------------------- in a browser


_LOOKS = """return {
  bootstrap: getComputedStyle(document.querySelector('nav.navbar')).display,
  fontAwesome: [...document.fonts].some(f => f.family.includes('Font Awesome') && f.status === 'loaded'),
  remote: performance.getEntriesByType('resource').map(r => r.name).filter(n => !n.startsWith('file:')),
  scripts: [typeof jQuery, typeof jQuery.fn.bootstrapTable, typeof vega, typeof vegaEmbed],
}"""


@needs_chromium
def test_pages_render_offline_in_chromium(site, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver = chrome(tmp_path / "profile")
    try:
        driver.get((site / "index.html").as_uri())
        rows = "table.ge-index-page-validation-results-table tbody tr[data-href]"
        WebDriverWait(driver, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, rows)) == 2)  # filled by bootstrap-table
        looks = driver.execute_script(_LOOKS)
        assert looks["bootstrap"] == "flex"  # .navbar { display: flex } comes from bootstrap.min.css only
        assert driver.execute_script("return getComputedStyle(document.querySelector('.btn-secondary')).backgroundColor") == "rgb(108, 117, 125)"
        assert looks["fontAwesome"] and looks["remote"] == [] and looks["scripts"] == ["function", "function", "object", "function"]
        WebDriverWait(driver, 30, ignored_exceptions=[StaleElementReferenceException]).until(
            lambda d: "run-b" in d.find_element(By.CSS_SELECTOR, rows).text)  # newest first
        index_shot = SCREENSHOTS / "data-docs-index.png"
        assert driver.save_screenshot(str(index_shot))

        WebDriverWait(driver, 30, ignored_exceptions=[StaleElementReferenceException]).until(
            lambda d: d.find_element(By.CSS_SELECTOR, rows).click() or True)  # the failed run's page; bootstrap-table may redraw the rows meanwhile
        WebDriverWait(driver, 30).until(lambda d: "run-b" in d.current_url and d.find_elements(By.CSS_SELECTOR, "table[data-toggle] tbody tr, table tbody tr"))
        looks = driver.execute_script(_LOOKS)
        assert looks["bootstrap"] == "flex" and looks["fontAwesome"] and looks["remote"] == []
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "Data asset: articles" in body and "Failed" in body
        expectation_rows = driver.execute_script(
            "return [...document.querySelectorAll('table tbody tr')].filter(r => r.innerText.includes('values must belong to this set')).length")
        assert expectation_rows >= 1  # the language check's row, rendered by bootstrap-table
        validation_shot = SCREENSHOTS / "data-docs-validation.png"
        assert driver.save_screenshot(str(validation_shot))
        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
    finally:
        driver.quit()
    for shot in (index_shot, validation_shot):
        data = shot.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    print(f"screenshots: {index_shot}, {validation_shot}")
