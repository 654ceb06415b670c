"""Boilerplate learned from repetition across a site's pages, kept in DuckDB and grown by every run."""

from __future__ import annotations

from pipeline.clean.site_lines import site_line_keys
from pipeline.cli import main
from pipeline.store.db import read_connection

PROMO = "Hear this story on the Tribune player"  # a site's own line inside each article
STORIES = [
    ("ferry.txt", "Harbour authority approves night ferry trial",
     "The harbour authority on Tuesday approved a six-month trial of a night ferry between the old port and the new housing district across the estuary, a route residents have requested for years. The service will run every forty minutes using one of the two electric vessels the city bought last spring."),
    ("market.txt", "Fish market reopens after roof repairs",
     "The covered fish market reopened on Saturday after eight months of repairs to its iron roof, with forty-two of the fifty stalls back in business and the rest expected to return before the winter holidays begin."),
    ("school.txt", "New school on the north bank opens its doors",
     "Three hundred pupils started lessons on Monday at the first school built on the north bank in thirty years, a timber building heated by the river through a pump that the district says will halve its energy bills."),
]


def _write(folder, name, title, body):
    folder.mkdir(parents=True, exist_ok=True)
    closing = "Officials said the results would be reviewed in the spring, after a public meeting at the town hall where residents can ask questions and send written comments."
    (folder / name).write_text(f"{title}\n{body}\n{PROMO}\n{closing}\n", encoding="utf-8")


def test_site_lines_grow_across_runs_and_teach_later_runs(tmp_path):
    home, db = tmp_path / "var", tmp_path / "corpus.sqlite"
    first = tmp_path / "batch1" / "tribune.example"
    for name, title, body in STORIES[:2]:
        _write(first, name, title, body)
    assert main(["run", "--input", str(first.parent), "--db", str(db), "--home", str(home), "--quiet"]) == 0
    key = PROMO.casefold()
    with read_connection(db) as con:
        assert con.execute("SELECT doc_count FROM site_lines WHERE domain = 'tribune.example' AND line_key = ?", [key]).fetchall() == [(2,)]
        # two pages are not enough (site_repeat_min_docs = 3): the line stayed in the bodies
        assert con.execute("SELECT count(*) FROM articles WHERE body LIKE '%Tribune player%'").fetchall() == [(2,)]

    second = tmp_path / "batch2" / "tribune.example"
    _write(second, *STORIES[2])
    assert main(["run", "--input", str(second.parent), "--db", str(db), "--home", str(home), "--quiet"]) == 0
    with read_connection(db) as con:
        assert con.execute("SELECT doc_count FROM site_lines WHERE domain = 'tribune.example' AND line_key = ?", [key]).fetchall() == [(3,)]
        body, = con.execute("SELECT body FROM articles WHERE title LIKE 'New school%'").fetchall()[0]
        assert "Tribune player" not in body
        reasons = con.execute("SELECT reason FROM removed_segments WHERE text = ?", [PROMO]).fetchall()
        assert ("site_boilerplate",) in reasons


def test_html_pages_yield_their_short_lines():
    page = b"<html><head><style>p{}</style><script>var x = 1;</script></head><body><nav>Home</nav><p>A line &amp; more</p>" \
        b"<p>" + b"word " * 30 + b"</p><footer>Tribune Media Group</footer></body></html>"
    keys = site_line_keys(page, "text/html")
    assert {"home", "a line more", "tribune media group"} <= keys
    assert not any("var" in k or k == "p" for k in keys)
    assert not any(k.startswith("word word") for k in keys)  # a long block is never site boilerplate
