"""The report page: one HTML document with everything inline — summary,
graph, charts, metrics table, per-instance balance and run details."""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..__about__ import __version__
from ._assets import CONTENT_SECURITY_POLICY, SCRIPT, STYLE
from ._charts import Series, bar_chart
from ._facts import InstanceRow, PERow, RunFacts
from ._format import MISSING, count, duration, rate
from ._graph_svg import NodeStats, graph_svg

__all__ = ["render_page"]

e = html.escape

BALANCE_PLOT_WIDTH = 260.0
"""Balance charts sit two to a row: narrower bars keep their text legible."""


def _summary(facts: RunFacts) -> str:
    processes = "default" if facts.processes is None else str(facts.processes)
    cards = [
        ("mapping", facts.mapping),
        ("elapsed", duration(facts.elapsed_seconds)),
        ("processes (-n)", processes),
        ("PE instances", str(facts.total_instances)),
        ("PEs", str(len(facts.pes))),
        ("results", f"{facts.results:,}"),
        ("busy time, all PEs", duration(facts.total_busy_seconds)),
        ("warnings", str(len(facts.warnings))),
    ]
    items = "".join(f'<div class="card"><dt>{e(k)}</dt><dd>{e(v)}</dd></div>' for k, v in cards)
    return f'<dl class="cards">{items}</dl>'


def _warnings(facts: RunFacts) -> str:
    if not facts.warnings:
        return ""
    items = "".join(f"<li>{e(warning)}</li>" for warning in facts.warnings)
    return f'<h2 id="warnings">Warnings</h2><ul class="warnings">{items}</ul>'


def _graph(facts: RunFacts) -> str:
    stats = {row.pe_id: NodeStats(busy_share=row.busy_share, items=row.items) for row in facts.pes}
    return (
        '<h2 id="graph">Workflow</h2>'
        '<p class="note">Each PE with the instances that ran it; each connection with its '
        "grouping. The darker a PE, the larger its share of the busy time.</p>"
        f'<div class="figure">{graph_svg(facts.topology, stats)}</div>'
    )


def _charts(facts: RunFacts) -> str:
    labels = [row.pe_id for row in facts.pes]
    busy = bar_chart(
        labels,
        [Series("busy time", [row.busy_seconds for row in facts.pes], "s-busy")],
        duration,
        title="busy time per PE",
    )
    items = bar_chart(
        labels,
        [
            Series("items in", [row.items_in for row in facts.pes], "s-in"),
            Series("items out", [row.items_out for row in facts.pes], "s-out"),
        ],
        count,
        title="items in and out per PE",
    )
    throughput = bar_chart(
        labels,
        [Series("items per busy second", [row.throughput for row in facts.pes], "s-rate")],
        rate,
        title="throughput per PE",
    )
    return (
        '<h2 id="time">Where the time went</h2>'
        '<p class="note">Time spent in each PE\'s <code>process</code> calls, summed over its '
        "instances (it can exceed the elapsed time when instances run in parallel).</p>"
        f'<div class="figure">{busy}</div>'
        '<h2 id="items">Items per PE</h2>'
        f'<div class="figure">{items}</div>'
        '<h2 id="throughput">Throughput</h2>'
        '<p class="note">Items each PE handled (items in; items out for a source) per second '
        "of its busy time: what one busy instance-second of it achieves.</p>"
        f'<div class="figure">{throughput}</div>'
    )


def _cell(text: str, value: float | None = None) -> str:
    shown = "" if value is None else f' data-value="{value!r}"'
    return f"<td{shown}>{e(text)}</td>"


def _row(row: PERow) -> str:
    per_item = row.busy_seconds / row.items if row.items else None
    return (
        "<tr>"
        + _cell(row.pe_id)
        + _cell(str(row.instances), row.instances)
        + _cell(f"{row.items_in:,}", row.items_in)
        + _cell(f"{row.items_out:,}", row.items_out)
        + _cell(f"{row.process_calls:,}", row.process_calls)
        + _cell(duration(row.busy_seconds), row.busy_seconds)
        + _cell(f"{row.busy_share:.1%}", row.busy_share)
        + _cell(MISSING if row.throughput is None else rate(row.throughput), row.throughput or 0.0)
        + _cell(MISSING if per_item is None else duration(per_item), per_item or 0.0)
        + "</tr>"
    )


