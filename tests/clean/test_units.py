from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from pipeline.clean import clean_document
from pipeline.clean.decode import decode_payload
from pipeline.clean.metadata import InvalidDate, detect_language, parse_byline, parse_date
from pipeline.clean.text import clean_text
from pipeline.model import DocumentError


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Wednesday, 14 January 2026 12:00 AM EST", datetime(2026, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=-5)))),
        ("13.01.2026 19:27", datetime(2026, 1, 13, 19, 27)),
        ("Sunday, January 18, 2026", datetime(2026, 1, 18)),
        ("16. November 2026, 07:45 Uhr", datetime(2026, 11, 16, 7, 45)),
        ("Published: 5 Nov 2026, 16:45", datetime(2026, 11, 5, 16, 45)),
        ("2026-11-03T09:15:00+00:00", datetime(2026, 11, 3, 9, 15, tzinfo=UTC)),
        ("The port reopened on 5 Nov 2026 after talks", None),
    ],
)
def test_parse_date(line, expected):
    assert parse_date(line) == expected


@pytest.mark.parametrize("line", ["2026-00-14", "31.02.2026", "2026-11-03T25:00:00"])
def test_impossible_dates_are_rejected_not_guessed(line):
    with pytest.raises(InvalidDate):
        parse_date(line)


def test_byline_drops_junk():
    assert parse_byline("By Ana Ferreira and Tom Hale, Associated Press") == ["Ana Ferreira", "Tom Hale"]
    assert parse_byline("By Staff") == []
    assert parse_byline("Byzantine ruins found near the harbour") is None


def test_decode_errors_are_specific():
    with pytest.raises(DocumentError) as exc:
        decode_payload("café".encode("latin-1"), "text/plain")
    assert exc.value.reason == "invalid_encoding" and "0xe9" in exc.value.detail
    with pytest.raises(DocumentError) as exc:
        decode_payload(b"\x89PNG\r\n\x1a\n\x00\x00", "text/html")
    assert exc.value.reason == "binary_content"
    assert decode_payload('<meta charset="iso-8859-1"><p>café</p>'.encode("latin-1"), "text/html").endswith("café</p>")


def test_multilingual_families():
    text = "\n".join([
        "Wir verwenden Cookies, um Ihnen ein besseres Nutzungserlebnis zu bieten.",
        "Der Stadtrat hat am Dienstag nach langer Debatte eine neue Abgabe für Tagesgäste beschlossen, die ab März gilt.",
        "Newsletter abonnieren",
        "Die Opposition kündigte an, gegen den Beschluss vor dem Verwaltungsgericht zu klagen, falls nötig auch in zweiter Instanz.",
        "Nous utilisons des cookies pour mesurer l'audience.",
        "© 2026 Rheinblatt. Alle Rechte vorbehalten.",
    ])
    result = clean_text(text)
    reasons = [s.reason for s in result.removed]
    assert reasons == ["cookie_banner", "newsletter_prompt", "cookie_banner", "copyright_footer"]
    assert result.body.count("\n") == 1


def _page(*parts: list[str]) -> str:
    return "\n".join(line for part in parts for line in part)


ARTICLE = [
    "Harbour authority approves night ferry trial",
    "By Marta Quintela",
    "Published: 5 Nov 2026, 16:45",
    "The harbour authority on Tuesday approved a six-month trial of a night ferry between the old port and the new housing district across the estuary, a route residents have requested for years.",
    "The service will run every forty minutes between eleven at night and five in the morning, using one of the two electric vessels the city bought last spring.",
    "Officials said the trial would be judged on passenger numbers and on noise complaints from houseboats moored along the northern quay.",
]


def test_comment_section_ends_the_article():
    # Comments are prose too, and often longer than the article: only the section header separates them.
    comments = [
        "12 Comments",
        "riverwatcher says:",
        "About time. I have been asking the council for a late ferry since the bridge closed and nobody ever answered my letters or my emails about it.",
        "My daughter works nights at the hospital and currently pays for a taxi twice a week, which costs more than her groceries do.",
        "If the trial works I hope they extend it to the weekend afternoons as well, when the bus across the bridge is always full.",
        "quaysider says:",
        "Forty minutes is far too long to wait at night in winter, and the shelter on the north side has been broken for two years already.",
        "Fix the shelter first and then talk about new services, because nobody will stand in the rain at two in the morning for a boat.",
    ]
    result = clean_text(_page(ARTICLE, comments))
    assert result.body.splitlines()[-1].startswith("Officials said the trial")
    assert "riverwatcher" not in result.body and "Forty minutes" not in result.body
    assert {s.reason for s in result.removed if s.text == "12 Comments"} == {"comment_widget"}


def test_teaser_list_after_the_article_is_not_body():
    teasers = []
    for n in range(6):
        teasers += [
            f"Council Announces New Parking Rules For District {n}",
            "Staff Writer",
            f"The changes, which take effect in January, will affect more than {n + 2},000 residents who park on the street overnight in the district.",
        ]
    result = clean_text(_page(ARTICLE, ["More from the Harbour Gazette"], teasers))
    assert result.body.splitlines()[0].startswith("The harbour authority on Tuesday")
    assert "parking" not in result.body.casefold()


def test_header_metadata_is_read_and_removed():
    result = clean_text(_page(ARTICLE))
    assert result.title == "Harbour authority approves night ferry trial"
    assert result.authors == ["Marta Quintela"]
    assert result.published_at == datetime(2026, 11, 5, 16, 45)
    assert result.body.count("\n") == 2


def test_dates_far_from_the_headline_do_not_reject_the_page():
    footer = ["Comment posted 2026-00-14", "Archive: 31.02.2026"]
    result = clean_text(_page(ARTICLE, footer))
    assert result.date_error is None and result.published_at == datetime(2026, 11, 5, 16, 45)


@pytest.mark.parametrize(
    "line, expected",
    [
        ("11.15.2019 10:09 AM", datetime(2019, 11, 15, 10, 9)),
        ("November 19, 2019 12:04AM ET", datetime(2019, 11, 19, 0, 4, tzinfo=ZoneInfo("America/New_York"))),
        ("November 20, 2019 - 11:28 AMT", datetime(2019, 11, 20, 11, 28)),  # Armenia or Amazon: zone left unset
    ],
)
def test_month_first_dates_and_zone_abbreviations(line, expected):
    parsed = parse_date(line)
    assert parsed == expected and (parsed.tzinfo is None) == (expected.tzinfo is None)


@pytest.mark.parametrize(
    "text, language",
    [
        ("The council said the ferry would run every forty minutes and that the trial is going to last six months.", "en"),
        ("Der Stadtrat hat am Dienstag beschlossen, dass die Fähre in der Nacht fahren wird und der Versuch sechs Monate dauert.", "de"),
        ("Le conseil a décidé mardi que le bac circulera la nuit et que l'essai durera six mois pour les habitants.", "fr"),
        ("El consejo decidió el martes que el ferry circulará por la noche y que la prueba durará seis meses.", "es"),
        ("Il consiglio ha deciso martedì che il traghetto circolerà di notte e che la prova durerà sei mesi.", "it"),
        ("O conselho decidiu na terça-feira que a balsa vai circular à noite e que o teste vai durar seis meses.", "pt"),
        ("Совет во вторник решил, что паром будет ходить ночью, а испытание продлится шесть месяцев.", "ru"),
    ],
)
def test_language(text, language):
    assert detect_language(text) == language


def test_phrase_patterns_have_prefilter_words():
    import json

    from pipeline.clean.phrases import PHRASES_FILE, phrase_book

    data = json.loads(PHRASES_FILE.read_text(encoding="utf-8"))
    triggers = data["contains_triggers"]
    for family, spec in data["families"].items():
        for expr in spec.get("contains", []):
            assert any(t in expr for t in triggers), f"{family}: contains pattern {expr!r} has no trigger word"
    book = phrase_book()
    assert book.wire_agency("SEOUL, Nov 5 (Yonhap) -- The") == "Yonhap"
    assert book.wire_agency("TOKYO (Kyodo) -- The") == "Kyodo"
    assert book.wire_agency("BERLIN (dpa) - Die") == "dpa"
    assert book.wire_agency("A quiet day at the harbour") is None


def test_unspaced_scripts_count_words_by_characters():
    from pipeline.model import count_words

    japanese = "先日、不正に改造した端末を販売したとして、二十代の男性が逮捕されたというニュースを耳にしました。"
    assert count_words("The harbour authority approved a trial.") == 6
    assert count_words(japanese) >= 20
    second = "報道によると、今回販売されたのは、機能制限を解除した端末で、公式の店では扱われていないものでした。"
    result = clean_text("\n".join(["端末の改造に注意", japanese, second, "関連記事"]))
    assert result.prose_words >= 20  # a Japanese sentence is prose, not a one-word label


def test_a_page_of_headlines_is_not_an_article():
    from pipeline.model import RawDocument

    headlines = "".join(f"<li><a href='/s{n}'>Harbour story number {n} about the new ferry and the quay works</a></li>" for n in range(30))
    html = f"<html><head><title>Harbour</title></head><body><ul>{headlines}</ul></body></html>"
    raw = RawDocument("r", "u", "harbour.example", datetime.now(UTC), "text/html", html.encode())
    with pytest.raises(DocumentError) as exc:
        clean_document(raw)
    assert exc.value.reason == "no_article_text"


def test_authors_without_junk():
    from pipeline.clean.metadata import clean_authors

    raw = ["Staff", "Share on Facebook", "Nov 5, 2026", "Ana Ferreira", "https://harbour.example/ana", "ana@harbour.example", "Reuters", "Tom Hale"]
    assert clean_authors(raw) == ["Ana Ferreira", "Tom Hale"]


def test_body_hash_from_the_cleaner_equals_content_hash():
    from pipeline.clean import content_hash
    from pipeline.model import Quarantined
    from pipeline.sources import iter_local_documents
    from tests.conftest import SAMPLE_CORPUS

    checked = 0
    for raw in iter_local_documents([SAMPLE_CORPUS], 10**7):
        if isinstance(raw, Quarantined):
            continue
        try:
            article = clean_document(raw)
        except DocumentError:
            continue
        assert article.body_hash == content_hash(article.body), raw.uri
        checked += 1
    assert checked >= 20


def test_article_urls_keep_identifying_parameters_and_match_the_fetcher():
    from pipeline.clean import article_id_for, canonical_url
    from pipeline.sources.web.urls import canonical_url as fetch_canonical_url

    first, second = "https://n.example/story.php?cid=101", "https://n.example/story.php?cid=102&utm_source=feed"
    assert canonical_url(first) != canonical_url(second)
    assert article_id_for(canonical_url(first), "") != article_id_for(canonical_url(second), "")
    assert canonical_url(second) == fetch_canonical_url(second) == "https://n.example/story.php?cid=102"
    assert canonical_url("ftp://n.example/a") is None and canonical_url("https://[::1") is None
