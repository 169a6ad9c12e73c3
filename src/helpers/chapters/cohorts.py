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
from helpers.report.fmt import fmt_date, fmt_int, fmt_pct, fmt_pp
from helpers.report.i18n import t


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
    lines = purchase_lines(orders, end=as_of, columns=["customer_id"])
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
        day = fmt_date(as_of.date())
        raise NotAvailable(t("no customer made a first purchase in the 1 month up to {day}", day=day) if months == 1
                           else t("no customer made a first purchase in the {months} months up to {day}", months=months,
                                  day=day),
                           t("new customers in that span, or more months (cohort_months in "
                             "chapter_options.03_behaviour)"))
    members = int(table.loc[table["months_since"] == 0, "customers"].sum())
    if members < min_customers:
        raise NotAvailable(t("the cohorts of the {months} months up to {day} hold {members} customers, fewer than the "
                             "{needed} any reported group needs", months=months, day=fmt_date(as_of.date()),
                             members=members, needed=min_customers),
                           t("more new customers, or more months (cohort_months in chapter_options.03_behaviour)"))
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
        cbar_kws={"label": t("Customers buying again (%)")}, ax=ax,
    )
    ax.set_yticklabels([f"{c} (n={fmt_int(n)})" for c, n in zip(matrix.index, sizes)], rotation=0)
    ax.set_title(t("Monthly acquisition cohorts: share buying again"))
    ax.set_xlabel(t("Months since first purchase"))
    ax.set_ylabel(t("Cohort (month of first purchase)"))
    return ax


def cohort_finding(retention: pd.DataFrame) -> str:
    """Average month-1 and month-3 retention and how the newest measurable cohort compares."""
    matrix = retention_matrix(retention)
    if 1 not in matrix.columns or matrix[1].dropna().empty:
        return t("No cohort is old enough yet to measure retention.")
    weights = retention[retention["months_since"] == 0].set_index("cohort")["customers"]
    month1 = matrix[1].dropna()
    average1 = np.average(month1, weights=weights.reindex(month1.index))
    values = {"month1": fmt_pct(average1), "cohort": month1.index[-1], "latest": fmt_pct(month1.iloc[-1]),
              "gap": fmt_pp(month1.iloc[-1] - average1)}
    if 3 in matrix.columns and matrix[3].notna().any():
        month3 = matrix[3].dropna()
        return t("On average {month1} of a cohort bought again in the month after their first purchase and {month3} in "
                 "month 3; the newest measurable cohort ({cohort}) reached {latest} ({gap}).",
                 month3=fmt_pct(np.average(month3, weights=weights.reindex(month3.index))), **values)
    return t("On average {month1} of a cohort bought again in the month after their first purchase; the newest "
             "measurable cohort ({cohort}) reached {latest} ({gap}).", **values)


def _first_and_second_purchase(orders: pd.DataFrame, until: pd.Timestamp) -> pd.DataFrame:
    """Time of the first valid purchase and of the next one after it, per customer (up to ``until``)."""
    lines = purchase_lines(orders, end=until, columns=["customer_id"])
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
        ax.plot(part["cohort"], part["retention"] * 100, marker="o", label=t("within {days} days", days=window))
    ax.set_title(t("Second purchase within 30 / 90 days of the first, by cohort"))
    ax.set_xlabel(t("Cohort (month of first purchase)"))
    ax.set_ylabel(t("New customers buying again (%)"))
    ax.tick_params(axis="x", labelrotation=45)
    ax.legend()
    return ax


def early_retention_finding(early: pd.DataFrame, acquired_since=None) -> str:
    """The 30- and 90-day retention in one sentence, naming the customers counted: those
    acquired since ``acquired_since`` whose window has closed, which is not the population of
    the quarter's 30-day retention KPI (only the quarter's new customers)."""
    parts = [
        t("{share} within {days} days (of {customers} customers)", share=fmt_pct(row.retention), days=row.window_days,
          customers=fmt_int(row.new_customers))
        for row in early.itertuples()
        if row.new_customers > 0
    ]
    if not parts:
        return t("No new customer's retention window has closed yet.")
    windows = t("; ").join(parts)
    if acquired_since is not None:
        text = t("New customers acquired since {day} who came back for a second purchase, once their window had "
                 "closed: {windows}.", day=fmt_date(pd.Timestamp(acquired_since).date()), windows=windows)
    else:
        text = t("New customers who came back for a second purchase, once their window had closed: {windows}.",
                 windows=windows)
    return text + " " + t("The 30-day retention KPI of the overview counts only this quarter's new customers.")
