"""A complete d4p backend in one page: PE instances on threads of this
process, batches over ``queue.Queue``. It is what ``docs/backends.md`` walks
through, and the integration tests run d4p's whole conformance suite on it.

Everything but the transport comes from core (:mod:`d4p_core.backend`): the
plan and placement (``FixedPlacementMapping``), options declared once
(``option``), the engine (``Executor``), the report protocol (``ReportSink``
on the driver side, ``BatchingReporter`` on the worker side) and the result.

Run it::

    python examples/thread_backend.py
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from d4p_core import D4pError
from d4p_core.backend import (
    Aborted,
    Address,
    Batch,
    BatchingReporter,
    Executor,
    FixedPlacementMapping,
    Fuse,
    PEFailure,
    PlacedRun,
    Report,
    ReportSink,
    RunOutcome,
    crash_text,
    instantiate,
    option,
)


@dataclass(frozen=True)
class ThreadOptions:
    """Options of ``threads``: each field is also a ``d4p run threads`` flag."""

    processes: int | None = None  # from -n: threads (default: CPU count)
    batch_size: int = option(256, "items per message")
    fuse: Fuse = option("auto", "fuse chains of PEs", choices=("auto", "always", "never"))

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise D4pError(f"batch_size must be at least 1, not {self.batch_size}")


class _QueueTransport:
    """The whole transport: a batch for an instance goes to its thread's inbox."""

    def __init__(self, inboxes: list[queue.Queue[Any]], owner: dict[Address, int]) -> None:
        self._inboxes = inboxes
        self._owner = owner

    def send(self, dst: Address, batch: Batch) -> None:
        self._inboxes[self._owner[dst]].put((dst, batch))

    def send_eos(self, dst: Address) -> None:
        self._inboxes[self._owner[dst]].put((dst, None))


class ThreadMapping(FixedPlacementMapping[ThreadOptions]):
    """PE instances (or fused chains) on threads of the calling process."""

    name: ClassVar[str] = "threads"
    description: ClassVar[str] = "PE instances on threads of this process (an example backend)"
    options_class: ClassVar[type[ThreadOptions]] = ThreadOptions

    def execute(self, placed: PlacedRun, options: ThreadOptions) -> RunOutcome:
        started = time.perf_counter()
        inboxes: list[queue.Queue[Any]] = [queue.Queue() for _ in placed.partitions]
        reports: queue.Queue[tuple[Report, int, Any]] = queue.Queue()
        sink = ReportSink(lambda i: f"worker {i} ({placed.describe_partition(i)})")
        pes = placed.flat.by_id()  # instantiate() gives every instance a fresh copy

        def worker(index: int) -> None:
            reporter = BatchingReporter(lambda kind, payload: reports.put((kind, index, payload)))
            try:
                executor = Executor(
                    placed.plan,
                    instantiate(pes, placed.partitions[index]),
                    transport=_QueueTransport(inboxes, placed.owner),
                    on_result=reporter.result,
                    batch_size=options.batch_size,
                )
                executor.start()
                executor.feed(placed.provided_for(index))
                executor.serve(lambda before_wait: _next(inboxes[index], before_wait))
                reporter.done(executor.instance_metrics())
            except PEFailure as failure:
                reporter.failed(failure.info)
            except Aborted:
                pass  # another worker failed; the driver is raising already
            except Exception as exc:  # noqa: BLE001 - reported to the driver
                reporter.send(Report.CRASHED, crash_text(exc))

        threads = [
            threading.Thread(target=worker, args=(i,), daemon=True)
            for i in range(len(placed.partitions))
        ]
        for thread in threads:
            thread.start()
        try:
            while len(sink.finished) < len(threads):
                sink.handle(*reports.get())  # raises RunError for a failure or crash
        finally:
            for inbox in inboxes:  # a failed run: wake and end every worker
                inbox.put(_ABORT)
            for thread in threads:
                thread.join()
        # process-seconds: one process (this one) did all the PE work.
        return RunOutcome(sink.outputs, sink.metrics, process_seconds=time.perf_counter() - started)


_ABORT = ("", -1), "abort"


def _next(inbox: queue.Queue[Any], before_wait: Any) -> tuple[Address, Any]:
    try:
        message: tuple[Address, Any] = inbox.get_nowait()
    except queue.Empty:
        before_wait()  # send what the engine buffered before blocking
        message = inbox.get()
    if message is _ABORT:
        raise Aborted
    return message


if __name__ == "__main__":
    from d4p_core import run
    from d4p_core.testing.workflows import build_word_count

    result = run(build_word_count(), ThreadMapping(), inputs=20, processes=3)
    print(result.outputs)
