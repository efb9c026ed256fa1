"""What every MPI rank runs: the shared engine for the instances placed on
this rank, with an mpi4py transport, reporting under core's protocol.

Messages (all pickled by mpi4py):

* ``("data", address, batch)`` / ``("eos", address, None)`` between ranks
  (tag ``_TAG``);
* ``(Report, rank, payload)`` from every rank to rank 0 (tag
  ``_REPORT_TAG``, so that rank 0 can take them alone, between the batches
  its own sources send: results stream while it runs them), sent by a
  :class:`~d4p_core.backend.BatchingReporter`: results in batches, then
  ``done`` with the rank's metrics, or ``failed`` / ``crashed``;
* ``("alive", rank, seconds)`` from every other rank to rank 0 just before
  its ``done``: how long the rank has been alive for the run (MPI keeps the
  order of messages between two ranks, so rank 0 has it by then).

Reports are sent without blocking (``isend``): a rank reporting results
while rank 0 sends it data must not wait on rank 0, which is waiting on it.
Rank 0 runs its own share too; its reports and every other rank's go to one
:class:`~d4p_core.backend.ReportSink`, which raises the run's error.

A rank whose PE failed (or that crashed) reports to rank 0 and then keeps
receiving (and dropping) messages, so no rank stays blocked sending to it;
rank 0 reports the failure and aborts the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from d4p_core import GraphError, RunError
from d4p_core.backend import (
    Address,
    Batch,
    BatchingReporter,
    Executor,
    InputSpec,
    PEFailure,
    PlacedRun,
    Plan,
    Report,
    ReportSink,
    RunOutcome,
    crash_text,
    instantiate,
    send_pe_prints_to_stderr,
    worker_crashed,
)

__all__ = ["RankSpec", "run_rank"]

_TAG = 11
_REPORT_TAG = 12
_DATA, _EOS, _ALIVE = "data", "eos", "alive"
_MAX_IDLE_SLEEP = 0.001

LoadPEs = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class RankSpec:
    """Everything a rank needs, cut from the placed run; identical on every rank."""

    plan: Plan
    owner: dict[Address, int]
    hosted: tuple[tuple[Address, ...], ...]
    provided: tuple[dict[str, InputSpec], ...]
    names: tuple[str, ...]
    batch_size: int

    @classmethod
    def of(cls, placed: PlacedRun, batch_size: int) -> RankSpec:
        ranks = range(len(placed.partitions))
        return cls(
            plan=placed.plan,
            owner=placed.owner,
            hosted=placed.partitions,
            provided=tuple(placed.provided_for(rank) for rank in ranks),
            names=tuple(f"worker {rank} ({placed.describe_partition(rank)})" for rank in ranks),
            batch_size=batch_size,
        )

    def describe(self, rank: int) -> str:
        """How failure messages name ``rank``, as every mapping names its
        workers: ``"worker 2 (hosting a[1])"`` (worker N is rank N)."""
        return self.names[rank] if rank < len(self.names) else f"worker {rank}"


class _MpiTransport:
    """Batches to the rank that hosts their destination; ``after_send``
    (rank 0: take the reports that arrived) runs after each batch."""

    def __init__(
        self, comm: Any, owner: dict[Address, int], after_send: Callable[[], None] | None = None
    ) -> None:
        self._comm = comm
        self._owner = owner
        self._after_send = after_send

    def send(self, dst: Address, batch: Batch) -> None:
        self._comm.send((_DATA, dst, batch), dest=self._owner[dst], tag=_TAG)
        if self._after_send is not None:
            self._after_send()

    def send_eos(self, dst: Address) -> None:
        self._comm.send((_EOS, dst, None), dest=self._owner[dst], tag=_TAG)


def run_rank(
    comm: Any,
    spec: RankSpec,
    load_pes: LoadPEs,
    alive_since: float | None = None,
    forward: Connection | None = None,
) -> RunOutcome | None:
    """Run this rank's share. Rank 0 returns the outcome of the whole run
    (or raises :class:`~d4p_core.RunError` for a failure on any rank); the
    other ranks return ``None``.

    ``alive_since``: when (``time.monotonic()``) this rank's life for the
    run began: its process start when d4p launched the job, else (inside
    the user's ``mpiexec``) now. Every rank counts from there to its
    ``done``, rank 0 to the end of the run; rank 0 sums them into
    ``RunOutcome.process_seconds``. (A rank's exit after ``done``, MPI's
    finalisation, is not counted: nobody is left to tell.) ``forward``:
    rank 0 sends every results report there as it arrives (the driver that
    launched the job streams them), instead of keeping it for the outcome."""
    if alive_since is None:
        alive_since = time.monotonic()
    send_pe_prints_to_stderr()  # stdout carries the results only
    if comm.Get_size() < len(spec.hosted):
        raise GraphError(
            f"the placement needs {len(spec.hosted)} ranks but the MPI world has {comm.Get_size()}"
        )
    if comm.Get_rank() == 0:
        return _collect(comm, spec, load_pes, alive_since, forward)
    _report(comm, spec, load_pes, alive_since)
    return None


def _collect(
    comm: Any,
    spec: RankSpec,
    load_pes: LoadPEs,
    alive_since: float,
    forward: Connection | None,
) -> RunOutcome:
    """Rank 0: run its share, then wait until every rank reported ``done``."""
    sink = ReportSink(spec.describe)
    alive: dict[int, float] = {}  # rank -> seconds alive, reported before its done

    def on_report(kind: Any, sender: int, payload: Any) -> None:
        if kind == _ALIVE:
            alive[sender] = float(payload)
        elif forward is not None and kind == Report.RESULTS:
            forward.send(payload)  # one report: a batch of results
        else:
            sink.handle(kind, sender, payload)

    def deliver(kind: Report, payload: Any) -> None:
        on_report(kind, 0, payload)  # rank 0's own reports need no message

    from mpi4py import MPI  # imported on ranks only: importing it starts MPI

    def take_reports() -> None:
        # Between the batches rank 0's sources send: its loop reads messages
        # only once they are done, and results must not wait for that.
        while comm.Iprobe(source=MPI.ANY_SOURCE, tag=_REPORT_TAG):
            on_report(*comm.recv(source=MPI.ANY_SOURCE, tag=_REPORT_TAG))

    reporter = BatchingReporter(deliver)
    try:
        _serve(comm, spec, load_pes, reporter, on_report, take_reports)
    except PEFailure as failure:
        reporter.failed(failure.info)  # the sink raises it as the run's error
    except RunError:
        raise  # another rank's failure or crash, raised by the sink
    except Exception as exc:  # noqa: BLE001 - the run's error, naming this rank
        raise worker_crashed(spec.describe(0), crash_text(exc)) from None
    while len(sink.finished) < comm.Get_size():
        on_report(*_receive(comm))
    own = time.monotonic() - alive_since
    return RunOutcome(sink.outputs, sink.metrics, process_seconds=own + sum(alive.values()))


def _report(comm: Any, spec: RankSpec, load_pes: LoadPEs, alive_since: float) -> None:
    """Any other rank: run its share, reporting to rank 0."""
    from mpi4py import MPI  # imported on ranks only: importing it starts MPI

    rank = comm.Get_rank()
    pending: list[Any] = []  # isend requests keep their buffers until complete

    def send(kind: Report | str, payload: Any) -> None:
        pending[:] = [request for request in pending if not request.Test()]
        pending.append(comm.isend((kind, rank, payload), dest=0, tag=_REPORT_TAG))

    def report(kind: Report, payload: Any) -> None:
        if kind is Report.DONE:  # how long this rank lived for the run, first
            send(_ALIVE, time.monotonic() - alive_since)
        send(kind, payload)

    reporter = BatchingReporter(report)

    def unexpected(kind: Any, sender: int, payload: Any) -> None:
        raise RuntimeError(f"rank {rank} got a {kind!r} report from rank {sender}")

    try:
        _serve(comm, spec, load_pes, reporter, unexpected)
    except PEFailure as failure:
        reporter.failed(failure.info)
    except Exception as exc:  # noqa: BLE001 - reported to rank 0
        reporter.crashed(exc)
    else:
        _wait(lambda: bool(MPI.Request.Testall(pending)))
        return
    while True:  # let senders to this rank go on until rank 0 aborts the job
        _receive(comm)


def _serve(
    comm: Any,
    spec: RankSpec,
    load_pes: LoadPEs,
    reporter: BatchingReporter,
    on_report: Callable[[Any, int, Any], object],
    after_send: Callable[[], None] | None = None,
) -> None:
    """Run the instances hosted here to their end and report ``done``."""
    rank = comm.Get_rank()
    hosted = spec.hosted[rank] if rank < len(spec.hosted) else ()
    executor = Executor(
        spec.plan,
        instantiate(load_pes(), hosted),
        transport=_MpiTransport(comm, spec.owner, after_send),
        on_result=reporter.result,
        batch_size=spec.batch_size,
    )

    def next_message(before_wait: Callable[[], None]) -> tuple[Address, Any]:
        # Data and end-of-stream go to the engine; reports (rank 0 only)
        # go to the sink, which raises for another rank's failure.
        while True:
            before_wait()
            kind, sender, payload = _receive(comm)
            if kind == _DATA:
                return sender, payload
            if kind == _EOS:
                return sender, None
            on_report(kind, sender, payload)

    executor.start()
    executor.feed(spec.provided[rank] if rank < len(spec.provided) else {})
    executor.serve(next_message)
    reporter.done(executor.instance_metrics())


def _receive(comm: Any) -> tuple[Any, Any, Any]:
    """The next message (data or report), from any rank. (Each sender's
    messages arrive in the order sent: both tags match this receive.)"""
    from mpi4py import MPI

    status = MPI.Status()
    _wait(lambda: bool(comm.Iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status)))
    message: tuple[Any, Any, Any] = comm.recv(source=status.Get_source(), tag=status.Get_tag())
    return message


def _wait(ready: Callable[[], bool]) -> None:
    """Wait until ``ready()``. MPI libraries spin inside blocking calls,
    which steals the core from busy ranks when there are more ranks than
    cores; this polls and sleeps (50 us, doubling up to 1 ms) instead."""
    delay = 0.0
    while not ready():
        time.sleep(delay)
        delay = min(_MAX_IDLE_SLEEP, delay * 2 or 50e-6)
