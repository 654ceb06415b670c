"""Incremental deduplication through the whole flow: a batch is deduplicated against the stored
history, and landing the same documents in a different batch order gives the same clusters,
canonical copies and duplicate links."""

from __future__ import annotations

from pathlib import Path

from pipeline.cli import main
from pipeline.store.db import read_connection
from tests.dedup.factory import edited_copies, story, text


def write_batch(folder: Path, docs: dict[str, str]) -> Path:
    for name, body in docs.items():
        site = folder / f"{name.split('_')[0]}.example"
        site.mkdir(parents=True, exist_ok=True)
        (site / f"{name}.txt").write_text(body, encoding="utf-8")
    return folder


def land(db: Path, home: Path, *batches: Path) -> dict[str, tuple]:
    for batch in batches:
        assert main(["run", "--input", str(batch), "--db", str(db), "--home", str(home), "--quiet"]) == 0
    with read_connection(db) as con:
        rows = con.execute("SELECT article_id, dup_cluster_id, is_canonical, story_id FROM articles").fetchall()
        links = dict(con.execute("SELECT article_id, canonical_id FROM duplicates").fetchall())
        keyed = {r[0] for r in con.execute("SELECT a.article_id FROM articles a JOIN near_sketches s USING (article_id) JOIN near_keys k USING (doc_key)").fetchall()}
    return {a: (cluster, canonical, story, links.get(a), a in keyed) for a, cluster, canonical, story in rows}


def test_batch_order_does_not_change_clusters_or_canonicals(tmp_path):
    original, copies = edited_copies(31)
    _, [(headline, paragraphs), (other_headline, other_paragraphs)] = story(32, writeups=2)
    first = {"wire_original": original, "alpha_cut": copies["cut_to_two_paragraphs"], "beta_noisy": copies["ocr_noisy"],
             "gamma_writeup": text(headline, paragraphs)}
    second = {"delta_trimmed": copies["tail_trimmed"], "epsilon_edited": copies["lightly_edited"],
              "zeta_writeup": text(other_headline, other_paragraphs), "eta_cut": text(headline, paragraphs[:3])}
    a, b = write_batch(tmp_path / "a", first), write_batch(tmp_path / "b", second)
    forward = land(tmp_path / "forward.sqlite", tmp_path / "forward", a, b)
    backward = land(tmp_path / "backward.sqlite", tmp_path / "backward", b, a)
    assert forward == backward
    clusters = {cluster for cluster, *_ in forward.values()}
    assert len(forward) == 8 and len(clusters) == 3  # the wire story's five copies, two separate write-ups (one with its cut copy)
    canonical = [a for a, (cluster, is_canonical, *_ ) in forward.items() if is_canonical]
    assert sorted(canonical) == sorted(clusters)
    # only canonical copies are LSH keys; every copy is linked to its canonical
    assert all(keyed == is_canonical for _, is_canonical, _, _, keyed in forward.values())
    assert all(link == cluster for a, (cluster, is_canonical, _, link, _) in forward.items() if not is_canonical)


def test_a_rerun_leaves_the_index_unchanged(tmp_path):
    original, copies = edited_copies(33)
    batch = write_batch(tmp_path / "in", {"wire_original": original, "alpha_cut": copies["cut_to_two_paragraphs"], "beta_trim": copies["tail_trimmed"]})
    once = land(tmp_path / "db.sqlite", tmp_path / "home", batch)
    twice = land(tmp_path / "db.sqlite", tmp_path / "home", batch)
    assert once == twice and len({cluster for cluster, *_ in once.values()}) == 1
