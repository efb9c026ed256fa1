"""MPICH's shared memory a job leaves when it does not end with
MPI_Finalize: recorded by the ranks, unlinked by whoever removes the job
directory. Here with a real segment in /dev/shm, mapped by this process."""

from __future__ import annotations

import mmap
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from d4p_mpi._shm import (
    mapped_segments,
    record_segments,
    release_own_segments,
    release_segments,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc, /dev/shm")


@pytest.fixture
def segment() -> Iterator[Path]:
    """A segment named as MPICH names its own, mapped here as a rank maps it."""
    path = Path(f"/dev/shm/mpich_shm_d4ptest{os.getpid()}_0")
    path.write_bytes(b"\0" * mmap.PAGESIZE)
    with open(path, "r+b") as handle, mmap.mmap(handle.fileno(), mmap.PAGESIZE):
        yield path
    path.unlink(missing_ok=True)


def test_a_rank_records_the_segments_it_maps(segment: Path, tmp_path: Path) -> None:
    assert str(segment) in mapped_segments()
    record_segments(tmp_path, 3)
    assert [path.name for path in tmp_path.iterdir()] == ["rank-3.shm"]
    release_segments(tmp_path)
    assert not segment.exists()
    assert str(segment) not in mapped_segments()  # still mapped, no longer named


def test_segments_of_another_host_are_not_touched(segment: Path, tmp_path: Path) -> None:
    (tmp_path / "rank-1.shm").write_text(f"another-host\n{segment}\n")
    release_segments(tmp_path)
    assert segment.exists()


def test_only_mpich_segments_are_unlinked(tmp_path: Path) -> None:
    other = tmp_path / "not-a-segment"
    other.write_text("")
    escaping = f"/dev/shm/mpich_/../..{other}"
    (tmp_path / "rank-1.shm").write_text(f"{socket.gethostname()}\n{other}\n{escaping}\n")
    release_segments(tmp_path)
    assert other.exists()


def test_a_rank_that_aborts_unlinks_its_own(segment: Path) -> None:
    release_own_segments()
    assert not segment.exists()
