"""Fetching from the web: feeds, sitemaps, URL lists and homepages, politely and safely.

Modules: ``policy`` (which addresses may be contacted), ``urls`` (canonical URLs), ``client``
(the bounded, polite HTTP client), ``charset``, ``robots``, ``discover`` (sources to page URLs),
``state`` (fetch state and frontier in DuckDB), ``rawstore`` (content-addressed bytes and batch
manifests) and ``crawl`` (one fetch run). Importing this package touches neither network nor disk.
"""

from importlib import import_module

# Loaded on first use: every ``newsingest`` command builds its parser from here, and most of
# them (dedup above all) must not pay for importing requests and DuckDB.
_EXPORTS = {
    "Source": "crawl", "load_sources": "crawl", "run_fetch": "crawl",
    "is_manifest": "rawstore", "iter_manifest_documents": "rawstore",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
