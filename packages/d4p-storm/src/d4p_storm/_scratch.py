"""The one directory a LocalCluster JVM writes in, and who removes it.

Java ignores ``TMPDIR``: a LocalCluster left its state (ZooKeeper, Nimbus,
the supervisor, RocksDB and its native library) in UUID-named folders
directly under ``/tmp``, and nothing removed them. Every JVM d4p starts gets
a *scratch* folder ``d4p-storm-local-*`` under the temporary directory
(``TMPDIR``) instead: it is the JVM's ``java.io.tmpdir`` and its tasks'
``TMPDIR``, and holds the JVM's log and the topology files d4p hands it.

Whoever outlives the other removes it:

- the driver (:class:`~d4p_storm.LocalStorm`), once the JVM has ended (it
  reads the JVM's log first, to say why a JVM failed);
- the JVM itself when its input ends without ``quit``, i.e. when the driver
  died (``d4p.storm.LocalRun`` deletes ``-Dd4p.scratch`` before it exits);
- if both died (both SIGKILLed), the next :meth:`Scratch.create` in the same
  temporary directory: the folder is locked (``flock``) through a descriptor
  the driver holds and the JVM inherits, so a folder nobody holds a lock on
  belongs to processes that are gone, and :func:`sweep` removes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["PREFIX", "Scratch", "sweep"]

PREFIX = "d4p-storm-local-"
"""The name every scratch folder starts with (and :func:`sweep` looks for)."""


def _open_directory(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def sweep(parent: Path) -> list[Path]:
    """Remove the scratch folders in ``parent`` whose owners are all gone
    (nobody holds their lock); the folders removed."""
    removed = []
    for entry in sorted(parent.glob(f"{PREFIX}*")):
        try:
            fd = _open_directory(entry)
        except OSError:
            continue  # gone already, or not a folder
        try:
            if _try_lock(fd):
                shutil.rmtree(entry, ignore_errors=True)
                if not entry.exists():  # not someone else's we may not delete
                    removed.append(entry)
        finally:
            os.close(fd)
    return removed


class Scratch:
    """A locked scratch folder. :attr:`fd` is the locked descriptor: pass it
    to the JVM (``pass_fds``) so that the lock lasts as long as either lives."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    def create(cls, parent: Path | None = None) -> Scratch:
        """A new scratch folder in ``parent`` (the temporary directory),
        after sweeping the ones left by processes that are gone."""
        where = Path(parent) if parent is not None else Path(tempfile.gettempdir())
        sweep(where)
        while True:
            path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=where))
            fd = _open_directory(path)
            # Another process's sweep may have locked it in between (and is
            # removing it): then it is not ours, try another.
            if _try_lock(fd) and _same(path, fd):
                (path / "tmp").mkdir()
                return cls(path, fd)
            os.close(fd)

    @property
    def temp(self) -> Path:
        """The JVM's ``java.io.tmpdir`` and its tasks' ``TMPDIR``."""
        return self.path / "tmp"

    def remove(self) -> None:
        """Delete the folder and let go of the lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


def _same(path: Path, fd: int) -> bool:
    try:
        return os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
    except OSError:
        return False
