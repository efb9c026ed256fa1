"""Storm's Thrift structures (a subset of ``storm.thrift``), loaded with thriftpy2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import thriftpy2
from thriftpy2.protocol import TBinaryProtocolFactory as _BinaryFactory
from thriftpy2.utils import deserialize, serialize

__all__ = ["binary_protocol", "from_bytes", "storm", "to_bytes"]

_binary: Any = _BinaryFactory  # thriftpy2 has no annotations


def binary_protocol() -> Any:
    """Thrift's binary protocol, as Storm uses it."""
    return _binary()


storm: Any = thriftpy2.load(
    str(Path(__file__).with_name("storm.thrift")), module_name="d4p_storm_thrift_thrift"
)


def to_bytes(value: Any) -> bytes:
    """TBinaryProtocol bytes, as ``org.apache.storm.utils.Utils.thriftDeserialize`` reads."""
    data: bytes = serialize(value, binary_protocol())
    return data


def from_bytes(template: Any, data: bytes) -> Any:
    return deserialize(template, data, binary_protocol())
