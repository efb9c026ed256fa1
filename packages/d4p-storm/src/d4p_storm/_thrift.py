"""Storm's Thrift structures (a subset of ``storm.thrift``), loaded with thriftpy2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import thriftpy2
from thriftpy2.protocol import TBinaryProtocolFactory
from thriftpy2.utils import deserialize, serialize

__all__ = ["from_bytes", "storm", "to_bytes"]

storm: Any = thriftpy2.load(
    str(Path(__file__).with_name("storm.thrift")), module_name="d4p_storm_thrift_thrift"
)


def to_bytes(value: Any) -> bytes:
    """TBinaryProtocol bytes, as ``org.apache.storm.utils.Utils.thriftDeserialize`` reads."""
    data: bytes = serialize(value, TBinaryProtocolFactory())
    return data


def from_bytes(template: Any, data: bytes) -> Any:
    return deserialize(template, data, TBinaryProtocolFactory())
