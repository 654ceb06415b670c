"""Which copy of a near-duplicate cluster is kept.

Policy, applied to the whole cluster (history included) every time it changes, so the answer
does not depend on batch order or reruns:
1. the wire original when one is identifiable: a copy from the agency's own site whose body
   carries the agency's dateline or credit (``wire_agency`` set and ``domain`` of an agency);
2. else the earliest ``published_at`` (copies without a date come last);
3. else the most complete copy (most words);
4. else the smallest ``article_id`` (a stable tie-break).

A text shorter than ``min_body_words`` (a copy cut to a paragraph or two) comes after every full
article: it never leads a cluster, it is kept only as a near-copy of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# Registrable domains of the wire agencies' own sites: a host is an agency site when it is one of
# these or a subdomain of one (``www.reuters.com``), never when it merely contains the name.
AGENCY_DOMAINS = frozenset({
    "apnews.com", "ap.org", "reuters.com", "afp.com", "dpa.com", "dpa.de", "efe.com", "ansa.it",
    "xinhuanet.com", "news.cn", "kyodonews.net", "kyodonews.jp", "yna.co.kr", "aa.com.tr", "tass.com",
    "tass.ru", "pti.in", "aap.com.au", "apa.at", "sda-ats.ch", "anp.nl", "belga.be", "ansamed.info",
})


@dataclass(slots=True)
class Member:
    article_id: str
    published_at: datetime | None
    word_count: int
    domain: str = ""
    wire_agency: str | None = None
    short: bool = False  # under min_body_words: kept only as a copy of a full article


def is_agency_site(domain: str) -> bool:
    host = domain.strip().rstrip(".").lower()
    while host:
        if host in AGENCY_DOMAINS:
            return True
        host = host.partition(".")[2]
    return False


def canonical_key(member: Member):
    from_agency = bool(member.wire_agency) and is_agency_site(member.domain)
    when = member.published_at
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    published = when.timestamp() if when else float("inf")
    return (member.short, not from_agency, published, -member.word_count, member.article_id)


def choose_canonical(members: list[Member]) -> Member:
    return min(members, key=canonical_key)
