"""The examples give the ``simple`` answer on every installed mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

import d4p_core
from d4p_core.testing import assert_same_multisets

REPO = Path(__file__).resolve().parent.parent
MAPPINGS = sorted(d4p_core.available_mappings())
# Every storm run starts a Storm LocalCluster of its own: the slow tier.
EVERY_MAPPING = [pytest.param(m, marks=pytest.mark.slow) if m == "storm" else m for m in MAPPINGS]


@pytest.mark.parametrize("mapping", EVERY_MAPPING)
def test_sensor_blocks_on_every_mapping(mapping: str) -> None:
    pytest.importorskip("numpy")
    example = d4p_core.load_module(str(REPO / "examples" / "sensor_blocks.py"))
    reference = d4p_core.run(example.build(), "simple", inputs=5000)
    overheated = reference.outputs["Overheated2"]["output"]
    assert overheated, "the example should find overheated readings"
    assert all(kelvin > example.LIMIT_KELVIN for _, _, kelvin in overheated)
    result = d4p_core.run(example.build(), mapping, inputs=5000, processes=4)
    assert_same_multisets(result.outputs, reference.outputs)
    assert result.metrics["Calibrate1"].items_in == 5000
