"""The auth key: where it comes from and the CURVE keys derived from it."""

from __future__ import annotations

import pytest
import zmq

from d4p_core import D4pError
from d4p_zmq import AUTH_KEY_ENV, new_auth_key
from d4p_zmq._auth import Curve, resolve_auth_key


def test_the_key_comes_from_the_option_else_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(AUTH_KEY_ENV, "from-the-environment")
    assert resolve_auth_key(None) == "from-the-environment"
    assert resolve_auth_key("given-on-the-command-line") == "given-on-the-command-line"
    monkeypatch.delenv(AUTH_KEY_ENV)
    assert resolve_auth_key(None) is None
    with pytest.raises(D4pError, match="at least 16 characters"):
        resolve_auth_key("too-short")


def test_every_process_derives_the_same_keys_and_other_keys_differ() -> None:
    key = new_auth_key()
    assert new_auth_key() != key
    first, again, other = Curve.from_key(key), Curve.from_key(key), Curve.from_key(key + "x")
    assert first == again
    assert first.public != other.public
    assert zmq.curve_public(first.secret) == first.public
    assert key.encode() not in first.public + first.secret
