"""Module-level PEs for the multiprocessing tests (importable under spawn)."""

from __future__ import annotations

import os
import time
from typing import Any

from d4p_core import ConsumerPE, GenericPE, IterativePE, ProducerPE, WorkflowGraph
from d4p_core.testing.pes import CountingProducer, Hangs, PassThrough


class SleepOn(IterativePE):
    """Sleeps ``seconds`` on item ``value`` (one slow item)."""

    def __init__(self, value: int = 3, seconds: float = 3.0) -> None:
        super().__init__()
        self.value = value
        self.seconds = seconds

    def _process(self, data: Any) -> Any:
        if data == self.value:
            time.sleep(self.seconds)
        return data


class Payload(ProducerPE):
    """Emits 200-byte strings, fast."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def _process(self, inputs: Any) -> str:
        self.n += 1
        return f"{self.n:010d}" * 20


class Busy(IterativePE):
    """Burns ``milliseconds`` of CPU per item."""

    def __init__(self, milliseconds: float = 5.0) -> None:
        super().__init__()
        self.milliseconds = milliseconds

    def _process(self, data: Any) -> Any:
        end = time.perf_counter() + self.milliseconds / 1000
        while time.perf_counter() < end:
            pass
        return data


def build_chain(middle: IterativePE) -> WorkflowGraph:
    graph = WorkflowGraph()
    first, last = PassThrough(), PassThrough()
    graph.connect(CountingProducer(), "output", first, "input")
    graph.connect(first, "output", middle, "input")
    graph.connect(middle, "output", last, "input")
    return graph


class ReportingPayload(Payload):
    """:class:`Payload` that publishes how many items it has made (a file,
    rewritten atomically every 256 items), so a test can watch it stall."""

    def __init__(self, progress_file: str) -> None:
        super().__init__()
        self.progress_file = progress_file

    def _process(self, inputs: Any) -> str:
        if self.n % 256 == 0:
            partial = f"{self.progress_file}.part"
            with open(partial, "w", encoding="utf-8") as handle:
                handle.write(str(self.n))
            os.replace(partial, self.progress_file)
        return super()._process(inputs)


class GatedCounter(ConsumerPE):
    """Counts its items, but takes none until the file ``gate`` exists."""

    def __init__(self, gate: str) -> None:
        super().__init__()
        self._add_output("output")
        self.gate = gate
        self.count = 0

    def _process(self, data: Any) -> None:
        while not self.count and not os.path.exists(self.gate):
            time.sleep(0.01)
        self.count += 1

    def _postprocess(self) -> None:
        self.write("output", self.count)


def build_gated_backpressure(progress_file: str, gate: str) -> WorkflowGraph:
    graph = WorkflowGraph()
    graph.connect(ReportingPayload(progress_file), "output", GatedCounter(gate), "input")
    return graph


class SlowSource(ProducerPE):
    """Emits 1 every 50 ms: a long run that never blocks on its queue."""

    def _process(self, inputs: Any) -> int:
        time.sleep(0.05)
        return 1


def build_slow_source(stuck_marker: str | None = None) -> WorkflowGraph:
    """SlowSource into PassThrough, or into a PE that hangs (and creates
    ``stuck_marker`` when it does)."""
    graph = WorkflowGraph()
    last = PassThrough() if stuck_marker is None else Hangs(stuck_marker)
    graph.connect(SlowSource(), "output", last, "input")
    return graph


class Fan(IterativePE):
    """Writes ``k`` copies of each input."""

    def __init__(self, k: int = 10) -> None:
        super().__init__()
        self.k = k

    def _process(self, data: Any) -> None:
        for _ in range(self.k):
            self.write("output", data)


class StatefulTotal(ConsumerPE):
    """Declared stateful (no grouping): counts everything, emits in postprocess."""

    stateful = True

    def __init__(self) -> None:
        super().__init__()
        self._add_output("output")
        self.count = 0

    def _process(self, data: Any) -> None:
        self.count += 1

    def _postprocess(self) -> None:
        self.write("output", self.count)


class Ticker(ProducerPE):
    """Emits forever, every 30 ms: a run that only a failure can end."""

    def _process(self, inputs: Any) -> None:
        n = 0
        while True:
            time.sleep(0.03)
            n += 1
            self.write("output", n)


class PoolUser(IterativePE):
    """Uses a process pool of its own inside process()."""

    def _process(self, data: Any) -> Any:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(1) as pool:
            return pool.apply(abs, (-data,))


class Pair(GenericPE):
    """Two inputs; given both in one block, returns them together."""

    def __init__(self) -> None:
        super().__init__()
        self._add_input("a")
        self._add_input("b")
        self._add_output("output")

    def _process(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"output": [inputs.get("a"), inputs.get("b")]}
