"""What the storm mapping tells its user on standard error (standard output
carries results only): a first, long launcher build; a Flux file written."""

from __future__ import annotations

import sys

__all__ = ["notice"]


def notice(text: str) -> None:
    """One ``d4p storm: ...`` message on standard error."""
    sys.stderr.write(f"d4p storm: {text}\n")
    sys.stderr.flush()
