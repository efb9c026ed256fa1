"""The comparison table (Markdown, printed and written to RESULTS.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from benchmarks._ceilings import Ceiling
from benchmarks._records import Run, Series

__all__ = ["readme_section", "render"]

SKEW_MAPPINGS = ("multi", "dyn_multi", "dyn_auto_multi")
DYNAMIC_MAPPINGS = (
    "dyn_multi", "dyn_auto_multi", "hybrid_multi", "dyn_redis", "dyn_auto_redis", "hybrid_redis"
)  # fmt: skip
FAST_MAPPINGS = ("simple", "multi", "zmq_multi", "mpi")
"""Mappings with the >= 1M items/s throughput target."""
REDIS_DYNAMIC_MAPPINGS = ("dyn_redis", "dyn_auto_redis", "hybrid_redis")

Pairs = list[tuple[Series, Series | None]]


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


def _status(series: Series | None, timeout: float | None = None) -> str:
    if series is None:
        return "n/a"
    if series.status == "hangs" and series.message.startswith("no item"):
        return "hangs (stalled)"
    if series.status == "hangs" and timeout is not None:
        return f"hangs (>{timeout:.0f} s)"
    return series.status


def _ratio(d4p: Series, other: Series | None, timeout: float | None = None) -> str:
    if other is None or d4p.status != "ok" or other.wall is None or d4p.wall is None:
        return "-"
    text = f"{other.wall / d4p.wall:.2f}x"
    return text if other.status == "ok" else f"{text} (theirs {_status(other, timeout)})"


def comparison_table(pairs: Pairs, timeout: float | None = None) -> str:
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
            f"| {_num(d4p.cpu)} | {_num(d4p.rss, 0)} | {_status(d4p, timeout)} "
            f"| {_num(other.wall if other else None)} "
            f"| {_rate(other.items_per_second if other else None)} "
            f"| {_num(other.cpu if other else None)} | {_num(other.rss if other else None, 0)} "
            f"| {_status(other, timeout)} | {_ratio(d4p, other, timeout)} |"
        )
    return "\n".join(lines)


def skew_table(pairs: Pairs, timeout: float | None = None) -> str:
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
            f"| {_num(other.wall if other else None)} | {_status(other, timeout)} |"
        )
    return "\n".join(lines)


def _cores() -> int:
    return os.cpu_count() or 1


def _cpu_rows(pairs: Pairs) -> list[tuple[Series, float, float, float]]:
    """(series, simple run s, speed-up, efficiency) of every d4p cpu run."""
    serial = {
        d.config.items: d.run_time
        for d, _ in pairs
        if d.config.workload == "cpu" and d.config.mapping == "simple"
    }
    rows = []
    for d4p, _ in pairs:
        c = d4p.config
        base = serial.get(c.items)
        if c.workload != "cpu" or c.mapping == "simple" or d4p.run_time is None or not base:
            continue
        speedup = base / d4p.run_time
        rows.append((d4p, base, speedup, speedup / min(c.processes, _cores())))
    return rows


def cpu_table(pairs: Pairs) -> str:
    """Speed-up against d4p ``simple`` on the same N, measured in the same run
    (not against the nominal 2 ms per item: the calibration moves with load)."""
    lines = [
        "| N | mapping | -n | cores used | run s | simple run s | speed-up vs simple "
        "| parallel efficiency |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for d4p, base, speedup, efficiency in _cpu_rows(pairs):
        c = d4p.config
        mark = " (-n = cores)" if c.processes == _cores() else ""
        lines.append(
            f"| {c.items} | {c.mapping} | {c.processes} | {min(c.processes, _cores())} "
            f"| {_num(d4p.run_time)} | {_num(base)} | {_num(speedup)} "
            f"| {100 * efficiency:.0f}%{mark} |"
        )
    return "\n".join(lines) if len(lines) > 2 else "_no cpu runs (with simple as baseline)_"


def overhead_table(overhead: Pairs, timeout: float | None = None) -> str:
    if not overhead:
        return "_not measured (--no-studies)_"
    lines = [
        "| mapping | -n | d4p run() call s | d4p elapsed s | d4p wall s "
        "| stream-d4py ELAPSED s | stream-d4py wall s | stream-d4py |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for d4p, other in overhead:
        c = d4p.config
        lines.append(
            f"| {c.mapping} | {c.processes} | {_num(d4p.call)} | {_num(d4p.run_time)} "
            f"| {_num(d4p.wall)} | {_num(other.run_time if other else None)} "
            f"| {_num(other.wall if other else None)} "
            f"| {_status(other, timeout) if other else 'not run'} |"
        )
    return "\n".join(lines)


def tail_table(pairs: Pairs, timeout: float | None = None) -> str:
    rows = [(d, o) for d, o in pairs if d.config.workload in ("throughput", "skew")]
    rows = [(d, o) for d, o in rows if d.tail is not None or (o and o.exit_tail is not None)]
    if not rows:
        return "_no runs with a timed sink_"
    lines = [
        "| workload | N | mapping | -n | d4p tail s (last item -> run() returns) "
        "| d4p exit tail s | stream-d4py exit tail s | stream-d4py |",
        "|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for d4p, other in rows:
        c = d4p.config
        lines.append(
            f"| {c.workload} | {c.items} | {c.mapping} | {c.processes} | {_num(d4p.tail)} "
            f"| {_num(d4p.exit_tail)} | {_num(other.exit_tail if other else None)} "
            f"| {_status(other, timeout)} |"
        )
    return "\n".join(lines)


AUTOSCALED_BASELINES = {
    "dyn_auto_multi": ("multi", "dyn_multi"),
    "dyn_auto_redis": ("redis", "dyn_redis"),
}
"""Each autoscaling mapping and the fixed mappings of its transport (issue 20)."""


def _skew_comparisons(study: Pairs) -> list[tuple[int, str, Series, Series]]:
    """(-n, baseline mapping, autoscaled series, baseline series), per workload."""
    by_key = {
        (d.config.workload, d.config.processes, d.config.mapping): d
        for d, _ in study
        if d.config.workload != "burst"
    }
    found = []
    for (workload, processes, mapping), auto in sorted(by_key.items()):
        for baseline in AUTOSCALED_BASELINES.get(mapping, ()):
            base = by_key.get((workload, processes, baseline))
            if base is not None:
                found.append((processes, baseline, auto, base))
    return found


def _pct(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else 100.0 * part / whole


MAKESPAN_TARGETS = {"multi": 87.0, "dyn_multi": 105.0, "redis": 87.0, "dyn_redis": 105.0}
"""Issue 20: the autoscaled mapping's makespan as % of each fixed one's, at most."""
PROCESS_SECONDS_TARGET = 70.0


def _processes_started(run: Run | None) -> int | None:
    """``multi``: its process blocks; a dynamic mapping: the source, the
    initial workers and every worker the autoscaler started."""
    if run is None:
        return None
    if run.processes_used is not None:
        return run.processes_used
    scaling = run.scaling or {}
    if scaling.get("initial") is None:
        return None
    starts = [a for a in scaling.get("actions") or [] if a["action"] == "start"]
    return 1 + int(scaling["initial"]) + sum(len(a["slots"]) for a in starts)


def skew_study_table(study: Pairs) -> str:
    if not study:
        return "_not measured (--no-studies)_"
    lines = [
        "| workload | N | mapping | -n | status | makespan s | processes started "
        "| process-seconds | worker-seconds (extra) | scaling decisions |",
        "|---|---:|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for d4p, _ in study:
        c = d4p.config
        finished = d4p.finished()
        first = finished[0] if finished else None
        started = _processes_started(first)
        decisions = first.autoscaling_decisions if first else None
        ws = d4p.worker_seconds if c.mapping != "multi" else None
        lines.append(
            f"| {c.workload} | {c.items} | {c.mapping} | {c.processes} | {d4p.status} "
            f"| {_num(d4p.run_time)} | {started if started is not None else '-'} "
            f"| {_num(d4p.process_seconds)} "
            f"| {_num(ws)} | {'-' if decisions is None else decisions} |"
        )
    compare = [
        "",
        "| workload | -n | autoscaled | vs | makespan % | process-seconds % | target | met |",
        "|---|---:|---|---|---:|---:|---|---|",
    ]
    for processes, baseline, auto, base in _skew_comparisons(study):
        span = _pct(auto.run_time, base.run_time)
        cost = _pct(auto.process_seconds, base.process_seconds)
        limit = MAKESPAN_TARGETS[baseline]
        met = span is not None and cost is not None and span <= limit
        met = met and cost is not None and cost <= PROCESS_SECONDS_TARGET
        compare.append(
            f"| {auto.config.workload} | {processes} | {auto.config.mapping} | {baseline} "
            f"| {_num(span, 0)}% "
            f"| {_num(cost, 0)}% "
            f"| <= {limit:.0f}% makespan, <= {PROCESS_SECONDS_TARGET:.0f}% process-s "
            f"| {'met' if met else 'not met'} |"
        )
    return "\n".join(lines + (compare if len(compare) > 3 else []))


def ceilings_table(ceilings: list[Ceiling]) -> str:
    lines = ["| transport | batch | items | items/s | note |", "|---|---:|---:|---:|---|"]
    for c in ceilings:
        lines.append(
            f"| {c.transport} | {c.batch or '-'} | {c.items or '-'} "
            f"| {_rate(c.items_per_second)} | {c.note} |"
        )
    return "\n".join(lines)


def failures(pairs: Pairs, timeout: float | None = None) -> str:
    lines = []
    for d4p, other in pairs:
        for series in (d4p, other):
            if series is not None and series.status not in ("ok",):
                message = series.message.strip().splitlines()[-1:] if series.message else []
                lines.append(
                    f"- {series.system} {series.config.label()}: "
                    f"**{_status(series, timeout)}**"
                    + (f" — {message[0][:300]}" if message else "")
                )
    return "\n".join(lines) if lines else "_none_"


def _best_throughput(pairs: Pairs, mapping: str) -> Series | None:
    rows = [
        d
        for d, _ in pairs
        if d.config.workload == "throughput"
        and d.config.mapping == mapping
        and d.status == "ok"
        and d.items_per_second is not None
    ]
    if not rows:
        return None
    largest = max(d.config.items for d in rows)
    return max(
        (d for d in rows if d.config.items == largest), key=lambda d: d.items_per_second or 0.0
    )


def targets_table(pairs: Pairs, overhead: Pairs, study: Pairs) -> str:
    """Where each target of the benchmarks issue stands in this run."""
    lines = ["| target | measured here | status |", "|---|---|---|"]
    for mapping in FAST_MAPPINGS:
        best = _best_throughput(pairs, mapping)
        if best is None:
            continue
        c = best.config
        at_1m = c.items >= 1_000_000
        status = ("met" if (best.items_per_second or 0) >= 1e6 else "not met") + (
            "" if at_1m else f" (at N={c.items}, not 1M)"
        )
        lines.append(
            f"| `{mapping}` >= 1M items/s on throughput, N = 1M "
            f"| {_rate(best.items_per_second)} items/s (N={c.items}, -n {c.processes}) "
            f"| {status} |"
        )
    calls = [(d.call, d.config.mapping) for d, _ in overhead if d.call is not None]
    if calls:
        worst, which = max(calls)
        lines.append(
            "| start-up + shutdown < 0.5 s (1-item run, `run()` call) "
            f"| worst {worst:.2f} s ({which}); "
            + ", ".join(f"{m} {v:.2f}" for v, m in calls)
            + f" | {'met' if worst < 0.5 else 'not met'} |"
        )
    tails = [
        (d.tail, d.config.label())
        for d, _ in pairs
        if d.config.mapping in DYNAMIC_MAPPINGS and d.tail is not None
    ]
    if tails:
        worst_tail, label = max(tails)
        lines.append(
            "| dynamic runs end <= 0.5 s after the last item "
            f"| worst {worst_tail:.2f} s ({label}) | {'met' if worst_tail <= 0.5 else 'not met'} |"
        )
    at_cores = [
        (eff, d.config.mapping)
        for d, _, _, eff in _cpu_rows(pairs)
        if d.config.processes == _cores()
    ]
    if at_cores:
        best_eff, which = max(at_cores)
        lines.append(
            f"| cpu: >= 90% parallel efficiency at -n = cores ({_cores()}) "
            f"| best {100 * best_eff:.0f}% ({which}); "
            + ", ".join(f"{m} {100 * e:.0f}%" for e, m in at_cores)
            + f" | {'met' if best_eff >= 0.9 else 'not met'} |"
        )
    for processes, baseline, auto, base in _skew_comparisons(study):
        span = _pct(auto.run_time, base.run_time)
        cost = _pct(auto.process_seconds, base.process_seconds)
        limit = MAKESPAN_TARGETS[baseline]
        met = span is not None and cost is not None and span <= limit
        met = met and cost is not None and cost <= PROCESS_SECONDS_TARGET
        lines.append(
            f"| {auto.config.workload} (issue 20): {auto.config.mapping} <= {limit:.0f}% "
            f"makespan, <= {PROCESS_SECONDS_TARGET:.0f}% process-s of {baseline} "
            f"(-n {processes}, N={auto.config.items}) "
            f"| {_num(span, 0)}% makespan, {_num(cost, 0)}% process-seconds "
            f"| {'met' if met else 'not met'} |"
        )
    redis_best = [
        (best.items_per_second or 0.0, mapping, best.config)
        for mapping in REDIS_DYNAMIC_MAPPINGS
        if (best := _best_throughput(pairs, mapping)) is not None
    ]
    if redis_best:
        rate, mapping, config = max(redis_best)
        lines.append(
            "| Redis dynamic mappings >= 50k items/s (per-task acknowledgement) "
            f"| best {_rate(rate)} items/s ({mapping}, N={config.items}, -n {config.processes}) "
            f"| {'met' if rate >= 50_000 else 'not met'} |"
        )
    else:
        lines.append(
            "| Redis dynamic mappings >= 50k items/s | not run (no Redis throughput runs) "
            "| not measurable |"
        )
    return "\n".join(lines)


DEFINITIONS = """**wall** = whole subprocess (interpreter start, imports, run, shutdown), median;
**run** = the mapping's own elapsed time (`RunResult.elapsed_seconds`, or
stream-d4py's `ELAPSED TIME` line), median; items/s = N / run;
CPU s = user+sys of the whole process tree; RSS = largest process in the tree.
**speed ratio** = stream-d4py wall / d4p wall (> 1: d4p is faster); a status other
than ok is checked (counts/checksums against the known answer; hangs: the timeout,
or "stalled": no new item and no end for 30 s). A series stops after its first
hang, failure or wrong result; `n/a`: stream-d4py has no such mapping.
**process-seconds** = `RunResult.process_seconds`, measured by every mapping:
the processes kept for the run (workers, source processes), each from its
start to its exit, summed (`simple`: 1 x makespan). **tail** = last item at
the sink (`time.perf_counter()` in the same process for `simple`,
`time.time()` in the worker otherwise) ->
`run()` returned; **exit tail** = last item -> the process tree had exited
(the only tail measurable for stream-d4py, run through its CLI)."""


def duration(meta: dict[str, Any]) -> str:
    """``6519 s``, or ``9000 s in 2 sittings (2026-11-25: 6519 s, ...)``."""
    total = f"{meta['duration_s']:.0f} s"
    sittings = meta.get("sittings", [])
    if len(sittings) < 2:
        return total
    dates = meta.get("sitting_dates") or ["?"] * len(sittings)
    parts = ", ".join(
        f"{day}: {seconds:.0f} s" for day, seconds in zip(dates, sittings, strict=True)
    )
    return f"{total} in {len(sittings)} sittings ({parts})"


def render(
    meta: dict[str, Any],
    pairs: Pairs,
    ceilings: list[Ceiling],
    overhead: Pairs | None = None,
    skew_study: Pairs | None = None,
) -> str:
    overhead = overhead or []
    skew_study = skew_study or []
    timeout = float(meta["timeout_s"])
    caveats = "\n".join(f"> {line}" for line in meta["caveats"])
    return f"""# d4p benchmark results

