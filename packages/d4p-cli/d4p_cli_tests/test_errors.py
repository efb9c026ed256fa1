"""Every user error: one ``d4p: error:`` line on stderr and its own exit code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from d4p_cli import ExitCode
from d4p_cli_tests._helpers import error_line

Runner = Callable[..., "CompletedProcess[str]"]
WORDCOUNT = "examples/wordcount.py"


def _fails(completed: CompletedProcess[str], code: ExitCode, *, results_before: str = "") -> str:
    """The error line; stdout holds nothing, or only results of ``results_before``
    (results stream: those computed before a run failed were written)."""
    assert completed.returncode == code, (completed.returncode, completed.stderr)
    prefix = f'{{"pe": "{results_before}"'
    assert all(
        results_before and line.startswith(prefix) for line in completed.stdout.splitlines()
    ), completed.stdout
    return error_line(completed.stderr)


def test_unknown_mapping(d4p: Runner) -> None:
    line = _fails(d4p("run", "no_such_mapping", WORDCOUNT), ExitCode.MAPPING_NOT_FOUND)
    assert "no_such_mapping" in line
    assert "simple" in line and "multi" in line  # the installed list


def test_missing_file(d4p: Runner) -> None:
    line = _fails(d4p("run", "simple", "no/such/workflow.py"), ExitCode.TARGET_NOT_FOUND)
    assert "no/such/workflow.py" in line
    assert "no such file" in line


def test_missing_module(d4p: Runner) -> None:
    line = _fails(d4p("run", "simple", "no_such_module_anywhere"), ExitCode.TARGET_NOT_FOUND)
    assert "no_such_module_anywhere" in line


def test_missing_submodule(d4p: Runner) -> None:
    line = _fails(d4p("run", "simple", "d4p_core.no_such_thing"), ExitCode.TARGET_NOT_FOUND)
    assert "d4p_core.no_such_thing" in line


def test_missing_attribute(d4p: Runner) -> None:
    line = _fails(
        d4p("run", "simple", "d4p_core.testing.workflows:no_such_graph"), ExitCode.TARGET_NOT_FOUND
    )
    assert "no_such_graph" in line


def _raising_module(tmp_path: Path) -> Path:
    workflow = tmp_path / "raises_on_import.py"
    workflow.write_text("import os\n\nvalue = 1 / 0\n")
    return workflow


def test_module_that_raises_on_import(d4p: Runner, tmp_path: Path) -> None:
    completed = d4p("run", "simple", str(_raising_module(tmp_path)))
    line = _fails(completed, ExitCode.TARGET_IMPORT_FAILED)
    assert "ZeroDivisionError" in line
    assert "raises_on_import.py, line 3" in line
    assert "--debug" in line
    assert "Traceback" not in completed.stderr


def test_module_that_raises_on_import_with_debug(d4p: Runner, tmp_path: Path) -> None:
    completed = d4p("run", "simple", str(_raising_module(tmp_path)), "--debug")
    assert completed.returncode == ExitCode.TARGET_IMPORT_FAILED
    assert "Traceback (most recent call last)" in completed.stderr
    assert "value = 1 / 0" in completed.stderr
    assert "ZeroDivisionError" in error_line(completed.stderr)


def test_module_with_failing_import(d4p: Runner, tmp_path: Path) -> None:
    workflow = tmp_path / "needs_missing.py"
    workflow.write_text("import no_such_dependency_xyz\n")
    line = _fails(d4p("run", "simple", str(workflow)), ExitCode.TARGET_IMPORT_FAILED)
    assert "no_such_dependency_xyz" in line


def test_no_graph(d4p: Runner) -> None:
    line = _fails(d4p("run", "simple", "d4p_core.errors"), ExitCode.GRAPH_ERROR)
    assert "no workflow graph" in line


def test_several_graphs(d4p: Runner, tmp_path: Path) -> None:
    workflow = tmp_path / "two.py"
    workflow.write_text(
        "from d4p_core.testing.workflows import build_pipeline, build_tee\n"
        "first = build_pipeline()\nsecond = build_tee()\n"
    )
    line = _fails(d4p("run", "simple", str(workflow)), ExitCode.GRAPH_ERROR)
    assert "first" in line and "second" in line
    assert "-a" in line


def test_invalid_json(d4p: Runner) -> None:
    line = _fails(d4p("run", "simple", WORDCOUNT, "-d", "{bad"), ExitCode.INPUT_ERROR)
    assert "invalid input JSON" in line


def test_missing_input_file(d4p: Runner) -> None:
    line = _fails(d4p("run", "simple", WORDCOUNT, "-f", "no_such.json"), ExitCode.INPUT_ERROR)
    assert "no_such.json" in line


def test_unknown_pe_in_inputs(d4p: Runner) -> None:
    completed = d4p("run", "simple", WORDCOUNT, "-d", '{"Nope": 1}')
    line = _fails(completed, ExitCode.INPUT_ERROR)
    assert "Nope" in line
    assert "RandomWord" in line
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize("mapping", ["simple", "multi"])
def test_pe_that_raises(d4p: Runner, tmp_path: Path, mapping: str) -> None:
    workflow = tmp_path / "raising.py"
    workflow.write_text(
        "from d4p_core.testing.conformance import build_failing\ngraph = build_failing('process')\n"
    )
    completed = d4p("run", mapping, str(workflow), "-i", "5", "-n", "4")
    line = _fails(completed, ExitCode.RUN_FAILED, results_before="PassThrough3")
    assert "Failing2" in line
    assert "failing on purpose" in line
    assert "input" in line
    assert "Traceback" in completed.stderr  # the PE's own traceback, for the user
    assert completed.stderr.rstrip().splitlines()[-1] == line  # the clear line comes last


def test_too_few_processes(d4p: Runner) -> None:
    line = _fails(d4p("inspect", WORDCOUNT, "-n", "2"), ExitCode.GRAPH_ERROR)
    assert "at least 4 processes" in line


@pytest.mark.parametrize(
    "args",
    [
        ("run",),
        ("run", "simple"),
        ("run", "simple", WORDCOUNT, "--no-such-option"),
        ("run", "simple", WORDCOUNT, "-i", "3", "-d", '{"RandomWord": 1}'),
        ("run", "simple", WORDCOUNT, "-n", "0"),
        ("run", "simple", WORDCOUNT, "-i", "many"),
        ("run", "multi", WORDCOUNT, "--fuse", "sometimes"),
        ("graph",),
        ("inspect", WORDCOUNT, "-n", "x"),
        ("mappings", "--bogus"),
        ("--bogus",),
        ("nosuchcommand",),
        (),
    ],
)
def test_usage_errors(d4p: Runner, args: tuple[str, ...]) -> None:
    completed = d4p(*args)
    assert completed.returncode == ExitCode.USAGE, completed.stderr
    if args:
        error_line(completed.stderr)


def test_unwritable_output(d4p: Runner, tmp_path: Path) -> None:
    target = tmp_path / "no_such_dir" / "out.jsonl"
    line = _fails(d4p("run", "simple", WORDCOUNT, "--output", str(target)), ExitCode.OUTPUT_FAILED)
    assert "out.jsonl" in line


def test_unwritable_metrics(d4p: Runner, tmp_path: Path) -> None:
    target = tmp_path / "no_such_dir" / "m.json"
    line = _fails(
        d4p("run", "simple", WORDCOUNT, "--metrics", str(target), "--quiet"),
        ExitCode.OUTPUT_FAILED,
    )
    assert "m.json" in line


def test_unreachable_service(d4p_with_test_mappings: Runner) -> None:
    completed = d4p_with_test_mappings("run", "test_unreachable", WORDCOUNT)
    line = _fails(completed, ExitCode.SERVICE_UNREACHABLE)
    assert "unreachable" in line
    assert "ConnectionRefusedError" in line


def test_unsupported_graph(d4p_with_test_mappings: Runner) -> None:
    # examples/wordcount.py groups by word: a stateful PE the test mapping refuses.
    completed = d4p_with_test_mappings("run", "test_echo", WORDCOUNT)
    line = _fails(completed, ExitCode.UNSUPPORTED_GRAPH)
    assert "CountWords1" in line


def test_exit_codes_follow_core() -> None:
    from d4p_core import (
        D4pError,
        GraphError,
        InputError,
        MappingNotFoundError,
        RunError,
        UnsupportedGraphError,
    )

    assert D4pError.exit_code == ExitCode.ERROR
    assert RunError.exit_code == ExitCode.RUN_FAILED
    assert GraphError.exit_code == ExitCode.GRAPH_ERROR
    assert InputError.exit_code == ExitCode.INPUT_ERROR
    assert MappingNotFoundError.exit_code == ExitCode.MAPPING_NOT_FOUND
    assert UnsupportedGraphError.exit_code == ExitCode.UNSUPPORTED_GRAPH


def test_exit_codes_are_distinct_and_documented() -> None:
    from d4p_cli import EXIT_CODES

    assert len({int(code) for code in ExitCode}) == len(ExitCode)
    assert set(EXIT_CODES) == set(ExitCode)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    root_readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    for code in ExitCode:
        assert f"| {int(code)} |" in readme, code
        assert f"| {int(code)} |" in root_readme, code
