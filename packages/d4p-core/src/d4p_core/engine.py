"""The engine: the one place that drives PE instances.

An :class:`Executor` hosts some instances of a plan (all of them for
``simple``; one instance or one fused partition per process for ``multi``,
``mpi``, ``zmq``...). It calls ``preprocess`` once, ``process`` per input
block, routes every output through the plan (grouping included), counts
end-of-stream markers, calls ``postprocess`` once after all upstream instances
ended and then sends end-of-stream downstream. Items for instances hosted
elsewhere are batched per destination and handed to a :class:`Transport`;
a backend only moves those batches and feeds what it receives back in with
:meth:`Executor.receive` / :meth:`Executor.receive_eos`.
"""

from __future__ import annotations

import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from time import perf_counter
from typing import Any

from ._instances import (
    BROADCAST,
    GROUP_BY,
    LOCAL,
    REMOTE,
    SHUFFLE,
    InstanceState,
    instantiate,
)
from .grouping import Broadcast, Global, GroupBy
from .inputs import InputSpec, iter_blocks
from .pe import WRITER, GenericPE
from .plan import Plan, Route
from .progress import PROGRESS_INTERVAL
from .result import FailureInfo, PEMetrics
from .transport import Address, Batch, SpillTarget, Transport

__all__ = [
    "WHOLE_BLOCK",
    "Address",
    "Batch",
    "Executor",
    "PEFailure",
    "SpillTarget",
    "Transport",
    "instantiate",
]

ResultCallback = Callable[[str, str, Any], None]

WHOLE_BLOCK = "\x00block"
"""Input name of a batch item that is a complete input block (see receive)."""

_EOS = object()
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


class _OutputWriter:
    """Installed as ``outputconnections[name][WRITER]`` so ``pe.write`` routes."""

    __slots__ = ("_emit", "_instance", "_output")

    def __init__(
        self, emit: Callable[[InstanceState, str, Any], None], instance: InstanceState, output: str
    ) -> None:
        self._emit = emit
        self._instance = instance
        self._output = output

    def write(self, data: Any) -> None:
        self._emit(self._instance, self._output, data)


