"""``newsingest dedup`` reads its input a line at a time and keeps sketches, never texts."""

from __future__ import annotations

import json
import random
import tracemalloc

from pipeline.dedup.records import dedup_entries, dedup_records, iter_results, read_records, write_results


def generate(path, documents: int, words: int) -> list[dict]:
    """Stories and their cut, re-headlined copies; returns the records written."""
    rng = random.Random(11)
    vocabulary = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10))) for _ in range(20_000)]
    records, story = [], []
    for n in range(documents):
        if n % 3 == 0:
            story = [rng.choice(vocabulary) for _ in range(words)]
            text = " ".join(story)
        else:
            text = "Updated headline. " + " ".join(story[: rng.randint(words // 4, words)])
        records.append({"id": f"doc-{n}", "text": text, "url": f"https://site{n % 40}.example/{n}", "published_at": f"2026-03-{1 + n % 28:02d}T08:00:00"})
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    return records


def test_peak_memory_stays_well_under_the_input(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    generate(source, 5_000, 1_000)
    size = source.stat().st_size  # about 27 MB
    tracemalloc.start()
    try:
        records = read_records(str(source))
        assert records.refused == 0
        written = write_results(iter_results(records), str(out), None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert written == 5_000
    # What is kept is the sketches (one 8-byte hash per 16 characters: about half the text) and
    # about 150 bytes per record (0.55x measured); reading the whole file held twice the input and more.
    assert peak < 0.65 * size, (peak, size)


def test_streamed_output_is_that_of_the_records(tmp_path):
    source = tmp_path / "in.jsonl"
    records = generate(source, 300, 120)
    rows, refused = dedup_entries(read_records(str(source)))
    assert refused == 0
    assert rows == dedup_records(records)
    assert len({r["cluster_id"] for r in rows}) < 300  # the copies were found


def test_line_numbers_limits_and_one_answer_per_line(tmp_path):
    source = tmp_path / "in.jsonl"
    good = json.dumps({"id": "a", "text": "a short text about the night ferry"})
    source.write_bytes(
        b"\n  \n" + good.encode() + b"\r\n"  # blank lines count as lines but get no answer
        + b'{"id": "b", "text": "x"} {"id": "c", "text": "y"}\n'  # two values on one line: one error, not two records
        + b'{"id": "d", "text": "' + b"w " * 100 + b'"}\n'  # over the limit
        + b" " * 500 + b"\n"  # a blank line over the limit is still blank
        + b'{"id": "e", "text": "' + b"z" * 40 + b'"}'  # the last line, without a line break
    )
    entries = read_records(str(source), max_line_bytes=100)
    rows, refused = dedup_entries(entries)
    assert [r.get("line") for r in rows] == [None, 4, 5, None]
    assert [r["id"] for r in rows] == ["a", None, None, "e"]
    assert rows[1]["error"] == "invalid_json"
    assert rows[2] == {"id": None, "line": 5, "error": "too_large", "detail": "line of 223 bytes, over the limit of 100"}
    assert refused == 2


def test_two_values_on_one_line_are_one_error_even_when_every_line_decodes(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "text": "x"} {"id": "b", "text": "y"}\n{"id": "c", "text": "z"}\n', encoding="utf-8")
    rows, refused = dedup_entries(read_records(str(source)))
    assert [(r["id"], r.get("error")) for r in rows] == [(None, "invalid_json"), ("c", None)] and refused == 1


def test_refused_lines_spilled_to_disk_come_back_in_line_order(tmp_path, monkeypatch):
    from pipeline.dedup import cluster, records

    monkeypatch.setattr(records, "SPILL_BYTES", 64)  # the spill file goes to disk after an answer or two
    monkeypatch.setattr(cluster, "_sketch", None)  # and the clustering is the Python reference's
    source = tmp_path / "in.jsonl"
    good = generate(tmp_path / "good.jsonl", 60, 80)
    lines, expected_errors = [], {}
    for n, record in enumerate(good):
        if n % 7 == 3:
            lines.append(b"{not json")
            expected_errors[len(lines)] = "invalid_json"
        if n % 11 == 5:
            lines.append(json.dumps({"id": record["id"], "text": "the same id again"}).encode())
        lines.append(json.dumps(record).encode())
    lines.append(b'{"id": 7}')
    expected_errors[len(lines)] = "invalid_record"
    source.write_bytes(b"\n".join(lines) + b"\n")
    rows, refused = dedup_entries(read_records(str(source)))
    assert len(rows) == len(lines) and refused == sum(1 for r in rows if "error" in r)
    twice = {r["id"] for r in rows if r.get("error") == "duplicate_id"}
    assert len(twice) == 5
    for line, row in enumerate(rows, 1):
        if line in expected_errors:
            assert row["line"] == line and row["error"] == expected_errors[line]
        elif row["id"] in twice:
            assert row["error"] == "duplicate_id" and row["line"] == line
    clustered = [r for r in rows if "error" not in r]
    assert clustered == dedup_records([r for r in good if r["id"] not in twice])
