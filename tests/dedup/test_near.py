"""Near-duplicate detection: each kind of republishing edit is found, write-ups are kept apart,
and the clusters do not depend on input order."""

from __future__ import annotations

import random
import unicodedata
from datetime import UTC, datetime

import pytest

from pipeline.benchmarks.dedup_quality import scores
from pipeline.benchmarks.wire_corpus import generate
from pipeline.dedup import cluster as clustering
from pipeline.dedup import sketch
from pipeline.dedup.canonical import Member, choose_canonical, is_agency_site
from pipeline.dedup.records import InputError, dedup_records
from pipeline.dedup.story import candidate_pairs, same_story, story_terms
from tests.dedup.factory import edited_copies, story, text


def clusters(records: list[dict]) -> dict[str, str]:
    return {r["id"]: r["cluster_id"] for r in dedup_records(records)}


def test_every_kind_of_edit_is_found():
    original, copies = edited_copies()
    records = [{"id": "original", "text": original, "published_at": "2026-03-01T08:00:00+00:00"}]
    records += [{"id": kind, "text": body} for kind, body in copies.items()]
    result = {r["id"]: r for r in dedup_records(records)}
    missed = [kind for kind in copies if result[kind]["cluster_id"] != "original"]
    assert missed == []
    assert all(result[kind]["canonical_id"] == "original" for kind in copies)


def test_writeups_of_one_event_are_not_merged():
    event, writeups = story(11, writeups=4)  # shared names, places, figures and quotes
    records = [{"id": f"writeup{i}", "text": text(h, p)} for i, (h, p) in enumerate(writeups)]
    records += [{"id": f"writeup{i}-cut", "text": text(h, p[:3])} for i, (h, p) in enumerate(writeups)]
    result = clusters(records)
    assert len({result[f"writeup{i}"] for i in range(4)}) == 4
    assert all(result[f"writeup{i}-cut"] == result[f"writeup{i}"] for i in range(4))


def test_similarity_and_method():
    original, copies = edited_copies(3)
    result = {r["id"]: r for r in dedup_records([
        {"id": "a", "text": original}, {"id": "b", "text": original.upper()}, {"id": "c", "text": copies["cut_to_two_paragraphs"]},
    ])}
    assert result["a"]["similarity"] == 1.0 and result["a"]["canonical_id"] == "a"  # the most complete copy leads without dates
    assert result["b"]["cluster_id"] == "a" and result["b"]["similarity"] == 1.0  # exact after folding case
    assert result["c"]["cluster_id"] == "a" and result["c"]["similarity"] >= 0.9  # containment of the cut copy


def test_input_order_and_reruns_give_the_same_clusters_and_canonicals():
    docs = generate(600, seed=9)
    records = [{"id": d.id, "text": d.text, "url": d.url, "published_at": d.published_at} for d in docs]
    first = dedup_records(records)
    shuffled = list(records)
    random.Random(1).shuffle(shuffled)
    again = {r["id"]: r for r in dedup_records(shuffled)}
    assert [again[r["id"]] for r in first] == first
    assert dedup_records(records) == first


def test_quality_floor_on_generated_wire_copies():
    docs = generate(1500, seed=21)
    rows = dedup_records([{"id": d.id, "text": d.text, "url": d.url, "published_at": d.published_at} for d in docs])
    result = scores([d.label for d in docs], [r["cluster_id"] for r in rows])
    assert result["precision"] >= 0.995
    assert result["ari"] >= 0.95


def test_compiled_and_reference_implementations_agree():
    if sketch._sketch is None:
        pytest.skip("the compiled module is not built")
    docs = generate(400, seed=5)
    texts = [d.text for d in docs] + ["", "tiny", "Café «quoted» — rn vv 10 ÀÉÎ 日本語", "a\ud800b lone surrogate"]
    compiled = sketch.sketch_texts(texts)
    assert compiled == [sketch.sketch_python(t) for t in texts]
    samples, wholes = [s for s, _, _ in compiled], [w for _, _, w in compiled]
    args = (clustering.CONTAINMENT, clustering.FULL_COPY, clustering.MIN_SHARED, clustering.CANDIDATE_POSTING, clustering.MAX_CANDIDATES, clustering.KEY_MODULUS)
    assert sketch._sketch.cluster_sorted(samples, wholes, *args) == clustering.cluster_sorted(samples, wholes)


def test_folding_ignores_case_spacing_hyphenation_and_ocr_confusions():
    clean = sketch.sketch_texts(["The modern harbour closed on Tuesday, officials said."])[0]
    noisy = sketch.sketch_texts(["THE rnodern har-\nbour c1osed 0n Tues day , officiaIs said"])[0]
    assert clean[2] == noisy[2]


def test_duplicate_ids_are_refused():
    with pytest.raises(InputError):
        dedup_records([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])


def test_canonical_policy():
    early = datetime(2026, 11, 3, 8, tzinfo=UTC)
    late = datetime(2026, 11, 3, 12, tzinfo=UTC)
    members = [Member("b", late, 900, "paper.example", "AP"), Member("a", early, 500, "paper.example", "AP"), Member("c", None, 1000)]
    assert choose_canonical(members).article_id == "a"
    members.append(Member("z", late, 400, "apnews.com", "AP"))
    assert choose_canonical(members).article_id == "z"  # the agency's own copy


def test_agency_copy_leads_its_cluster_at_the_command_line():
    original, copies = edited_copies(4)
    result = clusters([
        {"id": "paper", "text": original, "url": "https://paper.example/a", "published_at": "2026-03-01T08:00:00+00:00"},
        {"id": "wire", "text": copies["tail_trimmed"], "url": "https://apnews.com/article/x", "published_at": "2026-03-01T09:00:00+00:00"},
    ])
    assert result == {"paper": "wire", "wire": "wire"}


