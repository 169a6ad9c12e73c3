"""The business definitions and the facts computed from them: purchase lines, churn, KPIs, per-customer facts."""
from .definitions import (
    at_risk_high_value,
    can_tell_new,
    churn_window,
    day_numbers,
    days_since,
    end_of_day,
    is_at_risk,
    is_churned,
    is_purchase,
    last_purchase,
    last_purchases,
    net_amount,
    purchase_lines,
    purchase_positions,
    quarter_coverage,
)

__all__ = ["at_risk_high_value", "can_tell_new", "churn_window", "day_numbers", "days_since", "end_of_day", "is_at_risk",
           "is_churned", "is_purchase", "last_purchase", "last_purchases", "net_amount", "purchase_lines",
           "purchase_positions", "quarter_coverage"]
