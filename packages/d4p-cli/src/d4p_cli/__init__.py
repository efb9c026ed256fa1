"""d4p-cli: the ``d4p`` command and its dispel4py-compatible alias."""

from __future__ import annotations

from .__about__ import __version__
from ._app import dispel4py_main, main
from ._errors import (
    CliError,
    OutputError,
    ServiceUnreachableError,
    TargetImportError,
    TargetNotFoundError,
)
from ._exit_codes import EXIT_CODES, ExitCode

__all__ = [
    "EXIT_CODES",
    "CliError",
    "ExitCode",
    "OutputError",
    "ServiceUnreachableError",
    "TargetImportError",
    "TargetNotFoundError",
    "__version__",
    "dispel4py_main",
    "main",
]
