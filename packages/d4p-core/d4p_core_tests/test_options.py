"""Mapping options declared once: argparse, parsed arguments and keyword
options all come from the dataclass fields."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from d4p_core import D4pError, Inputs, RunResult, WorkflowGraph
from d4p_core.backend import MappingBase, fuse_option, option, start_method_option


def _pairs(items: tuple[str, ...]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in items)


@dataclass(frozen=True)
class Options:
    processes: int | None = None
    start_method: str | None = start_method_option()
    batch_size: int = option(64, "items per message")
    limit: float | None = option(None, "give up after this many seconds")
    verbose: bool = option(False, "say more")
    fuse: str = fuse_option()
    extra: tuple[str, ...] = option((), "an extra argument", flag="--extra-arg", repeatable=True)
    settings: Mapping[str, str] = option(dict, "KEY=VALUE", repeatable=True, convert=_pairs)
    callback: Any = None  # library only


class Example(MappingBase[Options]):
    name: ClassVar[str] = "example"
    description: ClassVar[str] = "options only"
    options_class: ClassVar[type[Options]] = Options
    hidden_options: ClassVar[frozenset[str]] = frozenset({"limit"})

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: Options) -> RunResult:
        return RunResult(mapping=self.name)


def _parse(*argv: str) -> tuple[argparse.ArgumentParser, Options]:
    mapping = Example()
    parser = argparse.ArgumentParser()
    mapping.add_arguments(parser)
    args = parser.parse_args(list(argv))
    args.processes = 3
    return parser, mapping.options_from_args(args)


def test_defaults_when_nothing_is_given() -> None:
    _, options = _parse()
    assert options == Options(processes=3)
    assert options.settings == {} and options.settings is not Options().settings


def test_every_kind_of_option_from_the_command_line() -> None:
    _, options = _parse(
        "--start-method", "spawn", "--batch-size", "8", "--verbose", "--fuse", "never",
        "--extra-arg=-f", "--extra-arg", "hosts", "--settings", "a=1", "--settings", "b=2",
    )  # fmt: skip
    assert options.start_method == "spawn" and options.batch_size == 8 and options.verbose
    assert options.fuse == "never"
    assert options.extra == ("-f", "hosts")
    assert options.settings == {"a": "1", "b": "2"}


def test_help_states_each_default_once_and_hides_what_the_mapping_does_not_use() -> None:
    parser, _ = _parse()
    text = parser.format_help()
    assert "items per message (64)" in text
    assert "--limit" not in text and "--callback" not in text
    with pytest.raises(SystemExit):
        parser.parse_args(["--fuse", "sometimes"])


def test_keyword_options_name_the_valid_ones_when_misspelt() -> None:
    mapping = Example()
    assert mapping.options_from_kwargs(2, limit=1.5, callback=print).limit == 1.5
    with pytest.raises(D4pError, match=r"invalid option for example: batch_sise \(.*batch_size"):
        mapping.options_from_kwargs(2, batch_sise=8)
