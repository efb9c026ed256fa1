"""``d4p run … --report FILE.html``: what the page holds (graph, metrics,
balance, warnings), that it is self-contained and well formed, and how the
command handles it. The page in a real browser: ``test_report_browser.py``."""

from __future__ import annotations

import html.parser
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

import d4p_core
from d4p_cli import ExitCode
from d4p_cli._report import RunFacts, report_facts
from d4p_cli._report._page import render_page
from d4p_cli_tests._helpers import error_line, results
from d4p_core import GenericPE, RunResult, WorkflowGraph
from d4p_core.testing import workflows
from d4p_core.testing.pes import CountingProducer, PassThrough

Runner = Callable[..., "CompletedProcess[str]"]
WORDCOUNT = "examples/wordcount.py"
VOID_ELEMENTS = {"meta", "br", "hr", "img", "input", "link", "wbr"}


def _run(graph: WorkflowGraph, mapping: str, processes: int | None) -> RunResult:
    return d4p_core.run(graph, mapping, 60, processes)


def _page(graph: WorkflowGraph, result: RunResult, processes: int | None = None) -> str:
    facts = report_facts(graph, result, title="test", command=["d4p", "run"], processes=processes)
    return render_page(facts)


class _Markup(html.parser.HTMLParser):
    """Checks that every element opened is closed, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []
        self.svg_tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID_ELEMENTS:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.svg_tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:]}")
        else:
            self.open.pop()


@pytest.fixture(scope="module")
def word_count_run() -> tuple[WorkflowGraph, RunResult]:
    graph = workflows.build_word_count_filter()
    return graph, _run(graph, "multi", 10)


def test_page_is_self_contained(word_count_run: tuple[WorkflowGraph, RunResult]) -> None:
    page = _page(*word_count_run)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # Nothing to fetch: no external references of any kind.
    for reference in ("http:", "https:", "<link", " src=", "@import", "url(http"):
        assert reference not in page, reference
    assert re.findall(r'href="([^"]*)"', page) == []
    assert "<script>" in page and "<style>" in page


def test_page_markup_is_balanced(word_count_run: tuple[WorkflowGraph, RunResult]) -> None:
    parser = _Markup()
    parser.feed(_page(*word_count_run))
    parser.close()
    assert parser.problems == []
    assert parser.open == []
    assert {"rect", "path"} <= parser.svg_tags  # the drawings have shapes


def test_page_shows_the_graph_and_the_metrics(
    word_count_run: tuple[WorkflowGraph, RunResult],
) -> None:
    graph, result = word_count_run
    page = _page(graph, result, 10)
    drawn = set(re.findall(r'<g class="pe" data-pe="([^"]+)"', page))
    assert drawn == set(result.metrics)
    assert page.count('<g class="edge">') == len(graph.flat().connections)
    assert ">group_by[0]</text>" in page and ">shuffle</text>" in page
    assert "5 instances" in page and "3 instances · stateful · results" in page
    table = page.split('id="metrics-table"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 1 + len(result.metrics)  # header + one row per PE


def test_balance_counts_what_each_instance_handled(
    word_count_run: tuple[WorkflowGraph, RunResult],
) -> None:
    graph, result = word_count_run
    facts: RunFacts = report_facts(graph, result, title="test")
    for pe_id, rows in facts.balance.items():
        metrics = result.metrics[pe_id]
        assert len(rows) == metrics.instances
        assert sum(row.items for row in rows) == (metrics.items_in or metrics.items_out)
    page = render_page(facts)
    counter = next(pe_id for pe_id in result.metrics if pe_id.startswith("WordCounter"))
    figure = page.split(f'<div class="figure" data-pe="{counter}">', 1)[1].split("</svg>", 1)[0]
    assert [f"#{i}" for i in range(3)] == re.findall(r">(#\d+)</text>", figure)


def test_run_details_show_the_placement(word_count_run: tuple[WorkflowGraph, RunResult]) -> None:
    page = _page(*word_count_run)
    assert "Placement: 9 process(es)" in page  # one per instance
    assert "LengthFilter1[4]" in page


def test_user_text_is_escaped(word_count_run: tuple[WorkflowGraph, RunResult]) -> None:
    graph, result = word_count_run
    hostile = "<script>alert('x')</script> & <b>"
    result = RunResult(
        mapping=result.mapping,
        metrics=result.metrics,
        instance_metrics=result.instance_metrics,
        elapsed_seconds=result.elapsed_seconds,
        extra={"note": hostile},
        warnings=[hostile],
    )
    page = render_page(report_facts(graph, result, title=hostile, command=["d4p", hostile]))
    assert hostile not in page
    assert page.count("<script>") == 1  # the page's own script only
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;" in page
    assert '<h2 id="warnings">' in page


def test_simple_mapping_reports_one_instance_per_pe() -> None:
    graph = workflows.build_word_count()
    result = _run(graph, "simple", None)
    assert result.instance_metrics == {}  # simple reports totals only
    page = _page(graph, result)
    assert "Every PE ran as one instance." in page
    assert "The mapping reported nothing more." in page


def test_dynamic_mapping_reports_its_workers() -> None:
    graph = workflows.build_pipeline()
    result = _run(graph, "dyn_multi", 3)
    page = _page(graph, result, 3)
    assert "<dt>workers</dt><dd><code>3</code></dd>" in page
    assert "Placement:" not in page


def test_a_long_chain_is_drawn_top_to_bottom() -> None:
    graph = WorkflowGraph()
    previous: GenericPE = CountingProducer()
    for _ in range(11):
        stage = PassThrough()
        graph.connect(previous, "output", stage, "input")
        previous = stage
    page = _page(graph, _run(graph, "simple", None))
    drawing = re.search(r'<svg viewBox="0 0 ([\d.]+) ([\d.]+)"[^>]*class="graph"', page)
    assert drawing is not None
    width, height = map(float, drawing.groups())
    assert height > width


def _write_workflow(tmp_path: Path) -> Path:
    path = tmp_path / "remembers.py"
    path.write_text(
        textwrap.dedent(
            """
            from d4p_core import WorkflowGraph
            from d4p_core.testing.pes import CountingProducer, Remembers

            graph = WorkflowGraph()
            graph.connect(CountingProducer(), "output", Remembers(numprocesses=2), "input")
            """
        )
    )
    return path


def test_run_writes_the_report_even_when_quiet(d4p: Runner, tmp_path: Path) -> None:
    report = tmp_path / "run.html"
    completed = d4p(
        "run", "multi", WORDCOUNT, "-i", "200", "-n", "4", "--report", str(report), "--quiet"
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert len(results(completed.stdout)["CountWords1.output"]) == 200
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "d4p run multi examples/wordcount.py -i 200 -n 4 --report" in page
    assert "<dt>results</dt><dd>200</dd>" in page
    assert ">CountWords1</text>" in page and "3 instances" in page


def test_report_shows_the_run_warnings(d4p: Runner, tmp_path: Path) -> None:
    report = tmp_path / "run.html"
    workflow = _write_workflow(tmp_path)
    completed = d4p("run", "multi", str(workflow), "-i", "20", "-n", "3", "--report", str(report))
    assert completed.returncode == 0, completed.stderr
    printed = [line for line in completed.stderr.splitlines() if line.startswith("d4p: warning:")]
    assert len(printed) == 1
    page = report.read_text(encoding="utf-8")
    warnings = page.split('<ul class="warnings">', 1)[1].split("</ul>", 1)[0]
    assert "Remembers1" in warnings and "(seen)" in warnings


def test_report_in_a_missing_directory_fails_before_the_run(d4p: Runner, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "run.html"
    completed = d4p("run", "simple", WORDCOUNT, "--report", str(target))
    assert completed.returncode == ExitCode.OUTPUT_FAILED
    assert str(target) in error_line(completed.stderr)
    assert completed.stdout == ""
