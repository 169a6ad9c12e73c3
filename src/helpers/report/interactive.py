"""Interactive charts with a filter on the report's pages, and their static twin for print.

A chart of one line per group (region, segment, cohort) is drawn twice from the same frame: with
Plotly (a dropdown menu above it shows all groups or one of them, hover tells the values) and
with matplotlib as an embedded PNG. On screen the page shows the Plotly chart once it is drawn;
printed (``@media print``, and so in ``report.pdf``) it shows the PNG. Without the Plotly script
(a notebook opened in JupyterLab, the copies ``report.pdf`` is printed from) the PNG simply stays.

Plotly's JavaScript comes from the installed ``plotly`` package (``plotly.offline.get_plotlyjs``):
the renderer writes it once into the report folder (``SCRIPT_SRC``, beside the pages) and every
page with an interactive chart loads it by that relative path; nothing is fetched from a network.
Each chart's figure sits, HTML-escaped, in a ``data-figure`` attribute (text from the data never
becomes script), read by a short script of the chart's own.
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from helpers.paths import RunLayout
from helpers.report.fmt import fmt_num
from helpers.report.labels import reader_label, reader_text
from helpers.report.plotting import PALETTE, chart_figure_html, label, new_axes
from helpers.validation import require_columns

if TYPE_CHECKING:  # plotly is imported where a figure is made: the runner only renders pages
    import plotly.graph_objects as go

__all__ = ["ALL", "ASSETS_DIR", "SCRIPT_NAME", "SCRIPT_SRC", "MARKER", "HEAD_HTML", "group_figure", "select",
           "visible_groups", "describe_figure", "plot_groups", "chart_html", "show", "script_path", "write_script",
           "uses_script", "link_script"]

ALL = "All"  # the menu's first option: every group
ASSETS_DIR = "assets"  # in the report folder, beside the pages
SCRIPT_NAME = "plotly.min.js"
SCRIPT_SRC = f"{ASSETS_DIR}/{SCRIPT_NAME}"  # as a page in the report folder names it
MARKER = "data-ci-interactive"  # on every interactive chart: the renderer links the script to such pages
CHART_HEIGHT = 460  # css pixels, or more when the menu's options need it (they all show when it opens)
MENU_OPTION_HEIGHT = 36  # css pixels of one option of an open menu, with room above it
MAX_TOLD_LINES = 3  # lines whose first and last point the description tells

# Print shows the static chart whatever the script did on screen (!important beats the inline
# display the script sets).
PRINT_CSS = ("<style>@media print{.ci-dual .ci-interactive{display:none!important}"
             ".ci-dual .ci-static{display:block!important}}</style>")
HEAD_HTML = f'{PRINT_CSS}<script src="{SCRIPT_SRC}"></script>'

# No Plotly logo link and no "Share chart" button (it uploads the chart to Plotly's cloud); the
# download-as-PNG, zoom and pan buttons stay.
CONFIG = {"displaylogo": False, "responsive": True, "showSendToCloud": False, "showLink": False,
          "plotlyServerURL": "", "modeBarButtonsToRemove": ["sendChartToCloud", "select2d", "lasso2d", "autoScale2d"]}

# Draws the chart of the box ``id``, then hides the static one; leaves the static one when there
# is no Plotly or drawing fails.
_DRAW_JS = """<script>(function () {
  var box = document.getElementById("%s");
  if (!box || !window.Plotly) { return; }
  var live = box.querySelector(".ci-interactive"), still = box.querySelector(".ci-static");
  var plot = live.querySelector(".ci-plotly"), spec = JSON.parse(plot.getAttribute("data-figure"));
  live.style.display = "";
  Plotly.newPlot(plot, spec.data, spec.layout, spec.config).then(function () { still.style.display = "none"; },
    function () { live.style.display = "none"; });
})();</script>"""


# ----------------------------------------------------------------------------- the figure
def _colours(n: int) -> list[str]:
    """The static charts' palette, so a group has the same colour on screen and on paper."""
    return sns.color_palette(PALETTE, max(n, 1)).as_hex()


