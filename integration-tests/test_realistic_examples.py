"""The realistic examples (``examples/corpus_wordcount.py``,
``sensor_windows.py``, ``seismic_xcorr.py``, ``dispel4py_style.py``) on every
installed mapping, each result checked against an answer computed directly
from the example's generated data (not against another mapping's run).

The three d4p examples run in-process (``d4p_core.run`` on the module
loaded as ``d4p run`` loads it); the dispel4py-style one runs as its users
run it, through ``d4p run`` (which installs the compatibility layer). All
four keep state (a group-by or a ``global`` input), so the dynamic mappings
refuse them: exactly ``UnsupportedGraphError`` / exit 6 naming a stateful PE.
The seismic example's stateless first phase (pre-processing into files)
runs on those too.
Storm runs start a LocalCluster each: marked ``slow``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import d4p_core

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
MAPPINGS = sorted(d4p_core.available_mappings())
PROCESSES = 6


def _marks(mapping: str) -> Any:
    return pytest.param(mapping, marks=pytest.mark.slow) if mapping == "storm" else mapping


EVERY_MAPPING = [_marks(m) for m in MAPPINGS]


def _example(name: str) -> ModuleType:
    pytest.importorskip("numpy")
    return d4p_core.load_module(str(EXAMPLES / f"{name}.py"))


def _refuses_stateful(mapping: str) -> bool:
    return not d4p_core.load_mapping(mapping).supports_stateful


def _run(graph: d4p_core.WorkflowGraph, mapping: str, **kwargs: Any) -> d4p_core.RunResult | None:
    """The run's result, or ``None`` where the mapping refused the graph as
    it must (a dynamic mapping and a stateful graph)."""
    if _refuses_stateful(mapping):
        with pytest.raises(d4p_core.UnsupportedGraphError, match=f"{mapping} runs only stateless"):
            d4p_core.run(graph, mapping, processes=PROCESSES, **kwargs)
        return None
    return d4p_core.run(graph, mapping, processes=PROCESSES, **kwargs)


def _only(result: d4p_core.RunResult, output: str = "output") -> list[Any]:
    (outputs,) = result.outputs.values()
    values: list[Any] = outputs[output]
    return values


# --- text corpus word count --------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Counter[str]]:
    """The example's synthetic corpus and its word counts, counted here."""
    folder = _example("corpus_wordcount").make_corpus(tmp_path_factory.mktemp("corpus"))
    counts: Counter[str] = Counter()
    for path in folder.rglob("*"):
        if path.is_file():
            counts.update(re.findall(r"[a-z0-9']+", path.read_text(encoding="utf-8").lower()))
    return folder, counts


@pytest.mark.parametrize("mapping", EVERY_MAPPING)
def test_corpus_wordcount(
    mapping: str, corpus: tuple[Path, Counter[str]], no_leftover_processes: None
) -> None:
    example = _example("corpus_wordcount")
    folder, counts = corpus
    result = _run(example.build(folder, top=12), mapping)
    if result is None:
        return
    (summary,) = _only(result)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    assert summary == {
        "top": [list(item) for item in ranked[:12]],
        "words": sum(counts.values()),
        "distinct": len(counts),
    }
    (tokenise,) = (m for pe_id, m in result.metrics.items() if pe_id.startswith("Tokenise"))
    assert tokenise.items_in == sum(1 for _ in _lines(folder))


def _lines(folder: Path) -> Any:
    for path in folder.rglob("*"):
        if path.is_file():
            yield from path.read_text(encoding="utf-8").splitlines()


# --- sensor windows ----------------------------------------------------------

SENSOR_CALLS = 3


@pytest.mark.parametrize("mapping", EVERY_MAPPING)
def test_sensor_windows(mapping: str, no_leftover_processes: None) -> None:
    example = _example("sensor_windows")
    result = _run(example.build(), mapping, inputs=SENSOR_CALLS)
    if result is None:
        return
    anomalies = _only(result, "anomalies")
    assert {(a["sensor"], a["t"]) for a in anomalies} == example.injected_spikes(SENSOR_CALLS)
    assert len(anomalies) == SENSOR_CALLS * example.SPIKES  # each found once

    import numpy as np

    series = np.concatenate([example.hour(call)[0] for call in range(SENSOR_CALLS)], axis=1)
    windows = series.reshape(example.SENSORS, -1, example.WINDOW)  # (sensor, window, sample)
    stats = _only(result)
    assert sorted((s["sensor"], s["window"]) for s in stats) == [
        (sensor, window) for sensor in range(windows.shape[0]) for window in range(windows.shape[1])
    ]
    for s in stats:
        values = windows[s["sensor"], s["window"]]
        assert s["count"] == example.WINDOW
        for name, expected in (
            ("mean", values.mean()),
            ("std", values.std()),
            ("min", values.min()),
            ("max", values.max()),
        ):
            assert s[name] == pytest.approx(expected, abs=1e-4), (s, name)


# --- seismic cross-correlation -----------------------------------------------


