"""Run one benchmark workload once on d4p and write what happened as JSON.

Used by ``run.py`` in a fresh subprocess per run (so wall time, CPU time and
peak RSS cover the whole process tree, as for stream-d4py)::

    python benchmarks/_driver.py WORKLOAD N MAPPING PROCESSES OUT.json
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import d4p_core
from benchmarks.workflows import _common, _pes
from d4p_core import D4pError, UnsupportedGraphError


def _worker_seconds(result: d4p_core.RunResult) -> tuple[float | None, str]:
    for key, value in result.extra.items():
        if "worker_seconds" in key and isinstance(value, (int, float)):
            return float(value), f"extra[{key!r}]"
    busy = sum(
        m.busy_seconds
        for by_instance in result.instance_metrics.values()
        for m in by_instance.values()
    )
    if busy:
        return busy, "instance busy seconds"
    busy = sum(m.busy_seconds for m in result.metrics.values())
    return (busy, "PE busy seconds") if busy else (None, "not reported")


def _initial_workers(extra: dict[str, Any]) -> int | None:
    """Workers at the start: the count before the first decision, else the
    processes started minus the source."""
    decisions = extra.get("autoscaling") or []
    if decisions:
        return int(decisions[0]["active_before"])
    started = extra.get("processes_started")
    return int(started) - 1 if isinstance(started, int) else None


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=repr))


def main(argv: list[str]) -> int:
    workload_name, n_text, mapping, processes_text, out = argv
    n, processes = int(n_text), int(processes_text)
    module = importlib.import_module(f"benchmarks.workflows.{workload_name}")
    workload: _pes.Workload = module.build(n)
    report: dict[str, Any] = {"workload": workload_name, "n": n, "mapping": mapping}
    code = 0
    started = time.perf_counter()
    try:
        result = d4p_core.run(workload.graph, mapping, inputs=workload.inputs, processes=processes)
        returned_perf, returned_wall = time.perf_counter(), time.time()
    except UnsupportedGraphError as error:
        report.update(status="unsupported", message=str(error))
        code = 3
    except D4pError as error:
        report.update(status="fails", message=str(error))
        code = 1
    except Exception as error:  # noqa: BLE001 - any crash is a result to report
        report.update(status="fails", message=f"{type(error).__name__}: {error}")
        report["traceback"] = traceback.format_exc()
        code = 1
    else:
        worker_seconds, source = _worker_seconds(result)
        autoscaling = result.extra.get("autoscaling")
        partials = _pes.partials(result.outputs)
        last_wall, last_perf = _common.last_item_times(partials)
        # The tail: last item processed by the sink -> run() returned. In one
        # process perf_counter is exact; across processes time.time() is the
        # clock both sides share.
        if mapping == "simple" and last_perf is not None:
            tail: float | None = returned_perf - last_perf
        else:
            tail = None if last_wall is None else returned_wall - last_wall
        placement = result.extra.get("placement")
        blocks = len(placement) if isinstance(placement, list) else None
        report.update(
            status="ok",
            summary=_common.combine(workload_name, partials),
            run_seconds=result.elapsed_seconds,
            call_seconds=returned_perf - started,
            tail_seconds=tail,
            last_item_wall=last_wall,
            # Measured by every mapping (RunResult.process_seconds): the
            # processes kept for the run, each from its start to its exit.
            process_seconds=result.process_seconds,
            process_seconds_measured=True,
            scaling={
                "decisions": _jsonable(autoscaling or []),
                "actions": _jsonable(result.extra.get("scaling_actions", [])),
                "initial": _initial_workers(result.extra),
            },
            worker_seconds=worker_seconds,
            worker_seconds_source=source,
            busy_seconds=sum(m.busy_seconds for m in result.metrics.values()),
            autoscaling_decisions=len(autoscaling) if isinstance(autoscaling, list) else None,
            extra_keys=sorted(result.extra),
            placement_processes=blocks,
        )
        for key in ("worker_seconds", "workers", "max_workers"):
            if key in result.extra:
                report[f"extra_{key}"] = _jsonable(result.extra[key])
    report["driver_seconds"] = time.perf_counter() - started
    Path(out).write_text(json.dumps(report), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
