"""Which copy of a near-duplicate cluster is kept.

Policy, applied to the whole cluster (history included) every time it changes, so the answer
does not depend on batch order or reruns:
1. the wire original when one is identifiable: a copy from the agency's own site whose body
   carries the agency's dateline or credit (``wire_agency`` set and ``domain`` of an agency);
2. else the earliest ``published_at`` (copies without a date come last);
3. else the most complete copy (most words);
4. else the smallest ``article_id`` (a stable tie-break).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

AGENCY_DOMAINS = ("apnews", "ap.org", "reuters.", "afp.", "dpa.", "yna.co.kr", "kyodonews.", "ansa.", "efe.", "xinhua")


@dataclass(slots=True)
class Member:
    article_id: str
    published_at: datetime | None
    word_count: int
    domain: str = ""
    wire_agency: str | None = None


def is_agency_site(domain: str) -> bool:
    return any(marker in domain for marker in AGENCY_DOMAINS)


def canonical_key(member: Member):
    from_agency = bool(member.wire_agency) and is_agency_site(member.domain)
    when = member.published_at
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    published = when.timestamp() if when else float("inf")
    return (not from_agency, published, -member.word_count, member.article_id)


def choose_canonical(members: list[Member]) -> Member:
    return min(members, key=canonical_key)
