"""Customer overview: who the customers are, who brings the revenue, how a two-way cross table
of customer groups looks, and how the customer base grows.

Definitions follow ``helpers.facts.kpis``: an active customer has at least one ``is_purchase`` line
in the quarter; an order is a distinct ``order_id`` with such lines; average order value is the
purchase amount divided by the number of orders; revenue is ``net_amount`` over every line
(returns subtract, cancelled and refunded lines count zero). Everything is vectorised
(groupby / merge), linear in order lines and customers.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from helpers.chapters.behaviour import dimension_name
from helpers.data.codes import is_in
from helpers.facts import end_of_day, purchase_lines
from helpers.models.forecast import GROWTH_METRICS
from helpers.quarters import Quarter
from helpers.report.fmt import fmt_change, fmt_int, fmt_money, fmt_pct, fmt_quarter
from helpers.report.i18n import t
from helpers.report.plotting import label, new_axes
from helpers.validation import require_columns

DIMENSIONS = ("region", "country", "industry", "customer_type", "company_size", "segment", "acquisition_channel")




def _words(name: str) -> str:
    """A customer attribute named for readers in a sentence, in the report's language ("acquisition channel")."""
    return dimension_name(name)


def _attribute(customers: pd.DataFrame, dimension: str) -> pd.Series:
    """customer_id -> attribute value as text, "Unknown" when missing."""
    require_columns(customers, ["customer_id", dimension], "customers")
    values = customers.drop_duplicates("customer_id").set_index("customer_id")[dimension]
    return values.astype("object").where(values.notna(), "Unknown").astype(str).replace("", "Unknown")


def customer_quarter_activity(orders: pd.DataFrame, period: Quarter | str) -> pd.DataFrame:
    """One row per active customer of the quarter: ``customer_id, orders, purchase_amount, revenue``.

    ``purchase_amount`` sums the valid purchase lines (for average order value); ``revenue`` sums
    ``net_amount`` over all the customer's lines in the quarter (returns subtract).
    """
    used = ["order_id", "customer_id", "order_date", "amount", "net_amount", "is_purchase"]
    require_columns(orders, used, "orders")
    period = Quarter.parse(period)
    lines = orders.loc[period.contains(orders["order_date"]), used]
    purchases = purchase_lines(lines)
    activity = purchases.groupby("customer_id").agg(
        orders=("order_id", "nunique"), purchase_amount=("amount", "sum"))
    activity["revenue"] = lines.groupby("customer_id")["net_amount"].sum().reindex(activity.index).fillna(0.0)
    return activity.reset_index()


# ----------------------------------------------------------------------------- distributions
def customers_on_record(customers: pd.DataFrame, orders: pd.DataFrame, as_of) -> pd.Index:
    """The ids of ``customers`` on record at the end of the day ``as_of``: their ``signup_date``
    (when the column is there and the date known) or their first valid purchase is on or before
    that day. A customer who signs up or first buys later is not counted for an earlier quarter;
    one with neither date known cannot be placed in time and is not counted either.
    """
    require_columns(customers, ["customer_id"], "customers")
    day_end = end_of_day(as_of)
    ids = customers["customer_id"]
    signed_up = pd.Series(False, index=customers.index)
    if "signup_date" in customers.columns:
        signed_up = (pd.to_datetime(customers["signup_date"], errors="coerce") <= day_end).fillna(False)
    # A purchase on or before the day means the first purchase is too (no per-customer minimum needed).
    bought = is_in(ids, purchase_lines(orders, end=day_end, columns=["customer_id"])["customer_id"].unique())
    return pd.Index(ids.loc[signed_up.to_numpy(dtype=bool) | bought.astype(bool)].unique())


