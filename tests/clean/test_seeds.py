"""The five shared seeds: real scraped text with the boilerplate inline; each must come out clean."""

from __future__ import annotations

import pytest

from pipeline.clean import clean_document
from pipeline.sources import iter_local_documents

# Fragments of the boilerplate the seeds carry (a cookie banner, a comment widget, newsletter
# prompts, copyright footers, related lists, crumbs, teasers) that no body may keep.
BOILERPLATE = [
    "we position cookies on our site",
    "Please enter your comment",
    "LEAVE A REPLY",
    "RELATED ARTICLES",
    "Most Popular",
    "Advertisment",
    "Daily Newsletter",
    "sent right to your inbox",
    "Read and Post Comments",
    "Community Guidelines",
    "All rights reserved",
    "All Rights Reserved",
    "registered trademarks",
    "2026-00-14",
    "Tags:",
    "GlobalTalk",
    "HomeWorld",
]


@pytest.fixture(scope="module")
def cleaned(seeds_dir):
    return {doc.uri.rsplit("/", 1)[-1][:3]: clean_document(doc) for doc in iter_local_documents([seeds_dir], 10**7)}


def test_every_seed_is_cleaned(cleaned):
    assert sorted(cleaned) == ["000", "001", "002", "003", "004"]


@pytest.mark.parametrize("fragment", BOILERPLATE)
def test_no_boilerplate_survives(cleaned, fragment):
    for key, article in cleaned.items():
        assert fragment not in article.body, f"seed {key} keeps {fragment!r}"


def test_teaser_repeating_the_lede_is_removed(cleaned):
    body = cleaned["004"].body
    assert body.count("agreed to deepen cooperation between their countries") == 1
    assert any(s.reason == "repeated_paragraph" for s in cleaned["004"].removed)


def test_article_lines_are_kept(cleaned):
    assert cleaned["000"].body.startswith("Japanese Prime Minister Sanae Takaichi and South Korean President Lee Jae Myung stole the show")
    assert "Here's the video:" in cleaned["000"].body
    assert cleaned["001"].body.startswith("The Japanese and South Korean leaders held a surprise drum session")
    assert "Xi Jinping" in cleaned["001"].body.splitlines()[-1]
    assert "SURPRISE DRUM PERFORMANCE BY LEADERS" in cleaned["002"].body
    assert cleaned["004"].body.startswith("TOKYO (AP) — The Japanese and South Korean leaders agreed")


def test_removed_segments_carry_reasons(cleaned):
    reasons = {s.reason for a in cleaned.values() for s in a.removed}
    assert {"cookie_banner", "comment_widget", "newsletter_prompt", "copyright_footer", "related_links", "duplicate_title", "highlights"} <= reasons
    cookie = [s for s in cleaned["002"].removed if s.reason == "cookie_banner"]
    assert len(cookie) == 1 and cookie[0].text.startswith("In order to provide you with a better service")


def test_metadata(cleaned):
    ap = cleaned["004"]
    assert ap.title == "Japanese and South Korean Leaders Jam to K-pop Hits at a Summit"
    assert ap.published_at.isoformat() == "2026-01-14T00:00:00-05:00"
    assert ap.wire_agency == "AP"
    assert ap.tags == ["japan", "korea", "kpop", "bts", "takaichi", "lee", "drums"]
    assert cleaned["002"].title == "Surprising performance from the leaders of Japan and South Korea."
    assert cleaned["002"].published_at.isoformat() == "2026-01-13T19:27:00"
    assert cleaned["003"].title == "K-pop drum duet between Japan and South Korea’s leaders caps off summit talks"
    assert cleaned["000"].summary.startswith("Japanese PM Sanae Takaichi and South Korean President Lee Jae Myung performed drums")
    assert "- The leaders wore" not in cleaned["000"].body
    assert {a.language for a in cleaned.values()} == {"en"}
    for key in ("000", "001", "002", "003"):
        assert cleaned[key].wire_agency is None, key
