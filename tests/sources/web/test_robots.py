"""robots.txt matching per RFC 9309: wildcards, end anchors, the longest match, percent-encoding,
user-agent groups, Crawl-delay, and what a missing or unreachable robots.txt means."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.sources.web import Source, run_fetch
from pipeline.sources.web.policy import FetchError, FetchRefused
from pipeline.sources.web.robots import ROBOTS_MAX_BYTES, RobotsCache
from tests.sources.web.conftest import paths
from tests.sources.web.news_site import article, conditional

AGENT = "newsingest/0.1 (+https://news.example.invalid/crawler)"
HOST = "https://news.example.invalid"

DEFECT_ROBOTS = """User-agent: *
Disallow: /*?session=
Disallow: /*.pdf$
Allow: /news/
"""


def cache_for(text: str | None, agent: str = AGENT, **kwargs) -> RobotsCache:
    return RobotsCache(agent, lambda robots_url: text, **kwargs)


def allowed(text: str, path: str, agent: str = AGENT) -> bool:
    """Whether ``agent`` may fetch ``path`` on a host serving ``text`` as its robots.txt."""
    url = HOST + path
    return cache_for(text, agent).rules(url).allows(agent.split("/", 1)[0], url)


def verdicts(text: str, paths_: list[str], agent: str = AGENT) -> dict[str, bool]:
    return {path: allowed(text, path, agent) for path in paths_}


# ---------------------------------------------------------------------------------- matching


def test_wildcard_query_and_anchored_extension_are_disallowed():
    assert verdicts(DEFECT_ROBOTS, ["/story?session=abc", "/files/report.pdf", "/news/harbour-strike-ends", "/story", "/story?page=2"]) == {
        "/story?session=abc": False,
        "/files/report.pdf": False,
        "/news/harbour-strike-ends": True,
        "/story": True,
        "/story?page=2": True,
    }


def test_check_refuses_with_robots_disallowed():
    cache = cache_for(DEFECT_ROBOTS)
    with pytest.raises(FetchRefused) as refused:
        cache.check(HOST + "/story?session=abc")
    assert refused.value.reason == "robots_disallowed"
    cache.check(HOST + "/news/harbour-strike-ends")  # no exception


@pytest.mark.parametrize("text", [
    "User-agent: *\nDisallow: /a\nAllow: /a/b\n",
    "User-agent: *\nAllow: /a/b\nDisallow: /a\n",
])
def test_longest_match_wins_whatever_the_order(text):
    assert verdicts(text, ["/a/b", "/a/b/c", "/a/c", "/a", "/b"]) == {"/a/b": True, "/a/b/c": True, "/a/c": False, "/a": False, "/b": True}


@pytest.mark.parametrize("text", [
    "User-agent: *\nDisallow: /a/b\nAllow: /a\n",
    "User-agent: *\nAllow: /a\nDisallow: /a/b\n",
])
def test_a_longer_disallow_beats_a_shorter_allow(text):
    assert verdicts(text, ["/a/b/c", "/a/c"]) == {"/a/b/c": False, "/a/c": True}


@pytest.mark.parametrize("text", [
    "User-agent: *\nDisallow: /page\nAllow: /page\n",
    "User-agent: *\nAllow: /page\nDisallow: /page\n",
    "User-agent: *\nDisallow: /pag*\nAllow: /page\n",  # equally long patterns, one of them a wildcard
])
def test_allow_wins_a_tie(text):
    assert allowed(text, "/page/1")


def test_dollar_anchors_the_end_of_the_path():
    text = "User-agent: *\nDisallow: /exact$\nDisallow: /*.pdf$\n"
    assert verdicts(text, ["/exact", "/exact/", "/exactly", "/a/b.pdf", "/a/b.pdf?dl=1", "/a/b.pdfx", "/a/b.PDF"]) == {
        "/exact": False, "/exact/": True, "/exactly": True,
        "/a/b.pdf": False, "/a/b.pdf?dl=1": True, "/a/b.pdfx": True, "/a/b.PDF": True,  # paths are case-sensitive
    }


def test_star_matches_any_run_of_characters():
    text = "User-agent: *\nDisallow: /fish*.php\nDisallow: /*/private/\nDisallow: /shop/*/cart*\n"
    assert verdicts(text, ["/fish.php", "/fishheads/catfish.php?id=1", "/Fish.php", "/fish.asp", "/a/private/x", "/private/x",
                           "/shop/eu/cart", "/shop/eu/list", "/shop/cart"]) == {
        "/fish.php": False, "/fishheads/catfish.php?id=1": False, "/Fish.php": True, "/fish.asp": True,
        "/a/private/x": False, "/private/x": True, "/shop/eu/cart": False, "/shop/eu/list": True, "/shop/cart": True,
    }


@pytest.mark.parametrize(("pattern", "path"), [
    ("/%7Ejoe", "/~joe/index.html"),
    ("/~joe", "/%7Ejoe/index.html"),
    ("/~joe", "/%7ejoe/index.html"),  # lower-case hex digits
    ("/foo/bar/%62%61%7A", "/foo/bar/baz"),  # RFC 9309 2.2.2: unreserved octets are decoded
    ("/foo/bar/\u30c4", "/foo/bar/%E3%83%84"),  # non-ASCII in the pattern is percent-encoded
    ("/foo/bar/%E3%83%84", "/foo/bar/%E3%83%84"),
    ("/foo/bar/%e3%83%84", "/foo/bar/\u30c4"),
    ("/foo/bar?baz=quz", "/foo/bar?baz=quz"),
])
def test_percent_encoding_is_normalised_before_matching(pattern, path):
    text = f"User-agent: *\nDisallow: {pattern}\n"
    assert not allowed(text, path)
    assert allowed(text, "/elsewhere")


def test_an_encoded_slash_is_not_a_path_separator():
    assert allowed("User-agent: *\nDisallow: /a/b\n", "/a%2Fb")


def test_no_rules_no_value_and_robots_txt_itself():
    assert allowed("", "/anything")
    assert allowed("User-agent: *\nDisallow:\n", "/anything")  # an empty Disallow forbids nothing
    assert allowed("# only a comment\n", "/anything")
    assert not allowed("User-agent: *\nDisallow: / # everything\n", "/anything")


def test_a_byte_order_mark_does_not_hide_the_first_group():
    assert not allowed("\ufeffUser-agent: *\nDisallow: /\n", "/anything")


# ---------------------------------------------------------------------------------- groups


def test_our_group_applies_instead_of_the_star_group():
    text = "User-agent: *\nDisallow: /\n\nUser-agent: newsingest\nDisallow: /private/\n"
    assert verdicts(text, ["/news/1", "/private/x"]) == {"/news/1": True, "/private/x": False}
    assert verdicts(text, ["/news/1"], agent="otherbot/2.0") == {"/news/1": False}


def test_our_group_is_found_case_insensitively():
    text = "User-agent: *\nAllow: /\n\nUser-Agent: NewsIngest\nDisallow: /\n"
    assert not allowed(text, "/news/1")


def test_another_agents_group_does_not_apply():
    text = "User-agent: otherbot\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\n"
    assert verdicts(text, ["/news/1", "/private/x"]) == {"/news/1": True, "/private/x": False}


def test_groups_naming_the_same_agent_are_merged():
    text = ("User-agent: newsingest\nDisallow: /a/\n\nUser-agent: *\nDisallow: /\n\n"
            "User-agent: otherbot\nUser-agent: newsingest\nDisallow: /b/\n")
    assert verdicts(text, ["/a/1", "/b/1", "/c/1"]) == {"/a/1": False, "/b/1": False, "/c/1": True}


def test_a_blank_line_does_not_end_a_group():
    text = "User-agent: newsingest\n\nDisallow: /private/\n"
    assert not allowed(text, "/private/x")


def test_user_agent_lines_after_rules_start_a_new_group():
    text = "User-agent: otherbot\nDisallow: /\nUser-agent: newsingest\nDisallow: /private/\n"
    assert verdicts(text, ["/news/1", "/private/x"]) == {"/news/1": True, "/private/x": False}


RFC_9309_5_1 = """User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot

EOF
"""


@pytest.mark.parametrize(("agent", "path", "expected"), [
    # "*": any other crawler is kept out of .gif files and /example/, and may fetch /publications/
    ("somebot", "/images/cat.gif", False),
    ("somebot", "/example/", False),
    ("somebot", "/example/page.html", False),
    ("somebot", "/publications/", True),
    ("somebot", "/publications/cover.gif", True),  # Allow: /publications/ is a longer match than *.gif$
    ("somebot", "/index.html", True),
    # foobot: only the two allowed pages
    ("foobot", "/example/page.html", True),
    ("foobot", "/example/allowed.gif", True),
    ("foobot", "/example/other.html", False),
    ("foobot", "/publications/", False),
    ("foobot", "/", False),
    # barbot and bazbot share one group
    ("barbot", "/example/page.html", False),
    ("barbot", "/example/other.html", True),
    ("bazbot", "/example/page.html", False),
    ("bazbot", "/images/cat.gif", True),
    # quxbot: an empty group at the end of the file, so no rules at all (not the "*" group)
    ("quxbot", "/example/page.html", True),
    ("quxbot", "/images/cat.gif", True),
])
def test_rfc_9309_section_5_1(agent, path, expected):
    assert allowed(RFC_9309_5_1, path, agent=agent) is expected


def test_rfc_9309_section_5_2_longest_match():
    text = "User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n"
    assert verdicts(text, ["/example/page/", "/example/page/disallowed.gif", "/example/page/other.gif"], agent="foobot") == {
        "/example/page/": True, "/example/page/disallowed.gif": False, "/example/page/other.gif": True,
    }


def test_the_agent_token_is_taken_from_the_user_agent_string():
    cache = cache_for("User-agent: newsingest\nDisallow: /\n", agent="NewsIngest/0.1 (+https://news.example.invalid/crawler)")
    assert cache.agent == "NewsIngest"
    with pytest.raises(FetchRefused):
        cache.check(HOST + "/news/1")


# ---------------------------------------------------------------------------------- crawl-delay, sitemaps, size


def delay(text: str, agent: str = AGENT) -> float | None:
    return cache_for(text, agent).rules(HOST + "/").crawl_delay(agent)


@pytest.mark.parametrize(("value", "expected"), [("2.5", 2.5), ("5.0", 5.0), ("3", 3.0), ("0", 0.0), ("0.25", 0.25),
                                                 ("-1", None), ("soon", None), ("inf", None), ("nan", None), ("", None)])
def test_crawl_delay_is_any_non_negative_number(value, expected):
    assert delay(f"User-agent: *\nCrawl-delay: {value}\n") == expected


def test_crawl_delay_of_our_group_else_of_the_star_group():
    assert delay("User-agent: *\nCrawl-delay: 1\n\nUser-agent: newsingest\nCrawl-delay: 4.5\n") == 4.5
    assert delay("User-agent: otherbot\nCrawl-delay: 9\n\nUser-agent: *\nCrawl-delay: 1.5\n") == 1.5
    assert delay("User-agent: *\nCrawl-delay: 2\n\nUser-agent: newsingest\nDisallow: /x\n") == 2.0  # the politer reading
    assert delay("User-agent: otherbot\nCrawl-delay: 9\n") is None
    assert delay("Crawl-delay: 9\n") is None  # outside any group


def test_crawl_delay_reaches_the_host_gate_capped():
    calls = []
    cache = cache_for("User-agent: *\nCrawl-delay: 2.5\n", on_delay=lambda host, d: calls.append((host, d)), max_delay=30.0)
    cache.rules(HOST + "/a")
    cache.rules(HOST + "/b")  # cached: reported once
    capped = []
    cache_for("User-agent: *\nCrawl-delay: 600\n", on_delay=lambda host, d: capped.append(d), max_delay=30.0).rules(HOST + "/a")
    assert calls == [(HOST, 2.5)] and capped == [30.0]


def test_sitemaps_are_listed_wherever_they_appear():
    text = "Sitemap: https://news.example.invalid/a.xml\nUser-agent: *\nDisallow: /x\nSitemap: https://news.example.invalid/b.xml.gz\n"
    assert cache_for(text).rules(HOST + "/").sitemaps() == ["https://news.example.invalid/a.xml", "https://news.example.invalid/b.xml.gz"]
    assert cache_for("User-agent: *\nDisallow:\n").rules(HOST + "/").sitemaps() == []
    assert cache_for(None).rules(HOST + "/").sitemaps() == []


def test_a_robots_txt_up_to_the_size_cap_is_read_to_its_end():
    assert ROBOTS_MAX_BYTES >= 500 * 1024  # RFC 9309 2.5: parse at least 500 KiB
    filler = "".join(f"Disallow: /archive/{n:07d}/\n" for n in range(18_000))
    text = "User-agent: *\n" + filler + "Disallow: /last/\n"
    assert len(text.encode()) < ROBOTS_MAX_BYTES
    assert verdicts(text, ["/last/x", "/archive/0017999/x", "/news/1"]) == {"/last/x": False, "/archive/0017999/x": False, "/news/1": True}


# ---------------------------------------------------------------------------------- missing or unreachable robots.txt


def failing(exc: Exception):
    def load(robots_url):
        raise exc
    return load


def test_a_4xx_robots_txt_means_no_rules():
    cache = RobotsCache(AGENT, failing(FetchError("not_found", "HTTP 404", 404)))
    cache.check(HOST + "/anything")
    assert cache.rules(HOST + "/").crawl_delay(AGENT) is None and cache.rules(HOST + "/").sitemaps() == []
    cache_for(None).check(HOST + "/anything")


@pytest.mark.parametrize("exc", [FetchError("http_error", "HTTP 503", 503), FetchError("connect_timeout", "no answer"), RuntimeError("boom")])
def test_a_5xx_or_unreachable_robots_txt_keeps_the_host_off_limits(exc):
    cache = RobotsCache(AGENT, failing(exc))
    with pytest.raises(FetchRefused) as refused:
        cache.check(HOST + "/news/1")
    assert refused.value.reason == "robots_unavailable"


def test_a_refused_robots_txt_request_is_passed_on():
    cache = RobotsCache(AGENT, failing(FetchRefused("loopback_address", "no")))
    with pytest.raises(FetchRefused) as refused:
        cache.check(HOST + "/news/1")
    assert refused.value.reason == "loopback_address"


# ---------------------------------------------------------------------------------- end to end


def test_fetch_obeys_wildcards_and_end_anchors(server, fetch_settings, tmp_path):
    server.expect_request("/robots.txt").respond_with_handler(conditional(DEFECT_ROBOTS.encode(), "text/plain"))
    server.expect_request("/news/harbour-strike-ends").respond_with_handler(conditional(article(1)[1].encode(), "text/html; charset=utf-8"))
    server.expect_request("/story").respond_with_handler(conditional(article(2)[1].encode(), "text/html; charset=utf-8"))
    server.expect_request("/files/report.pdf").respond_with_data(b"%PDF-1.7", content_type="application/pdf")
    disallowed = [server.url_for("/story?session=abc"), server.url_for("/files/report.pdf")]
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join([server.url_for("/news/harbour-strike-ends"), *disallowed]) + "\n")

    summary = run_fetch(fetch_settings, "run-1", [Source("urls", str(urls))])

    assert sorted(paths(server)) == ["/news/harbour-strike-ends", "/robots.txt"]
    assert summary["outcomes"] == {"fetched": 1, "quarantined": 2}
    with duckdb.connect(str(fetch_settings.fetch_state_path), read_only=True) as con:
        rows = con.execute("SELECT uri, stage, reason FROM quarantine ORDER BY uri").fetchall()
    assert rows == sorted((url, "fetch", "robots_disallowed") for url in disallowed)
