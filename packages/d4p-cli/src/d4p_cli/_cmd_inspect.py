"""``d4p inspect TARGET [-n N] [-m MAPPING]``: the plan — what will run where."""

from __future__ import annotations

import sys

from d4p_core import load_mapping
from d4p_core.backend import PlacedRun, Plan

from ._parser import UsageParser, add_debug, add_target, positive_int
from ._target import load_workflow

__all__ = ["inspect_command"]


def inspect_command(argv: list[str], *, prog: str) -> int:
    parser = UsageParser(
        prog=prog,
        description="Print the plan of a workflow: instances per PE, routes with their "
        "groupings, sources and stateful PEs, and the partitions chains can be fused into.",
    )
    add_target(parser)
    parser.add_argument(
        "-n",
        "--processes",
        type=positive_int,
        metavar="N",
        help="plan for N processes (default: one instance per PE, as simple runs it)",
    )
    parser.add_argument(
        "-m",
        "--mapping",
        metavar="MAPPING",
        help="the plan this mapping runs with -n N, placed on processes as it places "
        "them (exit 6 if it cannot run the workflow)",
    )
    add_debug(parser)
    args = parser.parse_args(argv)
    mapping = load_mapping(args.mapping) if args.mapping is not None else None
    graph = load_workflow(args.target, args.attr)
    if mapping is None:
        planned: Plan | PlacedRun = Plan.build(graph, args.processes)
    else:
        planned = mapping.plan(graph, mapping.options_from_kwargs(args.processes))
    sys.stdout.write(f"workflow: {args.target}\n")
    sys.stdout.write(planned.describe() + "\n")
    if mapping is not None:
        sys.stdout.write(f"mapping {mapping.name}: can run this plan\n")
    return 0
