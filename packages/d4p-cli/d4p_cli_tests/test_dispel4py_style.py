"""dispel4py command lines: ``dispel4py MAPPING MODULE [flags]``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from d4p_cli import ExitCode
from d4p_cli._compat_args import translate
from d4p_cli_tests._helpers import error_line, results

Runner = Callable[..., "CompletedProcess[str]"]
WORKFLOWS = Path(__file__).resolve().parent / "dispel4py_workflows"
PIPELINE = str(WORKFLOWS / "pipeline_test.py")
EXPECTED = {"TestOneInOneOut5.output": list(range(1, 11))}


def test_multi_iterations_and_processes(d4p: Runner) -> None:
    completed = d4p("multi", PIPELINE, "-i", "10", "-n", "6")
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == EXPECTED


def test_multi_simple_flag_and_long_num(d4p: Runner) -> None:
    completed = d4p("multi", PIPELINE, "-i", "10", "--num", "3", "-s")
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == EXPECTED


def test_mapping_module_name(d4p: Runner) -> None:
    completed = d4p("dispel4py.new.simple_process", PIPELINE, "-i", "10")
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == EXPECTED


def test_data_by_pe_name(d4p: Runner) -> None:
    completed = d4p("simple", PIPELINE, "-d", '{"prod": 3}')
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == {"TestOneInOneOut5.output": [1, 2, 3]}


def test_file_wins_over_data_and_iter(d4p: Runner, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.json"
    inputs.write_text('{"prod0": [{}, {}]}')
    completed = d4p(
        "simple", PIPELINE, "-i", "7", "-d", '{"prod": 3}', "-f", str(inputs), "--quiet"
    )
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == {"TestOneInOneOut5.output": [1, 2]}


def test_data_wins_over_iter(d4p: Runner) -> None:
    completed = d4p("simple", PIPELINE, "-i", "7", "-d", '{"prod": 3}')
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == {"TestOneInOneOut5.output": [1, 2, 3]}


def test_attr_flag(d4p: Runner) -> None:
    completed = d4p("simple", PIPELINE, "-a", "graph", "-i", "10")
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == EXPECTED


def test_unused_and_unsupported_flags(d4p: Runner) -> None:
    completed = d4p("simple", PIPELINE, "-i", "10", "-ct", "5", "-s")
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == EXPECTED
    assert "d4p: warning: -s has no equivalent for this mapping" in completed.stderr
    assert "-ct" not in completed.stderr


def test_dispel4py_module_the_compat_layer_lacks(d4p: Runner) -> None:
    completed = d4p("simple", str(WORKFLOWS / "uses_mpi.py"))
    assert completed.returncode == ExitCode.TARGET_IMPORT_FAILED, completed.stderr
    assert "dispel4py.new.mpi_process" in error_line(completed.stderr)


def _script(name: str) -> str | None:
    return shutil.which(name, path=os.path.dirname(sys.executable))


@pytest.mark.parametrize("script", ["dispel4py", "d4p"])
def test_console_scripts(script: str) -> None:
    path = _script(script)
    if path is None:
        pytest.skip(f"the {script} console script is not installed next to {sys.executable}")
    completed = subprocess.run(
        [path, "multi", PIPELINE, "-i", "10", "-n", "6"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == EXPECTED


def test_dispel4py_script_treats_run_as_a_mapping() -> None:
    path = _script("dispel4py")
    if path is None:
        pytest.skip("the dispel4py console script is not installed")
    completed = subprocess.run(
        [path, "run", PIPELINE], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == ExitCode.MAPPING_NOT_FOUND
    assert "'run'" in error_line(completed.stderr)


# -- the translation itself ---------------------------------------------------


def test_translate_renames_to_the_mappings_options() -> None:
    known = {"-n", "--processes", "--fuse", "--queue-threshold"}
    translated = translate(["mod", "--num", "4", "-s", "-thr=3", "-ct", "9"], known)
    assert translated.argv == ["mod", "--processes", "4", "--fuse=always", "--queue-threshold", "3"]
    assert translated.warnings == []


def test_translate_leaves_flags_the_mapping_defines() -> None:
    translated = translate(["mod", "-s", "-ri", "host"], {"-s", "-ri"})
    assert translated.argv == ["mod", "-s", "-ri", "host"]


def test_translate_builds_a_redis_url() -> None:
    translated = translate(["mod", "-ri", "10.0.0.2", "-rp", "6380"], {"--redis-url"})
    assert translated.argv == ["mod", "--redis-url", "redis://10.0.0.2:6380"]


def test_translate_warns_about_what_it_drops() -> None:
    translated = translate(["mod", "-thr", "5", "--provenance-config", "-i", "2"], {"-i"})
    assert translated.argv == ["mod", "-i", "2"]
    assert len(translated.warnings) == 2
