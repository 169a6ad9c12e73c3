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
- A customer is **at risk** when the churn model gives them a churn probability of at least the
  threshold (``high_risk_threshold`` of chapter 03, 50% by default). Only customers not yet
  churned are scored, so the at-risk are customers who may still be kept.
- **At risk and high value** are the at-risk whose 12-month CLV falls in the high value tier
  (chapter 04): chapter 05's list and its diagnosis rule.
- A customer is **new** in a period when their first purchase line falls in it. That can be told
  only for periods that start at least ``new_customer_warmup_days`` after the first day of the
  data (less the ``COVERAGE_SLACK_DAYS`` of a fully covered quarter): before that, a first purchase in the export may be a returning customer whose earlier
  purchases the export does not hold (``can_tell_new``).
- A quarter is **fully covered** when the data's first day is at most ``COVERAGE_SLACK_DAYS``
  after its first day and the data's last day at most that many days before its last day (a
  quiet last week is not a cut-off export); otherwise it is partial (``quarter_coverage``) and
  is not compared with other quarters as if it were whole.
- The RFM segment "At risk" (chapter 04) is another notion: customers who used to buy often and
  much but whose last purchase is long ago, mostly already churned and so never scored by the
  model. Chapter 05 shows how the three groups overlap.
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


def purchase_lines(orders: pd.DataFrame, start=None, end=None, columns=None) -> pd.DataFrame:
    """The purchase lines of the prepared orders (``is_purchase``), optionally with
    ``start <= order_date <= end``; with ``columns``, only those of them the orders have (and
    ``order_date``, ``is_purchase``).

    Prepared orders are sorted by date (in nanoseconds), so a window is cut as a slice (no copy)
    and rows are copied only when some in it are not purchases; at millions of lines this
    matters, as chapters ask for many windows, and copying only the columns used is several
    times cheaper than copying all of them.
    """
    require_columns(orders, ["order_date", "is_purchase"], "orders")
    if columns is not None:
        wanted = dict.fromkeys([*columns, "order_date", "is_purchase"])
        orders = orders[[c for c in orders.columns if c in wanted]]
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


def purchase_positions(orders: pd.DataFrame, start=None, end=None) -> np.ndarray:
    """The row positions in ``orders`` of ``purchase_lines(orders, start, end)``: for steps that
    code the text columns of all the lines once and keep the codes of the purchase lines, rather
    than copy the text of the purchase lines first."""
    numbered = orders[["order_date", "is_purchase"]].assign(position=np.arange(len(orders)))
    return purchase_lines(numbered, start, end)["position"].to_numpy()


def end_of_day(day) -> pd.Timestamp:
    """The last nanosecond of ``day``: a window "up to and including day" ends here."""
    return pd.Timestamp(day).normalize() + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")


def days_since(moments: pd.Series, as_of) -> pd.Series:
    """Whole calendar days from the day of each moment to the day ``as_of``."""
    return (pd.Timestamp(as_of).normalize() - moments.dt.normalize()).dt.days


def day_numbers(moments) -> np.ndarray:
    """The calendar day of each moment as a number (days since 1970-01-01), whatever its clock
    time: the difference of two is their ``days_since``, for steps that work on numbers."""
    return np.asarray(moments, dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


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
    return last_purchases(orders, [as_of])[pd.Timestamp(as_of).normalize()]


def last_purchases(orders: pd.DataFrame, days) -> dict[pd.Timestamp, pd.Series]:
    """``last_purchase`` as of each of ``days`` (keys: the days at midnight), in one pass over the
    purchase lines. The customer ids are coded once (only the distinct ids are sorted, as groupby
    orders them); each day adds to the day before it only the lines that came in between, which
    are all later, so a customer's last purchase is the newer of the two. The churn of eight
    quarters asks for nine days: grouping text ids once instead of nine times is what matters at
    millions of lines.
    """
    require_columns(orders, ["customer_id", "order_date", "is_purchase"], "orders")
    codes, ids = pd.factorize(orders["customer_id"])
    order = ids.argsort()
    rank = np.full(len(ids) + 1, -1, dtype=np.intp)  # the last entry maps a missing id (-1) to -1
    rank[order] = np.arange(len(ids))
    coded = pd.DataFrame({"code": rank[codes], "order_date": orders["order_date"].array,
                          "is_purchase": orders["is_purchase"].array})
    ids = ids.take(order)
    result, current, previous = {}, None, None
    for day in sorted({pd.Timestamp(d).normalize() for d in days}):
        start = None if previous is None else previous + pd.Timedelta(days=1)
        window = purchase_lines(coded, start=start, end=end_of_day(day), columns=["code"])
        latest = window.loc[window["code"] >= 0].groupby("code")["order_date"].max()
        current = latest if current is None else latest.combine_first(current)
        result[day] = pd.Series(current.array, index=pd.Index(ids.take(current.index.to_numpy()), name="customer_id"),
                                name="order_date")
        previous = day
    return result


def is_at_risk(churn_probability: pd.Series, threshold: float) -> pd.Series:
    """At risk: a churn probability of ``threshold`` or more (see the module docstring)."""
    if not 0 < threshold < 1:
        raise ValueError(f"the at-risk threshold must lie between 0 and 1, got {threshold}")
    return churn_probability >= threshold


def at_risk_high_value(clv: pd.DataFrame, scores: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The customers both at risk (``scores.churn_probability``) and in the high value tier
    (``clv.value_tier``): the rows of ``clv`` joined with ``scores``."""
    require_columns(clv, ["customer_id", "value_tier"], "clv")
    require_columns(scores, ["customer_id", "churn_probability"], "scores")
    joined = clv.merge(scores, on="customer_id", how="inner")
    return joined.loc[(joined["value_tier"] == "high") & is_at_risk(joined["churn_probability"], threshold)]


def can_tell_new(period_start, data_start, warmup_days: int) -> bool:
    """Whether "new customer" means something in a period starting on ``period_start`` when the
    data starts on ``data_start`` (see the module docstring)."""
    if warmup_days < 0:
        raise ValueError(f"new_customer_warmup_days must be 0 or more, got {warmup_days}")
    start = pd.Timestamp(period_start).normalize() + pd.Timedelta(days=COVERAGE_SLACK_DAYS)
    return start >= pd.Timestamp(data_start).normalize() + pd.Timedelta(days=warmup_days)


COVERAGE_SLACK_DAYS = 7


def quarter_coverage(quarter, data_start, data_end) -> str:
    """"full", "partial" or "none": how much of ``quarter`` the days ``data_start`` ..
    ``data_end`` cover (see the module docstring)."""
    first, last = pd.Timestamp(data_start).normalize(), pd.Timestamp(data_end).normalize()
    if quarter.last_day < first or quarter.start > last:
        return "none"
    slack = pd.Timedelta(days=COVERAGE_SLACK_DAYS)
    return "full" if first <= quarter.start + slack and quarter.last_day - slack <= last else "partial"
