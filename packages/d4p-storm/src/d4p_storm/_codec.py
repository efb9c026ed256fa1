"""What travels in tuple fields and in the job setting.

Storm's multilang protocol is JSON, and JSON cannot carry what PEs write
(tuples become lists, sets and bytes fail, dict keys become strings; pystorm
would even drop such emits silently). So every batch of values is pickled
(protocol 5) and sent as one base64 text field: nothing is dropped or
changed, and the field is a plain string for Kryo between workers.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any

__all__ = ["decode", "encode"]


def encode(value: Any) -> str:
    return base64.b64encode(pickle.dumps(value, protocol=5)).decode("ascii")


def decode(text: str) -> Any:
    return pickle.loads(base64.b64decode(text))
