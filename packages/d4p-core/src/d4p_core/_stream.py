"""``d4p_core.stream``: iterate over a run's results as they arrive."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._run import run

if TYPE_CHECKING:
    from .inputs import Inputs
    from .mapping import Mapping
    from .model.graph import WorkflowGraph
    from .runtime.result import RunResult

__all__ = ["ResultStream", "stream"]

_BUFFER = 4096  # results between the run and a slow reader (then the run waits)
_END = object()


class _StreamClosed(BaseException):
    """Raised in the run when its reader closed the stream: a BaseException,
    so that no PE or mapping mistakes it for an error of its own."""


class _Run:
    """What the run's thread shares with the reader. The thread holds this,
    never the :class:`ResultStream`, so a stream its reader dropped is
    collected and stops the run."""

    def __init__(self) -> None:
        self.items: queue.Queue[Any] = queue.Queue(maxsize=_BUFFER)
        self.closed = threading.Event()
        self.error: BaseException | None = None
        self.result: RunResult | None = None

    def put(self, item: Any) -> None:
        while True:
            if self.closed.is_set():
                raise _StreamClosed
            try:
                self.items.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def on_result(self, pe_id: str, output: str, value: Any) -> None:
        self.put((pe_id, output, value))

    def __call__(
        self,
        graph: WorkflowGraph,
        mapping: str | Mapping[Any],
        inputs: Inputs,
        processes: int | None,
        options: dict[str, Any],
    ) -> None:
        try:
            self.result = run(
                graph, mapping, inputs, processes, on_result=self.on_result, **options
            )
        except _StreamClosed:
            return
        except BaseException as error:  # noqa: BLE001 - handed to the reader
            self.error = error
        with contextlib.suppress(_StreamClosed):
            self.put(_END)


class ResultStream(Iterator[tuple[str, str, Any]]):
    """The results of a run, ``(pe_id, output, value)``, as they arrive.

    The run goes on in a background thread and waits when the reader falls
    behind by more than a few thousand results. Once the iteration ends,
    :attr:`result` is the run's :class:`~d4p_core.RunResult` (its
    ``outputs`` empty: they were streamed). A failing run raises its error
    from the iteration. :meth:`close` (or leaving a ``with`` block, or
    dropping the stream) stops the run; ``close`` waits until everything
    the run started has ended.
    """

    def __init__(
        self,
        graph: WorkflowGraph,
        mapping: str | Mapping[Any],
        inputs: Inputs,
        processes: int | None,
        options: dict[str, Any],
    ) -> None:
        self._run = _Run()
        self._ended = False  # the reader saw the end of the results
        self._thread = threading.Thread(
            target=self._run,
            args=(graph, mapping, inputs, processes, options),
            name="d4p-stream",
            daemon=True,
        )
        self._thread.start()

    @property
    def result(self) -> RunResult | None:
        """The run's result, once the iteration has ended (else ``None``)."""
        return self._run.result if self._ended else None

    def __iter__(self) -> ResultStream:
        return self

    def __next__(self) -> tuple[str, str, Any]:
        if self._run.closed.is_set():
            raise StopIteration
        item = self._run.items.get()
        if item is _END:
            self._ended = True
            self.close()
            if self._run.error is not None:
                raise self._run.error
            raise StopIteration
        result: tuple[str, str, Any] = item
        return result

    def close(self) -> None:
        """Stop the run (if it still goes on) and wait for it to end."""
        self._run.closed.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def __enter__(self) -> ResultStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        self._run.closed.set()  # the run stops at its next result


def stream(
    graph: WorkflowGraph,
    mapping: str | Mapping[Any] = "simple",
    inputs: Inputs = None,
    processes: int | None = None,
    **options: Any,
) -> ResultStream:
    """Run ``graph`` like :func:`d4p_core.run` and iterate over its results,
    ``(pe_id, output, value)``, as they arrive, with memory flat in their
    number::

        with stream(graph, "multi", inputs=1000, processes=4) as results:
            for pe_id, output, value in results:
                ...
    """
    return ResultStream(graph, mapping, inputs, processes, options)