def customer_distribution(customers: pd.DataFrame, orders: pd.DataFrame, period: Quarter | str,
                          dimension: str) -> pd.DataFrame:
    """Counts and shares of the customers on record at the quarter end (``customers_on_record``)
    and of the quarter's active customers by ``dimension``.

    Returns ``<dimension>, customers, share_of_customers, active_customers, share_of_active``,
    largest active group first; a missing attribute counts as "Unknown".
    """
    if dimension not in customers.columns:
        choices = [d for d in DIMENSIONS if d in customers.columns]
        raise ValueError(f"customers has no column {dimension!r}; choose one of {choices}")
    period = Quarter.parse(period)
    attribute = _attribute(customers, dimension)
    active = customer_quarter_activity(orders, period)["customer_id"]
    on_record = customers_on_record(customers, orders, period.last_day)
    everyone = attribute.loc[attribute.index.isin(on_record)].value_counts().rename("customers")
    active_counts = attribute.reindex(active).fillna("Unknown").value_counts().rename("active_customers")
    table = pd.concat([everyone, active_counts], axis=1).fillna(0).astype("int64")
    table.index.name = dimension
    table = table.reset_index()
    table["share_of_customers"] = table["customers"] / max(table["customers"].sum(), 1)
    table["share_of_active"] = table["active_customers"] / max(table["active_customers"].sum(), 1)
    table = table.sort_values(["active_customers", "customers", dimension], ascending=[False, False, True])
    columns = [dimension, "customers", "share_of_customers", "active_customers", "share_of_active"]
    return table[columns].reset_index(drop=True)


def plot_distribution(distribution: pd.DataFrame, dimension: str, max_groups: int = 15, ax=None):
    """Horizontal bars: share of the customers on record and of the active customers per group."""
    require_columns(distribution, [dimension, "share_of_customers", "share_of_active"], "distribution")
    top = distribution.head(max_groups).iloc[::-1]
    ax = new_axes(ax, figsize=(8, max(2.5, 0.35 * len(top) + 1.2)))
    positions = np.arange(len(top))
    ax.barh(positions + 0.2, 100 * top["share_of_active"], height=0.4, label=t("Active customers this quarter"))
    ax.barh(positions - 0.2, 100 * top["share_of_customers"], height=0.4,
            label=t("Customers on record at the quarter end"), alpha=0.6)
    ax.set_yticks(positions, top[dimension].astype(str))
    ax.legend(loc="lower right")
    return label(ax, t("Customers by {dimension}", dimension=_words(dimension)), t("Share of customers (%)"),
                 dimension_name(dimension, capital=True))


def distribution_finding(distribution: pd.DataFrame, dimension: str, not_applicable: Sequence[str] = ()) -> str:
    """The largest groups among active customers, and the share with no recorded value.

    ``not_applicable`` names placeholder groups to pass over when naming the largest (e.g. the
    "Individual" industry of private customers).
    """
    require_columns(distribution, [dimension, "active_customers", "share_of_active"], "distribution")
    words = _words(dimension)
    if distribution["active_customers"].sum() == 0:
        return t("No customer was active this quarter, so there is no {dimension} mix to describe.", dimension=words)
    known = distribution.loc[~distribution[dimension].isin(["Unknown", *not_applicable])]
    if known["active_customers"].sum() == 0:
        return t("No {dimension} is recorded for the active customers, so their mix cannot be described.",
                 dimension=words)
    first = known.iloc[0]
    largest = {"dimension": words, "group": first[dimension], "customers": fmt_int(first["active_customers"]),
               "share": fmt_pct(first["share_of_active"])}
    one = first["active_customers"] == 1
    if len(known) > 1:
        second = known.iloc[1]
        largest.update(second=second[dimension], second_share=fmt_pct(second["share_of_active"]))
        if one:
            text = t("The largest {dimension} among active customers is {group} with {customers} customer ({share}), "
                     "followed by {second} ({second_share}).", **largest)
        else:
            text = t("The largest {dimension} among active customers is {group} with {customers} customers ({share}), "
                     "followed by {second} ({second_share}).", **largest)
    elif one:
        text = t("The largest {dimension} among active customers is {group} with {customers} customer ({share}).",
                 **largest)
    else:
        text = t("The largest {dimension} among active customers is {group} with {customers} customers ({share}).",
                 **largest)
    for placeholder in not_applicable:
        share = distribution.loc[distribution[dimension] == placeholder, "share_of_active"].sum()
        if share > 0:
            text += " " + t("{group} (no {dimension}) accounts for {share}.", group=placeholder, dimension=words,
                            share=fmt_pct(share))
    unknown = distribution.loc[distribution[dimension] == "Unknown", "share_of_active"].sum()
    if unknown >= 0.05:
        text += " " + t("{share} of active customers have no recorded {dimension}.", share=fmt_pct(unknown),
                        dimension=words)
    return text


