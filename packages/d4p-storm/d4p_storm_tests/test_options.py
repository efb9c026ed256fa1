"""The storm mapping's options, declared once (core derives the command
line and the keyword options from StormOptions), and its plan: Storm's
instance counts, one task per instance (no JVM needed)."""

from __future__ import annotations

import argparse

import pytest

from d4p_core import D4pError, WorkflowGraph
from d4p_core.testing.pes import CountingProducer, PassThrough, WordCounter
from d4p_storm import StormMapping, StormOptions


def _from_cli(*argv: str) -> StormOptions:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", dest="processes", type=int)
    mapping = StormMapping()
    mapping.add_arguments(parser)
    return mapping.options_from_args(parser.parse_args(argv))


def test_command_line_options() -> None:
    options = _from_cli(
        "-n", "3", "--nimbus", "nimbus.example:6627", "--batch-size", "8",
        "--conf", "topology.debug=true", "--conf", "name=plain text",
        "--worker-python", "/opt/python", "--timeout", "2.5",
    )  # fmt: skip
    assert options.processes == 3
    assert options.nimbus == "nimbus.example:6627"
    assert options.batch_size == 8
    assert options.conf == {"topology.debug": True, "name": "plain text"}
    assert options.worker_python == "/opt/python"
    assert options.timeout == 2.5
    defaults = _from_cli()
    assert (defaults.batch_size, defaults.workers, defaults.conf) == (256, 1, {})
    assert defaults == StormOptions()


def test_invalid_options_are_refused() -> None:
    mapping = StormMapping()
    with pytest.raises(D4pError, match="batch_size must be at least 1"):
        mapping.options_from_kwargs(None, batch_size=0)
    with pytest.raises(D4pError, match="invalid option for storm: batchsize"):
        mapping.options_from_kwargs(None, batchsize=8)
    with pytest.raises(D4pError, match="choose one of --local and --nimbus"):
        _from_cli("--local", "--nimbus", "nimbus.example:6627")
    with pytest.raises(D4pError, match="KEY=VALUE"):
        _from_cli("--conf", "no-equals-sign")
    with pytest.raises(D4pError, match="exactly two"):
        mapping.options_from_kwargs(None, command=["python"])
    assert mapping.options_from_kwargs(None, command=["py", "run.py"]).command == ("py", "run.py")


def test_plan_is_one_task_per_instance() -> None:
    graph = WorkflowGraph()
    counter = WordCounter(numprocesses=3)
    graph.connect(CountingProducer(), "output", counter, "input")
    graph.connect(counter, "output", PassThrough(), "input")
    placed = StormMapping().plan(graph, StormOptions(processes=2))
    assert placed.plan.instances[counter.id] == 3  # -n is raised to what the graph needs
    assert all(len(partition) == 1 for partition in placed.partitions)
    assert sorted(placed.owner) == sorted(
        (pe, i) for pe in placed.plan.pe_ids for i in range(placed.plan.instances[pe])
    )
