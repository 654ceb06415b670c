"""Known input: the load asks which raw documents an earlier run settled, once a shard, through a
sorted array of the ledger's id prefixes and the ledger itself for the ids found there."""

from __future__ import annotations

from pipeline.benchmarks.wire_corpus import Doc
from pipeline.store.db import read_connection
from pipeline.store.known_input import KnownInput
from tests.dedup.factory import story, text
from tests.dedup.flow import land_batches


def test_settled_ids_are_known_and_only_they(tmp_path):
    _, [(headline, paragraphs)] = story(8)
    first = Doc("first", text(headline, paragraphs), "https://paper.example/1", "2026-03-01T08:00:00+00:00", "x")
    second = Doc("second", text("Another day", paragraphs[2:]), "https://paper.example/2", "2026-03-01T09:00:00+00:00", "y")
    settings = land_batches(tmp_path, [[first, second]])
    with read_connection(settings.db_path) as con:
        [(run_id,)] = con.execute("SELECT run_id FROM runs").fetchall()
        settled = [r for (r,) in con.execute("SELECT raw_id FROM run_ledger ORDER BY raw_id").fetchall()]
        assert len(settled) == 2
        twin = settled[0][:16] + "0" * (len(settled[0]) - 16)  # same first 64 bits, another document
        unknown = "f" * 64
        known = KnownInput(con, "a-later-run")
        assert known([*settled, twin, unknown, "not hex at all"]) == set(settled)
        assert known([unknown]) == set() and known([]) == set()
        # A retry of the run that settled them settles them again.
        assert KnownInput(con, run_id)(settled) == set()


def test_no_corpus_knows_nothing():
    assert KnownInput(None, "run")(["a" * 64]) == set()
