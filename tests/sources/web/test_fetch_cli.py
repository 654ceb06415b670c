from __future__ import annotations


def test_cli_without_sources_fails_with_a_clear_message(tmp_path, capsys, monkeypatch):
    from pipeline.cli import main

    monkeypatch.delenv("NEWSINGEST_FETCH_SOURCES", raising=False)

    assert main(["fetch", "--home", str(tmp_path)]) == 2
    assert "nothing to fetch" in capsys.readouterr().err
