"""``python -m d4p_core MAPPING TARGET [-n N] [-i N | -d JSON | -f FILE] [-a ATTR]``

A minimal runner over :func:`d4p_core.run`; the full command line is the
``d4p`` command of the d4p-cli distribution.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .errors import D4pError
from .inputs import Inputs, load_inputs_file, parse_inputs_json
from .loader import load_graph
from .mapping import load_mapping


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m d4p_core", description="Run a d4p workflow on a mapping."
    )
    parser.add_argument("mapping", help="mapping name, e.g. simple")
    parser.add_argument("target", help="dotted module, path/to/file.py or module:attr")
    parser.add_argument("-a", "--attr", help="name of the graph in the module")
    parser.add_argument("-n", "--processes", type=int, help="number of processes")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-i", "--iter", type=int, help="run every source N times")
    group.add_argument("-d", "--data", help="inputs as JSON {pe: N | [blocks]}")
    group.add_argument("-f", "--file", help="inputs as a JSON file")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        mapping = load_mapping(args.mapping)
        graph = load_graph(args.target, args.attr)
        inputs: Inputs = args.iter
        if args.data is not None:
            inputs = parse_inputs_json(args.data)
        elif args.file is not None:
            inputs = load_inputs_file(args.file)
        result = mapping.run(graph, inputs, mapping.options_from_kwargs(args.processes))
    except D4pError as error:
        if args.debug:
            raise
        print(f"d4p: error: {error}", file=sys.stderr)
        remote: Any = getattr(error, "remote_traceback", None)
        if remote:
            print(remote, file=sys.stderr, end="")
        return error.exit_code
    for pe_id, by_output in result.outputs.items():
        for output, values in by_output.items():
            print(json.dumps({"pe": pe_id, "output": output, "values": values}, default=repr))
    print(f"finished in {result.elapsed_seconds:.3f} s on {result.mapping}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
