# mypy: ignore-errors
# ruff: noqa
# fmt: off
# Fixture for test_compat: PEs written against dispel4py's API, as in
# dispel4py's examples/graph_testing/testing_PEs.py. Foreign code: keep the
# dispel4py style (no typing, dicts assigned directly).

from dispel4py.core import GenericPE, NAME, TYPE, GROUPING


class TestProducer(GenericPE):
    def __init__(self, numOutputs=1):
        GenericPE.__init__(self)
        if numOutputs == 1:
            self.outputconnections = {'output': {NAME: 'output', TYPE: ['number']}}
        else:
            for i in range(numOutputs):
                self.outputconnections['output%s' % i] = {NAME: 'output%s' % i, TYPE: ['number']}
        self.counter = 0
        self.outputnames = list(self.outputconnections.keys())

    def process(self, inputs):
        self.counter += 1
        result = {}
        for output in self.outputnames:
            result[output] = self.counter
        return result


class TestOneInOneOut(GenericPE):
    def __init__(self):
        GenericPE.__init__(self)
        self.inputconnections = {'input': {NAME: 'input'}}
        self.outputconnections = {'output': {NAME: 'output'}}

    def process(self, inputs):
        return {'output': inputs['input']}


class TestOneInOneOutWriter(GenericPE):
    def __init__(self):
        GenericPE.__init__(self)
        self.inputconnections = {'input': {NAME: 'input'}}
        self.outputconnections = {'output': {NAME: 'output'}}

    def process(self, inputs):
        self.write('output', inputs['input'])


class TestTwoInOneOut(GenericPE):
    def __init__(self):
        GenericPE.__init__(self)
        self.inputconnections = {'input0': {NAME: 'input0'}, 'input1': {NAME: 'input1'}}
        self.outputconnections = {'output': {NAME: 'output'}}

    def process(self, inputs):
        result = ''
        for inp in self.inputconnections:
            if inp in inputs:
                result += '%s' % (inputs[inp])
        if result:
            return {'output': result}


class Fail(GenericPE):
    def __init__(self):
        GenericPE.__init__(self)
        self.inputconnections = {'input': {NAME: 'input', GROUPING: 'global'}}
        self.outputconnections = {'output': {NAME: 'output'}}

    def process(self, inputs):
        if inputs['input'] == 3:
            raise ValueError('cannot handle 3')
        return {'output': inputs['input']}
