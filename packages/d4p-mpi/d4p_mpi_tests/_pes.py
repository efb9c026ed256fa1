"""A PE for the MPI failure tests that core's ``d4p_core.testing.pes`` has no
counterpart of: it breaks one rank of a job, not a PE call."""

from __future__ import annotations

import os
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
