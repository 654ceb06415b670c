"""Lines of a raw document as keys for learning what a site repeats on every page.

Counted per site at load time (this batch) and in DuckDB's ``site_lines`` (every run so far);
a key seen in enough documents of one site is boilerplate there. Only short lines count: a site
that republishes an updated story must not teach us that the story's paragraphs are boilerplate.
"""

from __future__ import annotations

import html
import re

from pipeline.clean.lines import line_keys

SITE_LINE_MAX_WORDS = 25
INVISIBLE = re.compile(r"<(script|style|noscript|template|svg)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
TAG = re.compile(r"<[^>]*>")


def page_lines(payload: bytes, content_type: str) -> list[str]:
    """The page's text, one block per line (tags are line breaks); cheap, no DOM."""
    text = payload.decode("utf-8", errors="ignore")
    if content_type == "text/html":
        text = html.unescape(TAG.sub("\n", INVISIBLE.sub("\n", text)))
    return text.splitlines()


def site_line_keys(payload: bytes, content_type: str) -> set[str]:
    if content_type not in ("text/plain", "text/html"):
        return set()
    # line_keys over the folded page is line_key of each line, in one compiled pass
    keys = line_keys("\n".join(page_lines(payload, content_type)).casefold())
    return {key for key in keys if key and key.count(" ") < SITE_LINE_MAX_WORDS}
