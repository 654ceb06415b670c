"""Near-duplicate detection: each kind of republishing edit is found, write-ups are kept apart."""

from __future__ import annotations

import random
from datetime import UTC

from pipeline.dedup import dedup_records
from pipeline.dedup.canonical import Member, choose_canonical
from pipeline.dedup.near import fingerprint, verify
from pipeline.dedup.story import same_story, story_terms

WORDS = ["harbour", "council", "tariff", "cargo", "crane", "union", "wage", "shift", "vessel", "berth", "pilot", "tide", "freight", "levy", "minister", "board", "port", "ferry"]


def article(seed: int, paragraphs: int = 10) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) + str(rng.randint(0, 60)) for _ in range(45)) + "." for _ in range(paragraphs)]


def records(**docs) -> list[dict]:
    return [{"id": key, "text": "\n".join(paras)} for key, paras in docs.items()]


def clusters(rows) -> dict[str, str]:
    return {r["id"]: r["cluster_id"] for r in dedup_records(rows)}


def test_edits_are_found():
    original = article(1)
    edited = list(original)
    edited[3] = edited[3].replace("cargo", "goods", 2)
    result = clusters(records(
        original=original,
        reheadlined=["Port closed as dockers strike"] + original,
        trimmed=original[:7],
        cut=original[:3],
        edited=edited,
        other=article(2),
    ))
    assert len({result[k] for k in ("original", "reheadlined", "trimmed", "cut", "edited")}) == 1
    assert result["other"] != result["original"]


def test_shared_quote_does_not_merge_writeups():
    quote = article(9, 1)
    a, b = article(3) + quote, article(4) + quote
    result = clusters(records(a=a, b=b))
    assert result["a"] != result["b"]


def test_canonical_and_similarity_reported():
    base = article(5)
    rows = records(copy=base[:6], original=base)
    out = {r["id"]: r for r in dedup_records(rows)}
    assert out["copy"]["canonical_id"] == "original"  # the longer copy wins without dates
    assert out["copy"]["similarity"] == 1.0
    assert out["original"]["cluster_id"] == "original"


def test_batch_order_does_not_change_clusters():
    base, other = article(6), article(7)
    rows = records(a=base, b=base[:5], c=base[2:], d=other, e=other[:-2])
    assert clusters(rows) == clusters(list(reversed(rows)))


def test_verify_methods():
    base = "\n".join(article(8))
    a, b = fingerprint("a", "h1", base), fingerprint("b", "h1", base)
    assert verify(a, b, 0.7).method == "exact"
    c = fingerprint("c", "h2", "\n".join(article(8)[:4]))
    assert verify(a, c, 0.7).method == "containment"


def test_canonical_policy():
    from datetime import datetime

    early = datetime(2026, 11, 3, 8, tzinfo=UTC)
    late = datetime(2026, 11, 3, 12, tzinfo=UTC)
    members = [Member("b", late, 900, "paper.example", "AP"), Member("a", early, 500, "paper.example", "AP"), Member("c", None, 1000)]
    assert choose_canonical(members).article_id == "a"
    members.append(Member("z", late, 400, "apnews.example", "AP"))
    assert choose_canonical(members).article_id == "z"  # the agency's own copy


def test_story_terms_group_writeups():
    one = story_terms("Quake hits Val Moranza", "Rescuers in Val Moranza said Civil Protection chief Elena Ruggeri flew to Bormio.\nIn Val Moranza, Ruggeri met Bormio officials.")
    two = story_terms("Villages cut off", "The road to Val Moranza stayed shut, Ruggeri said.\nBormio hospital took the injured, Civil Protection said.")
    assert same_story(one, two, None, None, 3, 3)
    assert not same_story(one, ["Prague", "Czech", "National", "Bank"], None, None, 3, 3)
