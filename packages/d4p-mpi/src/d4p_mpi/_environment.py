"""What the launcher and the ranks of a job d4p launches find in their
environment, and why.

Hydra (MPICH's launcher) shares the host's hardware topology with the ranks
of a host through a file its proxy creates as
``/tmp/hydra_hwloc_xmlfile_XXXXXX`` — a path compiled in, whatever ``TMPDIR``
says — and removes only when the proxy ends normally: every job that ends
otherwise (a failing PE ends it with ``MPI_Abort``, a rank killed, an
interrupt, the driver killed) leaves one behind. The proxy creates none when
``HWLOC_XMLFILE`` is set, so the launcher gets it pointing into the job's
private directory, at a file that never exists: hwloc, asked to read it,
quietly probes the machine instead (binding with ``-bind-to`` still works),
as every rank does anyway when the launcher shares no file. A site's or
user's own ``HWLOC_XMLFILE`` is left as it is.

The ranks get the user's environment back (:func:`restore_for_rank`), so the
PEs and MPI see what they see on every other mapping.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["launcher_environment", "restore_for_rank"]

HWLOC_XMLFILE = "HWLOC_XMLFILE"
# Never created: its name only tells Hydra that a topology file is given.
_NO_TOPOLOGY_FILE = "no-hwloc-topology.xml"


def launcher_environment(directory: Path) -> dict[str, str]:
    """The environment ``mpiexec`` runs in for the job in ``directory``: this
    process's, with its import path (the ranks import what the driver
    does) and hwloc pointed into ``directory``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.setdefault(HWLOC_XMLFILE, str(directory / _NO_TOPOLOGY_FILE))
    return env


def restore_for_rank(directory: Path) -> None:
    """In a rank's watcher, before the rank starts: take out what only the
    launcher needed (the value d4p set, never the user's own)."""
    if os.environ.get(HWLOC_XMLFILE) == str(directory / _NO_TOPOLOGY_FILE):
        del os.environ[HWLOC_XMLFILE]
