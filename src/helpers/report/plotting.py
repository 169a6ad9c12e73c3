"""One plotting style for every chapter, with CJK fonts so Chinese labels never render as boxes."""
from __future__ import annotations

import base64
import html

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import seaborn as sns
from matplotlib import font_manager
from matplotlib.category import StrCategoryFormatter
from matplotlib.collections import PathCollection, PolyCollection, QuadMesh
from matplotlib.container import BarContainer, ErrorbarContainer

from helpers.report.fmt import fmt_date
from helpers.report.i18n import t
from helpers.report.labels import reader_text

# Tried in order; matplotlib falls back glyph by glyph through the list (Debian's Noto CJK,
# then the usual Windows and macOS CJK fonts on analysts' machines).
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Arial Unicode MS"]
PALETTE = "deep"


def available_cjk_fonts() -> list[str]:
    """The CJK fonts of ``CJK_FONTS`` present here. A font installed after matplotlib built its
    font cache (as set-up does) is registered from the system font folders."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not installed.intersection(CJK_FONTS):
        for path in font_manager.findSystemFonts():
            if "CJK" in path or "wqy" in path.lower():
                font_manager.fontManager.addfont(path)
        installed = {f.name for f in font_manager.fontManager.ttflist}
    return [name for name in CJK_FONTS if name in installed]


def setup_style() -> None:
    """Seaborn's clean grid style, readable sizes, a CJK fallback font, and text shown as written.

    Labels come from the customer's data (industries, products, regions), so ``$...$`` in them
    must not be parsed as mathtext: ``$\\alert{x}$`` would make the chart fail, ``$5 to $9``
    would print in italics. ``text.parse_math`` turns that off for every text created
    afterwards; no chart of the project uses mathtext."""
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    plt.rcParams.update({
        "figure.figsize": (8, 4.2),
        "figure.dpi": 96,
        "axes.titlesize": 13,
        "axes.titleweight": "bold",
        "axes.labelsize": 11,
        # A list of families makes matplotlib fall back glyph by glyph (Latin in DejaVu, Chinese in CJK).
        "font.family": ["DejaVu Sans", *available_cjk_fonts()],
        "axes.unicode_minus": False,
        "text.parse_math": False,
    })


def new_axes(ax=None, figsize: tuple[float, float] | None = None):
    """The given axes, or a fresh figure's."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize or plt.rcParams["figure.figsize"])
    return ax


