"""Convenience PEs of dispel4py's ``base`` module.

Each takes ``numprocesses`` (keyword only) like :class:`GenericPE`:
``IterativePE(numprocesses=4)`` asks for four instances without a subclass
``__init__`` that sets the attribute afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .pe import GenericPE

__all__ = ["BasePE", "ConsumerPE", "IterativePE", "ProducerPE", "SimpleFunctionPE"]


class BasePE(GenericPE):
    """A PE declaring the named ports plus ``input0..`` and ``output0..``."""

    def __init__(
        self,
        inputs: Iterable[str] | None = None,
        outputs: Iterable[str] | None = None,
        num_inputs: int = 0,
        num_outputs: int = 0,
        *,
        numprocesses: int = 1,
    ) -> None:
        super().__init__(numprocesses)
        for name in inputs or ():
            self._add_input(name)
        for name in outputs or ():
            self._add_output(name)
        for i in range(num_inputs):
            self._add_input(f"input{i}")
        for i in range(num_outputs):
            self._add_output(f"output{i}")


class IterativePE(GenericPE):
    """One input ``input``, one output ``output``; ``_process(data)`` returns
    the value to emit, ``None`` for nothing."""

    INPUT_NAME = "input"
    OUTPUT_NAME = "output"

    def __init__(self, *, numprocesses: int = 1) -> None:
        super().__init__(numprocesses)
        self._add_input(self.INPUT_NAME)
        self._add_output(self.OUTPUT_NAME)

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        result = self._process(inputs[self.INPUT_NAME])
        if result is not None:
            return {self.OUTPUT_NAME: result}
        return None


class ProducerPE(GenericPE):
    """One output ``output``; ``_process(inputs)`` returns the value to emit."""

    OUTPUT_NAME = "output"

    def __init__(self, *, numprocesses: int = 1) -> None:
        super().__init__(numprocesses)
        self._add_output(self.OUTPUT_NAME)

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        result = self._process(inputs)
        if result is not None:
            return {self.OUTPUT_NAME: result}
        return None


class ConsumerPE(GenericPE):
    """One input ``input``, no outputs; ``_process(data)`` is called per item."""

    INPUT_NAME = "input"

    def __init__(self, *, numprocesses: int = 1) -> None:
        super().__init__(numprocesses)
        self._add_input(self.INPUT_NAME)

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        self._process(inputs[self.INPUT_NAME])
        return None


class SimpleFunctionPE(IterativePE):
    """An IterativePE that returns ``compute_fn(data, **params)``.

    Its name is ``PE_<function name>``. Under the ``spawn`` start method the
    function must be importable (defined at module level).
    """

    def __init__(
        self,
        compute_fn: Callable[..., Any] | None = None,
        params: dict[str, Any] | None = None,
        *,
        numprocesses: int = 1,
    ) -> None:
        super().__init__(numprocesses=numprocesses)
        self.compute_fn = compute_fn
        self.params = dict(params or {})
        if compute_fn is not None:
            self.name = f"PE_{compute_fn.__name__}"
            self.id = self.name

    def _process(self, data: Any) -> Any:
        if self.compute_fn is None:
            return None
        return self.compute_fn(data, **self.params)
