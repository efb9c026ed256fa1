"""``d4p run MAPPING TARGET ...``: run a workflow and print its results.

The mapping is read first so that its own options (``add_arguments``) join
the command line and ``d4p run MAPPING --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from typing import Any

from d4p_core import (
    Inputs,
    Mapping,
    UndeclaredStateWarning,
    load_inputs_file,
    load_mapping,
    parse_inputs_json,
)
from d4p_core.backend import LOG_LEVEL_ENV, pe_prints_to_stderr, results_to

from ._compat_args import mapping_alias, translate
from ._errors import OutputError
from ._output import ResultWriter, summary_table, write_metrics
from ._parser import (
    MappingOptionsParser,
    UsageParser,
    add_debug,
    add_target,
    non_negative_int,
    positive_int,
)
from ._progress import Progress, listening, wants_progress
from ._report import report_facts, write_report
from ._target import load_workflow

__all__ = ["run_command"]

DESCRIPTION = "Run a workflow on a mapping; results go to stdout as JSON lines."
EPILOG = (
    'Each result item is printed as {"pe": ..., "output": ..., "value": ...}. '
    "Run 'd4p run MAPPING --help' to see the options of that mapping; "
    "'d4p mappings' lists the installed mappings."
)


def _parser(
    prog: str, mapping: Mapping[Any] | None, *, complete: bool
) -> tuple[UsageParser, set[str]]:
    """The run parser (with ``mapping``'s options) and every option string it knows."""
    parser = UsageParser(
        prog=prog, description=DESCRIPTION, epilog=EPILOG, add_help=complete, allow_abbrev=False
    )
    actions = [
        parser.add_argument(
            "mapping",
            metavar="MAPPING",
            nargs=None if complete else "?",
            help="the mapping to run on (see 'd4p mappings')",
        )
    ]
    if complete:
        add_target(parser)
    else:
        parser.add_argument("target", nargs="?")
        parser.add_argument("-a", "--attr")
    actions.append(
        parser.add_argument(
            "-n", "--processes", type=positive_int, metavar="N", help="number of processes"
        )
    )
    inputs = parser.add_argument_group("inputs (give at most one; default: every source once)")
    inputs.add_argument(
        "-i", "--iter", type=non_negative_int, metavar="N", help="run every source N times"
    )
    inputs.add_argument(
        "-d", "--data", metavar="JSON", help='inputs as JSON: {"pe name or id": N | [blocks]}'
    )
    inputs.add_argument("-f", "--file", metavar="FILE", help="inputs as a JSON file")
    output = parser.add_argument_group("output")
    output.add_argument(
        "--output", metavar="FILE.jsonl", help="write the results to this file, not stdout"
    )
    output.add_argument("--metrics", metavar="FILE.json", help="write the run's metrics as JSON")
    output.add_argument(
        "--report",
        metavar="FILE.html",
        help="write a self-contained HTML report: the graph, time and items per PE, balance",
    )
    output.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress line, no summary, no warnings; PE log lines from warning up",
    )
    output.add_argument("--verbose", "-v", action="store_true", help="PE log lines from debug up")
    output.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        type=str.lower,
        help="the least level of PE log lines shown on stderr (default: info)",
    )
    add_debug(parser)
    known = {"-h", "--help", "-a", "--attr", "-i", "--iter", "-d", "--data", "-f", "--file"}
    known |= {"--output", "--metrics", "--report", "--quiet", "--debug"}
    known |= {"-q", "-v", "--verbose", "--log-level"}
    known |= {option for action in actions for option in action.option_strings}
    if mapping is not None:
        options = MappingOptionsParser(
            parser, f"options of the {mapping.name!r} mapping", mapping.description
        )
        mapping.add_arguments(options)
        known |= {option for action in options.added for option in action.option_strings}
    return parser, known


def _inputs(args: argparse.Namespace, parser: UsageParser, *, compat: bool) -> Inputs:
    given = [flag for flag in ("iter", "data", "file") if getattr(args, flag) is not None]
    if len(given) > 1 and not compat:
        parser.error("give only one of -i/--iter, -d/--data and -f/--file")
    # dispel4py: -f wins over -d, and -i is ignored when either is given.
    if args.file is not None:
        return load_inputs_file(args.file)
    if args.data is not None:
        return parse_inputs_json(args.data)
    value: Inputs = args.iter
    return value


def _open(path: str) -> Any:
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as error:
        raise OutputError(f"cannot write {path!r}: {error.strerror}") from error


LOG_LEVELS = ("debug", "info", "warning", "error")


def _log_level(args: argparse.Namespace) -> str:
    if args.log_level:
        return str(args.log_level)
    if args.verbose:
        return "debug"
    return "warning" if args.quiet else "info"


def run_command(argv: list[str], *, prog: str, compat: bool = False) -> int:
    pre, _ = _parser(prog, None, complete=False)
    known_args, _ = pre.parse_known_args(argv)
    mapping: Mapping[Any] | None = None
    if known_args.mapping is not None:
        name = mapping_alias(known_args.mapping) if compat else known_args.mapping
        mapping = load_mapping(name)
    parser, known = _parser(prog, mapping, complete=True)
    compat_warnings: list[str] = []
    if compat:
        translation = translate(argv, known)
        argv, compat_warnings = translation.argv, translation.warnings
    args = parser.parse_args(argv)
    assert mapping is not None  # the complete parser requires MAPPING
    if not args.quiet:
        for warning in compat_warnings:
            sys.stderr.write(f"d4p: warning: {warning}\n")

    inputs = _inputs(args, parser, compat=compat)
    graph = load_workflow(args.target, args.attr)
    options = mapping.options_from_args(args)
    with contextlib.ExitStack() as stack:
        results_stream = stack.enter_context(_open(args.output)) if args.output else sys.stdout
        metrics_stream = stack.enter_context(_open(args.metrics)) if args.metrics else None
        report_stream = stack.enter_context(_open(args.report)) if args.report else None
        writer = ResultWriter(results_stream)
        progress: Progress | None = None
        if wants_progress(sys.stderr, args.quiet):
            progress = Progress(sys.stderr, f"running {args.target} on {mapping.name}")
            stack.enter_context(progress)

        def on_progress(counts: dict[str, int]) -> None:
            # About twice a second: what was written reaches a pipe (| head).
            writer.flush()
            if progress is not None:
                progress.update(counts)

        os.environ[LOG_LEVEL_ENV] = _log_level(args)  # for every process of the run
        with (
            listening(on_progress),
            results_to(writer),
            pe_prints_to_stderr(),  # stdout carries the results only
            warnings.catch_warnings(),
        ):
            # The run's warnings are printed below, as the CLI's own lines.
            warnings.simplefilter("ignore", UndeclaredStateWarning)
            result = mapping.run(graph, inputs, options)
        writer.flush()
        if progress is not None:
            progress.close()
        if not result.primary:
            return 0  # e.g. an MPI rank other than 0: rank 0 reports the run
        if not args.quiet:
            for warning in result.warnings:
                sys.stderr.write(f"d4p: warning: {warning}\n")
        if metrics_stream is not None:
            write_metrics(result, writer.counts, metrics_stream)
        if report_stream is not None:
            facts = report_facts(
                graph,
                result,
                title=args.target,
                command=[prog, *argv],
                processes=args.processes,
                results=writer.count,
            )
            write_report(report_stream, facts)
    if not args.quiet and result.metrics:  # (no metrics: nothing ran, e.g. storm --flux)
        summary_table(result, writer.count, sys.stderr)
    return 0
