"""The exit codes of the ``d4p`` command, one per kind of error.

Codes 1-6 are the ``exit_code`` of the matching :mod:`d4p_core.errors` class
(the CLI reads them from the exception, so they follow core); 7-10 are the
CLI's own errors (:mod:`d4p_cli._errors`); 64, 70 and 130 follow the BSD
``sysexits``/shell conventions.
"""

from __future__ import annotations

import enum

__all__ = ["EXIT_CODES", "ExitCode"]


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1
    RUN_FAILED = 2
    GRAPH_ERROR = 3
    INPUT_ERROR = 4
    MAPPING_NOT_FOUND = 5
    UNSUPPORTED_GRAPH = 6
    SERVICE_UNREACHABLE = 7
    TARGET_NOT_FOUND = 8
    TARGET_IMPORT_FAILED = 9
    OUTPUT_FAILED = 10
    USAGE = 64
    INTERNAL_ERROR = 70
    INTERRUPTED = 130


EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.ERROR: "other d4p error (D4pError), e.g. an invalid mapping option or no Graphviz",
    ExitCode.RUN_FAILED: "a PE raised during the run (RunError: PE, instance, input, traceback)",
    ExitCode.GRAPH_ERROR: (
        "bad workflow (GraphError): no graph or several graphs in the module, "
        "bad port, cycle, too few processes"
    ),
    ExitCode.INPUT_ERROR: (
        "bad inputs (InputError): invalid -d/-f JSON, unreadable -f file, unknown PE name"
    ),
    ExitCode.MAPPING_NOT_FOUND: "no installed mapping has that name (MappingNotFoundError)",
    ExitCode.UNSUPPORTED_GRAPH: "the mapping cannot run this graph (UnsupportedGraphError)",
    ExitCode.SERVICE_UNREACHABLE: (
        "a service the mapping needs (Redis, MPI, Storm...) is unreachable"
    ),
    ExitCode.TARGET_NOT_FOUND: "the workflow module, file or attribute does not exist",
    ExitCode.TARGET_IMPORT_FAILED: "the workflow module raised while being imported or built",
    ExitCode.OUTPUT_FAILED: "an --output, --metrics, --report or -o file cannot be written",
    ExitCode.USAGE: "bad command line (unknown option, missing argument, -i with -d...)",
    ExitCode.INTERNAL_ERROR: "unexpected error inside d4p or a mapping (a bug: please report it)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}
"""What each exit code means (the table in the README)."""
