"""Each package's public API is pinned: removing or renaming a name is a
conscious change made here, with a CHANGELOG entry. Every public function
and method is annotated, and every package ships ``py.typed``."""

from __future__ import annotations

import importlib
import inspect
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

PUBLIC_API: dict[str, set[str]] = {
    "d4p_core": {
        "AutoscalePolicy", "BacklogPolicy", "BasePE", "BlockPE", "Broadcast", "CompositePE",
        "Connection", "ConsumerPE", "D4pError", "DynamicOptions", "GROUPING", "GenericPE",
        "Global", "GraphError", "GroupBy", "Grouping", "InputError", "Inputs",
        "IterativePE", "Mapping", "MappingInfo", "MappingNotFoundError", "MultiOptions",
        "NAME", "Outputs", "PEMetrics", "ProducerPE", "ProgressListener", "ReadCSV",
        "ReadJSONLines", "ReadLines", "ResultStream", "WriteCSV", "WriteJSONLines",
        "RunError", "RunResult", "ScalingDecision", "ScalingSnapshot", "ServiceUnavailableError",
        "Shuffle", "SimpleFunctionPE", "SimpleOptions", "TYPE", "UndeclaredStateWarning",
        "UnsupportedGraphError",
        "WRITER", "WorkflowGraph", "__version__", "available_mappings",
        "create_iterative_chain", "find_graph", "grouping_from_spec", "is_composite",
        "load_graph", "load_inputs_file", "load_mapping", "load_module", "merge_outputs",
        "parse_inputs_json", "run", "set_progress_listener", "stream",
    },
    "d4p_core.backend": {
        "ABORT_GRACE", "Aborted", "Address", "AutoscalePolicy", "BacklogPolicy", "Batch",
        "BatchingReporter", "DynamicCoordinator", "DynamicLayout", "DynamicMappingBase",
        "DynamicRun", "EXIT_GRACE_CHECKS", "Executor", "FUSE_CHOICES", "FailureInfo",
        "FixedPlacementMapping", "FlatGraph", "Fuse", "GraphPayload", "InputSpec", "LOG_LEVEL_ENV",
        "LocalProcesses", "MappingBase", "Outputs", "PEFailure", "PEMetrics", "PlacedRun",
        "Plan", "ProgressTotals", "RESULTS_PER_REPORT", "Report", "ReportSink",
        "ResultCallback", "Route",
        "RunOutcome", "START_METHODS", "STOP_GRACE", "ScalingDecision", "ScalingSnapshot",
        "SpillTarget", "Transport", "check_process_options", "copy_metrics", "crash_text",
        "deliver", "die_with_parent", "dynamic_plan", "exit_description", "fuse_option",
        "given_blocks", "instance_metrics", "instantiate", "iter_blocks", "merge_metrics",
        "option", "parent_gone", "parent_token", "pe_prints_to_stderr", "place",
        "progress_listener",
        "refuse_stateful", "resolve_inputs", "result_callback", "results_to",
        "run_worker_command", "send_pe_prints_to_stderr", "sigterm_ends_the_run", "stable_hash",
        "start_method_option", "task_kills_workers", "watch_child", "worker_crashed",
        "worker_lost", "workers_die_holding_nothing",
    },
    "d4p_core.testing": {
        "CASES", "ConformanceCase", "INVARIANTS", "MappingConformance", "PORTABILITY_CASES",
        "assert_same_multisets", "build_failing", "case_by_name", "child_processes", "freeze",
        "multiset",
    },
    "d4p_core.compat": {"install"},
    "d4p_core.io": {
        "CSVReader", "ChunkReader", "DEFAULT_CHUNK_BYTES", "FileChunk", "FileWriter",
        "JSONLinesReader", "LineReader", "LineSource", "ReadCSV", "ReadFiles",
        "ReadJSONLines", "ReadLines", "SplitFiles", "WriteCSV", "WriteJSONLines",
    },
    "d4p_cli": {
        "CliError", "EXIT_CODES", "ExitCode", "OutputError", "ServiceUnreachableError",
        "TargetImportError", "TargetNotFoundError", "__version__", "dispel4py_main", "main",
    },
    "d4p_mpi": {"MpiMapping", "MpiOptions", "__version__", "find_mpiexec"},
    "d4p_redis": {
        "Codec", "DynAutoRedisMapping", "DynRedisMapping", "ENV_AUTH_KEY", "ENV_URL",
        "ForgedMessage", "HybridRedisMapping", "LeaseLost", "PrivateServer", "RedisMapping",
        "RedisOptions", "RunKeys", "RunState", "RunVanished", "WorkerRefused", "__version__",
        "collect", "connect", "delete_run", "find_server_binary", "join_run", "survey",
        "worker_main",
    },
    "d4p_zmq": {"AUTH_KEY_ENV", "ZmqMultiMapping", "ZmqOptions", "__version__", "new_auth_key"},
    "d4p_storm": {
        "ComponentSpec", "LocalStorm", "NimbusClient", "StormMapping", "StormOptions",
        "StreamSpec", "Subscription", "TopologySpec", "__version__", "build_launcher",
        "build_topology", "storm_plan", "to_flux", "to_thrift", "topology_package",
        "write_flux",
    },
}  # fmt: skip

