"""Worker side of the fixed ``redis`` mapping: one stream per PE instance.

Each worker process hosts one block of instances from core's placement and
runs :meth:`Executor.serve` over its instances' streams. Senders wait while a
destination stream holds ``backlog`` batches (back-pressure), so Redis memory
stays bounded on a fast source.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from d4p_core import GenericPE
from d4p_core.backend import Address, Batch, Executor, instantiate

from ._channel import Channel, Entry
from ._session import RunSpec

__all__ = ["run_fixed_worker"]


class _StreamTransport:
    def __init__(self, channel: Channel, spec: RunSpec) -> None:
        self._channel = channel
        self._backlog = spec.backlog
        self._client = channel.session.client
        self._streams: dict[Address, str] = {}
        self._keys = channel.session.keys

    def _stream(self, dst: Address) -> str:
        stream = self._streams.get(dst)
        if stream is None:
            stream = self._streams[dst] = self._keys.instance(*dst)
        return stream

    def send(self, dst: Address, batch: Batch) -> None:
        self._put(dst, batch)

    def send_eos(self, dst: Address) -> None:
        self._put(dst, None)

    def _put(self, dst: Address, batch: Batch | None) -> None:
        stream = self._stream(dst)
        pause = 0.0005
        while self._client.xlen(stream) >= self._backlog:
            self._channel.check()
            time.sleep(pause)  # back-pressure only
            pause = min(pause * 2, 0.02)
        self._channel.add(stream, self._channel.encode_task(dst, batch), counted=False)
        self._channel.commit()


def run_fixed_worker(channel: Channel, pes: dict[str, GenericPE], block: int) -> None:
    spec = channel.spec
    hosted = spec.blocks[block]
    provided = {pe: given for pe, given in spec.provided.items() if (pe, 0) in hosted}
    executor = Executor(
        spec.plan,
        instantiate(pes, hosted),
        transport=_StreamTransport(channel, spec),
        on_result=channel.reporter.result,
        batch_size=spec.batch_size,
    )
    streams = [channel.session.keys.instance(*address) for address in hosted]
    waiting: deque[tuple[Address, Any]] = deque()

    def fetch(block_wait: bool) -> None:
        entries: list[Entry] = channel.read(streams, block=block_wait)
        good: list[tuple[str, bytes]] = []
        for entry in entries:
            try:
                dst, batch, _ = channel.decode_task(entry.raw)
            except Exception as exc:  # noqa: BLE001 - forged or corrupt: reported
                channel.drop(entry, exc)
                continue
            waiting.append((dst, batch))
            good.append((entry.stream, entry.id))
        if good:
            channel.commit(good, 0)

    def next_message(before_wait: Callable[[], None]) -> tuple[Address, Any]:
        if not waiting:
            if channel.reports:  # a full batch of results
                channel.commit()
            fetch(False)
        if not waiting:
            before_wait()
            channel.flush()
        while not waiting:
            fetch(True)
        return waiting.popleft()

    executor.start()
    executor.feed(provided)
    executor.serve(next_message)
    channel.reporter.done(executor.instance_metrics())
    channel.commit()
