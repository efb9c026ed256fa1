"""``python -m d4p_mpi._launch SPEC`` — what ``mpiexec`` starts on every rank
when d4p launched the job itself. Rank 0 writes the outcome next to SPEC."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from ._world import abort_job, finish_on_rank0


def main(spec_path: str) -> int:
    from mpi4py import MPI

    with open(spec_path, "rb") as handle:
        job = pickle.load(handle)
    pes = job["payload"].load()
    comm = MPI.COMM_WORLD
    outcome = finish_on_rank0(comm, job["spec"], pes)
    if outcome is not None:
        result_path = Path(spec_path).with_suffix(".result")
        tmp = result_path.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            pickle.dump(outcome, handle, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(result_path)
        if outcome.failure is not None:
            abort_job(comm, 2)  # the failure is reported; stop every rank now
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
