"""The dynamic mappings: workers sharing a task queue."""
