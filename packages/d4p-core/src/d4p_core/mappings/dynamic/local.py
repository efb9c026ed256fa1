"""The dynamic multiprocessing mappings: ``dyn_multi``, ``dyn_auto_multi``
and ``hybrid_multi``. They share one coordinator and worker
(:mod:`d4p_core.mappings.dynamic.driver`, :mod:`d4p_core.mappings.dynamic.worker`)."""

from __future__ import annotations

from typing import ClassVar

from ..base import RunOutcome
from .base import DynamicMappingBase, DynamicRun
from .driver import DynamicOptions, run_local

__all__ = ["DynAutoMultiMapping", "DynMultiMapping", "DynamicOptions", "HybridMultiMapping"]


class DynMultiMapping(DynamicMappingBase[DynamicOptions]):
    """Workers pull tasks from one shared queue; stateless PEs only."""

    name: ClassVar[str] = "dyn_multi"
    description: ClassVar[str] = "a pool of workers sharing one task queue (stateless PEs)"
    options_class: ClassVar[type[DynamicOptions]] = DynamicOptions

    def execute(self, work: DynamicRun, options: DynamicOptions) -> RunOutcome:
        return run_local(self.name, work, options)


class DynAutoMultiMapping(DynMultiMapping):
    """``dyn_multi`` with an autoscaled number of active workers."""

    name: ClassVar[str] = "dyn_auto_multi"
    description: ClassVar[str] = "dyn_multi with autoscaling between --min/--max-workers"
    autoscaled: ClassVar[bool] = True


class HybridMultiMapping(DynMultiMapping):
    """Stateful PEs on pinned instances, stateless work on the shared queue."""

    name: ClassVar[str] = "hybrid_multi"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "stateful PEs pinned, stateless PEs on a shared task queue"
    pinned: ClassVar[bool] = True
