"""A submit that Storm's local blob store refused in its known race is made
once more; any other refusal is the run's error at once. (The JVM is
replaced by its command channel: the race cannot be provoked on purpose.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from d4p_core import RunError
from d4p_storm import LocalStorm
from d4p_storm._scratch import Scratch
from d4p_storm.local import _Refused

RACE = (
    "java.lang.RuntimeException: java.lang.RuntimeException: "
    "java.io.IOException: No such file or directory"
)


def _storm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusals: list[str]) -> list[str]:
    storm = LocalStorm()
    storm._scratch = Scratch.create(tmp_path)
    sent: list[str] = []

    def command(line: str, expect: str, name: str, timeout: float) -> None:
        sent.append(line.split()[0])
        if refusals:
            detail = refusals.pop(0)
            raise _Refused(f"Storm refused submit of {name}: {detail}", detail)

    monkeypatch.setattr(storm, "_command", command)
    try:
        storm.submit("t", b"topology", {}, lambda kind, detail: None)
    finally:
        storm._scratch.remove()
    return sent


def test_a_submit_lost_to_the_blob_store_race_is_made_once_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _storm(tmp_path, monkeypatch, [RACE]) == ["submit", "submit"]


def test_the_race_twice_in_a_row_is_the_runs_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(RunError, match="No such file or directory"):
        _storm(tmp_path, monkeypatch, [RACE, RACE])


def test_any_other_refusal_is_the_runs_error_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "java.lang.IllegalArgumentException: Topology name already exists"
    with pytest.raises(RunError, match="already exists"):
        _storm(tmp_path, monkeypatch, [other, RACE])
