"""Chains of stock per-item PEs compiled into one loop over a block.

When a stock PE (``IterativePE``/``SimpleFunctionPE``, or a ``ProducerPE``
source) sends everything it returns to exactly one instance in the same
process, and that instance is a stock ``IterativePE``/``ConsumerPE`` too,
no routing decision is needed between them: the engine runs the whole chain
as one generated loop, ``r0 = f0(v); if r0 is None: continue; r1 = f1(r0)...``,
with no list or call between the stages.

Counters stay exact per block (the loop counts only the items a stage
drops). Busy time is measured for the chain and split among its stages by
their cost per item, which the engine measures by running every
:data:`MEASURE_EVERY`-th chunk stage by stage. What a stage *writes* (rather
than returns) is routed as usual after the block.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from ._failure import PEFailure, pe_failure
from ._instances import InstanceState
from ._routing import LOCAL

__all__ = ["MEASURE_EVERY", "Chain", "compile_chains"]

MEASURE_EVERY = 32
"""Every this many chunks (and the first), a chain runs stage by stage."""

Fused = Callable[..., tuple[int, ...]]
"""``fused(values, f0, ..., fk, append, failed) -> drops per stage but the last``."""


@dataclass
class Chain:
    """Instances ``members[0] -> members[1] -> ...`` fused into one loop."""

    members: list[InstanceState]
    input_name: str | None  # what the head must be given (None: a source's calls)
    inputs: list[str | None]  # each member's input on the chain
    outputs: list[str]  # each member's output on the chain (the last: its result, if any)
    fused: Fused
    last_returns: bool
    runs: int = 0
    failed_stage: int = 0
    failed_input: Any = None
    stage_of_line: dict[int, int] = field(default_factory=dict)

    def record_failure(self, exc: BaseException, inputs: tuple[Any, ...]) -> None:
        traceback = exc.__traceback__
        line = traceback.tb_lineno if traceback is not None else 0
        self.failed_stage = self.stage_of_line.get(line, len(self.members) - 1)
        self.failed_input = inputs[self.failed_stage]

    def run(self, values: list[Any], count_in: bool) -> float:
        """Run a chunk through the chain (fused, or stage by stage every
        :data:`MEASURE_EVERY`-th time); update every member's counters and
        busy time; return the seconds spent (without what writes ran
        downstream). What the members emitted is left in their ``pending``."""
        self.runs += 1
        if self.runs % MEASURE_EVERY == 1:
            return self._run_stages(values, count_in)
        return self._run_fused(values, count_in)

    def _run_fused(self, values: list[Any], count_in: bool) -> float:
        members = self.members
        append = members[-1].pending[self.outputs[-1]].append if self.last_returns else None
        functions = [member.pe._process for member in members]
        busy = [member.busy for member in members]
        for member in members:
            member.active = True
        started = perf_counter()
        try:
            drops = self.fused(values, *functions, append, self.record_failure)
        except PEFailure:
            raise
        except Exception as exc:
            member = members[self.failed_stage]
            name = self.inputs[self.failed_stage]
            block = self.failed_input if name is None else {name: self.failed_input}
            raise pe_failure(member, "process", block, exc) from exc
        finally:
            ended = perf_counter()
            for member in members:
                member.active = False
        # Exact counters from what each stage dropped; the time split by cost.
        passed = [len(values)]
        for dropped in drops:
            passed.append(passed[-1] - dropped)
        if count_in:
            members[0].items_in += passed[0]
        nested = sum(member.busy - before for member, before in zip(members, busy, strict=True))
        spent = ended - started + nested  # without what their writes ran downstream
        weights = [member.cost * n for member, n in zip(members, passed, strict=True)]
        total = sum(weights)
        for k, member in enumerate(members):
            member.calls += passed[k]
            if k:
                member.items_in += passed[k]
            if k < len(members) - 1:
                member.items_out += passed[k + 1]
            member.busy += spent * (weights[k] / total if total else 1 / len(members))
        return spent

    def _run_stages(self, values: list[Any], count_in: bool) -> float:
        """One stage at a time, timing each: the costs that split fused time."""
        members = self.members
        block: list[Any] = values
        spent = 0.0
        for k, member in enumerate(members):
            if k:
                handed = members[k - 1].pending[self.outputs[k - 1]]
                block = handed.copy()
                handed.clear()
                members[k - 1].items_out += len(block)
            if k or count_in:
                member.items_in += len(block)
            busy = member.busy
            member.active = True
            started = perf_counter()
            try:
                member.calls += member.call(self.inputs[k], block)
            except PEFailure:
                raise
            except Exception as exc:
                raise pe_failure(member, "process", member.failed_input, exc) from exc
            finally:
                member.busy += perf_counter() - started
                member.active = False
            stage = member.busy - busy  # without what its writes ran downstream
            spent += stage
            if block:
                member.cost = stage / len(block)
        return spent


def _link(inst: InstanceState) -> InstanceState | None:
    """The instance ``inst`` can hand what it returns to inside one loop."""
    output = getattr(inst.pe, "OUTPUT_NAME", "output")
    targets = inst.targets.get(output)
    if targets is None or len(targets) != 1:
        return None
    kind, target, input_name, _ = targets[0]
    if kind != LOCAL or target is inst or target.kind not in ("value", "consumer"):
        return None
    if input_name != getattr(target.pe, "INPUT_NAME", "input"):
        return None
    nxt: InstanceState = target
    return nxt


def compile_chains(instances: list[InstanceState]) -> None:
    """Give every instance that heads a chain of two or more its ``chain``
    (after :func:`~d4p_core.runtime._callers.compile_call` set each one's ``kind``)."""
    for head in instances:
        if head.kind not in ("value", "producer"):
            continue
        members = [head]
        while members[-1].kind != "consumer":
            nxt = _link(members[-1])
            if nxt is None or nxt in members:
                break
            members.append(nxt)
        if len(members) < 2:
            continue
        last_returns = members[-1].kind == "value"
        fused, lines = _generate(len(members), last_returns)
        head.chain = Chain(
            members=members,
            input_name=None if head.kind == "producer" else getattr(head.pe, "INPUT_NAME", "input"),
            inputs=[
                None if m.kind == "producer" else getattr(m.pe, "INPUT_NAME", "input")
                for m in members
            ],
            outputs=[getattr(m.pe, "OUTPUT_NAME", "output") for m in members],
            fused=fused,
            last_returns=last_returns,
            stage_of_line=lines,
        )


@functools.cache
def _generate(stages: int, last_returns: bool) -> tuple[Fused, dict[int, int]]:
    """The loop for ``stages`` stages, and which source line calls which stage."""
    inputs = ["v"] + [f"r{k}" for k in range(stages - 1)]
    functions = ", ".join(f"f{k}" for k in range(stages))
    lines = [
        f"def fused(values, {functions}, append, failed):",
        f"    {' = '.join(inputs)} = None",
        f"    {' = '.join(f'd{k}' for k in range(stages - 1))} = 0",
        "    try:",
        "        for v in values:",
    ]
    calls: dict[int, int] = {}
    for k in range(stages - 1):
        calls[len(lines) + 1] = k
        lines += [
            f"            r{k} = f{k}({inputs[k]})",
            f"            if r{k} is None:",
            f"                d{k} += 1",
            "                continue",
        ]
    calls[len(lines) + 1] = stages - 1
    last = f"f{stages - 1}({inputs[-1]})"
    if last_returns:
        lines += [
            f"            last = {last}",
            "            if last is not None:",
            "                append(last)",
        ]
    else:
        lines.append(f"            {last}")
    lines += [
        "    except BaseException as exc:",
        f"        failed(exc, ({', '.join(inputs)},))",
        "        raise",
        f"    return ({''.join(f'd{k}, ' for k in range(stages - 1))})",
    ]
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), f"<d4p fused chain of {stages}>", "exec"), namespace)
    fused: Fused = namespace["fused"]
    return fused, calls
