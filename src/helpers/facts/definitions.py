"""The business definitions, each written once. Chapters, models and tests import them; a second
filter or comparison written by hand elsewhere is how chapters come to disagree.

- A **purchase line** is an order line that is completed, not a return, with a positive amount.
- **Net revenue** of a line is its amount when the order is completed (returns are negative
  lines and subtract), zero when it is cancelled or refunded.
- **Days since** a moment, as of a day, count calendar days: a purchase at 23:59 on 30 June is
  1 day before 1 July, whatever the clock time.
- A customer is **churned as of a day** when they have a purchase line on or before that day and
  none in the ``churn_days`` days ending on it, that is when the days since their last purchase
  are ``churn_days`` or more. A last purchase exactly ``churn_days`` days ago is churned; one
  day fewer is not. Every churn flag of the report (the KPI, chapter 03's status and model
  labels, chapter 05's win-back list) is this one comparison.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.validation import require_columns


def is_purchase(orders: pd.DataFrame) -> pd.Series:
    """True for purchase lines: ``status`` completed (empty counts as completed), not a return,
    ``amount`` above zero. The preparation stores it as the ``is_purchase`` column."""
    completed = orders["status"].fillna("completed").eq("completed")
    returned = orders["is_return"].fillna(False).astype(bool)
    return (completed & ~returned & (orders["amount"] > 0)).fillna(False).astype(bool)


def net_amount(orders: pd.DataFrame) -> pd.Series:
    """A line's contribution to net revenue: its amount when completed (negative for returns),
    0.0 when cancelled or refunded. The preparation stores it as the ``net_amount`` column."""
    return orders["amount"].where(orders["status"].fillna("completed").eq("completed"), 0.0)


def purchase_lines(orders: pd.DataFrame, start=None, end=None) -> pd.DataFrame:
    """The purchase lines of the prepared orders (``is_purchase``), optionally with
    ``start <= order_date <= end``.

    Prepared orders are sorted by date (in nanoseconds), so a window is cut as a slice (no copy)
    and rows are copied only when some in it are not purchases; at millions of lines this
    matters, as chapters ask for many windows.
    """
    require_columns(orders, ["order_date", "is_purchase"], "orders")
    dates = orders["order_date"]
    if (start is not None or end is not None) and dates.dtype == "datetime64[ns]" and dates.is_monotonic_increasing:
        first = 0 if start is None else dates.searchsorted(pd.Timestamp(start), side="left")
        last = len(orders) if end is None else dates.searchsorted(pd.Timestamp(end), side="right")
        orders, start, end = orders.iloc[first:last], None, None
    mask = orders["is_purchase"].fillna(False).astype(bool)
    if start is not None:
        mask &= orders["order_date"] >= pd.Timestamp(start)
    if end is not None:
        mask &= orders["order_date"] <= pd.Timestamp(end)
    return orders if mask.all() else orders.loc[mask]


def end_of_day(day) -> pd.Timestamp:
    """The last nanosecond of ``day``: a window "up to and including day" ends here."""
    return pd.Timestamp(day).normalize() + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")


def days_since(moments: pd.Series, as_of) -> pd.Series:
    """Whole calendar days from the day of each moment to the day ``as_of``."""
    return (pd.Timestamp(as_of).normalize() - moments.dt.normalize()).dt.days


def churn_window(churn_days, name: str = "churn_days") -> int:
    """``churn_days`` as a whole number of days; a ``ValueError`` naming the argument ``name``
    unless it is positive."""
    if int(churn_days) <= 0:
        raise ValueError(f"{name} must be a positive number of days, got {churn_days}")
    return int(churn_days)


def is_churned(days_since_last_purchase: pd.Series | np.ndarray | int, churn_days: int):
    """Churned: ``churn_days`` days or more since the last purchase (see the module docstring)."""
    return days_since_last_purchase >= churn_window(churn_days)


def last_purchase(orders: pd.DataFrame, as_of) -> pd.Series:
    """Each customer's last purchase line on or before day ``as_of`` (index ``customer_id``)."""
    lines = purchase_lines(orders, end=end_of_day(as_of))
    return lines.groupby("customer_id")["order_date"].max()
