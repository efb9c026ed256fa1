"""PEs of the conformance workflows (module level, so every process can
import them and they pickle under ``spawn``)."""

from __future__ import annotations

import os
import random
import signal
import time
from typing import Any

from ..model.block import BlockPE
from ..model.helpers import IterativePE, ProducerPE
from ..model.pe import GenericPE

__all__ = [
    "BlockCounter",
    "Burst",
    "BurstThenTail",
    "BusyBelow",
    "CountingProducer",
    "DiesOnStart",
    "EvenOddPairer",
    "Failing",
    "GlobalSum",
    "Hangs",
    "KillSelfOn",
    "LengthFilter",
    "LifecycleProbe",
    "ModFilter",
    "MultiWriter",
    "NumberProducer",
    "OddSquares",
    "ParitySplitter",
    "PartialSum",
    "PassThrough",
    "Sequencer",
    "Total",
    "TwoInOneOut",
    "WordCounter",
    "WordProducer",
    "WriterPassThrough",
]

WORDS = ("apple", "banana", "cherry", "date", "elderberry", "fig", "grape", "kiwi")


class CountingProducer(GenericPE):
    """Emits 1, 2, 3... (one per call) on every output (``output`` or
    ``output0..k-1``): a stateful source, as dispel4py's TestProducer."""

    def __init__(self, num_outputs: int = 1) -> None:
        super().__init__()
        names = ["output"] if num_outputs == 1 else [f"output{i}" for i in range(num_outputs)]
        for name in names:
            self._add_output(name)
        self.counter = 0

    def _process(self, inputs: Any) -> dict[str, Any]:
        self.counter += 1
        return {name: self.counter for name in self.outputconnections}


class NumberProducer(GenericPE):
    """Writes ``"c:i"`` for i in 0..n-1 on each call c (several items per call)."""

    def __init__(self, n: int = 1) -> None:
        super().__init__()
        self._add_output("output")
        self.n = n
        self.counter = 0

    def _process(self, inputs: Any) -> None:
        self.counter += 1
        for i in range(self.n):
            self.write("output", f"{self.counter}:{i}")


class MultiWriter(IterativePE):
    """For each input x writes x*10, x*10+1 and x*10+2."""

    def _process(self, data: Any) -> None:
        for offset in range(3):
            self.write("output", data * 10 + offset)


class PassThrough(IterativePE):
    """Returns its input."""

    def _process(self, data: Any) -> Any:
        return data


class WriterPassThrough(IterativePE):
    """Emits its input with ``write``."""

    def _process(self, data: Any) -> None:
        self.write("output", data)


class TwoInOneOut(GenericPE):
    """Inputs ``input0``/``input1``; returns ``str`` of whichever arrived."""

    def __init__(self) -> None:
        super().__init__()
        self._add_input("input0")
        self._add_input("input1")
        self._add_output("output")

    def _process(self, inputs: dict[str, Any]) -> dict[str, Any]:
        (value,) = inputs.values()
        return {"output": str(value)}


