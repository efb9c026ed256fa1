"""PE objects and per-instance state of the engine."""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping
from typing import Any

from ..model.pe import GenericPE
from ..planning.plan import Plan
from ._state_watch import StateWatch
from .transport import Address

__all__ = [
    "InstanceState",
    "instantiate",
]


def instantiate(
    pes: Mapping[str, GenericPE], addresses: Iterable[Address]
) -> dict[Address, GenericPE]:
    """A fresh copy of the PE for every hosted instance (made once at
    start-up, never per item): a run never changes the objects it was given,
    and running the same graph twice gives the same results.

    A PE that can be neither pickled nor deep-copied (it holds an open file,
    a lock...) runs as the object itself for its first instance, as before.
    """
    hosted: dict[Address, GenericPE] = {}
    for pe_id, instance in addresses:
        original = pes[pe_id]
        try:
            hosted[(pe_id, instance)] = _copy_pe(original)
        except Exception:
            if any(address[0] == pe_id for address in hosted):
                raise
            hosted[(pe_id, instance)] = original
    return hosted


def _copy_pe(pe: GenericPE) -> GenericPE:
    try:
        copy: GenericPE = pickle.loads(pickle.dumps(pe, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - unpicklable PEs (lambdas) still get a copy
        import copy as copy_module

        copy = copy_module.deepcopy(pe)
    return copy


class InstanceState:
    """What the engine keeps per hosted PE instance.

    ``pending`` holds, per declared output, what the PE emitted (returned or
    written) and the engine has not routed yet; ``call`` runs a block of
    values through the PE (see :mod:`d4p_core.runtime._callers`); ``chunk`` is how
    many values it is handed at once, adapted so a chunk takes a few
    milliseconds whatever the PE costs per item.
    """

    __slots__ = (
        "active",
        "address",
        "busy",
        "call",
        "calls",
        "chain",
        "chunk",
        "cost",
        "ended",
        "eos_remaining",
        "failed_input",
        "index",
        "items_in",
        "items_out",
        "kind",
        "pe",
        "pe_id",
        "pending",
        "shuffle_next",
        "split_state",
        "targets",
        "watch",
    )

    def __init__(self, address: Address, pe: GenericPE, plan: Plan) -> None:
        self.address = address
        self.pe = pe
        self.pe_id, self.index = address
        # output -> None (a result) or the targets of its routes; filled by
        # the executor once every hosted instance exists.
        self.targets: dict[str, list[tuple[int, Any, str, int]] | None] = {}
        self.pending: dict[str, list[Any]] = {output: [] for output in plan.outputs[self.pe_id]}
        # Set by the executor: call(input_name | None, values).
        self.call: Any = None
        self.chunk = 1
        self.kind: str | None = None  # see _callers.stock_kind
        self.chain: Any = None  # a _chains.Chain this instance heads
        self.cost = 0.0  # seconds per item, measured when run on its own
        # Round robin per (instance, route), starting at the instance's index
        # so that replicated senders spread over the receivers.
        self.shuffle_next: dict[int, int] = {}
        self.eos_remaining = plan.eos_expected[self.pe_id]
        self.ended = False
        self.items_in = 0
        self.items_out = 0
        self.calls = 0
        self.busy = 0.0
        # True while one of its calls is on the stack (its clock is running).
        self.active = False
        # The input block a failing call was given, for the error report.
        self.failed_input: Any = None
        # Set by the executor where copies would split undeclared state.
        self.watch: StateWatch | None = None
        self.split_state = False  # the watch saw process() change attributes
