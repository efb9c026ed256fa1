"""The example backend of ``docs/backends.md`` (``examples/thread_backend.py``,
one page on top of ``d4p_core.backend``) passes d4p's whole conformance
suite: a new backend is a transport plus ``execute()``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

import d4p_core
from d4p_core.testing import MappingConformance

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "thread_backend.py"
thread_backend = d4p_core.load_module(str(EXAMPLE))


class TestThreadBackendConformance(MappingConformance):
    mapping = "threads"
    processes = 3

    def get_mapping(self) -> Any:
        return thread_backend.ThreadMapping()


def test_options_are_declared_once() -> None:
    mapping = thread_backend.ThreadMapping()
    parser = argparse.ArgumentParser()
    mapping.add_arguments(parser)
    args = parser.parse_args(["--batch-size", "8", "--fuse", "never"])
    args.processes = 2
    assert mapping.options_from_args(args) == thread_backend.ThreadOptions(2, 8, "never")
    assert "(256)" in parser.format_help()  # the default, stated once, in the help
    with pytest.raises(d4p_core.D4pError, match="batch_sise"):
        mapping.options_from_kwargs(2, batch_sise=8)
