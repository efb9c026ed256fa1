"""Engine study: d4p's per-item and block engine beside Bytewax, stream-d4py
and a plain Python loop, in one run.

    hatch run bench:engine                 # ~5 min on 2 cores
    python benchmarks/engine_study.py --items 200000 --repeats 1

Sections (every run a fresh subprocess, runs of different systems
interleaved, medians of ``--repeats``, every result checked):

1. **trivial pipeline** (source -> +1 -> x2 -> -2 -> count/sum sink),
   N = ``--items``: plain loop, Bytewax ``run_main`` (TestingSource, three
   ``op.map``, a count/sum sink), d4p ``simple`` with the per-item API and
   with ``BlockPE``, stream-d4py ``simple``;
2. **medium pipeline** (two stages of ~10 us of pure-Python work per item),
   N = ``--medium-items``: d4p ``simple`` and the parallel mappings at ``-n``;
3. **memory**: peak RSS of the d4p trivial pipeline at 100k and 10M items;
4. **import time** of ``import d4p_core`` (``python -X importtime``, best of 5).

Writes the report to ``benchmarks/results/engine.md`` (and stdout).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))

from benchmarks import _measure, _venv  # noqa: E402
from benchmarks.workflows import _common  # noqa: E402

PROBE = BENCH_DIR / "_engine_probe.py"
REPORT = BENCH_DIR / "results" / "engine.md"
MEDIUM_MAPPINGS = ("multi", "zmq_multi", "mpi", "dyn_multi")


@dataclass(frozen=True)
class Probe:
    """One system's run of one pipeline: how to start it, what it must answer."""

    label: str
    python: str
    args: tuple[str, ...]
    items: int
    expected_sum: int
    pythonpath: str = ""  # put first on PYTHONPATH (--before: another checkout's packages)


@dataclass
class Sample:
    seconds: float
    peak_rss_mb: float


def _expected_sum(pipeline: str, items: int) -> int:
    return items * (items - 1) if pipeline == "trivial" else items * (items - 1) // 2


