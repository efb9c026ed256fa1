"""``python -m d4p_mpi._launch JOB`` — what ``mpiexec`` starts on every rank
when d4p launched the job itself: a watcher (:mod:`d4p_mpi._watch`) and,
forked from it, the rank. Rank 0 writes the outcome of the run (or the error
that ended it) next to JOB, for the driver to read, and sends the results as
it gets them when the driver asked for them so (:mod:`._results`).

The rank ignores SIGINT: a Ctrl-C is the driver's to handle (it stops the
job), as on every mapping; Hydra's SIGTERM ends it."""

from __future__ import annotations

import pickle
import signal
import sys
import time
from pathlib import Path

from d4p_core import RunError
from d4p_core.backend import RunOutcome

from ._environment import restore_for_rank
from ._jobdir import driver_gone, remove
from ._rank import run_rank
from ._results import forward_results
from ._shm import record_segments
from ._watch import watched
from ._world import abort_job


def main(job_path: str) -> int:
    """The watcher, and forked from it the rank (:func:`run_job`); none
    when the driver died while mpiexec was starting the job (a failure
    status, so that Hydra ends the job rather than wait for this rank)."""
    started = time.monotonic()  # the rank counts from here (this process exists for the run)
    job = Path(job_path).parent
    restore_for_rank(job)
    if driver_gone(job):
        remove(job)
        return 1
    return watched(lambda: run_job(job_path, started), job)


def run_job(job_path: str, started: float | None = None) -> int:
    """This rank's share of the job in JOB (MPI starts here); ``started``:
    when the process mpiexec started began (``time.monotonic()``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from mpi4py import MPI

    with open(job_path, "rb") as handle:
        spec, payload, results_at = pickle.load(handle)
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    record_segments(Path(job_path).parent, rank)
    outcome: RunOutcome | RunError | None
    try:
        with forward_results(results_at if rank == 0 else None) as forward:
            outcome = run_rank(comm, spec, payload.load, started, forward)
    except RunError as error:  # raised on rank 0 only
        outcome = error
    if outcome is not None:
        result_path = Path(job_path).with_suffix(".result")
        tmp = result_path.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            pickle.dump(outcome, handle, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(result_path)
    if isinstance(outcome, RunError):
        abort_job(comm, outcome.exit_code)  # reported; the other ranks wait for this
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
