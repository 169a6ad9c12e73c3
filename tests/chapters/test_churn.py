"""Hand-made frames for helpers.chapters.churn; expected values worked out in the comments."""
import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest

from helpers.chapters import churn
from helpers.facts import customer_facts


def _orders(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "is_purchase"])
    frame["order_id"] = [f"o{i}" for i in range(len(frame))]
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["amount"] = frame["net_amount"] = 10.0
    frame["is_return"] = False
    return frame


@pytest.fixture
def orders():
    # Quarter 2026Q2 with N = 30: active at the start = a purchase in 2026-03-02 .. 03-31 (the 30
    # days before 04-01); churned at the end = no purchase in 06-01 .. 06-30.
    return _orders(
        [
            ("A", "2026-03-15", True),  # active, no purchase since -> churned (churn date 04-14)
            ("B", "2026-03-20", True), ("B", "2026-06-15", True),  # active, bought again -> stays
            ("C", "2026-01-10", True),  # 80 days before the start: not active, not counted
            ("D", "2026-03-31", True), ("D", "2026-06-01", True),  # first day of the last 30 -> stays
            ("E", "2026-03-02", True),  # first day of the 30 before the start -> active; then churned
            ("G", "2026-03-01", True),  # 30 days before 03-31: not active at the start
            ("E", "2026-06-20", False),  # cancelled order does not rescue E
        ]
    )


@pytest.fixture
def customers():
    return pd.DataFrame(
        {"customer_id": list("ABCDEG"), "segment": ["Individual", "Individual", "Individual", "Small enterprise", "Individual", "Individual"]}
    )


def test_churn_status_boundary():
    orders = _orders([("A", "2026-01-01", True)])
    # at the end of 03-31 (89 days later) the 90 days 01-01 .. 03-31 hold the purchase: not churned;
    # at the end of 04-01 (90 days later) the 90 days 01-02 .. 04-01 hold none: churned
    assert not churn.churn_status(customer_facts.run_pandas(orders, "2026-03-31"), 90)["churned"].iloc[0]
    at_0401 = churn.churn_status(customer_facts.run_pandas(orders, "2026-04-01"), 90)
    assert at_0401["churned"].iloc[0] and at_0401["days_since_last_purchase"].iloc[0] == 90


def test_churn_rate_by_segment(orders, customers):
    rates = churn.churn_rate(orders, customers, "2026Q2", 30).set_index("segment")
    # active at start: A, B, D, E; churned at 06-30: A, E -> 2 / 4
    assert rates.loc["All customers", "active_at_start"] == 4
    assert rates.loc["All customers", "churn_rate"] == 0.5
    # Individual: A, B, E -> 2 / 3; Small enterprise: D -> 0 / 1
    assert rates.loc["Individual", "churn_rate"] == pytest.approx(2 / 3)
    assert rates.loc["Small enterprise", "churn_rate"] == 0.0
    frame = churn.quarter_churn(orders, "2026Q2", 30).set_index("customer_id")
    assert frame.loc["A", "churn_date"] == pd.Timestamp("2026-04-14")
    assert pd.isna(frame.loc["B", "churn_date"])
    text = churn.churn_rate_finding(rates.reset_index(), inactivity_days=30)
    assert text.startswith("50.0% of the 4 customers active")


def test_kaplan_meier_by_hand():
    durations = pd.DataFrame(
        {"segment": "X", "duration_days": [2.0, 3, 3, 5, 6], "churned": [1, 1, 0, 1, 0]}
    )
    curve = churn.km_curves(durations, min_customers=1).set_index("days")["survival"]
    # t=2: 5 at risk, 1 event -> 4/5 = 0.8; t=3: 4 at risk, 1 event -> 0.8 * 3/4 = 0.6;
    # t=5: 2 at risk (5 and 6), 1 event -> 0.6 * 1/2 = 0.3
    assert curve.to_dict() == pytest.approx({0.0: 1.0, 2.0: 0.8, 3.0: 0.6, 5.0: 0.3})
    summary = churn.km_summary(durations, min_customers=1, horizon_days=4).iloc[0]
    # the curve first drops to 0.5 or below at t=5; survival after 4 days = 0.6
    assert summary["median_days_to_churn"] == 5.0
    assert summary["not_churned_after_4_days"] == pytest.approx(0.6)
    assert churn.survival_at(churn.km_curves(durations, min_customers=1), 4).iloc[0] == pytest.approx(0.6)


def test_churn_durations_from_orders(customers):
    orders = _orders(
        [
            ("A", "2026-01-01", True), ("A", "2026-02-01", True),  # churn date 02-01 + 90 = 05-02
            ("B", "2026-03-01", True), ("B", "2026-06-01", True),  # 29 days before as-of: censored
        ]
    )
    frame = churn.churn_durations(customer_facts.run_pandas(orders, "2026-06-30"), customers, "2026-06-30", 90)
    frame = frame.set_index("customer_id")
    # A: 01-01 -> 05-02 = 121 days, churned; B: 03-01 -> 06-30 = 121 days, censored
    assert frame.loc["A", ["duration_days", "churned"]].tolist() == [121.0, 1]
    assert frame.loc["B", ["duration_days", "churned"]].tolist() == [121.0, 0]