def run_probe(probe: Probe, env: dict[str, str], scratch: Path) -> Sample:
    """Run once in a fresh process; raise if it failed or answered wrong."""
    command = [probe.python, str(PROBE), *probe.args]
    if probe.pythonpath:
        env = {**env, "PYTHONPATH": os.pathsep.join([probe.pythonpath, env["PYTHONPATH"]])}
    done = _measure.measure(command, env, timeout=600, workdir=scratch, cwd=REPO)
    if done.exit_code or done.timed_out:
        raise RuntimeError(f"{probe.label} failed ({done.exit_code}):\n{done.stderr}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    if (answer["count"], answer["sum"]) != (probe.items, probe.expected_sum):
        raise RuntimeError(f"{probe.label}: wrong result {answer}")
    return Sample(answer["seconds"], done.peak_rss_mb)


def measure(probes: list[Probe], repeats: int, env: dict[str, str]) -> dict[str, list[Sample]]:
    """Interleaved runs (A B C A B C ...), one unrecorded warm-up each."""
    samples: dict[str, list[Sample]] = {p.label: [] for p in probes}
    for round_ in range(repeats + 1):
        for probe in probes:
            with tempfile.TemporaryDirectory(prefix="d4p-engine-") as scratch:
                sample = run_probe(probe, env, Path(scratch))
            if round_:
                samples[probe.label].append(sample)
            print(f"  {probe.label}: {probe.items / sample.seconds:,.0f} items/s", flush=True)
    return samples


def median_rate(samples: list[Sample], items: int) -> float:
    return items / statistics.median(s.seconds for s in samples)


def import_ms(python: str, env: dict[str, str]) -> float:
    best = float("inf")
    for _ in range(5):
        done = subprocess.run(
            [python, "-X", "importtime", "-c", "import d4p_core"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        last = [line for line in done.stderr.splitlines() if line.endswith("| d4p_core")][-1]
        best = min(best, int(last.split("|")[1]) / 1000)
    return best


def _has(python: str, module: str) -> bool:
    probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True, check=False)
    return probe.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--medium-items", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("-n", "--processes", type=int, default=2)
    parser.add_argument("--mappings", nargs="+", default=list(MEDIUM_MAPPINGS))
    parser.add_argument("--memory-items", nargs=2, type=int, default=[100_000, 10_000_000])
    parser.add_argument("--no-stream-d4py", action="store_true")
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument(
        "--before",
        type=Path,
        help="a checkout of an earlier revision (git worktree add DIR REV): its d4p runs "
        "beside this one's, interleaved, labelled '(before)'",
    )
    args = parser.parse_args(argv)

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    # Every system runs from cached bytecode (as run.py does): without it,
    # PYTHONDONTWRITEBYTECODE=1 or an env installed without .pyc files makes
    # each run recompile its imports.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(BENCH_DIR / ".pycache")
    loops = _common.calibrate()
    env[_common.ENV_LOOPS_PER_MS] = f"{loops:.3f}"
    python = sys.executable
    notes: list[str] = []
    started = datetime.datetime.now(datetime.timezone.utc)

    def probe(label: str, py: str, pipeline: str, items: int, *rest: str) -> Probe:
        return Probe(
            label, py, (rest[0], pipeline, str(items), *rest[1:]), items,
            _expected_sum(pipeline, items),
        )  # fmt: skip

    def with_before(probes: list[Probe]) -> list[Probe]:
        """Each d4p probe, and with --before the same run on that checkout."""
        if args.before is None:
            return probes
        sources = os.pathsep.join(str(p) for p in sorted(args.before.glob("packages/*/src")))
        earlier = [
            Probe(f"{p.label} (before)", p.python, p.args, p.items, p.expected_sum, sources)
            for p in probes
            if p.args[0] in ("d4p", "d4p-block")
        ]
        return probes + earlier

    n = args.items
    trivial = [probe("plain Python loop", python, "trivial", n, "loop")]
    if _has(python, "bytewax"):
        trivial.append(probe("Bytewax run_main", python, "trivial", n, "bytewax"))
    else:
        notes.append("Bytewax is not installed here (`hatch run bench:engine` has it)")
    trivial += [
        probe("d4p simple, per-item API", python, "trivial", n, "d4p"),
        probe("d4p simple, BlockPE", python, "trivial", n, "d4p-block"),
    ]
    if not args.no_stream_d4py:
        stream_python, note = _venv.ensure_stream_d4py(BENCH_DIR / ".venv-d4py")
        if stream_python is None:
            notes.append(note)
        else:
            label, peer = "stream-d4py simple", str(stream_python)
            trivial.append(probe(label, peer, "trivial", n, "stream-d4py"))

    print(f"trivial pipeline, N = {n:,}", flush=True)
    trivial_samples = measure(with_before(trivial), args.repeats, env)
    m, p = args.medium_items, str(args.processes)
    medium = [probe("simple", python, "medium", m, "d4p")] + [
        probe(f"{mapping} -n {p}", python, "medium", m, "d4p", mapping, p)
        for mapping in args.mappings
    ]
    print(f"medium pipeline, N = {m:,}", flush=True)
    medium_samples = measure(with_before(medium), args.repeats, env)
    small, large = args.memory_items
    memory = [probe(f"N = {k:,}", python, "trivial", k, "d4p") for k in (small, large)]
    print("memory", flush=True)
    memory_samples = measure(memory, 1, env)
    imported = import_ms(python, env)
    elapsed = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()

    lines = [
        f"**Engine study**, {started:%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cores, {elapsed:.0f} s; medians of "
        f"{args.repeats} interleaved runs after a warm-up; every result checked. "
        "Produced by `hatch run bench:engine` (`benchmarks/engine_study.py`).",
        *(f"- note: {note}" for note in notes),
        *([f"- '(before)': the same runs on the checkout {args.before}"] if args.before else []),
        "",
        f"### Trivial pipeline, N = {n:,} (source -> +1 -> x2 -> -2 -> count/sum sink)",
        "",
        "| system | items/s | vs Bytewax | vs stream-d4py |",
        "|---|---:|---:|---:|",
    ]
    rates = {label: median_rate(s, n) for label, s in trivial_samples.items()}

    def ratio(rate: float, peer: str) -> str:
        return f"{rate / rates[peer]:.2f}x" if peer in rates else "n/a"

    for label, rate in rates.items():
        lines.append(
            f"| {label} | {rate:,.0f} | {ratio(rate, 'Bytewax run_main')} | "
            f"{ratio(rate, 'stream-d4py simple')} |"
        )
    lines += [
        "",
        f"### Medium pipeline, N = {m:,} (two stages of ~10 us pure-Python work per item)",
        "",
        "| mapping | items/s | vs simple |",
        "|---|---:|---:|",
    ]
    medium_rates = {label: median_rate(s, m) for label, s in medium_samples.items()}
    for label, rate in medium_rates.items():
        lines.append(f"| {label} | {rate:,.0f} | {rate / medium_rates['simple']:.2f}x |")
    rss = {label: s[0].peak_rss_mb for label, s in memory_samples.items()}
    small_rss, large_rss = rss.values()
    lines += [
        "",
        "### Memory (d4p simple, trivial pipeline, peak RSS)",
        "",
        *(f"- {label}: {mb:.0f} MB" for label, mb in rss.items()),
        f"- {large // small}x the items: {large_rss / small_rss:.2f}x the memory",
        "",
        "### Import",
        "",
        f"- `import d4p_core`: {imported:.1f} ms (`python -X importtime`, best of 5)",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
