"""helpers.chapters.trends on hand-made frames; the expected values are worked out in the comments."""
import numpy as np
import pandas as pd
import pytest
from conftest import make_orders

from helpers.chapters import churn, trends


@pytest.fixture
def customers():
    return pd.DataFrame({"customer_id": ["a", "b", "c"], "region": ["East", "East", "West"],
                         "segment": ["Large", "Large", "Small"]})


@pytest.fixture
def orders():
    return make_orders([
        ("o1", "a", "2026-01-05", 100.0),  # 2026Q1
        ("o2", "b", "2026-02-10", 50.0),
        ("o3", "c", "2026-03-20", 80.0),
        ("o4", "a", "2026-04-15", 30.0),  # 2026Q2
        ("o5", "c", "2026-05-01", 200.0),
        ("o6", "c", "2026-05-03", -20.0, "completed", True),  # a return: -20 of net revenue, no purchase
        ("o7", "d", "2026-06-01", 60.0),  # d is not among the customers: "Unknown"
        ("o8", "b", "2026-06-28", 10.0),  # the orders reach the end of 2026Q2: both quarters are whole
    ])


def values(trend, by, column):
    return {(q, g): (None if pd.isna(v) else v) for q, g, v in zip(trend["quarter"], trend[by], trend[column])}


def test_revenue_by_region_per_quarter(orders, customers):
    trend = trends.kpi_trend_by(orders, customers, "2026Q2", "region", "revenue", quarters=3)
    # 2025Q4 is before the first order: left out. East Q1 = 100 + 50, Q2 = 30 + 10; West Q1 = 80,
    # Q2 = 200 - 20; Unknown (d) Q1 nothing bought (no point), Q2 = 60.
    assert list(trend.columns) == ["quarter", "region", "revenue", "customers"]
    assert values(trend, "region", "revenue") == {
        ("2026Q1", "East"): 150.0, ("2026Q1", "Unknown"): None, ("2026Q1", "West"): 80.0,
        ("2026Q2", "East"): 40.0, ("2026Q2", "Unknown"): 60.0, ("2026Q2", "West"): 180.0}
    assert values(trend, "region", "customers") == {
        ("2026Q1", "East"): 2, ("2026Q1", "Unknown"): 0, ("2026Q1", "West"): 1,
        ("2026Q2", "East"): 2, ("2026Q2", "Unknown"): 1, ("2026Q2", "West"): 1}
    # The groups add up to chapter 01's growth trend: 150 + 80 = 230 and 40 + 60 + 180 = 280.
    assert trend.groupby("quarter")["revenue"].sum().to_dict() == {"2026Q1": 230.0, "2026Q2": 280.0}


def test_small_groups_and_part_quarters_are_left_out(orders, customers):
    trend = trends.kpi_trend_by(orders, customers, "2026Q2", "segment", "active_customers", quarters=2,
                                min_group_size=2)
    # Large = a, b: 2 active customers in each quarter; Small = c and Unknown = d: 1, below 2.
    assert values(trend, "segment", "active_customers") == {
        ("2026Q1", "Large"): 2.0, ("2026Q1", "Small"): None, ("2026Q1", "Unknown"): None,
        ("2026Q2", "Large"): 2.0, ("2026Q2", "Small"): None, ("2026Q2", "Unknown"): None}
    # Orders up to 05-03 only: 2026Q2 is partly covered, so no point in it for any group.
    early = trends.kpi_trend_by(orders[orders["order_date"] <= "2026-05-03"], customers, "2026Q2", "region")
    assert early.loc[early["quarter"] == "2026Q2", "revenue"].isna().all()
    assert early.loc[early["quarter"] == "2026Q1", "revenue"].tolist() == [150.0, 80.0]  # East, West
    with pytest.raises(ValueError, match="metric must be one of"):
        trends.kpi_trend_by(orders, customers, "2026Q2", "region", "new_customers")
    with pytest.raises(ValueError, match="min_group_size"):
        trends.kpi_trend_by(orders, customers, "2026Q2", "region", min_group_size=0)


