"""PE prints go to stderr, each line prefixed with the printing PE."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest

from d4p_core import IterativePE, WorkflowGraph, run
from d4p_core.backend import pe_prints_to_stderr
from d4p_core.runtime.pe_output import PEOutput
from d4p_core.testing.pes import CountingProducer


class Printer(IterativePE):
    def _process(self, value: Any) -> Any:
        print("value", value, end="")
        print(" seen")
        return value


def test_lines_carry_the_pe_and_text_outside_a_pe_does_not() -> None:
    target = io.StringIO()
    output = PEOutput(target)
    pe = Printer()
    pe.rank = 3
    original = sys.stdout
    sys.stdout = output
    try:
        pe._process(7)
        print("from the driver")
    finally:
        sys.stdout = original
    assert target.getvalue() == "Printer (rank 3): value 7 seen\nfrom the driver\n"


def test_a_run_in_the_block_keeps_stdout_for_results(capsys: pytest.CaptureFixture[str]) -> None:
    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", Printer(), "input")
    with pe_prints_to_stderr():
        result = run(graph, inputs=2)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "Printer1 (rank 0): value 1 seen",
        "Printer1 (rank 0): value 2 seen",
    ]
    assert result.outputs["Printer1"]["output"] == [1, 2]
