"""Quarterly trends per customer group (region, segment): the lines a reviewer filters in the
report's interactive charts (``helpers.report.interactive``).

Every point is the KPI's one definition computed on the group's own customers: active customers
and net revenue from ``models.forecast.growth_trend``, the churn rate from ``chapters.churn.churn_rate``
(the KPI table's churn base), NPS from ``chapters.satisfaction.satisfaction_by``. A group-quarter
with fewer customers (or answers) than ``min_group_size`` is suppressed (missing), and so is a
quarter the source covers only in part (``facts.quarter_coverage``): a part of a quarter is not
drawn beside whole ones. Quarters before the data are left out.

Each function returns a long frame, one row per quarter and group, oldest quarter first:
``quarter, <by>, <value>, <base>`` where ``<base>`` counts the customers or answers behind the value.
"""
from __future__ import annotations

import pandas as pd

from helpers import facts
from helpers.chapters import churn, satisfaction
from helpers.chapters.behaviour import attach_customers
from helpers.errors import NotAvailable
from helpers.facts.kpis import churn_as_of_days, churn_base
from helpers.models.forecast import GROWTH_COLUMNS, growth_trend
from helpers.quarters import Quarter
from helpers.validation import require_columns

__all__ = ["GROUP_KPIS", "kpi_trend_by", "churn_trend_by", "nps_trend_by", "retention_curves"]

# The KPIs of ``growth_trend`` that add up over a group's customers. New customers are left out:
# whether a first purchase is new depends on where the whole export starts, not the group's orders.
GROUP_KPIS = ("active_customers", "revenue")


def _check(quarters: int, min_group_size: int) -> None:
    if quarters < 2:
        raise ValueError(f"a trend needs at least 2 quarters, got {quarters}")
    if min_group_size < 1:
        raise ValueError(f"min_group_size must be at least 1, got {min_group_size}")


def _covered_quarters(dates: pd.Series, period: Quarter | str, quarters: int) -> list[tuple[Quarter, str]]:
    """(quarter, coverage) of the trailing ``quarters`` up to ``period`` that ``dates`` reach at all."""
    dates = dates.dropna()
    if dates.empty:
        return []
    first, last = dates.min(), dates.max()
    trailing = [(q, facts.quarter_coverage(q, first, last)) for q in Quarter.parse(period).trailing(quarters)]
    return [(q, coverage) for q, coverage in trailing if coverage != "none"]


def kpi_trend_by(orders: pd.DataFrame, customers: pd.DataFrame, period: Quarter | str, by: str,
                 metric: str = "revenue", quarters: int = 8, min_group_size: int = 1) -> pd.DataFrame:
    """``metric`` (one of ``GROUP_KPIS``) per quarter for each group of the customer attribute ``by``.

    Returns ``quarter, <by>, <metric>, customers`` (``customers``: the group's active customers of
    the quarter); the metric is missing where the group had fewer than ``min_group_size`` active
    customers or the orders cover the quarter only in part.
    Groups are sorted by name; orders of customers missing from ``customers`` count as "Unknown".
    """
    if metric not in GROUP_KPIS:
        raise ValueError(f"metric must be one of {list(GROUP_KPIS)}, got {metric!r}")
    _check(quarters, min_group_size)
    require_columns(orders, ["customer_id", "order_date"], "orders")
    overall = growth_trend(orders, period, quarters)  # the quarters the data reach, and their coverage
    whole = overall.loc[overall["coverage"] == "full", "quarter"]
    group_of = attach_customers(orders[["customer_id"]], customers, by)[by]
    used = orders[[c for c in GROWTH_COLUMNS if c in orders.columns]]  # a group's lines: only what growth_trend reads
    frames = []
    for group, index in sorted(group_of.groupby(group_of, sort=False).groups.items()):
        try:
            trend = growth_trend(used.loc[index], period, quarters)
        except NotAvailable:  # the group bought nothing in these quarters
            continue
        trend = trend.set_index("quarter").reindex(overall["quarter"])
        active = trend["active_customers"].fillna(0).astype("int64")
        value = trend[metric].where((active >= min_group_size) & trend.index.isin(whole))
        frames.append(pd.DataFrame({"quarter": overall["quarter"].to_numpy(), by: group,
                                    metric: value.to_numpy(dtype=float), "customers": active.to_numpy()}))
    return _complete(_stack(frames, ["quarter", by, metric, "customers"]), by, metric, "customers")


