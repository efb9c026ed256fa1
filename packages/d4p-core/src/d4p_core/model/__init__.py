"""The workflow model: PEs, graphs, groupings, composites."""
