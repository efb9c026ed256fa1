"""PEs only these tests need (the rest come from ``d4p_core.testing.pes``)."""

from __future__ import annotations

import os
import signal
from typing import Any

from d4p_core import IterativePE

__all__ = ["KillSelfOn"]


class KillSelfOn(IterativePE):
    """Passes items on; on ``value`` its process dies from SIGKILL (a task
    killed from outside: no report, no traceback)."""

    def __init__(self, value: int) -> None:
        super().__init__()
        self.value = value

    def _process(self, data: Any) -> Any:
        if data == self.value:
            os.kill(os.getpid(), signal.SIGKILL)
        return data