def label(ax, title: str, xlabel: str, ylabel: str):
    """Every chart has a title and both axes labelled with units."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


# ----------------------------------------------------------------------------- chart descriptions (alt text)
MAX_NAMED_SERIES = 6  # series named in a description; more are counted
MAX_SUMMARISED_LINES = 3  # line series whose start and end are told


def chart_figure_html(figure, css_class: str = "ci-chart", summary: str = "") -> tuple[str, str]:
    """The figure as a ``<figure>`` with an embedded PNG (laid out tight, as IPython's inline
    backend shows it) and its alt text (``describe_chart``, then ``summary`` if given), and that
    alt text; the figure is closed. Drawing the PNG lays out the tick labels the description
    reads, so the figure is drawn once."""
    from IPython.core.pylabtools import print_figure

    figure.tight_layout()
    png = print_figure(figure, "png", bbox_inches="tight")
    alt = describe_chart(figure, drawn=True) + (f" {summary}" if summary else "")
    plt.close(figure)
    return (f'<figure class="{css_class}"><img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
            f'alt="{html.escape(alt)}"></figure>'), alt


def describe_chart(figure, drawn: bool = False) -> str:
    """Alt text for a chart: per plot its kind, title, axis labels, the number of bars, lines or
    points and a one-line summary read from the drawn data (highest and lowest bar or estimate;
    first, last and peak of each line; a heatmap's size and value range).

    Everything comes from the figure's artists, so it says what was drawn, whatever helper drew
    it. Colour bars are left out; a twin axes (``twinx``) is told as the right axis of the plot it
    overlays; lines without a legend label are left out when others have one (connectors, guides).
    Codes in labels read as words (``labels.reader_text``). Tick labels of category, date and
    heatmap axes exist once the figure is drawn: it is drawn here unless it ``drawn`` already.
    """
    if not drawn:
        figure.canvas.draw()
    plots = [ax for ax in figure.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    twins = {ax: [o for o in plots if o is not ax and o.get_position().bounds == ax.get_position().bounds]
             for ax in plots}
    main = [ax for ax in plots if not any(plots.index(o) < plots.index(ax) for o in twins[ax])]
    parts = [p for p in (_describe_axes_or_labels(ax, twins[ax]) for ax in main) if p]
    title = figure._suptitle.get_text() if getattr(figure, "_suptitle", None) else ""
    if not parts:
        text = t("Chart: {title}.", title=title) if title else t("Empty chart.")
    else:
        text = parts[0] if len(parts) == 1 else _spaced(
            [t("Plot {number}: {description}", number=i, description=p) for i, p in enumerate(parts, 1)])
        text = _spaced([_sentences([title]), text]) if title else text
    return reader_text(text)


def _spaced(sentences: list[str]) -> str:
    """Sentences one after another: a space after each but one that ends in a full-width stop (Chinese)."""
    text = ""
    for sentence in sentences:
        text += sentence if not text or text.endswith(("。", "；", "：")) else " " + sentence
    return text


def _sentences(parts) -> str:
    """Each non-empty part ended with a full stop, as one text: "A. B." (in Chinese "A。B。")."""
    return _spaced([t("{sentence}.", sentence=p) for p in parts if p])


def _clauses(parts) -> str:
    """Clauses of one sentence joined by semicolons: "A; B" (in Chinese "A；B")."""
    return t("; ").join(p for p in parts if p)


def _describe_axes_or_labels(ax, twins: list) -> str:
    """``_describe_axes``; artists it cannot read (a kind of plot it does not know) leave the
    title and axis labels, which every chart of the report has, rather than no chart at all."""
    try:
        return _describe_axes(ax, twins)
    except (TypeError, ValueError, IndexError, AttributeError):
        title = t("Chart: {title}", title=ax.get_title()) if ax.get_title() else t("Chart")
        return _sentences([title, _axis_labels(ax, twins)])


def _axis_labels(ax, twins: list) -> str:
    told = [t("x axis {label}", label=ax.get_xlabel()) if ax.get_xlabel() else "",
            t("y axis {label}", label=ax.get_ylabel()) if ax.get_ylabel() else "",
            *(t("right axis {label}", label=twin.get_ylabel()) for twin in twins if twin.get_ylabel())]
    return _clauses(told)


def _describe_axes(ax, twins: list) -> str:
    axes = [ax, *twins]
    bars = [(a, c) for a in axes for c in a.containers if isinstance(c, BarContainer) and len(c.patches)]
    errorbars = [(a, c) for a in axes for c in a.containers if isinstance(c, ErrorbarContainer)]
    in_errorbars = {id(line) for _, c in errorbars for line in [c.lines[0], *c.lines[1]] if line is not None}
    drawn = [(a, line) for a in axes for line in a.get_lines()
             if id(line) not in in_errorbars and _is_data_line(a, line)]
    lines = [(a, line) for a, line in drawn if _has_stroke(line)]
    labelled = [(a, line) for a, line in lines if not line.get_label().startswith("_")]
    lines = labelled or lines
    markers = sum(len(line.get_xdata()) for _, line in drawn if not _has_stroke(line))
    meshes = [c for c in ax.collections if isinstance(c, QuadMesh)] + list(ax.images)
    points = markers + sum(len(c.get_offsets()) for a in axes for c in a.collections if isinstance(c, PathCollection))
    shaded = any(isinstance(c, PolyCollection) for a in axes for c in a.collections)
    title = ax.get_title() or next((twin.get_title() for twin in twins if twin.get_title()), "")
    if meshes:
        return _sentences([t("Heatmap: {title}", title=title) if title else t("Heatmap"),
                           _describe_heatmap(ax, meshes[0])])
    kinds = (["horizontal bar" if bars[0][1].orientation == "horizontal" else "bar"] if bars else []) + (
        ["line"] if lines else []) + (["dot"] if errorbars and not bars and not lines else []) + (
        ["scatter"] if points and not (bars or lines or errorbars) else [])
    if not kinds:
        return ""
    kind = _kind_name(tuple(kinds))
    sentences = [t("{kind}: {title}", kind=kind, title=title) if title else kind, _axis_labels(ax, twins)]
    if bars:
        sentences.append(_describe_bars(bars))
    if lines:
        sentences.append(_describe_lines(lines))
    if errorbars:
        sentences.append(_describe_errorbars(errorbars))
    if points and (bars or lines or errorbars):
        sentences.append(t("{count} marked points", count=points) if points > 1 else t("1 marked point"))
    elif points:
        sentences.append(t("{count} points", count=points) if points > 1 else t("1 point"))
    if shaded:
        sentences.append(t("shaded bands show intervals"))
    return _sentences(sentences)


def _kind_name(kinds: tuple[str, ...]) -> str:
    """The kind of a plot for readers: ("bar", "line") -> "Bar and line chart"."""
    names = {("bar",): t("Bar chart"), ("horizontal bar",): t("Horizontal bar chart"), ("line",): t("Line chart"),
             ("bar", "line"): t("Bar and line chart"), ("horizontal bar", "line"): t("Horizontal bar and line chart"),
             ("dot",): t("Dot chart"), ("scatter",): t("Scatter chart")}
    return names[kinds]


def _is_data_line(ax, line) -> bool:
    """A line drawn in data coordinates (not axhline / axvline, which span the axes)."""
    return line.get_visible() and line.get_transform() == ax.transData and len(line.get_xdata()) >= 1


def _has_stroke(line) -> bool:
    """A line, not markers alone, through two points or more."""
    return line.get_linestyle() not in ("None", "none", "", " ") and len(line.get_xdata()) >= 2


def _name(artist) -> str:
    label = artist.get_label() or ""
    return "" if label.startswith("_") else label


def _is_categorical(axis) -> bool:
    """Ticks that name categories (strings, quarters, rows) rather than mark numbers: string data,
    or ticks placed one by one (``set_xticks(positions, labels)``)."""
    return (isinstance(axis.get_major_formatter(), (StrCategoryFormatter, mticker.FixedFormatter))
            or isinstance(axis.get_major_locator(), mticker.FixedLocator))


def _is_date(axis) -> bool:
    return isinstance(axis.get_major_formatter(), (mdates.AutoDateFormatter, mdates.ConciseDateFormatter,
                                                   mdates.DateFormatter))


def _position_text(axis, value: float, left: float | None = None, right: float | None = None) -> str:
    """Where on an axis: the category ticked nearest (within half a slot), the date, the bin
    ``left to right`` of a bar on a number axis, or the number."""
    if _is_categorical(axis):
        ticks = np.asarray(axis.get_majorticklocs(), dtype=float)
        labels = [tick.get_text() for tick in axis.get_majorticklabels()]
        if len(ticks) and len(ticks) == len(labels):
            nearest = int(np.argmin(np.abs(ticks - value)))
            slot = np.min(np.diff(np.sort(ticks))) if len(ticks) > 1 else 1.0
            if abs(ticks[nearest] - value) <= 0.5 * slot and labels[nearest]:
                return labels[nearest]
    if _is_date(axis):
        return fmt_date(mdates.num2date(value).date())
    if left is not None and right is not None:
        return t("{low} to {high}", low=_short_number(left), high=_short_number(right))
    return _short_number(value)


def _value_text(axis, value: float) -> str:
    """A value on an axis: with a % sign when the axis is in percent, else a short number."""
    label = axis.get_label().get_text()
    if "%" in label or isinstance(axis.get_major_formatter(), mticker.PercentFormatter):
        return f"{value:,.1f}%"
    return _short_number(value)


def _short_number(value: float) -> str:
    """Enough digits to read, never an exponent: 18,825,102; 29.3; 2.46; 0.018."""
    value = float(value)
    if not np.isfinite(value):
        return "–"
    size = abs(value)
    if size >= 100 or size == 0:
        return f"{value:,.0f}"
    decimals = 1 if size >= 10 else 2 if size >= 0.1 else 3 if size >= 0.01 else 4
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return t("about 0") if text in ("0", "-0") else text


def _extremes(entries: list[tuple[float, str]], value_axis) -> str:
    """``highest A (v), lowest B (w)`` of (value, where) pairs."""
    high, low = max(entries, key=lambda e: e[0]), min(entries, key=lambda e: e[0])

    def told(entry):
        value = _value_text(value_axis, entry[0])
        return t("{name} ({value})", name=entry[1], value=value) if entry[1] else value

    return told(high) if len(entries) == 1 else t("highest {high}, lowest {low}", high=told(high), low=told(low))


def _describe_bars(bars) -> str:
    ax = bars[0][0]
    horizontal = bars[0][1].orientation == "horizontal"
    category_axis, value_axis = (ax.yaxis, ax.xaxis) if horizontal else (ax.xaxis, ax.yaxis)
    names = [_name(c) for _, c in bars]
    if not all(names):
        legend = ax.get_legend()
        texts = [entry.get_text() for entry in legend.get_texts()] if legend else []
        names = texts if len(texts) == len(bars) else []
    entries = []
    for i, (_, container) in enumerate(bars):
        values = container.datavalues if container.datavalues is not None else [
            p.get_width() if horizontal else p.get_height() for p in container.patches]
        for patch, value in zip(container.patches, values):
            start, size = (patch.get_y(), patch.get_height()) if horizontal else (patch.get_x(), patch.get_width())
            where = _position_text(category_axis, start + size / 2, start, start + size)
            series = names[i] if names and len(bars) > 1 else ""
            entries.append((float(value), t("{series}, {category}", series=series, category=where) if series else where))
    entries = [e for e in entries if np.isfinite(e[0])]
    if not entries:
        return t("no bars with values")
    count = t("{count} bars", count=len(entries)) if len(entries) != 1 else t("1 bar")
    if len(bars) > 1 and names:
        count = t("{bars} in {series} series ({names})", bars=count, series=len(bars), names=_name_list(names))
    elif len(bars) > 1:
        count = t("{bars} in {series} series", bars=count, series=len(bars))
    return _clauses([count, _extremes(entries, value_axis)])


def _describe_lines(lines) -> str:
    names = [_name(line) for _, line in lines]
    count = t("{count} lines", count=len(lines)) if len(lines) != 1 else t("1 line")
    if any(names):
        count = t("{counted} ({names})", counted=count, names=_name_list([n for n in names if n]))
    summaries = []
    for (ax, line), name in list(zip(lines, names))[:MAX_SUMMARISED_LINES]:
        xy = np.asarray(line.get_xydata(), dtype=float)  # categories and dates converted to axis units
        xy = xy[np.isfinite(xy).all(axis=1)]
        if not len(xy):
            continue
        (x0, y0), (x1, y1) = xy[0], xy[-1]
        values = {"name": name, "start": _value_text(ax.yaxis, y0), "first": _position_text(ax.xaxis, x0),
                  "end": _value_text(ax.yaxis, y1), "last": _position_text(ax.xaxis, x1)}
        peak = int(np.argmax(xy[:, 1]))
        if xy[peak, 1] > max(y0, y1):
            values.update(peak=_value_text(ax.yaxis, xy[peak, 1]), at=_position_text(ax.xaxis, xy[peak, 0]))
            text = (t("{name} from {start} at {first} to {end} at {last}, peak {peak} at {at}", **values) if name
                    else t("from {start} at {first} to {end} at {last}, peak {peak} at {at}", **values))
        else:
            text = (t("{name} from {start} at {first} to {end} at {last}", **values) if name
                    else t("from {start} at {first} to {end} at {last}", **values))
        summaries.append(text)
    return _clauses([count, *summaries])


def _describe_errorbars(errorbars) -> str:
    """Estimates with intervals (``ax.errorbar``): how many, and the highest and lowest."""
    ax = errorbars[0][0]
    across = errorbars[0][1].has_xerr and not errorbars[0][1].has_yerr  # values along x, one row per estimate
    category_axis, value_axis = (ax.yaxis, ax.xaxis) if across else (ax.xaxis, ax.yaxis)
    entries, names = [], [_name(c) for _, c in errorbars]
    for (_, container), name in zip(errorbars, names):
        xy = np.asarray(container.lines[0].get_xydata(), dtype=float)
        for x, y in xy[np.isfinite(xy).all(axis=1)]:
            value, where = (x, y) if across else (y, x)
            entries.append((float(value), _position_text(category_axis, where) if len(errorbars) == 1 or not name
                            else t("{series}, {category}", series=name, category=_position_text(category_axis, where))))
    if not entries:
        return ""
    count = (t("{count} estimates with intervals", count=len(entries)) if len(entries) != 1
             else t("1 estimate with intervals"))
    if any(names):
        count = t("{counted} ({names})", counted=count, names=_name_list([n for n in names if n]))
    return _clauses([count, _extremes(entries, value_axis)])


def _describe_heatmap(ax, mesh) -> str:
    values = np.ma.masked_invalid(np.ma.asarray(mesh.get_array(), dtype=float))
    shape = values.shape if values.ndim == 2 else (len(ax.get_yticks()), len(ax.get_xticks()))
    rows = [tick.get_text() for tick in ax.get_yticklabels() if tick.get_text()]
    columns = [tick.get_text() for tick in ax.get_xticklabels() if tick.get_text()]

    def side(label: str, n: int, names: list[str]) -> str:
        label = label or t("rows")
        if len(names) >= 2:
            return t("{count} {label}, {first} to {last}", count=n, label=label, first=names[0], last=names[-1])
        if names:
            return t("{count} {label}, {name}", count=n, label=label, name=names[0])
        return t("{count} {label}", count=n, label=label)

    sides = {"rows": side(ax.get_ylabel(), shape[0], rows), "columns": side(ax.get_xlabel(), shape[-1], columns)}
    if not values.count():
        return t("Rows: {rows}; columns: {columns}", **sides)
    colorbar = next((a for a in ax.figure.axes if a.get_label() == "<colorbar>"), None)
    unit = colorbar.get_ylabel() if colorbar is not None else ""
    low, high = float(values.min()), float(values.max())
    told = (lambda v: f"{v:,.1f}%") if "%" in unit else _short_number
    if unit:
        return t("Rows: {rows}; columns: {columns}; values ({unit}) from {low} to {high}", unit=unit, low=told(low),
                 high=told(high), **sides)
    return t("Rows: {rows}; columns: {columns}; values from {low} to {high}", low=told(low), high=told(high), **sides)


def _name_list(names: list[str]) -> str:
    shown = t(", ").join(names[:MAX_NAMED_SERIES])
    if len(names) > MAX_NAMED_SERIES:
        return t("{names} and {more} more", names=shown, more=len(names) - MAX_NAMED_SERIES)
    return shown
