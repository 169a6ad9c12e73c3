"""Upgrade candidates: customers who already buy like the next account size up.

A customer of a segment on the upgrade ladder (Individual -> Small -> Medium -> Large
enterprise) whose trailing-year spend reaches the median spend of the next segment is offered
that segment's account level (volume pricing, a dedicated contact, ...). Only active customers
count, so that the offer goes to someone who is buying now.
"""
from __future__ import annotations

import pandas as pd

from helpers.quarters import Quarter
from helpers.report.fmt import fmt_int, fmt_money
from helpers.validation import require_columns

UPGRADE_LADDER = ("Individual", "Small enterprise", "Medium enterprise", "Large enterprise")


def upgrade_candidates(customer_facts: pd.DataFrame, customers: pd.DataFrame, period: Quarter,
                       window_days: int = 365, min_group: int = 5) -> pd.DataFrame:
    """Active customers whose trailing spend reaches the median of the next segment up.

    ``customer_facts`` are those of the quarter's last day; the spend is their purchase value in
    the ``window_days`` days up to it (a window the preparation computes). Returns customer_id,
    segment, upgrade_to, spend_trailing_year, next_segment_median, spend_ratio (spend / that
    median), largest ratio first. A next segment with fewer than ``min_group`` buying customers
    gives no benchmark and no candidates.
    """
    require_columns(customers, ["customer_id", "segment"], "customers")
    spend_column, orders_column = f"purchase_value_{window_days}d", f"purchase_orders_{window_days}d"
    require_columns(customer_facts, ["customer_id", "last_purchase", spend_column, orders_column], "customer_facts")
    buyers = customer_facts.loc[customer_facts[orders_column] > 0]
    spend = buyers.set_index("customer_id")[spend_column]
    active = set(buyers.loc[period.contains(buyers["last_purchase"]), "customer_id"])
    frame = customers.loc[customers["customer_id"].isin(spend.index), ["customer_id", "segment"]].copy()
    frame["spend_trailing_year"] = frame["customer_id"].map(spend)
    stats = frame.groupby("segment")["spend_trailing_year"].agg(["median", "size"])
    stats = stats.loc[stats["size"] >= min_group, "median"]
    next_segment = dict(zip(UPGRADE_LADDER[:-1], UPGRADE_LADDER[1:]))
    frame["upgrade_to"] = frame["segment"].map(next_segment)
    frame["next_segment_median"] = frame["upgrade_to"].map(stats)
    frame["spend_ratio"] = frame["spend_trailing_year"] / frame["next_segment_median"]
    candidates = frame.loc[frame["customer_id"].isin(active) & (frame["spend_ratio"] >= 1)]
    return candidates.sort_values(["spend_ratio", "customer_id"], ascending=[False, True]).reset_index(drop=True)


def upgrade_finding(candidates: pd.DataFrame, currency: str) -> str:
    if candidates.empty:
        return "No active customer spends like the next account size up yet."
    by_step = candidates.groupby("upgrade_to").size().sort_values(ascending=False)
    who = "active customer already spends" if len(candidates) == 1 else "active customers already spend"
    return (f"{fmt_int(len(candidates))} {who} at least the median of the next account size "
            f"up ({fmt_money(candidates['spend_trailing_year'].sum(), currency)} in the last year together); "
            f"the largest group could move to {by_step.index[0]} ({fmt_int(by_step.iloc[0])}).")