# ----------------------------------------------------------------------------- key accounts
def key_accounts(orders: pd.DataFrame, customers: pd.DataFrame, period: Quarter | str, top_n: int = 20) -> pd.DataFrame:
    """The ``top_n`` active customers by net revenue in the quarter.

    Returns ``rank, customer_id, segment, region, revenue, orders, share, cumulative_share``;
    ``share`` is of the net revenue of all active customers.
    """
    if top_n < 1:
        raise ValueError(f"top_n must be at least 1, got {top_n}")
    activity = customer_quarter_activity(orders, period)
    total = activity["revenue"].sum()
    top = activity.sort_values(["revenue", "customer_id"], ascending=[False, True]).head(top_n).reset_index(drop=True)
    top.insert(0, "rank", np.arange(1, len(top) + 1))
    for dimension in ("segment", "region"):
        top[dimension] = top["customer_id"].map(_attribute(customers, dimension)).fillna("Unknown") \
            if dimension in customers.columns else "Unknown"
    top["share"] = top["revenue"] / total if total else np.nan
    top["cumulative_share"] = top["share"].cumsum()
    return top[["rank", "customer_id", "segment", "region", "revenue", "orders", "share", "cumulative_share"]]


def pareto_curve(orders: pd.DataFrame, period: Quarter | str, points: int = 101) -> pd.DataFrame:
    """Cumulative revenue share against cumulative customer share, customers sorted by revenue.

    The curve (Lorenz-type, largest customers first) is interpolated linearly at ``points``
    evenly spaced customer shares from 0 to 1, so its size does not grow with the customer base.
    Returns ``customer_share, revenue_share``.
    """
    if points < 2:
        raise ValueError(f"points must be at least 2, got {points}")
    revenue = np.sort(customer_quarter_activity(orders, period)["revenue"].to_numpy(dtype=float))[::-1]
    grid = np.linspace(0, 1, points)
    if len(revenue) == 0 or revenue.sum() == 0:
        return pd.DataFrame({"customer_share": grid, "revenue_share": np.nan})
    customer_share = np.concatenate([[0.0], np.arange(1, len(revenue) + 1) / len(revenue)])
    revenue_share = np.concatenate([[0.0], np.cumsum(revenue) / revenue.sum()])
    return pd.DataFrame({"customer_share": grid, "revenue_share": np.interp(grid, customer_share, revenue_share)})


def top_revenue_share(orders: pd.DataFrame, period: Quarter | str, top_fraction: float = 0.2) -> float:
    """Share of net revenue from the top ``top_fraction`` of active customers (by revenue).

    Read off the Pareto curve with linear interpolation between customers, so with 6 customers
    the top 20% is the first customer plus a fifth of the second.
    """
    if not 0 < top_fraction <= 1:
        raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction}")
    revenue = np.sort(customer_quarter_activity(orders, period)["revenue"].to_numpy(dtype=float))[::-1]
    if len(revenue) == 0 or revenue.sum() == 0:
        return float("nan")
    customer_share = np.concatenate([[0.0], np.arange(1, len(revenue) + 1) / len(revenue)])
    revenue_share = np.concatenate([[0.0], np.cumsum(revenue) / revenue.sum()])
    return float(np.interp(top_fraction, customer_share, revenue_share))


