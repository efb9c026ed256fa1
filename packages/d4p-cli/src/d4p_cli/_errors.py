"""The CLI's own errors and how any error is reported: one line on stderr
(the traceback too with ``--debug``) and a distinct exit code."""

from __future__ import annotations

import traceback
from typing import TextIO

from d4p_core import D4pError, RunError

from ._exit_codes import ExitCode

__all__ = [
    "CliError",
    "OutputError",
    "ServiceUnreachableError",
    "TargetImportError",
    "TargetNotFoundError",
    "exit_code_of",
    "report",
]

PREFIX = "d4p: error: "


class CliError(D4pError):
    """An error found by the command line itself, not by core or a mapping."""

    exit_code = int(ExitCode.ERROR)


class ServiceUnreachableError(CliError):
    """A service the mapping needs (Redis, an MPI runtime, Storm) cannot be reached."""

    exit_code = int(ExitCode.SERVICE_UNREACHABLE)


class TargetNotFoundError(CliError):
    """The workflow module, file or attribute does not exist."""

    exit_code = int(ExitCode.TARGET_NOT_FOUND)


class TargetImportError(CliError):
    """Importing the workflow module (or calling its graph builder) raised."""

    exit_code = int(ExitCode.TARGET_IMPORT_FAILED)


class OutputError(CliError):
    """A result, metrics or image file cannot be written."""

    exit_code = int(ExitCode.OUTPUT_FAILED)


def is_connection_failure(error: BaseException) -> bool:
    """A refused/timed-out connection, from the standard library or a client
    library whose error class is called ``ConnectionError`` (redis-py, pyzmq...)."""
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    return any(cls.__name__ == "ConnectionError" for cls in type(error).__mro__)


def exit_code_of(error: BaseException) -> int:
    if isinstance(error, D4pError):
        return int(error.exit_code)
    if isinstance(error, KeyboardInterrupt):
        return int(ExitCode.INTERRUPTED)
    if is_connection_failure(error):
        return int(ExitCode.SERVICE_UNREACHABLE)
    return int(ExitCode.INTERNAL_ERROR)


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def report(error: BaseException, *, debug: bool, stream: TextIO) -> int:
    """Print ``error`` for a user and return the exit code."""
    if debug:
        traceback.print_exception(type(error), error, error.__traceback__, file=stream)
    elif isinstance(error, RunError) and error.remote_traceback:
        # The PE's own traceback is the user's code failing: always show it.
        stream.write(error.remote_traceback.rstrip("\n") + "\n")
    if isinstance(error, KeyboardInterrupt):
        stream.write("d4p: interrupted\n")
    elif isinstance(error, D4pError):
        stream.write(PREFIX + one_line(str(error)) + "\n")
    elif is_connection_failure(error):
        stream.write(
            f"{PREFIX}a service is unreachable: {type(error).__name__}: {one_line(str(error))}\n"
        )
    else:
        hint = "" if debug else "; run with --debug for the traceback"
        stream.write(
            f"{PREFIX}internal error: {type(error).__name__}: {one_line(str(error))}{hint} "
            "(this is a bug in d4p or the mapping: please report it)\n"
        )
    stream.flush()
    return exit_code_of(error)