def _table(facts: RunFacts) -> str:
    headers = [
        "PE",
        "instances",
        "items in",
        "items out",
        "process calls",
        "busy",
        "busy share",
        "items / busy s",
        "busy per item",
    ]
    head = "".join(f'<th data-sort="{i}">{e(h)}</th>' for i, h in enumerate(headers))
    body = "".join(_row(row) for row in facts.pes)
    return (
        '<h2 id="metrics">Metrics</h2>'
        '<p class="note">Click a column to sort.</p>'
        f'<table class="sortable" id="metrics-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _spread(rows: Sequence[InstanceRow]) -> str:
    items = [row.items for row in rows]
    mean = sum(items) / len(items)
    ratio = f"{max(items) / mean:.2f}" if mean > 0 else MISSING
    return f"min {min(items):,} · mean {mean:,.1f} · max {max(items):,} · max/mean {ratio}"


def _balance(facts: RunFacts) -> str:
    several = [(pe_id, rows) for pe_id, rows in facts.balance.items() if len(rows) > 1]
    single = [pe_id for pe_id, rows in facts.balance.items() if len(rows) <= 1]
    parts = [
        '<h2 id="balance">Balance across instances</h2>',
        '<p class="note">Items each instance handled. With a <code>group_by</code> grouping, '
        "a skewed key distribution shows up here; 'max/mean' is 1.00 when the load is even.</p>",
    ]
    if several:
        parts.append('<div class="balance">')
        for pe_id, rows in several:
            chart = bar_chart(
                [f"#{row.index}" for row in rows],
                [Series("items", [row.items for row in rows], "s-instance")],
                count,
                title=f"items per instance of {pe_id}",
                plot_width=BALANCE_PLOT_WIDTH,
            )
            parts.append(
                f'<div class="figure" data-pe="{e(pe_id)}"><h3>{e(pe_id)}</h3>'
                f'<p class="muted">{e(_spread(rows))}</p>{chart}</div>'
            )
        parts.append("</div>")
    else:
        parts.append("<p>Every PE ran as one instance.</p>")
    if several and single:
        parts.append(f'<p class="muted">One instance: {e(", ".join(single))}.</p>')
    return "".join(parts)


def _details(facts: RunFacts) -> str:
    parts = ['<h2 id="details">Run details</h2>']
    if facts.placement:
        processes = "".join(f"<li>{e(', '.join(block))}</li>" for block in facts.placement)
        parts.append(
            f"<h3>Placement: {len(facts.placement)} process(es)</h3>"
            f'<ol class="placement" start="0">{processes}</ol>'
        )
    if facts.extra:
        entries = "".join(f"<dt>{e(k)}</dt><dd><code>{e(v)}</code></dd>" for k, v in facts.extra)
        parts.append(f'<h3>Reported by the mapping</h3><dl class="extra">{entries}</dl>')
    if len(parts) == 1:
        parts.append('<p class="muted">The mapping reported nothing more.</p>')
    return "".join(parts)


def render_page(facts: RunFacts) -> str:
    """The whole report document for ``facts``."""
    title = f"d4p run report: {facts.title} on {facts.mapping}"
    body = "".join(
        [
            f"<h1>{e(title)}</h1>",
            f"<p><code>{e(facts.command)}</code></p>" if facts.command else "",
            _summary(facts),
            _warnings(facts),
            _graph(facts),
            _charts(facts),
            _table(facts),
            _balance(facts),
            _details(facts),
            f"<footer>Written by d4p-cli {e(__version__)} on {e(facts.created)}.</footer>",
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="d4p-cli">\n'
        f"<title>{e(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )
