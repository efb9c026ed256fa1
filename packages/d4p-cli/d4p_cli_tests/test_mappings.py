"""``d4p mappings`` and discovery of a mapping registered by another distribution."""

from __future__ import annotations

import json
from collections.abc import Callable
from subprocess import CompletedProcess

from d4p_cli_tests._helpers import results

PIPELINE = "d4p_core.testing.workflows:build_pipeline"
Runner = Callable[..., "CompletedProcess[str]"]


def _rows(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    assert lines[0].split() == ["MAPPING", "DISTRIBUTION", "VERSION", "STATEFUL", "DESCRIPTION"]
    return {line.split()[0]: line.split() for line in lines[1:]}


def test_core_mappings_listed(d4p: Runner) -> None:
    completed = d4p("mappings")
    assert completed.returncode == 0, completed.stderr
    rows = _rows(completed.stdout)
    for name in ("simple", "multi"):
        assert rows[name][1:4] == ["d4p-core", rows[name][2], "yes"]
    assert "reference" in completed.stdout


def test_json_listing(d4p: Runner) -> None:
    completed = d4p("mappings", "--json")
    assert completed.returncode == 0, completed.stderr
    by_name = {entry["name"]: entry for entry in json.loads(completed.stdout)}
    assert by_name["simple"]["distribution"] == "d4p-core"
    assert by_name["simple"]["supports_stateful"] is True
    assert by_name["multi"]["description"]


def test_entry_point_of_another_distribution(d4p_with_test_mappings: Runner) -> None:
    completed = d4p_with_test_mappings("mappings", "--json")
    assert completed.returncode == 0, completed.stderr
    by_name = {entry["name"]: entry for entry in json.loads(completed.stdout)}
    echo = by_name["test_echo"]
    assert echo["distribution"] == "d4p-cli-test-mapping"
    assert echo["version"] == "0.1.0"
    assert echo["supports_stateful"] is False
    assert echo["description"] == "test-only mapping from a temporary distribution"
    assert "simple" in by_name


def test_every_mapping_says_yes_or_no(d4p: Runner) -> None:
    completed = d4p("mappings", "--json")
    assert completed.returncode == 0, completed.stderr
    entries = json.loads(completed.stdout)
    assert entries, "no mapping listed"
    assert {entry["name"]: entry["error"] for entry in entries if entry["error"]} == {}
    assert all(isinstance(entry["supports_stateful"], bool) for entry in entries)


def test_load_reads_the_classes(d4p_with_test_mappings: Runner) -> None:
    completed = d4p_with_test_mappings("mappings", "--load")
    assert completed.returncode == 0, completed.stderr
    rows = _rows(completed.stdout)
    assert rows["test_unreachable"][1:4] == ["d4p-cli-test-mapping", "0.1.0", "yes"]


def test_run_on_a_discovered_mapping(d4p_with_test_mappings: Runner) -> None:
    completed = d4p_with_test_mappings("run", "test_echo", PIPELINE, "-i", "3", "--greeting", "hi")
    assert completed.returncode == 0, completed.stderr
    assert results(completed.stdout) == {"PassThrough5.output": [1, 2, 3]}
    assert "on the test_echo mapping" in completed.stderr


def test_discovered_mapping_options_in_help(d4p_with_test_mappings: Runner) -> None:
    completed = d4p_with_test_mappings("run", "test_echo", "--help")
    assert completed.returncode == 0, completed.stderr
    assert "--greeting" in completed.stdout
    assert "a test-only option" in completed.stdout


def test_version_lists_distributions(d4p_with_test_mappings: Runner) -> None:
    completed = d4p_with_test_mappings("--version")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("d4p (d4p-cli) ")
    names = [line.split()[0] for line in lines[1:]]
    assert "d4p-cli" in names and "d4p-core" in names
    assert "d4p-cli-test-mapping" in names
