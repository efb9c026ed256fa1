"""Mapping options, declared once.

A mapping's options are one frozen dataclass. A field made with
:func:`option` carries its command-line help (and, if needed, flag, choices
and metavar) next to its default; :func:`add_option_arguments`,
:func:`options_from_args` and :func:`options_from_kwargs` derive the
``argparse`` options, the options built from parsed arguments and the
options built from :func:`d4p_core.run`'s keyword arguments from it. A field
without help is library-only (for example a callback): keyword arguments
reach it, the command line does not.

``processes`` is special: every mapping reads it from the common ``-n``
option of ``d4p run`` (or ``processes=`` of :func:`d4p_core.run`).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any

from ..errors import D4pError

__all__ = [
    "FUSE_CHOICES",
    "START_METHODS",
    "add_option_arguments",
    "check_process_options",
    "fuse_option",
    "option",
    "options_from_args",
    "options_from_kwargs",
    "start_method_option",
]

START_METHODS = ("fork", "spawn", "forkserver")
FUSE_CHOICES = ("auto", "always", "never")


def option(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    choices: Sequence[str] | None = None,
    metavar: str | None = None,
    type: Any = None,
    show_default: bool = True,
    repr: bool = True,
    repeatable: bool = False,
    convert: Callable[[Any], Any] | None = None,
) -> Any:
    """A dataclass field that is also a command-line option.

    ``flag`` defaults to ``--field-name``; ``type`` to the default's type or,
    for a ``None`` default, the annotation's (``int | None`` → ``int``); the
    default is added to the help text unless ``show_default=False``.
    A ``repeatable`` option may be given several times: its values arrive as
    a tuple of strings (the default, usually ``()``, when it is not given).
    ``convert`` turns what the command line gave into the field's value (for
    example ``KEY=VALUE`` strings into a mapping); ``default`` may then be a
    callable that makes a fresh default (as ``dict``).
    """
    metadata = {
        "help": help,
        "flag": flag,
        "choices": tuple(choices) if choices is not None else None,
        "metavar": metavar,
        "type": type,
        "show_default": show_default,
        "repeatable": repeatable,
        "convert": convert,
    }
    if callable(default) and convert is not None:
        return dataclasses.field(default_factory=default, metadata=metadata, repr=repr)
    return dataclasses.field(default=default, metadata=metadata, repr=repr)


def start_method_option() -> Any:
    """The ``start_method`` option of a mapping that starts local processes."""
    return option(None, "multiprocessing start method", choices=START_METHODS)


def fuse_option() -> Any:
    """The ``fuse`` option of a fixed-placement mapping."""
    return option(
        "auto",
        "fuse chains of PEs into one process: auto (when processes are too few), always, never",
        choices=FUSE_CHOICES,
    )


def _cli_fields(
    options_class: type[Any], skip: Collection[str] = ()
) -> list[dataclasses.Field[Any]]:
    return [
        field
        for field in dataclasses.fields(options_class)
        if "help" in field.metadata and field.name != "processes" and field.name not in skip
    ]


def _value_type(field: dataclasses.Field[Any]) -> Any:
    explicit = field.metadata["type"]
    if explicit is not None:
        return explicit
    if field.default is not None and field.default is not dataclasses.MISSING:
        return type(field.default)
    annotation = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    for name, value_type in (("int", int), ("float", float), ("str", str)):
        if re.search(rf"\b{name}\b", annotation):
            return value_type
    return str


def add_option_arguments(
    parser: argparse.ArgumentParser, options_class: type[Any], *, skip: Collection[str] = ()
) -> None:
    """Add one command-line option per :func:`option` field of
    ``options_class`` (but those named in ``skip``)."""
    for field in _cli_fields(options_class, skip):
        meta = field.metadata
        flag = meta["flag"] or "--" + field.name.replace("_", "-")
        text = meta["help"]
        if meta["show_default"] and field.default not in (None, False, (), dataclasses.MISSING):
            text = f"{text} ({field.default})"
        kwargs: dict[str, Any] = {"dest": field.name, "default": None, "help": text}
        value_type = _value_type(field)
        if meta["repeatable"]:
            kwargs["action"] = "append"
            if meta["metavar"] is not None:
                kwargs["metavar"] = meta["metavar"]
        elif value_type is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = value_type
            if meta["choices"] is not None:
                kwargs["choices"] = meta["choices"]
            if meta["metavar"] is not None:
                kwargs["metavar"] = meta["metavar"]
        parser.add_argument(flag, **kwargs)


def options_from_args(options_class: type[Any], args: argparse.Namespace) -> Any:
    """``options_class`` from parsed arguments (``processes`` from ``-n``)."""
    kwargs: dict[str, Any] = {}
    for field in _cli_fields(options_class):
        value = getattr(args, field.name, None)
        if value is None:  # not given: the field's own default
            continue
        if field.metadata["repeatable"]:
            value = tuple(value)
        convert = field.metadata["convert"]
        kwargs[field.name] = convert(value) if convert is not None else value
    if "processes" in {field.name for field in dataclasses.fields(options_class)}:
        kwargs["processes"] = getattr(args, "processes", None)
    return options_class(**kwargs)


def options_from_kwargs(
    options_class: type[Any], mapping: str, processes: int | None, kwargs: dict[str, Any]
) -> Any:
    """``options_class`` from keyword arguments, with one clear error for a
    misspelt or unknown option (naming the valid ones)."""
    known = {field.name for field in dataclasses.fields(options_class) if field.init}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        valid = sorted(known - {"processes"})
        if not valid:
            raise D4pError(f"the {mapping} mapping takes no options, got: {', '.join(unknown)}")
        raise D4pError(
            f"invalid option for {mapping}: {', '.join(unknown)} "
            f"(the options of {mapping} are: {', '.join(valid)})"
        )
    if "processes" in known:
        kwargs = {"processes": processes, **kwargs}
    return options_class(**kwargs)


def check_process_options(
    processes: int | None, start_method: str | None, *, fuse: str | None = None, **sizes: int
) -> None:
    """Validate the options every process-based mapping shares: ``processes``,
    ``start_method``, ``fuse`` (when given) and sizes that must be positive."""
    if processes is not None and processes < 1:
        raise D4pError(f"processes must be at least 1, not {processes}")
    if start_method is not None and start_method not in START_METHODS:
        raise D4pError(
            f"unknown start method {start_method!r}; use one of {', '.join(START_METHODS)}"
        )
    if fuse is not None and fuse not in FUSE_CHOICES:
        raise D4pError(f"fuse must be auto, always or never, not {fuse!r}")
    for name, value in sizes.items():
        if value < 1:
            raise D4pError(f"{name} must be at least 1, not {value}")
