"""The import paths of d4p-core 0.1.0 still work (re-export shims for the
0.1.x series), and they give the very objects of the layered modules."""

from __future__ import annotations

import importlib

import pytest

MOVED = {
    "pe": "model.pe",
    "base": "model.helpers",
    "block": "model.block",
    "composite": "model.composite",
    "graph": "model.graph",
    "grouping": "model.grouping",
    "plan": "planning.plan",
    "placement": "planning.placement",
    "engine": "runtime.engine",
    "transport": "runtime.transport",
    "progress": "runtime.progress",
    "result": "runtime.result",
    "simple": "mappings.simple",
    "multi": "mappings.multi",
    "dynamic": "mappings.dynamic.local",
    "coordinator": "mappings.dynamic.coordinator",
    "autoscale": "mappings.dynamic.autoscale",
}


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_old_import_path_reexports_the_new_module(old: str, new: str) -> None:
    shim = importlib.import_module(f"d4p_core.{old}")
    module = importlib.import_module(f"d4p_core.{new}")
    assert shim.__all__ == module.__all__
    for name in module.__all__:
        assert getattr(shim, name) is getattr(module, name)


def test_engine_names_of_0_1_0_still_resolve_on_the_package() -> None:
    import d4p_core
    from d4p_core import backend

    for name in ("Executor", "Plan", "place", "GraphPayload", "stable_hash", "Address"):
        assert name not in d4p_core.__all__
        assert getattr(d4p_core, name) is getattr(backend, name)
