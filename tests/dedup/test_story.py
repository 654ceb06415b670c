"""The story level stays linear in the batch and in the history when a name is in every article,
and still groups the write-ups of one event (and only them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pyarrow as pa

from pipeline.dedup import story
from pipeline.dedup.cluster import Assignment
from pipeline.dedup.history import StoredIndex
from pipeline.settings import Settings
from pipeline.store.db import connect

START = datetime(2026, 1, 1, tzinfo=UTC)
TOPICAL = ["helena", "varga", "president", "parliament", "budget"]  # in every article


def _event_batch(events: int, writeups: int) -> list[dict]:
    """Every article holds the five topical names (so any two share five terms) and seven of its
    event's eight own names; events are four days apart, so only the window keeps them apart."""
    rows = []
    for e in range(events):
        names = [f"name{e}x{k}" for k in range(8)]
        rows.extend(
            {"article_id": f"e{e:03d}w{w}", "published_at": START + timedelta(days=4 * e, hours=w), "story_terms": TOPICAL + names[:w % 8] + names[w % 8 + 1 :]}
            for w in range(writeups)
        )
    return rows


def _no_copies(rows: list[dict]):
    return SimpleNamespace(assigned={r["article_id"]: Assignment(r["article_id"], 1.0, "exact") for r in rows}, members=[])


def _counting(monkeypatch) -> list[int]:
    calls = [0]
    verify = story.same_story

    def counted(*args):
        calls[0] += 1
        return verify(*args)

    monkeypatch.setattr(story, "same_story", counted)
    return calls


def test_a_name_in_every_article_does_not_make_the_pairs_quadratic(monkeypatch):
    rows = _event_batch(events=150, writeups=6)
    n = len(rows)
    calls = _counting(monkeypatch)
    groups = story.assign_stories(rows, _no_copies(rows), None, Settings()).groups
    assert calls[0] <= n * (story.NEIGHBOURS + 6)  # every pair shares five terms: n²/2 = 405,000 before
    assert len(story.candidate_pairs({r["article_id"]: r["story_terms"] for r in rows}, 5, {r["article_id"]: r["published_at"] for r in rows})) <= n * (story.NEIGHBOURS + 6)
    found = {}
    for r in rows:
        found.setdefault(r["article_id"][:4], set()).add(groups.find(r["article_id"]))
    assert all(len(roots) == 1 for roots in found.values())  # the write-ups of one event share a story
    assert len(set().union(*found.values())) == 150  # and no two events do


def test_a_big_story_chains_through_a_common_name():
    # 60 write-ups of one event: its names are held by more articles than a term is paired for
    # in full, yet the event stays one story; the events around it stay apart.
    rows = _event_batch(events=5, writeups=6)
    big = [f"big{k}" for k in range(8)]
    rows += [{"article_id": f"big{w:02d}", "published_at": START + timedelta(days=30, minutes=10 * w), "story_terms": TOPICAL + big[:w % 8] + big[w % 8 + 1 :]}
             for w in range(60)]
    assert story.POSTING_CAP < 60
    groups = story.assign_stories(rows, _no_copies(rows), None, Settings()).groups
    assert len({groups.find(r["article_id"]) for r in rows if r["article_id"].startswith("big")}) == 1
    assert len({groups.find(r["article_id"]) for r in rows}) == 6


def test_a_copy_takes_its_canonical_copys_story():
    # a copy cut to its opening shares too few names with anything to be grouped on its own
    rows = _event_batch(events=2, writeups=3)
    rows.append({"article_id": "copy", "published_at": START + timedelta(days=40), "story_terms": ["cut", "short"]})
    near = _no_copies(rows)
    near.assigned["copy"] = Assignment("e001w0", 0.6, "containment")
    groups = story.assign_stories(rows, near, None, Settings()).groups
    assert groups.find("copy") == groups.find("e001w2") != groups.find("e000w0")


def _stored_corpus(con, settings: Settings) -> None:
    """One stored write-up of the batch's event, and 3,000 stored articles of other stories (months
    before) holding the five topical names, so each shares five terms with the batch."""
    rows = [("stored-writeup", START, "story-quake", ["helena", "varga", "quake", "moranza", "ruggeri", "bormio", "rescuers"])]
    rows += [(f"old{i:04d}", START - timedelta(days=10 + i % 300), f"story-old{i:04d}", TOPICAL + [f"other{i}", f"else{i}"]) for i in range(3000)]
    stored = pa.table({"article_id": [a for a, _, _, _ in rows], "published_at": pa.array([w for _, w, _, _ in rows], pa.timestamp("us", "UTC")),
                       "story_id": [s for _, _, s, _ in rows]})
    terms = pa.table({"term": [t for _, _, _, ts in rows for t in ts], "article_id": [a for a, _, _, ts in rows for _ in ts]})
    con.register("stored", stored)
    con.register("terms", terms)
    con.execute(
        "INSERT INTO articles (article_id, raw_id, domain, published_at, body, word_count, content_hash, dup_cluster_id, is_canonical, story_id,"
        " run_id, pipeline_version, ingested_at, uri) SELECT article_id, article_id, 'paper.example', published_at, 'text', 300, article_id,"
        " article_id, true, story_id, 'run0', 'test', published_at, article_id FROM stored"
    )
    con.execute("INSERT INTO story_terms SELECT term, article_id FROM terms")


