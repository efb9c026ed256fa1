"""``d4p BACKEND COMMAND [options]``: a backend's operator commands, e.g.
``d4p redis gc`` (list or delete stale runs on a Redis server).

Backends provide them through the ``d4p.commands`` entry-point group: the
entry point names a module with ``COMMANDS``, a mapping of command names to
objects with ``help``, ``add_arguments(parser)`` and ``run(args) -> int``.
A ``D4pError`` a command raises is reported like every other command's.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from ._parser import UsageParser, add_debug

__all__ = ["COMMAND_GROUP", "backend_command", "backend_commands"]

COMMAND_GROUP = "d4p.commands"


def backend_commands() -> dict[str, Any]:
    """``{backend: its COMMANDS}`` for every installed backend with commands."""
    found: dict[str, Any] = {}
    for entry_point in entry_points(group=COMMAND_GROUP):
        commands = getattr(entry_point.load(), "COMMANDS", None)
        if isinstance(commands, dict) and commands:
            found[entry_point.name] = commands
    return found


def backend_command(argv: list[str], *, prog: str) -> int | None:
    """Run ``argv`` if it names a backend and one of its commands (``None``:
    it does not, e.g. a dispel4py-style ``MAPPING MODULE`` line)."""
    if len(argv) < 2 or argv[0].startswith("-"):
        return None
    backend, name = argv[0], argv[1]
    if backend not in {entry_point.name for entry_point in entry_points(group=COMMAND_GROUP)}:
        return None
    command = backend_commands().get(backend, {}).get(name)
    if command is None:
        return None
    parser = UsageParser(prog=f"{prog} {backend} {name}", description=command.help)
    command.add_arguments(parser)
    add_debug(parser)
    return int(command.run(parser.parse_args(argv[2:])))
