"""The entry points: ``d4p``, ``dispel4py`` and ``python -m d4p_cli``.

``d4p COMMAND ...`` runs a command; anything else that starts with a name is
read as a dispel4py command line, ``MAPPING MODULE [flags]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from d4p_core import available_mappings

from .__about__ import __version__
from ._cmd_backend import backend_command, backend_commands
from ._cmd_graph import graph_command
from ._cmd_inspect import inspect_command
from ._cmd_mappings import mappings_command
from ._cmd_run import run_command
from ._cmd_worker import worker_command
from ._errors import report
from ._exit_codes import EXIT_CODES, ExitCode
from ._output import OutputClosed
from ._parser import UsageParser
from ._versions import version_text

__all__ = ["dispel4py_main", "main"]

Command = Callable[..., int]

COMMANDS: dict[str, tuple[Command, str]] = {
    "run": (run_command, "run a workflow on a mapping"),
    "mappings": (mappings_command, "list the installed mappings"),
    "graph": (graph_command, "draw a workflow (dot, svg, png)"),
    "inspect": (inspect_command, "print the plan: instances, routes, stateful PEs, partitions"),
    "worker": (worker_command, "start a worker that joins a distributed run (redis, zmq)"),
}


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="list the installed d4p distributions")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        sys.stdout.write(version_text(parser.prog, __version__))
        parser.exit()


def _epilog(prog: str) -> str:
    rows = [
        (f"{prog} {backend} {name}", command.help)
        for backend, commands in sorted(backend_commands().items())
        for name, command in commands.items()
    ]
    width = max((len(usage) for usage, _ in rows), default=0)
    lines = [f"  {usage:<{width}}  {help_text}" for usage, help_text in rows]
    listed = "backend commands:\n" + "\n".join(lines) + "\n\n" if lines else ""
    return (
        listed
        + "exit codes:\n"
        + "\n".join(f"  {int(code):>3}  {meaning}" for code, meaning in EXIT_CODES.items())
    )


def _top_parser(prog: str) -> UsageParser:
    parser = UsageParser(
        prog=prog,
        description="Run stream-based d4p (and dispel4py) workflows on any installed mapping. "
        f"dispel4py command lines work too: '{prog} MAPPING MODULE [-n N] [-i N|-d JSON|-f FILE]'.",
        epilog=_epilog(prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for name, (_, help_text) in COMMANDS.items():
        commands.add_parser(name, help=help_text, add_help=False)
    return parser


def _dispatch(argv: list[str], prog: str, dispel4py: bool) -> int:
    if argv and not argv[0].startswith("-"):
        if argv[0] in COMMANDS and not dispel4py:
            command, _ = COMMANDS[argv[0]]
            return command(argv[1:], prog=f"{prog} {argv[0]}")
        if not dispel4py:
            status = backend_command(argv, prog=prog)  # e.g. d4p redis gc
            if status is not None:
                return status
        if len(argv) == 1 and argv[0] not in available_mappings():
            _top_parser(prog).error(
                f"unknown command or mapping {argv[0]!r}; commands: {', '.join(COMMANDS)}; "
                f"installed mappings: {', '.join(available_mappings()) or 'none'}"
            )
        return run_command(argv, prog=prog, compat=True)
    parser = _top_parser(prog)
    parser.parse_args(argv)  # --help, --version, or a usage error: all exit
    parser.print_help(sys.stderr)
    return int(ExitCode.USAGE)


def _main(argv: list[str] | None, prog: str, dispel4py: bool) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        return _dispatch(args, prog, dispel4py)
    except (BrokenPipeError, OutputClosed):
        # The reader of stdout went away (d4p run ... | head): the run was
        # stopped (its processes ended); say nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return int(ExitCode.OUTPUT_FAILED)
    except SystemExit:
        raise
    except BaseException as error:  # noqa: BLE001 - every error becomes one line + exit code
        return report(error, debug=debug, stream=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """The ``d4p`` command (and ``python -m d4p_cli``)."""
    return _main(argv, "d4p", dispel4py=False)


def dispel4py_main(argv: list[str] | None = None) -> int:
    """The ``dispel4py`` command: ``dispel4py MAPPING MODULE [flags]`` as in dispel4py."""
    return _main(argv, "dispel4py", dispel4py=True)
