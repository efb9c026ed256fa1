"""``d4p graph TARGET [--format dot|svg|png] [-o FILE]``: draw the workflow."""

from __future__ import annotations

import os
import sys
import tempfile

from ._errors import OutputError
from ._parser import UsageParser, add_debug, add_target
from ._target import load_workflow

__all__ = ["graph_command"]

FORMATS = ("dot", "svg", "png")


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


def graph_command(argv: list[str], *, prog: str) -> int:
    parser = UsageParser(
        prog=prog,
        description="Draw a workflow: Graphviz dot source, or an SVG/PNG image "
        "(those need Graphviz's 'dot' program).",
    )
    add_target(parser)
    parser.add_argument("--format", choices=FORMATS, help="default: from -o's extension, or dot")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    add_debug(parser)
    args = parser.parse_args(argv)
    image_format = _format(args.format, args.output, parser)
    graph = load_workflow(args.target, args.attr)
    if image_format == "dot":
        source = graph.to_dot()
        if args.output is None:
            sys.stdout.write(source)
            return 0
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(source)
        except OSError as error:
            raise OutputError(f"cannot write {args.output!r}: {error.strerror}") from error
        return 0
    if args.output is not None:
        directory = os.path.dirname(os.path.abspath(args.output))
        if not os.path.isdir(directory):
            raise OutputError(f"cannot write {args.output!r}: no such directory")
        graph.render(args.output, image_format)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, f"graph.{image_format}")
        graph.render(path, image_format)
        with open(path, "rb") as handle:
            sys.stdout.buffer.write(handle.read())
    sys.stdout.flush()
    return 0
