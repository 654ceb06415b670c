"""A labelled corpus of wire stories and their republished copies, generated deterministically.

Events (a strike, a flood, a court ruling...) get names, places, numbers and quotes. Each event is
written up independently by one to four outlets (agencies and papers): the write-ups share the
event's names, places, figures and one or two verbatim quotes but are composed separately — the
hard negatives. Each write-up is then republished by other sites as copies with the edits wire
copies get: a new headline, a changed byline or dateline, the tail trimmed, a cut to the first two
to four paragraphs, light edits (synonyms, a dropped sentence, spelling), OCR noise, and every
site's own boilerplate around it. Cluster sizes follow a heavy tail, so a large corpus holds
clusters of hundreds of copies. The label of a document is its write-up.

``write_batch`` writes a batch for end-to-end runs as text files in per-outlet folders, with more
write-ups per event, date lines, syndicated files (the same bytes at two outlets' paths) and copies
cut to fewer than 40 words, and a labels file beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

FIRST = ["Ana", "Rui", "Helena", "Marta", "Jonas", "Pieter", "Lena", "Tomasz", "Amara", "Kwame", "Nadia", "Omar", "Sofia", "Mateo", "Ingrid", "Yusuf", "Aiko", "Ravi", "Elena", "Dmitri", "Chloe", "Hugo", "Farah", "Luca", "Maya", "Kofi", "Zara", "Emil", "Leila", "Bruno", "Grace", "Tariq"]
LAST = ["Ferreira", "Valadares", "Kowalski", "Okafor", "Lindqvist", "Moreau", "Haddad", "Novak", "Mensah", "Tanaka", "Ruiz", "Brandt", "Castillo", "Petrov", "Achebe", "Silva", "Rahman", "Costa", "Nakamura", "Weber", "Dubois", "Osei", "Fischer", "Alvarez", "Kim", "Rossi", "Mbeki", "Jansen", "Horvat", "Quinn", "Sato", "Varga"]
CITIES = [("Sines", "Portugal"), ("Gdansk", "Poland"), ("Lagos", "Nigeria"), ("Bergen", "Norway"), ("Valencia", "Spain"), ("Mombasa", "Kenya"), ("Osaka", "Japan"), ("Chennai", "India"), ("Porto Alegre", "Brazil"), ("Antwerp", "Belgium"), ("Izmir", "Turkey"), ("Cebu", "Philippines"), ("Durban", "South Africa"), ("Tampere", "Finland"), ("Cordoba", "Argentina"), ("Brno", "Czech Republic"), ("Split", "Croatia"), ("Accra", "Ghana"), ("Da Nang", "Vietnam"), ("Leipzig", "Germany")]
TOPICS = {
    "strike": (["dockworkers", "rail workers", "nurses", "teachers", "pilots", "miners"], ["walked off the job", "began an open-ended strike", "staged a stoppage", "refused to report for shifts"], ["pay", "automation", "pensions", "night-shift rules", "staffing levels"]),
    "flood": (["residents", "farmers", "rescue crews", "shop owners", "families"], ["were evacuated", "waded through streets", "fled to higher ground", "waited on rooftops"], ["river levels", "dam releases", "drainage", "warnings", "forecasts"]),
    "court": (["judges", "prosecutors", "defence lawyers", "tenants", "regulators"], ["ruled against the company", "overturned the decision", "ordered a new hearing", "upheld the fine"], ["consumer law", "tenant fees", "data protection", "competition rules", "planning permits"]),
    "rates": (["policymakers", "central bankers", "economists", "lenders", "investors"], ["cut interest rates", "held borrowing costs", "signalled further easing", "surprised markets"], ["inflation", "the currency", "wage growth", "mortgage costs", "bond yields"]),
    "quake": (["rescuers", "villagers", "engineers", "volunteers", "soldiers"], ["searched the rubble", "set up tents", "cleared blocked roads", "checked damaged bridges"], ["aftershocks", "landslides", "building codes", "supplies", "shelter"]),
    "election": (["voters", "candidates", "observers", "party officials", "pollsters"], ["queued at polling stations", "disputed the count", "conceded defeat", "claimed victory"], ["turnout", "the recount", "coalition talks", "the runoff", "campaign finance"]),
    "wildfire": (["firefighters", "villagers", "pilots", "forest rangers", "evacuees"], ["battled the blaze", "dug firebreaks", "dropped water", "abandoned their homes"], ["wind", "drought", "evacuation orders", "air quality", "heat"]),
    "earnings": (["shareholders", "analysts", "executives", "suppliers", "employees"], ["reported higher profits", "cut the outlook", "announced job cuts", "raised the dividend"], ["sales", "margins", "costs", "demand", "guidance"]),
}
ORGS = ["Ministry of Labour", "Port Authority", "Civil Protection agency", "Supreme Court", "National Bank", "Electoral Commission", "Fire Service", "Transport Union", "Chamber of Commerce", "Red Cross", "Harbour Board", "Workers' Federation"]
AGENCIES = [("AP", "apnews.com"), ("Reuters", "reuters.com"), ("AFP", "afp.com")]
PAPERS = ["harbourgazette", "metrotribune", "valleycourier", "northstarpost", "lakesideherald", "alpinedaily", "eurobrief", "coastaltimes", "riverbendnews", "capitalledger", "dailysentinel", "eveningstar", "morningrecord", "southernchronicle", "westernobserver", "cityexpress", "provincejournal", "islandpost", "highlandvoice", "bayreporter", "plainsgazette", "frontierdispatch", "countyexaminer", "metrodigest"]
BOILER = [
    "We use cookies to improve your experience on our site. By continuing you accept our cookie policy.",
    "Sign up for our daily newsletter to get the top stories in your inbox every morning.",
    "Advertisement", "Share this article on Facebook Twitter WhatsApp Email", "Read more: latest news from the region",
    "Copyright {year} {site}. All rights reserved. This material may not be published, broadcast or redistributed.",
    "Comments are closed on this story.", "Follow us on social media for breaking news alerts.", "Subscribe now for unlimited access to {site}.",
    "Related stories", "Most read today", "Photo: handout / {site}", "Support independent local journalism at {site}.",
    "Report an error or send us a tip.", "Listen to this article. Estimated reading time: {minutes} minutes.",
]
SAID = ["said", "told reporters", "said in a statement", "told a news conference", "said on {day}", "wrote on social media", "said late on {day}"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
OPENERS = ["", "", "", "On {day}, ", "By late afternoon, ", "Earlier in the week, ", "According to officials, ", "Meanwhile, ", "In a separate development, ", "Later, "]
ADJ = ["sharp", "sudden", "prolonged", "unexpected", "bitter", "costly", "widespread", "limited", "growing", "modest", "serious", "fresh"]
NOUNS = ["dispute", "crisis", "decision", "setback", "shortfall", "backlash", "protest", "review", "inquiry", "plan", "agreement", "delay"]
VERBS = ["warned", "insisted", "estimated", "acknowledged", "predicted", "argued", "confirmed", "denied", "noted", "suggested"]
PLACES = ["the main square", "the harbour", "the old town", "the northern districts", "the industrial zone", "the city hall", "the river bank", "the airport road", "the coastal highway", "the central station"]
QUOTE_PARTS = (
    ["We", "Nobody", "The government", "Our members", "Families here", "The company", "Everyone in this town", "The people on the ground"],
    ["will not accept", "cannot ignore", "have been asking for", "were promised", "deserve", "are still waiting for", "will keep fighting for", "never expected"],
    ["a serious offer", "a clear answer", "real protection", "the help we need", "a fair deal", "the truth", "any of this", "more than words"],
    ["and we will not stop now", "before the winter comes", "after everything that happened", "while the cameras are here", "and they know it", "this time", "from the people in charge", "for our children"],
)
SYNONYMS = {"said": "stated", "warned": "cautioned", "large": "big", "began": "started", "about": "around", "more than": "over", "officials": "authorities", "company": "firm", "help": "assistance", "town": "city"}
SPELLING = {"labour": "labor", "harbour": "harbor", "defence": "defense", "organise": "organize", "centre": "center"}


@dataclass(slots=True)
class Doc:
    id: str
    text: str
    url: str
    published_at: str | None
    label: str  # the write-up this document is a copy of
    edits: tuple[str, ...] = ()
    event: str = ""  # the event written up: write-ups of one event are each other's hard negatives


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _quote(rng: random.Random) -> str:
    a, b, c, d = (rng.choice(part) for part in QUOTE_PARTS)
    return f"{a} {b} {c}, {d}"


class Event:
    def __init__(self, rng: random.Random, number: int):
        self.number = number
        self.topic = rng.choice(sorted(TOPICS))
        self.city, self.country = rng.choice(CITIES)
        self.people = [(_person(rng), role) for role in ("official", "leader", "analyst", "witness", "minister")]
        self.org = rng.choice(ORGS)
        self.figures = [rng.randint(3, 900) for _ in range(4)]
        self.day = rng.choice(DAYS)
        self.quotes = [_quote(rng) for _ in range(3)]
        self.when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randint(0, 24 * 300))


def _sentence(rng: random.Random, event: Event, quote_pool: list[str]) -> str:
    actors, actions, issues = TOPICS[event.topic]
    person, role = rng.choice(event.people)
    said = rng.choice(SAID).format(day=event.day)
    opener = rng.choice(OPENERS).format(day=event.day)
    kind = rng.randrange(9)
    if kind == 0 and quote_pool:
        return f"“{rng.choice(quote_pool)},” {person} {said}."
    if kind == 1:
        return f"“{_quote(rng)},” {person}, a {rng.choice(['local', 'senior', 'regional', 'former'])} {role}, {said}."
    if kind == 2:
        return f"{opener}{rng.choice(actors)} in {event.city} {rng.choice(actions)} as the {rng.choice(ADJ)} {rng.choice(NOUNS)} over {rng.choice(issues)} {rng.choice(['deepened', 'dragged on', 'spread', 'eased slightly', 'entered a new phase'])}."
    if kind == 3:
        return f"The {event.org} {rng.choice(VERBS)} that about {rng.choice(event.figures)} {rng.choice(actors)} {rng.choice(['were affected', 'had joined', 'were still waiting', 'had been moved', 'could lose out'])} near {rng.choice(PLACES)}."
    if kind == 4:
        return f"{opener}{person} {rng.choice(VERBS)} that {rng.choice(issues)} would {rng.choice(['remain the main obstacle', 'shape the next talks', 'cost the region dearly', 'be reviewed within weeks', 'decide the outcome'])}, {rng.choice(['a view shared by many', 'though critics disagreed', 'in remarks to lawmakers', 'without giving details', 'citing internal figures'])}."
    if kind == 5:
        return f"Figures from the {rng.choice(ORGS)} show {rng.choice(event.figures)} {rng.choice(['cases', 'claims', 'complaints', 'incidents', 'requests'])} in {event.country} since {rng.choice(['January', 'the spring', 'last year', 'the summer', 'the previous crisis'])}, {rng.choice(['up sharply', 'down slightly', 'roughly unchanged', 'the highest on record', 'well below forecasts'])}."
    if kind == 6:
        return f"{opener}{rng.choice(['Critics', 'Supporters', 'Neighbours', 'Business groups', 'Opposition lawmakers'])} {rng.choice(VERBS)} that the {rng.choice(ADJ)} {rng.choice(NOUNS)} had {rng.choice(['exposed old weaknesses', 'caught everyone off guard', 'been years in the making', 'hit the poorest hardest', 'split the coalition'])} in {event.city}."
    if kind == 7:
        return f"The last {rng.choice(['comparable', 'major', 'serious', 'similar'])} {rng.choice(NOUNS)} in {event.country}, in {rng.randint(1995, 2025)}, {rng.choice(['lasted nine days', 'ended with a settlement', 'led to new rules', 'cost millions', 'forced a cabinet reshuffle'])}."
    return f"{opener}{rng.choice(['Officials', 'Witnesses', 'Local media', 'Residents', 'Observers'])} {rng.choice(['described', 'reported', 'recalled', 'filmed'])} {rng.choice(['long queues', 'empty streets', 'heavy traffic', 'a tense standoff', 'scenes of confusion'])} at {rng.choice(PLACES)}, {rng.choice(['where police kept watch', 'as night fell', 'before rain set in', 'hours after the announcement', 'despite the warnings'])}."


def write_up(rng: random.Random, event: Event, agency: str | None, paragraphs: tuple[int, int] = (7, 13)) -> tuple[str, list[str]]:
    """Headline and paragraphs of one independent write-up of an event."""
    actors, actions, issues = TOPICS[event.topic]
    headline = f"{rng.choice(actors).capitalize()} {rng.choice(actions)} in {event.city} over {rng.choice(issues)}"
    pool = rng.sample(event.quotes, rng.randint(1, 2))
    credit = f" ({agency})" if agency else ""
    lede = f"{event.city.upper()}, {event.country}{credit} — {_sentence(rng, event, [])} {_sentence(rng, event, [])}"
    body = [" ".join(_sentence(rng, event, pool) for _ in range(rng.randint(2, 4))) for _ in range(rng.randint(*paragraphs))]
    return headline, [lede, *body]


def _ocr(rng: random.Random, text: str, rate: float) -> str:
    confusions = {"m": "rn", "l": "1", "o": "0", "e": "c", "i": "l", "h": "b", "d": "cl", "w": "vv", "n": "ri", "a": "o", "s": "5", "t": "f"}
    out = []
    for char in text:
        roll = rng.random()
        if roll < rate and char.lower() in confusions:
            out.append(confusions[char.lower()])
        elif roll < rate * 1.3 and char == " ":
            out.append(rng.choice(["", "  ", "-\n"]))
        elif roll < rate * 1.5 and char.isalpha():
            out.append(rng.choice("abcdefghijklmnopqrstuvwxyz"))
        elif roll < rate * 1.6 and char.isalpha():
            out.append("")
        else:
            out.append(char)
    return "".join(out)


def _light_edit(rng: random.Random, paragraphs: list[str]) -> list[str]:
    edited = []
    for paragraph in paragraphs:
        sentences = paragraph.split(". ")
        if len(sentences) > 2 and rng.random() < 0.2:
            del sentences[rng.randrange(len(sentences))]
        paragraph = ". ".join(sentences)
        for word, other in SYNONYMS.items():
            if rng.random() < 0.3:
                paragraph = paragraph.replace(word, other, 1)
        for word, other in SPELLING.items():
            paragraph = paragraph.replace(word, other)
        edited.append(paragraph)
    return edited


def copy_of(rng: random.Random, event: Event, headline: str, byline: str, paragraphs: list[str], site: str) -> tuple[str, tuple[str, ...]]:
    """One republished copy with a random mix of the usual edits and the site's boilerplate."""
    edits = [e for e in ("headline", "byline", "dateline", "trim", "cut", "edit", "ocr") if rng.random() < 0.35]
    body = list(paragraphs)
    if "trim" in edits and len(body) > 5:
        body = body[: len(body) - rng.randint(1, min(4, len(body) - 4))]
    if "cut" in edits:
        body = body[: rng.randint(2, 4)]
    if "dateline" in edits:
        body[0] = body[0].split(" — ", 1)[-1] if rng.random() < 0.5 else body[0].replace(f"{event.city.upper()}, {event.country}", event.city.upper(), 1)
    if "edit" in edits:
        body = _light_edit(rng, body)
    if "headline" in edits:
        actors, actions, issues = TOPICS[event.topic]
        headline = rng.choice([f"{event.city}: {rng.choice(issues)} {rng.choice(NOUNS)} deepens", f"What we know about the {event.topic} in {event.city}", f"{rng.choice(actors).capitalize()} {rng.choice(actions)}", headline.upper()])
    if "byline" in edits:
        byline = rng.choice([f"By {_person(rng)}", "From wire reports", f"By {_person(rng)} and {_person(rng)}", ""])
    boiler = random.Random(site).sample(BOILER, 5)  # a site's own boilerplate lines
    top = [line.format(site=site, year=2026, minutes=rng.randint(2, 9)) for line in boiler[: rng.randint(0, 2)]]
    bottom = [line.format(site=site, year=2026, minutes=rng.randint(2, 9)) for line in boiler[2 : 2 + rng.randint(1, 3)]]
    text = "\n".join([*top, headline, *([byline] if byline else []), *body, *bottom])
    if "ocr" in edits:
        text = _ocr(rng, text, rng.uniform(0.005, 0.03))
    return text, tuple(edits)