class Executor:
    """Drives the PE instances of ``plan`` that this process hosts.

    ``hosted`` maps each hosted instance to its PE object. Items for other
    instances go to ``transport`` in batches of up to ``batch_size``;
    call :meth:`flush` before blocking on the transport. Results (items on
    unconnected outputs) go to ``on_result``.
    """

    def __init__(
        self,
        plan: Plan,
        hosted: Mapping[Address, GenericPE],
        *,
        transport: Transport | None = None,
        on_result: ResultCallback | None = None,
        batch_size: int = 256,
        max_delay: float = 0.05,
        end_of_stream: bool = True,
        spill: SpillTarget | None = None,
        spill_above: int = 1024,
        send_by_size: bool = True,
        on_progress: Callable[[dict[str, int]], None] | None = None,
    ) -> None:
        self.plan = plan
        self.transport = transport
        # Dynamic mappings end PEs by command (close), not by markers.
        self._end_of_stream = end_of_stream
        self._spill = spill
        self._spill_above = spill_above
        # Beyond this local backlog, emitting takes the slow path (spill or
        # nested drain); one comparison on the hot path.
        self._local_limit = spill_above if spill is not None else max(64, batch_size * 4)
        self._held = 0  # items of running instances a nested drain set aside
        self._spill_buffers: dict[Address, Batch] = {}
        # False: remote batches leave only on flush(), never in the middle
        # of a PE call (a worker may then block safely while sending).
        self._send_by_size = send_by_size
        self._on_progress = on_progress
        self._last_progress = perf_counter()
        self.batch_size = max(1, batch_size)
        self.max_delay = max_delay
        self._last_flush = perf_counter()
        self._on_result = on_result or (lambda pe_id, output, value: None)
        self._queue: deque[tuple[InstanceState, str | None, Any]] = deque()
        self._buffers: dict[Address, Batch] = {}
        self._instances: dict[Address, InstanceState] = {}
        for address, pe in hosted.items():
            instance = InstanceState(address, pe, plan)
            self._instances[address] = instance
            pe.rank = address[1]
            pe.instance = address[1]
            for output, connection in pe.outputconnections.items():
                connection[WRITER] = _OutputWriter(self._emit, instance, output)
        for instance in self._instances.values():
            instance.targets = {
                output: self._targets(plan.routes.get((instance.pe_id, output)), instance.index)
                for output in plan.outputs[instance.pe_id]
            }
        self._order = sorted(
            self._instances.values(),
            key=lambda inst: (plan.pe_ids.index(inst.pe_id), inst.index),
        )

    def _targets(
        self, routes: tuple[Route, ...] | None, index: int
    ) -> list[tuple[int, Any, str, int]] | None:
        if routes is None:
            return None
        targets: list[tuple[int, Any, str, int]] = []
        for position, route in enumerate(routes):
            grouping, count = route.grouping, route.dst_instances
            if count == 1 or isinstance(grouping, Global):
                address = (route.dst_pe, 0)
                local = self._instances.get(address)
                if local is not None:
                    targets.append((LOCAL, local, route.dst_input, position))
                else:
                    targets.append((REMOTE, address, route.dst_input, position))
            elif isinstance(grouping, GroupBy):
                targets.append((GROUP_BY, route, route.dst_input, position))
            elif isinstance(grouping, Broadcast):
                targets.append((BROADCAST, route, route.dst_input, position))
            elif (route.dst_pe, index) in self._instances:
                # Round robin may pick any instance: the one fused with the
                # sender in this process saves a transport hop.
                local = self._instances[(route.dst_pe, index)]
                targets.append((LOCAL, local, route.dst_input, position))
            else:
                targets.append((SHUFFLE, route, route.dst_input, position))
        return targets

    # -- what a backend calls -----------------------------------------------
    @property
    def done(self) -> bool:
        """True once every hosted instance has ended."""
        return all(inst.ended for inst in self._order)

    def start(self) -> None:
        """Call ``preprocess`` on every hosted instance (topological order)."""
        for inst in self._order:
            self._guarded(inst, "preprocess", None, inst.pe.preprocess)

    def feed(self, provided: Mapping[str, InputSpec]) -> None:
        """Process the provided inputs of hosted PEs (instance 0), then end
        hosted sources. Call after :meth:`start`."""
        for inst in self._order:
            spec = provided.get(inst.pe_id)
            if spec is None or inst.index != 0:
                continue
            for block in iter_blocks(spec):
                self._process(inst, block)
                self._drain()
                self._flush_if_late()
        for inst in self._order:
            if inst.eos_remaining == 0 and not inst.ended:
                self._end(inst)
                self._drain()

    def receive(self, dst: Address, batch: Iterable[tuple[str, Any]]) -> None:
        """Deliver a batch that arrived for hosted instance ``dst``.

        An item whose input name is :data:`WHOLE_BLOCK` carries a complete
        input block (inputs given to a non-source PE), processed as given.
        """
        inst = self._instances[dst]
        queue = self._queue
        for input_name, value in batch:
            if input_name == WHOLE_BLOCK:
                self._drain()
                inst.items_in += 1
                self._process(inst, value)
            else:
                queue.append((inst, input_name, value))
        self._drain()
        self._flush_if_late()

    def close(self, pe_id: str) -> None:
        """End the hosted instances of ``pe_id`` now (dynamic mappings):
        ``postprocess`` runs and what it writes is routed."""
        for inst in self._order:
            if inst.pe_id == pe_id and not inst.ended:
                self._end(inst)
                self._drain()

    def serve(self, next_message: Callable[[Callable[[], None]], tuple[Address, Any]]) -> None:
        """Receive until every hosted instance has ended, then flush.

        ``next_message(before_wait)`` returns the next ``(address, batch)``
        for a hosted instance (``batch`` None: an end-of-stream marker); it
        calls ``before_wait()`` before blocking, which sends what is buffered.
        A backend supplies only that; when the instances are done is decided
        here.
        """
        while not self.done:
            dst, batch = next_message(self.flush)
            if batch is None:
                self.receive_eos(dst)
            else:
                self.receive(dst, batch)
        self.flush()

    def receive_eos(self, dst: Address) -> None:
        """Deliver one end-of-stream marker for hosted instance ``dst``."""
        self._queue.append((self._instances[dst], None, _EOS))
        self._drain()

    def flush(self) -> None:
        """Send every buffered batch (before blocking, and at the end)."""
        self._last_flush = perf_counter()
        # Sending may let the transport process incoming work, which can
        # buffer more: loop until nothing is left.
        while self._buffers:
            for address in list(self._buffers):
                self._flush_to(address)

    def _flush_if_late(self) -> None:
        # A slow producer must not hold a partial batch back for long.
        now = perf_counter()
        if self._buffers and now - self._last_flush > self.max_delay:
            self.flush()
        if self._on_progress is not None and now - self._last_progress > PROGRESS_INTERVAL:
            self.report_progress()

    def report_progress(self) -> None:
        """Tell the progress callback the calls so far per hosted PE."""
        self._last_progress = perf_counter()
        if self._on_progress is not None:
            counts: dict[str, int] = {}
            for inst in self._order:
                counts[inst.pe_id] = counts.get(inst.pe_id, 0) + inst.calls
            self._on_progress(counts)

    def instance_metrics(self) -> dict[Address, PEMetrics]:
        """Counters of each hosted instance."""
        return {
            inst.address: PEMetrics(
                inst.pe_id, 1, inst.items_in, inst.items_out, inst.calls, inst.busy
            )
            for inst in self._order
        }

    def metrics(self) -> dict[str, PEMetrics]:
        """Per-PE counters of the hosted instances (summed over instances)."""
        result: dict[str, PEMetrics] = {}
        for address, metrics in self.instance_metrics().items():
            result.setdefault(address[0], PEMetrics(address[0])).add(metrics)
        return result

    # -- internals ----------------------------------------------------------
    def _drain(self) -> None:
        # Called only between PE calls (feed, receive, close); inside a PE
        # call a long local queue is drained by _drain_nested instead.
        self._held = 0
        queue = self._queue
        popleft = queue.popleft
        emit = self._emit
        while queue or self._spill_buffers:
            if not queue:
                # Work set aside for spilling but not handed over: do it here.
                for address, batch in self._spill_buffers.items():
                    local = self._instances[address]
                    queue.extend((local, name, value) for name, value in batch)
                self._spill_buffers.clear()
                continue
            inst, input_name, value = popleft()
            if input_name is None:
                inst.eos_remaining -= 1
                if inst.eos_remaining == 0:
                    self._end(inst)
                continue
            # The body of _process, inlined: this loop is the hot path.
            inst.items_in += 1
            inst.calls += 1
            block = {input_name: value}
            inst.active = True
            started = perf_counter()
            try:
                result = inst.pe.process(block)
                if result:
                    for output, out_value in result.items():
                        emit(inst, output, out_value)
            except PEFailure:
                raise
            except Exception as exc:
                raise self._failure(inst, "process", block, exc) from exc
            finally:
                inst.busy += perf_counter() - started
                inst.active = False

    def _drain_nested(self) -> None:
        """Process queued work while a PE call is in progress (it writes many
        items): everything except instances on the call stack, which keep
        their items, in order, for later."""
        queue = self._queue
        deferred: deque[tuple[InstanceState, str | None, Any]] = deque()
        while queue:
            item = queue.popleft()
            inst, input_name, value = item
            if inst.active:
                deferred.append(item)
            elif input_name is None:
                inst.eos_remaining -= 1
                if inst.eos_remaining == 0:
                    self._end(inst)
            else:
                inst.items_in += 1
                self._process(inst, {input_name: value})
        queue.extendleft(reversed(deferred))
        # Items set aside stay until their instance returns; do not scan them
        # again until as many new items have come (amortised linear time).
        self._held = len(deferred)

    def _process(self, inst: InstanceState, block: Any) -> None:
        inst.calls += 1
        inst.active = True
        started = perf_counter()
        try:
            result = inst.pe.process(block)
            if result:
                emit = self._emit
                for output, value in result.items():
                    emit(inst, output, value)
        except PEFailure:
            raise
        except Exception as exc:
            raise self._failure(inst, "process", block, exc) from exc
        finally:
            inst.busy += perf_counter() - started
            inst.active = False

    def _emit(self, inst: InstanceState, output: str, value: Any) -> None:
        try:
            targets = inst.targets[output]
        except KeyError:
            raise KeyError(
                f"PE {inst.pe_id!r} emitted on output {output!r}, which it does not "
                f"declare; declared outputs: {sorted(inst.targets)}"
            ) from None
        inst.items_out += 1
        if targets is None:
            self._on_result(inst.pe_id, output, value)
            return
        for kind, target, input_name, position in targets:
            if kind == LOCAL:
                queue = self._queue
                if len(queue) <= self._local_limit + self._held:
                    queue.append((target, input_name, value))
                elif self._spill is not None:
                    self._spill_item(target, input_name, value)
                else:
                    # Emitting happens inside a PE call: keep memory bounded.
                    queue.append((target, input_name, value))
                    self._drain_nested()
            elif kind == REMOTE:
                self._deliver(target, input_name, value)
            elif kind == GROUP_BY:
                index = target.grouping.instance_for(value, target.dst_instances)
                self._deliver((target.dst_pe, index), input_name, value)
            elif kind == BROADCAST:
                for index in range(target.dst_instances):
                    self._deliver((target.dst_pe, index), input_name, value)
            else:
                count = target.dst_instances
                index = inst.shuffle_next.get(position, inst.index % count)
                inst.shuffle_next[position] = (index + 1) % count
                self._deliver((target.dst_pe, index), input_name, value)

    def _spill_item(self, target: InstanceState, input_name: str, value: Any) -> None:
        buffer = self._spill_buffers.get(target.address)
        if buffer is None:
            buffer = self._spill_buffers[target.address] = []
        buffer.append((input_name, value))
        if len(buffer) >= self.batch_size:
            del self._spill_buffers[target.address]
            assert self._spill is not None
            if not self._spill.offer(target.address, buffer):
                self._queue.extend((target, name, value) for name, value in buffer)

    def _deliver(self, address: Address, input_name: str, value: Any) -> None:
        local = self._instances.get(address)
        if local is not None:
            queue = self._queue
            queue.append((local, input_name, value))
            if len(queue) > self._local_limit + self._held:
                self._drain_nested()
            return
        buffer = self._buffers.get(address)
        if buffer is None:
            buffer = self._buffers[address] = []
        buffer.append((input_name, value))
        if self._send_by_size and (
            len(buffer) >= self.batch_size or perf_counter() - self._last_flush > self.max_delay
        ):
            # Full, or late: a PE writing slowly from one long call must not
            # hold a partial batch back.
            if len(buffer) >= self.batch_size:
                self._flush_to(address)
            else:
                self.flush()

    def _flush_to(self, address: Address) -> None:
        batch = self._buffers.pop(address, None)
        if batch:
            self._require_transport(address).send(address, batch)

    def _require_transport(self, address: Address) -> Transport:
        if self.transport is None:
            raise RuntimeError(f"instance {address} is not hosted here and there is no transport")
        return self.transport

    def _end(self, inst: InstanceState) -> None:
        inst.ended = True
        self._guarded(inst, "postprocess", None, inst.pe.postprocess)
        if not self._end_of_stream:
            return
        # Items written in postprocess are queued (local) or buffered (remote)
        # before the markers below, so they reach consumers before they end.
        for dst_pe in self.plan.downstream[inst.pe_id]:
            for index in range(self.plan.instances[dst_pe]):
                address = (dst_pe, index)
                local = self._instances.get(address)
                if local is not None:
                    self._queue.append((local, None, _EOS))
                else:
                    self._flush_to(address)
                    self._require_transport(address).send_eos(address)

    def _guarded(
        self, inst: InstanceState, phase: str, block: Any, call: Callable[[], None]
    ) -> None:
        started = perf_counter()
        inst.active = True
        try:
            call()
        except PEFailure:
            raise
        except Exception as exc:
            raise self._failure(inst, phase, block, exc) from exc
        finally:
            inst.busy += perf_counter() - started
            inst.active = False

    def _failure(
        self, inst: InstanceState, phase: str, block: Any, exc: BaseException
    ) -> PEFailure:
        info = FailureInfo(
            pe_id=inst.pe_id,
            instance=inst.index,
            phase=phase,
            input_repr=None if block is None else _short_repr(block),
            error=f"{type(exc).__name__}: {exc}",
            traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        )
        return PEFailure(info)
