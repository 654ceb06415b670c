"""Record types that flow through the stages.

A raw document enters; it leaves as an :class:`Article` or as a :class:`Quarantined`
record that names the stage and a snake_case reason code.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

# Chinese and Japanese run words together; about two characters make a word.
UNSPACED_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def count_words(text: str, parts: list[str] | None = None) -> int:
    """Words of a text: space-separated tokens, with unspaced scripts counted by characters."""
    count = len(parts if parts is not None else text.split())
    if not text.isascii():  # O(1) for str; the scan is one C-level pass
        count += len(UNSPACED_SCRIPT.findall(text)) // 2
    return count


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(slots=True)
class RawDocument:
    raw_id: str
    uri: str
    domain: str
    fetched_at: datetime
    content_type: str  # "text/html", "text/plain" or "application/json" (one export record)
    payload: bytes
    encoding: str | None = None
    url: str | None = None  # declared URL of the article (exports, feeds), not the file path
    declared: dict = field(default_factory=dict)  # metadata an export supplies: title, published_at, authors


@dataclass(slots=True)
class RemovedSegment:
    position: int
    text: str
    reason: str


@dataclass(slots=True)
class Article:
    article_id: str
    raw_id: str
    uri: str
    url: str | None
    domain: str
    title: str | None
    published_at: datetime | None
    authors: list[str]
    wire_agency: str | None
    language: str | None
    tags: list[str]
    summary: str | None
    body: str
    removed: list[RemovedSegment] = field(default_factory=list)
    body_hash: str | None = None  # content_hash(body), when the cleaner already has it

    @property
    def word_count(self) -> int:
        return count_words(self.body)


@dataclass(slots=True)
class Quarantined:
    raw_id: str
    uri: str
    stage: str
    reason: str
    detail: str


class DocumentError(Exception):
    """A problem with one document: becomes a quarantine row, never stops the batch."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