def _cluster_sizes(rng: random.Random, documents: int) -> list[int]:
    """Copies per write-up: mostly a few, a heavy tail; corpora of 5,000+ get clusters of hundreds."""
    sizes: list[int] = []
    if documents >= 5000:
        sizes += [rng.randint(150, 450) for _ in range(documents // 2500)]
    while sum(sizes) < documents:
        sizes.append(min(int(rng.paretovariate(1.3)), 120))
    return sizes


EARNINGS_TEMPLATE = [
    "{company} on {day} reported {quarter} revenue of {revenue} billion dollars, {direction} {change} percent from a year earlier, and net income of {income} million dollars, or {eps} dollars a share.",
    "Analysts polled by market data providers had expected revenue of {expected} billion dollars. Shares of {company} {moved} {move} percent in extended trading after the results were published.",
    "The company said it expects revenue for the current quarter to be in a range broadly in line with its previous guidance, citing steady demand from its largest customers and continued pressure on costs.",
    "Chief executive {ceo} said in a statement that the quarter reflected the strength of the company's core business and the progress it had made on its long-term plan.",
    "{company} also said its board had approved a quarterly dividend and authorised the repurchase of up to {buyback} million dollars of its shares over the next two years.",
    "The results include a one-time charge related to restructuring, the company said, without giving further details. It will hold a conference call with analysts later on {day}.",
]
COMPANY_PARTS = (["Nor", "Vel", "Astra", "Quin", "Tel", "Hal", "Mer", "Bryn", "Cor", "Lum", "Sol", "Dex"], ["tek", "vane", "ion", "dyne", "corp", "mark", "well", "field", "gate", "line"])


def earnings_report(rng: random.Random) -> tuple[str, list[str]]:
    """A quarterly-results story from the template every outlet uses: different companies'
    reports share most of their words and are not copies of each other (hard negatives)."""
    company = f"{rng.choice(COMPANY_PARTS[0])}{rng.choice(COMPANY_PARTS[1])} {rng.choice(['Corp', 'Inc', 'Group', 'Holdings'])}"
    values = {
        "company": company, "day": rng.choice(DAYS), "quarter": rng.choice(["first-quarter", "second-quarter", "third-quarter", "fourth-quarter"]),
        "revenue": f"{rng.uniform(0.5, 90):.1f}", "direction": rng.choice(["up", "down"]), "change": rng.randint(1, 30),
        "income": rng.randint(20, 9000), "eps": f"{rng.uniform(0.05, 9):.2f}", "expected": f"{rng.uniform(0.5, 90):.1f}",
        "moved": rng.choice(["rose", "fell"]), "move": f"{rng.uniform(0.5, 12):.1f}", "ceo": _person(rng), "buyback": rng.randint(100, 5000),
    }
    return f"{company} {values['quarter']} results: revenue {values['direction']} {values['change']}%", [p.format(**values) for p in EARNINGS_TEMPLATE]


def generate(documents: int, seed: int = 4, paragraphs: tuple[int, int] = (7, 13), hard: bool = False) -> list[Doc]:
    """``documents`` labelled documents; ``paragraphs`` bounds the body paragraphs of a write-up
    (the default gives about 420 words a document, (12, 20) about 600).

    ``hard`` (the default corpus is unchanged without it): a quarter of the stories lose their
    wire original, copies may be published before the original (so the earliest copy is not the
    original's), one write-up in ten is a templated earnings report about another company, and one
document in forty is a digest quoting the opening paragraphs of three stories, published first."""
    rng = random.Random(seed)
    extra = random.Random(seed + 1_000_003)  # the hard variant's own draws: the default stream stays as it was
    sizes = _cluster_sizes(rng, documents)
    docs: list[Doc] = []
    event = Event(rng, 0)
    event_id = "e0"
    writeups_left = 0
    written: list[tuple[str, list[str], datetime]] = []
    for number, size in enumerate(sizes):
        if writeups_left == 0:  # a new event, written up by one to four outlets
            event = Event(rng, number)
            event_id = f"e{number}"
            writeups_left = rng.choice([1, 2, 2, 3, 4])
        writeups_left -= 1
        agency, agency_site = rng.choice(AGENCIES) if rng.random() < 0.7 else (None, f"{rng.choice(PAPERS)}.example")
        headline, body = write_up(rng, event, agency, paragraphs)
        story_event = event_id
        if hard and extra.random() < 0.1:
            headline, body = earnings_report(extra)
            story_event = "earnings-template"
        byline = f"By {_person(rng)}"
        label = f"w{number}"
        when = event.when + timedelta(minutes=rng.randint(0, 600))
        original = "\n".join([headline, byline, *body])
        if hard:
            written.append((headline, body, when))
        if not (hard and extra.random() < 0.25):
            docs.append(Doc(f"{label}-0", original, f"https://{agency_site}/{event.topic}/{number}", when.isoformat(), label, (), story_event))
        for k in range(1, size):
            site = f"{rng.choice(PAPERS)}{rng.randint(1, 40)}.example"
            published = (when + timedelta(minutes=rng.randint(5, 4000))).isoformat() if rng.random() < 0.85 else None
            if hard and published is not None:
                published = (when + timedelta(minutes=extra.randint(-240, 4000))).isoformat()
            text, edits = copy_of(rng, event, headline, byline, body, site)
            docs.append(Doc(f"{label}-{k}", text, f"https://{site}/news/{number}-{k}", published, label, edits, story_event))
    for number in range(len(written) // 40 if hard else 0):
        # A digest published before the stories it quotes: their headlines and opening paragraphs.
        quoted = extra.sample(written, 3)
        body = [line for headline, paragraphs, _ in quoted for line in (headline, *paragraphs[:4])]
        first = min(when for _, _, when in quoted) - timedelta(minutes=60)
        docs.append(Doc(f"digest{number}", "\n".join(["Morning briefing", *body]), f"https://{extra.choice(PAPERS)}.example/briefing/{number}",
                        first.isoformat(), f"digest{number}", (), f"digest{number}"))
    rng.shuffle(docs)
    return docs[:documents]


# --------------------------------------------------------------------------- batch corpus on disk
#
# A corpus for end-to-end runs (``pipeline/benchmarks/batch_scale.py``): the documents are written
# as text files in per-outlet folders named like domains (``<input>/<outlet-domain>/<id>.txt``; the
# loader takes the site from the folder name), written one run of write-up clusters at a time by a
# few processes, so a corpus of 100,000 files costs no more memory than one of 1,000. Its own
# random streams: the default ``generate()`` output does not change.

BATCH_CORPUS_VERSION = 2  # bump when the files written for a given size and seed change (benchmark caches key on it)
_SENTENCE_END = re.compile(r"(?<=[.”!?])\s+(?=[A-Z“])")


@dataclass(slots=True)
class BatchFile:
    path: str  # relative to the input folder: <outlet-domain>/<id>.txt
    data: bytes
    label: str  # the write-up
    event: str
    kind: str  # original | copy | short | syndicated
    edits: tuple[str, ...] = ()
    published_at: str | None = None
    same_bytes_as: str | None = None  # a syndicated file: the path holding the same bytes
    body_words: int | None = None  # a short copy: the words of its body (headline, byline, date and boilerplate aside)


def _file_id(seed: int, name: str) -> str:
    # a hash, so the loader's sorted order within a folder does not follow the clusters
    return hashlib.blake2b(f"{seed}/{name}".encode(), digest_size=6).hexdigest()


def _date_line(when: datetime) -> str:
    return when.strftime("%d %B %Y, %H:%M UTC")


def _copy_site(rng: random.Random, avoid: str = "") -> str:
    while True:
        site = f"{rng.choice(PAPERS)}{rng.randint(1, 40)}.example"
        if site != avoid:
            return site


def short_copy(rng: random.Random, headline: str, byline: str, paragraphs: list[str], site: str, when: str | None, max_words: int = 39) -> tuple[str, int]:
    """A copy cut to one or two short paragraphs (at most ``max_words`` words of body): the opening
    sentences of the write-up, with the site's boilerplate around them. Returns the text and the
    words of its body."""
    sentences = [s for p in paragraphs[:2] for s in _SENTENCE_END.split(p)]
    body: list[str] = []
    words, limit = 0, rng.randint(1, 3)
    for sentence in sentences:
        n = len(sentence.split())
        if words + n > max_words or len(body) == limit:
            break
        body.append(sentence)
        words += n
    if not body:  # a first sentence longer than the limit: cut inside it
        body = [" ".join(sentences[0].split()[: rng.randint(max_words // 2, max_words)]) + " …"]
    body = [" ".join(body[:-1]), body[-1]] if len(body) > 1 and rng.random() < 0.5 else [" ".join(body)]  # one or two paragraphs
    boiler = random.Random(site).sample(BOILER, 5)
    top = [line.format(site=site, year=2026, minutes=1) for line in boiler[: rng.randint(0, 2)]]
    bottom = [line.format(site=site, year=2026, minutes=1) for line in boiler[2 : 2 + rng.randint(1, 3)]]
    text = "\n".join([*top, headline, *([byline] if rng.random() < 0.5 else []), *([when] if when else []), *body, *bottom])
    return text, sum(len(p.split()) for p in body)


@dataclass(frozen=True, slots=True)
class _Cluster:
    number: int  # the write-up
    event: int  # the event it writes up (the number of the event's first write-up)
    twins: tuple[bool, ...]  # per document (the original first): whether a syndicated twin follows it


def _batch_plan(documents: int, seed: int, writeups: tuple[int, int], syndicated: float) -> list[_Cluster]:
    """Which write-ups, of which events, with how many documents and syndicated twins: cheap and
    sequential, so the texts can then be generated cluster by cluster, in any process."""
    rng = random.Random(seed)
    twin_rng = random.Random(seed + 2_000_029)
    sizes = _cluster_sizes(rng, documents)
    rng.shuffle(sizes)  # the big clusters are spread over the events, not all at the start
    twin_rate = syndicated / (1 - syndicated) if syndicated < 1 else 0.0
    plan: list[_Cluster] = []
    files = event = writeups_left = 0
    for number, size in enumerate(sizes):
        if files >= documents:
            break
        if writeups_left == 0:
            event, writeups_left = number, rng.randint(*writeups)
        writeups_left -= 1
        twins = []
        for _ in range(size):
            if files >= documents:
                break
            files += 1
            twin = files < documents and twin_rng.random() < twin_rate
            files += twin
            twins.append(twin)
        plan.append(_Cluster(number, event, tuple(twins)))
    return plan


def _short_rate(plan: list[_Cluster], documents: int, short: float) -> float:
    """The probability for a copy to be cut short so that ``short`` of all files are."""
    copies = sum(len(c.twins) - 1 for c in plan)
    return min(1.0, short * documents / copies) if copies else 0.0


def _cluster_files(seed: int, cluster: _Cluster, paragraphs: tuple[int, int], short_rate: float) -> Iterator[BatchFile]:
    """The files of one write-up: the original, its copies, their syndicated twins. Random streams
    of its own (and of its event's), so a cluster's bytes do not depend on the other clusters."""
    event = Event(random.Random(f"batch/{seed}/e{cluster.event}"), cluster.event)
    event_id, label = f"e{cluster.event}", f"w{cluster.number}"
    rng = random.Random(f"batch/{seed}/w{cluster.number}")
    agency, site = rng.choice(AGENCIES) if rng.random() < 0.7 else (None, f"{rng.choice(PAPERS)}.example")
    headline, body = write_up(rng, event, agency, paragraphs)
    byline = f"By {_person(rng)}"
    when = event.when + timedelta(minutes=rng.randint(0, 600))
    for k, twin in enumerate(cluster.twins):
        body_words = None
        if k == 0:
            text, edits, kind, published = "\n".join([headline, byline, _date_line(when), *body]), (), "original", when
        else:
            site = _copy_site(rng)
            published = when + timedelta(minutes=rng.randint(5, 4000)) if rng.random() < 0.85 else None
            date = _date_line(published) if published else None
            if rng.random() < short_rate:
                (text, body_words), edits, kind = short_copy(rng, headline, byline, body, site, date), ("short",), "short"
            else:
                text, edits = copy_of(rng, event, headline, f"{byline}\n{date}" if date else byline, body, site)
                kind = "copy"
        path = f"{site}/{_file_id(seed, f'{label}-{k}')}.txt"
        data = text.encode("utf-8")
        stamp = published.isoformat() if published else None
        yield BatchFile(path, data, label, event_id, kind, edits, stamp, body_words=body_words)
        if twin:
            other = f"{_copy_site(rng, avoid=site)}/{_file_id(seed, f'{label}-{k}-syndicated')}.txt"
            yield BatchFile(other, data, label, event_id, "syndicated", edits, stamp, same_bytes_as=path, body_words=body_words)


def iter_batch(documents: int, seed: int = 4, paragraphs: tuple[int, int] = (12, 20), writeups: tuple[int, int] = (1, 8),
               syndicated: float = 0.08, short: float = 0.015) -> Iterator[BatchFile]:
    """``documents`` files of a batch, about 600 words each with the default ``paragraphs``, in
    generation order (write-up by write-up; the file names are hashes, so no order shows on disk).

    Each event is written up by ``writeups`` (bounds, uniform) outlets: agencies or papers; each
    write-up is republished by other sites as edited copies with their boilerplate (``copy_of``),
    with the heavy-tailed cluster sizes of ``generate()``. The write-up and its copies carry a date
    line (15% of copies lose it). A share ``short`` of the files are copies cut to one or two
    paragraphs of fewer than 40 words, and a share ``syndicated`` are byte-identical to another
    file of the batch in another outlet's folder (the same bytes at two paths)."""
    plan = _batch_plan(documents, seed, writeups, syndicated)
    rate = _short_rate(plan, documents, short)
    for cluster in plan:
        yield from _cluster_files(seed, cluster, paragraphs, rate)


def _label_row(f: BatchFile) -> dict:
    row = {"path": f.path, "writeup": f.label, "event": f.event, "kind": f.kind, "edits": list(f.edits), "words": len(f.data.split()),
           "published_at": f.published_at, "same_bytes_as": f.same_bytes_as}
    if f.body_words is not None:
        row["body_words"] = f.body_words
    return row


def _write_clusters(job: tuple) -> tuple[list[tuple[dict, int]], int]:
    """Generate and write a run of clusters (in a worker process): their label rows and sizes, and
    the peak RSS of the process so far."""
    import resource

    input_dir, seed, clusters, paragraphs, rate = job
    rows = []
    for cluster in clusters:
        for f in _cluster_files(seed, cluster, paragraphs, rate):
            target = Path(input_dir, f.path)
            try:
                target.write_bytes(f.data)
            except FileNotFoundError:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(f.data)
            rows.append((_label_row(f), len(f.data)))
    return rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def write_batch(input_dir: str | Path, labels_path: str | Path, documents: int, seed: int = 4, paragraphs: tuple[int, int] = (12, 20),
                writeups: tuple[int, int] = (1, 8), syndicated: float = 0.08, short: float = 0.015, processes: int | None = None) -> dict:
    """Write the files of ``iter_batch`` (the same bytes) under ``input_dir`` and one JSON line per
    file to ``labels_path`` (keep it outside ``input_dir``: the pipeline would ingest it): path
    (relative to ``input_dir``), write-up and event labels, kind, edits, words (the whole file; for
    a short copy also ``body_words``), published_at, same_bytes_as. Clusters are generated and
    written by ``processes`` worker processes (default: one per core for 2,000 files or more), the
    labels kept in order. Returns counts by kind, folders, mean words, bytes, the processes and the
    peak RSS of the process that generated (a worker's, or this process's with one)."""
    input_dir, labels_path = Path(input_dir), Path(labels_path)
    input_dir.mkdir(parents=True, exist_ok=True)
    plan = _batch_plan(documents, seed, writeups, syndicated)
    rate = _short_rate(plan, documents, short)
    step = 64
    jobs = [(str(input_dir), seed, plan[i : i + step], paragraphs, rate) for i in range(0, len(plan), step)]
    if processes is None:
        processes = (os.cpu_count() or 1) if documents >= 2000 else 1
    kinds: dict[str, int] = {}
    folders: set[str] = set()
    words = size = peak = 0
    with labels_path.open("w", encoding="utf-8") as labels:
        if processes > 1:
            import multiprocessing

            pool = multiprocessing.get_context("fork").Pool(processes)
            results = pool.imap(_write_clusters, jobs)
        else:
            pool, results = None, map(_write_clusters, jobs)
        try:
            for rows, rss in results:
                peak = max(peak, rss)
                for row, n in rows:
                    labels.write(json.dumps(row) + "\n")
                    kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
                    folders.add(row["path"].split("/", 1)[0])
                    words += row["words"]
                    size += n
            if pool is not None:
                pool.close()
        finally:
            if pool is not None:
                pool.terminate()  # after close(): the workers have finished; on an error: stops them
                pool.join()
    files = sum(kinds.values())
    return {"files": files, "kinds": kinds, "folders": len(folders), "mean_words": words / files if files else 0.0, "bytes": size,
            "processes": processes, "max_rss": peak}
