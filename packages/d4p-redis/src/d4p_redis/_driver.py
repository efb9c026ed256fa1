"""The driver side of a Redis run: set up the run's keys, start the local
worker processes, read their reports, and delete every key at the end
(success, failure or Ctrl-C)."""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import time
from collections.abc import Iterator
from typing import Any

import redis

from d4p_core import D4pError, Outputs, RunError, ServiceUnavailableError
from d4p_core.backend import FailureInfo, GraphPayload, parent_token

from ._codec import Codec, ForgedMessage, auth_key_from
from ._join import local_main
from ._keys import delete_run, new_run_id
from ._options import RedisOptions
from ._server import BLOCK_MS, connect, server_for_run
from ._session import RunSpec, Session

__all__ = ["Driver", "open_run"]

_CHECK = 0.2  # seconds between liveness checks


class Driver:
    """A running run, seen from the process that started it."""

    def __init__(self, url: str, client: redis.Redis, options: RedisOptions) -> None:
        self.url = url
        self.client = client
        self.options = options
        self.codec = Codec(options.serializer, auth_key_from(options.auth_key))
        run_id = options.run_id or new_run_id()
        self.session = Session(client, run_id, self.codec)
        self.keys = self.session.keys
        if client.exists(self.keys.spec):
            raise D4pError(f"run id {run_id!r} is in use on this Redis; choose another")
        self.context = multiprocessing.get_context(options.start_method)
        self.processes: dict[int, Any] = {}  # report index -> process
        self.outputs: Outputs = {}
        self.errors: list[FailureInfo] = []
        self.rejected: list[str] = []
        self._last_id = b"0-0"
        self._next_check = 0.0

    # -- setup ---------------------------------------------------------------
    def publish(self, spec: RunSpec) -> None:
        self.spec = spec
        self.client.set(self.keys.spec, self.codec.encode_pickle(spec))

    def start(self, role: str, index: int, active: bool = True) -> None:
        process = self.context.Process(  # type: ignore[attr-defined]
            target=local_main,
            args=(
                self.url,
                self.keys.run_id,
                role,
                index,
                self.codec.serializer,
                self.codec.auth_key,
                parent_token(self.context),
                active,
            ),
            name=f"d4p-redis-{role}-{index}",
            daemon=False,
        )
        process.start()
        self.processes[index] = process

    # -- reports ----------------------------------------------------------
    def reports(self) -> Iterator[tuple[str, int, Any]]:
        """The reports that arrived (waiting up to BLOCK_MS for one)."""
        reply: Any = self.client.xread(
            {self.keys.control: self._last_id}, count=512, block=BLOCK_MS
        )
        for _, entries in reply or []:
            for entry_id, fields in entries:
                self._last_id = entry_id
                try:
                    kind, index, payload = self.codec.decode_pickle(fields[b"d"])
                except ForgedMessage as exc:
                    self._reject(f"report {entry_id.decode()}: {exc}")
                    continue
                if kind == "results":
                    for pe_id, output, value in payload:
                        self.outputs.setdefault(pe_id, {}).setdefault(output, []).append(value)
                elif kind == "failed":
                    raise payload.to_error()
                elif kind == "crashed":
                    raise RunError(
                        f"worker {index} crashed: {payload.splitlines()[0]}",
                        remote_traceback=payload,
                    )
                elif kind == "error":
                    self.errors.append(payload)
                    print(f"d4p: task failed, dead-lettered: {payload.message()}", file=sys.stderr)
                elif kind == "rejected":
                    self._reject(str(payload))
                else:
                    yield kind, index, payload

    def _reject(self, what: str) -> None:
        self.rejected.append(what)
        print(f"d4p: rejected a message that is not validly signed: {what}", file=sys.stderr)

    def dead_processes(self) -> list[tuple[int, str]]:
        """Local processes that exited (index, how), checked every _CHECK s."""
        now = time.monotonic()
        if now < self._next_check:
            return []
        self._next_check = now + _CHECK
        dead = []
        for index, process in list(self.processes.items()):
            code = process.exitcode
            if code is None:
                continue
            if code == 0:
                continue  # it reported how it ended (done, failed) before exiting
            del self.processes[index]
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            dead.append((index, how))
        return dead

    # -- teardown -------------------------------------------------------------
    def finish(self, clean: bool) -> None:
        """Delete the run's keys, then make sure no local process is left."""
        try:
            self.client.delete(self.keys.spec)  # late writers now write nothing
            delete_run(self.client, self.keys.run_id)
        except redis.RedisError:
            pass
        deadline = time.monotonic() + (10 if clean else 3)
        for process in self.processes.values():
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()
        for process in self.processes.values():
            process.join(timeout=3)
            if process.is_alive():
                process.kill()
                process.join(timeout=3)
        self.processes.clear()


@contextlib.contextmanager
def open_run(options: RedisOptions) -> Iterator[Driver]:
    """A Driver on the options' Redis (or a private server), cleaned up on
    exit whatever happens."""
    with server_for_run(options.redis_url) as url:
        client = connect(url)
        driver: Driver | None = None
        try:
            driver = Driver(url, client, options)
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


def graph_payload(pes: dict[str, Any]) -> GraphPayload:
    """The PEs as any process (or machine) receives them: always pickled."""
    return GraphPayload.create(pes, "spawn")
