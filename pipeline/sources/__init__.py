"""Sources turn inputs (local files, exports, later the web) into raw documents."""

from pipeline.sources.files import iter_local_documents

__all__ = ["iter_local_documents"]
