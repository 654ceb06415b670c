"""Fetching from the web: feeds, sitemaps, URL lists and homepages, politely and safely.

Modules: ``policy`` (which addresses may be contacted), ``urls`` (canonical URLs), ``client``
(the bounded, polite HTTP client), ``charset``, ``robots``, ``discover`` (sources to page URLs),
``state`` (fetch state and frontier in DuckDB), ``rawstore`` (content-addressed bytes and batch
manifests) and ``crawl`` (one fetch run). Importing this package touches neither network nor disk.
"""

from pipeline.sources.web.crawl import Source, load_sources, run_fetch
from pipeline.sources.web.rawstore import is_manifest, iter_manifest_documents

__all__ = ["Source", "is_manifest", "iter_manifest_documents", "load_sources", "run_fetch"]