{caveats}

- date: {meta["date"]}; machine: {meta["cpus"]} CPUs, {meta["platform"]}; Python {meta["python"]}
- d4p-core {meta["d4p_version"]}; stream-d4py {meta["stream_d4py_version"]}
- command: `{meta["command"]}`; {meta["counted_runs"]} counted run(s) after
  {meta["warmups"]} warm-up(s), d4p and stream-d4py interleaved; hang timeout
  {timeout:.0f} s; duration {duration(meta)}
- CPU calibration: {meta["loops_per_ms"]:.0f} loops/ms ({meta["cpu_item_ms"]} ms per `cpu` item)

{DEFINITIONS}

## Targets (issues 5 and 20)

{targets_table(pairs, overhead, skew_study)}

## Comparison

{comparison_table(pairs, timeout)}

## Start-up + shutdown overhead (1-item throughput runs)

{overhead_table(overhead, timeout)}

## Tail: last item -> end of run

{tail_table(pairs, timeout)}

## CPU-bound speed-up and parallel efficiency (d4p)

{cpu_table(pairs)}

## Skew study: autoscaling vs fixed mappings (d4p)

Heavy-tailed `pareto` workload (0.5 ms x Pareto(1.3), capped at 300 ms, burnt
as CPU), `pareto_wait` (the same costs spent waiting, as on I/O) and a
burst then a light tail (`burst`; workers over time:
[burst_workers.svg](burst_workers.svg)). Process-seconds: the lifetimes of
the processes a run started, summed (`RunResult.process_seconds`). Each
autoscaling mapping is compared with the fixed mappings of its transport:
`dyn_auto_multi` with `multi` and `dyn_multi`, `dyn_auto_redis` with `redis`
and `dyn_redis` (the Redis runs share one private redis-server).

