"""Acquisition cohorts: who comes back after the first purchase, and when.

A customer's cohort is the calendar month of their first valid purchase (``is_purchase``).
Retention in month k is the share of the cohort with at least one valid purchase in the k-th
calendar month after the cohort month (classic cohort analysis; month 0 is 100% by definition).
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.errors import NotAvailable
from helpers.facts import purchase_lines
from helpers.report.fmt import fmt_int, fmt_pct, fmt_pp


def _month_index(dates: pd.Series) -> pd.Series:
    """Months since year 0 (``year * 12 + month - 1``): consecutive integers for consecutive months."""
    return dates.dt.year * 12 + dates.dt.month - 1


def _month_label(index: pd.Series | np.ndarray) -> pd.Series:
    index = pd.Series(index)
    return (index // 12).astype(str) + "-" + (index % 12 + 1).astype(str).str.zfill(2)


def cohort_retention(orders: pd.DataFrame, as_of, months: int = 12, min_customers: int = 1) -> pd.DataFrame:
    """Retention matrix of the last ``months`` monthly acquisition cohorts up to ``as_of``; not
    available when the cohorts hold fewer than ``min_customers`` customers together.

    Only cells already observable at ``as_of`` are returned (the cohort month plus
    ``months_since`` is not after the month of ``as_of``).

    Returns
    -------
    DataFrame ``cohort`` ("YYYY-MM"), ``months_since`` (0, 1, ...), ``customers`` (cohort members
    who bought in that month), ``retention`` (customers / cohort size).
    """
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    as_of = pd.Timestamp(as_of)
    lines = purchase_lines(orders, end=as_of)
    month = _month_index(lines["order_date"])
    cohort = month.groupby(lines["customer_id"]).transform("min")
    last_month = as_of.year * 12 + as_of.month - 1
    first_cohort = last_month - months + 1
    cells = (
        pd.DataFrame({"customer_id": lines["customer_id"], "cohort": cohort, "months_since": month - cohort})
        .loc[lambda f: f["cohort"] >= first_cohort]
        .drop_duplicates()
        .groupby(["cohort", "months_since"])
        .size()
        .rename("customers")
    )
    # Every observable cell, also those where nobody came back.
    cohorts = np.arange(first_cohort, last_month + 1)
    grid = pd.DataFrame({"cohort": np.repeat(cohorts, months), "months_since": np.tile(np.arange(months), len(cohorts))})
    grid = grid[grid["cohort"] + grid["months_since"] <= last_month]
    table = grid.merge(cells.reset_index(), on=["cohort", "months_since"], how="left").fillna({"customers": 0})
    table["customers"] = table["customers"].astype(int)
    size = table["cohort"].map(table.loc[table["months_since"] == 0].set_index("cohort")["customers"])
    table["retention"] = table["customers"] / size.replace(0, np.nan)
    table = table[size > 0]
    if table.empty:
        raise NotAvailable(f"no customer made a first purchase in the {months} month{'' if months == 1 else 's'} up to "
                           f"{as_of.date()}",
                           "new customers in that span, or more months (cohort_months in "
                           "chapter_options.03_behaviour)")
    members = int(table.loc[table["months_since"] == 0, "customers"].sum())
    if members < min_customers:
        raise NotAvailable(f"the cohorts of the {months} months up to {as_of.date()} hold {members} customers, fewer "
                           f"than the {min_customers} any reported group needs", "more new customers, or more months "
                           "(cohort_months in chapter_options.03_behaviour)")
    table["cohort"] = _month_label(table["cohort"].to_numpy()).to_numpy()
    return table.reset_index(drop=True)[["cohort", "months_since", "customers", "retention"]]


def retention_matrix(retention: pd.DataFrame) -> pd.DataFrame:
    """Cohorts as rows, months since first purchase as columns, retention as values."""
    return retention.pivot(index="cohort", columns="months_since", values="retention").sort_index()


def plot_cohort_heatmap(retention: pd.DataFrame, ax=None):
    """Seaborn heatmap of cohort retention (%) with the cohort size in the row labels."""
    import seaborn as sns

    matrix = retention_matrix(retention) * 100
    sizes = retention[retention["months_since"] == 0].set_index("cohort")["customers"].reindex(matrix.index)
    ax = ax or plt.subplots(figsize=(1.5 + 0.75 * matrix.shape[1], 1 + 0.45 * matrix.shape[0]))[1]
    sns.heatmap(
        matrix.drop(columns=0, errors="ignore"), annot=True, fmt=".0f", cmap="YlGnBu", vmin=0,
        cbar_kws={"label": "Customers buying again (%)"}, ax=ax,
    )
    ax.set_yticklabels([f"{c} (n={fmt_int(n)})" for c, n in zip(matrix.index, sizes)], rotation=0)
    ax.set_title("Monthly acquisition cohorts: share buying again")
    ax.set_xlabel("Months since first purchase")
    ax.set_ylabel("Cohort (month of first purchase)")
    return ax


def cohort_finding(retention: pd.DataFrame) -> str:
    """Average month-1 and month-3 retention and how the newest measurable cohort compares."""
    matrix = retention_matrix(retention)
    if 1 not in matrix.columns or matrix[1].dropna().empty:
        return "No cohort is old enough yet to measure retention."
    weights = retention[retention["months_since"] == 0].set_index("cohort")["customers"]
    month1 = matrix[1].dropna()
    average1 = np.average(month1, weights=weights.reindex(month1.index))
    text = f"On average {fmt_pct(average1)} of a cohort bought again in the month after their first purchase"
    if 3 in matrix.columns and matrix[3].notna().any():
        month3 = matrix[3].dropna()
        text += f" and {fmt_pct(np.average(month3, weights=weights.reindex(month3.index)))} in month 3"
    latest = month1.index[-1]
    return text + f"; the newest measurable cohort ({latest}) reached {fmt_pct(month1.iloc[-1])} ({fmt_pp(month1.iloc[-1] - average1)})."


def _first_and_second_purchase(orders: pd.DataFrame, until: pd.Timestamp) -> pd.DataFrame:
    """Time of the first valid purchase and of the next one after it, per customer (up to ``until``)."""
    lines = purchase_lines(orders, end=until)
    first_time = lines["order_date"].groupby(lines["customer_id"]).transform("min")
    later = lines[lines["order_date"] > first_time]
    first = first_time.groupby(lines["customer_id"]).first()
    second = later["order_date"].groupby(later["customer_id"]).min()
    return pd.DataFrame({"first_purchase": first, "second_purchase": second.reindex(first.index)})


def early_retention(
    orders: pd.DataFrame,
    as_of,
    windows: Sequence[int] = (30, 90),
    acquired_since=None,
    by_cohort: bool = False,
) -> pd.DataFrame:
    """Share of new customers with a second purchase within 30 / 90 days of the first.

    A second purchase is a valid purchase placed after the first one (as the 30-day retention
    of the KPI table, chapter 01). Only customers whose window has closed by the end of day
    ``as_of`` and, when given, whose first purchase is on or after ``acquired_since`` count.

    Returns ``window_days, new_customers, retained, retention`` (with ``cohort`` first when
    ``by_cohort``).
    """
    if not windows or any(int(w) <= 0 for w in windows):
        raise ValueError(f"windows must be positive numbers of days, got {windows}")
    boundary = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)  # end of day as_of
    frame = _first_and_second_purchase(orders, boundary - pd.Timedelta(1, "ns"))
    if acquired_since is not None:
        frame = frame[frame["first_purchase"] >= pd.Timestamp(acquired_since)]
    gap = frame["second_purchase"] - frame["first_purchase"]
    cohort = _month_label(_month_index(frame["first_purchase"]).to_numpy()).to_numpy()
    parts = []
    for window in windows:  # a handful of windows, each vectorised
        length = pd.Timedelta(days=int(window))
        eligible = (frame["first_purchase"] <= boundary - length).to_numpy()
        part = pd.DataFrame(
            {"cohort": cohort[eligible], "window_days": int(window), "retained": (gap[eligible] <= length).to_numpy()}
        )
        parts.append(part)
    long = pd.concat(parts, ignore_index=True)
    keys = ["cohort", "window_days"] if by_cohort else ["window_days"]
    table = long.groupby(keys).agg(new_customers=("retained", "size"), retained=("retained", "sum")).reset_index()
    if not by_cohort:
        table = pd.DataFrame({"window_days": [int(w) for w in windows]}).merge(table, how="left").fillna(0)
    table[["new_customers", "retained"]] = table[["new_customers", "retained"]].astype(int)
    table["retention"] = table["retained"] / table["new_customers"].replace(0, np.nan)
    return table


def plot_early_retention(early_by_cohort: pd.DataFrame, ax=None):
    """Early retention of each monthly cohort, one line per window."""
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    for window, part in early_by_cohort.groupby("window_days"):
        ax.plot(part["cohort"], part["retention"] * 100, marker="o", label=f"within {window} days")
    ax.set_title("Second purchase within 30 / 90 days of the first, by cohort")
    ax.set_xlabel("Cohort (month of first purchase)")
    ax.set_ylabel("New customers buying again (%)")
    ax.tick_params(axis="x", labelrotation=45)
    ax.legend()
    return ax


def early_retention_finding(early: pd.DataFrame, acquired_since=None) -> str:
    """The 30- and 90-day retention in one sentence, naming the customers counted: those
    acquired since ``acquired_since`` whose window has closed, which is not the population of
    the quarter's 30-day retention KPI (only the quarter's new customers)."""
    parts = [
        f"{fmt_pct(row.retention)} within {row.window_days} days (of {fmt_int(row.new_customers)} customers)"
        for row in early.itertuples()
        if row.new_customers > 0
    ]
    if not parts:
        return "No new customer's retention window has closed yet."
    since = f" acquired since {pd.Timestamp(acquired_since):%Y-%m-%d}" if acquired_since is not None else ""
    return (f"New customers{since} who came back for a second purchase, once their window had closed: "
            + "; ".join(parts) + ". The 30-day retention KPI of the overview counts only this quarter's new customers.")
