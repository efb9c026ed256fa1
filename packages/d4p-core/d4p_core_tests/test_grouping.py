"""Groupings and the stable hash that group-by routing relies on."""

from __future__ import annotations

import enum
import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from d4p_core import (
    Broadcast,
    Global,
    GroupBy,
    Shuffle,
    grouping_from_spec,
    stable_hash,
)
from d4p_core_tests._pes import PYTHON, stable_hash_keys, subprocess_env

MODULO = 7


# -- spellings ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, Shuffle()),
        ("", Shuffle()),
        ([], Shuffle()),
        ((), Shuffle()),
        ("shuffle", Shuffle()),
        ("none", Shuffle()),
        ("all", Broadcast()),
        ("ALL", Broadcast()),
        ("global", Global()),
        ("Global", Global()),
        ([0], GroupBy([0])),
        ([0, 2], GroupBy((0, 2))),
        (("word",), GroupBy(["word"])),
        (Shuffle(), Shuffle()),
        (GroupBy([1]), GroupBy([1])),
        (Broadcast(), Broadcast()),
        (Global(), Global()),
    ],
)
def test_dispel4py_spellings_map_to_typed_groupings(spec: Any, expected: Any) -> None:
    assert grouping_from_spec(spec) == expected


@pytest.mark.parametrize("spec", ["everything", "nature", 3, {"a": 1}, 1.5, object()])
def test_invalid_spec_is_an_error(spec: Any) -> None:
    with pytest.raises(ValueError, match="unknown grouping"):
        grouping_from_spec(spec)


def test_groupings_are_values() -> None:
    assert GroupBy([0]) == GroupBy((0,))
    assert GroupBy("word").keys == ("word",)
    assert hash(GroupBy([0, 1])) == hash(GroupBy((0, 1)))
    assert str(Shuffle()) == "shuffle"
    assert str(Broadcast()) == "broadcast"
    assert str(Global()) == "global"
    assert str(GroupBy([0, "k"])) == "group_by[0, 'k']"
    with pytest.raises(ValueError, match="at least one key"):
        GroupBy([])


# -- group-by keys ----------------------------------------------------------------
def test_group_by_key_by_index() -> None:
    grouping = GroupBy([0])
    assert grouping.key_of(("word", 3)) == ("word",)
    assert grouping.key_of(["word", 3]) == ("word",)
    assert GroupBy([1, 0]).key_of(("a", "b", "c")) == ("b", "a")


def test_group_by_key_by_dict_key() -> None:
    grouping = GroupBy(["word"])
    assert grouping.key_of({"word": "hi", "count": 2}) == ("hi",)
    assert GroupBy(["a", "b"]).key_of({"a": 1, "b": 2, "c": 3}) == (1, 2)


@pytest.mark.parametrize(("keys", "item"), [([5], ("a",)), (["missing"], {"a": 1}), ([0], 42)])
def test_group_by_missing_key_is_a_clear_error(keys: list[Any], item: Any) -> None:
    with pytest.raises(ValueError, match="cannot group item"):
        GroupBy(keys).key_of(item)


def test_group_by_same_key_same_instance() -> None:
    grouping = GroupBy([0])
    for instances in (1, 2, 3, 7):
        for word in ("a", "b", "hello", "world"):
            first = grouping.instance_for((word, 1), instances)
            assert 0 <= first < instances
            assert grouping.instance_for((word, 99, "other"), instances) == first


def test_group_by_spreads_keys() -> None:
    grouping = GroupBy([0])
    targets = {grouping.instance_for((f"w{i}",), 4) for i in range(100)}
    assert targets == {0, 1, 2, 3}


# -- stable hash ------------------------------------------------------------------
def test_stable_hash_is_a_non_negative_64_bit_int() -> None:
    for key in stable_hash_keys():
        value = stable_hash(key)
        assert isinstance(value, int)
        assert 0 <= value < 2**64


def test_stable_hash_distinguishes_values() -> None:
    values = ["a", "b", b"a", 1, 2, 1.5, (1, 2), (2, 1), {"a": 1}, {"a": 2}, None, ""]
    assert len({stable_hash(v) for v in values}) == len(values)


@pytest.mark.parametrize(
    "equal",
    [
        [1, 1.0, True],
        [0, 0.0, -0.0, False],
        [{"a": 1, "b": 2}, {"b": 2, "a": 1}],
        [{1: "x"}, {1.0: "x"}, {True: "x"}],
        [(1, "a"), (1.0, "a"), (True, "a")],
        [frozenset({1, 2}), {2, 1}],
        ["text", "te" + "xt"],
    ],
)
def test_equal_values_hash_equal(equal: list[Any]) -> None:
    assert len({stable_hash(v) for v in equal}) == 1


def test_int_enum_hashes_as_its_value() -> None:
    class Colour(enum.IntEnum):
        RED = 1

    assert stable_hash(Colour.RED) == stable_hash(1)


class _DefaultRepr:
    pass


def _a_function() -> None:
    pass


@pytest.mark.parametrize(
    "factory",
    [_DefaultRepr, object, lambda: _a_function, lambda: (1, object()), lambda: {"k": object()}],
)
def test_unsupported_objects_raise_type_error(factory: Callable[[], Any]) -> None:
    with pytest.raises(TypeError, match="cannot group by"):
        stable_hash(factory())


def _routes_in_fresh_interpreter(seed: str) -> dict[str, list[int]]:
    code = (
        "import json\n"
        "from d4p_core import GroupBy, stable_hash\n"
        "from d4p_core_tests._pes import stable_hash_keys\n"
        f"keys = stable_hash_keys()\nm = {MODULO}\n"
        "print(json.dumps({\n"
        "  'stable': [stable_hash(k) % m for k in keys],\n"
        "  'group_by': [GroupBy([0]).instance_for((k,), m) for k in keys],\n"
        "  'builtin': [hash(k) % m for k in keys if isinstance(k, (str, bytes))],\n"
        "}))\n"
    )
    completed = subprocess.run(
        [PYTHON, "-c", code],
        env=subprocess_env(PYTHONHASHSEED=seed),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, list[int]] = json.loads(completed.stdout)
    return result


def test_stable_hash_routing_is_identical_across_interpreters() -> None:
    keys = stable_hash_keys()
    assert len(keys) >= 50
    kinds = {type(k) for k in keys}
    assert {str, bytes, int, float, tuple, list, dict} <= kinds
    here = {
        "stable": [stable_hash(k) % MODULO for k in keys],
        "group_by": [GroupBy([0]).instance_for((k,), MODULO) for k in keys],
    }
    runs = {seed: _routes_in_fresh_interpreter(seed) for seed in ("0", "1", "12345")}
    for seed, routes in runs.items():
        assert routes["stable"] == here["stable"], f"PYTHONHASHSEED={seed}"
        assert routes["group_by"] == here["group_by"], f"PYTHONHASHSEED={seed}"
    # the interpreters really had different str/bytes hashes: the test means something
    builtin = [tuple(routes["builtin"]) for routes in runs.values()]
    assert len(set(builtin)) > 1
