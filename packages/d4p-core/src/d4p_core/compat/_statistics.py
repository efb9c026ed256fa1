"""Average and standard deviation of ``dispel4py.new.aggregate``, as a
partial stage (any number of instances) and a global stage that combines the
partials, written for d4p.

Ports and values are dispel4py's: the average is written as
``[average, count, sum]``, the standard deviation (of a sample: divided by
``count - 1``) as ``(std_dev, count, sum, sum_squared)``, by the partial and
the global stage alike. Fixed here:

* a partial instance that received nothing writes nothing (dispel4py divided
  by zero), and the global stage writes nothing for an empty stream;
* the standard deviation of one item is ``nan`` (dispel4py divided by zero);
* ``AverageParallelPE(index)`` reads ``index`` (dispel4py always read 0);
* ``StdDevReducePE`` reads the tuple ``StdDevPE`` writes (dispel4py read the
  standard deviation as the count);
* integer data give the exact answer whatever the number of partials (the
  variance comes from exact integer sums); for floats each partial sums
  around its first value and the partials are combined with Chan's update,
  so values far from 0 keep their precision (dispel4py's sum-of-squares
  formula lost every digit of ``1e9 + x``).
"""

from __future__ import annotations

import math
from typing import Any

from ..model.pe import GenericPE
from ._aggregate import field

__all__ = ["AverageParallelPE", "AverageReducePE", "StdDevPE", "StdDevReducePE"]


class _Stage(GenericPE):
    """One input ``input`` and one output ``output``, as dispel4py's PEs."""

    INPUT_NAME = "input"
    OUTPUT_NAME = "output"

    def __init__(self, grouping: str | None = None) -> None:
        GenericPE.__init__(self)
        self._add_input(self.INPUT_NAME, grouping=grouping)
        self._add_output(self.OUTPUT_NAME)


class AverageParallelPE(_Stage):
    """Partial average of ``item[index]``: writes ``[average, count, sum]``
    when the stream ends (nothing if this instance received no item)."""

    # A partial stage: each instance or copy keeps its own part on purpose.
    check_state = False

    def __init__(self, index: Any = 0) -> None:
        _Stage.__init__(self)
        self.index = index
        self.sum: Any = 0
        self.count = 0

    def _process(self, inputs: Any) -> None:
        self.sum += field(self, inputs[self.INPUT_NAME], self.index)
        self.count += 1

    def _postprocess(self) -> None:
        if self.count:
            self.write(self.OUTPUT_NAME, [self.sum / self.count, self.count, self.sum])


class AverageReducePE(_Stage):
    """Combines the partial ``[average, count, sum]`` items (its input is
    ``global``: one instance) into the average of the whole stream."""

    def __init__(self) -> None:
        _Stage.__init__(self, grouping="global")
        self.sum: Any = 0
        self.count = 0

    def _process(self, inputs: Any) -> None:
        partial = inputs[self.INPUT_NAME]
        self.count += partial[1]
        self.sum += partial[2]

    def _postprocess(self) -> None:
        if self.count:
            self.write(self.OUTPUT_NAME, [self.sum / self.count, self.count, self.sum])


def _std_dev(count: int, variance: Any) -> float:
    return math.nan if count < 2 else math.sqrt(max(variance, 0.0))


class _Shifted:
    """Count and sums of one partial stage, taken around its first value:
    exact for integers, and for floats free of the cancellation that ruins
    the plain sum-of-squares formula when the values are far from 0."""

    def __init__(self) -> None:
        self.count = 0
        self.shift: Any = 0
        self.sum: Any = 0  # of x - shift
        self.squares: Any = 0  # of (x - shift) ** 2

    def add(self, x: Any) -> None:
        if not self.count:
            self.shift = x
        d = x - self.shift
        self.count += 1
        self.sum += d
        self.squares += d * d

    def result(self) -> tuple[float, int, Any, Any]:
        """``(std_dev, count, sum, sum_squared)`` of the values."""
        n, shift, s, q = self.count, self.shift, self.sum, self.squares
        variance = (n * q - s * s) / (n * (n - 1)) if n > 1 else 0
        total = n * shift + s
        total_squared = q + 2 * shift * s + n * shift * shift
        return (_std_dev(n, variance), n, total, total_squared)


class _Combined:
    """Partial results combined: exact integer sums while they are
    integers, else Chan's pairwise update of the mean and the sum of squared
    deviations (whatever order the partials arrive in)."""

    def __init__(self) -> None:
        self.count = 0
        self.sum: Any = 0
        self.sum_squared: Any = 0
        self.mean = 0.0
        self.m2 = 0.0

    def merge(self, std_dev: float, count: int, total: Any, total_squared: Any) -> None:
        if count <= 0:
            return
        mean = float(total) / count
        m2 = std_dev * std_dev * (count - 1) if count > 1 else 0.0
        combined = self.count + count
        delta = mean - self.mean
        self.mean += delta * count / combined
        self.m2 += m2 + delta * delta * self.count * count / combined
        self.count = combined
        self.sum += total
        self.sum_squared += total_squared

    def result(self) -> tuple[float, int, Any, Any]:
        n, s, q = self.count, self.sum, self.sum_squared
        if n > 1 and isinstance(s, int) and isinstance(q, int):
            variance: Any = (n * q - s * s) / (n * (n - 1))
        else:
            variance = self.m2 / (n - 1) if n > 1 else 0
        return (_std_dev(n, variance), n, s, q)


class StdDevPE(_Stage):
    """Partial standard deviation of ``item[index]``: writes ``(std_dev,
    count, sum, sum_squared)`` when the stream ends (nothing if this
    instance received no item)."""

    # A partial stage: each instance or copy keeps its own part on purpose.
    check_state = False

    def __init__(self, index: Any = 0) -> None:
        _Stage.__init__(self)
        self.index = index
        self.moments = _Shifted()

    def _process(self, inputs: Any) -> None:
        self.moments.add(field(self, inputs[self.INPUT_NAME], self.index))

    def _postprocess(self) -> None:
        if self.moments.count:
            self.write(self.OUTPUT_NAME, self.moments.result())


class StdDevReducePE(_Stage):
    """Combines the partial ``(std_dev, count, sum, sum_squared)`` items of
    :class:`StdDevPE` (its input is ``global``: one instance) into the
    standard deviation of the whole stream."""

    def __init__(self) -> None:
        _Stage.__init__(self, grouping="global")
        self.moments = _Combined()

    def _process(self, inputs: Any) -> None:
        partial = inputs[self.INPUT_NAME]
        if not isinstance(partial, (list, tuple)) or len(partial) != 4:
            raise ValueError(
                f"StdDevReducePE {self.id!r} combines what StdDevPE writes, "
                f"(std_dev, count, sum, sum_squared); got {partial!r}"
            )
        self.moments.merge(*partial)

    def _postprocess(self) -> None:
        if self.moments.count:
            self.write(self.OUTPUT_NAME, self.moments.result())
