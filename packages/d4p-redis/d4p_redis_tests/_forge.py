"""A payload that would create a file if anyone unpickled it."""

from __future__ import annotations

import pickle
from typing import Any


class Trap:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


def trap_payload(path: str) -> bytes:
    return pickle.dumps(["Double1", 0, [("input", Trap(path))], 0])
