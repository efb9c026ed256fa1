"""The ``d4p`` command end to end on every installed mapping: results, exit
codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def _results(stdout: str) -> dict[str, list[object]]:
    found: dict[str, list[object]] = {}
    for line in stdout.splitlines():
        record = json.loads(line)
        found.setdefault(f"{record['pe']}.{record['output']}", []).append(record["value"])
    return found


@pytest.mark.parametrize("mapping", ["simple", "multi", "hybrid_multi"])
def test_example_word_count(run_module: Runner, mapping: str) -> None:
    completed = run_module(mapping, "examples/wordcount.py", "-i", "30", "-n", "4", "--quiet")
    assert completed.returncode == 0, completed.stderr
    counts = _results(completed.stdout)["CountWords1.output"]
    assert len(counts) == 30
    per_word: dict[str, list[int]] = {}
    for pair in counts:
        assert isinstance(pair, list)
        word, count = pair
        per_word.setdefault(str(word), []).append(int(count))
    for values in per_word.values():
        assert sorted(values) == list(range(1, len(values) + 1))


def test_inputs_from_json_by_name(run_module: Runner) -> None:
    completed = run_module("simple", "examples/wordcount.py", "-d", '{"RandomWord": 4}')
    assert completed.returncode == 0, completed.stderr
    assert len(_results(completed.stdout)["CountWords1.output"]) == 4


def test_inputs_from_file(run_module: Runner, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.json"
    inputs.write_text('{"RandomWord0": [{}, {}, {}]}')
    completed = run_module("simple", "examples/wordcount.py", "-f", str(inputs))
    assert completed.returncode == 0, completed.stderr
    assert len(_results(completed.stdout)["CountWords1.output"]) == 3


def test_module_target_with_attribute(run_module: Runner) -> None:
    completed = run_module("simple", "d4p_core.testing.workflows:build_pipeline", "-i", "3")
    assert completed.returncode == 0, completed.stderr
    assert _results(completed.stdout) == {"PassThrough5.output": [1, 2, 3]}


@pytest.mark.parametrize("mapping", ["multi", "dyn_multi", "dyn_auto_multi", "hybrid_multi"])
def test_process_mappings_from_the_command_line(run_module: Runner, mapping: str) -> None:
    completed = run_module(
        mapping, "d4p_core.testing.workflows:build_parallel_pipeline", "-i", "25", "-n", "3"
    )
    assert completed.returncode == 0, completed.stderr
    results = _results(completed.stdout)
    assert sorted(results["PassThrough2.output"]) == list(range(1, 26))  # type: ignore[type-var]
    assert sorted(results["PassThrough3.output"]) == list(range(1, 26))  # type: ignore[type-var]


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("d4p: error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_unknown_pe_lists_valid_names(run_module: Runner) -> None:
    completed = run_module("simple", "examples/wordcount.py", "-d", '{"Nope": 1}')
    assert completed.returncode != 0
    line = _one_error_line(completed.stderr)
    assert "Nope" in line
    assert "RandomWord" in line
    assert "Traceback" not in completed.stderr


def test_invalid_json(run_module: Runner) -> None:
    completed = run_module("simple", "examples/wordcount.py", "-d", "{bad")
    assert completed.returncode != 0
    assert "invalid input JSON" in _one_error_line(completed.stderr)


def test_bad_module_path(run_module: Runner) -> None:
    completed = run_module("simple", "no_such_module_anywhere")
    assert completed.returncode != 0
    assert "no_such_module_anywhere" in _one_error_line(completed.stderr)


def test_missing_graph(run_module: Runner) -> None:
    completed = run_module("simple", "d4p_core.errors")
    assert completed.returncode != 0
    assert "no workflow graph" in _one_error_line(completed.stderr)


def test_unknown_mapping(run_module: Runner) -> None:
    completed = run_module("no_such_mapping", "examples/wordcount.py")
    assert completed.returncode != 0
    line = _one_error_line(completed.stderr)
    assert "no_such_mapping" in line
    assert "simple" in line


def test_pe_that_raises(run_module: Runner, tmp_path: Path) -> None:
    workflow = tmp_path / "raising.py"
    workflow.write_text(
        "from d4p_core.testing.conformance import build_failing\ngraph = build_failing('process')\n"
    )
    completed = run_module("simple", str(workflow), "-i", "5")
    assert completed.returncode != 0
    line = _one_error_line(completed.stderr)
    assert "Failing2" in line
    assert "failing on purpose" in line
    assert "Traceback" in completed.stderr  # the PE's own traceback, for the user
