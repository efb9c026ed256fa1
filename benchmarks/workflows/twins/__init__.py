"""The same workloads written against stream-d4py's API (``dispel4py.core``)."""
