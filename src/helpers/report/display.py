"""HTML pieces for the report: formatted, escaped tables, findings and notes.

Every value that comes from data passes through ``html.escape``, so a product name such as
``<script>`` shows as text and never runs. What a reader sees is in words (``helpers.report.labels``):
column labels from its one map, yes / no for booleans, codes in words, no scientific notation.
"""
from __future__ import annotations

import html

import numpy as np
import pandas as pd

from helpers.report.fmt import fmt_change, fmt_date, fmt_int, fmt_money, fmt_num, fmt_p, fmt_pct, fmt_pp
from helpers.report.i18n import t
from helpers.report.labels import plain_number, prose_html, reader_label, reader_value


def fmt_text(value) -> str:
    """A cell without a number format: a dash when missing, yes / no for a boolean, a float in
    positional notation, anything else as its text with codes in words."""
    if isinstance(value, (bool, np.bool_)):
        return t("yes") if value else t("no")
    if _missing(value):
        return "–"
    if isinstance(value, (float, np.floating)):
        return plain_number(float(value))
    return reader_value(str(value))


FORMATTERS = {
    "int": fmt_int,
    "pct": fmt_pct,
    "pp": fmt_pp,
    "change": fmt_change,
    "float1": lambda v: fmt_num(v, 1),
    "float2": lambda v: fmt_num(v, 2),
    "float3": lambda v: fmt_num(v, 3),
    "pvalue": fmt_p,
    "date": lambda v: "–" if pd.isna(v) else fmt_date(pd.Timestamp(v).date()),  # the day only, as the language writes it
    "text": fmt_text,
}
TEXT_KINDS = ("text", "date", "id")
# A text column whose longest value has more characters than this wraps, at a width that keeps
# its rows a few lines tall (class ci-wrap); shorter ones stay on one line (ci-nowrap).
ONE_LINE_CHARS = 28
LONG_TEXT_CHARS = 60
# Tables with more columns than this get a smaller print font (class ci-many-columns).
MANY_COLUMNS = 9


def format_value(value, kind: str, currency: str = "¥") -> str:
    """One cell's text in the format ``kind`` (see ``table_html``)."""
    if kind == "money":
        return fmt_money(value, currency)
    if kind == "id":  # identifiers exactly as the data has them
        return fmt_text(value) if isinstance(value, (bool, np.bool_)) or _missing(value) else str(value)
    if kind not in FORMATTERS:
        raise ValueError(f"unknown format {kind!r}; use one of {sorted(FORMATTERS) + ['id', 'money']}")
    return FORMATTERS[kind](value)


def _missing(value) -> bool:
    """None, NaN, NaT or pd.NA (a list or a string is a value)."""
    return value is None or (pd.api.types.is_scalar(value) and not isinstance(value, str) and bool(pd.isna(value)))


def _default_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "text"
    if _is_id_column(series.name):  # before numbers: customer 1234567 is not "1,234,567"
        return "id"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float2"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    return "text"


def _is_id_column(name) -> bool:
    """``customer_id``, ``product id``, ``Customer ID``: values are looked up as written."""
    words = str(name).replace("_", " ").strip().lower().split(" ")
    return words[-1] == "id"


def _text_class(texts: list[str]) -> str:
    longest = max((len(t) for t in texts), default=0)
    if longest <= ONE_LINE_CHARS:
        return "ci-nowrap"
    return "ci-wrap ci-long" if longest > LONG_TEXT_CHARS else "ci-wrap"


