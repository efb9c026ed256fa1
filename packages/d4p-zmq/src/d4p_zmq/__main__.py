"""``python -m d4p_zmq keys DIR NAME...``: d4p-zmq's commands (a worker is
``python -m d4p_zmq.worker``)."""

from __future__ import annotations

import argparse
import sys

from . import keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m d4p_zmq", description="d4p-zmq's commands.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    keys.add_arguments(
        commands.add_parser("keys", help=keys.DESCRIPTION, description=keys.DESCRIPTION)
    )
    args = parser.parse_args(argv)
    return keys.run_command(f"{parser.prog} keys", args)


if __name__ == "__main__":
    sys.exit(main())
