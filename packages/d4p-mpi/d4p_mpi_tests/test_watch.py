"""The watcher every rank d4p launches runs under, without MPI: what it
records for a rank killed by a signal, what it does not, and the job
directory it removes when the driver is gone."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from d4p_mpi._jobdir import SPEC_NAME, driver_gone, holding_spec
from d4p_mpi._watch import first_lost, watched


@pytest.fixture(autouse=True)
def rank_2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process plays MPICH rank 2's watcher (which ignores Ctrl-C and
    the launcher's SIGTERM)."""
    monkeypatch.setenv("PMI_RANK", "2")
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


@pytest.fixture
def job(tmp_path: Path) -> Iterator[Path]:
    """A job directory whose driver (this process) is alive."""
    with holding_spec(tmp_path, "the spec"):
        yield tmp_path


def _killed() -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0  # never reached: the child must not go on running the tests


def test_a_rank_killed_by_a_signal_is_recorded(job: Path) -> None:
    assert watched(_killed, job) == 128 + signal.SIGKILL
    assert sorted(path.name for path in job.iterdir()) == [SPEC_NAME, "rank-2.lost"]
    assert first_lost(job) == (2, -signal.SIGKILL)


def test_a_rank_that_exits_is_not_recorded(job: Path) -> None:
    assert watched(lambda: os._exit(3), job) == 3
    assert first_lost(job) is None
    assert [path.name for path in job.iterdir()] == [SPEC_NAME]


@pytest.mark.parametrize("rank_main", [_killed, lambda: os._exit(0)], ids=["killed", "exited"])
def test_without_its_driver_the_job_directory_is_removed(
    rank_main: Callable[[], int], tmp_path: Path
) -> None:
    """A driver killed (its lock released by the kernel) cannot remove the
    directory: the watchers do, however their rank ended, and record nothing."""
    job = tmp_path / "d4p-mpi-job"
    job.mkdir()
    with holding_spec(job, "the spec"):
        assert not driver_gone(job)
    assert driver_gone(job)
    watched(rank_main, job)
    assert not job.exists()


def test_the_first_rank_recorded_is_the_one_named(tmp_path: Path) -> None:
    for rank, (code, when) in {0: (-15, 2), 1: (-9, 1), 3: (-9, 3)}.items():
        record = tmp_path / f"rank-{rank}.lost"
        record.write_text(str(code))
        os.utime(record, ns=(when, when))
    assert first_lost(tmp_path) == (1, -9)


def test_without_a_directory_the_rank_still_ends(tmp_path: Path) -> None:
    def killed() -> int:
        os.kill(os.getpid(), signal.SIGTERM)  # the watcher ignores it, the rank does not
        return 0

    assert watched(killed, tmp_path / "gone") == 128 + signal.SIGTERM
    assert not driver_gone(tmp_path / "gone")  # nothing to judge by: nothing removed
