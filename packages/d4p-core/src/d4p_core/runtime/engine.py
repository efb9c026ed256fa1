"""The engine: the one place that drives PE instances.

An :class:`Executor` hosts some instances of a plan (all of them for
``simple``; one instance or one fused partition per process for ``multi``,
``mpi``, ``zmq``...). It calls ``preprocess`` once, runs every input through
the PE **block by block**, routes what the PE emits through the plan
(grouping included), counts end-of-stream markers, calls ``postprocess`` once
after all upstream instances ended and then sends end-of-stream downstream.

Work moves in blocks: a block of values for one input is run through the PE
in one call (see :mod:`d4p_core.runtime._callers`; a chain of stock per-item PEs in
this process runs as one generated loop, see :mod:`d4p_core.runtime._chains`), and
what it emitted is routed as blocks — to an instance hosted here it is run at
once, depth first (the graph is acyclic, so a PE is never re-entered), so
memory stays bounded by the block size; for an instance hosted elsewhere it
is cut into batches of ``batch_size`` items for the :class:`Transport`. A
backend only moves those batches and feeds what it receives back in with
:meth:`Executor.receive` / :meth:`Executor.receive_eos`.
Clocks and counters are paid per block; a block is sized so that one call
takes a few milliseconds (so slow PEs still stream).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from time import perf_counter
from typing import Any

from ..inputs import InputSpec
from ..model.pe import WRITER, GenericPE
from ..planning.plan import Plan
from ._callers import PendingWriter, compile_call, undeclared_output
from ._chains import compile_chains
from ._failure import PEFailure, pe_failure, undeclared_state_failure
from ._instances import InstanceState, instantiate
from ._outbox import Outbox
from ._routing import GROUP_BY, LOCAL, REMOTE, SHUFFLE, compile_targets, split
from ._state_watch import StateWatch, split_state_message
from .progress import PROGRESS_INTERVAL
from .result import PEMetrics
from .transport import Address, Batch, SpillTarget, Transport

__all__ = [
    "WHOLE_BLOCK",
    "Address",
    "Batch",
    "Executor",
    "PEFailure",
    "SpillTarget",
    "Transport",
    "given_blocks",
    "instantiate",
]

ResultCallback = Callable[[str, str, Any], None]
ResultsCallback = Callable[[str, str, list[Any]], None]

WHOLE_BLOCK = "\x00block"
"""Input name of a batch segment whose values are complete input blocks
(inputs given to a non-source PE), each processed as given."""

MAX_CHUNK = 4096
"""Most values handed to one PE call chain at once."""
_CHUNK_SECONDS = 0.002
"""A chunk faster than this doubles the next one; four times slower halves it."""


def given_blocks(blocks: Iterable[Any]) -> Batch:
    """A batch carrying whole input blocks for one instance (see WHOLE_BLOCK)."""
    return [(WHOLE_BLOCK, list(blocks))]


def _each(on_result: ResultCallback) -> ResultsCallback:
    def on_results(pe_id: str, output: str, values: list[Any]) -> None:
        for value in values:
            on_result(pe_id, output, value)

    return on_results


class Executor:
    """Drives the PE instances of ``plan`` that this process hosts.

    ``hosted`` maps each hosted instance to its PE object. Items for other
    instances go to ``transport`` in batches of up to ``batch_size``;
    call :meth:`flush` before blocking on the transport. Results (items on
    unconnected outputs) go to ``on_results(pe_id, output, values)`` a block
    at a time, or to ``on_result(pe_id, output, value)`` one by one.
    """

    def __init__(
        self,
        plan: Plan,
        hosted: Mapping[Address, GenericPE],
        *,
        transport: Transport | None = None,
        on_result: ResultCallback | None = None,
        on_results: ResultsCallback | None = None,
        batch_size: int = 256,
        max_delay: float = 0.05,
        end_of_stream: bool = True,
        spill: SpillTarget | None = None,
        spill_above: int = 1024,
        send_by_size: bool = True,
        on_progress: Callable[[dict[str, int]], None] | None = None,
        state_copies: Collection[str] | None = None,
    ) -> None:
        self.plan = plan
        # PEs whose copies would split state process() keeps in attributes:
        # given by dynamic mappings (every worker has a copy: an error), else
        # the round-robin replicas of the plan (a warning in the metrics).
        self._state_errors = state_copies is not None
        self._watched = frozenset(plan.shuffled_replicas if state_copies is None else state_copies)
        self.transport = transport
        # Dynamic mappings end PEs by command (close), not by markers.
        self._end_of_stream = end_of_stream
        # A dynamic worker hands to others what a block it made grew beyond
        # the task it is on (and beyond spill_above): fan-outs are shared.
        self._spill = spill
        self._spill_above = spill_above
        self._task_size = 0
        # False: remote batches leave only on flush(), never in the middle
        # of a PE call (a worker may then block safely while sending).
        self._send_by_size = send_by_size
        self._on_progress = on_progress
        self._last_progress = perf_counter()
        self.batch_size = max(1, batch_size)
        self.max_delay = max_delay
        self._last_flush = perf_counter()
        if on_results is None:
            on_results = _each(on_result) if on_result is not None else (lambda *_: None)
        self._on_results = on_results
        self._buffers: dict[Address, Outbox] = {}
        self._instances: dict[Address, InstanceState] = {}
        for address, pe in hosted.items():
            instance = InstanceState(address, pe, plan)
            self._instances[address] = instance
            pe.rank = address[1]
            pe.instance = address[1]
            for output, connection in pe.outputconnections.items():
                buffer = instance.pending.setdefault(output, [])
                connection[WRITER] = PendingWriter(self._writer_full(instance), buffer, output)
            instance.call = compile_call(instance)
        for instance in self._instances.values():
            instance.targets = {
                output: compile_targets(
                    plan.routes.get((instance.pe_id, output)), instance.index, self._instances
                )
                for output in plan.outputs[instance.pe_id]
            }
        self._order = sorted(
            self._instances.values(),
            key=lambda inst: (plan.pe_ids.index(inst.pe_id), inst.index),
        )
        compile_chains(self._order)

    # -- what a backend calls -----------------------------------------------
    @property
    def done(self) -> bool:
        """True once every hosted instance has ended."""
        return all(inst.ended for inst in self._order)

    def start(self) -> None:
        """Call ``preprocess`` on every hosted instance (topological order);
        what it wrote is routed once every instance is ready for it."""
        for inst in self._order:
            self._guarded(inst, "preprocess", inst.pe.preprocess)
            if inst.pe_id in self._watched and StateWatch.wanted(inst.pe):
                inst.watch = StateWatch(inst.pe)
        for inst in self._order:
            self._route_pending(inst)

    def feed(self, provided: Mapping[str, InputSpec]) -> None:
        """Process the provided inputs of hosted PEs (instance 0), then end
        hosted sources. Call after :meth:`start`."""
        for inst in self._order:
            spec = provided.get(inst.pe_id)
            if spec is None or inst.index != 0:
                continue
            if isinstance(spec, int):
                remaining = spec
                while remaining > 0:
                    size = min(inst.chunk, remaining)
                    calls: list[Any] = (
                        [{}] * size if inst.kind == "block" else [{} for _ in range(size)]
                    )
                    self._run_chunk(inst, None, calls, count_in=False)
                    remaining -= size
                    self._flush_if_late()
            else:
                self._run(inst, None, list(spec), count_in=False, received=True)
                self._flush_if_late()
        for inst in self._order:
            if inst.eos_remaining == 0 and not inst.ended:
                self._end(inst)

    def receive(self, dst: Address, batch: Batch) -> None:
        """Deliver a batch that arrived for hosted instance ``dst``."""
        inst = self._instances[dst]
        self._task_size = sum(len(values) for _, values in batch)
        for input_name, values in batch:
            name = None if input_name == WHOLE_BLOCK else input_name
            self._run(inst, name, values, received=True)
        self._flush_if_late()

    def receive_eos(self, dst: Address) -> None:
        """Deliver one end-of-stream marker for hosted instance ``dst``."""
        self._end_of_one_upstream(self._instances[dst])

    def close(self, pe_id: str) -> None:
        """End the hosted instances of ``pe_id`` now (dynamic mappings):
        ``postprocess`` runs and what it writes is routed."""
        self._task_size = 0
        for inst in self._order:
            if inst.pe_id == pe_id and not inst.ended:
                self._end(inst)

    def close_all(self) -> None:
        """End every hosted instance but the sources, upstream first (a
        dynamic worker leaving the run): each PE's ``postprocess`` runs and
        what it writes is routed and sent before the next PE closes."""
        for pe_id in dict.fromkeys(inst.pe_id for inst in self._order):
            if pe_id not in self.plan.sources:
                self.close(pe_id)
                self.flush()

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

    def flush(self) -> None:
        """Send every buffered batch (before blocking, and at the end)."""
        self._last_flush = perf_counter()
        # Sending may let the transport process incoming work, which can
        # buffer more: loop until nothing is left.
        while self._buffers:
            for address in list(self._buffers):
                self._flush_to(address)

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
                inst.pe_id,
                1,
                inst.items_in,
                inst.items_out,
                inst.calls,
                inst.busy,
                inst.watch.changed_names(inst.pe)
                if inst.split_state and inst.watch is not None
                else (),
            )
            for inst in self._order
        }

    def metrics(self) -> dict[str, PEMetrics]:
        """Per-PE counters of the hosted instances (summed over instances)."""
        result: dict[str, PEMetrics] = {}
        for address, metrics in self.instance_metrics().items():
            result.setdefault(address[0], PEMetrics(address[0])).add(metrics)
        return result

    # -- running blocks -------------------------------------------------------
    def _run(
        self,
        inst: InstanceState,
        input_name: str | None,
        values: list[Any],
        count_in: bool = True,
        received: bool = False,
    ) -> None:
        """Run ``values`` (the instance's own list) through ``inst`` in chunks;
        ``received``: they came from outside, never hand them over."""
        if self._spill is not None and not received:
            keep = max(self._spill_above, self._task_size)
            if len(values) > keep:
                values = values[:keep] + self._hand_over(inst, input_name, values[keep:])
        total = len(values)
        if total <= inst.chunk:
            if total:
                self._run_chunk(inst, input_name, values, count_in)
            return
        start = 0
        while start < total:
            end = start + inst.chunk
            self._run_chunk(inst, input_name, values[start:end], count_in)
            start = end

    def _run_chunk(
        self, inst: InstanceState, input_name: str | None, values: list[Any], count_in: bool
    ) -> None:
        chain = inst.chain
        if chain is not None and input_name == chain.input_name:
            spent = chain.run(values, count_in)
            self._chunk_done(inst, len(values), spent, perf_counter(), chain.members)
            return
        size = len(values)
        if count_in:
            inst.items_in += size
        busy = inst.busy
        inst.active = True
        started = perf_counter()
        try:
            inst.calls += inst.call(input_name, values)
        except PEFailure:
            raise
        except Exception as exc:
            raise pe_failure(inst, "process", inst.failed_input, exc) from exc
        finally:
            now = perf_counter()
            inst.busy += now - started
            inst.active = False
        self._chunk_done(inst, size, inst.busy - busy, now, (inst,))  # busy: without writes

    def _chunk_done(
        self,
        head: InstanceState,
        size: int,
        spent: float,
        now: float,
        routed: Iterable[InstanceState],
    ) -> None:
        """Size ``head``'s next chunk from this one's time; route what the
        instances that ran (``routed``) emitted."""
        if spent < _CHUNK_SECONDS:
            if size >= head.chunk and head.chunk < MAX_CHUNK:
                head.chunk *= 2
        elif spent > 4 * _CHUNK_SECONDS and head.chunk > 1:
            head.chunk //= 2
        for inst in routed:
            if inst.watch is not None and not inst.split_state and inst.watch.changed(inst.pe):
                self._state_changed(inst)
            self._route_pending(inst)
        self._send_if_late(now)

    def _state_changed(self, inst: InstanceState) -> None:
        """``process`` changed attributes of a PE whose copies split state."""
        assert inst.watch is not None
        if not self._state_errors:
            inst.split_state = True  # named in the metrics, warned by the driver
            return
        message = split_state_message(
            inst.watch.changed_names(inst.pe),
            "this mapping runs a copy of it in every worker process",
        )
        raise undeclared_state_failure(inst, message)

    def _send_if_late(self, now: float) -> None:
        """Inside a PE's call: send partial batches that waited too long
        (unless the backend sends only between calls)."""
        if self._send_by_size and self._buffers and now - self._last_flush > self.max_delay:
            self.flush()

    def _writer_full(self, inst: InstanceState) -> Callable[[PendingWriter], None]:
        def route(writer: PendingWriter) -> None:
            # A PE is writing from inside a call: route what it wrote so far
            # (and stop its clock meanwhile), growing the next block while
            # writes come fast.
            now = perf_counter()
            if now - writer.since < _CHUNK_SECONDS:
                writer.limit = min(writer.limit * 2, MAX_CHUNK)
            elif writer.limit > 1:
                writer.limit //= 2
            self._route_output(inst, writer.output)
            writer.since = done = perf_counter()
            if inst.active:
                inst.busy -= done - now
            self._send_if_late(done)

        return route

    def _hand_over(self, inst: InstanceState, input_name: str | None, values: list[Any]) -> Any:
        """Offer ``values`` to other workers, batch by batch while they take
        them; returns what is left to run here."""
        assert self._spill is not None
        name = WHOLE_BLOCK if input_name is None else input_name
        size = self.batch_size
        for start in range(0, len(values), size):
            if not self._spill.offer(inst.address, [(name, values[start : start + size])]):
                return values[start:]
        return []

    # -- routing --------------------------------------------------------------
    def _route_pending(self, inst: InstanceState) -> None:
        for output in inst.pending:
            self._route_output(inst, output)

    def _route_output(self, inst: InstanceState, output: str) -> None:
        buffer = inst.pending[output]
        if buffer:
            block = buffer.copy()
            buffer.clear()
            self._route(inst, output, block)

    def _route(self, inst: InstanceState, output: str, block: list[Any]) -> None:
        """Send ``block`` (owned) along every route of ``inst.output``."""
        try:
            targets = inst.targets[output]
        except KeyError:
            error = undeclared_output(inst, output)
            raise pe_failure(inst, "process", None, error) from None
        inst.items_out += len(block)
        if targets is None:
            self._on_results(inst.pe_id, output, block)
            return
        last = len(targets) - 1
        for k, (kind, target, input_name, position) in enumerate(targets):
            values = block if k == last else block.copy()  # each target owns its list
            if kind == LOCAL:
                self._run(target, input_name, values)
            elif kind == REMOTE:
                self._send(target, input_name, values)
            else:
                start = 0
                if kind == SHUFFLE:
                    start = inst.shuffle_next.get(position, inst.index % target.dst_instances)
                    inst.shuffle_next[position] = (start + len(values)) % target.dst_instances
                try:
                    parts = list(split(kind, target, values, start))
                except Exception as exc:  # a group-by key the item does not have
                    assert kind == GROUP_BY
                    raise pe_failure(inst, "process", None, exc) from exc
                for address, part in parts:
                    self._deliver(address, input_name, part)

    def _deliver(self, address: Address, input_name: str, values: list[Any]) -> None:
        local = self._instances.get(address)
        if local is not None:
            self._run(local, input_name, values)
        else:
            self._send(address, input_name, values)

    def _send(self, address: Address, input_name: str, values: list[Any]) -> None:
        outbox = self._buffers.get(address)
        if outbox is None:
            outbox = self._buffers[address] = Outbox()
        outbox.add(input_name, values, self.batch_size)
        if self._send_by_size and outbox.ready:
            transport = self._require_transport(address)
            for batch in outbox.take_ready():
                transport.send(address, batch)
            if not outbox.open and self._buffers.get(address) is outbox:
                del self._buffers[address]

    def _flush_if_late(self) -> None:
        # Between PE calls: a slow producer must not hold a partial batch back.
        now = perf_counter()
        if self._buffers and now - self._last_flush > self.max_delay:
            self.flush()
        if self._on_progress is not None and now - self._last_progress > PROGRESS_INTERVAL:
            self.report_progress()

    def _flush_to(self, address: Address) -> None:
        outbox = self._buffers.pop(address, None)
        if outbox is not None:
            for batch in outbox.take_all():
                self._require_transport(address).send(address, batch)

    def _require_transport(self, address: Address) -> Transport:
        if self.transport is None:
            raise RuntimeError(f"instance {address} is not hosted here and there is no transport")
        return self.transport

    # -- lifecycle ------------------------------------------------------------
    def _end_of_one_upstream(self, inst: InstanceState) -> None:
        inst.eos_remaining -= 1
        if inst.eos_remaining == 0:
            self._end(inst)

    def _end(self, inst: InstanceState) -> None:
        inst.ended = True
        self._guarded(inst, "postprocess", inst.pe.postprocess)
        # What postprocess wrote is routed (run here, or buffered) before the
        # markers below, so it reaches consumers before they end.
        self._route_pending(inst)
        if not self._end_of_stream:
            return
        for dst_pe in self.plan.downstream[inst.pe_id]:
            for index in range(self.plan.instances[dst_pe]):
                address = (dst_pe, index)
                local = self._instances.get(address)
                if local is not None:
                    self._end_of_one_upstream(local)
                else:
                    self._flush_to(address)
                    self._require_transport(address).send_eos(address)

    def _guarded(self, inst: InstanceState, phase: str, call: Callable[[], None]) -> None:
        started = perf_counter()
        inst.active = True
        try:
            call()
        except PEFailure:
            raise
        except Exception as exc:
            raise pe_failure(inst, phase, None, exc) from exc
        finally:
            inst.busy += perf_counter() - started
            inst.active = False