@pytest.mark.parametrize("mapping", EVERY_MAPPING)
def test_seismic_xcorr(mapping: str, no_leftover_processes: None) -> None:
    example = _example("seismic_xcorr")
    result = _run(example.build(), mapping)
    if result is None:
        return
    found = {tuple(r["pair"]): r for r in _only(result)}
    expected = example.expected_lags()
    assert {pair: r["lag_samples"] for pair, r in found.items()} == expected
    for pair, r in found.items():
        assert r["lag_seconds"] == expected[pair] / example.RATE
        assert 0.9 < r["coefficient"] <= 1.0, r


@pytest.mark.parametrize("mapping", EVERY_MAPPING)
def test_seismic_phases_apart(mapping: str, tmp_path: Path, no_leftover_processes: None) -> None:
    """Phase 1 (stateless pre-processing into files) runs on every mapping,
    the dynamic ones included; phase 2 on ``simple`` finds the delays in
    what it wrote."""
    example = _example("seismic_xcorr")
    folder = tmp_path / "traces"
    written = d4p_core.run(example.build_preprocess(folder), mapping, processes=PROCESSES)
    reports = _only(written)
    assert sum(r["items"] for r in reports) == len(example.DELAYS)
    assert sorted(Path(r["path"]) for r in reports) == sorted(folder.iterdir())
    result = d4p_core.run(example.build_correlate(folder), "simple")
    found = {tuple(r["pair"]): r["lag_samples"] for r in _only(result)}
    assert found == example.expected_lags()


# --- the dispel4py workflow, through d4p run ---------------------------------

DISPEL4PY_ITERATIONS = 300


@pytest.fixture(scope="module")
def dispel4py_expected() -> dict[str, Any]:
    """The answer, computed by the example's own ``expected`` in a module
    loaded with the compatibility layer in a child process (so this test
    process never installs it)."""
    import subprocess
    import sys

    code = (
        "import json, d4p_core.compat; d4p_core.compat.install(); import d4p_core; "
        f"m = d4p_core.load_module({str(EXAMPLES / 'dispel4py_style.py')!r}); "
        f"print(json.dumps(m.expected({DISPEL4PY_ITERATIONS})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    expected: dict[str, Any] = json.loads(done.stdout)
    return expected


@pytest.mark.parametrize("mapping", EVERY_MAPPING)
def test_dispel4py_style_through_d4p_run(
    mapping: str, run_module: Any, dispel4py_expected: dict[str, Any]
) -> None:
    completed = run_module(
        mapping,
        "examples/dispel4py_style.py",
        "-i",
        str(DISPEL4PY_ITERATIONS),
        "-n",
        str(PROCESSES),
        "--quiet",
    )
    if _refuses_stateful(mapping):
        assert completed.returncode == 6, completed.stderr
        assert completed.stdout == ""
        assert re.search(rf"{mapping} runs only stateless", completed.stderr), completed.stderr
        return
    assert completed.returncode == 0, completed.stderr
    results: dict[str, list[Any]] = {}
    for line in completed.stdout.splitlines():
        record = json.loads(line)
        results.setdefault(record["pe"].rstrip("0123456789"), []).append(record["value"])
    assert sorted(results["ReadingsPerStation"]) == dispel4py_expected["counts"]
    (average,) = results["AverageReducePE"]
    assert average == pytest.approx(dispel4py_expected["avg"])
    assert results["MaxPE"] == [dispel4py_expected["max"]]


# --- each example's module-level graph, as `d4p run simple FILE` runs it -----


@pytest.mark.parametrize(
    ("example", "args", "results"),
    [
        ("corpus_wordcount", [], 1),
        ("sensor_windows", ["-i", "2"], 6 * 12 + 2 * 4),
        ("seismic_xcorr", [], 10),
    ],
)
def test_d4p_run_simple_runs_the_module_graph(
    example: str,
    args: list[str],
    results: int,
    run_module: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("numpy")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the default corpus goes
    monkeypatch.delenv("WORDCOUNT_CORPUS", raising=False)
    completed = run_module("simple", f"examples/{example}.py", *args, "--quiet")
    assert completed.returncode == 0, completed.stderr
    assert len(completed.stdout.splitlines()) == results, completed.stdout


def test_corpus_wordcount_writes_its_corpus_when_run_not_when_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default corpus is written by the run's source, once, into the
    temporary directory; a second run reads it again; loading the file
    (as ``d4p graph`` and every worker do) writes nothing."""
    example = _example("corpus_wordcount")
    monkeypatch.setattr(example.tempfile, "tempdir", str(tmp_path))
    graph = example.build()
    assert list(tmp_path.iterdir()) == []
    first = _only(d4p_core.run(graph, "simple"))
    assert [p.name for p in tmp_path.iterdir()] == [f"d4p-example-corpus-{example.SEED}"]
    assert _only(d4p_core.run(graph, "simple")) == first
    counted = _only(d4p_core.run(example.build(example.default_corpus()), "simple"))
    assert counted == first
