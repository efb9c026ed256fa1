# mypy: ignore-errors
"""stream-d4py versions of the benchmark PEs (``dispel4py.core`` API).

stream-d4py's ``multi`` discards leaf outputs, so sinks report their partial
results to a file (see ``_common.report_partial``). Its dynamic mappings never
call ``postprocess``, so with ``D4P_BENCH_SINK_MODE=eager`` sinks report every
item instead (costs one small write per item; only used for those mappings).
"""

import time

from dispel4py.base import IterativePE, ProducerPE
from dispel4py.core import GenericPE

from benchmarks.workflows import _common


class Numbers(ProducerPE):
    def __init__(self):
        ProducerPE.__init__(self)
        self.next_value = 0

    def _process(self, inputs):
        value = self.next_value
        self.next_value += 1
        return value


class Apply(IterativePE):
    def __init__(self, factor, offset):
        IterativePE.__init__(self)
        self.factor = factor
        self.offset = offset

    def _process(self, data):
        return data * self.factor + self.offset


class Burn(IterativePE):
    def __init__(self, ms=_common.CPU_ITEM_MS):
        IterativePE.__init__(self)
        self.loops = max(1, int(_common.loops_per_ms() * ms))

    def _process(self, data):
        _common.burn(self.loops)
        return data


class SkewedWork(IterativePE):
    def __init__(self):
        IterativePE.__init__(self)
        self.loops_per_ms = _common.loops_per_ms()

    def _process(self, data):
        _common.burn(int(self.loops_per_ms * _common.skew_cost_ms(int(data))))
        return data


class CountingSink(GenericPE):
    def __init__(self):
        GenericPE.__init__(self)
        self._add_input("input")
        self.count = 0
        self.total = 0
        self.last_wall = 0.0
        self.eager = _common.eager_sinks()

    def process(self, inputs):
        value = inputs["input"]
        if self.eager:
            _common.report_partial({"count": 1, "sum": value, "last_wall": time.time()})
            return None
        _common.tick()
        self.count += 1
        self.total += value
        self.last_wall = time.time()
        return None

    def postprocess(self):
        if not self.eager:
            partial = {"count": self.count, "sum": self.total}
            if self.count:
                partial["last_wall"] = self.last_wall
            _common.report_partial(partial)


class Words(ProducerPE):
    def __init__(self):
        ProducerPE.__init__(self)
        self.index = 0

    def _process(self, inputs):
        word = _common.word_for(self.index)
        self.index += 1
        return [word]


class CountWords(GenericPE):
    def __init__(self):
        GenericPE.__init__(self, numprocesses=3)
        self._add_input("input", grouping=[0])
        self.counts = {}
        self.eager = _common.eager_sinks()

    def process(self, inputs):
        word = inputs["input"][0]
        if self.eager:
            _common.report_partial({"counts": {word: 1}})
            return None
        _common.tick()
        self.counts[word] = self.counts.get(word, 0) + 1
        return None

    def postprocess(self):
        if not self.eager:
            _common.report_partial({"counts": self.counts})


class Merge(GenericPE):
    def __init__(self):
        GenericPE.__init__(self)
        self._add_input("left")
        self._add_input("right")
        self.totals = {"left": 0, "left_sum": 0, "right": 0, "right_sum": 0}
        self.eager = _common.eager_sinks()

    def process(self, inputs):
        if not self.eager:
            _common.tick()
        for port, value in inputs.items():
            if self.eager:
                _common.report_partial({port: 1, f"{port}_sum": int(value)})
                continue
            self.totals[port] += 1
            self.totals[f"{port}_sum"] += int(value)
        return None

    def postprocess(self):
        if not self.eager:
            _common.report_partial(dict(self.totals))
