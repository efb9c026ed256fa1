"""`d4p BACKEND COMMAND`: backends' operator commands (d4p.commands)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from d4p_cli_tests._helpers import error_line
from d4p_core.testing.processes import subprocess_env


@pytest.fixture
def redis_url() -> Iterator[str]:
    d4p_redis = pytest.importorskip("d4p_redis")
    server = d4p_redis.PrivateServer().start()
    try:
        yield server.url
    finally:
        server.stop()


def _d4p(*args: str) -> subprocess.CompletedProcess[str]:
    env = subprocess_env()
    env.pop("D4P_REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "d4p_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_redis_gc_lists_the_runs_of_a_real_server(redis_url: str) -> None:
    completed = _d4p("redis", "gc", "--redis-url", redis_url)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == ""  # no run on a fresh server


def test_a_backend_command_error_is_one_line() -> None:
    pytest.importorskip("d4p_redis")
    completed = _d4p("redis", "gc")
    assert completed.returncode == 7, completed.stderr
    assert "--redis-url" in error_line(completed.stderr)


def test_the_help_lists_backend_commands() -> None:
    pytest.importorskip("d4p_redis")
    completed = _d4p("--help")
    assert "d4p redis gc" in completed.stdout


def test_zmq_keys_makes_per_host_certificates(tmp_path: Path) -> None:
    pytest.importorskip("d4p_zmq")
    completed = _d4p("zmq", "keys", str(tmp_path / "keys"), "worker-a")
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "keys" / "driver").is_dir() and (tmp_path / "keys" / "worker-a").is_dir()
