"""Deduplication: exact copies, near-duplicate wire copies and story clusters."""

from __future__ import annotations

from datetime import datetime


def dedup_records(records: list[dict], threshold: float = 0.7) -> list[dict]:
    """Clusters for ``newsingest dedup``: one output per input, in input order:
    ``{"id", "cluster_id", "canonical_id", "similarity"}``; ``cluster_id`` is the canonical id."""
    from pipeline.clean import content_hash
    from pipeline.dedup.canonical import Member, choose_canonical
    from pipeline.dedup.near import UnionFind, fingerprint, links_within

    ids = [str(r["id"]) for r in records]
    if len(set(ids)) != len(ids):
        raise ValueError("ids must be unique")
    prints = [fingerprint(i, content_hash(r["text"]), r["text"]) for i, r in zip(ids, records)]
    links = links_within(prints, threshold)
    uf = UnionFind()
    for i in ids:
        uf.find(i)
    best: dict[tuple[str, str], float] = {}
    for link in links:
        uf.union(link.a, link.b)
        best[(link.a, link.b)] = best[(link.b, link.a)] = link.similarity
    members = {}
    for i, r in zip(ids, records):
        published = None
        if isinstance(r.get("published_at"), str):
            try:
                published = datetime.fromisoformat(r["published_at"])
            except ValueError:
                published = None
        members[i] = Member(i, published, len(r["text"].split()), "", None)
    canonical = {}
    for group in uf.groups().values():
        chosen = choose_canonical([members[i] for i in group]).article_id
        for i in group:
            canonical[i] = chosen
    by_id = {fp.key: fp for fp in prints}
    out = []
    for i in ids:
        chosen = canonical[i]
        if i == chosen:
            similarity = 1.0
        else:
            similarity = best.get((i, chosen))
            if similarity is None:
                from pipeline.dedup.near import verify

                link = verify(by_id[i], by_id[chosen], 0.0)
                similarity = link.similarity if link else 0.0
        out.append({"id": i, "cluster_id": chosen, "canonical_id": chosen, "similarity": similarity})
    return out
