"""The launcher build says what it does: the first ``--local`` run would
otherwise be silent for a minute or more while Maven downloads Storm."""

from __future__ import annotations

from pathlib import Path

import pytest

from d4p_storm import build_launcher
from d4p_storm.launcher import building_notice, launcher_source, storm_version


def test_the_first_build_says_what_it_does_and_a_cached_one_is_silent(
    launcher_built: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("D4P_STORM_CACHE", str(tmp_path))
    classpath, _ = build_launcher()  # a real Maven build (Storm is in ~/.m2 already)
    assert classpath.startswith(str(tmp_path))
    captured = capfd.readouterr()
    assert captured.out == ""
    first, second = captured.err.splitlines()
    assert first.startswith("d4p storm: building the LocalCluster launcher")
    assert str(tmp_path) in first
    assert second.startswith("d4p storm: launcher built in ")
    assert build_launcher()[0] == classpath
    assert capfd.readouterr() == ("", "")


def test_the_notice_names_the_download_when_storm_is_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    source = launcher_source()
    text = building_notice(source, tmp_path / "launcher")
    version = storm_version(source)
    assert version[0].isdigit()
    assert f"Maven downloads Apache Storm {version}" in text
    assert f"~170 MB, kept in {tmp_path / '.m2' / 'repository'}" in text
    cached = tmp_path / ".m2" / "repository" / "org" / "apache" / "storm" / "storm-server"
    (cached / version).mkdir(parents=True)
    assert "downloads" not in building_notice(source, tmp_path / "launcher")
