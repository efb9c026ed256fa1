"""High-water marks hold a fast producer back: one million items through a
slow consumer keep the peak memory of the run close to that of a small run.

Each measurement runs in a fresh interpreter, which reports the peak
resident set of itself and of its (waited-for) worker processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from d4p_core.testing.processes import subprocess_env

SCRIPT = """
import json, resource, sys
from d4p_core import run
from d4p_zmq_tests._pes import build_flood

count, queue_size = int(sys.argv[1]), int(sys.argv[2])
result = run(build_flood(count, 500), "zmq_multi", processes=2, queue_size=queue_size)
peak_kb = max(
    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
)
print(json.dumps({"items": result.metrics["Slow1"].items_in, "peak_kb": peak_kb}))
"""

ITEMS = 1_000_000
ITEM_BYTES = 500
ALLOWED_GROWTH_KB = 64 * 1024  # an eighth of the ~500 MB one million items take


def _measure(count: int, queue_size: int = 16) -> dict[str, int]:
    package_root = str(Path(__file__).resolve().parents[1])  # d4p_zmq_tests' parent
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(count), str(queue_size)],
        capture_output=True,
        text=True,
        env=subprocess_env(package_root),
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    measured: dict[str, int] = json.loads(completed.stdout.strip().splitlines()[-1])
    assert measured["items"] == count
    return measured


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_million_items_through_a_slow_consumer_keep_memory_bounded() -> None:
    baseline = _measure(20_000)
    flooded = _measure(ITEMS)
    growth = flooded["peak_kb"] - baseline["peak_kb"]
    assert growth < ALLOWED_GROWTH_KB, (
        f"peak RSS grew by {growth / 1024:.0f} MiB for {ITEMS} items of {ITEM_BYTES} bytes "
        f"(baseline {baseline['peak_kb'] / 1024:.0f} MiB)"
    )
