"""Running Graphviz's ``dot`` program on dot source.

The image comes back as bytes (dot writes it to its stdout), so the caller
decides where it goes and reports a file it cannot write as its own error.
"""

from __future__ import annotations

import shutil
import subprocess

from ._errors import CliError

__all__ = ["render"]

TIMEOUT_SECONDS = 60
"""Generous for any workflow graph; a hung ``dot`` must not hang the CLI."""


def render(source: str, image_format: str) -> bytes:
    """``source`` drawn by ``dot -T<image_format>``."""
    dot = shutil.which("dot")
    if dot is None:
        raise CliError(
            "rendering needs Graphviz's 'dot' program, which is not installed "
            "(e.g. 'apt-get install graphviz' or 'brew install graphviz'); "
            "use --format dot to write the Graphviz source instead"
        )
    try:
        completed = subprocess.run(
            [dot, f"-T{image_format}"],
            input=source.encode(),
            capture_output=True,
            check=False,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as error:
        raise CliError(f"dot did not finish rendering within {TIMEOUT_SECONDS} s") from error
    if completed.returncode != 0:
        detail = completed.stderr.decode(errors="replace").strip()
        raise CliError(f"dot failed to render the graph: {detail}")
    return completed.stdout
