"""A commit costs what changed: of the stored copies a batch touches (members of the clusters and
stories it joins), only those whose verdict or link changed are rewritten. An update rewrites the
whole row, body included, and writes delete files into the large files that hold it."""

from __future__ import annotations

import random

from pipeline.benchmarks.wire_corpus import generate
from pipeline.cli import main
from pipeline.store.db import CORPUS, read_connection, run_snapshot

VERDICT = "dup_cluster_id, is_canonical, story_id"


def write(folder, docs) -> None:
    for doc in docs:
        outlet = folder / doc.url.split("/")[2]
        outlet.mkdir(parents=True, exist_ok=True)
        (outlet / f"{doc.id}.txt").write_text(doc.text, encoding="utf-8")


def test_only_stored_rows_whose_verdict_changed_are_rewritten(tmp_path):
    docs = list(generate(300, seed=23))
    random.Random(23).shuffle(docs)  # copies of one story arrive in both batches
    for number, half in enumerate((docs[:150], docs[150:])):
        write(tmp_path / f"in{number}", half)
        command = ["run", "--input", str(tmp_path / f"in{number}"), "--home", str(tmp_path / "var"), "--run-id", f"R{number}", "--quiet"]
        assert main(command) == 0
    with read_connection(tmp_path / "var" / "corpus.sqlite") as con:
        first, second = run_snapshot(con, "R0"), run_snapshot(con, "R1")
        stored = f"(SELECT article_id, {VERDICT} FROM articles AT (VERSION => {first}))"
        # Stored copies in a cluster or story the second batch joined: what it touched.
        touched = con.execute(
            f"""SELECT count(*) FROM {stored} s WHERE s.dup_cluster_id IN (SELECT dup_cluster_id FROM articles WHERE run_id = 'R1')
                OR s.story_id IN (SELECT story_id FROM articles WHERE run_id = 'R1')"""
        ).fetchall()[0][0]
        # Stored rows the second batch did not replace (a replaced row is deleted and inserted).
        changed = con.execute(
            f"""SELECT count(*) FROM {stored} s JOIN articles a USING (article_id) WHERE a.run_id = 'R0'
                AND (s.dup_cluster_id, s.is_canonical, s.story_id) IS DISTINCT FROM (a.dup_cluster_id, a.is_canonical, a.story_id)"""
        ).fetchall()[0][0]
        relinked = con.execute(
            f"""SELECT count(*) FROM (SELECT * FROM dup_links AT (VERSION => {first})) s JOIN dup_links a USING (article_id)
                WHERE article_id IN (SELECT article_id FROM articles WHERE run_id = 'R0') AND (s.linked_to, s.similarity, s.method) IS DISTINCT FROM (a.linked_to, a.similarity, a.method)"""
        ).fetchall()[0][0]
        rewritten = con.execute(
            f"""SELECT count(*) FROM {CORPUS}.table_changes('articles', {second}, {second})
                WHERE change_type = 'update_postimage'"""
        ).fetchall()[0][0]
    assert touched > changed + relinked, (touched, changed, relinked)  # most touched copies keep their verdict
    assert changed <= rewritten <= changed + relinked, (rewritten, changed, relinked)
