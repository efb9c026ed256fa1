"""mpi4py ceiling: items/s from rank 0 to rank 1 with ``comm.send``/``recv``.

Started by ``_ceilings.py`` as ``mpiexec -n 2 python _mpi_ceiling.py ITEMS BATCH``;
rank 1 prints one JSON line ``{"items": ..., "seconds": ...}``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any


def main(argv: list[str]) -> int:
    items, batch = int(argv[0]), int(argv[1])
    mpi: Any = importlib.import_module("mpi4py.MPI")
    comm = mpi.COMM_WORLD
    if comm.Get_size() != 2:
        print("needs exactly 2 ranks", file=sys.stderr)
        return 2
    rank = comm.Get_rank()
    comm.Barrier()
    started = time.perf_counter()
    if rank == 0:
        if batch == 1:
            for i in range(items):
                comm.send(i, dest=1)
        else:
            for start in range(0, items, batch):
                comm.send(list(range(start, min(items, start + batch))), dest=1)
        comm.send(None, dest=1)
        return 0
    received = 0
    while (message := comm.recv(source=0)) is not None:
        received += 1 if batch == 1 else len(message)
    seconds = time.perf_counter() - started
    print(json.dumps({"items": received, "seconds": seconds}), flush=True)
    return 0 if received == items else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
