"""Golden files for the cleaner: what it makes of the seeds and of the sample corpus.

Regenerate after an intended change, review the diff, commit:

    .venv/bin/python -m tests.clean.golden

The sample corpus is our own text, so its golden file holds the full output. The seeds are not
ours: their golden file holds digests only (of the body, the title and each removed line).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from pipeline.model import Quarantined
from pipeline.settings import Settings
from pipeline.sources import iter_local_documents
from pipeline.stages import clean_raw, site_boilerplate, stage_load
from tests.conftest import SAMPLE_CORPUS, SEEDS

GOLDEN = Path(__file__).with_name("golden")


def _digest(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def clean_folder(folder: Path) -> dict[str, dict]:
    """Every document of a folder cleaned as a batch (site repetition learned from the batch)."""
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), workers=1)
        loaded = stage_load([str(folder)], "golden", settings)
        learned = site_boilerplate(settings, loaded["boilerplate"])
        out = {}
        for item in iter_local_documents([folder], settings.max_document_bytes):
            key = str(Path(item.uri).relative_to(folder)) if item.uri.startswith(str(folder)) else item.uri
            result = item if isinstance(item, Quarantined) else clean_raw(item, settings, learned)
            if isinstance(result, Quarantined):
                out[key] = {"error": result.reason, "stage": result.stage}
            else:
                out[key] = {
                    "title": result.title,
                    "published_at": result.published_at.isoformat() if result.published_at else None,
                    "authors": result.authors,
                    "wire_agency": result.wire_agency,
                    "language": result.language,
                    "tags": result.tags,
                    "summary": result.summary,
                    "body": result.body,
                    "removed": [[s.position, s.reason, s.text] for s in result.removed],
                }
        return dict(sorted(out.items()))


def sample_corpus_golden() -> dict[str, dict]:
    return clean_folder(SAMPLE_CORPUS)


def seeds_golden() -> dict[str, dict]:
    out = {}
    for key, row in clean_folder(SEEDS).items():
        if "error" in row:
            out[key] = row
            continue
        out[key] = {
            **{k: row[k] for k in ("published_at", "authors", "wire_agency", "language")},
            "title_sha": _digest(row["title"]),
            "body_sha": _digest(row["body"]),
            "body_lines": row["body"].count("\n") + 1,
            "removed": [[position, reason, _digest(text)] for position, reason, text in row["removed"]],
        }
    return out


def write(name: str, data: dict) -> Path:
    path = GOLDEN / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    print(write("sample_corpus", sample_corpus_golden()))
    if SEEDS.is_dir():
        print(write("seeds", seeds_golden()))
    else:
        print(f"seeds not found at {SEEDS}; seeds golden file left as it is")


if __name__ == "__main__":
    main()
