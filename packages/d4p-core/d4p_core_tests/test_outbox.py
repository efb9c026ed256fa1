"""Outbox: blocks for one remote instance cut into batches of segments."""

from __future__ import annotations

from typing import Any

from d4p_core.runtime._outbox import Outbox


def _items(batches: list[Any]) -> list[tuple[str, Any]]:
    return [(name, v) for batch in batches for name, values in batch for v in values]


def test_blocks_are_cut_into_batches_of_at_most_size_items() -> None:
    outbox = Outbox()
    outbox.add("input", list(range(7)), 3)
    assert outbox.take_ready() == [[("input", [0, 1, 2])], [("input", [3, 4, 5])]]
    assert outbox.take_all() == [[("input", [6])]]
    assert outbox.take_all() == []


def test_consecutive_blocks_of_one_input_share_a_segment() -> None:
    outbox = Outbox()
    outbox.add("a", [1], 10)
    outbox.add("a", [2, 3], 10)
    outbox.add("b", [4], 10)
    assert outbox.take_all() == [[("a", [1, 2, 3]), ("b", [4])]]


def test_a_smaller_size_closes_the_open_batch_and_loses_nothing() -> None:
    outbox = Outbox()
    outbox.add("input", list(range(10)), 64)
    outbox.add("input", list(range(10, 13)), 4)  # the open batch already holds 10
    batches = outbox.take_all()
    assert _items(batches) == [("input", i) for i in range(13)]
    assert [sum(len(v) for _, v in b) for b in batches] == [10, 3]
    outbox.add("input", list(range(9)), 4)
    assert [sum(len(v) for _, v in b) for b in outbox.take_all()] == [4, 4, 1]
