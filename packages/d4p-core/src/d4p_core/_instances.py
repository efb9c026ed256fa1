"""PE objects and per-instance state of the engine."""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping
from typing import Any

from .pe import GenericPE
from .plan import Plan
from .transport import Address

__all__ = [
    "BROADCAST",
    "GROUP_BY",
    "LOCAL",
    "REMOTE",
    "SHUFFLE",
    "InstanceState",
    "instantiate",
]


def instantiate(
    pes: Mapping[str, GenericPE], addresses: Iterable[Address]
) -> dict[Address, GenericPE]:
    """One PE object per hosted instance.

    The first instance of each PE uses the object itself; further instances in
    the same process get copies (made once at start-up, never per item).
    """
    hosted: dict[Address, GenericPE] = {}
    used: set[str] = set()
    for pe_id, instance in addresses:
        original = pes[pe_id]
        if pe_id in used:
            hosted[(pe_id, instance)] = _copy_pe(original)
        else:
            hosted[(pe_id, instance)] = original
            used.add(pe_id)
    return hosted


def _copy_pe(pe: GenericPE) -> GenericPE:
    try:
        copy: GenericPE = pickle.loads(pickle.dumps(pe, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - unpicklable PEs (lambdas) still get a copy
        import copy as copy_module

        copy = copy_module.deepcopy(pe)
    return copy


# Kinds of routing target, precomputed per output so that emitting is one
# tuple dispatch: a fixed instance hosted here / elsewhere, or a choice
# among the destination's instances.
LOCAL = 0
REMOTE = 1
GROUP_BY = 2
BROADCAST = 3
SHUFFLE = 4


class InstanceState:
    __slots__ = (
        "active",
        "address",
        "busy",
        "calls",
        "ended",
        "eos_remaining",
        "index",
        "items_in",
        "items_out",
        "pe",
        "pe_id",
        "shuffle_next",
        "targets",
    )

    def __init__(self, address: Address, pe: GenericPE, plan: Plan) -> None:
        self.address = address
        self.pe = pe
        self.pe_id, self.index = address
        # output -> None (a result) or the targets of its routes; filled by
        # the executor once every hosted instance exists.
        self.targets: dict[str, list[tuple[int, Any, str, int]] | None] = {}
        # Round robin per (instance, route), starting at the instance's index
        # so that replicated senders spread over the receivers.
        self.shuffle_next: dict[int, int] = {}
        self.eos_remaining = plan.eos_expected[self.pe_id]
        self.ended = False
        self.items_in = 0
        self.items_out = 0
        self.calls = 0
        self.busy = 0.0
        # True while its process()/postprocess() is on the call stack.
        self.active = False