{skew_study_table(skew_study)}

## Skew workload in the comparison: makespan and worker-seconds

{skew_table(pairs, timeout)}

## Raw transport ceilings on this machine

{ceilings_table(ceilings)}

## Runs that were not ok

{failures(pairs + overhead + skew_study, timeout)}
"""


def readme_section(
    meta: dict[str, Any],
    pairs: Pairs,
    ceilings: list[Ceiling],
    overhead: Pairs,
    skew_study: Pairs,
    full_report: Path,
) -> str:
    """The short summary the root README shows between the bench markers."""
    timeout = float(meta["timeout_s"])
    lines = [
        "| workload | N | mapping | -n | d4p items/s | stream-d4py items/s | stream-d4py "
        "| speed ratio |",
        "|---|---:|---|---:|---:|---:|---|---:|",
    ]
    for d4p, other in pairs:
        c = d4p.config
        lines.append(
            f"| {c.workload} | {c.items} | {c.mapping} | {c.processes} "
            f"| {_rate(d4p.items_per_second) if d4p.status == 'ok' else _status(d4p, timeout)} "
            f"| {_rate(other.items_per_second if other else None)} | {_status(other, timeout)} "
            f"| {_ratio(d4p, other, timeout)} |"
        )
    ceiling_text = ", ".join(
        f"{c.transport.split(' (')[0]}{'' if c.batch == 1 else f' x{c.batch}'} "
        f"{_rate(c.items_per_second)}/s"
        for c in ceilings
        if c.items_per_second is not None
    )
    try:
        link = full_report.resolve().relative_to(Path(__file__).resolve().parent.parent)
    except ValueError:
        link = full_report
    quick = " with `--quick` (preliminary)" if meta.get("quick") else ""
    caveat = (
        "Numbers from a shared, noisy machine; trust ratios from the same run "
        "more than absolute values."
    )
    return f"""Latest run{quick}: {meta["date"]}, {meta["cpus"]} cores, Python {meta["python"]},
d4p-core {meta["d4p_version"]} beside stream-d4py {meta["stream_d4py_version"]}
(`{meta["command"]}`, {duration(meta)}). {caveat} Full report with
definitions, overhead, tails, skew study and failures: [{link}]({link}).

{chr(10).join(lines)}

Targets:

{targets_table(pairs, overhead, skew_study)}

Transport ceilings (items/s between two processes): {ceiling_text or "not measured"}.
"""
