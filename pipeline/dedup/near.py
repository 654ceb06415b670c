"""Near-duplicate level of a batch: its documents and the stored clusters they touch are
clustered together (``cluster.py``), so a new batch is deduplicated against the whole history
and a stored cluster is re-led when a better canonical copy arrives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pipeline.dedup.canonical import Member
from pipeline.dedup.cluster import CONTAINMENT, Assignment, Doc, cluster
from pipeline.dedup.sketch import sketch_texts

NEAR_COLUMNS = ("article_id", "published_at", "word_count", "domain", "wire_agency", "sketch", "whole_hash")


@dataclass(slots=True)
class NearDuplicates:
    assigned: dict[str, Assignment]  # batch articles and the stored articles re-clustered with them
    members: list[dict]  # the stored articles re-clustered (rows of StoredIndex.near_clusters)
    unmatched_short: set[str]  # short batch texts that are no near-copy of a full article
    batch: tuple[Sequence[str], Sequence[bytes], Sequence[int]] = ((), (), ())  # batch ids, sketches, whole-text hashes
    _sketches: dict[str, tuple[bytes, int]] | None = field(default=None, repr=False)

    @property
    def sketches(self) -> dict[str, tuple[bytes, int]]:
        """Batch article -> (sketch, whole-text hash), built on first use: the dedup stage never
        asks, and a dict of the whole batch costs memory it does not need."""
        if self._sketches is None:
            ids, samples, wholes = self.batch
            self._sketches = dict(zip(ids, zip(samples, wholes)))
        return self._sketches


def near_duplicates(rows: list[dict], history=None, containment: float = CONTAINMENT, min_body_words: int = 0) -> NearDuplicates:
    """``rows`` are article rows (``article_id``, ``published_at``, ``word_count``, ``domain``,
    ``wire_agency``, and ``sketch`` with ``whole_hash`` as the clean stage computes them, else
    ``body``); ``history`` a ``StoredIndex`` or None. Texts under ``min_body_words`` words come
    last in the visiting order, so they never lead a cluster: one that joins no full article is
    reported in ``unmatched_short``."""
    columns = {name: [r[name] for r in rows] for name in NEAR_COLUMNS if name not in ("sketch", "whole_hash")}
    if rows and "sketch" in rows[0]:
        columns["sketch"], columns["whole_hash"] = [r["sketch"] for r in rows], [r["whole_hash"] for r in rows]
    else:
        sketches = sketch_texts([r["body"] for r in rows])
        columns["sketch"], columns["whole_hash"] = [s for s, _, _ in sketches], [w for _, _, w in sketches]
    return near_duplicates_columns(columns, history, containment, min_body_words)


def near_duplicates_columns(columns: Mapping[str, Sequence], history=None, containment: float = CONTAINMENT, min_body_words: int = 0) -> NearDuplicates:
    """``near_duplicates`` on the batch given column by column (``NEAR_COLUMNS``, sketches
    computed), so a big batch needs no Python dict per article."""
    ids, sketches, wholes = columns["article_id"], columns["sketch"], columns["whole_hash"]
    docs = [
        Doc(a, samples, whole, Member(a, published, words, domain or "", agency, words < min_body_words))
        for a, samples, whole, published, words, domain, agency in zip(
            ids, sketches, wholes, columns["published_at"], columns["word_count"], columns["domain"], columns["wire_agency"])
    ]
    stored = history.near_clusters(list(sketches)) if history is not None and ids else []
    if stored:
        batch_ids = set(ids)
        stored = [m for m in stored if m["article_id"] not in batch_ids]  # a changed article replaces its stored version
    docs += [
        Doc(m["article_id"], m["sketch"], m["whole_hash"], Member(m["article_id"], m["published_at"], m["word_count"], m["domain"] or "", m["wire_agency"], m["word_count"] < min_body_words))
        for m in stored
    ]
    assigned = cluster(docs, containment)
    short = {d.key for d in docs if d.member.short}
    del docs
    return NearDuplicates(
        assigned=assigned,
        members=stored,
        unmatched_short={a for a in ids if a in short and assigned[a].canonical in short},
        batch=(ids, sketches, wholes),
    )
