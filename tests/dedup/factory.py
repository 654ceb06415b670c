"""Wire stories, their edited copies and independent write-ups of the same event, for tests."""

from __future__ import annotations

import random

from pipeline.benchmarks import wire_corpus


def story(seed: int, writeups: int = 1):
    """An event and ``writeups`` independent write-ups of it: [(headline, byline, paragraphs)]."""
    rng = random.Random(seed)
    event = wire_corpus.Event(rng, seed)
    return event, [(*wire_corpus.write_up(rng, event, "AP"), ) for _ in range(writeups)]


def text(headline: str, paragraphs: list[str], byline: str = "By Staff") -> str:
    return "\n".join([headline, byline, *paragraphs])


def edited_copies(seed: int = 1) -> tuple[str, dict[str, str]]:
    """The original text and one copy per kind of edit wire copies get."""
    rng = random.Random(seed)
    event, [(headline, paragraphs)] = story(seed)
    original = text(headline, paragraphs)
    boiler = "We use cookies to improve your experience.\nSign up for our newsletter.\n"
    copies = {
        "reheadlined": text(f"What we know about {event.city}", paragraphs),
        "rebylined": text(headline, paragraphs, byline="By Jane Doe and Omar Haddad"),
        "redatelined": text(headline, [paragraphs[0].split(" — ", 1)[-1], *paragraphs[1:]]),
        "tail_trimmed": text(headline, paragraphs[:-3]),
        "cut_to_two_paragraphs": text(headline, paragraphs[:2]),
        "lightly_edited": text(headline, wire_corpus._light_edit(rng, paragraphs)),
        "ocr_noisy": wire_corpus._ocr(rng, original, 0.02),
        "wrapped_in_boilerplate": boiler + original + "\nCopyright 2026 Metro Tribune. All rights reserved.",
        "all_at_once": wire_corpus._ocr(rng, boiler + text("Strike latest", wire_corpus._light_edit(rng, paragraphs[:4]), byline=""), 0.01),
    }
    return original, copies
