"""MkDocs hooks: pages that are generated from the code at build time.

``<!-- d4p:cli-reference -->`` in a page becomes the ``--help`` text of every
``d4p`` command and of ``d4p run MAPPING`` for each installed mapping, taken
from the parser itself, so the reference can never drift from the program.
"""

from __future__ import annotations

import contextlib
import io
import os
from typing import Any

CLI_MARKER = "<!-- d4p:cli-reference -->"
COMMANDS = ("run", "mappings", "graph", "inspect", "worker")


def _help(argv: list[str]) -> str:
    from d4p_cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main([*argv, "--help"])
    return out.getvalue().rstrip()


def cli_reference() -> str:
    from d4p_core import available_mappings

    os.environ["COLUMNS"] = "100"  # argparse wraps help text to this width
    sections: list[tuple[str, list[str]]] = [("d4p", [])]
    sections += [(f"d4p {command}", [command]) for command in COMMANDS]
    sections += [(f"d4p run {name}", ["run", name]) for name in sorted(available_mappings())]
    parts = []
    for title, argv in sections:
        parts.append(f"## `{title}`\n\n```text\n{_help(argv)}\n```\n")
    return "\n".join(parts)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    return markdown
