"""Raw transport ceilings: items/s moved between two local processes."""

from __future__ import annotations

import importlib.util
import multiprocessing
import multiprocessing.connection
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Ceiling", "measure_ceilings"]

BATCH = 256


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
    import pickle

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
    import pickle

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


def measure_ceilings(quick: bool) -> list[Ceiling]:
    """Pipe and queue always; pyzmq when importable; Redis and MPI noted."""
    unbatched, batched = (50_000, 1_000_000) if quick else (200_000, 4_000_000)
    found: list[Ceiling] = []
    for name, run in (("multiprocessing.Pipe", _pipe), ("multiprocessing.Queue", _queue)):
        for batch, items in ((1, unbatched), (BATCH, batched)):
            found.append(Ceiling(name, batch, items, min(run(items, batch) for _ in range(2))))
    if importlib.util.find_spec("zmq") is not None:
        for batch, items in ((1, unbatched), (BATCH, batched)):
            found.append(Ceiling("pyzmq PUSH/PULL (tcp)", batch, items, _zmq(items, batch)))
    else:
        found.append(Ceiling("pyzmq PUSH/PULL", 0, 0, None, "skipped: pyzmq not importable"))
    for module, label in (("redis", "Redis streams"), ("mpi4py", "mpi4py send/recv")):
        if importlib.util.find_spec(module) is None:
            note = f"skipped: {module} not importable"
        else:
            note = f"skipped: {module} importable but this runner does not measure it yet"
        found.append(Ceiling(label, 0, 0, None, note))
    return found