def churn_trend_by(orders: pd.DataFrame, customers: pd.DataFrame, period: Quarter | str, by: str,
                   inactivity_days: int = 90, quarters: int = 8, min_group_size: int = 1) -> pd.DataFrame:
    """The churn rate of each quarter (``churn.churn_rate``) for each group of ``by``.

    Returns ``quarter, <by>, churn_rate, active_at_start`` (a share, 0-1); missing where the group
    had fewer than ``min_group_size`` customers active at the quarter start or the orders cover the
    quarter only in part.
    """
    _check(quarters, min_group_size)
    require_columns(orders, ["customer_id", "order_date"], "orders")
    frames, covered = [], _covered_quarters(orders["order_date"], period, quarters)
    last = facts.last_purchases(orders, churn_as_of_days([q for q, _ in covered]))
    for quarter, coverage in covered:
        if churn_base(orders, quarter, inactivity_days, last).empty:  # nobody active at its start: no rate to tell
            continue
        rates = churn.churn_rate(orders, customers, quarter, inactivity_days, by, min_group_size, last)
        rates = rates.loc[rates[by] != churn.ALL]
        frames.append(pd.DataFrame({
            "quarter": str(quarter), by: rates[by].astype(str).to_numpy(),
            "churn_rate": _whole(rates["churn_rate"], coverage),
            "active_at_start": rates["active_at_start"].astype("int64").to_numpy()}))
    return _complete(_stack(frames, ["quarter", by, "churn_rate", "active_at_start"]), by, "churn_rate",
                     "active_at_start", [str(q) for q, _ in covered])


def nps_trend_by(surveys: pd.DataFrame, customers: pd.DataFrame, period: Quarter | str, by: str,
                 quarters: int = 8, min_group_size: int = 1, alpha: float = 0.05) -> pd.DataFrame:
    """NPS (points) of each quarter (``satisfaction.satisfaction_by``) for each group of ``by``.

    Returns ``quarter, <by>, nps, nps_responses``; missing where the group had fewer than
    ``min_group_size`` NPS answers or the surveys cover the quarter only in part.
    """
    _check(quarters, min_group_size)
    require_columns(surveys, ["customer_id", "response_date", "nps_score"], "surveys")
    frames, covered = [], _covered_quarters(surveys["response_date"], period, quarters)
    for quarter, coverage in covered:
        table = satisfaction.satisfaction_by(surveys, customers, quarter, by, min_group_size, alpha)
        frames.append(pd.DataFrame({
            "quarter": str(quarter), by: table[by].astype(str).to_numpy(),
            "nps": _whole(table["nps"], coverage),
            "nps_responses": table["nps_responses"].astype("int64").to_numpy()}))
    return _complete(_stack(frames, ["quarter", by, "nps", "nps_responses"]), by, "nps", "nps_responses",
                     [str(q) for q, _ in covered])


def retention_curves(retention: pd.DataFrame) -> pd.DataFrame:
    """The months after the first of a ``cohorts.cohort_retention`` table (month 0 is 100% by
    definition), for retention curves per cohort: ``cohort, months_since, customers, retention``."""
    require_columns(retention, ["cohort", "months_since", "customers", "retention"], "retention")
    return retention.loc[retention["months_since"] >= 1].reset_index(drop=True)


def _whole(values: pd.Series, coverage: str):
    """The values as floats, all missing in a quarter the data cover only in part."""
    values = values.astype(float).to_numpy()
    return values if coverage == "full" else values * float("nan")


def _stack(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=float if i == 2 else object) for i, c in enumerate(columns)})
    return pd.concat(frames, ignore_index=True)[columns]


def _complete(trend: pd.DataFrame, by: str, value: str, base: str, quarters: list[str] | None = None) -> pd.DataFrame:
    """Every quarter (``quarters``, else those of ``trend``) for every group (a group absent from a
    quarter: missing value, base 0), sorted by quarter then group: each line has a slot per quarter."""
    if trend.empty:
        return trend
    quarters = quarters or list(dict.fromkeys(trend["quarter"]))
    groups = sorted(trend[by].unique())
    grid = pd.MultiIndex.from_product([quarters, groups], names=["quarter", by])
    full = trend.set_index(["quarter", by]).reindex(grid).reset_index()
    full[base] = full[base].fillna(0).astype("int64")
    full[value] = full[value].astype(float)
    return full[["quarter", by, value, base]]
