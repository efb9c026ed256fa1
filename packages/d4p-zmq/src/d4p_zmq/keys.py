"""``python -m d4p_zmq keys DIR NAME...``: make per-host CURVE certificates
for ``zmq_multi`` runs (the layout is :mod:`d4p_zmq._certificates`'s).

The ``d4p`` command mounts it as ``d4p zmq keys DIR NAME...`` through the
``d4p.commands`` entry point (:data:`COMMANDS`): :func:`add_arguments` adds
the options to a parser, :func:`run_keys` runs them and returns the exit
status.
"""

from __future__ import annotations

import argparse
import sys
from types import SimpleNamespace

from d4p_core import D4pError

from ._certificates import AUTHORIZED, DRIVER, create

__all__ = ["COMMANDS", "DESCRIPTION", "add_arguments", "main", "run_command", "run_keys"]

DESCRIPTION = "make per-host CURVE certificates for zmq_multi runs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory",
        metavar="DIR",
        help="where to put the certificates (made if missing; existing keys are kept)",
    )
    parser.add_argument(
        "names",
        metavar="NAME",
        nargs="+",
        help="a name for each worker host to authorize (for example its host name)",
    )


def run_keys(args: argparse.Namespace) -> int:
    """Make the certificates; print each directory made and where it goes."""
    made = create(args.directory, args.names)
    for path in made:
        if path.name == DRIVER:
            print(f"{path}: the driver's; keep it on the driver's host: --certificates {path}")
        else:
            print(f"{path}: copy it to worker host {path.name} only: --certificates DIR")
    print(
        f"a host is revoked by deleting its {args.directory}/{DRIVER}/{AUTHORIZED}/NAME.key",
        file=sys.stderr,
    )
    return 0


# The d4p.commands protocol: d4p zmq keys DIR NAME...
COMMANDS = {"keys": SimpleNamespace(help=DESCRIPTION, add_arguments=add_arguments, run=run_keys)}


def run_command(prog: str, args: argparse.Namespace) -> int:
    """:func:`run_keys`, with a user's error as one ``PROG: error: ...`` line."""
    try:
        return run_keys(args)
    except D4pError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return error.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m d4p_zmq.keys", description=DESCRIPTION)
    add_arguments(parser)
    return run_command(parser.prog, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