def _series(frame: pd.DataFrame, x: str, y: str, group: str, percent: bool) -> list[tuple[str, pd.DataFrame]]:
    """(group name, its rows with ``x`` and the shown value) in the order groups first appear;
    groups without a single value are left out (a line that shows nothing is no option)."""
    require_columns(frame, [x, y, group], "frame")
    if frame.empty:
        raise ValueError("the frame has no rows to draw")
    values = pd.to_numeric(frame[y], errors="coerce").astype(float) * (100 if percent else 1)
    shown = pd.DataFrame({"x": frame[x].to_numpy(), "value": values.to_numpy(), "group": frame[group].astype(str)})
    series = [(name, rows) for name, rows in shown.groupby("group", sort=False) if rows["value"].notna().any()]
    if not series:
        raise ValueError(f"no group of {group!r} has a value of {y!r} to draw")
    return series


def _categorical(values: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(values)


def group_figure(frame: pd.DataFrame, x: str, y: str, group: str, *, title: str, x_title: str, y_title: str,
                 percent: bool = False, decimals: int = 0, all_label: str = ALL) -> go.Figure:
    """A line chart of ``y`` over ``x`` with one trace per value of ``group`` and a dropdown menu
    (``layout.updatemenus``) whose first option, ``all_label``, shows every trace and whose
    others show exactly one group's.

    ``percent``: ``y`` holds shares (0-1), drawn in percent. ``decimals``: of the values on hover.
    Text x values (quarters, months) keep the frame's order on a category axis. Group names and
    titles are shown as text, never as markup.
    """
    import plotly.graph_objects as go

    series = _series(frame, x, y, group, percent)
    names = [name for name, _ in series]
    if all_label in names:
        raise ValueError(f"a group is called {all_label!r} like the option for all groups; pass another all_label")
    suffix = "%" if percent else ""
    figure = go.Figure()
    for name, rows in series:
        figure.add_trace(go.Scatter(
            x=rows["x"].tolist(), y=[None if np.isnan(v) else float(v) for v in rows["value"]],
            name=_text(name), mode="lines+markers", connectgaps=False,
            hovertemplate=(f"%{{fullData.name}}<br>{_text(x_title)}: %{{x}}<br>{_text(y_title)}: "
                           f"%{{y:,.{decimals}f}}{suffix}<extra></extra>")))
    count = len(series)
    buttons = [{"label": _text(all_label), "method": "restyle", "args": [{"visible": [True] * count}]}]
    buttons += [{"label": _text(name), "method": "restyle", "args": [{"visible": [j == i for j in range(count)]}]}
                for i, name in enumerate(names)]
    xaxis = {"title": {"text": _text(x_title)}, "showgrid": True, "gridcolor": "#e5e5e5", "linecolor": "#888",
             "zeroline": False, "automargin": True}
    if _categorical(frame[x]):
        xaxis.update(type="category", categoryorder="array", categoryarray=list(dict.fromkeys(frame[x].tolist())))
    elif pd.api.types.is_integer_dtype(frame[x]):
        xaxis.update(dtick=1)
    figure.update_layout(
        template="none", height=max(CHART_HEIGHT, 120 + MENU_OPTION_HEIGHT * len(buttons)), colorway=_colours(count),
        font={"family": "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'Noto Sans CJK SC', sans-serif",
              "size": 13, "color": "#1b1b1b"},
        title={"text": f"<b>{_text(title)}</b>", "x": 0, "xanchor": "left", "y": 0.97, "yanchor": "top"},
        xaxis=xaxis,
        yaxis={"title": {"text": _text(y_title)}, "showgrid": True, "gridcolor": "#e5e5e5", "linecolor": "#888",
               "zeroline": False, "separatethousands": True, "exponentformat": "none", "ticksuffix": suffix,
               "rangemode": "tozero" if percent else "normal", "automargin": True},
        margin={"l": 70, "r": 20, "t": 100, "b": 60}, hovermode="closest",
        legend={"title": {"text": _text(reader_label(group))}},
        updatemenus=[{"type": "dropdown", "direction": "down", "active": 0, "showactive": True, "buttons": buttons,
                      "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom", "pad": {"l": 48, "t": 0}}],
        annotations=[{"text": "Show", "x": 0, "xref": "paper", "xanchor": "left", "y": 1.02, "yref": "paper",
                      "yanchor": "bottom", "yshift": 4, "showarrow": False}],
    )
    return figure


def _text(text) -> str:
    """Plotly reads ``<b>``, ``<a href>`` and entities in its texts: a name from the data stays text."""
    return html.escape(str(text), quote=False)


def _option(figure: go.Figure, option: str) -> dict:
    buttons = figure.layout.updatemenus[0].buttons
    for button in buttons:
        if html.unescape(button.label) == option:
            return button
    raise ValueError(f"the menu has no option {option!r}; it has {[html.unescape(b.label) for b in buttons]}")


def select(figure: go.Figure, option: str) -> go.Figure:
    """The figure as it shows after choosing ``option`` in its menu (what Plotly's ``restyle``
    does with the option's arguments); the figure itself is left as it was."""
    import plotly.graph_objects as go

    button = _option(figure, option)
    chosen = go.Figure(figure)
    chosen.update_traces(visible=None)
    for index, visible in enumerate(button.args[0]["visible"]):
        chosen.data[index].visible = visible
    return chosen


def visible_groups(figure: go.Figure) -> list[str]:
    """The names of the traces shown (a trace without ``visible`` set is shown)."""
    return [html.unescape(trace.name) for trace in figure.data if trace.visible in (None, True)]


# ----------------------------------------------------------------------------- words and the static twin
def _value_text(value: float, suffix: str) -> str:
    """Enough digits to read: 18,825; 29.3; 2.46 (trailing zeros dropped)."""
    size = abs(value)
    text = fmt_num(value, 0 if size >= 100 else 1 if size >= 10 else 2)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + suffix


def describe_figure(figure: go.Figure) -> str:
    """Alt text for an interactive chart, in the words of ``plotting.describe_chart``: kind,
    title, axis titles, the lines and the first and last value of the first few, and the menu."""
    layout = figure.layout
    title = html.unescape(layout.title.text or "").replace("<b>", "").replace("</b>", "")
    x_title, y_title = (html.unescape(axis.title.text or "") for axis in (layout.xaxis, layout.yaxis))
    suffix = layout.yaxis.ticksuffix or ""
    names = [html.unescape(trace.name) for trace in figure.data]
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    parts = [f"{len(names)} line{'s' if len(names) != 1 else ''} ({shown})"]
    for trace, name in list(zip(figure.data, names))[:MAX_TOLD_LINES]:
        points = [(x, y) for x, y in zip(trace.x, trace.y) if y is not None]
        if len(points) == 1:
            parts.append(f"{name} {_value_text(points[0][1], suffix)} at {points[0][0]}")
        elif points:
            (x0, y0), (x1, y1) = points[0], points[-1]
            parts.append(f"{name} from {_value_text(y0, suffix)} at {x0} to {_value_text(y1, suffix)} at {x1}")
    group = html.unescape(layout.legend.title.text or "group").lower()
    menu = f"a menu above the chart shows all lines or the line of one {group}"
    text = (f"Interactive line chart: {title}. X axis {x_title}; y axis {y_title}. " + "; ".join(parts)
            + f"; {menu}.")
    return reader_text(text)


def plot_groups(frame: pd.DataFrame, x: str, y: str, group: str, *, title: str, x_title: str, y_title: str,
                percent: bool = False, ax=None):
    """The static twin of ``group_figure``: the same lines, colours, titles and axes in matplotlib."""
    series = _series(frame, x, y, group, percent)
    ax = new_axes(ax, figsize=(8.5, 4.2))
    categorical = _categorical(frame[x])
    order = {value: i for i, value in enumerate(dict.fromkeys(frame[x].tolist()))}
    for (name, rows), colour in zip(series, _colours(len(series))):
        positions = rows["x"].map(order) if categorical else rows["x"]
        ax.plot(positions, rows["value"], marker="o", color=colour, label=name)
    if categorical:
        ax.set_xticks(range(len(order)), [str(v) for v in order], rotation=45 if len(order) > 6 else 0)
    elif pd.api.types.is_integer_dtype(frame[x]):
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}{'%' if percent else ''}"))
    if percent:
        ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9)
    return label(ax, title, x_title, y_title)