class Sequencer(IterativePE):
    """Emits ``[value, n]`` where n counts the items this instance saw; correct
    only when one instance sees every item (e.g. behind a 'global' grouping)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    def _process(self, data: Any) -> Any:
        self.seen += 1
        return [data, self.seen]


class WordProducer(ProducerPE):
    """Emits ``[word]`` from a seeded generator (deterministic in any mapping)."""

    def __init__(self, seed: int = 42) -> None:
        super().__init__()
        self.seed = seed
        self._rng: random.Random | None = None

    def _preprocess(self) -> None:
        self._rng = random.Random(self.seed)

    def _process(self, inputs: Any) -> list[str]:
        assert self._rng is not None, "preprocess was not called"
        return [self._rng.choice(WORDS)]


class WordCounter(GenericPE):
    """Grouped by word; emits ``[word, running count]``."""

    def __init__(self, numprocesses: int = 1) -> None:
        super().__init__(numprocesses)
        self._add_input("input", grouping=[0])
        self._add_output("output")
        self.counts: dict[str, int] = {}

    def _process(self, inputs: dict[str, Any]) -> dict[str, Any]:
        word = inputs["input"][0]
        self.counts[word] = self.counts.get(word, 0) + 1
        return {"output": [word, self.counts[word]]}


class LengthFilter(IterativePE):
    """Keeps ``[word]`` items whose word length has the given parity."""

    def __init__(self, parity: int = 0, numprocesses: int = 1) -> None:
        super().__init__()
        self.numprocesses = numprocesses
        self.parity = parity

    def _process(self, data: Any) -> Any:
        return data if len(data[0]) % 2 == self.parity else None


class ModFilter(IterativePE):
    """Keeps integers ``x`` with ``x % modulus == remainder``."""

    def __init__(self, modulus: int = 2, remainder: int = 0) -> None:
        super().__init__()
        self.modulus = modulus
        self.remainder = remainder

    def _process(self, data: Any) -> Any:
        return data if data % self.modulus == self.remainder else None


class EvenOddPairer(GenericPE):
    """Pairs items from ``even`` and ``odd`` in arrival order (state across
    two inputs); leftovers are written in ``postprocess``."""

    stateful = True

    def __init__(self) -> None:
        super().__init__()
        self._add_input("even")
        self._add_input("odd")
        self._add_output("pair")
        self._add_output("leftover")
        self.waiting: dict[str, list[Any]] = {"even": [], "odd": []}

    def _process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        ((name, value),) = inputs.items()
        other = "odd" if name == "even" else "even"
        if self.waiting[other]:
            partner = self.waiting[other].pop(0)
            pair = (value, partner) if name == "even" else (partner, value)
            return {"pair": list(pair)}
        self.waiting[name].append(value)
        return None

    def _postprocess(self) -> None:
        for name in ("even", "odd"):
            for value in self.waiting[name]:
                self.write("leftover", value)
        self.waiting = {"even": [], "odd": []}


class GlobalSum(GenericPE):
    """Grouping 'global'; writes ``[sum, count]`` of what it saw in
    ``postprocess``, even when it saw nothing."""

    def __init__(self) -> None:
        super().__init__()
        self._add_input("input", grouping="global")
        self._add_output("output")
        self.total = 0
        self.seen = 0

    def _process(self, inputs: dict[str, Any]) -> None:
        self.total += inputs["input"]
        self.seen += 1

    def _postprocess(self) -> None:
        self.write("output", [self.total, self.seen])


class PartialSum(IterativePE):
    """Sums what this instance sees; emits the sum only in ``postprocess``."""

    def __init__(self, numprocesses: int = 1) -> None:
        super().__init__()
        self.numprocesses = numprocesses
        self.total = 0

    def _process(self, data: Any) -> None:
        self.total += data

    def _postprocess(self) -> None:
        self.write("output", self.total)


class LifecycleProbe(IterativePE):
    """Counts its ``preprocess`` calls and the items it processed; writes
    ``(preprocess calls, items)`` once, in ``postprocess``. Stateless: on a
    dynamic mapping every worker's copy reports for itself."""

    def __init__(self, numprocesses: int = 1) -> None:
        super().__init__()
        self.numprocesses = numprocesses
        self.preprocessed = 0
        self.items = 0

    def _preprocess(self) -> None:
        self.preprocessed += 1

    def _process(self, data: Any) -> None:
        self.items += 1

    def _postprocess(self) -> None:
        self.write("output", (self.preprocessed, self.items))


class Burst(ProducerPE):
    """Writes ``n`` numbers (0..n-1) in a single call."""

    def __init__(self, n: int = 1000) -> None:
        super().__init__()
        self.n = n

    def _process(self, inputs: Any) -> None:
        for i in range(self.n):
            self.write("output", i)