def plot_pareto(curve: pd.DataFrame, top_fraction: float = 0.2, ax=None):
    """The Pareto curve with the top-``top_fraction`` point marked."""
    require_columns(curve, ["customer_share", "revenue_share"], "curve")
    ax = new_axes(ax)
    ax.plot(100 * curve["customer_share"], 100 * curve["revenue_share"], label=t("Customers, largest first"))
    ax.plot([0, 100], [0, 100], linestyle="--", color="grey", label=t("Equal revenue per customer"))
    share = float(np.interp(top_fraction, curve["customer_share"], curve["revenue_share"]))
    if not np.isnan(share):
        ax.scatter([100 * top_fraction], [100 * share], color="C3", zorder=3)
        ax.annotate(t("top {customers}: {revenue}", customers=fmt_pct(top_fraction, 0), revenue=fmt_pct(share)),
                    (100 * top_fraction, 100 * share), textcoords="offset points", xytext=(8, -14))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 105)
    ax.legend(loc="lower right")
    return label(ax, t("Revenue concentration (Pareto curve)"), t("Cumulative share of active customers (%)"),
                 t("Cumulative share of net revenue (%)"))


def key_accounts_finding(accounts: pd.DataFrame, top_share: float, currency: str = "¥",
                         top_fraction: float = 0.2) -> str:
    """How much the largest customers bring in."""
    if accounts.empty:
        return t("No customer bought anything this quarter, so there are no key accounts.")
    first = accounts.iloc[0]
    text = t("The top {top} of active customers bring {top_share} of net revenue; the {accounts} largest accounts "
             "together bring {accounts_share}.", top=fmt_pct(top_fraction, 0), top_share=fmt_pct(top_share),
             accounts=fmt_int(len(accounts)), accounts_share=fmt_pct(accounts["cumulative_share"].iloc[-1]))
    text += " " + t("The largest, {customer} ({segment}, {region}), spent {revenue} ({share}).",
                    customer=first["customer_id"], segment=first["segment"], region=first["region"],
                    revenue=fmt_money(first["revenue"], currency), share=fmt_pct(first["share"]))
    return text


# ----------------------------------------------------------------------------- cross table
PRIMARY, SECONDARY = "primary", "secondary"


def complementary_suppression(cells: pd.DataFrame, dimensions: Sequence[str], min_group_size: int) -> pd.Series:
    """Which cells of a two-way table of customer counts to hide, and why: ``"primary"``, ``"secondary"`` or ``""``.

    Primary: fewer than ``min_group_size`` customers. One hidden cell alone in its row or column
    can be recovered by subtraction from the row or column total (a region total of 91 and shown
    cells summing to 88 reveal 3), and those totals are known (the distribution tables show them,
    the shares of customers imply them). So every row (cells sharing ``dimensions[0]``) and column
    (sharing ``dimensions[1]``) with exactly one hidden cell also hides its smallest shown cell
    (ties by the attribute values, in sort order), rows before columns, and the sweep repeats
    until no row or column has exactly one hidden cell (secondary, or complementary, suppression;
    Hundepool et al. 2012, "Statistical Disclosure Control", ch. 7). A row or column of a single
    cell has nothing else to hide: its total is the cell itself, shown in the distribution tables.

    ``cells`` has one row per cell present, the two dimension columns and ``customers``.
    """
    dims = list(dimensions)
    require_columns(cells, [*dims, "customers"], "cells")
    if min_group_size < 1:
        raise ValueError(f"min_group_size must be at least 1, got {min_group_size}")
    status = pd.Series(np.where(cells["customers"] < min_group_size, PRIMARY, ""), index=cells.index, dtype=object)
    # A secondary cell is the smallest shown one: order the cells once, smallest first.
    by_size = cells.sort_values(["customers", *dims], kind="stable").index
    lines = [cells.groupby(dim, sort=True).groups for dim in dims]  # rows, then columns
    changed = True
    while changed:  # each sweep only adds hidden cells, so this ends after at most len(cells) sweeps
        changed = False
        for groups in lines:
            for members in groups.values():
                hidden = status.loc[members] != ""
                if hidden.sum() != 1:
                    continue
                shown = by_size[by_size.isin(members[~hidden.to_numpy()])]
                if len(shown):
                    status.loc[shown[0]] = SECONDARY
                    changed = True
    return status


