"""``dispel4py.new.simple_process``: run a graph in this process (d4p's ``simple``).

A failing PE raises :class:`d4p_core.errors.RunError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InputError
from ..inputs import Inputs
from ..mappings.simple import SimpleMapping, SimpleOptions
from ..model.graph import WorkflowGraph
from ..model.pe import GenericPE
from ..runtime.result import Outputs

__all__ = ["process", "process_and_return"]

ResultMappings = Mapping[str, Sequence[str]]


def process_and_return(
    workflow: WorkflowGraph,
    inputs: Inputs,
    resultmappings: ResultMappings | None = None,
    args: Any = None,
) -> Outputs:
    """Run ``workflow`` and return ``{pe_id: {output: [values]}}`` of its
    unconnected outputs (only the outputs listed per PE in ``resultmappings``,
    when given for that PE)."""
    if resultmappings:
        _check_result_mappings(workflow, resultmappings)
    outputs = SimpleMapping().run(workflow, inputs, SimpleOptions()).outputs
    if not resultmappings:
        return outputs
    return {
        pe_id: {
            name: values
            for name, values in by_output.items()
            if pe_id not in resultmappings or name in resultmappings[pe_id]
        }
        for pe_id, by_output in outputs.items()
    }


def _check_result_mappings(workflow: WorkflowGraph, resultmappings: ResultMappings) -> None:
    flat = workflow.flat()
    connected = {(connection.src, connection.src_port) for connection in flat.connections}
    by_id = flat.by_id()
    for pe_id, names in resultmappings.items():
        pe = by_id.get(pe_id)
        for name in names:
            if pe is not None and (pe, name) in connected:
                raise InputError(
                    f"result mapping {pe_id}.{name}: only unconnected outputs can be "
                    "collected; connect a sink PE to that output instead"
                )


def _input_key(key: Any) -> Any:
    return key.id if isinstance(key, GenericPE) else key


def process(workflow: WorkflowGraph, inputs: Inputs, args: Any = None) -> None:
    """Run ``workflow`` and print its inputs and outputs, like dispel4py."""
    shown = {_input_key(k): v for k, v in inputs.items()} if isinstance(inputs, Mapping) else inputs
    print(f"Inputs: {shown}")
    outputs = process_and_return(workflow, inputs, args=args)
    print(f"Outputs: {outputs}")
