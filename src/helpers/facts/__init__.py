"""The business definitions and the facts computed from them: purchase lines, churn, KPIs, per-customer facts."""
from .definitions import churn_window, days_since, end_of_day, is_churned, is_purchase, last_purchase, net_amount, purchase_lines

__all__ = ["churn_window", "days_since", "end_of_day", "is_churned", "is_purchase", "last_purchase", "net_amount", "purchase_lines"]
