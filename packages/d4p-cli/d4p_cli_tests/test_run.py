"""``d4p run``: results, inputs, output and metrics files, mapping options."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from d4p_cli_tests._helpers import results

Runner = Callable[..., "CompletedProcess[str]"]
PIPELINE = "d4p_core.testing.workflows:build_pipeline"


def _word_counts(stdout: str) -> list[list[object]]:
    values = results(stdout)["CountWords1.output"]
    return [value for value in values if isinstance(value, list)]


def test_example_word_count(d4p: Runner) -> None:
    completed = d4p("run", "simple", "examples/wordcount.py", "-i", "20")
    assert completed.returncode == 0, completed.stderr
    counts = _word_counts(completed.stdout)
    assert len(counts) == 20
    per_word: dict[str, list[int]] = {}
    for word, count in counts:
        per_word.setdefault(str(word), []).append(int(str(count)))
    for values in per_word.values():
        assert sorted(values) == list(range(1, len(values) + 1))


def test_summary_table_on_stderr(d4p: Runner) -> None:
    completed = d4p("run", "simple", "examples/wordcount.py", "-i", "7")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stderr.splitlines()
    assert lines[0].split()[:2] == ["PE", "instances"]
    assert any(line.split()[0] == "CountWords1" and line.split()[2] == "7" for line in lines[1:])
    assert "7 result(s)" in lines[-1]
    assert "simple" in lines[-1]
    assert "\r" not in completed.stderr  # no progress line when stderr is not a terminal


def test_module_attribute_target(d4p: Runner) -> None:
    completed = d4p("run", "simple", PIPELINE, "-i", "3")
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == {"PassThrough5.output": [1, 2, 3]}


def test_attr_option(d4p: Runner) -> None:
    completed = d4p("run", "simple", "d4p_core.testing.workflows", "-a", "build_tee", "-i", "2")
    assert completed.returncode == 0, completed.stderr
    expected = {"PassThrough1.output": [1, 2], "PassThrough2.output": [1, 2]}
    assert results(completed.stdout) == expected


def test_no_inputs_runs_every_source_once(d4p: Runner) -> None:
    completed = d4p("run", "simple", PIPELINE)
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == {"PassThrough5.output": [1]}


def test_inputs_json_by_name(d4p: Runner) -> None:
    completed = d4p("run", "simple", "examples/wordcount.py", "-d", '{"RandomWord": 4}')
    assert completed.returncode == 0, completed.stderr
    assert len(_word_counts(completed.stdout)) == 4


def test_inputs_file_by_id(d4p: Runner, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.json"
    inputs.write_text('{"RandomWord0": [{}, {}, {}]}')
    completed = d4p("run", "simple", "examples/wordcount.py", "-f", str(inputs))
    assert completed.returncode == 0, completed.stderr
    assert len(_word_counts(completed.stdout)) == 3


def test_multi_gives_the_same_results(d4p: Runner) -> None:
    simple = d4p("run", "simple", "examples/wordcount.py", "-i", "30", "--quiet")
    multi = d4p("run", "multi", "examples/wordcount.py", "-i", "30", "-n", "5", "--quiet")
    assert simple.returncode == 0, simple.stderr
    assert multi.returncode == 0, multi.stderr
    assert sorted(map(str, _word_counts(multi.stdout))) == sorted(
        map(str, _word_counts(simple.stdout))
    )


def test_mapping_options_are_accepted(d4p: Runner) -> None:
    completed = d4p(
        "run", "multi", PIPELINE, "-i", "4", "-n", "3", "--fuse", "always", "--batch-size", "2"
    )
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == {"PassThrough5.output": [1, 2, 3, 4]}


def test_mapping_help_shows_its_options(d4p: Runner) -> None:
    completed = d4p("run", "multi", "--help")
    assert completed.returncode == 0, completed.stderr
    assert "options of the 'multi' mapping" in completed.stdout
    assert "--fuse" in completed.stdout
    assert "--batch-size" in completed.stdout
    assert "--output" in completed.stdout


def test_run_help_without_mapping(d4p: Runner) -> None:
    completed = d4p("run", "--help")
    assert completed.returncode == 0, completed.stderr
    assert "MAPPING" in completed.stdout
    assert "--fuse" not in completed.stdout


def test_output_and_metrics_files(d4p: Runner, tmp_path: Path) -> None:
    output, metrics = tmp_path / "results.jsonl", tmp_path / "metrics.json"
    completed = d4p(
        "run",
        "simple",
        "examples/wordcount.py",
        "-i",
        "6",
        "--output",
        str(output),
        "--metrics",
        str(metrics),
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == ""
    assert len(_word_counts(output.read_text())) == 6
    document = json.loads(metrics.read_text())
    assert document["mapping"] == "simple"
    assert document["results"] == {"CountWords1": {"output": 6}}
    assert document["pes"]["RandomWord0"]["items_out"] == 6
    assert document["pes"]["CountWords1"]["items_in"] == 6
    assert document["elapsed_seconds"] >= 0


def test_multi_metrics_per_instance(d4p: Runner, tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.json"
    completed = d4p(
        "run", "multi", "examples/wordcount.py", "-i", "9", "-n", "4", "--metrics", str(metrics)
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(metrics.read_text())
    assert document["pes"]["CountWords1"]["instances"] == 3
    assert document["pes"]["CountWords1"]["items_in"] == 9


def test_quiet_prints_only_results(d4p: Runner) -> None:
    completed = d4p("run", "simple", PIPELINE, "-i", "2", "--quiet")
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert results(completed.stdout) == {"PassThrough5.output": [1, 2]}


def test_values_that_are_not_json(d4p: Runner, tmp_path: Path) -> None:
    workflow = tmp_path / "sets.py"
    workflow.write_text(
        "from d4p_core import ProducerPE, WorkflowGraph\n"
        "class Sets(ProducerPE):\n"
        "    def _process(self, inputs):\n"
        "        return [{3, 1, 2}, b'raw', object]\n"
        "graph = WorkflowGraph()\n"
        "graph.add(Sets())\n"
    )
    completed = d4p("run", "simple", str(workflow), "--quiet")
    assert completed.returncode == 0, completed.stderr
    [value] = results(completed.stdout)["Sets0.output"]
    assert value == [[1, 2, 3], "raw", repr(object)]


@pytest.mark.parametrize("command", [("run", "simple"), ()])
def test_python_dash_m_and_dispel4py_style_agree(d4p: Runner, command: tuple[str, ...]) -> None:
    args = (*command, PIPELINE, "-i", "2") if command else ("simple", PIPELINE, "-i", "2")
    completed = d4p(*args)
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == {"PassThrough5.output": [1, 2]}
