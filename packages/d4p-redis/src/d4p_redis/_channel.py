"""What every worker process shares: reading entries from streams, writing
through the atomic commit step, reporting, and noticing when to stop.

Reports go through core's :class:`~d4p_core.backend.BatchingReporter`, but
what it sends is only buffered here: results and reports are written in the
same atomic step that acknowledges the tasks they came from, so a task's
results are written exactly once even when its worker dies and another
worker runs it again."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import redis

from d4p_core.backend import Address, Batch, BatchingReporter, Report

from ._codec import ForgedMessage
from ._keys import GROUP
from ._server import BLOCK_MS
from ._session import RunGone, RunSpec, Session

__all__ = ["DEAD_LETTERED", "REJECTED", "Channel", "Entry", "Stop"]

# Reports only Redis runs send (besides core's Report kinds):
DEAD_LETTERED = "dead_lettered"  # a failed task, under on_error="continue"
REJECTED = "rejected"  # an entry that is not a validly signed message


class Entry(NamedTuple):
    """One stream entry as read: its payload and how many workers died
    holding it (they were handed back, see ``HAND_BACK``)."""

    stream: str
    id: bytes
    raw: bytes
    deaths: int = 0


def _entry(stream: str, entry_id: bytes, fields: dict[bytes, bytes]) -> Entry:
    return Entry(stream, entry_id, fields[b"d"], int(fields.get(b"h", 0)))


class Stop(Exception):
    """The worker must stop now (orphaned or the run is gone)."""


def _stream_gone(error: redis.ResponseError) -> bool:
    """A read failed because the stream (or its group) no longer exists:
    ``NOGROUP``, or Redis 7's ``UNBLOCKED the stream key no longer exists``
    for a read blocked on it."""
    text = str(error)
    return text.startswith("NOGROUP") or "no longer exists" in text


class Channel:
    """A worker's reads, buffered writes and reports."""

    def __init__(
        self,
        session: Session,
        spec: RunSpec,
        index: int,
        orphaned: Callable[[], bool],
    ) -> None:
        self.session = session
        self.spec = spec
        self.index = index
        self.consumer = f"w{index}"
        self._orphaned = orphaned
        self.adds: list[tuple[str, bytes]] = []
        self.counted = 0
        self.reports: list[bytes] = []
        self.reporter = BatchingReporter(self._buffer)
        self._next_beat = 0.0
        self._heartbeat_slot: int | None = None

    # -- encoding ----------------------------------------------------------
    def encode_task(self, dst: Address, batch: Batch | None, attempt: int = 0) -> bytes:
        return self.session.codec.encode([dst[0], dst[1], batch, attempt])

    def decode_task(self, raw: bytes) -> tuple[Address, Any, int]:
        pe_id, index, batch, attempt = self.session.codec.decode(raw)
        return (str(pe_id), int(index)), batch, int(attempt)

    # -- buffered writes -----------------------------------------------------
    def add(self, stream: str, payload: bytes, counted: bool = True) -> None:
        self.adds.append((stream, payload))
        if counted:
            self.counted += 1

    def _buffer(self, kind: Report | str, payload: Any) -> None:
        kind = kind.value if isinstance(kind, Report) else kind
        self.reports.append(self.session.encode_report(kind, self.index, payload))

    def notice(self, kind: str, payload: Any) -> None:
        """Buffer a Redis-only report (:data:`DEAD_LETTERED`, :data:`REJECTED`)."""
        self.reporter.flush()
        self._buffer(kind, payload)

    def discard(self) -> None:
        self.reporter.flush()
        self.adds.clear()
        self.counted = 0
        self.reports.clear()

    def commit(
        self,
        acks: Sequence[tuple[str, bytes]] = (),
        counted_acks: int = 0,
        took: tuple[float, float] = (0.0, 0.0),
    ) -> int:
        """Write what is buffered, acknowledging ``acks`` (``counted_acks``
        of them tasks counted in flight, which took ``took``: seconds and
        CPU-seconds), in one atomic step."""
        self.reporter.flush()
        idle = (
            self.session.encode_report(Report.IDLE.value, self.index, None) if counted_acks else b""
        )
        value = self.session.commit(
            list(acks), self.adds, self.reports, counted_acks, self.counted, idle, took
        )
        self.discard()
        return value

    def flush(self) -> None:
        """Write buffered results, reports and tasks, if any."""
        self.reporter.flush()
        if self.reports or self.adds:
            self.commit()

    # -- reading -------------------------------------------------------------
    def read(self, streams: list[str], block: bool, count: int | None = None) -> list[Entry]:
        """New entries of ``streams`` (in that order; at most ``count`` of
        each, default ``read_count``), waiting up to BLOCK_MS when ``block``."""
        self.check()
        if not streams:
            if block:
                time.sleep(BLOCK_MS / 1000)
            return []
        try:
            reply = self.session.client.xreadgroup(
                GROUP,
                self.consumer,
                {stream: ">" for stream in streams},
                count=count or self.spec.read_count,
                block=BLOCK_MS if block else None,
            )
        except redis.ResponseError as exc:
            if _stream_gone(exc):
                raise Stop from None  # the run's keys were deleted or expired
            raise
        by_stream: dict[str, list[Entry]] = {}
        rows: Any = reply or []
        for stream_name, items in rows:
            name = stream_name.decode() if isinstance(stream_name, bytes) else stream_name
            by_stream[name] = [_entry(name, entry_id, fields) for entry_id, fields in items]
        return [entry for stream in streams for entry in by_stream.get(stream, [])]

    def claim(self, stream: str, idle_seconds: float) -> list[Entry]:
        """Entries of ``stream`` another consumer left unacknowledged for
        ``idle_seconds`` (a worker that died)."""
        try:
            reply = self.session.client.xautoclaim(
                stream,
                GROUP,
                self.consumer,
                min_idle_time=int(idle_seconds * 1000),
                start_id="0-0",
                count=self.spec.read_count,
            )
        except redis.ResponseError as exc:
            if _stream_gone(exc):
                raise Stop from None  # the run's keys were deleted or expired
            raise
        items = reply[1] if reply else []
        return [_entry(stream, entry_id, fields) for entry_id, fields in items if fields]

    def drop(self, entry: Entry, error: ForgedMessage | Exception) -> None:
        """Acknowledge an entry that is not a valid message, and report it."""
        self.notice(REJECTED, f"{entry.stream} entry {entry.id.decode()}: {error}")
        self.commit([(entry.stream, entry.id)], 0)

    # -- liveness -------------------------------------------------------------
    def watch(self, slot: int) -> None:
        self._heartbeat_slot = slot

    def check(self) -> None:
        if self._orphaned():
            raise Stop
        now = time.monotonic()
        if self._heartbeat_slot is not None and now >= self._next_beat:
            self._next_beat = now + self.spec.heartbeat
            try:
                self.session.heartbeat(self._heartbeat_slot, int(self.spec.heartbeat * 5000))
            except RunGone:
                raise Stop from None
