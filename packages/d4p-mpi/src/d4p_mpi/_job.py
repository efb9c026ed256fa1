"""d4p launching the MPI job itself: ``mpiexec -n N python -m
d4p_mpi._launch JOB``, with the placed run pickled into JOB and rank 0's
outcome read back from next to it."""

from __future__ import annotations

import os
import pickle
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from d4p_core import RunError, ServiceUnavailableError
from d4p_core.backend import (
    ABORT_GRACE,
    GraphPayload,
    PlacedRun,
    RunOutcome,
    die_with_parent,
    exit_description,
    worker_lost,
)

from ._rank import RankSpec
from ._watch import first_lost

__all__ = ["find_mpiexec", "launch"]


def find_mpiexec(explicit: str | None) -> str:
    """The mpiexec to launch: given, next to this interpreter (the ``mpich``
    wheel), or on PATH."""
    if explicit:
        found = shutil.which(explicit)
        if found is None:
            raise ServiceUnavailableError(f"the MPI launcher {explicit!r} does not exist")
        return found
    for candidate in (str(Path(sys.executable).parent / "mpiexec"), "mpiexec"):
        found = shutil.which(candidate)
        if found:
            return found
    raise ServiceUnavailableError(
        "no mpiexec found: install the MPI runtime with 'pip install d4p-mpi[mpich]' "
        "(or a system MPI), or pass --mpiexec PATH"
    )


def _launcher_flags(mpiexec: str) -> list[str]:
    """Open MPI refuses more ranks than cores unless told; MPICH does not."""
    try:
        version = subprocess.run(
            [mpiexec, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return ["--oversubscribe"] if "Open MPI" in version or "OpenRTE" in version else []


def launch(
    placed: PlacedRun, *, batch_size: int, mpiexec: str | None, launcher_args: Sequence[str]
) -> RunOutcome:
    """Run ``placed`` as an MPI job with one rank per partition; rank 0's
    outcome, or its error raised here. A job that ends before rank 0
    reported names the rank killed first, when its watcher saw it."""
    launcher = find_mpiexec(mpiexec)
    ranks = ["-n", str(len(placed.partitions))]
    flags = [*_launcher_flags(launcher), *launcher_args, *ranks]
    spec = RankSpec.of(placed, batch_size)
    payload = GraphPayload.create(placed.flat.by_id(), "mpi")
    # On an interrupt, a rank's watcher may still be writing its record in it.
    with tempfile.TemporaryDirectory(prefix="d4p-mpi-", ignore_cleanup_errors=True) as directory:
        job_path = Path(directory) / "job.spec"
        with open(job_path, "wb") as handle:
            pickle.dump((spec, payload), handle, protocol=pickle.HIGHEST_PROTOCOL)
        command = [launcher, *flags, sys.executable, "-m", "d4p_mpi._launch", str(job_path)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        status = _run_launcher(command, env)
        result_path = job_path.with_suffix(".result")
        outcome: RunOutcome | RunError | None = None
        if result_path.exists():
            with open(result_path, "rb") as handle:
                outcome = pickle.load(handle)
        lost = first_lost(Path(directory))
    if outcome is None and lost is not None:  # a rank killed by a signal
        rank, code = lost
        raise worker_lost(spec.describe(rank), exit_description(code))
    if outcome is None:  # no rank said why: the launcher's status is all there is
        job_name = shlex.join([Path(launcher).name, *flags])
        raise worker_lost(f"the MPI job ({job_name})", exit_description(status))
    if isinstance(outcome, RunError):
        raise outcome
    return outcome


def _run_launcher(command: list[str], env: dict[str, str]) -> int:
    """Run mpiexec to its end and return its exit status. The ranks share
    this terminal: PE logs and MPI's own messages reach the user as they
    happen.

    mpiexec is tied to this process as core ties its workers (it gets
    SIGTERM when this process dies; Hydra then stops the ranks). On an
    interrupt it is terminated, and killed after core's abort grace."""
    parent = os.getpid()
    launcher = subprocess.Popen(command, env=env, preexec_fn=lambda: die_with_parent(parent))
    try:
        return launcher.wait()
    except BaseException:
        launcher.terminate()
        try:
            launcher.wait(timeout=ABORT_GRACE)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.wait()
        raise
