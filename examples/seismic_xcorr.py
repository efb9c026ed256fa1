"""Seismology-style pre-processing and cross-correlation of station traces.

    d4p run simple examples/seismic_xcorr.py
    d4p run multi examples/seismic_xcorr.py -n 6
    python examples/seismic_xcorr.py

The pattern of ambient-noise studies, on small synthetic data: every station
records the same wave field, each with its own delay, plus an offset, a
drift and local noise; pre-processing cleans each trace, and correlating
every pair of stations recovers the delay between them.

Stations (the source: one trace per station, generated from a fixed seed by
``synthetic_trace``) → Detrend (removes the least-squares line) → Taper
(a cosine taper at both ends) → Bandpass (``BAND`` Hz, in the frequency
domain with numpy's FFT) → PairUp (a ``global`` input: once it has every
trace it writes each pair of stations) → CrossCorrelate (stateless, several
instances: the normalised cross-correlation of a pair by FFT). Results: one
``{"pair": [a, b], "lag_samples", "lag_seconds", "coefficient"}`` per pair,
where a positive lag means the wave reached ``b`` after ``a``: the lag is
``DELAYS[b] - DELAYS[a]`` samples (``expected_lags``).

PairUp keeps state, so the dynamic mappings (``dyn_*``) refuse the graph
(exit 6); every other mapping runs it. As in many seismology set-ups, the
two phases also run apart, through files (``d4p_core.io``): the stateless
pre-processing on any mapping, the dynamic ones included, then the
cross-correlation::

    d4p run dyn_multi examples/seismic_xcorr.py -a build_preprocess -n 4
    d4p run multi examples/seismic_xcorr.py -a build_correlate -n 4

(``traces/`` in the current directory; call the functions with another
folder from Python.)
"""

from __future__ import annotations

import os
from itertools import combinations
from typing import Any

import numpy as np

from d4p_core import GenericPE, IterativePE, ProducerPE, WorkflowGraph
from d4p_core.io import ReadJSONLines, WriteJSONLines

RATE = 50.0  # samples per second
SAMPLES = 3000  # one minute
BAND = (0.5, 5.0)  # Hz, kept by the band-pass
DELAYS = {"AQU": 0, "CAMP": 17, "FIAM": -9, "MNS": 42, "VVLD": 28}  # samples
TAPER = 0.05  # fraction of the trace tapered at each end
SEED = 11

Trace = dict[str, Any]  # {"station": str, "rate": float, "data": list[float]}


def synthetic_trace(station: str) -> list[float]:
    """The trace of ``station``: a common band-limited wave field shifted by
    the station's delay, plus an offset, a linear drift and local noise."""
    rng = np.random.default_rng(SEED)
    field = rng.standard_normal(SAMPLES + 200)  # the same for every station
    spectrum = np.fft.rfft(field)
    freqs = np.fft.rfftfreq(field.size, 1 / RATE)
    spectrum[(freqs < 1.0) | (freqs > 3.0)] = 0
    wave = np.fft.irfft(spectrum, field.size)
    wave /= wave.std()
    start = 100 - DELAYS[station]  # a later arrival: the samples of an earlier time
    local = np.random.default_rng([SEED, sum(map(ord, station))])
    drift = local.uniform(-2, 2) * np.linspace(0, 1, SAMPLES) + local.uniform(-5, 5)
    noise = 0.5 * local.standard_normal(SAMPLES)
    trace: list[float] = (wave[start : start + SAMPLES] + drift + noise).round(5).tolist()
    return trace


def expected_lags() -> dict[tuple[str, str], int]:
    """The lag (samples) of every pair of stations, as the workflow writes them."""
    return {(a, b): DELAYS[b] - DELAYS[a] for a, b in combinations(sorted(DELAYS), 2)}


def _with_data(trace: Trace, data: np.ndarray[Any, Any]) -> Trace:
    return {**trace, "data": data.tolist()}


class Stations(ProducerPE):
    """The source: writes the trace of every station."""

    def _process(self, inputs: Any) -> None:
        for station in sorted(DELAYS):
            self.write(
                self.OUTPUT_NAME,
                {"station": station, "rate": RATE, "data": synthetic_trace(station)},
            )


class Detrend(IterativePE):
    """Removes the least-squares line (offset and drift)."""

    def _process(self, trace: Trace) -> Trace:
        data = np.asarray(trace["data"])
        x = np.arange(data.size)
        slope, intercept = np.polyfit(x, data, 1)
        return _with_data(trace, data - (slope * x + intercept))


class Taper(IterativePE):
    """A cosine (Tukey) taper: both ends go smoothly to zero, so the FFT
    does not see a jump where the trace wraps around."""

    def _process(self, trace: Trace) -> Trace:
        data = np.asarray(trace["data"])
        edge = int(TAPER * data.size)
        ramp = 0.5 * (1 - np.cos(np.pi * np.arange(edge) / edge))
        window = np.ones(data.size)
        window[:edge], window[data.size - edge :] = ramp, ramp[::-1]
        return _with_data(trace, data * window)


