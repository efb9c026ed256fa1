"""PEs for the MPI failure tests that core's ``d4p_core.testing.pes`` has no
counterpart of: they break one rank of a job, not a PE call."""

from __future__ import annotations

import os
import signal
from typing import Any

from d4p_core import IterativePE


class UnloadableOnRank1(IterativePE):
    """Passes values on, but cannot be unpickled on MPI rank 1 (as a PE
    whose module is missing on one host): that rank crashes while loading."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        if os.environ.get("PMI_RANK") == "1":
            raise ImportError("no such module on this host")
        self.__dict__.update(state)

    def _process(self, data: Any) -> Any:
        return data


class KillsItsRank(IterativePE):
    """Kills its own rank with SIGKILL on the value 3 (as the OOM killer would)."""

    def _process(self, data: Any) -> Any:
        if data == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return data
