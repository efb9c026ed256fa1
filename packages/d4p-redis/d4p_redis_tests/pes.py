"""PEs for the Redis tests (module level: every worker process imports them)."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from d4p_core import GenericPE, IterativePE, ProducerPE, WorkflowGraph


class Numbers(ProducerPE):
    """Writes 0..n-1 in one call, optionally pausing between items."""

    def __init__(self, n: int, pause: float = 0.0) -> None:
        super().__init__()
        self.n = n
        self.pause = pause

    def _process(self, inputs: Any) -> None:
        for i in range(self.n):
            if self.pause:
                time.sleep(self.pause)
            self.write("output", i)


class Gated(Numbers):
    """Numbers that starts writing only once the file ``gate`` exists."""

    def __init__(self, n: int, gate: str, pause: float = 0.0) -> None:
        super().__init__(n, pause)
        self.gate = gate

    def _process(self, inputs: Any) -> None:
        while not os.path.exists(self.gate):
            time.sleep(0.01)
        super()._process(inputs)


class Double(IterativePE):
    """2x; optionally SIGKILLs its own worker process once (the first
    process to create ``kill_marker``), in the middle of a task."""

    def __init__(self, kill_marker: str | None = None, fail_on: int | None = None) -> None:
        super().__init__()
        self.kill_marker = kill_marker
        self.fail_on = fail_on

    def _process(self, data: Any) -> Any:
        if os.environ.get("D4P_TEST_KILL_ME"):
            os.kill(os.getpid(), signal.SIGKILL)  # this process dies on its first task
        if self.kill_marker is not None and data == 7:
            try:
                fd = os.open(self.kill_marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        if data == self.fail_on:
            raise ValueError(f"cannot double {data}")
        return 2 * data


class Tuples(IterativePE):
    """(x, [x]) — checks that tuples stay tuples."""

    def _process(self, data: Any) -> Any:
        return (data, [data])


def pipeline(
    n: int, pause: float = 0.0, stage: GenericPE | None = None, gate: str | None = None
) -> WorkflowGraph:
    graph = WorkflowGraph()
    source = Numbers(n, pause) if gate is None else Gated(n, gate, pause)
    first = stage or Double()
    graph.connect(source, "output", first, "input")
    return graph
