"""HTML pieces for the report: formatted, escaped tables, findings and notes.

Every value that comes from data passes through ``html.escape``, so a product name such as
``<script>`` shows as text and never runs.
"""
from __future__ import annotations

import html

import pandas as pd

from helpers.report.fmt import fmt_change, fmt_int, fmt_money, fmt_num, fmt_pct, fmt_pp

FORMATTERS = {
    "int": fmt_int,
    "pct": fmt_pct,
    "pp": fmt_pp,
    "change": fmt_change,
    "float1": lambda v: fmt_num(v, 1),
    "float2": lambda v: fmt_num(v, 2),
    "float3": lambda v: fmt_num(v, 3),
    "date": lambda v: "–" if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d"),
    "text": lambda v: "–" if pd.isna(v) else str(v),
}


def format_value(value, kind: str, currency: str = "¥") -> str:
    if kind == "money":
        return fmt_money(value, currency)
    if kind not in FORMATTERS:
        raise ValueError(f"unknown format {kind!r}; use one of {sorted(FORMATTERS) + ['money']}")
    return FORMATTERS[kind](value)


def _default_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "text"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float2"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    return "text"


def table_html(frame: pd.DataFrame, formats: dict[str, str] | None = None, caption: str | None = None,
               currency: str = "¥", max_rows: int = 50, sortable: bool = False, index: bool = False) -> str:
    """An escaped HTML table with numbers formatted for readers.

    ``formats`` maps column -> int, money, pct, pp, change, float1, float2, float3, date or text;
    other columns get a format from their dtype. Numeric cells carry their raw value in
    ``data-value`` so the offline table sorter orders them by number, not by text.
    """
    formats = dict(formats or {})
    unknown = set(formats) - set(frame.columns)
    if unknown:
        raise ValueError(f"formats name columns not in the table: {sorted(unknown)}")
    if index:
        frame = frame.reset_index()
    total = len(frame)
    shown = frame.head(max_rows)
    kinds = {c: formats.get(c, _default_kind(shown[c])) for c in shown.columns}
    numeric = {c for c, k in kinds.items() if k not in ("text", "date")}
    # Column names read as words: "active_customers" -> "active customers".
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{html.escape(str(c).replace("_", " "))}</th>'
                   for c in shown.columns)
    rows = []
    for record in shown.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(shown.columns, record):
            text = html.escape(format_value(value, kinds[column], currency))
            if column in numeric and not pd.isna(value):
                cells.append(f'<td class="num" data-value="{float(value)!r}">{text}</td>')
            else:
                cells.append(f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    classes = "ci-table sortable" if sortable or total > 15 else "ci-table"
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    more = (f'<p class="ci-note">Showing {max_rows:,} of {total:,} rows; the full table is in the CSV.</p>'
            if total > max_rows else "")
    return (f'<table class="{classes}">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>{more}')


def finding_html(text: str) -> str:
    return f'<p class="ci-finding"><strong>Finding.</strong> {html.escape(text)}</p>'


def note_html(text: str, kind: str = "note") -> str:
    return f'<p class="ci-{kind}">{html.escape(text)}</p>'


def section_error_html(section: str, error: str, details: str) -> str:
    """The box a failed section leaves: what failed for the reader, the frames for the analyst."""
    return (f'<div class="ci-error"><p><strong>This section could not be computed</strong> ({html.escape(section)}): '
            f'{html.escape(error)}</p><details><summary>Details for the analyst</summary>'
            f'<pre>{html.escape(details)}</pre></details></div>')


def glossary_html(entries: dict[str, str]) -> str:
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in entries.items())
    return f'<h2>Glossary</h2><dl class="ci-glossary">{items}</dl>'
