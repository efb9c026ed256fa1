"""Which files a reader reads: paths, glob patterns and directories, each
made absolute where the workflow is built (the PE that expands them may run
in another working directory: a Storm worker, an MPI rank, a remote Redis
worker), and expanded where the run starts (files may appear between the
two)."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence

from ..errors import InputError

__all__ = ["PathSpec", "absolute_paths", "expand_paths", "has_magic"]

PathSpec = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""A path, glob pattern or directory, or a sequence of them."""


def has_magic(path: str) -> bool:
    """True if ``path`` is a glob pattern."""
    return any(char in path for char in "*?[")


def absolute_paths(paths: PathSpec) -> tuple[str, ...]:
    """``paths`` as a tuple of absolute paths (``~`` expanded)."""
    if isinstance(paths, (str, os.PathLike)):
        entries: Sequence[str | os.PathLike[str]] = [paths]
    elif isinstance(paths, Sequence):
        entries = paths
    else:
        raise TypeError(
            f"paths must be a path, a glob pattern, a directory or a list of them, "
            f"not {type(paths).__name__}"
        )
    if not entries:
        raise ValueError("no paths given: name at least one file, glob pattern or directory")
    result = []
    for entry in entries:
        if not isinstance(entry, (str, os.PathLike)):
            raise TypeError(f"a path must be a str or os.PathLike, not {type(entry).__name__}")
        result.append(os.path.abspath(os.path.expanduser(os.fspath(entry))))
    return tuple(result)


def expand_paths(paths: Iterable[str], *, recursive: bool) -> list[str]:
    """The files ``paths`` name, in order: a file as is; a glob pattern's
    matching files, sorted (``**`` crosses directories when ``recursive``);
    a directory's files, sorted (and those of its subdirectories when
    ``recursive``). Hidden entries (``.name``) of directories are skipped,
    as glob skips them. A file named twice is read once.

    Raises :class:`~d4p_core.InputError` for a path that does not exist, a
    pattern that matches no file and a directory with no file.
    """
    files: list[str] = []
    seen: set[str] = set()
    for path in paths:
        for found in _expand_one(path, recursive):
            key = os.path.realpath(found)
            if key not in seen:
                seen.add(key)
                files.append(found)
    return files


def _expand_one(path: str, recursive: bool) -> list[str]:
    if has_magic(path):
        found = sorted(p for p in glob.glob(path, recursive=recursive) if os.path.isfile(p))
        if not found:
            hint = "" if recursive or "**" not in path else " ('**' needs recursive=True)"
            raise InputError(f"no file matches the pattern {path!r}{hint}")
        return found
    if os.path.isdir(path):
        found = _directory_files(path, recursive)
        if not found:
            deep = " or its subdirectories" if recursive else ""
            raise InputError(f"the directory {path!r}{deep} has no files to read")
        return found
    if os.path.isfile(path):
        return [path]
    if os.path.lexists(path) or os.path.exists(path):
        raise InputError(f"{path!r} is not a regular file or directory")
    raise InputError(f"no such file or directory: {path!r}")


def _directory_files(directory: str, recursive: bool) -> list[str]:
    if not recursive:
        with os.scandir(directory) as entries:
            return sorted(
                entry.path
                for entry in entries
                if not entry.name.startswith(".") and entry.is_file()
            )
    found: list[str] = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(
            os.path.join(root, name)
            for name in names
            if not name.startswith(".") and os.path.isfile(os.path.join(root, name))
        )
    return sorted(found)
