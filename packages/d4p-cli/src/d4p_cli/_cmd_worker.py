"""``d4p worker BACKEND [options]``: start a worker process that joins a run
of a distributed mapping (from another terminal or another machine).

Backends provide workers through the ``d4p.workers`` entry-point group: the
entry point names a module (or object) with ``add_arguments(parser)``, which
adds the worker's options, and ``run_worker(args) -> int``, which runs until
the run it joined ends and returns the exit status. Usage errors and the
worker's ``D4pError``s are reported like every other command's.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from d4p_core import MappingNotFoundError

from ._parser import UsageParser, add_debug

__all__ = ["WORKER_GROUP", "worker_command"]

WORKER_GROUP = "d4p.workers"


def _installed() -> dict[str, EntryPoint]:
    return {entry_point.name: entry_point for entry_point in entry_points(group=WORKER_GROUP)}


def _listing(workers: dict[str, EntryPoint]) -> str:
    if not workers:
        return "no installed backend provides workers (install d4p-redis or d4p-zmq)"
    lines = []
    for name, entry_point in sorted(workers.items()):
        dist = entry_point.dist.name if entry_point.dist is not None else "?"
        lines.append(f"  {name:<10} from {dist}")
    return "installed workers:\n" + "\n".join(lines)


def worker_command(argv: list[str], *, prog: str) -> int:
    workers = _installed()
    if not argv or argv[0].startswith("-"):
        parser = UsageParser(
            prog=prog,
            description="Start a worker that joins a run of a distributed mapping "
            f"('{prog} BACKEND --help' shows the backend's options).",
            epilog=_listing(workers),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("backend", metavar="BACKEND", help="the backend, e.g. redis or zmq")
        add_debug(parser)
        parser.parse_args(argv)  # --help, or a usage error: both exit
        raise AssertionError("unreachable: argparse exits without a backend")  # pragma: no cover
    name, rest = argv[0], argv[1:]
    if name not in workers:
        installed = ", ".join(sorted(workers)) or "none"
        raise MappingNotFoundError(
            f"no installed backend provides '{prog} {name}' (install d4p-{name}); "
            f"installed workers: {installed}"
        )
    worker: Any = workers[name].load()
    parser = UsageParser(prog=f"{prog} {name}", description=f"Join a run of the {name} mappings.")
    worker.add_arguments(parser)
    add_debug(parser)
    args = parser.parse_args(rest)
    sys.stdout.flush()
    return int(worker.run_worker(args))
