"""Metadata from text: dates (strictly validated), bylines, wire agencies, language."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

from pipeline.clean.phrases import PhraseBook

MONTHS = {
    # en, de, fr, es, it, pt; abbreviations included
    **dict.fromkeys(["january", "jan", "januar", "jänner", "janvier", "janv", "enero", "ene", "gennaio", "gen", "janeiro"], 1),
    **dict.fromkeys(["february", "feb", "februar", "février", "févr", "fevrier", "febrero", "febbraio", "fevereiro", "fev"], 2),
    **dict.fromkeys(["march", "mar", "märz", "maerz", "mars", "marzo", "março", "marco"], 3),
    **dict.fromkeys(["april", "apr", "avril", "avr", "abril", "abr", "aprile"], 4),
    **dict.fromkeys(["may", "mai", "mayo", "maggio", "mag", "maio"], 5),
    **dict.fromkeys(["june", "jun", "juni", "juin", "junio", "giugno", "giu", "junho"], 6),
    **dict.fromkeys(["july", "jul", "juli", "juillet", "juil", "julio", "luglio", "lug", "julho"], 7),
    **dict.fromkeys(["august", "aug", "août", "aout", "agosto", "ago"], 8),
    **dict.fromkeys(["september", "sep", "sept", "septembre", "septiembre", "settembre", "set", "setembro"], 9),
    **dict.fromkeys(["october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "ott", "outubro", "out"], 10),
    **dict.fromkeys(["november", "nov", "novembre", "noviembre", "novembro"], 11),
    **dict.fromkeys(["december", "dec", "dezember", "dez", "décembre", "decembre", "diciembre", "dic", "dicembre", "dezembro"], 12),
}
TZ_OFFSETS = {
    "utc": 0, "gmt": 0, "z": 0, "wet": 0, "bst": 60, "west": 60, "cet": 60, "mez": 60, "cest": 120, "mesz": 120,
    "eet": 120, "eest": 180, "msk": 180, "ist": 330, "jst": 540, "kst": 540, "aest": 600, "aedt": 660,
    "est": -300, "edt": -240, "cst": -360, "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420,
}
US_ZONES = {"et": "America/New_York", "ct": "America/Chicago", "mt": "America/Denver", "pt": "America/Los_Angeles"}
_MONTH = r"(?P<month_name>[a-zäéèûçñ]{3,9})\.?"
_WEEKDAY = r"(?:[a-zäéèûçñ-]{2,12}\.?,?\s+)?"
_TIME = r"(?:(?:,|\s+at|\s+um|\s+à|\s+a las|\s+alle|\s+às|\s*-|\s*\|)?\s*(?P<hour>\d{1,2})[:.h](?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?(?:\s*(?:uhr|h))?)?"
_ZONE = r"(?:\s*\(?(?P<zone>z|[a-z]{2,4}|(?:utc|gmt)?\s?[+-]\d{1,2}(?::?\d{2})?)\)?)?"
_PREFIX = r"^(?:(?:published|updated|posted|last updated|veröffentlicht(?: am)?|aktualisiert(?: am)?|stand|publié le|mis à jour le|publicado(?: el)?|actualizado(?: el)?|pubblicato(?: il)?|aggiornato(?: il)?|atualizado(?: em)?)\s*:?\s*(?:on\s+)?)?"
DATE_PATTERNS = [
    re.compile(_PREFIX + r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?:[t ](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?)?" + _ZONE + r"$", re.IGNORECASE),
    re.compile(_PREFIX + _WEEKDAY + r"(?P<day>\d{1,2})[./](?P<month>\d{1,2})[./](?P<year>\d{4})" + _TIME + _ZONE + r"$", re.IGNORECASE),
    re.compile(_PREFIX + _WEEKDAY + r"(?P<day>\d{1,2})(?:st|nd|rd|th|er|º)?\.?\s+(?:de\s+)?" + _MONTH + r",?\s+(?:de\s+)?(?P<year>\d{4})" + _TIME + _ZONE + r"$", re.IGNORECASE),
    re.compile(_PREFIX + _WEEKDAY + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})" + _TIME + _ZONE + r"$", re.IGNORECASE),
]


HAS_DIGIT = re.compile(r"\d")


class InvalidDate(ValueError):
    """A string that is written as a date but names no real day or time."""


def parse_date(text: str) -> datetime | None:
    """Parse a line that is a date. None when the line is not a date; raises InvalidDate when it is
    written as one but is impossible (month 0, 31 February, hour 25). Never guesses."""
    if len(text) > 120 or not HAS_DIGIT.search(text):
        return None
    line = " ".join(text.strip().split())
    if len(line) > 80:
        return None
    for pattern in DATE_PATTERNS:
        match = pattern.match(line)
        if match:
            return _build(match, line)
    return None


def _build(match: re.Match, line: str) -> datetime:
    parts = match.groupdict()
    if parts.get("month_name") is not None:
        month = MONTHS.get(parts["month_name"].lower().rstrip("."))
        if month is None:
            raise InvalidDate(f"unknown month name {parts['month_name']!r} in {line!r}")
    else:
        month = int(parts["month"])
        if month > 12 and 1 <= int(parts["day"]) <= 12:
            # 11.15.2019 or 11/15/2019: month-first is the only reading that names a real day.
            month, parts["day"] = int(parts["day"]), parts["month"]
    hour = int(parts.get("hour") or 0)
    ampm = (parts.get("ampm") or "").replace(".", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            raise InvalidDate(f"hour {hour} with {ampm} in {line!r}")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    tz = _zone(parts.get("zone"), line)
    try:
        return datetime(int(parts["year"]), month, int(parts["day"]), hour, int(parts.get("minute") or 0), int(parts.get("second") or 0), tzinfo=tz)
    except ValueError as exc:
        raise InvalidDate(f"{line!r} is not a real date: {exc}") from None


def _zone(zone: str | None, line: str):
    if not zone:
        return None
    key = zone.lower().replace(" ", "")
    if key in TZ_OFFSETS:
        return timezone(timedelta(minutes=TZ_OFFSETS[key]))
    offset = re.fullmatch(r"(?:utc|gmt)?([+-])(\d{1,2}):?(\d{2})?", key)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        minutes = int(offset.group(2)) * 60 + int(offset.group(3) or 0)
        if minutes > 14 * 60:
            raise InvalidDate(f"offset {zone!r} out of range in {line!r}")
        return timezone(sign * timedelta(minutes=minutes))
    if key in US_ZONES:
        from zoneinfo import ZoneInfo

        return ZoneInfo(US_ZONES[key])
    return None  # an abbreviation we cannot resolve (AMT is Armenia or Amazon): the zone stays unknown


def parse_iso_datetime(value: str) -> datetime:
    """Strict parse of a declared (machine-readable) date: ISO 8601 or one of DATE_PATTERNS."""
    parsed = parse_date(value)
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidDate(f"{value!r} is not a date") from None
    return parsed


BYLINE = re.compile(r"^(?:by|von|par|por|di|de|door)\s+(?P<names>.{3,160})$", re.IGNORECASE)
AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b|\bund\b|\bet\b|\by\b|\be\b|\bin\b)\s*", re.IGNORECASE)
AUTHOR_JUNK = re.compile(
    r"^(?:staff|staff writer|staff reporter|editor|editors|correspondent|reporter|news desk|newsroom|desk|"
    r"the associated press|associated press|reuters|afp|agence france-presse|dpa|wire|wires|agencies|share|updated|"
    r"published|min read|\d+ min(?:ute)?s? read|follow|email|twitter|x)$",
    re.IGNORECASE,
)
NAME = re.compile(r"^[A-ZÀ-Ý][\w'’.-]+(?:\s+(?:[A-ZÀ-Ý][\w'’.-]+|de|da|van|von|der|del|la|le|di|dos|bin)){1,4}$")


def parse_byline(line: str) -> list[str] | None:
    """Author names from a byline such as 'By Ana Ferreira and Tom Hale, Associated Press'."""
    match = BYLINE.match(line.strip())
    if not match or len(line.split()) > 16:
        return None
    return clean_authors(AUTHOR_SPLIT.split(match.group("names")))


def clean_authors(candidates) -> list[str]:
    authors: list[str] = []
    for raw in candidates:
        name = " ".join(str(raw).split()).strip(" .|-–—")
        name = re.sub(r"^(?:by|von|par|por)\s+", "", name, flags=re.IGNORECASE)
        if not name or AUTHOR_JUNK.match(name) or any(ch.isdigit() for ch in name) or "@" in name:
            continue
        if NAME.match(name) and name not in authors:
            authors.append(name)
    return authors


def detect_wire_agency(book: PhraseBook, dateline_lines: list[str], credit_lines: list[str]) -> str | None:
    """The agency named by a dateline ('TOKYO (AP) —') in the first paragraphs, else by a credit line."""
    if not book.may_name_agency("\n".join(dateline_lines + credit_lines)):
        return None
    for lines in (dateline_lines, credit_lines):
        for line in lines:
            if agency := book.wire_agency(line):
                return agency
    return None


LANGUAGE_SAMPLE_CHARS = 800  # enough for a confident guess; the model's cost grows with the sample
STOPWORD_SAMPLE_WORDS = 150
STOPWORD_MIN_SHARE = 0.2  # of the sample's words, for the leading language
STOPWORD_MIN_LEAD = 1.6  # times the runner-up's count
_WORD = re.compile(r"\w+")


@cache
def _stopword_languages() -> dict[str, tuple[str, ...]]:
    data = json.loads(Path(__file__).with_name("stopwords.json").read_text(encoding="utf-8"))
    index: dict[str, list[str]] = {}
    for language, words in data.items():
        if not language.startswith("_"):
            for word in words:
                index.setdefault(word, []).append(language)
    return {word: tuple(languages) for word, languages in index.items()}


def detect_language(text: str, words: list[str] | None = None) -> str | None:
    """ISO 639-1 code. Function words settle most texts in the languages we carry lists for at a
    fraction of the model's cost; the statistical model decides the rest. ``words``: the text's
    leading words, case-folded, when the caller has them already."""
    if words is None:
        words = _WORD.findall(text[: LANGUAGE_SAMPLE_CHARS * 2].casefold())
    words = words[:STOPWORD_SAMPLE_WORDS]
    if len(words) < 5:
        return None
    index = _stopword_languages()
    counts: dict[str, int] = {}
    for word in words:
        for language in index.get(word, ()):
            counts[language] = counts.get(language, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    if ranked and ranked[0][1] >= STOPWORD_MIN_SHARE * len(words) and (len(ranked) == 1 or ranked[0][1] >= STOPWORD_MIN_LEAD * ranked[1][1]):
        return ranked[0][0]
    import py3langid

    language, _score = py3langid.classify(text[:LANGUAGE_SAMPLE_CHARS])
    return language
