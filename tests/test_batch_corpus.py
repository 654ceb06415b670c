"""The batch corpus of the end-to-end benchmark (``wire_corpus.write_batch``): layout, syndicated
byte-identical files, short cut copies, article length, labels and determinism."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

import pytest

from pipeline.benchmarks.wire_corpus import iter_batch, write_batch
from pipeline.sources.files import domain_of

SIZE = 300


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    summary = write_batch(root / "input", root / "labels.jsonl", SIZE, seed=11)
    labels = [json.loads(line) for line in (root / "labels.jsonl").read_text(encoding="utf-8").splitlines()]
    files = {p.relative_to(root / "input").as_posix(): p.read_bytes() for p in (root / "input").rglob("*") if p.is_file()}
    return summary, labels, files


def test_files_sit_in_domain_named_outlet_folders(batch):
    summary, _, files = batch
    assert len(files) == summary["files"] == SIZE
    for path in files:
        folder, name = path.split("/")
        assert name.endswith(".txt")
        assert domain_of(None, Path("input") / path) == folder  # the loader takes the site from the folder
    assert summary["folders"] > 20


def test_some_files_are_byte_identical_to_a_file_in_another_outlet_folder(batch):
    _, labels, files = batch
    folders_by_bytes = defaultdict(set)
    for path, data in files.items():
        folders_by_bytes[hashlib.sha256(data).digest()].add(path.split("/")[0])
    twins = sum(1 for path, data in files.items() if len(folders_by_bytes[hashlib.sha256(data).digest()]) > 1)
    assert twins / len(files) > 0.04
    syndicated = [r for r in labels if r["kind"] == "syndicated"]
    assert 0.03 < len(syndicated) / SIZE < 0.15
    for r in syndicated:
        assert files[r["path"]] == files[r["same_bytes_as"]]
        assert r["path"].split("/")[0] != r["same_bytes_as"].split("/")[0]


def test_some_copies_are_cut_to_fewer_than_40_words(batch):
    _, labels, files = batch
    short = [r for r in labels if r["kind"] == "short"]
    assert 1 <= len(short) <= 0.05 * SIZE
    for r in short:
        assert r["body_words"] < 40
        assert r["words"] < 150  # headline, byline, date line and boilerplate around it
        assert files[r["path"]]


def test_write_ups_are_about_600_words_and_events_have_several(batch):
    summary, labels, _ = batch
    originals = [r["words"] for r in labels if r["kind"] == "original"]
    assert 600 <= sum(originals) / len(originals) <= 1000  # whole write-ups; copies are often trimmed or cut
    assert 500 <= summary["mean_words"] <= 750
    writeups_per_event = defaultdict(set)
    for r in labels:
        writeups_per_event[r["event"]].add(r["writeup"])
    assert max(len(w) for w in writeups_per_event.values()) > 4
    copies_per_writeup = defaultdict(int)
    for r in labels:
        copies_per_writeup[r["writeup"]] += 1
    assert max(copies_per_writeup.values()) >= 10  # a heavy tail


def test_labels_match_the_files(batch):
    summary, labels, files = batch
    assert sorted(r["path"] for r in labels) == sorted(files)
    assert sum(summary["kinds"].values()) == len(labels)
    for r in labels:
        assert r["kind"] in {"original", "copy", "short", "syndicated"}
        assert r["writeup"] and r["event"]
        assert r["words"] == len(files[r["path"]].split())


def test_files_written_by_worker_processes_are_the_generated_ones(batch, tmp_path):
    _, _, files = batch
    assert files == {f.path: f.data for f in iter_batch(SIZE, seed=11)}
    write_batch(tmp_path / "input", tmp_path / "labels.jsonl", 100, seed=11, processes=2)
    written = {p.relative_to(tmp_path / "input").as_posix(): p.read_bytes() for p in (tmp_path / "input").rglob("*.txt")}
    assert written == {f.path: f.data for f in iter_batch(100, seed=11)}


def test_same_seed_gives_the_same_bytes():
    first = [(f.path, f.data, f.label) for f in iter_batch(SIZE, seed=11)]
    again = [(f.path, f.data, f.label) for f in iter_batch(SIZE, seed=11)]
    other = [(f.path, f.data) for f in iter_batch(SIZE, seed=12)]
    assert first == again
    assert [(p, d) for p, d, _ in first] != other
