"""d4p launching the MPI job itself: ``mpiexec -n N python -m
d4p_mpi._launch JOB``, with the placed run pickled into JOB and rank 0's
outcome read back from next to it. JOB lives in a directory private to the
run (:mod:`._jobdir`), which Hydra's own temporary file is pointed into
(:mod:`._environment`) and MPICH's shared memory is recorded in
(:mod:`._shm`): a run leaves nothing in the temporary directory or in
``/dev/shm``, however it ends."""

from __future__ import annotations

import contextlib
import os
import pickle
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from d4p_core import RunError, ServiceUnavailableError
from d4p_core.backend import (
    GraphPayload,
    PlacedRun,
    RunOutcome,
    die_with_parent,
    exit_description,
    result_callback,
    worker_lost,
)

from ._environment import launcher_environment
from ._jobdir import holding_spec, job_directory
from ._rank import RankSpec
from ._results import ResultsListener
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
    reported names the rank killed first, when its watcher saw it. Results
    stream to the caller's result callback, if any (:mod:`._results`)."""
    launcher = find_mpiexec(mpiexec)
    ranks = ["-n", str(len(placed.partitions))]
    flags = [*_launcher_flags(launcher), *launcher_args, *ranks]
    spec = RankSpec.of(placed, batch_size)
    payload = GraphPayload.create(placed.flat.by_id(), "mpi")
    callback = result_callback()
    with contextlib.ExitStack() as stack:
        directory = stack.enter_context(job_directory())
        results = None
        if callback is not None:
            results = ResultsListener(directory, callback)
            stack.callback(results.close)
        job = (spec, payload, results.address if results else None)
        job_path = stack.enter_context(holding_spec(directory, job))
        command = [launcher, *flags, sys.executable, "-m", "d4p_mpi._launch", str(job_path)]
        status = _run_launcher(command, launcher_environment(directory), results)
        result_path = job_path.with_suffix(".result")
        outcome: RunOutcome | RunError | None = None
        if result_path.exists():
            with open(result_path, "rb") as handle:
                outcome = pickle.load(handle)
        lost = first_lost(directory)
    if outcome is None and lost is not None:  # a rank killed by a signal
        rank, code = lost
        raise worker_lost(spec.describe(rank), exit_description(code))
    if outcome is None:  # no rank said why: the launcher's status is all there is
        job_name = shlex.join([Path(launcher).name, *flags])
        raise worker_lost(f"the MPI job ({job_name})", exit_description(status))
    if isinstance(outcome, RunError):
        raise outcome
    return outcome


def _run_launcher(
    command: list[str], env: dict[str, str], results: ResultsListener | None = None
) -> int:
    """Run mpiexec to its end and return its exit status (handing results to
    the caller as they arrive, with ``results``). The ranks share
    this terminal's output: PE logs and MPI's own messages reach the user as
    they happen.

    On Ctrl-C (or any exception here) mpiexec is killed: Hydra's proxies
    then SIGKILL the ranks at once, quietly. Terminated instead, mpiexec
    passes SIGTERM on to the ranks, the first to end makes its proxy SIGKILL
    the others, and mpiexec prints a "bad termination" notice on stdout.
    mpiexec runs in a process group of its own, without stdin, so that a
    Ctrl-C (sent to the terminal's foreground group) reaches this process
    only: mpiexec would pass it on to the ranks, each printing a traceback.
    (A background group reading the terminal would be stopped; the ranks
    never read d4p's stdin, no mapping's workers do.) mpiexec is tied to
    this process as core ties its workers: it gets SIGTERM when this
    process dies, and Hydra stops the ranks."""
    parent = os.getpid()

    def detach_and_tie() -> None:
        os.setpgid(0, 0)
        die_with_parent(parent)

    launcher = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, preexec_fn=detach_and_tie
    )
    try:
        return results.serve(launcher) if results is not None else launcher.wait()
    except BaseException:
        launcher.kill()
        launcher.wait()
        raise
