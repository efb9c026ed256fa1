# mypy: ignore-errors
# ruff: noqa
# fmt: off
# Fixture: a workflow written against dispel4py (as in dispel4py's
# examples/graph_testing/pipeline_test.py), loaded through d4p_core.compat.
from dispel4py.core import GenericPE
from dispel4py.workflow_graph import WorkflowGraph


class TestProducer(GenericPE):
    def __init__(self):
        GenericPE.__init__(self)
        self._add_output('output')
        self.counter = 0

    def _process(self, inputs):
        self.counter += 1
        return {'output': self.counter}


class TestOneInOneOut(GenericPE):
    def __init__(self):
        GenericPE.__init__(self)
        self._add_input('input')
        self._add_output('output')

    def _process(self, inputs):
        return {'output': inputs['input']}


prod = TestProducer()
prod.name = 'prod'
graph = WorkflowGraph()
previous = prod
for _ in range(5):
    consumer = TestOneInOneOut()
    graph.connect(previous, 'output', consumer, 'input')
    previous = consumer
