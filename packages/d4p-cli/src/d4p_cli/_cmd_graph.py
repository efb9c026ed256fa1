"""``d4p graph TARGET [-n N] [--format dot|svg|png] [-o FILE]``: draw the workflow,
each PE with its instance count and each connection with its grouping."""

from __future__ import annotations

import os
import sys

from d4p_core.backend import Plan

from ._errors import OutputError
from ._graph_dot import labelled_dot
from ._graphviz import render
from ._parser import UsageParser, add_debug, add_target, positive_int
from ._target import load_workflow
from ._topology import Topology

__all__ = ["graph_command"]

FORMATS = ("dot", "svg", "png")
BINARY_FORMATS = frozenset({"png"})
"""Formats that must not be written to a terminal (they would garble it)."""


def _format(requested: str | None, output: str | None, parser: UsageParser) -> str:
    if requested is not None:
        return requested
    if output is not None:
        extension = os.path.splitext(output)[1].lstrip(".").lower()
        if extension in FORMATS:
            return extension
        if extension == "gv":
            return "dot"
        parser.error(f"cannot tell the format of {output!r}; give --format {'|'.join(FORMATS)}")
    return "dot"


def _write(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OutputError(f"cannot write {path!r}: no such directory")
    try:
        with open(path, "wb") as handle:
            handle.write(data)
    except OSError as error:
        raise OutputError(f"cannot write {path!r}: {error.strerror}") from error


def graph_command(argv: list[str], *, prog: str) -> int:
    parser = UsageParser(
        prog=prog,
        description="Draw a workflow: each PE with its instance count, each connection "
        "with its grouping. Graphviz dot source, or an SVG/PNG image (those need "
        "Graphviz's 'dot' program).",
    )
    add_target(parser)
    parser.add_argument(
        "-n",
        "--processes",
        type=positive_int,
        metavar="N",
        help="instance counts as planned for N processes (default: one instance per PE, "
        "as 'd4p inspect' and the simple mapping)",
    )
    parser.add_argument("--format", choices=FORMATS, help="default: from -o's extension, or dot")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    add_debug(parser)
    args = parser.parse_args(argv)
    image_format = _format(args.format, args.output, parser)
    if args.output is None and image_format in BINARY_FORMATS and sys.stdout.isatty():
        parser.error(
            f"refusing to write a {image_format.upper()} image to the terminal; "
            f"give -o FILE.{image_format} or redirect stdout to a file or pipe"
        )
    graph = load_workflow(args.target, args.attr)
    source = labelled_dot(graph, Topology.from_plan(Plan.build(graph, args.processes)))
    data = source.encode() if image_format == "dot" else render(source, image_format)
    if args.output is not None:
        _write(args.output, data)
        return 0
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0
