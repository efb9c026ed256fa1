"""argparse pieces shared by the commands: usage errors exit with
:attr:`ExitCode.USAGE` (argparse's own 2 is a failed run here), and a
mapping's options are collected in their own help section."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from ._errors import PREFIX
from ._exit_codes import ExitCode

__all__ = ["MappingOptionsParser", "UsageParser", "add_debug", "add_target", "positive_int"]


class UsageParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors print one line and exit 64."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{PREFIX}{message} (see '{self.prog} --help')\n")
        sys.exit(int(ExitCode.USAGE))


class MappingOptionsParser(argparse.ArgumentParser):
    """What a mapping's ``add_arguments`` receives: every argument it adds
    lands in one titled group of the real parser (so ``--help`` shows them
    apart), parsed together with the common options."""

    def __init__(self, parser: argparse.ArgumentParser, title: str, description: str) -> None:
        # ArgumentParser.__init__ adds its own groups: keep those here, not on ``parser``.
        self._delegate: argparse.ArgumentParser | None = None
        super().__init__(prog=parser.prog, add_help=False)
        self._group = parser.add_argument_group(title, description)
        self._delegate = parser
        self.added: list[argparse.Action] = []

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        if self._delegate is None:
            return super().add_argument(*args, **kwargs)
        action = self._group.add_argument(*args, **kwargs)
        self.added.append(action)
        return action

    def add_argument_group(self, *args: Any, **kwargs: Any) -> argparse._ArgumentGroup:
        if self._delegate is None:
            return super().add_argument_group(*args, **kwargs)
        return self._delegate.add_argument_group(*args, **kwargs)

    def add_mutually_exclusive_group(self, **kwargs: Any) -> argparse._MutuallyExclusiveGroup:
        if self._delegate is None:
            return super().add_mutually_exclusive_group(**kwargs)
        return self._group.add_mutually_exclusive_group(**kwargs)

    def set_defaults(self, **kwargs: Any) -> None:
        if self._delegate is None:
            super().set_defaults(**kwargs)
        else:
            self._delegate.set_defaults(**kwargs)

    def get_default(self, dest: str) -> Any:
        if self._delegate is None:
            return super().get_default(dest)
        return self._delegate.get_default(dest)

    def error(self, message: str) -> NoReturn:
        if self._delegate is None:
            super().error(message)
        self._delegate.error(message)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, not {value}")
    return value


def add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        metavar="TARGET",
        help="the workflow: a dotted module, a path/to/file.py, or module:attr",
    )
    parser.add_argument(
        "-a",
        "--attr",
        metavar="ATTR",
        help="the graph's name in the module (or a function returning it), "
        "when the module defines several",
    )


def add_debug(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an error"
    )
