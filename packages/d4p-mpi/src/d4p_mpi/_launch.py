"""``python -m d4p_mpi._launch JOB`` — what ``mpiexec`` starts on every rank
when d4p launched the job itself: a watcher (:mod:`d4p_mpi._watch`) and,
forked from it, the rank. Rank 0 writes the outcome of the run (or the error
that ended it) next to JOB, for the driver to read."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from d4p_core import RunError
from d4p_core.backend import RunOutcome

from ._rank import run_rank
from ._watch import watched
from ._world import abort_job


def main(job_path: str) -> int:
    """The watcher, and forked from it the rank (:func:`run_job`)."""
    return watched(lambda: run_job(job_path), Path(job_path).parent)


def run_job(job_path: str) -> int:
    """This rank's share of the job in JOB (MPI starts here)."""
    from mpi4py import MPI

    with open(job_path, "rb") as handle:
        spec, payload = pickle.load(handle)
    comm = MPI.COMM_WORLD
    outcome: RunOutcome | RunError | None
    try:
        outcome = run_rank(comm, spec, payload.load)
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