def _static_html(static) -> str:
    """A matplotlib chart as the PNG ``<figure>`` the chapters show (``Chapter.chart``), marked static."""
    return chart_figure_html(getattr(static, "figure", static), "ci-chart ci-static")[0]


def chart_html(figure: go.Figure, static) -> str:
    """The interactive ``figure`` and the matplotlib chart ``static`` (axes or figure) in one box:
    the PNG until the script has drawn the figure, the PNG again in print."""
    spec = json.loads(figure.to_json())
    spec["config"] = CONFIG
    data = json.dumps(spec, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    box = "ci-chart-" + hashlib.sha256(data.encode("utf-8")).hexdigest()[:12]
    alt = describe_figure(figure)
    return (f'<div class="ci-dual" id="{box}" {MARKER}>{_static_html(static)}'
            f'<figure class="ci-chart ci-interactive" style="display:none" role="figure" aria-label="{html.escape(alt)}">'
            f'<div class="ci-plotly" style="width:100%;min-height:{figure.layout.height}px" data-figure="{html.escape(data)}">'
            f"</div></figure>{_DRAW_JS % box}</div>")


def show(frame: pd.DataFrame, x: str, y: str, group: str, *, title: str, x_title: str, y_title: str,
         percent: bool = False, decimals: int = 0, static=None, all_label: str = ALL) -> None:
    """Show ``group_figure`` of ``frame`` in a notebook cell with its static twin: ``plot_groups``
    of the same frame, or ``static`` (a matplotlib chart of the same numbers drawn otherwise)."""
    from IPython.display import display

    figure = group_figure(frame, x, y, group, title=title, x_title=x_title, y_title=y_title, percent=percent,
                          decimals=decimals, all_label=all_label)
    if static is None:
        static = plot_groups(frame, x, y, group, title=title, x_title=x_title, y_title=y_title, percent=percent)
    page = chart_html(figure, static)
    display({"text/html": page, "text/plain": describe_figure(figure)}, raw=True)


# ----------------------------------------------------------------------------- the script in the report folder
def script_path(layout: RunLayout) -> Path:
    """Where a report folder keeps Plotly's script (``SCRIPT_SRC`` from its pages)."""
    return layout.root / ASSETS_DIR / SCRIPT_NAME


def write_script(layout: RunLayout) -> Path:
    """Write Plotly's script into the report folder once: a folder that has it is left as it is.
    The file appears whole or not at all (pages rendered side by side may ask at the same time)."""
    from plotly.offline import get_plotlyjs

    target = script_path(layout)
    script = get_plotlyjs().encode("utf-8")
    if target.exists() and target.stat().st_size == len(script):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}.part")
    partial.write_bytes(script)
    os.replace(partial, target)
    return target


def uses_script(page: str) -> bool:
    """Whether a page holds an interactive chart."""
    return MARKER in page


def link_script(page: str) -> str:
    """The page with the print rule and the relative ``<script src>`` of Plotly in its head."""
    if "</head>" not in page:
        raise ValueError("the page has no </head> to link the chart script in")
    return page.replace("</head>", HEAD_HTML + "</head>", 1)
