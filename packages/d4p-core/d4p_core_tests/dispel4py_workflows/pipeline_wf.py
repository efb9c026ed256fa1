# mypy: ignore-errors
# ruff: noqa
# fmt: off
# Fixture for test_compat: dispel4py's examples/graph_testing/pipeline_test.py,
# unchanged apart from the import of the test PEs.
'''
This is a dispel4py graph which produces a pipeline workflow with one producer
node (prod) and 5 consumer nodes.

Execution:

    dispel4py simple pipeline_wf.py -i 5

    Processing 5 iterations.
    Inputs: {'TestProducer0': 5}
    Outputs: {'TestOneInOneOut5': {'output': [1, 2, 3, 4, 5]}}
'''

from dispel4py.workflow_graph import WorkflowGraph

from testing_pes import TestProducer, TestOneInOneOut


def testPipeline(graph):
    '''
    Adds a pipeline to the given graph.

    :rtype: the created graph
    '''
    prod = TestProducer()
    prev = prod
    for i in range(5):
        cons = TestOneInOneOut()
        graph.connect(prev, 'output', cons, 'input')
        prev = cons
    return graph


''' important: this is the graph_variable '''
graph = WorkflowGraph()
testPipeline(graph)