def test_story_terms_group_writeups():
    one = story_terms("Quake hits Val Moranza", "Rescuers in Val Moranza said Civil Protection chief Elena Ruggeri flew to Bormio.\nIn Val Moranza, Ruggeri met Bormio officials.")
    two = story_terms("Villages cut off", "The road to Val Moranza stayed shut, Ruggeri said.\nBormio hospital took the injured, Civil Protection said.")
    assert same_story(one, two, None, None, 3, 3)
    assert not same_story(one, ["Prague", "Czech", "National", "Bank"], None, None, 3, 3)


def test_story_candidates_are_every_pair_sharing_enough_terms():
    rng = random.Random(3)
    terms = {f"a{i}": rng.sample([f"name{k}" for k in range(40)], 12) for i in range(60)}
    ids = sorted(terms)
    every = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :] if len(set(terms[a]) & set(terms[b])) >= 5]
    assert every and candidate_pairs(terms, 5) == every


@pytest.mark.parametrize("host", ["apnews.com", "www.apnews.com", "APNEWS.COM.", "ap.org", "www.reuters.com", "afp.com", "english.news.cn", "en.yna.co.kr", "kyodonews.net"])
def test_agency_sites_are_their_own_domains_and_subdomains(host):
    assert is_agency_site(host)


@pytest.mark.parametrize("host", ["snapnews.com", "cheap.org", "mapnews.net", "reuters.fakenews.example", "apnews.com.evil.example", "notreuters.com", "safp.com", "defe.com", ""])
def test_hosts_that_only_contain_an_agency_name_are_not_agency_sites(host):
    assert not is_agency_site(host)


@pytest.mark.parametrize(("one", "other"), [
    ("Le président a été élu à Genève après une réunion très animée", None),  # NFC against NFD
    ("ПРАВИТЕЛЬСТВО ОБЪЯВИЛО О НОВЫХ МЕРАХ ПОДДЕРЖКИ ЭКОНОМИКИ", "правительство объявило о новых мерах поддержки экономики"),
    ("Władze Łodzi zapowiedziały budowę nowego mostu na rzece", "Wladze Lodzi zapowiedzialy budowe nowego mostu na rzece"),
    ("Ἡ βουλὴ ψήφισε τὸν νέο νόμο", "Η ΒΟΥΛΗ ΨΗΦΙΣΕ ΤΟΝ ΝΕΟ ΝΟΜΟ"),
    ("ﬁnal ｆｕｌｌｗｉｄｔｈ", "final fullwidth"),
])
def test_folding_matches_case_and_accents_in_every_script(one, other):
    if other is None:
        one, other = unicodedata.normalize("NFC", one), unicodedata.normalize("NFD", one)
    compiled = sketch.sketch_texts([one, other])
    assert compiled[0][2] == compiled[1][2] and compiled[0][0] == compiled[1][0] and compiled[0][1] == compiled[1][1]
    assert compiled == [sketch.sketch_python(one), sketch.sketch_python(other)]


def test_texts_without_letters_or_digits_are_not_exact_copies_of_each_other():
    rows = dedup_records([{"id": "a", "text": ""}, {"id": "b", "text": "!!!"}, {"id": "c", "text": "   "}, {"id": "d", "text": "— … «»"}])
    assert [r["cluster_id"] for r in rows] == ["a", "b", "c", "d"]


def test_compiled_folding_agrees_with_unicodedata_on_every_code_point():
    if sketch._sketch is None:
        pytest.skip("the compiled module is not built")
    # Each code point between two letters: a combining mark or a letter keeps one word, anything else splits it.
    chars = [chr(c) for c in range(0x100, 0x30000) if not 0xD800 <= c < 0xE000 and unicodedata.normalize("NFKD", chr(c)) == chr(c)]
    for start in range(0, len(chars), 4096):
        chunk = chars[start : start + 4096]
        texts = ["a" + c + "b" for c in chunk]
        assert sketch._sketch.sketch_many(texts, sketch.GRAM, sketch.MODULUS) == [sketch.sketch_python(t) for t in texts]


@pytest.mark.parametrize("seed", range(12))
def test_a_digest_quoting_several_stories_does_not_merge_them(seed):
    """A morning briefing (published first) quotes the opening paragraphs of three unrelated
    stories: it may take one of them, never all three."""
    writeups = [story(100 * k + seed)[1][0] for k in (1, 2, 3)]
    digest = "Morning briefing\n" + "\n".join(line for headline, paragraphs in writeups for line in (headline, *paragraphs[:4]))
    records = [{"id": name, "text": text(headline, paragraphs), "published_at": f"2026-03-01T08:{10 * k}0:00+00:00"}
               for k, (name, (headline, paragraphs)) in enumerate(zip("ABC", writeups))]
    records.append({"id": "digest", "text": digest, "published_at": "2026-03-01T07:00:00+00:00"})
    clusters = {r["id"]: r["cluster_id"] for r in dedup_records(records)}
    assert len({clusters[name] for name in "ABC"}) == 3


def test_partial_copies_of_one_original_still_join_it():
    original, copies = edited_copies(12)
    records = [{"id": "original", "text": original, "published_at": "2026-03-01T08:00:00+00:00"}]
    records += [{"id": kind, "text": copies[kind], "published_at": "2026-03-01T09:00:00+00:00"} for kind in ("cut_to_two_paragraphs", "tail_trimmed", "lightly_edited", "all_at_once")]
    assert {r["cluster_id"] for r in dedup_records(records)} == {"original"}
