"""Benchmark runner: every workload on every mapping, d4p beside stream-d4py.

    python benchmarks/run.py [--quick] [--mappings M ...] [-n 2 4] [--repeats 5]
    hatch run bench:run --quick

Each run is a fresh subprocess (d4p through ``benchmarks/_driver.py`` and the
Python API; stream-d4py through its own ``dispel4py`` CLI in a separate venv
under ``benchmarks/.venv-d4py``). Runs of the two systems are interleaved
(A B A B), one warm-up each, then ``--repeats`` counted runs. Every run's result
is checked against the known answer. Writes ``benchmarks/results/latest.json``
and ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))

import d4p_core  # noqa: E402
from benchmarks import _ceilings, _measure, _report, _venv  # noqa: E402
from benchmarks._records import BAD_STATUSES, Config, Run, Series  # noqa: E402
from benchmarks.workflows import _common  # noqa: E402

STREAM_D4PY_MAPPINGS = ("simple", "multi", "dyn_multi", "dyn_auto_multi")
"""Mappings stream-d4py 2.9.1 has that match a d4p mapping of the same name."""
ALL_MAPPINGS = ("simple", "multi", "dyn_multi", "dyn_auto_multi", "hybrid_multi")
SIZES_QUICK = {
    "throughput": [100_000],
    "cpu": [400],
    "skew": [400],
    "wordcount": [50_000],
    "fan": [50_000],
}
SIZES_FULL = {
    "throughput": [10_000, 100_000, 1_000_000],
    "cpu": [2_000],
    "skew": [2_000],
    "wordcount": [200_000],
    "fan": [200_000],
}
_ELAPSED = re.compile(r"^ELAPSED TIME: ([0-9.eE+-]+)", re.MULTILINE)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small N, 2 counted runs")
    parser.add_argument("--mappings", nargs="+", default=list(ALL_MAPPINGS), metavar="M")
    parser.add_argument("-n", "--processes", nargs="+", type=int, default=[2, 4], metavar="N")
    parser.add_argument("--repeats", type=int, help="counted runs (default 5, --quick 2)")
    parser.add_argument("--workloads", nargs="+", default=list(_common.WORKLOADS))
    parser.add_argument(
        "--items", type=int, help="N for every workload (overrides the default sizes)"
    )
    parser.add_argument("--timeout", type=float, help="seconds before a run counts as hung")
    parser.add_argument("--no-stream-d4py", action="store_true", help="run d4p only")
    parser.add_argument("--no-ceilings", action="store_true", help="skip transport ceilings")
    parser.add_argument(
        "--markdown", type=Path, default=BENCH_DIR / "RESULTS.md", help="Markdown output"
    )
    parser.add_argument(
        "--json", type=Path, default=BENCH_DIR / "results" / "latest.json", help="JSON output"
    )
    parser.add_argument("--note", action="append", default=[], help="caveat line for RESULTS.md")
    args = parser.parse_args(argv)
    unknown = set(args.workloads) - set(_common.WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; known: {', '.join(_common.WORKLOADS)}")
    if args.repeats is None:
        args.repeats = 2 if args.quick else 5
    if args.timeout is None:
        args.timeout = 60.0 if args.quick else 180.0
    return args


class Runner:
    """Runs and checks single workload runs of both systems."""

    def __init__(self, args: argparse.Namespace, stream_python: Path | None, loops: float):
        self.args = args
        self.stream_python = stream_python
        self.scratch = Path(tempfile.mkdtemp(prefix="d4p-bench-"))
        self.counter = 0
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
        )
        self.env[_common.ENV_LOOPS_PER_MS] = f"{loops:.3f}"
        self.env.pop(_common.ENV_RESULT_DIR, None)
        self.expected: dict[tuple[str, int], dict[str, object]] = {}

    def _workdir(self) -> Path:
        self.counter += 1
        path = self.scratch / f"run{self.counter:04d}"
        path.mkdir()
        return path

    def _expected(self, config: Config) -> dict[str, object]:
        key = (config.workload, config.items)
        if key not in self.expected:
            self.expected[key] = _common.expected_summary(config.workload, config.items)
        return self.expected[key]

    def _check(self, config: Config, summary: dict[str, object] | None) -> tuple[str, str]:
        expected = self._expected(config)
        if summary == expected:
            return "ok", ""
        return "wrong result", f"got {summary}, expected {expected}"

    def run_d4p(self, config: Config) -> Run:
        workdir = self._workdir()
        out = workdir / "result.json"
        command = [
            sys.executable,
            str(BENCH_DIR / "_driver.py"),
            config.workload,
            str(config.items),
            config.mapping,
            str(config.processes),
            str(out),
        ]
        m = _measure.measure(command, self.env, self.args.timeout, workdir, REPO)
        if m.timed_out:
            return _from(
                m,
                "hangs",
                message=f"no end after {self.args.timeout:.0f} s (hung, or too slow)",
            )
        if not out.exists():
            return _from(m, "fails", message=f"exit {m.exit_code}: {m.stderr[-600:]}")
        report = json.loads(out.read_text(encoding="utf-8"))
        if report["status"] != "ok":
            return _from(m, report["status"], message=report.get("message", ""))
        status, message = self._check(config, report["summary"])
        return _from(
            m,
            status,
            message=message,
            run_seconds=report["run_seconds"],
            summary=report["summary"],
            worker_seconds=report["worker_seconds"],
            worker_seconds_source=report["worker_seconds_source"],
            busy_seconds=report["busy_seconds"],
            autoscaling_decisions=report["autoscaling_decisions"],
        )

    def run_stream(self, config: Config) -> Run:
        assert self.stream_python is not None
        workdir = self._workdir()
        results = workdir / "partials"
        results.mkdir()
        env = dict(self.env)
        env[_common.ENV_RESULT_DIR] = str(results)
        # stream-d4py's dynamic mappings never call postprocess: report per item.
        env[_common.ENV_SINK_MODE] = "eager" if config.mapping.startswith("dyn") else "postprocess"
        twin = BENCH_DIR / "workflows" / "twins" / f"{config.workload}.py"
        command = [str(self.stream_python), "-m", "dispel4py.new.processor", config.mapping]
        command += [str(twin), "-a", "graph", "-i", str(config.items)]
        if config.mapping != "simple":
            command += ["-n", str(config.processes)]
        m = _measure.measure(command, env, self.args.timeout, workdir, workdir)
        if m.timed_out:
            return _from(
                m,
                "hangs",
                message=f"no end after {self.args.timeout:.0f} s (hung, or too slow)",
            )
        if m.exit_code != 0:
            tail = (m.stderr or m.stdout).strip().splitlines()[-1:] or [""]
            return _from(m, "fails", message=f"exit {m.exit_code}: {tail[0]}")
        summary = _common.combine(config.workload, _common.read_partials(str(results)))
        status, message = self._check(config, summary)
        found = _ELAPSED.findall(m.stdout)
        return _from(
            m,
            status,
            message=message,
            summary=summary,
            run_seconds=float(found[-1]) if found else None,
        )


def _from(m: _measure.Measured, status: str, **fields: Any) -> Run:
    return Run(status, m.wall_seconds, m.cpu_seconds, m.peak_rss_mb, **fields)


def _configs(args: argparse.Namespace) -> list[Config]:
    installed = d4p_core.available_mappings()
    sizes = SIZES_QUICK if args.quick else SIZES_FULL
    configs: list[Config] = []
    for workload in args.workloads:
        for items in [args.items] if args.items else sizes[workload]:
            for mapping in args.mappings:
                if mapping not in installed:
                    continue
                for processes in [1] if mapping == "simple" else args.processes:
                    configs.append(Config(workload, items, mapping, processes))
    return configs


def _run_series(runner: Runner, config: Config, with_stream: bool) -> tuple[Series, Series | None]:
    d4p = Series("d4p", config)
    other = Series("stream-d4py", config) if with_stream else None
    systems: list[tuple[Series, Callable[[Config], Run]]] = [(d4p, runner.run_d4p)]
    if other is not None:
        systems.append((other, runner.run_stream))
    for round_index in range(runner.args.repeats + 1):
        for series, run_one in systems:
            if series.all_runs() and series.status in (*BAD_STATUSES, "unsupported"):
                continue
            run: Run = run_one(config)
            if round_index == 0:
                series.warmup = run
            else:
                series.runs.append(run)
    return d4p, other


def _line(d4p: Series, other: Series | None) -> str:
    text = f"{d4p.config.label():<40} d4p {d4p.status:<12} wall {d4p.wall or 0:6.2f}s"
    if other is not None:
        text += f" | stream-d4py {other.status:<12} wall {other.wall or 0:6.2f}s"
    return text


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    started = time.perf_counter()
    notes: list[str] = []
    installed = d4p_core.available_mappings()
    for mapping in args.mappings:
        if mapping not in installed:
            notes.append(f"mapping {mapping!r} is not installed in d4p: skipped")
    stream_python: Path | None = None
    stream_version = "not run"
    if not args.no_stream_d4py:
        stream_python, note = _venv.ensure_stream_d4py(BENCH_DIR / ".venv-d4py")
        notes.append(note)
        if stream_python is not None:
            stream_version = _venv.stream_d4py_version(stream_python)
    loops = _common.calibrate()
    print(f"calibration: {loops:.0f} loops/ms", flush=True)
    runner = Runner(args, stream_python, loops)
    pairs: list[tuple[Series, Series | None]] = []
    for config in _configs(args):
        with_stream = stream_python is not None and config.mapping in STREAM_D4PY_MAPPINGS
        d4p, other = _run_series(runner, config, with_stream)
        pairs.append((d4p, other))
        print(_line(d4p, other), flush=True)
    ceilings = [] if args.no_ceilings else _ceilings.measure_ceilings(args.quick)
    sizes = SIZES_QUICK if args.quick else SIZES_FULL
    if "skew" in args.workloads:
        for items in [args.items] if args.items else sizes["skew"]:
            notes.append(f"skew N={items}: {_common.skew_profile(items)}")
    caveats = list(args.note)
    if args.quick:
        caveats.append("Produced with --quick (smaller N, fewer runs): preliminary numbers.")
    caveats.append(
        f"Machine: {os.cpu_count()} CPUs, shared with other jobs; expect noise of 10-30%."
    )
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "d4p_version": d4p_core.__version__,
        "stream_d4py_version": stream_version,
        "command": "python benchmarks/run.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "counted_runs": args.repeats,
        "duration_s": time.perf_counter() - started,
        "loops_per_ms": loops,
        "cpu_item_ms": _common.CPU_ITEM_MS,
        "caveats": caveats,
        "notes": notes,
    }
    markdown = _report.render(meta, pairs, ceilings)
    if notes:
        markdown += "\n## Notes\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    print()
    print(markdown)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "meta": meta,
        "results": [s.to_json() for pair in pairs for s in pair if s is not None],
        "ceilings": [dict(asdict(c), items_per_second=c.items_per_second) for c in ceilings],
    }
    args.json.write_text(json.dumps(payload, indent=2, default=repr), encoding="utf-8")
    args.markdown.write_text(markdown, encoding="utf-8")
    print(f"wrote {args.json} and {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