def test_the_history_finds_the_stored_writeup_of_the_event_and_no_flood_of_candidates(tmp_path):
    settings = Settings(home=tmp_path)
    with connect(tmp_path / "history.sqlite") as con:
        _stored_corpus(con, settings)
        _assert_story_candidates(con, settings)


def _assert_story_candidates(con, settings: Settings) -> None:
    batch = [
        {"article_id": "new-quake", "published_at": START + timedelta(hours=5), "story_terms": TOPICAL + ["quake", "moranza", "ruggeri", "bormio", "rescuers"]},
        {"article_id": "new-other", "published_at": START + timedelta(hours=6), "story_terms": ["helena", "varga", "strike", "porto", "silva", "dockers", "harbour"]},
    ]
    with StoredIndex(settings, con=con) as history:
        assert history.available
        candidates = history.story_candidates({r["article_id"]: r["story_terms"] for r in batch}, {r["article_id"]: r["published_at"] for r in batch})
        assert sum(len(found) for found in candidates.values()) <= 2  # all 3,000 share five terms with both before
        assert [c["article_id"] for c in candidates["new-quake"]] == ["stored-writeup"]
        groups = story.assign_stories(batch, _no_copies(batch), history, settings).groups
    assert groups.find("new-quake") == groups.find("stored-writeup") == groups.find("story-quake")
    assert groups.find("new-other") != groups.find("new-quake")


def test_story_terms_are_the_capitalised_names_inside_sentences():
    title = "Varga's budget fails in Parliament"
    body = (
        "The vote in Parliament went against Helena Varga on Tuesday.\n"
        "Critics said Varga's plan was late. Opposition leaders met in Budapest.\r"
        "Budapest was calm; the McDonald-Smith report, from Szeged, said little.\u2028"
        "Ágnes Kovács of the Ministry spoke. iPhone and eBay are not names."
    )
    terms = story.story_terms(title, body)
    # Sentence- and line-initial words are not names; a capital inside a word starts none.
    assert terms[:2] == ["parliament", "varga"]
    assert set(terms) == {"parliament", "varga", "helena", "tuesday", "budapest", "mcdonald-smith", "szeged", "kovács", "ministry"} - story.STOP
    assert "opposition" not in terms and "critics" not in terms and "the" not in terms
    assert "phone" not in terms and "bay" not in terms and "ágnes" not in terms


def test_story_candidates_of_a_batch_in_chunks_are_those_of_the_whole_batch(tmp_path, monkeypatch):
    """Terms are ranked by the whole batch's counts in every chunk, so the prefixes (and the
    candidates) do not depend on where the chunks fall."""
    from pipeline.dedup import history as history_module

    settings = Settings(home=tmp_path)
    # Follow-ups of 100 stored stories (two of their own names and three topical ones each), and
    # 200 articles of new events: every one holds topical names the whole history holds too.
    batch = [{"article_id": f"follow{i:04d}", "published_at": START - timedelta(days=10 + i % 300, hours=-3),
              "story_terms": TOPICAL[:3] + [f"other{i}", f"else{i}", f"new{i}"]} for i in range(0, 300, 3)]
    batch += _event_batch(events=10, writeups=20)
    terms = {r["article_id"]: r["story_terms"] for r in batch}
    when = {r["article_id"]: r["published_at"] for r in batch}

    def candidates() -> dict:
        with StoredIndex(settings, con=con) as history:
            found = history.story_candidates(terms, when)
        return {k: [(c["article_id"], c["story_id"], sorted(c["terms"])) for c in v] for k, v in found.items()}

    with connect(tmp_path / "history.sqlite") as con:
        _stored_corpus(con, settings)
        whole = candidates()
        monkeypatch.setattr(history_module, "STORY_CHUNK_KEYS", 7)
        assert candidates() == whole
    assert {k: [c[0] for c in v] for k, v in whole.items()} == {f"follow{i:04d}": [f"old{i:04d}"] for i in range(0, 300, 3)}
