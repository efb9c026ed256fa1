"""Workload logic shared by the d4p graphs and their stream-d4py twins.

Pure Python, no d4p or dispel4py import: both interpreters load it. Every
workload is checked by a *summary* built from the partial results its sinks
report (one partial per sink instance, or per item for sinks that cannot rely
on ``postprocess``); :func:`expected_summary` gives the right answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = [
    "MEDIUM_STAGE_MS",
    "SKEW_SEED",
    "TRIVIAL_STAGES",
    "WORKLOADS",
    "Counter",
    "Stage",
    "Tally",
    "burn",
    "combine",
    "counted",
    "expected_summary",
    "last_item_times",
    "loops_per_ms",
    "medium_loops",
    "skew_cost_ms",
    "word_for",
]

WORKLOADS = ("throughput", "cpu", "skew", "wordcount", "fan")

CPU_ITEM_MS = 2.0
"""Pure-Python CPU per item of the ``cpu`` workload."""

SKEW_SEED = 20240501
SKEW_HEAVY_PROBABILITY = 0.006
SKEW_HEAVY_MS = 500.0
"""A heavy item costs 100x the mean of about 5 ms."""
SKEW_BASE_MEAN_MS = 2.5
SKEW_BASE_CAP_MS = 40.0

VOCABULARY = 1000

ENV_LOOPS_PER_MS = "D4P_BENCH_LOOPS_PER_MS"
ENV_RESULT_DIR = "D4P_BENCH_RESULT_DIR"
ENV_SINK_MODE = "D4P_BENCH_SINK_MODE"


TRIVIAL_STAGES = ((1, 1), (2, 0), (1, -2))
"""The engine study's trivial pipeline: ``x * factor + offset`` per stage
(0..N-1 in, so the sink's sum is N * (N - 1))."""
MEDIUM_STAGE_MS = 0.01
"""The engine study's medium pipeline: pure-Python work per item per stage."""


def medium_loops() -> int:
    """Loops of :func:`burn` for one medium-pipeline stage."""
    return max(1, int(loops_per_ms() * MEDIUM_STAGE_MS))


class Counter:
    """The trivial pipeline's source as plain Python: one call per item, with
    an empty input dict (the d4p source's ``_process``)."""

    def __init__(self) -> None:
        self.next_value = 0

    def process(self, inputs: dict[str, Any]) -> int:
        value = self.next_value
        self.next_value += 1
        return value


def counted(n: int) -> Iterator[int]:
    """``n`` items from a :class:`Counter`, one call (and one dict) each."""
    produce = Counter().process
    return (produce({}) for _ in range(n))


class Stage:
    """A trivial-pipeline stage as plain Python: the same code as the d4p
    PE's ``_process``, so every system runs identical per-item user code."""

    def __init__(self, factor: int, offset: int) -> None:
        self.factor = factor
        self.offset = offset

    def process(self, data: int) -> int:
        return data * self.factor + self.offset


class Tally:
    """The count/sum sink as plain Python (the d4p sink's ``_process``)."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0

    def add(self, data: int) -> None:
        self.count += 1
        self.total += data


# -- CPU work -----------------------------------------------------------------
def burn(loops: int) -> int:
    """Spend CPU in pure Python (the same bytecode in both systems)."""
    acc = 0
    for k in range(loops):
        acc = (acc + k * k) % 1000003
    return acc


def calibrate(target_ms: float = 50.0) -> float:
    """Loops of :func:`burn` per millisecond on this machine (best of 5)."""
    import time

    loops = 20000
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        burn(loops)
        best = min(best, time.perf_counter() - started)
    per_ms = loops / (best * 1000.0)
    # One more, longer round for a steadier figure.
    loops = int(per_ms * target_ms)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        burn(loops)
        best = min(best, time.perf_counter() - started)
    return loops / (best * 1000.0)


def loops_per_ms() -> float:
    """The calibration the runner measured once and passes to every run."""
    value = os.environ.get(ENV_LOOPS_PER_MS)
    return float(value) if value else 10000.0


# -- skew costs -----------------------------------------------------------------
def skew_cost_ms(index: int, seed: int = SKEW_SEED) -> float:
    """The cost of item ``index``: exponential (mean 2.5 ms, capped), and with a
    small probability a heavy item of 500 ms. A pure function of (seed, index),
    so any worker computes the same value and the runner knows the total."""
    rng = random.Random(seed * 1_000_003 + index)
    if rng.random() < SKEW_HEAVY_PROBABILITY:
        return SKEW_HEAVY_MS
    return min(rng.expovariate(1.0 / SKEW_BASE_MEAN_MS), SKEW_BASE_CAP_MS)


# -- words ------------------------------------------------------------------------
def word_for(index: int) -> str:
    """A deterministic, Zipf-like word for item ``index``."""
    u = ((index * 2654435761) % 4294967296) / 4294967296.0
    return f"w{int(VOCABULARY**u) - 1}"


# -- results ------------------------------------------------------------------------
def _digest(counts: Mapping[str, int]) -> str:
    text = json.dumps(sorted(counts.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def combine(workload: str, partials: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Summarise the partial results reported by a run's sinks."""
    parts = list(partials)
    if workload == "wordcount":
        total: dict[str, int] = {}
        owners: dict[str, int] = {}
        for part in parts:
            for word, count in part.get("counts", {}).items():
                total[word] = total.get(word, 0) + int(count)
                owners[word] = owners.get(word, 0) + 1
        return {
            "items": sum(total.values()),
            "distinct": len(total),
            "digest": _digest(total),
            "words_split_across_instances": sum(1 for n in owners.values() if n > 1),
        }
    keys = ("count", "sum") if workload != "fan" else ("left", "left_sum", "right", "right_sum")
    return {key: sum(int(part.get(key, 0)) for part in parts) for key in keys}


def last_item_times(partials: Iterable[Mapping[str, Any]]) -> tuple[float | None, float | None]:
    """When the last item reached a sink: the latest ``last_wall``
    (``time.time()``) and ``last_perf`` (``time.perf_counter()``) reported."""
    walls = [float(p["last_wall"]) for p in partials if "last_wall" in p]
    perfs = [float(p["last_perf"]) for p in partials if "last_perf" in p]
    return (max(walls) if walls else None), (max(perfs) if perfs else None)


def expected_summary(workload: str, n: int) -> dict[str, Any]:
    """The summary a correct run of ``workload`` on ``n`` items produces."""
    if workload == "throughput":
        # producer i -> +1 -> *2 -> -2 : 2i
        return {"count": n, "sum": n * (n - 1)}
    if workload in ("cpu", "skew", "pareto", "pareto_wait", "burst"):  # the last 3: studies
        return {"count": n, "sum": n * (n - 1) // 2}
    if workload == "fan":
        # branches: i+1 and 2i to "left", 3i to "right"
        tri = n * (n - 1) // 2
        return {"left": 2 * n, "left_sum": 3 * tri + n, "right": n, "right_sum": 3 * tri}
    if workload == "wordcount":
        counts: dict[str, int] = {}
        for i in range(n):
            word = word_for(i)
            counts[word] = counts.get(word, 0) + 1
        return {
            "items": n,
            "distinct": len(counts),
            "digest": _digest(counts),
            "words_split_across_instances": 0,
        }
    raise ValueError(f"unknown workload {workload!r}; known: {', '.join(WORKLOADS)}")


def skew_profile(n: int, seed: int = SKEW_SEED) -> dict[str, float]:
    """Total, mean and largest item cost (ms) of the skew workload."""
    costs = [skew_cost_ms(i, seed) for i in range(n)]
    return {
        "total_ms": sum(costs),
        "mean_ms": sum(costs) / max(1, n),
        "max_ms": max(costs, default=0.0),
        "heavy_items": float(sum(1 for c in costs if c >= SKEW_HEAVY_MS)),
    }


# -- reporting from stream-d4py processes ----------------------------------------
_fds: dict[int, int] = {}


def report_partial(partial: Mapping[str, Any]) -> None:
    """Append one partial result line to this process's file in the result dir.

    Used by the stream-d4py twins, whose ``multi`` discards leaf outputs. Lines
    are short and written with O_APPEND, so processes never interleave them.
    """
    directory = os.environ.get(ENV_RESULT_DIR)
    if not directory:
        print("RESULT", json.dumps(partial), flush=True)
        return
    pid = os.getpid()
    fd = _fds.get(pid)
    if fd is None:
        fd = os.open(
            os.path.join(directory, f"part-{pid}.jsonl"),
            os.O_WRONLY | os.O_CREAT | os.O_APPEND,
            0o644,
        )
        _fds[pid] = fd
    os.write(fd, (json.dumps(partial, separators=(",", ":")) + "\n").encode())


TICK_EVERY = 1000
_ticks: dict[int, tuple[int, int]] = {}


def tick() -> None:
    """Show the runner that items arrive: one byte per :data:`TICK_EVERY` items
    (the first included) into ``tick-<pid>`` in the result dir, which its hang
    detection watches. Sinks that report every item need no ticks."""
    directory = os.environ.get(ENV_RESULT_DIR)
    if not directory:
        return
    pid = os.getpid()
    fd, seen = _ticks.get(pid, (-1, 0))
    if seen % TICK_EVERY == 0:
        if fd < 0:
            path = os.path.join(directory, f"tick-{pid}")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd, b".")
    _ticks[pid] = (fd, seen + 1)


def read_partials(directory: str) -> list[dict[str, Any]]:
    """Every partial written with :func:`report_partial` into ``directory``."""
    found: list[dict[str, Any]] = []
    for name in sorted(os.listdir(directory)):
        if name.startswith("part-") and name.endswith(".jsonl"):
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                found.extend(json.loads(line) for line in handle if line.strip())
    return found


def eager_sinks() -> bool:
    """True when sinks must report every item (mappings that never call
    ``postprocess``, i.e. stream-d4py's dynamic ones)."""
    return os.environ.get(ENV_SINK_MODE, "postprocess") == "eager"
