"""Sources turn inputs (local files, exports, fetch-batch manifests of the web raw store) into raw documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pipeline.model import Quarantined, RawDocument
from pipeline.sources.files import iter_local_documents


def iter_documents(paths: list[str | Path], max_bytes: int) -> Iterator[RawDocument | Quarantined]:
    """Raw documents of every input: a fetch manifest (``*.manifest.jsonl``) yields the pages of
    that batch with their URLs; anything else is read as local files."""
    from pipeline.sources.web.rawstore import is_manifest, iter_manifest_documents

    local = []
    for path in paths:
        if is_manifest(path):
            yield from iter_manifest_documents(path, max_bytes)
        else:
            local.append(path)
    if local:
        yield from iter_local_documents(local, max_bytes)


__all__ = ["iter_documents", "iter_local_documents"]
