"""Sensor readings calibrated and screened a block at a time with numpy.

Every PE here is a ``BlockPE``: it receives a list of the items that arrived
together and works on all of them in one numpy operation, on any mapping.

    d4p run simple examples/sensor_blocks.py -i 100000
    d4p run multi examples/sensor_blocks.py -i 1000000 -n 4 --quiet

Readings (the source: one reading per iteration, ``(sensor, index, celsius)``)
→ Calibrate (to kelvin with each sensor's gain and offset) → Overheated (keeps
readings above 300 K). Results: the overheated readings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from d4p_core import BlockPE, WorkflowGraph

SENSORS = 8
GAIN = np.linspace(0.98, 1.02, SENSORS)
OFFSET = np.linspace(-0.5, 0.5, SENSORS)
LIMIT_KELVIN = 300.0

Reading = tuple[int, int, float]


class Readings(BlockPE[Any, Reading]):
    """Reading ``i`` comes from sensor ``i % 8``: a slow wave plus noise, a
    pure function of ``i`` (so every mapping reads the same values)."""

    def __init__(self) -> None:
        super().__init__()
        self.next_index = 0

    def process_block(self, values: list[Any]) -> list[Reading]:
        index = np.arange(self.next_index, self.next_index + len(values))
        self.next_index += len(values)
        noise = (np.sin(index * 12.9898) * 43758.5453) % 1.0
        celsius = 20.0 + 6.0 * np.sin(index / 500.0) + 4.0 * noise
        return list(zip((index % SENSORS).tolist(), index.tolist(), celsius.tolist(), strict=True))


class Calibrate(BlockPE[Reading, Reading]):
    """Celsius to kelvin with the sensor's gain and offset."""

    def process_block(self, values: list[Reading]) -> list[Reading]:
        sensor, index, celsius = np.array(values).T
        sensors = sensor.astype(int)
        kelvin = celsius * GAIN[sensors] + OFFSET[sensors] + 273.15
        columns = (sensors.tolist(), index.astype(int).tolist(), kelvin.round(3).tolist())
        return list(zip(*columns, strict=True))


class Overheated(BlockPE[Reading, Reading]):
    """Keeps the readings above the limit."""

    def process_block(self, values: list[Reading]) -> list[Reading]:
        kelvin = np.fromiter((v[2] for v in values), dtype=float, count=len(values))
        return [values[i] for i in np.flatnonzero(kelvin > LIMIT_KELVIN)]


def build() -> WorkflowGraph:
    graph = WorkflowGraph()
    calibrate = Calibrate()
    graph.connect(Readings(), "output", calibrate, "input")
    graph.connect(calibrate, "output", Overheated(), "input")
    return graph


graph = build()

if __name__ == "__main__":
    from d4p_core import run

    result = run(build(), "simple", inputs=10_000)
    print(f"{len(result.outputs['Overheated2']['output'])} overheated readings")
