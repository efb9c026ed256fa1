"""Compressed files, recognised by their suffix: ``.gz`` (gzip), ``.bz2``
and ``.xz`` (when Python has lzma). Readers decompress them transparently;
writers compress what they write when the path ends that way. A
compressed file cannot be entered in the middle, so it is always read
whole (by one reader instance)."""

from __future__ import annotations

import os
import sys
from typing import BinaryIO, cast

from ..errors import InputError

__all__ = ["SUFFIXES", "compressed", "open_read", "read_errors", "wrap_write"]

SUFFIXES = (".gz", ".bz2", ".xz")


def compressed(path: str) -> str | None:
    """The compression suffix ``path`` ends with, or ``None``."""
    lowered = path.lower()
    for suffix in SUFFIXES:
        if lowered.endswith(suffix):
            return suffix
    return None


def open_read(path: str) -> BinaryIO:
    """``path`` opened for binary reading, decompressed if its suffix says so.

    A missing or unreadable file is an :class:`~d4p_core.InputError`.
    """
    suffix = compressed(path)
    try:
        if suffix is None:
            return open(path, "rb")
        if suffix == ".gz":
            import gzip

            return cast(BinaryIO, gzip.GzipFile(path, "rb"))
        if suffix == ".bz2":
            import bz2

            return cast(BinaryIO, bz2.BZ2File(path, "rb"))
        import lzma

        return cast(BinaryIO, lzma.LZMAFile(path, "rb"))
    except OSError as exc:
        raise InputError(f"cannot read {path!r}: {exc.strerror or exc}") from None


def wrap_write(raw: BinaryIO, path: str) -> tuple[BinaryIO, bool]:
    """A binary stream writing to ``raw``, compressed if ``path``'s suffix
    says so; the flag tells whether it is a compressor (closing it does not
    close ``raw``)."""
    suffix = compressed(path)
    if suffix is None:
        return raw, False
    if suffix == ".gz":
        import gzip

        name = os.path.basename(path)[: -len(suffix)]
        return cast(BinaryIO, gzip.GzipFile(filename=name, fileobj=raw, mode="wb", mtime=0)), True
    if suffix == ".bz2":
        import bz2

        return cast(BinaryIO, bz2.BZ2File(raw, mode="wb")), True
    import lzma

    return cast(BinaryIO, lzma.LZMAFile(raw, mode="wb")), True


def read_errors() -> tuple[type[BaseException], ...]:
    """What reading a damaged (or wrongly named) compressed file raises."""
    import zlib

    errors: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)
    lzma = sys.modules.get("lzma")
    if lzma is not None:
        errors += (lzma.LZMAError,)
    return errors
