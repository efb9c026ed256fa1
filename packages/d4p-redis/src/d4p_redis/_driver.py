"""The driver side of a Redis run: set up the run's keys, start the local
worker processes (core's :class:`~d4p_core.backend.LocalProcesses`), read
the workers' reports from the control stream into core's
:class:`~d4p_core.backend.ReportSink`, and delete every key at the end
(success, failure or Ctrl-C)."""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any

import redis

from d4p_core import ServiceUnavailableError
from d4p_core.backend import FailureInfo, LocalProcesses, Report, ReportSink

from ._channel import DEAD_LETTERED, REJECTED
from ._codec import Codec, ForgedMessage, auth_key_from
from ._join import local_main
from ._keys import delete_run, new_run_id
from ._lease import Lease
from ._options import RedisOptions
from ._server import BLOCK_MS, connect, server_for_run
from ._session import RunSpec, Session

__all__ = ["Driver", "open_run"]

_CHECK = 0.2  # seconds between liveness checks of the local processes


class Driver:
    """A running run, seen from the process that started it.

    Every report goes to :attr:`sink` (``describe(index)`` names a worker in
    its errors); the Redis-only ones are kept in :attr:`errors` (dead-lettered
    tasks) and :attr:`rejected` (messages that are not validly signed).
    """

    def __init__(
        self,
        url: str,
        client: redis.Redis,
        options: RedisOptions,
        describe: Callable[[int], str],
    ) -> None:
        self.url = url
        self.client = client
        self.codec = Codec(options.serializer, auth_key_from(options.auth_key))
        run_id = options.run_id or new_run_id()
        self.session = Session(client, run_id, self.codec)
        self.keys = self.session.keys
        self.lease = Lease(client, self.keys, options.lease)
        self.lease.claim()
        self.sink = ReportSink(describe)
        self.processes = LocalProcesses(multiprocessing.get_context(options.start_method))
        self._process_of: dict[int, int] = {}  # report index -> LocalProcesses index
        self.errors: list[FailureInfo] = []
        self.rejected: list[str] = []
        self._last_id = b"0-0"
        self._next_check = 0.0

    # -- setup ---------------------------------------------------------------
    def publish(self, spec: RunSpec, instances: Iterable[tuple[str, int]]) -> None:
        """Store the run description and start renewing the lease of every
        key (``instances``: the PE instances that have a stream)."""
        self.lease.publish(self.codec.encode_pickle(spec), instances)

    def start(self, role: str, index: int) -> None:
        self._process_of[index] = self.processes.start(
            local_main,
            self.url,
            self.keys.run_id,
            role,
            index,
            self.codec.serializer,
            self.codec.auth_key,
            name=f"d4p-redis-{role}-{index}",
        )

    # -- reports ----------------------------------------------------------
    def receive(self, block_ms: int = BLOCK_MS) -> list[tuple[Report, int, Any]]:
        """The reports that arrived (waiting up to ``block_ms`` for one),
        each already handled by :meth:`handle`. Renews the run's lease when due."""
        self.lease.renew_if_due()
        reply: Any = self.client.xread(
            {self.keys.control: self._last_id}, count=512, block=block_ms
        )
        handled = []
        for _, entries in reply or []:
            for entry_id, fields in entries:
                self._last_id = entry_id
                try:
                    kind, index, payload = self.codec.decode_pickle(fields[b"d"])
                except ForgedMessage as exc:
                    self._reject(f"report {entry_id.decode()}: {exc}")
                    continue
                report = self.handle(kind, index, payload)
                if report is not None:
                    handled.append((report, index, payload))
        return handled

    def handle(self, kind: str, index: int, payload: Any) -> Report | None:
        """Give a report to the sink (which raises for a failure or a crash);
        None for a Redis-only report and for a second ``done``."""
        if kind == DEAD_LETTERED:
            self.errors.append(payload)
            print(f"d4p: task failed, dead-lettered: {payload.message()}", file=sys.stderr)
            return None
        if kind == REJECTED:
            self._reject(str(payload))
            return None
        if kind == Report.DONE and index in self.sink.finished:
            return None  # the run answered already for a worker it gave up on
        return self.sink.handle(kind, index, payload)

    def _reject(self, what: str) -> None:
        self.rejected.append(what)
        print(f"d4p: rejected a message that is not validly signed: {what}", file=sys.stderr)

    def lost(self, finished: Collection[object]) -> tuple[int, str] | None:
        """A local process (report index, how it ended) that ended without
        being in ``finished``; checked every _CHECK seconds."""
        now = time.monotonic()
        if now < self._next_check:
            return None
        self._next_check = now + _CHECK
        index_of = {process: index for index, process in self._process_of.items()}
        done = {process for index, process in self._process_of.items() if index in finished}
        found = self.processes.lost(done)
        if found is None:
            return None
        self.lease.verify()  # a worker that found the run gone is no lost worker
        return index_of[found[0]], found[1]

    def extra(self) -> dict[str, Any]:
        """What every Redis run adds to ``RunResult.extra``: the run id and
        the messages rejected."""
        return {"run_id": self.keys.run_id, "rejected_messages": self.rejected}

    def process_seconds(self) -> float:
        """The lifetimes of the processes this driver started (the sources'
        and the local workers'), summed; external workers, started by ``d4p
        worker redis`` elsewhere, are the dynamic loop's to count."""
        return self.processes.process_seconds()

    # -- teardown -------------------------------------------------------------
    def finish(self, clean: bool) -> None:
        """Delete the run's keys (so workers that are still running stop),
        then stop the local processes."""
        self.lease.end()
        try:
            self.client.delete(self.keys.spec)  # late writers now write nothing
            delete_run(self.client, self.keys.run_id)
        except redis.RedisError:
            pass  # the lease expires them
        self.processes.stop(graceful=clean)


@contextlib.contextmanager
def open_run(options: RedisOptions, describe: Callable[[int], str]) -> Iterator[Driver]:
    """A Driver on the options' Redis (or a private server), cleaned up on
    exit whatever happens; ``describe(index)`` names a worker in errors."""
    with server_for_run(options.redis_url) as url:
        client = connect(url)
        driver: Driver | None = None
        try:
            driver = Driver(url, client, options, describe)
            clean = False
            try:
                yield driver
                clean = True
            finally:
                driver.finish(clean)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise ServiceUnavailableError(f"lost the connection to Redis: {exc}") from None
        finally:
            client.close()