class KillSelfOn(IterativePE):
    """Passes items on; on item ``value`` its process dies from SIGKILL (a
    worker killed from outside, for the supervision tests). With ``once``
    (a file path) only the first process to create that file dies."""

    def __init__(self, value: int = 5, once: str | None = None) -> None:
        super().__init__()
        self.value = value
        self.once = once

    def _process(self, data: Any) -> Any:
        if data == self.value:
            if self.once is not None:
                try:
                    os.close(os.open(self.once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                except FileExistsError:
                    return data
            os.kill(os.getpid(), signal.SIGKILL)
        return data


class DiesOnStart(IterativePE):
    """Passes values on, but the process that prepares it is SIGKILLed in
    ``preprocess``: a worker that dies before it holds any task."""

    def _preprocess(self) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def _process(self, data: Any) -> Any:
        return data


class Total(GenericPE):
    """Sums every partial sum (grouping 'global'); emits once in ``postprocess``."""

    def __init__(self) -> None:
        super().__init__()
        self._add_input("input", grouping="global")
        self._add_output("output")
        self.total = 0
        self.parts = 0

    def _process(self, inputs: dict[str, Any]) -> None:
        self.total += inputs["input"]
        self.parts += 1

    def _postprocess(self) -> None:
        if self.parts:
            self.write("output", self.total)


class Remembers(IterativePE):
    """Passes on the first occurrence of each value: keeps the values seen in
    a plain attribute (undeclared state; see ``GenericPE.check_state``)."""

    def __init__(self, numprocesses: int = 1) -> None:
        super().__init__()
        self.numprocesses = numprocesses
        self.seen: set[Any] = set()

    def _process(self, data: Any) -> Any:
        if data in self.seen:
            return None
        self.seen.add(data)
        return data


class RemembersAsACache(Remembers):
    """:class:`Remembers`, declared harmless (``check_state = False``)."""

    check_state = False


class Failing(IterativePE):
    """Raises ``ValueError`` in the chosen phase (``on_value`` for process)."""

    def __init__(self, phase: str = "process", on_value: Any = 3) -> None:
        super().__init__()
        self.phase = phase
        self.on_value = on_value

    def _preprocess(self) -> None:
        if self.phase == "preprocess":
            raise ValueError("failing on purpose in preprocess")

    def _process(self, data: Any) -> Any:
        if self.phase == "process" and data == self.on_value:
            raise ValueError(f"failing on purpose on {data!r}")
        return data

    def _postprocess(self) -> None:
        if self.phase == "postprocess":
            raise ValueError("failing on purpose in postprocess")


class Hangs(IterativePE):
    """Never returns from its first call: a PE that hangs (sleeping, so it
    costs no CPU while a test checks that nothing outlives the run). With
    ``entered``, it creates that file first, so a test knows it is stuck."""

    def __init__(self, entered: str | None = None) -> None:
        super().__init__()
        self.entered = entered

    def _process(self, data: Any) -> None:
        if self.entered is not None:
            open(self.entered, "a").close()
        while True:
            time.sleep(60)


class ParitySplitter(GenericPE):
    """Overrides ``process`` (the dict contract): returns ``{"even"|"odd": x}``
    and also writes every ``x`` on ``all``."""

    def __init__(self) -> None:
        super().__init__()
        self._add_input("input")
        for name in ("even", "odd", "all"):
            self._add_output(name)

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        value = inputs["input"]
        self.write("all", value)
        return {"odd" if value % 2 else "even": value}


class OddSquares(BlockPE[int, int]):
    """A block PE: squares the odd numbers of each block, drops the rest."""

    def process_block(self, values: list[int]) -> list[int]:
        return [x * x for x in values if x % 2]


class BlockCounter(BlockPE[Any, int]):
    """A block PE as a source: each call of a block emits the next number."""

    def __init__(self) -> None:
        super().__init__()
        self.counter = 0

    def process_block(self, values: list[Any]) -> range:
        start = self.counter
        self.counter += len(values)
        return range(start + 1, self.counter + 1)


class BurstThenTail(ProducerPE):
    """Item ``n`` on call ``n``: the first ``burst`` quickly (``fast``
    seconds apart), the rest each after ``pause`` — a workload that needs
    many workers, then few (the autoscaling tests). Every call takes a few
    milliseconds, so the engine never batches many calls."""

    def __init__(self, burst: int, pause: float, fast: float = 0.003) -> None:
        super().__init__()
        self.burst, self.pause, self.fast = burst, pause, fast
        self.n = 0

    def _process(self, inputs: Any) -> int:
        # The workload's shape, not a wait for an event.
        time.sleep(self.pause if self.n >= self.burst else self.fast)
        self.n += 1
        return self.n - 1


class BusyBelow(IterativePE):
    """Burns ``milliseconds`` of CPU on items below ``limit`` (the burst)."""

    def __init__(self, limit: int, milliseconds: float) -> None:
        super().__init__()
        self.limit, self.milliseconds = limit, milliseconds

    def _process(self, data: Any) -> Any:
        if data < self.limit:
            end = time.perf_counter() + self.milliseconds / 1000
            while time.perf_counter() < end:
                pass
        return data
