"""MPICH's shared memory: the named segments the ranks on one host share
(``/dev/shm/mpich_shm_<job>_<node>``), which only ``MPI_Finalize`` unlinks.

A job that ends any other way (``MPI_Abort`` after a failing PE, a rank
killed, Ctrl-C, the driver killed) leaves them behind, holding their memory
until the machine restarts. So every rank d4p launches records, once MPI is
up, the segments it maps and its host (:func:`record_segments`), and
whoever removes the job's directory unlinks those of its own host
(:func:`release_segments`); a rank that aborts the job unlinks its own
first (:func:`release_own_segments`), which covers a job the user launched.
Unlinking removes the name only: a rank still running keeps its mapping.
The names carry the job's id, so a recorded name is never another job's.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

__all__ = ["mapped_segments", "record_segments", "release_own_segments", "release_segments"]

_SEGMENT_PREFIX = "/dev/shm/mpich_"
_RECORDS = "rank-*.shm"


def mapped_segments() -> list[str]:
    """The named MPICH segments this process maps (read from
    ``/proc/self/maps``: Linux; none elsewhere)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            lines = maps.read().splitlines()
    except OSError:
        return []
    found: list[str] = []
    for line in lines:
        fields = line.split(None, 5)
        path = fields[5] if len(fields) == 6 else ""
        if _is_segment(path) and path not in found:
            found.append(path)
    return found


def record_segments(job: Path, rank: int) -> None:
    """Write ``rank-N.shm`` into the job directory: this host's name, then
    the segments this rank maps (nothing when it maps none)."""
    segments = mapped_segments()
    if not segments:
        return
    path = job / f"rank-{rank}.shm"
    partial = path.with_name(path.name + ".partial")
    with contextlib.suppress(OSError):  # the driver is gone, its directory too
        partial.write_text("\n".join([socket.gethostname(), *segments]) + "\n")
        partial.replace(path)


def release_segments(job: Path) -> None:
    """Unlink the segments that ranks of this host recorded in ``job`` and
    that are still there."""
    host = socket.gethostname()
    for record in job.glob(_RECORDS):
        try:
            recorded_host, *segments = record.read_text().splitlines()
        except (OSError, ValueError):
            continue
        if recorded_host == host:
            _unlink(segments)


def release_own_segments() -> None:
    """Unlink the segments this process maps (before it aborts the job)."""
    _unlink(mapped_segments())


def _is_segment(path: str) -> bool:
    # An unlinked segment still mapped shows as "... (deleted)".
    return (
        path.startswith(_SEGMENT_PREFIX)
        and "/" not in path[len(_SEGMENT_PREFIX) :]
        and not path.endswith(" (deleted)")
    )


def _unlink(segments: list[str]) -> None:
    for segment in segments:
        if _is_segment(segment):
            with contextlib.suppress(OSError):
                os.unlink(segment)
