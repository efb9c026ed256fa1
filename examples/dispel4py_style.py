# mypy: ignore-errors
# (written exactly as a dispel4py user writes a workflow: untyped, imports from
# dispel4py, which type checkers do not know)
"""A dispel4py workflow, run unchanged by d4p through its compatibility layer.

Nothing here mentions d4p: the imports are dispel4py's (``dispel4py.core``,
``dispel4py.base``, ``dispel4py.workflow_graph`` and the PE library
``dispel4py.new.aggregate``). ``d4p run`` (and the ``dispel4py`` command
that d4p-cli installs) load it through ``d4p_core.compat``::

    d4p run simple examples/dispel4py_style.py -i 200
    d4p run multi examples/dispel4py_style.py -i 200 -n 6
    dispel4py multi examples/dispel4py_style.py -i 200 -n 6

Weather stations (``StationReadings``: one reading ``[station, tenths of a
degree]`` per iteration, a pure function of the iteration number) → a chain
of two functions (``create_iterative_chain``: drop the readings the station
flagged invalid, convert tenths to degrees) → three consumers:

* ``ReadingsPerStation`` (grouped by station) writes ``[station, count]``
  for each station when the stream ends;
* ``parallel_avg(1)`` writes ``[average, count, sum]`` of the degrees;
* ``parallel_max([1])`` writes ``[highest degrees]``.

``expected(n)`` computes the answer of ``n`` iterations directly. The
grouped PE and the aggregates' global stages keep state, so the dynamic
mappings (``dyn_*``) refuse the graph (exit 6).
"""

from dispel4py.base import create_iterative_chain
from dispel4py.core import GenericPE
from dispel4py.new.aggregate import parallel_avg, parallel_max
from dispel4py.workflow_graph import WorkflowGraph

STATIONS = ["ABER", "BRAE", "CAIR", "DUNS"]
INVALID = -9999


def reading(n):
    """Reading number ``n``: a station flags a saturated sensor as invalid."""
    station = STATIONS[n % len(STATIONS)]
    tenths = (n * 37) % 301 - 50
    return [station, INVALID if tenths > 200 else tenths]


class StationReadings(GenericPE):
    def __init__(self):
        GenericPE.__init__(self)
        self._add_output("output")
        self.counter = 0

    def _process(self, inputs):
        value = reading(self.counter)
        self.counter += 1
        return {"output": value}


def drop_invalid(data):
    if data[1] == INVALID:
        return None
    return data


def to_degrees(data):
    return [data[0], data[1] / 10.0]


class ReadingsPerStation(GenericPE):
    def __init__(self):
        GenericPE.__init__(self)
        self._add_input("input", grouping=[0])
        self._add_output("output")
        self.count = {}

    def _process(self, inputs):
        station = inputs["input"][0]
        self.count[station] = self.count.get(station, 0) + 1

    def _postprocess(self):
        for station, count in sorted(self.count.items()):
            self.write("output", [station, count])


def expected(iterations):
    """What the workflow writes after ``iterations`` iterations: the counts
    per station, ``[average, count, sum]`` and ``[max]`` of the degrees."""
    valid = [to_degrees(r) for r in map(reading, range(iterations)) if r[1] != INVALID]
    counts = {}
    for station, _ in valid:
        counts[station] = counts.get(station, 0) + 1
    total = sum(degrees for _, degrees in valid)
    return {
        "counts": sorted([station, count] for station, count in counts.items()),
        "avg": [total / len(valid), len(valid), total],
        "max": [max(degrees for _, degrees in valid)],
    }


readings = StationReadings()
clean = create_iterative_chain([drop_invalid, to_degrees])
per_station = ReadingsPerStation()
average = parallel_avg(1)
highest = parallel_max([1])

graph = WorkflowGraph()
graph.connect(readings, "output", clean, "input")
graph.connect(clean, "output", per_station, "input")
graph.connect(clean, "output", average, "input")
graph.connect(clean, "output", highest, "input")

if __name__ == "__main__":
    # Where dispel4py (or d4p's compatibility layer) is importable, as a
    # dispel4py user runs a workflow in-process:
    from dispel4py.new import simple_process

    simple_process.process(graph, inputs={readings: 200})
