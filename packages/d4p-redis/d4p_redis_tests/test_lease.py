"""Leases: a run's keys live only while its driver renews them.

A driver killed outright (SIGKILL, the OOM killer) cannot delete its keys;
they must still vanish from a shared server within the lease, and a worker
that joined from elsewhere must notice and stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from d4p_core import D4pError, RunResult, WorkflowGraph, run
from d4p_core.testing.pes import WordCounter
from d4p_core.testing.processes import children_of, subprocess_env, wait_gone
from d4p_redis import LeaseLost, RedisOptions, RunKeys

from .pes import Double, Gated, Numbers, Tuples

ROOT = str(Path(__file__).resolve().parent.parent)
LEASE = 2.0

# A driver that keeps its workers busy until it is killed.
DRIVER = """
import sys
from d4p_core import run
from d4p_redis_tests.pes import pipeline

run(pipeline(10**7, pause=0.001), "dyn_redis", processes=1, run_id=sys.argv[1], lease=2.0)
"""


def _run_keys(client: redis.Redis, run_id: str) -> list[bytes]:
    return list(client.scan_iter(match=RunKeys(run_id).prefix + "*", count=1000))


def _wait_until(condition: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _lifetimes(client: redis.Redis, run_id: str) -> dict[str, int]:
    """Each key's remaining lifetime in ms (-1: none; -2: gone meanwhile)."""
    return {key.decode(): int(client.pttl(key)) for key in _run_keys(client, run_id)}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_driver_keys_expire_within_the_lease(redis_url: str) -> None:
    """SIGKILL the driver of a dyn_redis run (one local worker, one external
    one, tasks in flight): every key it leaves has a lifetime of at most the
    lease, and all of them vanish; its local processes end with it; the
    external worker stops with one line."""
    run_id = "killed-driver"
    env = subprocess_env(ROOT)
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, run_id], env=env)
    client = redis.Redis.from_url(redis_url)
    keys = RunKeys(run_id)
    external: subprocess.Popen[str] | None = None
    try:
        _wait_until(lambda: client.exists(keys.spec), "the run did not start")
        external = subprocess.Popen(
            [sys.executable, "-m", "d4p_redis.worker", "--redis-url", redis_url, "--run", run_id],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_until(lambda: int(client.get(keys.members) or 0) == 2, "the worker did not join")
        # Results flowing: the keys workers create (reports) exist too.
        _wait_until(lambda: client.xlen(keys.control) > 0, "no report arrived")
        local = children_of(driver.pid)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)

        left = _lifetimes(client, run_id)
        assert keys.spec in left and keys.control in left, left
        assert all(ttl == -2 or 0 < ttl <= LEASE * 1000 for ttl in left.values()), left

        _wait_until(lambda: not _run_keys(client, run_id), "the keys did not expire")
        assert not wait_gone(local, timeout=10), "processes outlived a killed driver"
        _, stderr = external.communicate(timeout=60)
        assert external.returncode == 0, stderr
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and f"run {run_id} is gone" in lines[0], stderr
    finally:
        for process in (driver, external):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
        client.close()


class _HalfGated(Numbers):
    """Writes half its numbers, waits for ``gate``, writes the rest."""

    def __init__(self, n: int, gate: str) -> None:
        super().__init__(n)
        self.gate = gate

    def _process(self, inputs: Any) -> None:
        for i in range(self.n):
            if i == self.n // 2:
                while not os.path.exists(self.gate):
                    time.sleep(0.01)
            self.write("output", i)


# Each case outlives several leases (~6 s): one in the fast tier.
@pytest.mark.parametrize(
    "mapping",
    [
        pytest.param("redis", marks=pytest.mark.slow),
        "dyn_redis",
        pytest.param("hybrid_redis", marks=pytest.mark.slow),
    ],
)
def test_keys_outlive_many_leases_while_the_driver_lives(
    redis_url: str, tmp_path: Path, mapping: str
) -> None:
    """With a short lease, a run that lasts several leases keeps every key
    (the ones workers create mid-run included) and gives every result."""
    gate = tmp_path / "gate"
    n = 200
    graph = WorkflowGraph()
    pairs = Tuples()  # x -> (x, [x])
    graph.connect(_HalfGated(n, str(gate)), "output", pairs, "input")
    last: Any = pairs
    if mapping != "dyn_redis":  # stateful: pinned to streams of its own on hybrid_redis
        last = WordCounter(numprocesses=2)
        graph.connect(pairs, "output", last, "input")
    run_id = f"renewed-{mapping}"
    box: dict[str, Any] = {}

    def go() -> None:
        try:
            box["result"] = run(
                graph, mapping, processes=2, run_id=run_id, lease=LEASE, batch_size=8
            )
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    client = redis.Redis.from_url(redis_url)
    keys = RunKeys(run_id)
    try:
        _wait_until(lambda: client.exists(keys.control) or "error" in box, "no report arrived", 120)
        # Three leases pass: without renewals every key would be gone.
        until = time.monotonic() + 3 * LEASE
        while time.monotonic() < until and "error" not in box:
            lifetimes = _lifetimes(client, run_id)
            assert keys.spec in lifetimes and keys.control in lifetimes
            assert all(ttl == -2 or 0 < ttl <= LEASE * 1000 for ttl in lifetimes.values())
            time.sleep(0.05)
    finally:
        gate.touch()
        thread.join(timeout=120)
        client.close()
    assert "error" not in box, box.get("error")
    result: RunResult = box["result"]
    expected = [[i, 1] for i in range(n)] if last is not pairs else [(i, [i]) for i in range(n)]
    assert sorted(result.outputs[last.id]["output"]) == expected


def test_run_whose_keys_are_deleted_fails_clearly(redis_url: str, tmp_path: Path) -> None:
    """Keys deleted under a live driver (an operator's gc --force): the run
    fails naming the cause, not a worker."""
    gate = tmp_path / "gate"
    box: dict[str, Any] = {}
    graph = WorkflowGraph()
    graph.connect(Gated(50, str(gate)), "output", Double(), "input")

    def go() -> None:
        try:
            box["result"] = run(graph, "dyn_redis", processes=2, run_id="deleted", lease=LEASE)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    client = redis.Redis.from_url(redis_url)
    try:
        _wait_until(lambda: client.exists(RunKeys("deleted").spec), "the run did not start")
        for key in _run_keys(client, "deleted"):
            client.delete(key)
        thread.join(timeout=60)
    finally:
        gate.touch()
        thread.join(timeout=60)
        client.close()
    assert isinstance(box.get("error"), LeaseLost), box
    assert "deleted by someone else" in str(box["error"])


def test_run_id_held_by_a_lease_is_refused(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = RunKeys("leased")
    try:
        client.set(keys.lease, 60000, px=60000)
        with pytest.raises(D4pError, match="in use"):
            run(_one_stage(), "dyn_redis", processes=1, run_id="leased")
        assert int(client.pttl(keys.lease)) > 0  # the other run's lease is untouched
    finally:
        client.delete(keys.lease)
        client.close()


def _one_stage() -> WorkflowGraph:
    graph = WorkflowGraph()
    graph.connect(Numbers(3), "output", Double(), "input")
    return graph


@pytest.mark.parametrize("lease", [0.5, 0.0, -1.0])
def test_too_short_a_lease_is_refused(lease: float) -> None:
    with pytest.raises(D4pError, match="lease must be at least 1 second"):
        RedisOptions(lease=lease)
