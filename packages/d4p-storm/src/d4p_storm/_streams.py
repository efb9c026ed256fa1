"""How d4p names Storm streams and fields (shared by the topology builder and
the runner).

Every connection ``src.output -> dst.input`` becomes the stream
``data:<dst>:<input>`` declared by ``src``; the consumer subscribes to it with
the input's grouping. Each consumer also has an end-of-stream stream
``eos:<dst>`` that every producer declares and the consumer subscribes to
with the ``all`` grouping, so every task of the consumer receives one marker
from every task of every producer. It is per consumer (not one ``eos`` stream
per producer) because the engine flushes what it buffered for one
destination and then sends that destination its marker: a shared stream
would let a marker overtake data still buffered for another consumer.

Shuffled and grouped data streams carry a ``key`` field and use Storm's
fields grouping on it, with a key that names the task: d4p's executor
chooses the instance (round robin item by item, or the group key's stable
hash, as on every mapping) and :func:`task_key` makes Storm deliver there.
"""

from __future__ import annotations

from d4p_core import GroupBy, Shuffle

__all__ = [
    "BATCH_FIELD",
    "EOS_FIELD",
    "KEY_FIELD",
    "data_stream",
    "eos_stream",
    "keyed",
    "parse_stream",
    "task_key",
]

BATCH_FIELD = "batch"
KEY_FIELD = "key"
EOS_FIELD = "eos"

_DATA = "data:"
_EOS = "eos:"


def data_stream(dst_pe: str, dst_input: str) -> str:
    return f"{_DATA}{dst_pe}:{dst_input}"


def eos_stream(dst_pe: str) -> str:
    return f"{_EOS}{dst_pe}"


def parse_stream(stream: str) -> tuple[str, str | None] | None:
    """``(dst_pe, input)`` of a data stream, ``(dst_pe, None)`` of an
    end-of-stream stream, ``None`` for anything else (Storm's own streams)."""
    if stream.startswith(_DATA):
        dst_pe, _, dst_input = stream[len(_DATA) :].partition(":")
        return dst_pe, dst_input
    if stream.startswith(_EOS):
        return stream[len(_EOS) :], None
    return None


def keyed(grouping: object) -> bool:
    """Whether a stream of ``grouping`` carries a ``key`` (the sender's
    executor chooses the instance: Shuffle and GroupBy)."""
    return isinstance(grouping, (Shuffle, GroupBy))


def task_key(index: int, tasks: int) -> int:
    """The ``key`` that Storm's fields grouping sends to the ``index``-th of
    ``tasks`` tasks (in task id order, as the runner numbers them).

    Storm chooses ``floorMod(Arrays.deepHashCode([key]), tasks)`` among the
    sorted target tasks (``GrouperFactory.FieldsGrouper``,
    ``TupleUtils.chooseTaskIndex``); the key arrives as a Java ``Long``
    (JSON over multilang, Kryo between workers), whose hash is itself below
    2**31, so the list's hash is ``31 + key``.
    """
    return (index - 31) % tasks
