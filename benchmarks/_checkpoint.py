"""A full run's finished configurations, saved as they finish, so that an
interrupted run can be resumed (``--resume``) instead of started again."""

from __future__ import annotations

import datetime
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._records import Config, Run, Series

__all__ = ["Checkpoint"]

Pair = tuple[Series, "Series | None"]


def _state(series: Series | None) -> dict[str, Any] | None:
    if series is None:
        return None
    return {"warmups": [vars(r) for r in series.warmups], "runs": [vars(r) for r in series.runs]}


def _restore(system: str, config: Config, state: dict[str, Any] | None) -> Series | None:
    if state is None:
        return None
    return Series(
        system,
        config,
        warmups=[Run(**r) for r in state["warmups"]],
        runs=[Run(**r) for r in state["runs"]],
    )


class Checkpoint:
    """Pairs (d4p, stream-d4py) by section and configuration, in a JSON file.

    ``settings`` (what defines the run: mappings, sizes, repeats, ...) must
    match to resume; each sitting's duration is kept, so the whole run's
    measuring time is their sum.
    """

    def __init__(self, path: Path, settings: dict[str, Any], resume: bool):
        self.path = path
        self.started = time.perf_counter()
        self.data: dict[str, Any] = {"settings": settings, "sittings": [], "pairs": {}}
        if resume and path.exists():
            found = json.loads(path.read_text(encoding="utf-8"))
            if found.get("settings") != settings:
                raise SystemExit(
                    f"{path} was written by a run with other settings:\n"
                    f"  {found.get('settings')}\nnot\n  {settings}\n"
                    "run without --resume to start again"
                )
            self.data = found
        self.earlier = list(self.data["sittings"])
        # Older checkpoints kept no dates: "?" for their sittings.
        dates = list(self.data.get("sitting_dates", []))
        self.earlier_dates = dates + ["?"] * (len(self.earlier) - len(dates))
        self.today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")

    @property
    def loops(self) -> float | None:
        """The CPU calibration of the first sitting (every sitting must burn alike)."""
        value = self.data.get("loops_per_ms")
        return float(value) if value is not None else None

    @loops.setter
    def loops(self, value: float) -> None:
        self.data["loops_per_ms"] = value

    @property
    def sittings(self) -> list[float]:
        """Seconds measured in each sitting, this one last."""
        return [*self.earlier, time.perf_counter() - self.started]

    @property
    def sitting_dates(self) -> list[str]:
        """The day (UTC) each sitting started, this one last."""
        return [*self.earlier_dates, self.today]

    def pair(self, section: str, config: Config, measure: Callable[[], Pair]) -> tuple[Pair, bool]:
        """The saved pair for ``config``, else ``measure()``'s, saved at once.
        The flag tells whether it was measured now."""
        key = f"{section}|{config.label()}"
        saved = self.data["pairs"].get(key)
        if saved is not None:
            d4p = _restore("d4p", config, saved["d4p"])
            assert d4p is not None
            return (d4p, _restore("stream-d4py", config, saved["stream-d4py"])), False
        d4p, other = measure()
        self.data["pairs"][key] = {"d4p": _state(d4p), "stream-d4py": _state(other)}
        self.save()
        return (d4p, other), True

    def save(self) -> None:
        self.data["sittings"] = self.sittings
        self.data["sitting_dates"] = self.sitting_dates
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(self.data, default=repr), encoding="utf-8")
        os.replace(partial, self.path)
