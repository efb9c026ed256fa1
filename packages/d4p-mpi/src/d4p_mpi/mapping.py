"""The ``mpi`` mapping: PE instances on the ranks of an MPI job.

Two ways to start, both giving the same results:

* inside MPI — ``mpiexec -n 4 d4p run mpi wf.py``: every rank loads the
  workflow by module path, the world size decides the placement, rank 0
  returns (and the CLI prints) the results, the other ranks print nothing;
* outside MPI — ``d4p run mpi wf.py -n 4`` or ``d4p_core.run(graph, "mpi",
  processes=4)``: d4p starts ``mpiexec`` itself (the one of the ``mpich`` wheel
  next to this interpreter, or ``--mpiexec``), sends the PEs pickled, and reads
  rank 0's outcome back.
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from d4p_core import (
    D4pError,
    Inputs,
    PEMetrics,
    RunError,
    RunResult,
    ServiceUnavailableError,
    WorkflowGraph,
)
from d4p_core.backend import (
    FlatGraph,
    Fuse,
    GraphPayload,
    Plan,
    merge_metrics,
    place,
    resolve_inputs,
)

from ._rank import RankOutcome, RankSpec
from ._world import abort_job, finish_on_rank0, inside_mpi, world_size

__all__ = ["MpiMapping", "MpiOptions"]


@dataclass(frozen=True)
class MpiOptions:
    """Options of ``mpi``.

    ``processes``: ranks to start when d4p launches ``mpiexec`` (inside MPI
    the world size is used); ``mpiexec``: the launcher to use;
    ``mpiexec_args``: extra launcher arguments (``-f hostfile``...);
    ``batch_size``: items per message; ``fuse``: as for ``multi``.
    """

    processes: int | None = None
    mpiexec: str | None = None
    mpiexec_args: tuple[str, ...] = field(default=())
    batch_size: int = 256
    fuse: Fuse = "auto"

    def __post_init__(self) -> None:
        if self.processes is not None and self.processes < 1:
            raise D4pError(f"processes must be at least 1, not {self.processes}")
        if self.batch_size < 1:
            raise D4pError(f"batch_size must be at least 1, not {self.batch_size}")
        if self.fuse not in ("auto", "always", "never"):
            raise D4pError(f"fuse must be auto, always or never, not {self.fuse!r}")


def _spec(flat: FlatGraph, inputs: Inputs, ranks: int, options: MpiOptions) -> RankSpec:
    plan = Plan.build(flat, max(ranks, Plan.minimum_processes(flat)))
    blocks = place(plan, ranks, options.fuse)
    provided = resolve_inputs(flat, inputs, plan.sources)
    return RankSpec(plan, blocks, provided, options.batch_size)


def _result(outcome: RankOutcome, started: float, blocks: Any) -> RunResult:
    if outcome.failure is not None:
        raise outcome.failure.to_error()
    instance_metrics: dict[str, dict[int, PEMetrics]] = {}
    for (pe_id, index), metrics in sorted(outcome.metrics.items()):
        instance_metrics.setdefault(pe_id, {})[index] = metrics
    return RunResult(
        mapping="mpi",
        outputs=outcome.outputs,
        metrics=merge_metrics({a[0]: m} for a, m in outcome.metrics.items()),
        instance_metrics=instance_metrics,
        elapsed_seconds=time.perf_counter() - started,
        extra={"placement": [list(block) for block in blocks]},
    )


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


class MpiMapping:
    name: ClassVar[str] = "mpi"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "PE instances on the ranks of an MPI job (mpiexec)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--mpiexec", help="the MPI launcher (default: the mpich wheel's)")
        parser.add_argument(
            "--mpiexec-arg",
            action="append",
            default=[],
            metavar="ARG",
            help="extra launcher argument, repeatable (e.g. --mpiexec-arg=-f --mpiexec-arg=hosts)",
        )
        parser.add_argument("--batch-size", type=int, default=256, help="items per message")
        parser.add_argument(
            "--fuse", choices=("auto", "always", "never"), default="auto", help="fuse chains"
        )

    def options_from_args(self, args: argparse.Namespace) -> MpiOptions:
        return MpiOptions(
            processes=getattr(args, "processes", None),
            mpiexec=args.mpiexec,
            mpiexec_args=tuple(args.mpiexec_arg),
            batch_size=args.batch_size,
            fuse=args.fuse,
        )

    def options_from_kwargs(self, processes: int | None, **kwargs: Any) -> MpiOptions:
        if "mpiexec_args" in kwargs:
            kwargs["mpiexec_args"] = tuple(kwargs["mpiexec_args"])
        try:
            return MpiOptions(processes=processes, **kwargs)
        except TypeError as exc:
            raise D4pError(f"invalid option for mpi: {exc}") from None

    def check(self, plan: Plan) -> None:
        pass

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: MpiOptions) -> RunResult:
        started = time.perf_counter()
        if inside_mpi():
            return self._run_inside(graph, inputs, options, started)
        return self._launch(graph, inputs, options, started)

    # -- inside an MPI job ------------------------------------------------------
    def _run_inside(
        self, graph: WorkflowGraph, inputs: Inputs, options: MpiOptions, started: float
    ) -> RunResult:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
        flat = graph.flat()
        spec = _spec(flat, inputs, world_size(), options)
        outcome = finish_on_rank0(comm, spec, flat.by_id())
        if outcome is None:
            return RunResult(mapping=self.name, primary=False)
        if outcome.failure is not None:
            error = outcome.failure.to_error()
            sys.stderr.write(f"d4p: error: {error}\n{outcome.failure.traceback}")
            sys.stderr.flush()
            abort_job(comm, error.exit_code)
        return _result(outcome, started, spec.blocks)

    # -- launching mpiexec ------------------------------------------------------
    def _launch(
        self, graph: WorkflowGraph, inputs: Inputs, options: MpiOptions, started: float
    ) -> RunResult:
        ranks = options.processes or os.cpu_count() or 1
        flat = graph.flat()
        spec = _spec(flat, inputs, ranks, options)
        mpiexec = find_mpiexec(options.mpiexec)
        payload = GraphPayload.create(flat.by_id(), "spawn")
        with tempfile.TemporaryDirectory(prefix="d4p-mpi-") as directory:
            spec_path = Path(directory) / "job.spec"
            with open(spec_path, "wb") as handle:
                pickle.dump({"spec": spec, "payload": payload}, handle, pickle.HIGHEST_PROTOCOL)
            command = [
                mpiexec,
                *_launcher_flags(mpiexec),
                *options.mpiexec_args,
                "-n",
                str(len(spec.blocks)),
                sys.executable,
                "-m",
                "d4p_mpi._launch",
                str(spec_path),
            ]
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
            # The ranks share this terminal: PE logs and MPI's own messages
            # reach the user as they happen.
            completed = subprocess.run(command, env=env, check=False)
            result_path = spec_path.with_suffix(".result")
            if result_path.exists():
                with open(result_path, "rb") as handle:
                    outcome: RankOutcome = pickle.load(handle)
                return _result(outcome, started, spec.blocks)
        raise RunError(
            f"the MPI job ({' '.join(command[:4])} ...) ended with status "
            f"{completed.returncode} before rank 0 reported; see its messages above"
        )
