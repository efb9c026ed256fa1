"""What every MPI rank runs: the shared engine for the instances placed on
this rank, with an mpi4py transport.

Messages (all pickled by mpi4py, tag ``_TAG``):

* ``("data", address, batch)`` / ``("eos", address, None)`` between ranks;
* ``("done", rank, (instance metrics, results))`` to rank 0 when a rank's
  instances ended — results travel only then: a rank that is done receives
  nothing more, so its send to rank 0 cannot wait on rank 0 sending to it;
* ``("failed", rank, FailureInfo)`` to rank 0 when a PE raised (non-blocking).

A rank whose PE failed reports to rank 0 and then keeps receiving (and
dropping) messages, so no rank stays blocked sending to it; rank 0 reports
the failure and aborts the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from d4p_core import PEMetrics
from d4p_core.backend import (
    Address,
    Batch,
    Executor,
    FailureInfo,
    InputSpec,
    PEFailure,
    Plan,
    instantiate,
)

__all__ = ["RankOutcome", "RankSpec", "run_rank"]

_TAG = 11
_MAX_IDLE_SLEEP = 0.001


@dataclass(frozen=True)
class RankSpec:
    """Everything a rank needs; identical on every rank."""

    plan: Plan
    blocks: tuple[tuple[Address, ...], ...]
    provided: dict[str, InputSpec]
    batch_size: int


@dataclass
class RankOutcome:
    """What rank 0 collects: results, metrics, or the failure that ended the run."""

    outputs: dict[str, dict[str, list[Any]]]
    metrics: dict[Address, PEMetrics]
    failure: FailureInfo | None = None


class _JobFailed(Exception):
    """Rank 0 learnt that a PE failed on another rank."""


class _MpiTransport:
    def __init__(self, comm: Any, owner: dict[Address, int]) -> None:
        self._comm = comm
        self._owner = owner

    def send(self, dst: Address, batch: Batch) -> None:
        self._comm.send(("data", dst, batch), dest=self._owner[dst], tag=_TAG)

    def send_eos(self, dst: Address) -> None:
        self._comm.send(("eos", dst, None), dest=self._owner[dst], tag=_TAG)


def run_rank(comm: Any, spec: RankSpec, pes: dict[str, Any]) -> RankOutcome | None:
    """Run this rank's share; rank 0 returns the outcome of the whole run."""
    rank, size = comm.Get_rank(), comm.Get_size()
    owner = {a: r for r, block in enumerate(spec.blocks) for a in block}
    hosted = spec.blocks[rank] if rank < len(spec.blocks) else ()
    results: list[tuple[str, str, Any]] = []
    outcome = RankOutcome({}, {}) if rank == 0 else None

    def on_result(pe_id: str, output: str, value: Any) -> None:
        results.append((pe_id, output, value))

    executor = Executor(
        spec.plan,
        instantiate(pes, hosted),
        transport=_MpiTransport(comm, owner),
        on_result=on_result,
        batch_size=spec.batch_size,
    )
    waiting_for = set(range(1, size))  # ranks whose "done" rank 0 awaits

    def next_message(before_wait: Callable[[], None]) -> tuple[Address, Any]:
        # Data and end-of-stream go to the engine; what rank 0 collects
        # from the other ranks is handled here.
        while True:
            before_wait()
            kind, sender, payload = _receive(comm)
            if kind == "data":
                return sender, payload
            if kind == "eos":
                return sender, None
            assert outcome is not None, f"rank {rank} got a {kind!r} message"
            _collect(outcome, kind, sender, payload, waiting_for)
            if outcome.failure is not None:
                raise _JobFailed

    try:
        executor.start()
        executor.feed({pe: s for pe, s in spec.provided.items() if (pe, 0) in hosted})
        executor.serve(next_message)
        while outcome is not None and waiting_for:
            kind, sender, payload = _receive(comm)
            _collect(outcome, kind, sender, payload, waiting_for)
            if outcome.failure is not None:
                return outcome
    except _JobFailed:
        return outcome
    except PEFailure as failure:
        if outcome is not None:
            outcome.failure = failure.info
            return outcome
        request = comm.isend(("failed", rank, failure.info), dest=0, tag=_TAG)
        while True:  # let senders go on until rank 0 aborts the job
            _receive(comm)
            request.Test()
    if outcome is not None:
        _add_results(outcome, results)
        outcome.metrics.update(executor.instance_metrics())
        return outcome
    comm.send(("done", rank, (executor.instance_metrics(), results)), dest=0, tag=_TAG)
    return None


def _receive(comm: Any) -> tuple[str, Any, Any]:
    """The next message. MPI libraries spin inside a blocking receive, which
    steals the core from busy ranks when there are more ranks than cores;
    waiting here probes and sleeps (50 us, doubling up to 1 ms) instead."""
    from mpi4py import MPI  # imported on ranks only: importing it starts MPI

    status = MPI.Status()
    delay = 0.0
    while not comm.Iprobe(source=MPI.ANY_SOURCE, tag=_TAG, status=status):
        time.sleep(delay)
        delay = min(_MAX_IDLE_SLEEP, delay * 2 or 50e-6)
    message: tuple[str, Any, Any] = comm.recv(source=status.Get_source(), tag=_TAG)
    return message


def _collect(
    outcome: RankOutcome, kind: str, sender: int, payload: Any, waiting_for: set[int]
) -> None:
    if kind == "done":
        metrics, results = payload
        outcome.metrics.update(metrics)
        _add_results(outcome, results)
        waiting_for.discard(sender)
    elif kind == "failed":
        outcome.failure = payload


def _add_results(outcome: RankOutcome, items: list[tuple[str, str, Any]]) -> None:
    for pe_id, output, value in items:
        outcome.outputs.setdefault(pe_id, {}).setdefault(output, []).append(value)