def table_html(frame: pd.DataFrame, formats: dict[str, str] | None = None, caption: str | None = None,
               currency: str = "¥", max_rows: int = 50, sortable: bool = False, index: bool = False,
               full_table: str | None = None) -> str:
    """An escaped HTML table with numbers formatted for readers, in a box that scrolls sideways.

    ``formats`` maps column -> int, money, pct, pp, change, float1, float2, float3, pvalue, date,
    id or text; other columns get a format from their dtype (``..._id`` columns: id, kept as
    written). Headers are ``labels.reader_label`` of the column names; text cells have booleans
    as yes / no and codes in words. Numeric cells carry their raw value in ``data-value`` so the
    offline table sorter orders them by number, not by text. Above ``max_rows`` rows the first
    ``max_rows`` are shown with a note that names ``full_table`` (the CSV with all rows) if given.
    """
    formats = dict(formats or {})
    unknown = set(formats) - set(frame.columns)
    if unknown:
        raise ValueError(f"formats name columns not in the table: {sorted(unknown)}")
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    if index:
        frame = frame.reset_index()
    total = len(frame)
    shown = frame.head(max_rows)
    kinds = {c: formats.get(c, _default_kind(shown[c])) for c in shown.columns}
    numeric = {c for c, k in kinds.items() if k not in TEXT_KINDS}
    texts = {c: [format_value(v, kinds[c], currency) for v in shown[c].tolist()] for c in shown.columns}
    classes = {c: "num" if c in numeric else _text_class(texts[c]) for c in shown.columns}
    head = "".join(f'<th class="{classes[c]}">{html.escape(reader_label(c))}</th>' for c in shown.columns)
    rows = []
    values = {c: shown[c].tolist() for c in shown.columns}
    for position in range(len(shown)):
        cells = []
        for column in shown.columns:
            value = values[column][position]
            text = html.escape(texts[column][position])
            if column in numeric and not _missing(value):
                cells.append(f'<td class="num" data-value="{float(value)!r}">{text}</td>')
            elif column in numeric:  # a dash, aligned with the numbers; the sorter reads no value
                cells.append(f'<td class="num">{text}</td>')
            else:
                cells.append(f'<td class="{classes[column]}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table_classes = ["ci-table"]
    if sortable or total > 15:
        table_classes.append("sortable")
    if len(shown.columns) > MANY_COLUMNS:
        table_classes.append("ci-many-columns")
    cap = f"<caption>{prose_html(caption)}</caption>" if caption else ""
    more = ""
    if total > max_rows:
        if full_table:
            text = t("Showing the first {shown} of {total} rows; all {total} are in {file}.", shown=fmt_int(max_rows),
                     total=fmt_int(total), file=f"<code>{html.escape(full_table)}</code>")
        else:
            text = t("Showing the first {shown} of {total} rows.", shown=fmt_int(max_rows), total=fmt_int(total))
        more = f'<p class="ci-note">{text}</p>'
    return (f'<div class="ci-table-wrap"><table class="{" ".join(table_classes)}">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>{more}')


def finding_html(text: str) -> str:
    """A finding in words (``labels.prose_html``): parameter names in ``<code>``, codes in words."""
    return '<p class="ci-finding"><strong>' + html.escape(t("Finding.")) + f"</strong> {prose_html(text)}</p>"


def note_html(text: str, kind: str = "note") -> str:
    """A note in words (``labels.prose_html``). A "Not available" line (kind ``na``) is shown as
    written: it is the section's status, word for word the same in the run's section list."""
    body = html.escape(text) if kind == "na" else prose_html(text)
    return f'<p class="ci-{kind}">{body}</p>'


def section_error_html(section: str, error: str, details: str) -> str:
    """The box a failed section leaves: what failed for the reader, the frames for the analyst."""
    failed, details_for = html.escape(t("This section could not be computed")), html.escape(t("Details for the analyst"))
    return (f'<div class="ci-error"><p><strong>{failed}</strong> ({html.escape(section)}): {html.escape(error)}</p>'
            f'<details><summary>{details_for}</summary>'
            f'<pre>{html.escape(details)}</pre></details></div>')


def glossary_html(entries: dict[str, str]) -> str:
    """The chapter's glossary under its one heading (the notebook adds none of its own)."""
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{prose_html(v)}</dd>" for k, v in entries.items())
    return '<h2 id="glossary">' + html.escape(t("Glossary")) + f'</h2><dl class="ci-glossary">{items}</dl>'

