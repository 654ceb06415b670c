"""The Data Docs site on disk: offline assets, history retention, tidying.

Great Expectations 1.x writes pages that load Bootstrap, jQuery, Vega and Font Awesome from CDNs
(and its logo from its own web host); its site builder has no setting for local copies, so after
each build :func:`finish` installs the vendored files (``pipeline/validate/static``) in
``<site>/static/vendor/`` and points every page at them with relative paths. Validation results
are kept in ``<site>/validation_results/`` (a filesystem store) so that the index lists every run
that :func:`expired` leaves.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pipeline.validate import assets

VENDOR_DIR = "static/vendor"  # in the site
RESULTS_DIR = "validation_results"  # in the site: the validation results store
LOCK_FILE = ".lock"

_GX_WEB_ASSETS = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
# GX's hosted images -> the copies GX puts in <site>/static/images (none for the dark-mode logo)
_GX_IMAGES = {"logo-long.png": "logo-long.png", "full_logo_dark.png": "logo-long.png"}

_TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_URL_ATTR = re.compile(r'\b(src|href)="([^"]*)"')
_SRI_ATTR = re.compile(r'\s+(?:integrity|crossorigin)="[^"]*"')
_STATIC_IMAGES = re.compile(r"^(?:\./|(?:\.\./)+)static/images/")
_WEB_ASSET = re.compile(re.escape(_GX_WEB_ASSETS) + r"""([\w.-]+)(?:\?[^"')\s]*)?""")


@contextmanager
def site_lock(site: Path) -> Iterator[None]:
    """Serialise writers of one site across processes (store, retention, build, rewrite)."""
    site.mkdir(parents=True, exist_ok=True)
    with open(site / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def expired(keys: list, keep: int) -> list:
    """The validation result keys beyond the ``keep`` most recent (by run time, then run name and
    batch); ``keep`` <= 0 keeps all."""
    if keep <= 0 or len(keys) <= keep:
        return []
    newest_first = sorted(keys, key=lambda k: (_utc(k.run_id.run_time), k.run_id.run_name or "", k.batch_identifier), reverse=True)
    return newest_first[keep:]


def page_path(site: Path, key) -> Path:
    """Where GX writes the page of a validation result key (``validations/<suite>/<run>/<time>/<batch>.html``)."""
    parts = key.to_tuple()
    return site.joinpath("validations", *parts[:-1], f"{parts[-1]}.html")


def install_assets(site: Path) -> None:
    """Copy the vendored files (and their licences) into ``<site>/static/vendor`` where missing or changed."""
    for name in assets.vendored_files():
        source, target = assets.STATIC_DIR / name, site / VENDOR_DIR / name
        if target.is_file() and target.stat().st_size == source.stat().st_size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(source, partial)
        os.replace(partial, target)


def localize_page(page: Path, site: Path) -> bool:
    """Point one page's CDN scripts, stylesheets and images at the site's local copies; True if changed."""
    text = page.read_text(encoding="utf-8")
    root = Path(os.path.relpath(site, page.parent)).as_posix()

    def local_url(match: re.Match) -> str:
        attr, url = match.groups()
        vendored = assets.CDN.get(url)
        if vendored:
            return f'{attr}="{root}/{VENDOR_DIR}/{vendored}"'
        if _STATIC_IMAGES.match(url):  # GX gets the depth wrong on validation pages (the favicon)
            return f'{attr}="{root}/static/images/{_STATIC_IMAGES.sub("", url)}"'
        return match.group(0)

    def local_tag(match: re.Match) -> str:
        tag = match.group(0)
        changed = _URL_ATTR.sub(local_url, tag)
        # SRI makes the browser fetch in CORS mode, which file:// pages cannot; SHA256SUMS pins the files.
        return _SRI_ATTR.sub("", changed) if changed != tag else tag

    def local_image(match: re.Match) -> str:
        image = _GX_IMAGES.get(match.group(1))
        return f"{root}/static/images/{image}" if image else match.group(0)

    new = _WEB_ASSET.sub(local_image, _TAG.sub(local_tag, text))
    if new == text:
        return False
    partial = page.with_name(page.name + ".partial")
    partial.write_text(new, encoding="utf-8")
    os.replace(partial, page)
    return True


def prune_empty_dirs(root: Path) -> None:
    """Remove the empty folders under ``root`` (GX leaves them when it deletes pages or results)."""
    if not root.is_dir():
        return
    for folder, _, files in os.walk(root, topdown=False):
        if folder != str(root) and not files and not os.listdir(folder):
            os.rmdir(folder)


def finish(site: Path, pages: list[Path] | None = None) -> None:
    """After a GX build: local assets in place, the ``pages`` it wrote (default: every page)
    pointed at them, no empty folders."""
    install_assets(site)
    if pages is None:
        pages = [p for p in site.rglob("*.html") if not p.is_relative_to(site / "static")]
    for page in pages:
        if page.is_file():
            localize_page(page, site)
    prune_empty_dirs(site / "validations")
    prune_empty_dirs(site / RESULTS_DIR)
