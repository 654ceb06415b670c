from __future__ import annotations

import pytest

from pipeline.sources.web.urls import canonical_url, host_key


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://News.Example.invalid/a/b?utm_source=x&utm_medium=y&id=3#comments", "https://news.example.invalid/a/b?id=3"),
        ("https://news.example.invalid/a?fbclid=IwAR0&gclid=abc", "https://news.example.invalid/a"),
        ("https://news.example.invalid:443/a?b=2&a=1", "https://news.example.invalid/a?a=1&b=2"),
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