def test_churn_rate_by_segment_per_quarter(customers):
    # N = 30. Active at a quarter's start: a purchase in the 30 days before it; churned at its end:
    # none in its last 30 days.
    orders = make_orders([
        ("o1", "a", "2025-12-20", 10.0), ("o2", "a", "2026-03-15", 10.0),
        ("o3", "b", "2025-12-10", 10.0),
        ("o4", "c", "2025-12-28", 10.0), ("o5", "c", "2026-03-30", 10.0), ("o6", "c", "2026-06-25", 10.0),
    ])
    trend = trends.churn_trend_by(orders, customers, "2026Q2", "segment", inactivity_days=30, quarters=3)
    # 2025Q4: the data start on 12-10, a part of the quarter: no rate, and nobody active at its start.
    # 2026Q1: Large base a (12-20), b (12-10); b bought nothing after -> 1 of 2 = 0.5. Small: c stays -> 0.
    # 2026Q2: Large base a (03-15), not b; a buys nothing in 06-01..06-30 -> 1 of 1. Small: c (06-25) -> 0.
    assert values(trend, "segment", "churn_rate") == {
        ("2025Q4", "Large"): None, ("2025Q4", "Small"): None,
        ("2026Q1", "Large"): 0.5, ("2026Q1", "Small"): 0.0,
        ("2026Q2", "Large"): 1.0, ("2026Q2", "Small"): 0.0}
    assert values(trend, "segment", "active_at_start")[("2026Q1", "Large")] == 2
    assert values(trend, "segment", "active_at_start")[("2025Q4", "Large")] == 0
    # Each whole quarter is chapter 03's churn rate table of that quarter, without its total row.
    q1 = churn.churn_rate(orders, customers, "2026Q1", 30, "segment")
    assert q1.set_index("segment").loc[["Large", "Small"], "churn_rate"].tolist() == [0.5, 0.0]
    # With min_group_size 2 only Large in 2026Q1 (two customers at the start) keeps its rate.
    small = trends.churn_trend_by(orders, customers, "2026Q2", "segment", 30, quarters=2, min_group_size=2)
    assert small["churn_rate"].notna().sum() == 1 and values(small, "segment", "churn_rate")[("2026Q1", "Large")] == 0.5


def test_nps_by_region_per_quarter(customers):
    surveys = pd.DataFrame({
        "customer_id": ["a", "b", "c", "a", "b", "c"],
        "response_date": pd.to_datetime(["2026-01-02", "2026-02-01", "2026-03-01",
                                         "2026-04-10", "2026-05-10", "2026-06-28"]),
        "nps_score": [10, 6, 9, 9, 9, 3],
        "csat_score": [np.nan] * 6,
    })
    trend = trends.nps_trend_by(surveys, customers, "2026Q2", "region", quarters=2)
    # East Q1: 10 promoter, 6 detractor -> 50% - 50% = 0; Q2: 9, 9 -> 100. West: 9 -> 100, 3 -> -100.
    assert values(trend, "region", "nps") == {("2026Q1", "East"): 0.0, ("2026Q1", "West"): 100.0,
                                              ("2026Q2", "East"): 100.0, ("2026Q2", "West"): -100.0}
    assert values(trend, "region", "nps_responses") == {("2026Q1", "East"): 2, ("2026Q1", "West"): 1,
                                                        ("2026Q2", "East"): 2, ("2026Q2", "West"): 1}
    suppressed = trends.nps_trend_by(surveys, customers, "2026Q2", "region", quarters=2, min_group_size=2)
    assert suppressed.loc[suppressed["region"] == "West", "nps"].isna().all()  # one answer per quarter


def test_retention_curves_leave_out_month_zero():
    retention = pd.DataFrame({"cohort": ["2026-01", "2026-01", "2026-01", "2026-02"], "months_since": [0, 1, 2, 0],
                              "customers": [10, 4, 3, 5], "retention": [1.0, 0.4, 0.3, 1.0]})
    curves = trends.retention_curves(retention)
    assert curves[["cohort", "months_since", "retention"]].values.tolist() == [["2026-01", 1, 0.4], ["2026-01", 2, 0.3]]
