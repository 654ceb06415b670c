from __future__ import annotations

import pytest

from pipeline.sources.web.urls import canonical_url, host_key


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://News.Example.invalid/a/b?utm_source=x&utm_medium=y&id=3#comments", "https://news.example.invalid/a/b?id=3"),
        ("https://news.example.invalid/a?fbclid=IwAR0&gclid=abc", "https://news.example.invalid/a"),
        ("https://news.example.invalid:443/a?b=2&a=1", "https://news.example.invalid/a?b=2&a=1"),  # order kept: it is requested
        ("https://news.example.invalid/a?UTM_Source=x&_ga=1&msclkid=2&mc_eid=3&igshid=4", "https://news.example.invalid/a"),
        ("http://news.example.invalid:80/x/../y", "http://news.example.invalid/y"),
        ("https://news.example.invalid", "https://news.example.invalid/"),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


def test_relative_links_resolve_against_their_page():
    assert canonical_url("../b?utm_campaign=z", "https://news.example.invalid/x/y/") == "https://news.example.invalid/x/b"


def test_meaningful_parameters_are_kept():
    assert canonical_url("https://news.example.invalid/story?id=1") != canonical_url("https://news.example.invalid/story?id=2")


def test_relative_url_without_base_is_rejected():
    with pytest.raises(ValueError, match="not an absolute URL"):
        canonical_url("/news/1")


def test_host_key_keeps_the_port():
    assert host_key("http://127.0.0.1:8080/a") == "http://127.0.0.1:8080"



@pytest.mark.parametrize(
    "query",
    ["cid=101", "eid=7", "uid=3", "gallery=12", "game=4", "gameid=9", "reference=A1", "refid=5", "sourceid=2", "ref=home",
     "id=1&page=2", "print=", "cid=101&utm_source=x"],
)
def test_parameters_that_may_identify_an_article_are_kept(query):
    kept = "&".join(p for p in query.split("&") if not p.startswith("utm_"))
    assert canonical_url(f"https://news.example.invalid/story.php?{query}") == f"https://news.example.invalid/story.php?{kept}"


def test_articles_told_apart_by_one_parameter_stay_apart():
    urls = {canonical_url(f"https://news.example.invalid/story.php?cid={n}") for n in (101, 102, 103)}
    assert len(urls) == 3


def test_path_parameters_are_kept():
    assert canonical_url("https://news.example.invalid/a;jsessionid=1?x=1") == "https://news.example.invalid/a;jsessionid=1?x=1"
