"""Sensor time series: per-sensor windowed statistics and anomalies (z-score).

    d4p run simple examples/sensor_windows.py
    d4p run hybrid_multi examples/sensor_windows.py -n 4 -i 10
    python examples/sensor_windows.py

Readings (a ``BlockPE`` source: each call is one hour of readings of every
sensor, generated with numpy from a fixed seed) → Window (grouped by sensor:
collects each sensor's readings into windows of ``WINDOW`` samples) →
WindowStats (a stateless ``BlockPE``: the statistics and the anomalies of a
whole block of windows in a few numpy operations). Results, on two outputs:

* ``output``: one ``{"sensor", "window", "count", "mean", "std", "min",
  "max"}`` per sensor and window;
* ``anomalies``: one ``{"sensor", "t", "value", "z"}`` per reading whose
  robust z-score within its window (distance to the median in units of the
  scaled median absolute deviation) exceeds ``Z_LIMIT``.

The generator injects spikes (``injected_spikes``) into noise that cannot
reach the limit, so the anomalies found are exactly the spikes injected.
Window keeps state per sensor, so the dynamic mappings (``dyn_*``) refuse
the graph (exit 6). ``examples/sensor_blocks.py`` is the simpler, stateless
block example (calibrate and filter, on every mapping).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from d4p_core import BlockPE, GenericPE, WorkflowGraph

SENSORS = 6
SAMPLES = 600  # per sensor and call ("one hour": a reading every 6 s)
WINDOW = 100  # readings per window
SPIKES = 4  # spikes per call, each in a random sensor and sample
Z_LIMIT = 6.0
SEED = 7
BASE = np.linspace(18.0, 23.0, SENSORS)  # each sensor's level

Reading = tuple[int, int, float]  # (sensor, t, value): t counts samples from the start


def hour(call: int) -> tuple[np.ndarray[Any, Any], list[tuple[int, int]]]:
    """The readings of call ``call``, shape ``(SENSORS, SAMPLES)``, and the
    ``(sensor, t)`` of the spikes in them: a slow daily wave, uniform noise
    within ±0.5, and ``SPIKES`` spikes of 8 to 12 degrees up or down."""
    rng = np.random.default_rng([SEED, call])
    t = np.arange(call * SAMPLES, (call + 1) * SAMPLES)
    wave = 2.0 * np.sin(2 * np.pi * t / (24 * SAMPLES))
    values = BASE[:, None] + wave[None, :] + rng.uniform(-0.5, 0.5, (SENSORS, SAMPLES))
    sensors = rng.choice(SENSORS, SPIKES)
    samples = rng.choice(SAMPLES, SPIKES, replace=False)  # no two on one reading
    values[sensors, samples] += rng.choice([-1.0, 1.0], SPIKES) * rng.uniform(8, 12, SPIKES)
    spikes = [(int(s), int(call * SAMPLES + k)) for s, k in zip(sensors, samples, strict=True)]
    return values.round(3), spikes


def injected_spikes(calls: int) -> set[tuple[int, int]]:
    """The ``(sensor, t)`` of every spike in ``calls`` calls: the anomalies
    the workflow must find."""
    return {spike for call in range(calls) for spike in hour(call)[1]}


class Readings(BlockPE[Any, Reading]):
    """The source: each call writes one hour of ``(sensor, t, value)``."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def process_block(self, values: list[Any]) -> list[Reading]:
        readings: list[Reading] = []
        for _ in values:
            data, _spikes = hour(self.calls)
            t0 = self.calls * SAMPLES
            for sensor, row in enumerate(data.tolist()):
                readings.extend((sensor, t0 + k, value) for k, value in enumerate(row))
            self.calls += 1
        return readings


class Window(GenericPE):
    """Collects each sensor's readings into windows of ``WINDOW`` samples
    (by ``t``, so the order of arrival does not matter) and writes
    ``(sensor, window, [(t, value), ...])`` when one is full; the partial
    windows at the end of the stream."""

    def __init__(self) -> None:
        super().__init__(numprocesses=3)
        self._add_input("input", grouping=[0])
        self._add_output("output")
        self.open: dict[tuple[int, int], list[tuple[int, float]]] = {}

    def _process(self, inputs: dict[str, Any]) -> None:
        sensor, t, value = inputs["input"]
        key = (sensor, t // WINDOW)
        window = self.open.setdefault(key, [])
        window.append((t, value))
        if len(window) == WINDOW:
            self.write("output", (*key, sorted(self.open.pop(key))))

    def _postprocess(self) -> None:
        for key, window in sorted(self.open.items()):
            self.write("output", (*key, sorted(window)))


class WindowStats(BlockPE[Any, dict[str, Any]]):
    """Statistics and anomalies of a block of windows: the full windows of a
    block are one ``(windows, WINDOW)`` array, so each statistic is one numpy
    call for all of them."""

    def __init__(self) -> None:
        super().__init__(numprocesses=2)
        self._add_output("anomalies")

    def process_block(self, values: list[Any]) -> list[dict[str, Any]]:
        stats: list[dict[str, Any]] = []
        by_length: dict[int, list[Any]] = {}
        for window in values:
            by_length.setdefault(len(window[2]), []).append(window)
        for windows in by_length.values():
            stats.extend(self._same_length(windows))
        return stats

    def _same_length(self, windows: list[Any]) -> list[dict[str, Any]]:
        pairs = np.array([w[2] for w in windows], dtype=float)  # (windows, length, 2)
        t, x = pairs[:, :, 0].astype(int), pairs[:, :, 1]
        median = np.median(x, axis=1, keepdims=True)
        mad = np.median(np.abs(x - median), axis=1, keepdims=True) * 1.4826
        z = (x - median) / np.where(mad > 0, mad, np.inf)
        for row, col in zip(*np.nonzero(np.abs(z) > Z_LIMIT), strict=True):
            anomaly = {"sensor": windows[row][0], "t": int(t[row, col])}
            anomaly |= {"value": float(x[row, col]), "z": round(float(z[row, col]), 2)}
            self.write("anomalies", anomaly)
        columns = {
            "mean": x.mean(axis=1),
            "std": x.std(axis=1),
            "min": x.min(axis=1),
            "max": x.max(axis=1),
        }
        rounded = {name: column.round(4).tolist() for name, column in columns.items()}
        return [
            {"sensor": sensor, "window": number, "count": x.shape[1]}
            | {name: rounded[name][i] for name in columns}
            for i, (sensor, number, _) in enumerate(windows)
        ]


def build() -> WorkflowGraph:
    graph = WorkflowGraph()
    window, stats = Window(), WindowStats()
    graph.connect(Readings(), "output", window, "input")
    graph.connect(window, "output", stats, "input")
    return graph


graph = build()

if __name__ == "__main__":  # needed by the spawn/forkserver start methods and by mpi
    from d4p_core import run

    result = run(build(), "multi", inputs=3, processes=4)
    outputs = result.outputs["WindowStats2"]
    print(f"{len(outputs['output'])} windows; anomalies:")
    for anomaly in sorted(outputs["anomalies"], key=lambda a: (a["t"], a["sensor"])):
        sensor, t, value, z = anomaly["sensor"], anomaly["t"], anomaly["value"], anomaly["z"]
        print(f"  sensor {sensor} at t={t}: {value} (z {z})")
