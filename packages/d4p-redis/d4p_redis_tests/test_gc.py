"""``python -m d4p_redis gc``: list and remove stale runs by hand."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import redis

from d4p_core import run
from d4p_core.testing.processes import child_processes, subprocess_env
from d4p_redis import RunKeys, survey

from .pes import pipeline

ROOT = str(Path(__file__).resolve().parent.parent)


def _gc(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "d4p_redis", "gc", "--redis-url", url, *args],
        capture_output=True,
        text=True,
        env=subprocess_env(ROOT),
        timeout=60,
    )


def _leave_stale_runs(client: redis.Redis) -> None:
    """What crashed drivers leave: a run of a d4p-redis without leases (no
    lifetime at all), and a run whose driver stopped renewing its lease."""
    old = RunKeys("old")
    client.set(old.spec, b"x")
    client.xadd(old.tasks, {"d": b"x"})
    dead = RunKeys("dead")
    client.set(dead.lease, 600000, px=30000)  # a 10 min lease, last renewed 9.5 min ago
    client.set(dead.spec, b"x", px=30000)


def _start_live_run(gate: Path) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def go() -> None:
        try:
            box["result"] = run(
                pipeline(20, gate=str(gate)), "dyn_redis", processes=1, run_id="live"
            )
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    return thread, box


def _wait_for_spec(client: redis.Redis, run_id: str) -> None:
    """Wait until the run started in a thread has started, its two local
    processes too (one forked while this thread starts a subprocess would
    keep ``Popen`` waiting for it to end)."""
    deadline = time.monotonic() + 60
    while not client.exists(RunKeys(run_id).spec) or len(child_processes()) < 2:
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.01)


def test_gc_lists_and_deletes_only_stale_runs(redis_url: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_url)
    gate = tmp_path / "gate"
    thread, box = _start_live_run(gate)
    try:
        _leave_stale_runs(client)
        _wait_for_spec(client, "live")

        listed = _gc(redis_url)
        assert listed.returncode == 0, listed.stderr
        rows = {line.split("\t")[0]: line.split("\t") for line in listed.stdout.splitlines()}
        assert sorted(rows) == ["dead", "live", "old"], listed.stdout
        assert rows["live"][1] == "live"
        assert rows["old"][1:3] == ["stale", "2 keys"] and "never expire" in rows["old"][3]
        assert rows["dead"][1] == "stale" and "lease not renewed for" in rows["dead"][3]

        deleted = _gc(redis_url, "--delete")
        assert deleted.returncode == 0, deleted.stderr
        assert sorted(line.split()[1] for line in deleted.stdout.splitlines()) == ["dead", "old"]
        assert [state.run_id for state in survey(client)] == ["live"]

        refused = _gc(redis_url, "--delete", "--run", "live")
        assert refused.returncode == 1
        assert "run live is live" in refused.stderr and "--force" in refused.stderr
        assert client.exists(RunKeys("live").spec)
    finally:
        gate.touch()
        thread.join(timeout=120)
        client.close()
    assert "error" not in box, box.get("error")
    assert sorted(box["result"].outputs["Double1"]["output"]) == [2 * i for i in range(20)]


def test_gc_force_deletes_a_live_run(redis_url: str, tmp_path: Path) -> None:
    """The operator's last word: the run's driver then fails, saying why."""
    client = redis.Redis.from_url(redis_url)
    gate = tmp_path / "gate"
    thread, box = _start_live_run(gate)
    try:
        _wait_for_spec(client, "live")
        forced = _gc(redis_url, "--delete", "--run", "live", "--force")
        assert forced.returncode == 0, forced.stderr
        assert forced.stdout.startswith("deleted live (")
        thread.join(timeout=60)
    finally:
        gate.touch()
        thread.join(timeout=60)
        client.close()
    assert "deleted by someone else" in str(box.get("error")), box


def test_gc_errors(redis_url: str) -> None:
    missing = _gc(redis_url, "--run", "nowhere")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "python -m d4p_redis gc: error: no run nowhere on this Redis"
    force = _gc(redis_url, "--delete", "--force")
    assert force.returncode == 1 and "--force" in force.stderr
    unreachable = _gc("redis://127.0.0.1:1/0")
    assert unreachable.returncode == 7 and "cannot reach Redis" in unreachable.stderr
    assert _gc(redis_url).stdout == ""  # an empty server: nothing listed
