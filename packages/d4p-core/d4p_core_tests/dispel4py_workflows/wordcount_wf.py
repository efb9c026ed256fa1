# mypy: ignore-errors
# ruff: noqa
# fmt: off
# Fixture for test_compat: a word count written against dispel4py's API.
# Run it with: -d '{"read": [{"input": "<path of a text file>"}]}'

from collections import defaultdict

from dispel4py.core import GenericPE
from dispel4py.base import IterativePE, ProducerPE, SimpleFunctionPE
from dispel4py.workflow_graph import WorkflowGraph


class ReadLines(ProducerPE):
    def __init__(self):
        ProducerPE.__init__(self)

    def _process(self, inputs):
        with open(inputs['input']) as f:
            for line in f:
                self.write('output', line)


class SplitWords(IterativePE):
    def __init__(self):
        IterativePE.__init__(self)

    def _process(self, data):
        for word in data.split():
            self.write('output', (word.lower(), 1))


class CountWords(GenericPE):
    def __init__(self):
        GenericPE.__init__(self)
        self._add_input('input')
        self._add_output('output')
        self.count = defaultdict(int)

    def _process(self, inputs):
        word, count = inputs['input']
        self.count[word] += count

    def _postprocess(self):
        for word, count in sorted(self.count.items()):
            self.write('output', (word, count))


def drop_short(pair, min_length):
    if len(pair[0]) >= min_length:
        return pair


read = ReadLines()
read.name = 'read'
split = SplitWords()
keep = SimpleFunctionPE(drop_short, {'min_length': 3})
count = CountWords()
count.numprocesses = 3
count.inputconnections['input']['grouping'] = [0]

graph = WorkflowGraph()
graph.connect(read, 'output', split, 'input')
graph.connect(split, 'output', keep, 'input')
graph.connect(keep, 'output', count, 'input')
