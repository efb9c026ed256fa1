"""Operator commands of d4p-redis: ``python -m d4p_redis gc``.

Each entry of :data:`COMMANDS` gives a help line, ``add_arguments(parser)``
and ``run(args) -> int`` (the exit status; a :class:`~d4p_core.D4pError` is
for the caller to report), the same protocol as ``d4p.workers``, so a
command-line front end can offer them as ``d4p redis gc`` through the
``d4p.commands`` entry point.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from d4p_core import D4pError, ServiceUnavailableError

from ._gc import collect, survey
from ._server import ENV_URL, connect, redis_url

__all__ = ["COMMANDS", "Command", "main"]

PROG = "python -m d4p_redis"


class Command:
    """One operator command."""

    def __init__(
        self,
        help: str,
        add_arguments: Callable[[argparse.ArgumentParser], None],
        run: Callable[[argparse.Namespace], int],
    ) -> None:
        self.help = help
        self.add_arguments = add_arguments
        self.run = run


def add_gc_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis-url", help=f"the Redis server (default: ${ENV_URL})")
    parser.add_argument(
        "--delete",
        action="store_true",
        help="delete the stale runs (or the --run ones) instead of listing them",
    )
    parser.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="RUN_ID",
        help="only this run (repeatable)",
    )
    parser.add_argument(
        "--force", action="store_true", help="with --run: delete it even if it looks live"
    )


def run_gc(args: argparse.Namespace) -> int:
    """List the runs on the server (stdout: run id, live/stale, keys, why),
    or with ``--delete`` remove the stale ones."""
    url = redis_url(args.redis_url)
    if url is None:
        raise ServiceUnavailableError(f"give --redis-url or set {ENV_URL}")
    if args.force and not args.run:
        raise D4pError("--force deletes live runs only when named with --run")
    client = connect(url)
    try:
        states = {state.run_id: state for state in survey(client)}
        missing = [run_id for run_id in args.run if run_id not in states]
        if missing:
            raise D4pError(f"no run {', '.join(missing)} on this Redis")
        if not args.delete:
            for state in states.values():
                if not args.run or state.run_id in args.run:
                    print(state.line())
            return 0
        spared = [states[run_id] for run_id in args.run if states[run_id].live and not args.force]
        for state, deleted in collect(client, args.run, force=args.force):
            print(f"deleted {state.run_id} ({deleted} keys; {state.detail})")
        for state in spared:
            print(
                f"{PROG} gc: run {state.run_id} is live ({state.detail}): not deleted; "
                "--force deletes it",
                file=sys.stderr,
            )
        return 1 if spared else 0
    finally:
        client.close()


COMMANDS: dict[str, Command] = {
    "gc": Command("list or delete stale runs on a Redis server", add_gc_arguments, run_gc),
}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m d4p_redis COMMAND``: errors become one line on stderr."""
    parser = argparse.ArgumentParser(prog=PROG, description="d4p-redis operator commands")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        command.add_arguments(
            commands.add_parser(name, help=command.help, description=command.help)
        )
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command].run(args)
    except D4pError as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
