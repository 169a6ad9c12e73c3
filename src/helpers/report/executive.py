"""The executive page at the top of the index: what a director reads in two minutes.

Four blocks, each built by rules from the chapters' artifacts (nothing is written by hand):

1. A KPI scorecard (``kpi_overview.csv``): value, change on the previous quarter and on a year
   ago with an arrow and a sign, the target, a status that reads without colour ("✓ met",
   "✗ not met", "– no target") and an inline SVG sparkline of the last quarters.
2. The main stories of the quarter (:data:`STORY_RULES`): each joins evidence across chapters
   into one sentence of what moved, where, the likely cause found in the data and who the cause
   points to. A rule whose evidence is missing (a chapter not run, a source absent) tells nothing.
3. The top actions with owner and deadline (``actions.csv``).
4. What changed since last quarter: RFM segment sizes (``rfm_summary.csv``) and last quarter's
   action lists checked against this quarter (``closed_loop_lists.csv``), when those exist.

Every function but the two readers at the end (:func:`read_evidence`, :func:`run_kpi_trend`)
is pure: frames in, frames or HTML out.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.chapters.complaints import complaints_by
from helpers.data.prepare import load_prepared
from helpers.facts.kpis import (
    KPIS,
    DataSpans,
    format_kpi_change,
    format_kpi_target,
    format_kpi_value,
    kpi_basis,
    quarter_kpis,
)
from helpers.paths import RunLayout
from helpers.quarters import Quarter
from helpers.report import export
from helpers.report.fmt import fmt_date, fmt_int, fmt_money, fmt_num, fmt_pct, fmt_quarter
from helpers.report.i18n import t
from helpers.validation import require_columns

__all__ = [
    "Evidence", "Story", "STORY_RULES", "EXECUTIVE_CSS",
    "kpi_trend", "change_cell", "status_cell", "scorecard", "sparkline_points", "sparkline_svg", "scorecard_html",
    "region_nps_story", "kpi_change_story", "at_risk_story", "complaint_product_story", "main_stories",
    "stories_html", "top_actions_table", "top_actions_html", "segment_changes", "changes_html", "executive_html",
    "read_evidence", "run_kpi_trend",
]

# Styles of the executive blocks only; the page's own styles come with every page.
EXECUTIVE_CSS = """
<style>
.ci-exec .ci-met{color:#2e7d32;font-weight:bold}.ci-exec .ci-missed{color:#c62828;font-weight:bold}
.ci-exec .ci-none{color:#6b6b6b}.ci-exec .ci-good{color:#2e7d32}.ci-exec .ci-bad{color:#c62828}
.ci-exec .ci-spark{vertical-align:middle}.ci-exec td.ci-date{white-space:nowrap}
.ci-stories li{margin:6px 0 10px;line-height:1.45}.ci-stories .ci-note{margin:2px 0 0}
</style>
"""

UP, DOWN = "▲", "▼"


# --- the evidence --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    """What the executive page may draw on; ``None`` where a chapter did not run or a source is absent.

    Artifacts (as the chapters write them): ``kpis`` kpi_overview.csv (01), ``satisfaction_by_region``
    (02), ``complaint_products`` (02), ``rfm_summary`` (04), ``at_risk`` at_risk_high_value.csv (05),
    ``actions`` actions.csv (05), ``closed_loop_lists`` (05). Prepared tables: ``tickets`` and
    ``customers`` (customer_id, region).
    """

    kpis: pd.DataFrame | None = None
    satisfaction_by_region: pd.DataFrame | None = None
    complaint_products: pd.DataFrame | None = None
    rfm_summary: pd.DataFrame | None = None
    at_risk: pd.DataFrame | None = None
    actions: pd.DataFrame | None = None
    closed_loop_lists: pd.DataFrame | None = None
    tickets: pd.DataFrame | None = None
    customers: pd.DataFrame | None = None


@dataclass(frozen=True)
class Story:
    """One main story: its sentence, the owner the cause points to, and the chapters behind it."""

    rule: str
    text: str
    owner: str
    chapters: tuple[str, ...] = field(default_factory=tuple)


def _has(frame: pd.DataFrame | None, columns: Sequence[str]) -> bool:
    """True when ``frame`` exists, has rows and every one of ``columns``."""
    return frame is not None and len(frame) > 0 and all(c in frame.columns for c in columns)


def _flag(values: pd.Series) -> pd.Series:
    """A True/False column as read back from a CSV (bool, "True"/"False" text or missing)."""
    return values.astype(str).str.strip().str.lower().eq("true")


def _text(value) -> str:
    """A cell as text, "" when missing."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _deadline(action: pd.Series) -> str:
    """An action's deadline for readers ("" when it has none): see :func:`_day`."""
    return _day(action["deadline"]) if "deadline" in action else ""


def _day(value) -> str:
    """A deadline cell for readers: a day (2027-01-16) as the report's language writes it, other
    text as written, "" when missing."""
    text = _text(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return fmt_date(text)
        except ValueError:  # not a day of the calendar: shown as written
            return text
    return text


# --- 1. the KPI scorecard ------------------------------------------------------------------------

def kpi_trend(orders: pd.DataFrame, surveys: pd.DataFrame | None, quarter: Quarter | str, churn_days: int,
              spans: DataSpans | None = None, quarters: int = 8) -> pd.DataFrame:
    """Every KPI of the ``quarters`` quarters up to and including ``quarter`` (``quarter_kpis``).

    Returns one row per quarter (index: "2026Q3" labels, oldest first) and one column per metric
    of ``KPIS``. With ``spans``, a quarter that the KPI's source covers only in part is NaN: a part
    of a quarter is not drawn beside whole ones.
    """
    if quarters < 2:
        raise ValueError(f"a trend needs at least 2 quarters, got {quarters}")
    rows, trailing = {}, Quarter.parse(quarter).trailing(quarters)
    basis = kpi_basis(orders, trailing)
    for q in trailing:
        values = quarter_kpis(orders, surveys, q, churn_days, spans, basis)
        if spans is not None:
            values.update({m: np.nan for m in KPIS if spans.coverage(m, q) != "full"})
        rows[str(q)] = values
    return pd.DataFrame.from_dict(rows, orient="index")[list(KPIS)]


def _shown_as_zero(change: float, unit: str) -> bool:
    """True when ``change`` rounds to zero as readers see it ("+0.0 pp"): no direction to show."""
    return not re.search(r"[1-9]", format_kpi_change(change, unit))


def change_cell(change: float, unit: str, not_compared: str = "") -> str:
    """A change for readers: "▲ +6.7%", "▼ -7.6 pts", "not compared" when the change was left
    out for a reason (``not_compared``), "–" when it is missing otherwise; a change that rounds
    to zero has neither arrow nor sign ("0.0 pp")."""
    if pd.isna(change):
        return t("not compared") if _text(not_compared).strip() else "–"
    text = format_kpi_change(change, unit)
    if _shown_as_zero(change, unit):
        return text.lstrip("+-")
    return f"{UP} {text}" if change > 0 else f"{DOWN} {text}"


def status_cell(target: float, met) -> tuple[str, str]:
    """(status text, CSS class): "✓ met" / "✗ not met" for a KPI with a target and a value,
    "– no target" without a target, "– no value" with a target but no value."""
    if pd.isna(target):
        return t("– no target"), "ci-none"
    word = str(met).strip().lower()
    if word == "true":
        return t("✓ met"), "ci-met"
    if word == "false":
        return t("✗ not met"), "ci-missed"
    return t("– no value"), "ci-none"


def _direction_class(change: float, metric: str) -> str:
    """"ci-good" / "ci-bad" for a change in / against the KPI's good direction, "" otherwise."""
    if pd.isna(change) or metric not in KPIS or _shown_as_zero(change, KPIS[metric].unit):
        return ""
    return "ci-good" if (change > 0) == KPIS[metric].higher_is_better else "ci-bad"


def scorecard(kpis: pd.DataFrame, currency: str) -> pd.DataFrame:
    """The scorecard rows of the KPI overview (kpi_overview.csv), formatted for readers.

    Columns: metric, KPI, This quarter, vs previous quarter, vs a year ago, Target, Status,
    status_class, qoq_class, yoy_class (the CSS classes; the text alone carries the meaning).
    """
    require_columns(kpis, ["metric", "label", "value", "unit", "qoq_change", "yoy_change", "target", "met"], "kpis")
    reasons = kpis["not_compared"] if "not_compared" in kpis else pd.Series("", index=kpis.index)
    partial = kpis["coverage"].eq("partial") if "coverage" in kpis else pd.Series(False, index=kpis.index)
    rows = []
    for (_, row), reason, part in zip(kpis.iterrows(), reasons, partial):
        status, status_class = status_cell(row["target"], row["met"])
        rows.append({
            "metric": row["metric"], "KPI": row["label"],
            "This quarter": (t("{value} (partial quarter)", value=format_kpi_value(row["value"], row["unit"], currency))
                             if part else format_kpi_value(row["value"], row["unit"], currency)),
            "vs previous quarter": change_cell(row["qoq_change"], row["unit"], reason),
            "vs a year ago": change_cell(row["yoy_change"], row["unit"], reason),
            "Target": format_kpi_target(row["target"], row["unit"], currency),
            "Status": status, "status_class": status_class,
            "qoq_class": _direction_class(row["qoq_change"], row["metric"]),
            "yoy_class": _direction_class(row["yoy_change"], row["metric"]),
        })
    return pd.DataFrame(rows)


def sparkline_points(values: Sequence[float], width: float = 120, height: float = 28,
                     pad: float = 3) -> list[list[tuple[float, float]]]:
    """The polyline(s) of a sparkline: one run of points per stretch of values without a gap.

    Value i of n sits at x = pad + i * (width - 2 pad) / (n - 1); y runs from height - pad (the
    smallest value) up to pad (the largest), linearly; when all values are equal they sit at mid
    height. Missing values (NaN) break the line. Coordinates are rounded to 0.1.
    """
    data = np.asarray(values, dtype=float)
    if data.ndim != 1 or len(data) < 2:
        raise ValueError(f"a sparkline needs a sequence of at least 2 values, got {len(data)}")
    if width <= 2 * pad or height <= 2 * pad:
        raise ValueError("width and height must exceed twice the padding")
    known = data[~np.isnan(data)]
    if known.size == 0:
        return []
    low, high = known.min(), known.max()
    step = (width - 2 * pad) / (len(data) - 1)
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for i, value in enumerate(data):
        if np.isnan(value):
            if current:
                runs.append(current)
            current = []
            continue
        share = 0.5 if high == low else (value - low) / (high - low)
        current.append((round(pad + i * step, 1), round(height - pad - share * (height - 2 * pad), 1)))
    if current:
        runs.append(current)
    return runs


def sparkline_svg(values: Sequence[float], description: str, width: float = 120, height: float = 28) -> str:
    """An inline SVG sparkline of ``values`` (see :func:`sparkline_points`) whose title and
    aria-label are ``description``; the last known value is marked with a dot. "–" when fewer than
    two values are known."""
    if int(np.sum(~np.isnan(np.asarray(values, dtype=float)))) < 2:
        return "–"
    runs = sparkline_points(values, width, height)
    lines = "".join(
        f"<polyline fill='none' stroke='#1f3a5f' stroke-width='1.5' points='{' '.join(f'{x},{y}' for x, y in run)}'/>"
        if len(run) > 1 else f"<circle cx='{run[0][0]}' cy='{run[0][1]}' r='1.5' fill='#1f3a5f'/>" for run in runs)
    x, y = runs[-1][-1]
    label = html.escape(description, quote=True)
    return (f"<svg class='ci-spark' width='{width:g}' height='{height:g}' viewBox='0 0 {width:g} {height:g}' "
            f"role='img' aria-label='{label}'><title>{label}</title>{lines}"
            f"<circle cx='{x}' cy='{y}' r='2.5' fill='#c26a00'/></svg>")


def _trend_cell(trend: pd.DataFrame | None, metric: str, label: str, unit: str, currency: str) -> str:
    if trend is None or metric not in trend.columns or len(trend) < 2:
        return "–"
    series = trend[metric].astype(float)
    shown = t(", ").join(t("{quarter} {value}", quarter=fmt_quarter(q), value=format_kpi_value(v, unit, currency))
                         for q, v in series.items() if not pd.isna(v))
    return sparkline_svg(series.to_numpy(), t("{kpi}, {first} to {last}: {values}", kpi=label,
                                              first=fmt_quarter(series.index[0]), last=fmt_quarter(series.index[-1]),
                                              values=shown))


def scorecard_html(kpis: pd.DataFrame, currency: str, quarter: Quarter | str | None = None,
                   trend: pd.DataFrame | None = None) -> str:
    """The scorecard as an HTML table, with a sparkline per KPI when ``trend`` (from :func:`kpi_trend`) is given."""
    esc = html.escape
    table = scorecard(kpis, currency)
    units = dict(zip(kpis["metric"], kpis["unit"]))
    rows = []
    for _, row in table.iterrows():
        spark = _trend_cell(trend, row["metric"], row["KPI"], units[row["metric"]], currency)
        rows.append(
            f"<tr><td>{esc(row['KPI'])}</td><td class='num'>{esc(row['This quarter'])}</td>"
            f"<td class='num {row['qoq_class']}'>{esc(row['vs previous quarter'])}</td>"
            f"<td class='num {row['yoy_class']}'>{esc(row['vs a year ago'])}</td>"
            f"<td class='num'>{esc(row['Target'])}</td><td class='{row['status_class']}'>{esc(row['Status'])}</td>"
            f"<td>{spark}</td></tr>")
    if quarter is not None:
        q = Quarter.parse(quarter)
        caption = t("KPIs, {quarter}, against {previous} and {year_ago}", quarter=fmt_quarter(q),
                    previous=fmt_quarter(q.previous()), year_ago=fmt_quarter(q.year_ago()))
    else:
        caption = t("KPIs this quarter")
    span = t("last {count} quarters", count=fmt_int(len(trend))) if trend is not None else t("trend")
    reasons = ([r for r in dict.fromkeys(kpis["not_compared"].map(_text)) if r.strip()]
               if "not_compared" in kpis else [])
    if reasons:
        note = t("▲ / ▼: up / down on the previous quarter and on the same quarter a year ago; counts and money change "
                 "in %, rates in percentage points (pp), NPS in points (pts). Green is a move the right way, red the "
                 "wrong way. The trend line ends at this quarter (dot); a quarter the data cover only in part is left "
                 "out. Not compared: {reasons}.", reasons=t("; ").join(reasons))
    else:
        note = t("▲ / ▼: up / down on the previous quarter and on the same quarter a year ago; counts and money change "
                 "in %, rates in percentage points (pp), NPS in points (pts). Green is a move the right way, red the "
                 "wrong way. The trend line ends at this quarter (dot); a quarter the data cover only in part is left "
                 "out.")
    head = "".join(f"<th{klass}>{esc(text)}</th>" for klass, text in (
        ("", t("KPI")), (" class='num'", t("This quarter")), (" class='num'", t("vs previous quarter")),
        (" class='num'", t("vs a year ago")), (" class='num'", t("Target")), ("", t("Status")), ("", span)))
    return (f"<table class='ci-table ci-scorecard'><caption>{esc(caption)}</caption><thead><tr>{head}"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table><p class='ci-note'>{esc(note)}</p>")


# --- 2. the main stories ---------------------------------------------------------------------------

def _complaints(tickets: pd.DataFrame, quarter: Quarter, by: str, known_only: bool = True) -> pd.Series:
    """Complaints of ``quarter`` per value of ``by`` (chapter 02's ``complaints_by``, so that a
    complaint is counted as there); with ``known_only`` the "Unknown" group is left out."""
    if tickets.empty:
        return pd.Series(dtype="int64")
    counts = complaints_by(tickets, quarter, by).set_index(by)["complaints"].astype("int64")
    return counts.drop("Unknown", errors="ignore") if known_only else counts


def _actions_about(actions: pd.DataFrame | None, words: Sequence[str], kpi_pattern: str | None = None) -> pd.DataFrame:
    """The actions (by priority) whose text names every one of ``words`` as a whole word ("East
    China" is not in "Northeast China", "P1" not in "P11") and, with ``kpi_pattern``, whose
    tracking KPI matches it (case-insensitive). A frame with an ``owner`` column in any case."""
    if not _has(actions, ["owner"]):
        return pd.DataFrame({"owner": pd.Series(dtype=object)})
    text_columns = [c for c in ("problem", "description", "likely_cause", "action", "tracking_kpi") if c in actions]
    text = actions[text_columns].fillna("").astype(str).agg(" ".join, axis=1)
    mask = pd.Series(True, index=actions.index)
    for word in words:
        mask &= text.str.contains(rf"(?<!\w){re.escape(str(word))}(?!\w)", case=False, regex=True)
    if kpi_pattern is not None:
        tracking = actions["tracking_kpi"] if "tracking_kpi" in actions else pd.Series("", index=actions.index)
        mask &= tracking.fillna("").astype(str).str.contains(kpi_pattern, case=False, regex=True)
    chosen = actions.loc[mask]
    return chosen.sort_values("priority", kind="stable") if "priority" in chosen else chosen


NPS_ACTION = r"\bNPS\b|Net Promoter"


def region_nps_story(evidence: Evidence, quarter: Quarter | str) -> Story | None:
    """The region whose NPS fell most (satisfaction_by_region.csv), joined with its complaints.

    Rule: among regions not suppressed, the one with the most negative ``nps_change``; its
    customers' complaints (prepared tickets joined to customers.region) by type this quarter and
    the previous one; the cause is the type that rose most (in count), and it points to the
    department that handled most of the region's complaints this quarter. When the report's NPS
    actions that name the region go to other owners, the sentence says so. No story without a
    fall, without the tickets and customers, or without a complaint type that rose.
    """
    regions, tickets, customers = evidence.satisfaction_by_region, evidence.tickets, evidence.customers
    if not (_has(regions, ["region", "nps", "nps_change"]) and _has(customers, ["customer_id", "region"])
            and _has(tickets, ["ticket_id", "customer_id", "created_at", "ticket_type", "complaint_type", "department"])):
        return None
    quarter = Quarter.parse(quarter)
    shown = regions.loc[~_flag(regions["suppressed"])] if "suppressed" in regions else regions
    shown = shown.loc[shown["nps_change"].notna() & (shown["nps_change"] < 0)]
    if shown.empty:
        return None
    fall = shown.sort_values(["nps_change", "region"]).iloc[0]
    region = str(fall["region"])
    members = customers.loc[customers["region"].astype(str) == region, "customer_id"].astype(str)
    own = tickets.loc[tickets["customer_id"].astype(str).isin(set(members))]
    now, before = _complaints(own, quarter, "complaint_type"), _complaints(own, quarter.previous(), "complaint_type")
    both = pd.DataFrame({"now": now, "before": before}).fillna(0).astype("int64")
    both["rise"] = both["now"] - both["before"]
    both = both.loc[both["rise"] > 0]
    departments = _complaints(own, quarter, "department")
    if both.empty or departments.empty:
        return None
    both = both.reset_index(names="type").sort_values(["rise", "now", "type"], ascending=[False, False, True])
    rising = both.iloc[0]
    departments = departments.reset_index(name="n").sort_values(["n", "department"], ascending=[False, True])
    department, handled = str(departments.iloc[0]["department"]), int(departments.iloc[0]["n"])
    total = int(_complaints(own, quarter, "department", known_only=False).sum())
    owners = list(dict.fromkeys(_actions_about(evidence.actions, [region], NPS_ACTION)["owner"].dropna().astype(str)))
    values = {"region": region, "fall": fmt_num(-fall["nps_change"]), "nps": fmt_num(fall["nps"]),
              "type": rising["type"], "before": fmt_int(rising["before"]), "now": fmt_int(rising["now"]),
              "department": department, "handled": fmt_int(handled), "total": fmt_int(total)}
    elsewhere = bool(owners) and department.lower() not in {o.lower() for o in owners}
    if "nps_previous" in fall and pd.notna(fall["nps_previous"]):
        values.update(previous=fmt_num(fall["nps_previous"]), previous_quarter=fmt_quarter(quarter.previous()))
        if elsewhere:
            text = t("NPS in {region} fell {fall} points to {nps} (from {previous} in {previous_quarter}), while its "
                     "{type} complaints went from {before} to {now}; {department} handled {handled} of its {total} "
                     "complaints this quarter, so the cause points to {department}, yet the report's NPS actions for "
                     "{region} go to {owners}.", owners=t(", ").join(owners), **values)
        else:
            text = t("NPS in {region} fell {fall} points to {nps} (from {previous} in {previous_quarter}), while its "
                     "{type} complaints went from {before} to {now}; {department} handled {handled} of its {total} "
                     "complaints this quarter, so the cause points to {department}.", **values)
    elif elsewhere:
        text = t("NPS in {region} fell {fall} points to {nps}, while its {type} complaints went from {before} to "
                 "{now}; {department} handled {handled} of its {total} complaints this quarter, so the cause points "
                 "to {department}, yet the report's NPS actions for {region} go to {owners}.",
                 owners=t(", ").join(owners), **values)
    else:
        text = t("NPS in {region} fell {fall} points to {nps}, while its {type} complaints went from {before} to "
                 "{now}; {department} handled {handled} of its {total} complaints this quarter, so the cause points "
                 "to {department}.", **values)
    return Story("region_nps", text, department, ("02_needs", "05_crm_recommendations") if owners else ("02_needs",))


def _standardised(row: pd.Series) -> float:
    """|QoQ change| over the half-width of its interval: how far the change stands out of noise."""
    half = (row.get("change_high", np.nan) - row.get("change_low", np.nan)) / 2
    return abs(row["qoq_change"]) / half if pd.notna(half) and half > 0 else 0.0


def kpi_change_story(evidence: Evidence, currency: str) -> Story | None:
    """The KPI with the largest adverse change on the previous quarter, with its cause from actions.csv.

    Rule: KPIs whose QoQ change runs against their good direction (``KPIS``), compared (a value
    for ``qoq_change``); those beyond chance (``significant``) come first, otherwise only those
    that miss their target are told (as "within chance variation"). Among them the largest
    change relative to its interval (|change| / half its width). Cause and owner: the first
    action (by priority) tracking that KPI. No story without such a KPI or such an action.
    """
    kpis, actions = evidence.kpis, evidence.actions
    if not (_has(kpis, ["metric", "label", "value", "unit", "qoq_change", "target", "met"])
            and _has(actions, ["owner", "tracking_kpi", "likely_cause"])):
        return None
    known = kpis.loc[kpis["metric"].isin(list(KPIS)) & kpis["qoq_change"].notna()].copy()
    if known.empty:
        return None
    good_up = known["metric"].map(lambda m: KPIS[m].higher_is_better)
    known = known.loc[(known["qoq_change"] > 0) != good_up]
    known = known.loc[known["qoq_change"] != 0]
    significant = _flag(known["significant"]) if "significant" in known else pd.Series(False, index=known.index)
    missed = known["target"].notna() & known["met"].astype(str).str.strip().str.lower().eq("false")
    candidates = known.loc[significant] if significant.any() else known.loc[missed]
    if candidates.empty:
        return None
    scored = candidates.assign(score=candidates.apply(_standardised, axis=1)).sort_values(
        ["score", "metric"], ascending=[False, True])
    worst = scored.iloc[0]
    tracked = actions.loc[actions["tracking_kpi"].astype(str) == str(worst["label"])]
    tracked = tracked.sort_values("priority", kind="stable") if "priority" in tracked else tracked
    if tracked.empty or not _text(tracked.iloc[0]["likely_cause"]).strip():
        return None  # no cause named: the story would be half told
    action = tracked.iloc[0]
    unit = worst["unit"]
    size = format_kpi_change(abs(worst["qoq_change"]), unit).lstrip("+")
    size = size.replace(" pts", " points")
    values = {"kpi": worst["label"], "size": size, "value": format_kpi_value(worst["value"], unit, currency),
              "chance": t("beyond chance variation") if bool(significant.get(worst.name, False))
              else t("within chance variation"),
              "cause": _text(action["likely_cause"]), "owner": action["owner"], "deadline": _deadline(action)}
    rose, due = worst["qoq_change"] > 0, bool(values["deadline"])
    if not pd.isna(worst["target"]):
        values["target"] = format_kpi_target(worst["target"], unit, currency)
        if rose and due:
            text = t("{kpi} rose {size} to {value} against a target of {target} ({chance}); likely cause: {cause}; "
                     "owner: {owner}, by {deadline}.", **values)
        elif rose:
            text = t("{kpi} rose {size} to {value} against a target of {target} ({chance}); likely cause: {cause}; "
                     "owner: {owner}.", **values)
        elif due:
            text = t("{kpi} fell {size} to {value} against a target of {target} ({chance}); likely cause: {cause}; "
                     "owner: {owner}, by {deadline}.", **values)
        else:
            text = t("{kpi} fell {size} to {value} against a target of {target} ({chance}); likely cause: {cause}; "
                     "owner: {owner}.", **values)
    elif rose and due:
        text = t("{kpi} rose {size} to {value} ({chance}); likely cause: {cause}; owner: {owner}, by {deadline}.",
                 **values)
    elif rose:
        text = t("{kpi} rose {size} to {value} ({chance}); likely cause: {cause}; owner: {owner}.", **values)
    elif due:
        text = t("{kpi} fell {size} to {value} ({chance}); likely cause: {cause}; owner: {owner}, by {deadline}.",
                 **values)
    else:
        text = t("{kpi} fell {size} to {value} ({chance}); likely cause: {cause}; owner: {owner}.", **values)
    return Story("kpi_change", text, str(action["owner"]), ("01_overview", "05_crm_recommendations"))


def reason_words() -> dict[str, str]:
    """Reasons of chapter 05's at-risk list in words, in the report's language; the model-score
    codes (``MODEL_CODES``) are how the list is drawn, so they are no cause."""
    return {
        "INACTIVE_60D": t("no purchase for 60 days or more"),
        "COMPLAINT_90D": t("a complaint in the last 90 days"),
        "DETRACTOR": t("a last NPS answer of 6 or less"),
        "LOW_CSAT": t("a last satisfaction answer of 1 or 2"),
        "LOW_P_ALIVE": t("a probability of still being a customer below 50%"),
    }


MODEL_CODES = ("MODEL_SCORE_HIGH", "MODEL_SCORE_ELEVATED")


def at_risk_story(evidence: Evidence, currency: str) -> Story | None:
    """The high-value customers at risk (at_risk_high_value.csv): how many, their 12-month CLV, the
    region most of them are in (customers.region), the most common reason and the owner of the
    action on them (actions.csv, rule ``high_value_at_risk``). No story without the list, a
    reason beyond the model score, or that action."""
    at_risk, actions = evidence.at_risk, evidence.actions
    if not (_has(at_risk, ["customer_id", "clv", "reason_codes"]) and _has(actions, ["owner", "rule"])):
        return None
    owner_rows = actions.loc[actions["rule"].astype(str) == "high_value_at_risk"]
    codes = at_risk["reason_codes"].fillna("").astype(str).str.split(";").explode().str.strip()
    codes = codes.loc[codes.ne("") & ~codes.isin(MODEL_CODES)]
    if owner_rows.empty or codes.empty:
        return None
    counts = codes.value_counts()
    counts = counts.sort_index().sort_values(ascending=False, kind="stable")
    code, n_code = str(counts.index[0]), int(counts.iloc[0])
    reason = reason_words().get(code, code.replace("_", " ").lower())
    n = int(at_risk["customer_id"].nunique())
    top = None
    if _has(evidence.customers, ["customer_id", "region"]):
        regions = at_risk["customer_id"].astype(str).map(
            evidence.customers.drop_duplicates("customer_id").assign(customer_id=lambda d: d["customer_id"].astype(str))
            .set_index("customer_id")["region"]).dropna().astype(str)
        if len(regions):
            top = regions.value_counts().sort_index().sort_values(ascending=False, kind="stable")
    action = owner_rows.sort_values("priority", kind="stable").iloc[0] if "priority" in owner_rows else owner_rows.iloc[0]
    values = {"count": fmt_int(n), "clv": fmt_money(at_risk["clv"].sum(), currency), "reason": reason,
              "with_reason": fmt_int(n_code), "owner": action["owner"], "deadline": _deadline(action)}
    text = _at_risk_sentence(n == 1, top is not None, bool(values["deadline"]), values if top is None else
                             {**values, "in_region": fmt_int(top.iloc[0]), "region": top.index[0]})
    return Story("at_risk", text, str(action["owner"]), ("03_behaviour", "04_value", "05_crm_recommendations"))


def _at_risk_sentence(one: bool, where: bool, due: bool, values: dict) -> str:
    """The at-risk story's sentence: one customer or more, with or without the region most of
    them are in, with or without the action's deadline."""
    if one:
        if where and due:
            return t("{count} high-value customer is at risk of churning, carrying {clv} of 12-month CLV ({in_region} "
                     "of them in {region}); the most common reason is {reason} ({with_reason} of {count}), and the "
                     "calls to keep them point to {owner} by {deadline}.", **values)
        if where:
            return t("{count} high-value customer is at risk of churning, carrying {clv} of 12-month CLV ({in_region} "
                     "of them in {region}); the most common reason is {reason} ({with_reason} of {count}), and the "
                     "calls to keep them point to {owner}.", **values)
        if due:
            return t("{count} high-value customer is at risk of churning, carrying {clv} of 12-month CLV; the most "
                     "common reason is {reason} ({with_reason} of {count}), and the calls to keep them point to "
                     "{owner} by {deadline}.", **values)
        return t("{count} high-value customer is at risk of churning, carrying {clv} of 12-month CLV; the most "
                 "common reason is {reason} ({with_reason} of {count}), and the calls to keep them point to "
                 "{owner}.", **values)
    if where and due:
        return t("{count} high-value customers are at risk of churning, carrying {clv} of 12-month CLV ({in_region} "
                 "of them in {region}); the most common reason is {reason} ({with_reason} of {count}), and the "
                 "calls to keep them point to {owner} by {deadline}.", **values)
    if where:
        return t("{count} high-value customers are at risk of churning, carrying {clv} of 12-month CLV ({in_region} "
                 "of them in {region}); the most common reason is {reason} ({with_reason} of {count}), and the "
                 "calls to keep them point to {owner}.", **values)
    if due:
        return t("{count} high-value customers are at risk of churning, carrying {clv} of 12-month CLV; the most "
                 "common reason is {reason} ({with_reason} of {count}), and the calls to keep them point to "
                 "{owner} by {deadline}.", **values)
    return t("{count} high-value customers are at risk of churning, carrying {clv} of 12-month CLV; the most "
             "common reason is {reason} ({with_reason} of {count}), and the calls to keep them point to "
             "{owner}.", **values)


def complaint_product_story(evidence: Evidence, quarter: Quarter | str) -> Story | None:
    """The product whose complaints exceed the benchmark most beyond chance (complaint_products.csv,
    ``significant``; largest complaints / expected), the complaint type most of its complaints this
    quarter had (prepared tickets) and the owner of the action that names it (actions.csv). No
    story without a significant product, its complaints by type, or that action."""
    products, tickets = evidence.complaint_products, evidence.tickets
    if not (_has(products, ["product_id", "product_name", "complaints", "orders", "expected_complaints",
                            "significant", "longest_run_months"])
            and _has(tickets, ["ticket_id", "customer_id", "created_at", "ticket_type", "complaint_type", "product_id"])):
        return None
    flagged = products.loc[_flag(products["significant"]) & (products["expected_complaints"] > 0)]
    if flagged.empty:
        return None
    flagged = flagged.assign(excess=flagged["complaints"] / flagged["expected_complaints"]).sort_values(
        ["excess", "complaints", "product_id"], ascending=[False, False, True])
    product = flagged.iloc[0]
    name, pid = str(product["product_name"]), str(product["product_id"])
    own = tickets.loc[tickets["product_id"].astype(str) == pid]
    types = _complaints(own, Quarter.parse(quarter), "complaint_type")
    owners = _actions_about(evidence.actions, [pid])
    if types.empty or owners.empty:
        return None
    types = types.sort_index().sort_values(ascending=False, kind="stable")
    action = owners.iloc[0]
    months = int(product["longest_run_months"])
    values = {"product": name, "complaints": fmt_int(product["complaints"]), "orders": fmt_int(product["orders"]),
              "expected": fmt_num(product["expected_complaints"]), "months": fmt_int(months), "type": types.index[0],
              "of_type": fmt_int(types.iloc[0]), "total": fmt_int(types.sum()), "owner": action["owner"],
              "deadline": _deadline(action)}
    if months == 1 and values["deadline"]:
        text = t("{product} drew {complaints} complaints on {orders} orders against {expected} expected at the "
                 "overall rate, above it {months} month running; most were {type} complaints ({of_type} of {total} "
                 "this quarter), which points to {owner} by {deadline}.", **values)
    elif months == 1:
        text = t("{product} drew {complaints} complaints on {orders} orders against {expected} expected at the "
                 "overall rate, above it {months} month running; most were {type} complaints ({of_type} of {total} "
                 "this quarter), which points to {owner}.", **values)
    elif values["deadline"]:
        text = t("{product} drew {complaints} complaints on {orders} orders against {expected} expected at the "
                 "overall rate, above it {months} months running; most were {type} complaints ({of_type} of {total} "
                 "this quarter), which points to {owner} by {deadline}.", **values)
    else:
        text = t("{product} drew {complaints} complaints on {orders} orders against {expected} expected at the "
                 "overall rate, above it {months} months running; most were {type} complaints ({of_type} of {total} "
                 "this quarter), which points to {owner}.", **values)
    return Story("complaint_product", text, str(action["owner"]), ("02_needs", "05_crm_recommendations"))


STORY_RULES: tuple[tuple[str, Callable[..., Story | None]], ...] = (
    ("kpi_change", kpi_change_story),  # the headline KPI first, then where and why
    ("region_nps", region_nps_story),
    ("at_risk", at_risk_story),
    ("complaint_product", complaint_product_story),
)
"""The story rules in the order they are told; each takes (evidence, quarter, currency) as it needs."""


def main_stories(evidence: Evidence, quarter: Quarter | str, currency: str, limit: int = 5) -> list[Story]:
    """The stories whose evidence is there, in :data:`STORY_RULES` order, at most ``limit``."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    arguments = {"region_nps": (quarter,), "kpi_change": (currency,), "at_risk": (currency,),
                 "complaint_product": (quarter,)}
    stories = [rule(evidence, *arguments[name]) for name, rule in STORY_RULES]
    return [s for s in stories if s is not None][:limit]


# Identifiers that may reach the page in other chapters' text (file names, rule names): shown as code.
_IDENTIFIER = re.compile(r"(?<![\w/.-])([A-Za-z][\w-]*\.(?:csv|json|yaml)|[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+)\b")


def inline_html(text: str) -> str:
    """``text`` escaped, with file and rule names (``at_risk_high_value.csv``) set as code."""
    return _IDENTIFIER.sub(r"<code>\1</code>", html.escape(_text(text)))


def stories_html(stories: list[Story], titles: dict[str, str], chapters: Sequence[str]) -> str:
    """The stories as a numbered list, each with links to the chapters behind it (those in ``chapters``)."""
    if not stories:
        none = t("No main story could be told: the chapters whose results the stories join did not run or found "
                 "nothing to tell.")
        return f"<p class='ci-note'>{html.escape(none)}</p>"
    items = []
    for story in stories:
        # The registry's chapter titles are catalog messages: read in the report's language.
        links = t(", ").join(f"<a href='{html.escape(c)}.html'>{html.escape(t(titles.get(c, c)))}</a>"
                             for c in story.chapters if c in chapters)
        evidence = t("Evidence: {links}", links=links) if links else ""
        evidence = f"<p class='ci-note'>{evidence}</p>" if links else ""
        items.append(f"<li>{inline_html(story.text)}{evidence}</li>")
    return f"<ol class='ci-stories'>{''.join(items)}</ol>"


# --- 3. the top actions ------------------------------------------------------------------------------

ACTION_COLUMNS = {"priority": "#", "problem": "Problem", "action": "Action", "owner": "Owner", "deadline": "Due"}


def top_actions_table(actions: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` actions of highest priority (1 first) with problem, action, owner and deadline."""
    require_columns(actions, list(ACTION_COLUMNS), "actions")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    top = actions.sort_values("priority", kind="stable").head(n)
    return top[list(ACTION_COLUMNS)].rename(columns=ACTION_COLUMNS).reset_index(drop=True)


def top_actions_html(actions: pd.DataFrame | None, n: int = 5, fallback: Sequence[str] = ()) -> str:
    """The top actions as a table; the ``fallback`` lines as a list when actions.csv lacks the
    columns; "" when there is neither."""
    heading = html.escape(t("Top actions"))
    if _has(actions, list(ACTION_COLUMNS)):
        table = top_actions_table(actions, n)
        headings = {"Problem": t("Problem"), "Action": t("Action"), "Owner": t("Owner"), "Due": t("Due")}
        head = "".join(f"<th{' class=num' if c == '#' else ''}>{html.escape(headings.get(c, c))}</th>"
                       for c in table.columns)
        body = "".join(
            "<tr>" + f"<td class='num'>{fmt_int(row['#'])}</td>"
            + "".join(f"<td>{inline_html(row[c])}</td>" for c in ("Problem", "Action", "Owner"))
            + f"<td class='ci-date'>{inline_html(_day(row['Due']))}</td></tr>"
            for _, row in table.iterrows())
        more = len(actions) - len(table)
        chapter = "<a href='05_crm_recommendations.html'>" + html.escape(t("CRM recommendations")) + "</a>"
        note = ("<p class='ci-note'>" + t("{count} more in the {chapter}.", count=fmt_int(more), chapter=chapter)
                + "</p>" if more > 0 else "")
        return (f"<h2>{heading}</h2><table class='ci-table'><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>{note}")
    if fallback:
        return f"<h2>{heading}</h2><ol>" + "".join(f"<li>{inline_html(a)}</li>" for a in fallback) + "</ol>"
    return ""


# --- 4. what changed since last quarter -----------------------------------------------------------------

def segment_changes(rfm_summary: pd.DataFrame) -> pd.DataFrame:
    """RFM segment sizes last quarter and now (rfm_summary.csv), in the summary's order.

    Columns: Segment, Last quarter, This quarter, Change (signed, formatted) and change (the number).
    """
    require_columns(rfm_summary, ["segment", "customers", "customers_previous"], "rfm_summary")
    change = rfm_summary["customers"] - rfm_summary["customers_previous"]
    return pd.DataFrame({
        "Segment": rfm_summary["segment"].astype(str).to_numpy(),
        "Last quarter": [fmt_int(v) for v in rfm_summary["customers_previous"]],
        "This quarter": [fmt_int(v) for v in rfm_summary["customers"]],
        "Change": [("+" if v > 0 else "") + fmt_int(v) for v in change],
        "change": change.to_numpy(),
    })


def list_names() -> dict[str, str]:
    """Chapter 05's lists by what they are, in the report's language."""
    return {"at_risk_high_value.csv": t("At-risk high-value customers"), "win_back.csv": t("Win-back list"),
            "onboarding.csv": t("New customers to onboard"), "cross_sell.csv": t("Cross-sell list")}


def changes_html(evidence: Evidence, quarter: Quarter | str | None = None) -> str:
    """RFM segment movement and last quarter's lists against this quarter; "" when nothing compares."""
    parts = []
    summary = evidence.rfm_summary
    if _has(summary, ["segment", "customers", "customers_previous"]):
        table = segment_changes(summary)
        moved = table.loc[table["change"] != 0].assign(size=lambda d: d["change"].abs()).sort_values(
            ["size", "Segment"], ascending=[False, True]).head(2)
        lead = ""
        if len(moved):
            # Segment names are the parameter file's, read in the report's language (helpers.report.catalog).
            moves = t("; ").join(t("{segment} {change} ({before} to {after})", segment=t(r["Segment"]),
                                   change=r["Change"], before=r["Last quarter"], after=r["This quarter"])
                                 for _, r in moved.iterrows())
            lead = "<p>" + html.escape(t("Largest moves in the RFM segments: {moves}.", moves=moves)) + "</p>"
        rows = "".join(f"<tr><td>{html.escape(t(r['Segment']))}</td><td class='num'>{html.escape(r['Last quarter'])}</td>"
                       f"<td class='num'>{html.escape(r['This quarter'])}</td><td class='num'>{html.escape(r['Change'])}"
                       f"</td></tr>" for _, r in table.iterrows())
        if quarter is not None:
            q = Quarter.parse(quarter)
            caption = t("Customers per RFM segment: end of {previous} and of {quarter}",
                        previous=fmt_quarter(q.previous()), quarter=fmt_quarter(q))
        else:
            caption = t("Customers per RFM segment")
        head = "".join(f"<th{klass}>{html.escape(text)}</th>" for klass, text in (
            ("", t("Segment")), (" class='num'", t("Last quarter")), (" class='num'", t("This quarter")),
            (" class='num'", t("Change"))))
        parts.append(f"{lead}<table class='ci-table'><caption>{html.escape(caption)}</caption>"
                     f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    lists = evidence.closed_loop_lists
    if _has(lists, ["list", "customers on it", "outcome", "customers with the outcome", "share"]):
        names = list_names()
        items = "".join(
            "<li>" + html.escape(t("{list}: {count} of {total} {outcome} ({share}).",
                                   list=names.get(str(r["list"]), str(r["list"])),
                                   count=fmt_int(r["customers with the outcome"]), total=fmt_int(r["customers on it"]),
                                   outcome=str(r["outcome"]), share=fmt_pct(r["share"]))) + "</li>"
            for _, r in lists.iterrows())
        intro = t("Last quarter's action lists, checked against this quarter:")
        parts.append(f"<p>{html.escape(intro, quote=False)}</p><ul>{items}</ul>")
    return "<h2>" + html.escape(t("What changed since last quarter")) + "</h2>" + "".join(parts) if parts else ""


# --- the page block -----------------------------------------------------------------------------------

def executive_html(evidence: Evidence, quarter: Quarter | str | None, currency: str, titles: dict[str, str],
                   chapters: Sequence[str], trend: pd.DataFrame | None = None, fallback_actions: Sequence[str] = (),
                   n_actions: int = 5) -> str:
    """The executive block: scorecard, main stories, top actions, what changed."""
    if _has(evidence.kpis, ["metric", "label", "value", "unit", "qoq_change", "yoy_change", "target", "met"]):
        card = scorecard_html(evidence.kpis, currency, quarter, trend)
    else:
        missing = t("Not available: the KPI table (chapter 01 did not produce it in this run).")
        card = f"<p class='ci-na'>{html.escape(missing)}</p>"
    if quarter is not None:
        stories = stories_html(main_stories(evidence, quarter, currency), titles, chapters)
    else:
        stories = "<p class='ci-note'>" + html.escape(t("No main story: the quarter is not known.")) + "</p>"
    glance, told = html.escape(t("The quarter at a glance")), html.escape(t("Main stories of the quarter"))
    return (f"<section class='ci-exec'><h2>{glance}</h2>{card}<h2>{told}</h2>"
            f"{stories}{top_actions_html(evidence.actions, n_actions, fallback_actions)}"
            f"{changes_html(evidence, quarter)}</section>")


# --- reading a run folder (the only functions here that touch files) -------------------------------------

ARTIFACTS = {"kpis": "kpi_overview.csv", "satisfaction_by_region": "satisfaction_by_region.csv",
             "complaint_products": "complaint_products.csv", "rfm_summary": "rfm_summary.csv",
             "at_risk": "at_risk_high_value.csv", "actions": "actions.csv",
             "closed_loop_lists": "closed_loop_lists.csv"}
TICKET_COLUMNS = ["ticket_id", "customer_id", "created_at", "ticket_type", "complaint_type", "department", "product_id"]


def _prepared(layout: RunLayout, name: str, columns: Sequence[str]) -> pd.DataFrame | None:
    """The columns of a prepared table that it has; None when the table is absent."""
    path = layout.prepared / f"{name}.parquet"
    if not path.exists():
        return None
    import pyarrow.parquet as pq

    present = [c for c in columns if c in pq.read_schema(path).names]
    return load_prepared(layout, name, present)


def _artifact(layout: RunLayout, name: str) -> Path | None:
    """Where the artifact ``name`` of a run is: with the shared ones, else with the analyst's."""
    folders = [layout.artifacts] + ([layout.analyst_artifacts] if hasattr(layout, "analyst_artifacts") else [])
    return next((folder / name for folder in folders if (folder / name).exists()), None)


def read_evidence(root: Path) -> Evidence:
    """The artifacts and prepared tables of the run folder ``root`` that the executive page uses."""
    layout = RunLayout(root)
    paths = {key: _artifact(layout, name) for key, name in ARTIFACTS.items()}
    frames = {key: None if path is None else export.read_csv(path, dtype={"customer_id": str})
              for key, path in paths.items()}
    return Evidence(**frames, tickets=_prepared(layout, "tickets", TICKET_COLUMNS),
                    customers=_prepared(layout, "customers", ["customer_id", "region"]))


ORDER_COLUMNS = ["order_id", "customer_id", "order_date", "amount", "net_amount", "is_purchase"]
SURVEY_COLUMNS = ["customer_id", "response_date", "nps_score", "csat_score"]


def run_kpi_trend(layout: RunLayout, params, log: dict) -> pd.DataFrame | None:
    """The scorecard's trend (:func:`kpi_trend`) from a run's prepared tables, over the quarters of
    chapter 01's growth trend (``trend_quarters``); None when chapter 01 wrote no KPI table (no
    scorecard to draw it in) or the orders are not prepared."""
    if _artifact(layout, ARTIFACTS["kpis"]) is None:
        return None
    orders = _prepared(layout, "orders", ORDER_COLUMNS)
    if orders is None:
        return None
    surveys = _prepared(layout, "surveys", SURVEY_COLUMNS) if "surveys" in log.get("available", []) else None
    spans = DataSpans(log.get("coverage", {}), params.new_customer_warmup_days)
    return kpi_trend(orders, surveys, params.period, params.churn_inactivity_days, spans,
                     params.chapter_options.overview.trend_quarters)
