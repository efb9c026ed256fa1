"""dispel4py compatibility: ``install()`` makes ``import dispel4py`` resolve to d4p.

Existing workflows written against dispel4py (``from dispel4py.core import
GenericPE``, ``from dispel4py.workflow_graph import WorkflowGraph``...) then
run unchanged. Nothing happens when the real dispel4py is installed.
"""

from __future__ import annotations

from ._install import install

__all__ = ["install"]
