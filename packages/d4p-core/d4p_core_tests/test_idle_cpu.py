"""The machine's idle processors, as the autoscaling policy reads them."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from d4p_core.mappings.dynamic.idle_cpu import IdleCpuClock, read_proc_stat


def test_reads_idle_and_io_wait_as_idle_in_seconds(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text("cpu  300 10 90 500 100 0 0 0 7 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    assert read_proc_stat(str(stat)) == (6.0, 10.0)


@pytest.mark.parametrize("text", ["", "intr 1 2 3\n", "cpu  a b c d e\n", "cpu 1 2\n"])
def test_an_unreadable_stat_is_unknown(tmp_path: Path, text: str) -> None:
    stat = tmp_path / "stat"
    stat.write_text(text)
    assert read_proc_stat(str(stat)) is None
    assert read_proc_stat(str(tmp_path / "missing")) is None


def test_the_clock_counts_from_its_start_and_says_when_it_cannot() -> None:
    readings = iter([(10.0, 40.0), (10.5, 41.0), None])
    clock = IdleCpuClock(lambda: next(readings))
    assert clock.seconds() == 0.5
    assert clock.seconds() is None
    assert IdleCpuClock(lambda: None).seconds() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/stat is Linux's")
def test_an_idle_wait_shows_idle_processors_on_this_machine() -> None:
    clock, started = IdleCpuClock(), time.perf_counter()
    time.sleep(0.3)
    idle = clock.seconds()
    assert idle is not None
    cpus = os.cpu_count() or 1
    # (/proc/stat counts in 10 ms ticks: one tick per processor of rounding)
    assert 0.0 <= idle <= cpus * (time.perf_counter() - started + 0.02)
