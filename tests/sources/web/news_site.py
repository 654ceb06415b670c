"""A small generated news site served from 127.0.0.1 by pytest-httpserver: article pages with
distinct bodies, an RSS feed, sitemaps and robots.txt, answering conditional requests like a
real server (ETag / Last-Modified -> 304)."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

from werkzeug.wrappers import Request, Response

SUBJECTS = ["The harbour authority", "City council", "The regional transport board", "A coalition of growers", "The state water utility",
            "Teachers' unions", "The northern hospital trust", "Ferry operators", "The housing cooperative", "Local fishermen"]
VERBS = ["approved", "postponed", "challenged", "announced", "rejected", "extended", "reviewed", "funded", "suspended", "revised"]
OBJECTS = ["a plan to dredge the outer channel", "new limits on night freight", "the budget for flood barriers", "a pilot for electric buses",
           "rules for short-term lets", "repairs to the old viaduct", "a levy on cruise arrivals", "the merger of two clinics",
           "winter timetables", "compensation for crop losses"]
DETAILS = ["officials said the decision followed months of consultation", "residents packed the hearing until late evening",
           "the cost estimate rose by a third since spring", "opponents argued the figures were out of date",
           "a final vote is expected before the end of the year", "the minister declined to comment on the timing",
           "engineers warned that delays would raise maintenance costs", "business groups welcomed the clarity",
           "the proposal will be published for comment next week", "similar measures were tried in two neighbouring districts"]
PLACES = ["Varenzo", "Kessling", "Orlamund", "Brisaque", "Taldor", "Meriswick", "Dunhallow", "Pellacombe", "Arvik", "Solbergen",
          "Quennet", "Hollowmere", "Castelvane", "Ostrava Nova", "Lindqvist Bay"]


SYLLABLES = ["ka", "ren", "vi", "lo", "mar", "te", "quin", "sa", "dol", "bri", "ne", "tho", "gal", "us", "fer", "mi", "zan", "or", "pel", "hu"]


def _name(rng: random.Random) -> str:
    """An invented proper name: real reports are full of names that differ from story to story."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def _person(rng: random.Random) -> str:
    return f"{_name(rng)} {_name(rng)}"


def article(number: int) -> tuple[str, str, datetime]:
    """(title, html, published) of article ``number``: distinct wording, realistic page chrome."""
    rng = random.Random(number)
    place = PLACES[number % len(PLACES)]
    title = f"{place}: {rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} (report {number})"
    published = datetime(2026, 11, 1, 8, 0, tzinfo=UTC) + timedelta(hours=7 * number)
    paragraphs = []
    for p in range(5):
        sentences = [
            f"{rng.choice(SUBJECTS)} in {rng.choice(PLACES)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}, {_person(rng)} told the "
            f"{_name(rng)} Courier, and {rng.choice(DETAILS)} according to {_person(rng)} of the {_name(rng)} trust." for _ in range(3)
        ]
        sentences.append(f"Figure {number}-{p}: {rng.randint(100, 99999)} households and {rng.randint(2, 400)} firms are affected in {place}.")
        paragraphs.append(" ".join(sentences))
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Harbour Ledger</title>
<meta property="og:title" content="{title}">
<meta property="article:published_time" content="{published.isoformat()}">
<meta name="author" content="Staff reporter {number % 7}">
</head><body>
<header><nav><a href="/">Home</a> <a href="/politics">Politics</a> <a href="/business">Business</a></nav></header>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies?</div>
<main><article><h1>{title}</h1><p class="byline">By Staff reporter {number % 7}</p>
<time datetime="{published.isoformat()}">{published:%d %B %Y}</time>
{body}
</article></main>
<aside><h2>Most read</h2><ul><li><a href="/x">Weather warning for the weekend</a></li></ul></aside>
<footer>© 2026 Harbour Ledger. All rights reserved.</footer>
</body></html>"""
    return title, html, published


def rss(base: str, numbers: range, extra_query: str = "") -> str:
    items = []
    for n in numbers:
        title, _, published = article(n)
        items.append(
            f"<item><title>{title}</title><link>{base}news/{n}{extra_query}</link>"
            f"<pubDate>{published:%a, %d %b %Y %H:%M:%S} GMT</pubDate><guid isPermaLink=\"false\">hl-{n}</guid></item>"
        )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour Ledger</title><link>{base}</link>{"".join(items)}</channel></rss>'


def conditional(body: bytes, content_type: str, log: list | None = None):
    """A handler that serves ``body`` with an ETag and Last-Modified and answers 304 to either."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    modified = "Sun, 01 Nov 2026 08:00:00 GMT"

    def handler(request: Request) -> Response:
        if log is not None:
            log.append((request.path, request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")))
        if request.headers.get("If-None-Match") == etag or request.headers.get("If-Modified-Since") == modified:
            return Response(status=304, headers={"ETag": etag, "Last-Modified": modified})
        return Response(body, status=200, content_type=content_type, headers={"ETag": etag, "Last-Modified": modified})

    return handler


def serve_site(server, pages: int, log: list | None = None, robots: str = "User-agent: *\nAllow: /\n") -> str:
    """Feed at /feed.xml with ``pages`` articles at /news/N; returns the feed URL."""
    base = server.url_for("/")
    server.expect_request("/robots.txt").respond_with_handler(conditional(robots.encode(), "text/plain", log))
    server.expect_request("/feed.xml").respond_with_handler(conditional(rss(base, range(pages)).encode(), "application/rss+xml", log))
    for n in range(pages):
        server.expect_request(f"/news/{n}").respond_with_handler(conditional(article(n)[1].encode(), "text/html; charset=utf-8", log))
    return base + "feed.xml"
