"""The bundled sample corpus against its hand-written expectations (tests/sample_corpus_expected)."""

from __future__ import annotations

import pytest

from pipeline.model import Quarantined
from pipeline.sources import iter_local_documents
from pipeline.stages import clean_raw, site_boilerplate, stage_load
from tests.conftest import SAMPLE_CORPUS, corpus_expectations

EXPECTATIONS = corpus_expectations()


def _key(row: dict) -> str:
    return row["path"] + (f"#{row['line']}" if row.get("line") else "")


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory):
    from pipeline.settings import Settings

    settings = Settings(home=tmp_path_factory.mktemp("var"))
    loaded = stage_load([str(SAMPLE_CORPUS)], "corpus-test", settings)
    learned = site_boilerplate(settings, loaded["boilerplate"])
    out = {}
    for item in iter_local_documents([SAMPLE_CORPUS], settings.max_document_bytes):
        key = item.uri.split("sample_corpus/", 1)[1]
        out[key] = item if isinstance(item, Quarantined) else clean_raw(item, settings, learned)
    return out


def test_corpus_size(cleaned):
    assert len(cleaned) == len(EXPECTATIONS) == 34


@pytest.mark.parametrize("row", [r for r in EXPECTATIONS if not r.get("broken_reason")], ids=_key)
def test_article_is_clean(cleaned, row):
    article = cleaned[_key(row)]
    assert not isinstance(article, Quarantined), f"{article.reason}: {article.detail}"
    for fragment in row["boilerplate"]:
        assert fragment not in article.body, f"boilerplate kept: {fragment!r}"
    assert row["first_body_sentence"] in article.body
    assert row["last_body_sentence"] in article.body
    assert article.title == row["title"]
    if row.get("wire_agency"):
        assert article.wire_agency == row["wire_agency"]


@pytest.mark.parametrize("row", [r for r in EXPECTATIONS if r.get("broken_reason") and r["broken_reason"] != "future_published_at"], ids=_key)
def test_broken_input_is_quarantined_with_its_reason(cleaned, row):
    result = cleaned[_key(row)]
    assert isinstance(result, Quarantined)
    assert result.reason == row["broken_reason"], result.detail
    assert result.detail


def test_sites_learn_their_repeated_lines(tmp_path):
    from pipeline.settings import Settings

    settings = Settings(home=tmp_path)
    loaded = stage_load([str(SAMPLE_CORPUS)], "learn", settings)
    learned = site_boilerplate(settings, loaded["boilerplate"])
    assert "valleycourier.example" in learned and "metrotribune.example" in learned
    assert "local" not in learned
