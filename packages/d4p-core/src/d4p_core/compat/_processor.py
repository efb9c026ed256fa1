"""``dispel4py.new.processor``: building the inputs of a run from the command line.

``args`` is any object with the attributes of dispel4py's parser: ``module``,
``attr``, ``file`` (JSON input file), ``data`` (inline JSON) and ``iter``.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from ..loader import load_graph
from ..model.graph import WorkflowGraph
from ..model.pe import GenericPE

__all__ = ["create_arg_parser", "create_inputs", "get_inputs", "load_graph_and_inputs"]


def create_arg_parser() -> argparse.ArgumentParser:
    """dispel4py's common command-line arguments."""
    parser = argparse.ArgumentParser(description="Submit a dispel4py graph for processing.")
    parser.add_argument("target", help="target execution platform")
    parser.add_argument("module", help="module that creates a dispel4py graph")
    parser.add_argument("-a", "--attr", metavar="attribute", help="name of the graph variable")
    parser.add_argument("-f", "--file", metavar="inputfile", help="input dataset (JSON file)")
    parser.add_argument("-d", "--data", metavar="inputdata", help="input dataset (JSON)")
    parser.add_argument(
        "-i", "--iter", metavar="iterations", type=int, default=1, help="number of iterations"
    )
    return parser


def _inputs_from_arguments(args: Any) -> dict[Any, Any]:
    path = getattr(args, "file", None)
    data = getattr(args, "data", None)
    if path:
        if not os.path.exists(path):
            raise ValueError(f"File '{path}' does not exist.")
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    elif data:
        text = data
    else:
        return {}
    inputs = json.loads(text)  # json.JSONDecodeError is a ValueError, as in dispel4py
    if not isinstance(inputs, dict):
        raise ValueError(f"input JSON must be an object {{PE: N | [blocks]}}, not {inputs!r}")
    return inputs


def _roots(graph: WorkflowGraph) -> list[GenericPE]:
    flat = graph.flat()
    targets = {id(connection.dst) for connection in flat.connections}
    return [pe for pe in flat.pes if id(pe) not in targets]


def create_inputs(args: Any, graph: WorkflowGraph) -> dict[Any, Any]:
    """The inputs of a run, keyed by PE id where a key names a PE (object or name).

    ``-f`` has priority over ``-d``; without either, every root gets ``args.iter``.
    """
    inputs = _inputs_from_arguments(args)
    if not inputs:
        iterations = getattr(args, "iter", 1)
        print(
            "Processing 1 iteration." if iterations == 1 else f"Processing {iterations} iterations."
        )
        for pe in _roots(graph):
            inputs[pe] = iterations
    for pe in graph.flat().pes:
        for key in (pe, pe.name):
            if key in inputs and key != pe.id:
                inputs[pe.id] = inputs.pop(key)
    return inputs


def load_graph_and_inputs(args: Any) -> tuple[WorkflowGraph, dict[Any, Any]]:
    """Load ``args.module`` (graph variable ``args.attr``), flatten it and build its inputs."""
    graph = load_graph(args.module, getattr(args, "attr", None))
    graph.flatten()
    return graph, create_inputs(args, graph)


def get_inputs(pe: GenericPE, inputs: Any) -> Any:
    """The input of ``pe`` in ``inputs``: keyed by the PE object, its name or its id."""
    for key in (pe, pe.name, pe.id):
        try:
            return inputs[key]
        except (KeyError, TypeError):
            continue
    return None
