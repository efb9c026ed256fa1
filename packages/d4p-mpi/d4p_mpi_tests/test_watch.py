"""The watcher every rank d4p launches runs under, without MPI: what it
records for a rank killed by a signal, and what it does not."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from d4p_mpi._watch import first_lost, watched


@pytest.fixture(autouse=True)
def rank_2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process plays MPICH rank 2's watcher (which ignores Ctrl-C)."""
    monkeypatch.setenv("PMI_RANK", "2")
    interrupt = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, interrupt)


def test_a_rank_killed_by_a_signal_is_recorded(tmp_path: Path) -> None:
    def killed() -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return 0  # never reached: the child must not go on running the tests

    assert watched(killed, tmp_path) == 128 + signal.SIGKILL
    assert [path.name for path in tmp_path.iterdir()] == ["rank-2.lost"]
    assert first_lost(tmp_path) == (2, -signal.SIGKILL)


def test_a_rank_that_exits_is_not_recorded(tmp_path: Path) -> None:
    assert watched(lambda: os._exit(3), tmp_path) == 3
    assert first_lost(tmp_path) is None
    assert not list(tmp_path.iterdir())


def test_the_first_rank_recorded_is_the_one_named(tmp_path: Path) -> None:
    for rank, (code, when) in {0: (-15, 2), 1: (-9, 1), 3: (-9, 3)}.items():
        record = tmp_path / f"rank-{rank}.lost"
        record.write_text(str(code))
        os.utime(record, ns=(when, when))
    assert first_lost(tmp_path) == (1, -9)


def test_without_a_directory_the_rank_still_ends(tmp_path: Path) -> None:
    def killed() -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        return 0

    assert watched(killed, tmp_path / "gone") == 128 + signal.SIGTERM
