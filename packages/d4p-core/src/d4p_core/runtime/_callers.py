"""How the engine calls a PE on a block of values.

:func:`compile_call` gives each hosted instance a ``call(input_name,
values) -> calls`` that runs one block through the PE and appends what it
emits to the instance's ``pending`` lists (per output; ``write`` appends to
the same lists, so returned and written items keep their order). The engine
routes those lists once per block: no dict, clock read or counter per item.

* Stock per-item PEs whose ``process`` is not overridden (``IterativePE``,
  ``SimpleFunctionPE``, ``ConsumerPE``, ``ProducerPE``) are called as
  ``_process(value)`` in a tight loop, with no input or output dict.
* A :class:`~d4p_core.model.block.BlockPE` gets the whole block in one
  ``process_block(values)`` call (as a source, one empty dict per call it
  stands for; given input blocks ``{"input": v}`` are unwrapped to ``v``).
* Every other PE keeps dispel4py's contract exactly: ``process({input:
  value})`` per item, and each value of the returned dict is emitted.

``input_name`` is ``None`` when the values are whole input dicts (what a
source is fed, or input blocks given for a PE): those always take the dict
contract, except for a ``ProducerPE``, whose ``_process`` receives the dict.
On an exception the input being processed is left in
``instance.failed_input`` for the error report.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any

from ..model.block import BlockPE
from ..model.helpers import ConsumerPE, IterativePE, ProducerPE
from ._instances import InstanceState

__all__ = ["Call", "PendingWriter", "compile_call", "stock_kind", "undeclared_output"]

Call = Callable[[str | None, list[Any]], int]
"""``call(input_name | None, values) -> number of PE calls made``."""


class PendingWriter:
    """Installed as ``outputconnections[name][WRITER]``: ``pe.write`` appends
    to the instance's pending list; a full list is routed at once. The size
    that counts as full adapts like a chunk, so slow writers still stream."""

    __slots__ = ("_buffer", "_route", "limit", "output", "since")

    def __init__(
        self, route: Callable[[PendingWriter], None], buffer: list[Any], output: str
    ) -> None:
        self._route = route
        self._buffer = buffer
        self.output = output
        self.limit = 1
        self.since = perf_counter()

    def write(self, data: Any) -> None:
        buffer = self._buffer
        buffer.append(data)
        if len(buffer) >= self.limit:
            self._route(self)


def undeclared_output(inst: InstanceState, output: str) -> KeyError:
    return KeyError(
        f"PE {inst.pe_id!r} emitted on output {output!r}, which it does not "
        f"declare; declared outputs: {sorted(inst.targets)}"
    )


def stock_kind(inst: InstanceState) -> str | None:
    """``"value"``, ``"consumer"``, ``"producer"`` or ``"block"`` for a stock PE
    whose ``process`` is not overridden (and whose ports are as declared);
    ``None`` for a PE that keeps the dict contract."""
    pe = inst.pe
    process = type(pe).process
    if getattr(pe.process, "__func__", None) is not process:
        return None  # replaced on the object itself
    if process is BlockPE.process:
        return "block"
    if process is ConsumerPE.process:
        return "consumer"
    kind = {IterativePE.process: "value", ProducerPE.process: "producer"}.get(process)
    if kind is not None and getattr(pe, "OUTPUT_NAME", "output") in inst.pending:
        return kind
    return None  # its output was removed: report what it returns as undeclared


def compile_call(inst: InstanceState) -> Call:
    """The fastest call that keeps ``inst.pe``'s contract (sets ``inst.kind``)."""
    generic = _dict_call(inst)
    kind = inst.kind = stock_kind(inst)
    if kind == "block":
        return _block_call(inst, generic)
    if kind in ("value", "consumer", "producer"):
        return _value_call(inst, generic, source=kind == "producer", returns=kind != "consumer")
    return generic


def _dict_call(inst: InstanceState) -> Call:
    pe, pending = inst.pe, inst.pending

    def call(input_name: str | None, values: list[Any]) -> int:
        process = pe.process
        block: Any = None
        try:
            for value in values:
                block = value if input_name is None else {input_name: value}
                result = process(block)
                if result:
                    for output, out_value in result.items():
                        buffer = pending.get(output)
                        if buffer is None:
                            raise undeclared_output(inst, output)
                        buffer.append(out_value)
        except BaseException:
            inst.failed_input = block
            raise
        return len(values)

    return call


def _value_call(inst: InstanceState, generic: Call, *, source: bool, returns: bool) -> Call:
    """``_process(value)`` per value. ``source``: a ``ProducerPE``, whose
    values are its input dicts (``input_name`` None); otherwise the values of
    ``INPUT_NAME``. Any other input takes the dict contract."""
    pe = inst.pe
    direct: str | None = None if source else getattr(pe, "INPUT_NAME", "input")
    append = inst.pending[getattr(pe, "OUTPUT_NAME", "output")].append if returns else None

    def call(name: str | None, values: list[Any]) -> int:
        if name != direct:
            return generic(name, values)
        fn = pe._process
        value: Any = None
        try:
            if append is None:
                for value in values:
                    fn(value)
            else:
                for value in values:
                    result = fn(value)
                    if result is not None:
                        append(result)
        except BaseException:
            inst.failed_input = value if name is None else {name: value}
            raise
        return len(values)

    return call


def _block_call(inst: InstanceState, generic: Call) -> Call:
    pe = inst.pe
    assert isinstance(pe, BlockPE)
    input_name = pe.INPUT_NAME
    output = inst.pending.get(pe.OUTPUT_NAME)

    def call(name: str | None, values: list[Any]) -> int:
        if name is None:
            if any(values):  # given input blocks {"input": v}; a source's calls are {}
                values = [v.get(input_name, v) if isinstance(v, dict) else v for v in values]
        elif name != input_name:
            return generic(name, values)
        try:
            result = pe.process_block(values)
            if result is not None:
                if output is None:
                    raise undeclared_output(inst, pe.OUTPUT_NAME)
                output.extend(result)
        except BaseException:
            inst.failed_input = {name: values}
            raise
        return 1

    return call
