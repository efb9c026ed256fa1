"""Benchmark workloads: d4p graphs (this package) and stream-d4py twins (``twins/``).

Nothing here imports d4p or dispel4py at package level, so the twins can be
loaded by stream-d4py's interpreter, which has no d4p installed.
"""
