"""What one benchmark run and one configuration produced."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BAD_STATUSES", "Config", "Run", "Series"]

BAD_STATUSES = ("hangs", "fails", "wrong result")
"""Statuses after which the remaining runs of a series are skipped (a wrong
answer's time is not compared, so one is enough to report it)."""


@dataclass(frozen=True)
class Config:
    workload: str
    items: int
    mapping: str
    processes: int

    def label(self) -> str:
        return f"{self.workload} N={self.items} {self.mapping} -n {self.processes}"


@dataclass(frozen=True)
class Run:
    """One subprocess run. ``status``: ok, wrong result, hangs, fails, unsupported."""

    status: str
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    run_seconds: float | None = None
    message: str = ""
    summary: dict[str, Any] | None = None
    worker_seconds: float | None = None
    worker_seconds_source: str = ""
    busy_seconds: float | None = None
    autoscaling_decisions: int | None = None
    call_seconds: float | None = None
    """d4p: ``run()`` called -> returned, timed in the driver."""
    tail_seconds: float | None = None
    """d4p: last item at the sink -> ``run()`` returned."""
    exit_tail_seconds: float | None = None
    """Last item at the sink -> the whole process tree had exited."""
    process_seconds: float | None = None
    processes_used: int | None = None
    process_seconds_measured: bool = False
    """Always true for d4p runs now (every mapping measures
    ``RunResult.process_seconds``); kept while ``run.py`` passes it."""
    scaling: dict[str, Any] | None = None
    """Autoscaling ``decisions``, ``actions`` and ``initial`` workers."""


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass
class Series:
    """The runs of one system on one configuration (warm-up excluded)."""

    system: str
    config: Config
    warmups: list[Run] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)

    def all_runs(self) -> list[Run]:
        return self.warmups + self.runs

    @property
    def status(self) -> str:
        for wanted in ("unsupported", "hangs", "fails", "wrong result"):
            for run in self.all_runs():
                if run.status == wanted:
                    return wanted
        return "ok" if self.all_runs() else "not run"

    @property
    def message(self) -> str:
        for run in self.all_runs():
            if run.status != "ok" and run.message:
                return run.message
        return ""

    def finished(self) -> list[Run]:
        """Counted runs that ended; a series stopped in its warm-up (e.g. by a
        wrong answer) shows its warm-up instead, so its time is not lost."""
        done = [r for r in self.runs if r.status in ("ok", "wrong result")]
        return done or [r for r in self.warmups if r.status in ("ok", "wrong result")]

    @property
    def wall(self) -> float | None:
        return _median([r.wall_seconds for r in self.finished()])

    @property
    def run_time(self) -> float | None:
        return _median([r.run_seconds for r in self.finished() if r.run_seconds is not None])

    @property
    def cpu(self) -> float | None:
        return _median([r.cpu_seconds for r in self.finished()])

    @property
    def rss(self) -> float | None:
        values = [r.peak_rss_mb for r in self.finished()]
        return max(values) if values else None

    @property
    def worker_seconds(self) -> float | None:
        return _median([r.worker_seconds for r in self.finished() if r.worker_seconds is not None])

    def _median_of(self, name: str) -> float | None:
        values = [getattr(r, name) for r in self.finished()]
        return _median([float(v) for v in values if v is not None])

    @property
    def call(self) -> float | None:
        return self._median_of("call_seconds")

    @property
    def tail(self) -> float | None:
        return self._median_of("tail_seconds")

    @property
    def exit_tail(self) -> float | None:
        return self._median_of("exit_tail_seconds")

    @property
    def process_seconds(self) -> float | None:
        return self._median_of("process_seconds")

    @property
    def items_per_second(self) -> float | None:
        seconds = self.run_time or self.wall
        return self.config.items / seconds if seconds else None

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "workload": self.config.workload,
            "items": self.config.items,
            "mapping": self.config.mapping,
            "processes": self.config.processes,
            "status": self.status,
            "message": self.message,
            "wall_median_s": self.wall,
            "run_median_s": self.run_time,
            "items_per_s": self.items_per_second,
            "cpu_median_s": self.cpu,
            "peak_rss_mb": self.rss,
            "worker_seconds_median": self.worker_seconds,
            "call_median_s": self.call,
            "tail_median_s": self.tail,
            "exit_tail_median_s": self.exit_tail,
            "process_seconds_median": self.process_seconds,
            "runs": [vars(r) for r in self.all_runs()],
            "counted_runs": len(self.runs),
        }
