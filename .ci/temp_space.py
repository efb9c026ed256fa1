"""A test session must leave the temporary directory as it found it.

The session gets a private ``TMPDIR`` (inherited by every process it
starts: drivers, workers, mpiexec, redis-server, the Storm JVM where the
launcher passes it on). Whatever is left in it at the end is a leak, and so
is a new entry in the system temporary directory that the session created
(a program ignoring ``TMPDIR``). pytest's own ``pytest-of-*`` folders are
not leaks: they are removed with the private directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["private_temp_dir"]


def _ours(root: Path, names: set[str], since: float) -> list[str]:
    """The entries of ``names`` this user created in ``root`` after ``since``."""
    found = []
    for name in sorted(names):
        try:
            info = (root / name).lstat()
        except OSError:
            continue  # already gone
        if info.st_uid == os.getuid() and info.st_mtime >= since:
            found.append(name)
    return found


@contextlib.contextmanager
def private_temp_dir(leaks: list[str]) -> Iterator[Path]:
    """Run the body with ``TMPDIR`` set to a new directory (for the processes
    it starts; this one's own exit handlers run too late to be checked); on exit, append
    to ``leaks`` a line for each entry left there or new in the system
    temporary directory, then remove the private directory."""
    system = Path(tempfile.gettempdir())
    before = set(os.listdir(system))
    started = time.time() - 1
    private = Path(tempfile.mkdtemp(prefix="d4p-tests-"))
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(private)
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    try:
        yield private
    finally:
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved
        tempfile.tempdir = None
        left = sorted(n for n in os.listdir(private) if not n.startswith("pytest-of-"))
        leaks += [f"{private / name}" for name in left]
        added = set(os.listdir(system)) - before - {private.name}
        leaks += [f"{system / name}" for name in _ours(system, added, started)]
        shutil.rmtree(private, ignore_errors=True)


if __name__ == "__main__":  # a quick self-check: python .ci/temp_space.py
    found: list[str] = []
    with private_temp_dir(found):
        tempfile.mkdtemp(prefix="left-behind-")
    print(found, file=sys.stderr)
    sys.exit(0 if len(found) == 1 and "left-behind-" in found[0] else 1)
