"""Which file a writer copy writes: its own, always.

Several copies of a writer may run at once (the instances of a fixed
mapping; a copy per worker on a dynamic one, where every copy is instance
0), possibly on several hosts sharing a file system. None of them knows how
many others there are, so each copy **claims** a part file: it opens
``<stem>-<n><suffix>`` and takes an exclusive ``flock`` on it, trying
``n = instance, instance + 1, ...`` until a claim succeeds, and holds the
lock until it closes the file. A part locked by a live copy is never
touched; an unlocked one is left over from an earlier run and is
overwritten. So instance ``i`` of a fixed mapping writes part ``i``, the
copies of a dynamic mapping write parts ``0, 1, ...`` in the order they
start writing, and a run never mixes two writers' lines in one file.

Where ``flock`` is missing (Windows) or refused (some network file
systems), a part is claimed by creating it exclusively instead: leftover
parts of earlier runs are then skipped, never overwritten.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import BinaryIO

from ._compression import compressed

__all__ = ["PART", "claim", "claim_part", "part_path"]

PART = "{part}"
"""Where the part number goes in a writer's path, if the user places it."""

_BUFFER = 1 << 16

if sys.platform == "win32":  # pragma: no cover - no flock on Windows

    def _lock(fd: int) -> bool | None:
        return None

else:
    import fcntl

    def _lock(fd: int) -> bool | None:
        """True: locked for us; False: another writer holds it; None: this
        file system has no flock."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                return None
            raise
        return True


def part_path(template: str, part: int) -> str:
    """The path of part ``part``: ``{part}`` replaced where the template
    has it, else ``-<part>`` put before the extension (and the compression
    suffix): ``counts.jsonl`` -> ``counts-3.jsonl``, ``t.csv.gz`` ->
    ``t-3.csv.gz``, ``out`` -> ``out-3``."""
    if PART in template:
        return template.replace(PART, str(part))
    directory, name = os.path.split(template)
    suffix = compressed(name) or ""
    stem, extension = os.path.splitext(name[: len(name) - len(suffix)])
    return os.path.join(directory, f"{stem}-{part}{extension}{suffix}")


def claim(path: str) -> BinaryIO | None:
    """``path`` opened for writing, empty and locked for this writer;
    ``None`` if another live writer holds it. Missing directories are made."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
    try:
        locked = _lock(fd)
    except BaseException:
        os.close(fd)
        raise
    if not locked:
        os.close(fd)
        return None if locked is False else _create_exclusive(path)
    os.ftruncate(fd, 0)
    return os.fdopen(fd, "wb", buffering=_BUFFER)


def _create_exclusive(path: str) -> BinaryIO | None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return None
    return os.fdopen(fd, "wb", buffering=_BUFFER)


def claim_part(template: str, first: int) -> tuple[str, BinaryIO]:
    """The first part from ``first`` on that this writer could claim:
    ``(its path, the file)``."""
    part = first
    while True:
        path = part_path(template, part)
        stream = claim(path)
        if stream is not None:
            return path, stream
        part += 1
