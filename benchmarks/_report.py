"""The comparison table (Markdown, printed and written to RESULTS.md)."""

from __future__ import annotations

from typing import Any

from benchmarks._ceilings import Ceiling
from benchmarks._records import Series

__all__ = ["render"]

SKEW_MAPPINGS = ("multi", "dyn_multi", "dyn_auto_multi")


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def _status(series: Series | None) -> str:
    if series is None:
        return "n/a"
    return series.status


def _ratio(d4p: Series, other: Series | None) -> str:
    if other is None or d4p.status != "ok" or other.wall is None or d4p.wall is None:
        return "-"
    text = f"{other.wall / d4p.wall:.2f}x"
    return text if other.status == "ok" else f"{text} (theirs {other.status})"


def comparison_table(pairs: list[tuple[Series, Series | None]]) -> str:
    lines = [
        "| workload | N | mapping | -n | d4p wall s | d4p run s | d4p items/s | d4p CPU s "
        "| d4p RSS MB | d4p | stream-d4py wall s | s-d4py items/s | s-d4py CPU s "
        "| s-d4py RSS MB | stream-d4py | speed ratio |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|",
    ]
    for d4p, other in pairs:
        c = d4p.config
        lines.append(
            f"| {c.workload} | {c.items} | {c.mapping} | {c.processes} "
            f"| {_num(d4p.wall)} | {_num(d4p.run_time)} | {_rate(d4p.items_per_second)} "
            f"| {_num(d4p.cpu)} | {_num(d4p.rss, 0)} | {_status(d4p)} "
            f"| {_num(other.wall if other else None)} "
            f"| {_rate(other.items_per_second if other else None)} "
            f"| {_num(other.cpu if other else None)} | {_num(other.rss if other else None, 0)} "
            f"| {_status(other)} | {_ratio(d4p, other)} |"
        )
    return "\n".join(lines)


def skew_table(pairs: list[tuple[Series, Series | None]]) -> str:
    rows = [(d, o) for d, o in pairs if d.config.workload == "skew"]
    rows = [(d, o) for d, o in rows if d.config.mapping in SKEW_MAPPINGS]
    if not rows:
        return "_no skew runs on multi / dyn_multi / dyn_auto_multi_"
    lines = [
        "| N | mapping | -n | makespan s (in run) | wall s | worker-seconds | source "
        "| scaling decisions | stream-d4py wall s | stream-d4py |",
        "|---:|---|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for d4p, other in rows:
        c = d4p.config
        finished = d4p.finished()
        source = finished[0].worker_seconds_source if finished else ""
        decisions = finished[0].autoscaling_decisions if finished else None
        lines.append(
            f"| {c.items} | {c.mapping} | {c.processes} | {_num(d4p.run_time)} | {_num(d4p.wall)} "
            f"| {_num(d4p.worker_seconds)} | {source or '-'} "
            f"| {'-' if decisions is None else decisions} "
            f"| {_num(other.wall if other else None)} | {_status(other)} |"
        )
    return "\n".join(lines)


def cpu_table(pairs: list[tuple[Series, Series | None]]) -> str:
    """Speed-up against d4p ``simple`` on the same N, measured in the same run
    (not against the nominal 2 ms per item: the calibration moves with load)."""
    serial = {
        d.config.items: d.run_time
        for d, _ in pairs
        if d.config.workload == "cpu" and d.config.mapping == "simple"
    }
    lines = [
        "| N | mapping | -n | run s | simple run s | speed-up vs simple | efficiency |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for d4p, _ in pairs:
        c = d4p.config
        base = serial.get(c.items)
        if c.workload != "cpu" or d4p.run_time is None or base is None:
            continue
        speedup = base / d4p.run_time
        lines.append(
            f"| {c.items} | {c.mapping} | {c.processes} | {_num(d4p.run_time)} | {_num(base)} "
            f"| {_num(speedup)} | {_num(100 * speedup / max(1, c.processes), 0)}% |"
        )
    return "\n".join(lines) if len(lines) > 2 else "_no cpu runs (with simple as baseline)_"


def ceilings_table(ceilings: list[Ceiling]) -> str:
    lines = ["| transport | batch | items | items/s | note |", "|---|---:|---:|---:|---|"]
    for c in ceilings:
        lines.append(
            f"| {c.transport} | {c.batch or '-'} | {c.items or '-'} "
            f"| {_rate(c.items_per_second)} | {c.note} |"
        )
    return "\n".join(lines)


def failures(pairs: list[tuple[Series, Series | None]]) -> str:
    lines = []
    for d4p, other in pairs:
        for series in (d4p, other):
            if series is not None and series.status not in ("ok",):
                message = series.message.strip().splitlines()[-1:] if series.message else []
                lines.append(
                    f"- {series.system} {series.config.label()}: **{series.status}**"
                    + (f" — {message[0][:300]}" if message else "")
                )
    return "\n".join(lines) if lines else "_none_"


def render(
    meta: dict[str, Any], pairs: list[tuple[Series, Series | None]], ceilings: list[Ceiling]
) -> str:
    caveats = "\n".join(f"> {line}" for line in meta["caveats"])
    return f"""# d4p benchmark results

{caveats}

- date: {meta["date"]}; machine: {meta["cpus"]} CPUs, {meta["platform"]}; Python {meta["python"]}
- d4p-core {meta["d4p_version"]}; stream-d4py {meta["stream_d4py_version"]}
- command: `{meta["command"]}`; {meta["counted_runs"]} counted runs after 1 warm-up,
  d4p and stream-d4py interleaved; duration {meta["duration_s"]:.0f} s
- CPU calibration: {meta["loops_per_ms"]:.0f} loops/ms ({meta["cpu_item_ms"]} ms per `cpu` item)

**wall** = whole subprocess (interpreter start, imports, run, shutdown), median;
**run** = the mapping's own elapsed time (`RunResult.elapsed_seconds`, or
stream-d4py's `ELAPSED TIME` line), median; items/s = N / run;
CPU s = user+sys of the whole process tree; RSS = largest process in the tree.
**speed ratio** = stream-d4py wall / d4p wall (> 1: d4p is faster); a status other
than ok is checked (counts/checksums against the known answer, a timeout for hangs).

## Comparison

{comparison_table(pairs)}

## Skew: makespan and worker-seconds (issue 3)

{skew_table(pairs)}

## CPU-bound speed-up (d4p)

{cpu_table(pairs)}

## Raw transport ceilings on this machine

{ceilings_table(ceilings)}

## Runs that were not ok

{failures(pairs)}
"""