def cross_table(orders: pd.DataFrame, customers: pd.DataFrame, surveys: pd.DataFrame | None, period: Quarter | str,
                dimensions: Sequence[str] = ("region", "segment"), min_group_size: int = 5) -> pd.DataFrame:
    """Active customers of the quarter in every combination of two customer attributes.

    Returns ``<dim1>, <dim2>, customers, share_of_customers, orders, average_order_value,
    repeat_purchase_rate, survey_responses, nps, mean_csat_score, suppressed, suppression``.
    ``nps`` and ``mean_csat_score`` use the quarter's survey answers of customers in the cell
    (NaN without surveys). A suppressed cell has every value blank and ``suppressed`` True;
    ``suppression`` says why (:func:`complementary_suppression`): "primary" for fewer than
    ``min_group_size`` active customers, "secondary" for a cell hidden so that a primary one cannot
    be worked out from the row and column totals. Satisfaction is also blanked when fewer than
    ``min_group_size`` answers back it (statistical disclosure control).
    """
    dims = list(dimensions)
    if len(dims) != 2 or dims[0] == dims[1]:
        raise ValueError(f"dimensions must be two different customer attributes, got {dims}")
    if min_group_size < 1:
        raise ValueError(f"min_group_size must be at least 1, got {min_group_size}")
    period = Quarter.parse(period)
    activity = customer_quarter_activity(orders, period)
    for dim in dims:
        activity[dim] = activity["customer_id"].map(_attribute(customers, dim)).fillna("Unknown")
    activity["repeat"] = activity["orders"] >= 2
    cells = activity.groupby(dims).agg(
        customers=("customer_id", "size"), orders=("orders", "sum"),
        purchase_amount=("purchase_amount", "sum"), repeat_purchase_rate=("repeat", "mean"),
    )
    cells["share_of_customers"] = cells["customers"] / max(len(activity), 1)
    cells["average_order_value"] = cells["purchase_amount"] / cells["orders"]
    cells["survey_responses"], cells["nps"], cells["mean_csat_score"] = 0, np.nan, np.nan
    if surveys is not None and len(surveys):
        require_columns(surveys, ["customer_id", "response_date", "nps_score", "csat_score"], "surveys")
        answers = surveys.loc[period.contains(surveys["response_date"])].copy()
        for dim in dims:
            answers[dim] = answers["customer_id"].map(_attribute(customers, dim)).fillna("Unknown")
        nps_answers = answers["nps_score"]
        answers["promoter"] = (nps_answers >= 9).where(nps_answers.notna())
        answers["detractor"] = (nps_answers <= 6).where(nps_answers.notna())
        satisfaction = answers.groupby(dims).agg(
            survey_responses=("customer_id", "size"), promoters=("promoter", "mean"),
            detractors=("detractor", "mean"), mean_csat_score=("csat_score", "mean"))
        satisfaction["nps"] = 100 * (satisfaction["promoters"] - satisfaction["detractors"])
        satisfaction = satisfaction.reindex(cells.index)
        cells["survey_responses"] = satisfaction["survey_responses"].fillna(0).astype("int64")
        cells["nps"], cells["mean_csat_score"] = satisfaction["nps"], satisfaction["mean_csat_score"]
        thin = cells["survey_responses"] < min_group_size
        cells.loc[thin, ["nps", "mean_csat_score"]] = np.nan
    values = ["customers", "share_of_customers", "orders", "average_order_value", "repeat_purchase_rate",
              "survey_responses", "nps", "mean_csat_score"]
    table = cells.reset_index()[dims + values].sort_values(dims).reset_index(drop=True)
    table["suppression"] = complementary_suppression(table, dims, min_group_size)
    table[values] = table[values].astype(float)
    table["suppressed"] = table["suppression"] != ""
    table.loc[table["suppressed"], values] = np.nan
    return table[dims + values + ["suppressed", "suppression"]]


