"""PEs of the zmq tests (module level: worker processes import them)."""

from __future__ import annotations

from typing import Any

from d4p_core import ConsumerPE, ProducerPE, WorkflowGraph
from d4p_core.testing.pes import KillSelfOn

__all__ = ["Flood", "Slow", "build_flood", "build_self_kill"]


class Flood(ProducerPE):
    """Writes ``count`` items of ``size`` bytes from one call, as fast as it
    can; with ``entered``, it creates that file first (a test then knows the
    run is under way)."""

    def __init__(self, count: int = 10, size: int = 200, entered: str | None = None) -> None:
        super().__init__()
        self.count = count
        self.size = size
        self.entered = entered

    def _process(self, inputs: Any) -> None:
        if self.entered is not None:
            open(self.entered, "a").close()
        write, size = self.write, self.size
        for _ in range(self.count):
            write("output", b"x" * size)  # a new object each time: pickled in full


class Slow(ConsumerPE):
    """A consumer that spends a little CPU on every item."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    def _process(self, data: Any) -> None:
        self.seen += sum(range(300)) and len(data)


def build_flood(count: int, size: int = 200, entered: str | None = None) -> WorkflowGraph:
    graph = WorkflowGraph()
    graph.connect(Flood(count, size, entered), "output", Slow(), "input")
    return graph


def build_self_kill(at: int = 3) -> WorkflowGraph:
    from d4p_core.testing.pes import CountingProducer, PassThrough

    graph = WorkflowGraph()
    producer, killer, last = CountingProducer(), KillSelfOn(at), PassThrough()
    graph.connect(producer, "output", killer, "input")
    graph.connect(killer, "output", last, "input")
    return graph