def test_logrank_same_and_different_groups():
    same = pd.DataFrame(
        {"segment": ["a"] * 5 + ["b"] * 5, "duration_days": [2.0, 3, 4, 5, 6] * 2, "churned": [1, 1, 0, 1, 0] * 2}
    )
    result = churn.logrank_test(same, min_customers=1).iloc[0]
    # identical samples: observed = expected in each group -> chi2 0, p 1
    assert result["chi2"] == pytest.approx(0.0, abs=1e-12) and result["p_value"] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    apart = pd.DataFrame(
        {
            "segment": ["fast"] * 40 + ["slow"] * 40,
            "duration_days": np.r_[rng.exponential(10, 40), rng.exponential(200, 40)],
            "churned": 1,
        }
    )
    assert churn.logrank_test(apart).iloc[0]["p_value"] < 0.001


def test_churn_reasons_shares(orders):
    tickets = pd.DataFrame(
        {
            "customer_id": ["A", "E", "B", "B"],
            # windows: 180 days up to the churn date (A 04-14, E 04-01) or up to 06-30 for stayers
            "created_at": pd.to_datetime(["2026-03-20", "2026-03-10", "2026-05-05", "2025-06-01"]),
            "ticket_type": ["complaint", "complaint", "complaint", "complaint"],
            "complaint_type": ["delivery", "delivery", "quality", "delivery"],  # B's 2025 ticket is too old
            "comment": ["Delivery was late", "", "质量问题", "late delivery"],
        }
    )
    surveys = pd.DataFrame(
        {"customer_id": ["E"], "response_date": pd.to_datetime(["2026-03-05"]), "nps_score": [3.0], "csat_score": [4.0], "comment": [""]}
    )
    reasons = churn.churn_reasons(orders, "2026Q2", 30, tickets, surveys).set_index("reason")
    # churners A, E (both with feedback in their window); stayers B, D (only B has feedback)
    assert reasons["churners_with_feedback"].iloc[0] == 2 and reasons["stayers_with_feedback"].iloc[0] == 1
    assert reasons["churners"].iloc[0] == 2 and reasons["stayers"].iloc[0] == 2
    # delivery complaints: churners 2/2, stayers 0/1 -> ratio undefined
    assert reasons.loc["complaint: delivery", "churner_share"] == 1.0
    assert reasons.loc["complaint: delivery", "stayer_share"] == 0.0
    assert np.isnan(reasons.loc["complaint: delivery", "ratio"])
    # any complaint: churners 2/2, stayers 1/1 -> ratio 1
    assert reasons.loc["any complaint", "ratio"] == 1.0
    assert reasons.loc["complaint: quality", "stayer_share"] == 1.0
    assert reasons.loc["theme: delivery", "churner_share"] == 0.5  # A's comment
    assert reasons.loc["theme: quality", "stayer_share"] == 1.0  # B's Chinese comment
    assert reasons.loc["NPS detractor (0-6)", "churner_share"] == 0.5
    assert "CSAT 1-2" not in reasons.index
    # a ticket after the churn date is outside the window: A's delivery complaint no longer counts
    late = tickets.assign(created_at=pd.to_datetime(["2026-04-20", "2026-03-10", "2026-05-05", "2025-06-01"]))
    late_reasons = churn.churn_reasons(orders, "2026Q2", 30, late).set_index("reason")
    assert late_reasons.loc["complaint: delivery", "churners_with_reason"] == 1
    summary = churn.churn_feedback_summary(orders, "2026Q2", 30, tickets, surveys).set_index("group")
    # orders in the windows: churners A 1 + E 1 = 2 with 2 complaints -> 100 per 100 orders;
    # stayers B 2 + D 2 = 4 with 1 complaint -> 25 per 100 orders
    assert summary.loc["Churned this quarter", "complaints_per_100_orders"] == 100.0
    assert summary.loc["Stayed", "complaints_per_100_orders"] == 25.0
    assert summary.loc["Churned this quarter", "detractor_share"] == 1.0
    assert summary.loc["Stayed", "feedback_share"] == 0.5
    assert churn.churn_feedback_finding(summary.reset_index(), 180).startswith(
        "Churners filed 100.0 complaints per 100 orders in the 180 days before churning against 25.0"
    )


def test_invalid_inactivity_days(orders):
    with pytest.raises(ValueError, match="inactivity_days"):
        churn.churn_status(customer_facts.run_pandas(orders, "2026-06-30"), 0)
    with pytest.raises(ValueError, match="tickets or surveys"):
        churn.churn_reasons(orders, "2026Q2", 30)
