"""The typed downstream tool works, not only type-checks."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture
def typed_consumer(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # Imported by name from its folder, as a downstream tool's module would be
    # (worker processes import it the same way).
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    return importlib.import_module("typed_consumer")


def test_plan_shows_the_instances_a_tool_would_display(typed_consumer: ModuleType) -> None:
    assert typed_consumer.describe_plan(typed_consumer.build(), 4) == {
        "Numbers0": 1,
        "Parity1": 1,
        "SumByParity2": 2,
    }


def test_every_local_mapping_gives_the_same_totals(typed_consumer: ModuleType) -> None:
    results = typed_consumer.main()
    assert set(results) == {"simple", "multi", "hybrid_multi"}
    for totals in results.values():
        assert totals == {"even": 30, "odd": 25}
