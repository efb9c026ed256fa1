"""The PE API: ports, writing, logging, pickling, types and the base PEs."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from d4p_core import (
    GROUPING,
    NAME,
    TYPE,
    WRITER,
    BasePE,
    ConsumerPE,
    Executor,
    GenericPE,
    IterativePE,
    Plan,
    ProducerPE,
    RunError,
    SimpleFunctionPE,
    WorkflowGraph,
)
from d4p_core_tests._pes import (
    AddOne,
    Collector,
    DropOdd,
    NumberProducer,
    OneProducer,
    double_fn,
    inc_fn,
    run_simple,
)


class TwoPorts(GenericPE):
    def __init__(self) -> None:
        super().__init__()
        self._add_input("left", grouping=[0], tuple_type=["word", "count"])
        self._add_input("right")
        self._add_output("out", tuple_type=["word"])
        self._add_output("other")


class WritesUndeclared(ProducerPE):
    def _process(self, inputs: Any) -> Any:
        self.write("nope", 1)
        return None


class ReturnsUndeclared(GenericPE):
    def __init__(self) -> None:
        super().__init__()
        self._add_output("output")

    def _process(self, inputs: Any) -> Any:
        return {"nope": 1}


class WritesSeveral(IterativePE):
    def _process(self, data: Any) -> Any:
        for i in range(3):
            self.write("output", (data, i))
        return None


class Logs(IterativePE):
    def _process(self, data: Any) -> Any:
        self.log(f"got {data}")
        return data


@pytest.fixture
def pe_log_records() -> Iterator[list[logging.LogRecord]]:
    """Records of the ``d4p.pe`` logger, however logging is configured."""
    records: list[logging.LogRecord] = []

    class ListHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("d4p.pe")
    handler = ListHandler(level=logging.DEBUG)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


# -- ports ----------------------------------------------------------------------
def test_generic_pe_defaults() -> None:
    pe = GenericPE()
    assert pe.inputconnections == {}
    assert pe.outputconnections == {}
    assert pe.name == "GenericPE"
    assert pe.id == "GenericPE"
    assert pe.numprocesses == 1
    assert pe.wrapper == "simple"
    assert set(pe.pickleIgnore) >= {"inputconnections", "outputconnections", "wrapper"}
    assert GenericPE(numprocesses=4).numprocesses == 4


def test_add_input_and_output_record_name_grouping_and_type() -> None:
    pe = TwoPorts()
    assert pe.inputconnections["left"] == {
        NAME: "left",
        GROUPING: [0],
        TYPE: ["word", "count"],
    }
    assert pe.inputconnections["right"] == {NAME: "right"}
    assert pe.outputconnections["out"] == {NAME: "out", TYPE: ["word"]}
    assert pe.outputconnections["other"] == {NAME: "other"}
    assert NAME == "name" and TYPE == "type" and GROUPING == "grouping" and WRITER == "writer"


def test_snake_case_port_aliases() -> None:
    pe = GenericPE()
    pe.add_input("x", grouping="all")
    pe.add_output("y")
    assert pe.inputconnections["x"][GROUPING] == "all"
    assert "y" in pe.outputconnections


def test_add_input_replaces_an_existing_declaration() -> None:
    pe = GenericPE()
    pe._add_input("x", grouping=[0])
    pe._add_input("x")
    assert pe.inputconnections["x"] == {NAME: "x"}


def test_default_process_calls_underscore_process() -> None:
    class Echo(GenericPE):
        def _process(self, inputs: Any) -> Any:
            return {"seen": inputs}

    assert Echo().process({"a": 1}) == {"seen": {"a": 1}}
    assert GenericPE().process({"a": 1}) is None


# -- writing --------------------------------------------------------------------
def test_write_to_undeclared_output_is_a_key_error_naming_the_outputs() -> None:
    pe = TwoPorts()
    with pytest.raises(KeyError) as info:
        pe.write("missing", 1)
    message = str(info.value)
    assert "missing" in message
    assert "out" in message and "other" in message


def test_write_outside_a_mapping_explains_itself() -> None:
    pe = TwoPorts()
    with pytest.raises(RuntimeError, match="not running in a mapping"):
        pe.write("out", 1)


def test_write_to_undeclared_output_in_a_run_is_a_run_error() -> None:
    graph = WorkflowGraph()
    graph.add(WritesUndeclared())
    with pytest.raises(RunError) as info:
        run_simple(graph)
    assert "nope" in str(info.value)
    assert info.value.pe_id == "WritesUndeclared0"


def test_returning_an_undeclared_output_in_a_run_is_a_run_error() -> None:
    graph = WorkflowGraph()
    graph.add(ReturnsUndeclared())
    with pytest.raises(RunError) as info:
        run_simple(graph)
    assert "nope" in str(info.value)
    assert "output" in str(info.value)


def test_write_several_items_per_call() -> None:
    graph = WorkflowGraph()
    graph.connect(NumberProducer(2), "output", WritesSeveral(), "input")
    result = run_simple(graph)
    assert result.outputs == {
        "WritesSeveral1": {"output": [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]}
    }


# -- logging --------------------------------------------------------------------
def test_log_works_outside_a_mapping(pe_log_records: list[logging.LogRecord]) -> None:
    pe = Logs()
    pe.log("hello")
    assert len(pe_log_records) == 1
    message = pe_log_records[0].getMessage()
    assert "hello" in message
    assert "Logs" in message
    assert "rank 0" in message


def test_log_works_inside_a_run_and_names_the_pe(
    pe_log_records: list[logging.LogRecord],
) -> None:
    graph = WorkflowGraph()
    graph.connect(OneProducer(), "output", Logs(), "input")
    run_simple(graph, inputs=2)
    messages = [record.getMessage() for record in pe_log_records]
    assert messages == ["Logs1 (rank 0): got 0", "Logs1 (rank 0): got 1"]


# -- pickling -------------------------------------------------------------------
def test_pickling_a_running_pe_strips_writers_and_keeps_the_rest() -> None:
    source = NumberProducer(5)
    graph = WorkflowGraph()
    graph.connect(source, "output", AddOne(), "input")
    plan = Plan.build(graph)
    Executor(plan, {(source.id, 0): source})  # installs the writers
    source.wrapper = object()  # mappings may replace the wrapper by an object
    assert WRITER in source.outputconnections["output"]

    copy = pickle.loads(pickle.dumps(source))

    assert isinstance(copy, NumberProducer)
    assert WRITER not in copy.outputconnections["output"]
    assert copy.outputconnections["output"][NAME] == "output"
    assert copy.count == 5
    assert copy.id == source.id
    assert copy.wrapper == "simple"
    # the original is untouched
    assert WRITER in source.outputconnections["output"]
    with pytest.raises(RuntimeError, match="not running in a mapping"):
        copy.write("output", 1)


def test_pickling_keeps_groupings_and_types() -> None:
    pe = TwoPorts()
    copy = pickle.loads(pickle.dumps(pe))
    assert copy.inputconnections == pe.inputconnections
    assert copy.outputconnections == pe.outputconnections


# -- types ----------------------------------------------------------------------
def test_set_and_get_types_with_camel_case_aliases() -> None:
    pe = TwoPorts()
    pe.setInputTypes({"right": ["a", "b"], "unknown": ["z"], "left": None})
    assert pe.inputconnections["right"][TYPE] == ["a", "b"]
    assert pe.inputconnections["left"][TYPE] == ["word", "count"]  # None leaves it
    assert "unknown" not in pe.inputconnections
    pe.set_input_types({"right": ["c"]})
    assert pe.inputconnections["right"][TYPE] == ["c"]

    with pytest.raises(KeyError):
        pe.getOutputTypes()  # "other" has no type
    pe.outputconnections["other"][TYPE] = ["x"]
    assert pe.getOutputTypes() == {"out": ["word"], "other": ["x"]}
    assert pe.get_output_types() == pe.getOutputTypes()
    assert GenericPE.setInputTypes is GenericPE.set_input_types
    assert GenericPE.getOutputTypes is GenericPE.get_output_types


# -- base PEs -------------------------------------------------------------------
def test_base_pe_declares_named_and_numbered_ports() -> None:
    pe = BasePE(inputs=["a", "b"], outputs=["c"], num_inputs=2, num_outputs=3)
    assert list(pe.inputconnections) == ["a", "b", "input0", "input1"]
    assert list(pe.outputconnections) == ["c", "output0", "output1", "output2"]
    assert BasePE().inputconnections == {} and BasePE().outputconnections == {}


def test_iterative_pe_unwraps_input_and_suppresses_none() -> None:
    pe = DropOdd()
    assert list(pe.inputconnections) == ["input"]
    assert list(pe.outputconnections) == ["output"]
    assert pe.process({"input": 4}) == {"output": 4}
    assert pe.process({"input": 3}) is None
    assert IterativePE().process({"input": 1}) is None


def test_iterative_pe_emits_falsy_values_other_than_none() -> None:
    assert AddOne().process({"input": -1}) == {"output": 0}


def test_producer_pe_gets_the_whole_input_block() -> None:
    class Echo(ProducerPE):
        def _process(self, inputs: Any) -> Any:
            return inputs

    pe = Echo()
    assert pe.inputconnections == {}
    assert list(pe.outputconnections) == ["output"]
    assert pe.process({"file": "x.txt"}) == {"output": {"file": "x.txt"}}
    assert ProducerPE().process({}) is None


def test_consumer_pe_unwraps_input_and_returns_nothing() -> None:
    pe = Collector()
    assert list(pe.inputconnections) == ["input"]
    assert pe.outputconnections == {}
    assert pe.process({"input": 7}) is None
    assert pe.received == [7]
    assert ConsumerPE().process({"input": 1}) is None


def test_simple_function_pe_is_named_after_its_function() -> None:
    pe = SimpleFunctionPE(double_fn, {"factor": 5})
    assert pe.name == "PE_double_fn"
    assert pe.process({"input": 3}) == {"output": 15}
    plain = SimpleFunctionPE(inc_fn)
    assert plain.name == "PE_inc_fn"
    assert plain.params == {}
    graph = WorkflowGraph()
    graph.add(plain)
    assert plain.id == "PE_inc_fn0"


def test_simple_function_pe_without_function() -> None:
    pe = SimpleFunctionPE()
    assert pe.name == "SimpleFunctionPE"
    assert pe.process({"input": 1}) is None


def test_simple_function_pe_params_are_copied() -> None:
    params = {"factor": 2}
    pe = SimpleFunctionPE(double_fn, params)
    params["factor"] = 100
    assert pe.process({"input": 1}) == {"output": 2}


def test_simple_function_pe_pickles_with_module_level_function() -> None:
    pe = SimpleFunctionPE(double_fn, {"factor": 4})
    copy = pickle.loads(pickle.dumps(pe))
    assert copy.process({"input": 2}) == {"output": 8}
    assert copy.name == "PE_double_fn"


def test_every_helper_pe_takes_numprocesses() -> None:
    def double(value: int) -> int:
        return 2 * value

    made = [
        BasePE(["in"], ["out"], numprocesses=3),
        ConsumerPE(numprocesses=3),
        ProducerPE(numprocesses=3),
        IterativePE(numprocesses=3),
        SimpleFunctionPE(double, numprocesses=3),
    ]
    assert [pe.numprocesses for pe in made] == [3] * len(made)
    assert IterativePE().numprocesses == 1


def test_numprocesses_of_a_helper_pe_decides_its_instances() -> None:
    graph = WorkflowGraph()
    square = SimpleFunctionPE(lambda value: value * value, numprocesses=3)
    graph.connect(NumberProducer(), "output", square, "input")
    assert Plan.build(graph, processes=4).instances[square.id] == 3
