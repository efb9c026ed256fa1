"""The Mapping protocol, the entry-point registry and d4p_core.run."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import d4p_core
from d4p_core import (
    Mapping,
    MappingNotFoundError,
    Plan,
    RunResult,
    SimpleMapping,
    SimpleOptions,
    WorkflowGraph,
    available_mappings,
    load_mapping,
)
from d4p_core import mapping as mapping_module
from d4p_core.inputs import Inputs
from d4p_core_tests._pes import OneProducer, build_pipeline


def _clear_caches() -> None:
    mapping_module._entry_points.cache_clear()
    load_mapping.cache_clear()


@pytest.fixture
def fake_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A distribution on sys.path that registers two mappings by entry point."""
    info = tmp_path / "d4p_fake_backend-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: d4p-fake-backend\nVersion: 0.3\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[d4p.mappings]\n"
        "fake_simple = d4p_core.mappings.simple:SimpleMapping\n"
        "fake_recording = d4p_core_tests.test_mapping:RecordingMapping\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _clear_caches()
    yield
    _clear_caches()


class RecordingMapping:
    """A minimal mapping that records what ``run`` was given."""

    name: ClassVar[str] = "fake_recording"
    supports_stateful: ClassVar[bool] = False
    description: ClassVar[str] = "records its calls"
    calls: ClassVar[list[tuple[Any, ...]]] = []

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--speed", type=int, default=1)

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"speed": args.speed}

    def options_from_kwargs(self, processes: int | None, **kwargs: Any) -> dict[str, Any]:
        return {"processes": processes, **kwargs}

    def check(self, plan: Plan) -> None:
        pass

    def plan(self, graph: WorkflowGraph, options: dict[str, Any]) -> Plan:
        return Plan.build(graph)

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: dict[str, Any]) -> RunResult:
        self.calls.append((graph, inputs, options))
        return RunResult(mapping=self.name, extra={"options": options})


def test_simple_mapping_satisfies_the_protocol() -> None:
    mapping = SimpleMapping()
    assert isinstance(mapping, Mapping)
    assert isinstance(RecordingMapping(), Mapping)
    assert mapping.name == "simple"
    assert mapping.supports_stateful is True
    parser = argparse.ArgumentParser()
    mapping.add_arguments(parser)
    assert mapping.options_from_args(parser.parse_args([])) == SimpleOptions()
    graph, _ = build_pipeline(OneProducer(), 1)
    mapping.check(Plan.build(graph))


def test_load_simple_from_the_installed_entry_point() -> None:
    _clear_caches()
    if "simple" not in available_mappings():
        pytest.skip(
            "d4p-core is not installed in this interpreter (only on PYTHONPATH), so its "
            "'d4p.mappings' entry points are not registered; install it (pip install -e "
            "packages/d4p-core) to run this test"
        )
    mapping = load_mapping("simple")
    assert isinstance(mapping, SimpleMapping)
    assert load_mapping("simple") is mapping  # cached
    info = available_mappings()["simple"]
    assert info.distribution == "d4p-core"
    assert info.value == "d4p_core.mappings.simple:SimpleMapping"
    graph, pes = build_pipeline(OneProducer(), 1)
    assert d4p_core.run(graph, "simple", inputs=2).outputs == {pes[-1].id: {"output": [1, 2]}}


def test_entry_point_discovery(fake_distribution: None) -> None:
    found = available_mappings()
    assert {"fake_simple", "fake_recording"} <= set(found)
    info = found["fake_simple"]
    assert info.distribution == "d4p-fake-backend"
    assert info.version == "0.3"
    assert info.value == "d4p_core.mappings.simple:SimpleMapping"
    assert list(found) == sorted(found)
    mapping = load_mapping("fake_simple")
    assert isinstance(mapping, SimpleMapping)
    assert load_mapping("fake_simple") is mapping


def test_run_by_name_passes_inputs_processes_and_options(fake_distribution: None) -> None:
    graph, _ = build_pipeline(OneProducer(), 1)
    RecordingMapping.calls.clear()
    result = d4p_core.run(graph, "fake_recording", inputs=3, processes=4, speed=9)
    assert result.mapping == "fake_recording"
    assert RecordingMapping.calls == [(graph, 3, {"processes": 4, "speed": 9})]


def test_run_by_name_on_simple_through_an_entry_point(fake_distribution: None) -> None:
    graph, pes = build_pipeline(OneProducer(), 2)
    result = d4p_core.run(graph, "fake_simple", inputs=2)
    assert result.outputs == {pes[-1].id: {"output": [2, 3]}}


def test_unknown_mapping_names_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    # A provider that is surely not installed (the real backends may be).
    monkeypatch.setitem(mapping_module._PROVIDERS, "dyn_nowhere", "d4p-nowhere")
    with pytest.raises(MappingNotFoundError) as info:
        load_mapping("dyn_nowhere")
    message = str(info.value)
    assert "'dyn_nowhere'" in message
    assert "pip install d4p-nowhere" in message
    assert "Installed mappings:" in message
    assert info.value.exit_code == 5


def test_unknown_mapping_lists_what_is_installed(fake_distribution: None) -> None:
    with pytest.raises(MappingNotFoundError) as info:
        load_mapping("no_such_mapping")
    message = str(info.value)
    assert "check the spelling" in message
    assert "fake_simple" in message and "fake_recording" in message


def test_run_with_unknown_mapping_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # A mapping whose distribution is known but not installed gets the hint.
    monkeypatch.setitem(d4p_core.mapping._PROVIDERS, "no_such_backend", "d4p-nosuch")
    graph, _ = build_pipeline(OneProducer(), 1)
    with pytest.raises(MappingNotFoundError, match="pip install d4p-nosuch"):
        d4p_core.run(graph, "no_such_backend")


def test_run_with_a_mapping_object() -> None:
    graph, pes = build_pipeline(OneProducer(), 1)
    result = d4p_core.run(graph, SimpleMapping(), inputs={pes[0]: 3})
    assert result.mapping == "simple"
    assert result.outputs == {pes[-1].id: {"output": [1, 2, 3]}}
    recording = RecordingMapping()
    RecordingMapping.calls.clear()
    d4p_core.run(graph, recording, processes=2, inputs=None)
    assert RecordingMapping.calls == [(graph, None, {"processes": 2})]


def test_core_mappings_load_without_an_entry_point_scan_and_match_them() -> None:
    from d4p_core.mapping import _BUILTIN

    registered = {
        name: info.value
        for name, info in available_mappings().items()
        if info.distribution == "d4p-core"
    }
    assert registered == _BUILTIN
