"""Near-duplicate level of a batch: its documents and the stored clusters they touch are
clustered together (``cluster.py``), so a new batch is deduplicated against the whole history
and a stored cluster is re-led when a better canonical copy arrives."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.dedup.canonical import Member
from pipeline.dedup.cluster import CONTAINMENT, Assignment, Doc, cluster
from pipeline.dedup.sketch import sketch_texts


@dataclass(slots=True)
class NearDuplicates:
    assigned: dict[str, Assignment]  # batch articles and the stored articles re-clustered with them
    sketches: dict[str, tuple[bytes, int]]  # batch article -> (sketch, whole-text hash)
    members: list[dict]  # the stored articles re-clustered (rows of StoredIndex.near_clusters)
    unmatched_short: set[str]  # short batch texts that are no near-copy of a full article


def near_duplicates(rows: list[dict], history=None, containment: float = CONTAINMENT, min_body_words: int = 0) -> NearDuplicates:
    """``rows`` are article rows (``article_id``, ``published_at``, ``word_count``, ``domain``,
    ``wire_agency``, and ``sketch`` with ``whole_hash`` as the clean stage computes them, else
    ``body``); ``history`` a ``StoredIndex`` or None. Texts under ``min_body_words`` words come
    last in the visiting order, so they never lead a cluster: one that joins no full article is
    reported in ``unmatched_short``."""
    staged = bool(rows) and "sketch" in rows[0]
    sketches = [(r["sketch"], r["word_count"], r["whole_hash"]) for r in rows] if staged else sketch_texts([r["body"] for r in rows])
    docs = [
        Doc(r["article_id"], samples, whole, Member(r["article_id"], r["published_at"], r["word_count"], r["domain"] or "", r["wire_agency"], r["word_count"] < min_body_words))
        for r, (samples, _, whole) in zip(rows, sketches)
    ]
    batch_ids = {r["article_id"] for r in rows}
    stored = history.near_clusters([samples for samples, _, _ in sketches]) if history is not None and rows else []
    stored = [m for m in stored if m["article_id"] not in batch_ids]  # a changed article replaces its stored version
    docs += [
        Doc(m["article_id"], m["sketch"], m["whole_hash"], Member(m["article_id"], m["published_at"], m["word_count"], m["domain"] or "", m["wire_agency"], m["word_count"] < min_body_words))
        for m in stored
    ]
    assigned = cluster(docs, containment)
    short = {d.key for d in docs if d.member.short}
    return NearDuplicates(
        assigned=assigned,
        sketches={r["article_id"]: (samples, whole) for r, (samples, _, whole) in zip(rows, sketches)},
        members=stored,
        unmatched_short={r["article_id"] for r in rows if r["article_id"] in short and assigned[r["article_id"]].canonical in short},
    )
