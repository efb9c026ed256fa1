"""A PE's exception, carried out of the engine with where it happened."""

from __future__ import annotations

import traceback
from typing import Any

from ._instances import InstanceState
from .result import FailureInfo

__all__ = ["PEFailure", "pe_failure", "undeclared_state_failure"]

_INPUT_REPR_LIMIT = 500


class PEFailure(Exception):
    """A PE raised; carries the picklable :class:`FailureInfo`."""

    def __init__(self, info: FailureInfo) -> None:
        super().__init__(info.message())
        self.info = info


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not hide the failure
        text = f"<unrepresentable {type(value).__name__}: {exc}>"
    if len(text) > _INPUT_REPR_LIMIT:
        text = text[: _INPUT_REPR_LIMIT - 3] + "..."
    return text


def pe_failure(inst: InstanceState, phase: str, block: Any, exc: BaseException) -> PEFailure:
    """The failure of ``inst`` in ``phase`` on input ``block`` (None: no input)."""
    info = FailureInfo(
        pe_id=inst.pe_id,
        instance=inst.index,
        phase=phase,
        input_repr=None if block is None else _short_repr(block),
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )
    return PEFailure(info)


def undeclared_state_failure(inst: InstanceState, message: str) -> PEFailure:
    """``inst`` changed attributes a mapping's copies of it would split: its
    failure in ``process``, without a traceback (no user code failed)."""
    info = FailureInfo(inst.pe_id, inst.index, "process", None, message, "")
    return PEFailure(info)
