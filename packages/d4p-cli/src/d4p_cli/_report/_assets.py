"""The report's inline style sheet, script and content security policy.

The policy forbids every fetch (``default-src 'none'``): the page can only
use what it carries, so it shows the same offline, from an archive or an
e-mail attachment, and a browser refuses anything that would leak out.
"""

from __future__ import annotations

__all__ = ["CONTENT_SECURITY_POLICY", "SCRIPT", "STYLE"]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
)

STYLE = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 30px 0 8px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 16px 0 4px; }
p.note, .muted { color: var(--muted); }
code { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: var(--soft); padding: 1px 5px; border-radius: 4px; overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px;
  margin: 16px 0 0; padding: 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; margin: 0; }
.card dt { color: var(--muted); font-size: 12px; }
.card dd { margin: 0; font-size: 18px; font-weight: 600; overflow-wrap: anywhere; }
.warnings { border: 1px solid #d4a72c; background: #fff8c5; border-radius: 8px;
  padding: 8px 12px 8px 30px; }
.figure { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; padding: 8px;
  background: #fff; }
svg { max-width: 100%; height: auto; font-family: system-ui, Helvetica, Arial, sans-serif; }
svg.graph rect { stroke: #57606a; stroke-width: 1.2; }
svg.graph .pe-name { font-size: 13px; font-weight: 600; fill: var(--ink); }
svg.graph .pe-detail { font-size: 11px; fill: #3d444d; }
svg.graph .edge path { fill: none; stroke: #6e7781; stroke-width: 1.4; }
svg.graph .arrow-head { fill: #6e7781; }
svg.graph rect.edge-label-bg { fill: #fff; stroke: none; opacity: 0.85; }
svg.graph .edge-label { font-size: 10.5px; fill: #3d444d; }
svg.chart .chart-label, svg.chart .chart-legend { font-size: 12px; fill: var(--ink); }
svg.chart .chart-value { font-size: 11px; fill: var(--muted); }
.s-in { fill: #4e79a7; } .s-out { fill: #f28e2b; } .s-busy { fill: #e15759; }
.s-rate { fill: #59a14f; } .s-instance { fill: #76b7b2; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 9px; border-bottom: 1px solid var(--line); text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
th[data-sort] { cursor: pointer; }
th[data-sort]:hover { text-decoration: underline; }
th.sorted::after { content: " ▾"; } th.sorted.ascending::after { content: " ▴"; }
.balance { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 12px; }
ol.placement { columns: 2; padding-left: 24px; }
dl.extra dt { font-weight: 600; } dl.extra dd { margin: 0 0 6px 16px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
"""

SCRIPT = """
(function () {
  "use strict";
  function key(cell) {
    var value = cell.getAttribute("data-value");
    return value === null ? cell.textContent : parseFloat(value);
  }
  function sortBy(table, column, header) {
    var body = table.tBodies[0];
    var ascending = header.classList.contains("sorted") && !header.classList.contains("ascending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[column]), y = key(b.cells[column]);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.classList.remove("sorted", "ascending");
    });
    header.classList.add("sorted");
    if (ascending) { header.classList.add("ascending"); }
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
      if (!header.hasAttribute("data-sort")) { return; }
      header.title = "sort by this column";
      header.addEventListener("click", function () { sortBy(table, column, header); });
    });
  });
  document.body.setAttribute("data-report-ready", "yes");
})();
"""
"""Sortable metrics table (click a column header); marks the page ready, which
the browser test reads back to know the script ran to its end."""
