from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipeline.clean.decode import decode_payload
from pipeline.clean.metadata import InvalidDate, parse_byline, parse_date
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
