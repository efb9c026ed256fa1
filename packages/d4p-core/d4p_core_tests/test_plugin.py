"""d4p-core's pytest plugin: leak-check fixtures and the fast tier's marks."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

LEAKS_A_PROCESS = """
import subprocess, sys
import pytest

@pytest.mark.usefixtures("no_leftover_processes")
def test_leaves_a_child():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])

@pytest.mark.usefixtures("no_leftover_processes")
def test_waits_for_its_child():
    subprocess.run([sys.executable, "-c", "pass"], check=True)
"""

LEAKS_A_FILE = """
import tempfile
import pytest

@pytest.mark.usefixtures("no_leftover_temp_files")
def test_leaves_a_file():
    tempfile.mkstemp(prefix="d4p-plugin-test-")

@pytest.mark.usefixtures("no_leftover_temp_files")
def test_cleans_up():
    with tempfile.TemporaryDirectory():
        pass
"""

QUICK_CASES = """
from d4p_core.testing import MappingConformance

class TestQuick(MappingConformance):
    mapping = "simple"
    quick_cases = frozenset({"pipeline"})
"""


def test_a_test_that_leaves_a_process_running_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LEAKS_A_PROCESS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*the test left processes running*"])


def test_a_test_that_leaves_a_temp_file_fails(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    private_tmp = tmp_path_factory.mktemp("tmp")  # no other process writes here
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    pytester.makepyfile(LEAKS_A_FILE)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--basetemp", str(pytester.path / "bt")
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*the test left entries in*d4p-plugin-test-*"])


def test_cases_outside_quick_cases_are_marked_slow(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(QUICK_CASES)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-m", "slow", "--collect-only", "-q", "-k", "test_matches_simple"
    )
    collected = [line for line in result.outlines if "test_matches_simple[" in line]
    assert collected, result.outlines
    assert not any("[pipeline]" in line for line in collected)
    fast = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-m", "not slow", "-q", "-k", "test_matches_simple"
    )
    fast.assert_outcomes(passed=1)


QUICK_CLAUSES = """
from d4p_core.testing import MappingConformance

class TestSmoke(MappingConformance):
    mapping = "simple"
    quick_cases = frozenset({"pipeline"})
    quick_clauses = frozenset({"test_matches_simple", "test_inputs_as_a_list_of_dicts"})
"""


def test_clauses_outside_quick_clauses_are_marked_slow(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(QUICK_CLAUSES)
    fast = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-m", "not slow", "-q")
    # The pipeline case of test_matches_simple, and the one other clause.
    fast.assert_outcomes(passed=2, deselected=_suite_size(pytester) - 2)
    slow = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-m", "slow", "--collect-only", "-q"
    )
    collected = [line for line in slow.outlines if "::" in line]
    assert any("test_lifecycle_once_per_instance" in line for line in collected)
    assert any("test_matches_simple[word_count]" in line for line in collected)
    assert not any("test_inputs_as_a_list_of_dicts" in line for line in collected)


def _suite_size(pytester: pytest.Pytester) -> int:
    every = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--collect-only", "-q")
    return sum("::" in line for line in every.outlines)


LEAVES_IN_CLEAN_TMP = """
import os, subprocess, sys, tempfile

def test_children_write_there_and_leave_a_file(clean_tmp):
    assert tempfile.gettempdir() == str(clean_tmp) == os.environ["TMPDIR"]
    code = "import tempfile; tempfile.mkstemp(prefix='left-')"
    subprocess.run([sys.executable, "-c", code], check=True)

def test_cleans_up(clean_tmp):
    with tempfile.TemporaryDirectory():
        pass

def test_private_tmp_is_removed(private_tmp):
    (private_tmp / "scratch").write_text("removed with the directory")
"""


def test_a_test_that_leaves_a_file_in_clean_tmp_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LEAVES_IN_CLEAN_TMP)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*the test left entries in its temporary directory: ['left-*"])