def cross_table_finding(table: pd.DataFrame, dimensions: Sequence[str] = ("region", "segment"),
                        currency: str = "¥", min_group_size: int = 5) -> str:
    """The largest cell and the cell with the highest average order value among the cells the table
    shows (each of at least ``min_group_size`` customers), and how many cells are suppressed and why."""
    dims = list(dimensions)
    require_columns(table, [*dims, "customers", "share_of_customers", "average_order_value", "suppressed"], "table")
    reasons = table["suppression"] if "suppression" in table else table["suppressed"].map({True: PRIMARY, False: ""})
    primary, secondary = int((reasons == PRIMARY).sum()), int((reasons == SECONDARY).sum())
    # Only what the table shows: not suppressed, and never a cell under the minimum even if one slipped through.
    shown = table.loc[~table["suppressed"].astype(bool) & (table["customers"] >= min_group_size)]
    minimum = fmt_int(min_group_size)
    if shown.empty:
        return t("All {cells} cells of the cross table are suppressed: each has fewer than {min_customers} customers "
                 "or is hidden so that such a cell cannot be worked out from the row and column totals.",
                 cells=fmt_int(len(table)), min_customers=minimum)

    def name(row) -> str:
        return " / ".join(str(row[d]) for d in dims)

    largest = shown.loc[shown["customers"].idxmax()]
    richest = shown.loc[shown["average_order_value"].idxmax()]
    text = t("Among the cells shown, each of at least {min_customers} customers, the largest group is {group} with "
             "{customers} active customers ({share}) and the highest average order value is in {richest} ({value}).",
             min_customers=minimum, group=name(largest), customers=fmt_int(largest["customers"]),
             share=fmt_pct(largest["share_of_customers"]), richest=name(richest),
             value=fmt_money(richest["average_order_value"], currency))
    if secondary:
        text += " " + t("{cells} cells are suppressed: {primary} with fewer than {min_customers} customers, and "
                        "{secondary} more so that no hidden count can be worked out from the row and column totals.",
                        cells=fmt_int(primary + secondary), primary=fmt_int(primary), min_customers=minimum,
                        secondary=fmt_int(secondary))
    elif primary == 1:
        text += " " + t("One cell has fewer than {min_customers} customers and is suppressed.", min_customers=minimum)
    elif primary:
        text += " " + t("{cells} cells have fewer than {min_customers} customers and are suppressed.",
                        cells=fmt_int(primary), min_customers=minimum)
    return text


# ----------------------------------------------------------------------------- growth
def growth_table(forecast: pd.DataFrame) -> pd.DataFrame:
    """The long ``growth_forecast`` frame as one row per quarter: ``quarter, kind, coverage``
    ("full", "partial" or "forecast") and one column per metric (the forecast row holds the
    point forecasts; a value that cannot be told or forecast stays missing)."""
    require_columns(forecast, ["quarter", "coverage", "metric", "value", "kind"], "forecast")
    table = forecast.pivot(index=["quarter", "kind", "coverage"], columns="metric", values="value").reset_index()
    table.columns.name = None
    return table[["quarter", "kind", "coverage", *[m for m in GROWTH_METRICS if m in table.columns]]]