class Bandpass(IterativePE):
    """Keeps the frequencies in ``BAND`` (zeroes the others in the spectrum)."""

    def _process(self, trace: Trace) -> Trace:
        data = np.asarray(trace["data"])
        spectrum = np.fft.rfft(data)
        freqs = np.fft.rfftfreq(data.size, 1 / trace["rate"])
        spectrum[(freqs < BAND[0]) | (freqs > BAND[1])] = 0
        return _with_data(trace, np.fft.irfft(spectrum, data.size))


class PairUp(GenericPE):
    """Collects every trace (a global input) and writes each pair of
    stations, in name order, when the stream ends."""

    def __init__(self) -> None:
        super().__init__()
        self._add_input("input", grouping="global")
        self._add_output("output")
        self.traces: dict[str, Trace] = {}

    def _process(self, inputs: dict[str, Any]) -> None:
        trace = inputs["input"]
        self.traces[trace["station"]] = trace

    def _postprocess(self) -> None:
        for a, b in combinations(sorted(self.traces), 2):
            self.write("output", (self.traces[a], self.traces[b]))


class CrossCorrelate(IterativePE):
    """The normalised cross-correlation of a pair, by FFT (zero-padded, so it
    is linear, not circular); writes the lag of its peak and its value."""

    def __init__(self) -> None:
        super().__init__()
        self.numprocesses = 3

    def _process(self, pair: tuple[Trace, Trace]) -> dict[str, Any]:
        first, second = pair
        a, b = np.asarray(first["data"]), np.asarray(second["data"])
        size = a.size + b.size - 1
        n = 1 << (size - 1).bit_length()
        xcorr = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
        xcorr = np.concatenate((xcorr[-(a.size - 1) :], xcorr[: b.size]))  # lags -(a-1)..b-1
        peak = int(np.argmax(xcorr))
        lag = peak - (a.size - 1)
        return {
            "pair": [first["station"], second["station"]],
            "lag_samples": lag,
            "lag_seconds": lag / first["rate"],
            "coefficient": round(float(xcorr[peak] / (np.linalg.norm(a) * np.linalg.norm(b))), 4),
        }


def preprocess(graph: WorkflowGraph) -> Bandpass:
    """Adds Stations → Detrend → Taper → Bandpass to ``graph``; returns the
    last PE, whose ``output`` carries the clean traces."""
    detrend, taper, bandpass = Detrend(), Taper(), Bandpass()
    graph.connect(Stations(), "output", detrend, "input")
    graph.connect(detrend, "output", taper, "input")
    graph.connect(taper, "output", bandpass, "input")
    return bandpass


def correlate(graph: WorkflowGraph, traces: GenericPE | WorkflowGraph) -> None:
    """Adds PairUp → CrossCorrelate, fed by the ``output`` of ``traces``."""
    pairs = PairUp()
    graph.connect(traces, "output", pairs, "input")
    graph.connect(pairs, "output", CrossCorrelate(), "input")


def build() -> WorkflowGraph:
    """The whole workflow: pre-processing, then cross-correlation."""
    graph = WorkflowGraph()
    correlate(graph, preprocess(graph))
    return graph


def build_preprocess(folder: str | os.PathLike[str] = "traces") -> WorkflowGraph:
    """Phase 1 on its own: the clean traces, written as JSON lines into
    ``folder`` (one file per writer copy). Stateless: it runs on every
    mapping, the dynamic ones included."""
    graph = WorkflowGraph()
    writer = WriteJSONLines(os.path.join(folder, "traces.jsonl"))
    graph.connect(preprocess(graph), "output", writer, "input")
    return graph


def build_correlate(folder: str | os.PathLike[str] = "traces") -> WorkflowGraph:
    """Phase 2 on its own: the cross-correlation of the traces that
    ``build_preprocess`` wrote into ``folder``."""
    graph = WorkflowGraph()
    correlate(graph, ReadJSONLines(folder))
    return graph


graph = build()

if __name__ == "__main__":  # needed by the spawn/forkserver start methods and by mpi
    from d4p_core import run

    result = run(build(), "multi", processes=6)
    (outputs,) = result.outputs.values()
    expected = expected_lags()
    for found in sorted(outputs["output"], key=lambda r: r["pair"]):
        a, b = found["pair"]
        print(
            f"{a:>5} -> {b:<5} lag {found['lag_seconds']:+.2f} s "
            f"({found['lag_samples']:+d} samples, expected {expected[a, b]:+d}), "
            f"coefficient {found['coefficient']:.3f}"
        )