PACKAGES = sorted({name.split(".")[0] for name in PUBLIC_API})


def _installed(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError:
        pytest.skip(f"{module_name.split('.')[0]} is not installed in this environment")


@pytest.mark.parametrize("module_name", sorted(PUBLIC_API))
def test_all_is_pinned(module_name: str) -> None:
    module = _installed(module_name)
    assert set(module.__all__) == PUBLIC_API[module_name]
    assert len(module.__all__) == len(set(module.__all__)), "__all__ lists a name twice"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names what it does not define: {missing}"


def _unannotated(function: Any) -> list[str]:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # builtins without a signature
        return []
    missing = [
        name
        for name, parameter in signature.parameters.items()
        if parameter.annotation is inspect.Parameter.empty and name not in ("self", "cls")
    ]
    if signature.return_annotation is inspect.Signature.empty and function.__name__ != "__init__":
        missing.append("return")
    return missing


def _own_callables(module: Any) -> list[tuple[str, Any]]:
    """Public functions, and public methods of public classes, defined by this package."""
    package = module.__name__.split(".")[0]
    found = []
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isfunction(value) and value.__module__.startswith(package):
            found.append((name, value))
        elif inspect.isclass(value) and value.__module__.startswith(package):
            for attribute, member in vars(value).items():
                if (
                    inspect.isfunction(member)
                    and member.__module__.startswith(package)  # not typing's Protocol.__init__
                    and (not attribute.startswith("_") or attribute == "__init__")
                ):
                    found.append((f"{name}.{attribute}", member))
    return found


@pytest.mark.parametrize("module_name", sorted(PUBLIC_API))
def test_public_callables_are_annotated(module_name: str) -> None:
    module = _installed(module_name)
    gaps = {}
    for name, function in _own_callables(module):
        if missing := _unannotated(function):
            gaps[name] = missing
    assert not gaps, f"unannotated parameters in {module_name}: {gaps}"


@pytest.mark.parametrize("package", PACKAGES)
def test_package_ships_py_typed(package: str) -> None:
    _installed(package)
    assert resources.files(package).joinpath("py.typed").is_file()


def test_every_private_core_module_is_banned_outside_core() -> None:
    """Backends import core's public API and ``d4p_core.backend`` only; the
    lint rule (ruff TID251, in the root pyproject.toml) that enforces it must
    name every private module of d4p-core."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        tomllib = pytest.importorskip("tomli")

    core = resources.files("d4p_core")
    root = Path(str(core))
    private = {
        ".".join(("d4p_core", *path.relative_to(root).with_suffix("").parts))
        for path in root.rglob("_*.py")
        if path.name not in ("__init__.py", "__about__.py", "__main__.py")
    }
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    config = tomllib.loads(pyproject.read_text())
    banned = set(config["tool"]["ruff"]["lint"]["flake8-tidy-imports"]["banned-api"])
    assert private - banned == set(), "add these to the banned-api list in pyproject.toml"


BACKENDS = ["d4p-mpi", "d4p-redis", "d4p-storm", "d4p-zmq"]


@pytest.mark.parametrize("distribution", BACKENDS)
def test_a_backends_mapping_module_is_options_and_execute(distribution: str) -> None:
    """A backend's mapping module declares its options and implements
    ``execute()`` (or its dynamic run); placement, supervision, reporting and
    option plumbing are core's. 120 lines is what that takes: a module that
    grows past it is growing a copy of something core owns."""
    repo = Path(__file__).resolve().parent.parent
    package = distribution.replace("-", "_")
    module = repo / "packages" / distribution / "src" / package / "mapping.py"
    lines = len(module.read_text().splitlines())
    assert lines <= 120, f"{module.relative_to(repo)} has {lines} lines"
