"""Soak: many runs back to back in one process leave nothing behind.

50 runs on each of ``dyn_multi``, ``dyn_redis``, ``zmq_multi`` and ``mpi``:
every run's results are checked, and after a warm-up the process's open file
descriptors, its child processes and the entries of the temporary directory
must stay flat. Marked ``soak``: outside the fast tier (``hatch run test``),
in the full one (``hatch run ci``, ``hatch run soak``).
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Any

import pytest

from d4p_core import run
from d4p_core.testing import case_by_name, child_processes
from d4p_core.testing.checks import assert_same_multisets
from d4p_core.testing.processes import wait_gone

RUNS = 50
WARM_UP = 3
FD_SLACK = 2  # e.g. a logging handler or an import opened once, late

pytestmark = pytest.mark.soak


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _settled_fds(baseline: int | None) -> int:
    """Open descriptors once the run's loose ends are tied: garbage awaiting
    the cycle collector, a queue's feeder thread closing its pipe (up to
    2 s). What stays open after that is a leak."""
    deadline = time.monotonic() + 2
    while True:
        gc.collect()
        count = _open_fds()
        if baseline is None or count - baseline <= FD_SLACK or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def _entries(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def _options(mapping: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    if mapping == "dyn_redis":
        pytest.importorskip("d4p_redis")
        return {"redis_url": request.getfixturevalue("redis_url")}
    if mapping == "zmq_multi":
        pytest.importorskip("d4p_zmq")
    if mapping == "mpi":
        pytest.importorskip("d4p_mpi")
    return {}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("mapping", ["dyn_multi", "dyn_redis", "zmq_multi", "mpi"])
def test_fifty_runs_leave_nothing_behind(
    mapping: str, private_tmp: Path, request: pytest.FixtureRequest
) -> None:
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("counting open file descriptors needs /proc")
    options = _options(mapping, request)
    case = case_by_name("pipeline")
    reference = run(case.build(), "simple", inputs=20).outputs
    services = set(child_processes())  # e.g. the redis-server of the fixture
    samples: list[tuple[int, list[str]]] = []
    for index in range(RUNS):
        result = run(case.build(), mapping, inputs=20, processes=2, **options)
        assert_same_multisets(result.outputs, reference)
        left = wait_gone(set(child_processes()) - services, timeout=5)
        assert not left, f"run {index} left processes running: {left}"
        if index >= WARM_UP - 1:
            samples.append(
                (_settled_fds(samples[0][0] if samples else None), _entries(private_tmp))
            )
    fds = [count for count, _ in samples]
    print(f"\n{mapping}: open fds after runs {WARM_UP}..{RUNS}: {min(fds)}..{max(fds)}")
    assert max(fds) - fds[0] <= FD_SLACK, f"open file descriptors grew: {fds}"
    assert all(entries == samples[0][1] for _, entries in samples), samples[-1][1]