def plot_growth(forecast: pd.DataFrame, metrics: Sequence[str] = ("new_customers", "active_customers"),
                ylabel: str | None = None, ax=None):
    """Actual values per quarter as lines, next quarter's forecast as a point with its interval;
    ``ylabel`` defaults to "Customers" in the report's language."""
    from matplotlib.ticker import FuncFormatter

    require_columns(forecast, ["quarter", "metric", "label", "value", "lower", "upper", "kind"], "forecast")
    ax = new_axes(ax)
    quarters = list(dict.fromkeys(forecast["quarter"]))
    position = {q: i for i, q in enumerate(quarters)}
    names = []
    for colour, metric in enumerate(metrics):
        rows = forecast.loc[forecast["metric"] == metric]
        if rows.empty:
            raise ValueError(f"forecast has no metric {metric!r}; it has {sorted(forecast['metric'].unique())}")
        name = rows["label"].iloc[0]
        names.append(name)
        actual, ahead = rows.loc[rows["kind"] == "actual"], rows.loc[rows["kind"].eq("forecast") & rows["value"].notna()]
        ax.plot(actual["quarter"].map(position), actual["value"], marker="o", color=f"C{colour}", label=name)
        partial = actual.loc[actual["coverage"] == "partial"]
        if len(partial):  # a quarter the data covers only in part: an open marker, not a real level
            ax.plot(partial["quarter"].map(position), partial["value"], marker="o", linestyle="none",
                    markerfacecolor="white", color=f"C{colour}",
                    label=t("{series}: quarter only partly covered by the data", series=name))
        if len(ahead):
            x, point = position[ahead["quarter"].iloc[0]], ahead.iloc[0]
            spread = [[point["value"] - point["lower"]], [point["upper"] - point["value"]]]
            ax.errorbar([x], [point["value"]], yerr=spread, fmt="D", color=f"C{colour}", capsize=4,
                        label=t("{series}: forecast, 95% interval", series=name))
            ax.plot([x - 1, x], [actual["value"].iloc[-1], point["value"]], linestyle=":", color=f"C{colour}")
    ax.set_xticks(range(len(quarters)), [fmt_quarter(q) for q in quarters], rotation=45)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.legend(loc="best", fontsize=9)
    series = names[0]
    for name in names[1:]:  # "New customers and active customers": a list of the series' labels
        series = t("{first} and {second}", first=series, second=name[0].lower() + name[1:])
    return label(ax, t("{series} by quarter, with next quarter's forecast", series=series), t("Quarter"),
                 t("Customers") if ylabel is None else ylabel)


def growth_finding(forecast: pd.DataFrame, currency: str = "¥") -> str:
    """Active customers over the window and next quarter's forecasts."""
    def pick(metric: str, kind: str) -> pd.DataFrame:
        return forecast.loc[(forecast["metric"] == metric) & (forecast["kind"] == kind)]

    active = pick("active_customers", "actual")
    full = active.loc[active["coverage"] == "full"]
    if len(full) >= 2:
        first_value, last_value = full["value"].iloc[0], full["value"].iloc[-1]
        went = {"first": fmt_int(first_value), "first_quarter": fmt_quarter(full["quarter"].iloc[0]),
                "last": fmt_int(last_value), "last_quarter": fmt_quarter(full["quarter"].iloc[-1])}
        if first_value:
            text = t("Active customers went from {first} in {first_quarter} to {last} in {last_quarter} ({change}).",
                     change=fmt_change(last_value / first_value - 1), **went)
        else:
            text = t("Active customers went from {first} in {first_quarter} to {last} in {last_quarter}.", **went)
    else:
        text = t("The data cover {quarters} whole quarter(s) of the {shown} shown, too few to compare active customers "
                 "between quarters.", quarters=fmt_int(len(full)), shown=fmt_int(len(active)))
    partial = active.loc[active["coverage"] == "partial", "quarter"].tolist()
    if len(partial) == 1:
        text += " " + t("{quarter} is only partly covered by the data.", quarter=fmt_quarter(partial[0]))
    elif partial:
        text += " " + t("{quarters} are only partly covered by the data.",
                        quarters=t(", ").join(fmt_quarter(q) for q in partial))
    ahead_active = pick("active_customers", "forecast").dropna(subset=["value"])
    ahead_revenue = pick("revenue", "forecast").dropna(subset=["value"])
    if len(ahead_active) and len(ahead_revenue):
        a, r = ahead_active.iloc[0], ahead_revenue.iloc[0]
        text += " " + t("The forecast for {quarter} is {active} active customers (95% interval {active_low}–{active_high}) "
                        "and {revenue} net revenue ({revenue_low}–{revenue_high}).", quarter=fmt_quarter(a["quarter"]),
                        active=fmt_int(a["value"]), active_low=fmt_int(a["lower"]), active_high=fmt_int(a["upper"]),
                        revenue=fmt_money(r["value"], currency), revenue_low=fmt_money(r["lower"], currency),
                        revenue_high=fmt_money(r["upper"], currency))
    return text

