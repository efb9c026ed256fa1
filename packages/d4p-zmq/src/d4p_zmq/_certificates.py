"""Per-host CURVE certificates: pyzmq's ``zmq.auth`` certificate files laid
out so that each machine gets only what it needs.

``python -m d4p_zmq keys DIR NAME...`` (:func:`create`) makes::

    DIR/driver/driver.key_secret   the driver's key pair (stays on the driver's host)
    DIR/driver/driver.key          the driver's public key
    DIR/driver/authorized/NAME.key the public key of every worker host it accepts
    DIR/NAME/NAME.key_secret       a worker host's key pair (copied to that host only)
    DIR/NAME/driver.key            the driver's public key, so the worker knows it

The driver is given ``DIR/driver`` (:func:`load_driver`), each worker its
own ``DIR/NAME`` (:func:`load_worker`). Running the command again with new
names adds hosts and keeps every existing key; removing
``DIR/driver/authorized/NAME.key`` revokes a host (for the next run).
Secret files are created readable by their owner only, and a secret file
that others may read is refused, as ssh does.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import zmq.auth
from zmq.utils import z85

from d4p_core import D4pError

from ._auth import Curve

__all__ = ["AUTHORIZED", "DRIVER", "create", "load_driver", "load_worker"]

DRIVER = "driver"
AUTHORIZED = "authorized"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_KEY_LENGTH = 40  # a z85-encoded CURVE key


@contextmanager
def _private_files() -> Iterator[None]:
    """Files and directories created meanwhile are the owner's alone."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name) or name == DRIVER:
        raise D4pError(
            f"{name!r} cannot name a worker host: use letters, digits, '.', '_' and '-' "
            f"(and not {DRIVER!r})"
        )


def create(directory: str | os.PathLike[str], names: Sequence[str]) -> list[Path]:
    """Make the driver's certificates (unless ``directory`` has them) and
    one bundle per worker host in ``names``; return the directories made."""
    root = Path(directory)
    for name in names:
        _check_name(name)
    if len(set(names)) != len(names):
        raise D4pError("each worker host name may be given once")
    taken = [name for name in names if (root / name).exists()]
    if taken:
        raise D4pError(
            f"{', '.join(str(root / name) for name in taken)}: exists already; existing keys "
            "are never overwritten, choose another name"
        )
    made: list[Path] = []
    driver = root / DRIVER
    with _private_files():
        if not (driver / f"{DRIVER}.key_secret").exists():
            (driver / AUTHORIZED).mkdir(parents=True, exist_ok=True)
            zmq.auth.create_certificates(driver, DRIVER)
            made.append(driver)
        for name in names:
            host = root / name
            host.mkdir()
            public, _ = zmq.auth.create_certificates(host, name)
            shutil.move(public, driver / AUTHORIZED / f"{name}.key")
            shutil.copyfile(driver / f"{DRIVER}.key", host / f"{DRIVER}.key")
            made.append(host)
    return made


def _check_private(path: Path) -> None:
    if os.name != "posix":  # pragma: no cover - POSIX permissions only
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise D4pError(
            f"{path} (a secret key) may be read by other users (mode {mode:04o}); "
            f"run 'chmod 600 {path}'"
        )


def _key(value: bytes | None, path: Path, what: str) -> bytes:
    if value is not None and len(value) == _KEY_LENGTH:
        with contextlib.suppress(ValueError):
            z85.decode(value)
            return value
    raise D4pError(f"{path} holds no valid CURVE {what} key (made by 'python -m d4p_zmq keys')")


def _load(path: Path, *, secret: bool) -> tuple[bytes, bytes | None]:
    if not path.is_file():
        raise D4pError(f"{path} does not exist (certificates are made by 'python -m d4p_zmq keys')")
    if secret:
        _check_private(path)
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise D4pError(f"cannot read the certificate {path}: {exc}") from exc
    return _key(public, path, "public"), (_key(secret_key, path, "secret") if secret else None)


def _directory(directory: str | os.PathLike[str]) -> Path:
    path = Path(directory)
    if not path.is_dir():
        raise D4pError(
            f"the certificate directory {path} does not exist (make one with "
            "'python -m d4p_zmq keys DIR NAME...')"
        )
    return path


def load_driver(directory: str | os.PathLike[str]) -> Curve:
    """The driver's key pair and the public keys it accepts (its own among
    them: its local workers use its key pair)."""
    path = _directory(directory)
    secret_file = path / f"{DRIVER}.key_secret"
    if not secret_file.exists() and (path / DRIVER / f"{DRIVER}.key_secret").exists():
        raise D4pError(f"give the driver's own directory, {path / DRIVER}, not {path}")
    public, secret = _load(secret_file, secret=True)
    assert secret is not None
    authorized_dir = path / AUTHORIZED
    if not authorized_dir.is_dir():
        raise D4pError(f"{authorized_dir} does not exist: {path} is not a driver's directory")
    authorized = {_load(cert, secret=False)[0] for cert in sorted(authorized_dir.glob("*.key"))}
    return Curve.from_pair(public, secret, public, frozenset(authorized | {public}))


def load_worker(directory: str | os.PathLike[str]) -> Curve:
    """A worker host's key pair (the one ``*.key_secret`` in ``directory``)
    and the driver's public key (``driver.key``)."""
    path = _directory(directory)
    secrets = sorted(path.glob("*.key_secret"))
    if len(secrets) != 1:
        found = ", ".join(s.name for s in secrets) or "none"
        raise D4pError(
            f"{path} must hold exactly one secret certificate (*.key_secret), found: {found}"
        )
    public, secret = _load(secrets[0], secret=True)
    assert secret is not None
    driver, _ = _load(path / f"{DRIVER}.key", secret=False)
    return Curve.from_pair(public, secret, driver, None)
