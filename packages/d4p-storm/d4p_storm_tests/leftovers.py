"""What a Storm run could leave in the temporary space, and which launcher
JVMs belong to a test.

Java ignores ``TMPDIR``: before every JVM got its own scratch folder, a
LocalCluster left UUID-named folders (ZooKeeper, Nimbus, the supervisor,
``logs/``, ``storm_rocks/``) and ``librocksdbjni*.so`` in ``/tmp``, and a
JVM writes ``/tmp/hsperfdata_<user>`` unless told not to. Those names are
what :func:`storm_entries` looks for. A test's JVMs are found by their
scratch folder (``-Dd4p.scratch=``), which lies in the test's own
``TMPDIR``: other sessions' JVMs on the same machine never match.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

__all__ = ["SYSTEM_TMP", "descendants", "launcher_jvms", "storm_entries"]

SYSTEM_TMP = Path("/tmp")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PATTERNS = ("d4p-storm-*", "librocksdbjni*", "hsperfdata_*")


def storm_entries(root: Path = SYSTEM_TMP) -> set[str]:
    """The names in ``root`` that a Storm JVM (or d4p-storm) would create."""
    return {
        name
        for name in os.listdir(root)
        if _UUID.fullmatch(name) or any(fnmatch.fnmatch(name, p) for p in _PATTERNS)
    }


def _cmdline(pid: str) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().split(b"\0")
    except OSError:
        return []


def launcher_jvms(temp: Path) -> list[int]:
    """Pids of the launcher JVMs whose scratch folder is in ``temp``."""
    prefix = f"-Dd4p.scratch={temp}{os.sep}".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        argv = _cmdline(pid)
        if b"d4p.storm.LocalRun" in argv and any(arg.startswith(prefix) for arg in argv):
            found.append(int(pid))
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux), children before grandchildren."""
    parents: dict[int, list[int]] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    level = [pid]
    while level:
        level = [child for parent in level for child in parents.get(parent, [])]
        found += level
    return found
