"""A re-fetched article whose body changed (same URL, so the same article_id) replaces its stored
version in the next batch."""

from __future__ import annotations

from pipeline.benchmarks.wire_corpus import Doc
from pipeline.store.db import read_connection
from tests.dedup.factory import story, text
from tests.dedup.flow import land_batches, stored_clusters


def test_an_updated_article_replaces_its_stored_version(tmp_path):
    _, [(headline, paragraphs)] = story(5)
    first = Doc("paper-1", text(headline, paragraphs), "https://paper.example/news/1", "2026-03-01T08:00:00+00:00", "x")
    updated = Doc("paper-1", first.text + "\nUpdated at 10:00 with a correction to the figures.", first.url, first.published_at, "x")
    settings = land_batches(tmp_path, [[first], [updated]])
    assert stored_clusters(settings) == {"paper-1": ("paper-1", True, None)}
    with read_connection(settings.db_path) as con:
        assert con.execute("SELECT body FROM articles").fetchall() == [(updated.text,)]
        assert con.execute("SELECT count(*) FROM near_sketches").fetchall() == [(1,)]
        assert con.execute("SELECT count(DISTINCT doc_key) FROM near_keys").fetchall() == [(1,)]


def test_copies_of_a_quarantined_leader_are_measured_against_the_new_one(tmp_path):
    _, [(headline, paragraphs)] = story(6)
    original = Doc("original", text(headline, paragraphs), "https://apnews.com/a/1", "2026-03-01T08:00:00+00:00", "x")
    head = Doc("head", text(headline, paragraphs[:4]), "https://paper.example/head", "2026-03-01T09:00:00+00:00", "x")
    tail = Doc("tail", text("Later that day", paragraphs[-3:], byline=""), "https://other.example/tail", "2026-03-01T10:00:00+00:00", "x")
    settings = land_batches(tmp_path, [[original, head, tail]], quarantined=("original",))
    stored = stored_clusters(settings)
    # without the original, its first paragraphs and its last ones are not copies of each other
    assert stored == {"head": ("head", True, None), "tail": ("tail", True, None)}
