"""Action lists, reason codes, follow-up plan and the closed loop on hand-made frames."""
import numpy as np
import pandas as pd
import pytest
from conftest import make_orders

from helpers.chapters import actions
from helpers.facts import customer_facts
from helpers.facts.kpis import KPIS
from helpers.quarters import Quarter

Q3 = Quarter.parse("2026Q3")
AS_OF = Q3.end


def test_reason_codes_combine_every_signal():
    frame = pd.DataFrame({"churn_probability": [0.8, 0.55, 0.2], "days_since_last_purchase": [70, 10, 10],
                          "complaints_90d": [1, 0, 0], "last_nps": [5, 9, np.nan], "last_csat": [4, 1, np.nan],
                          "p_alive": [0.3, 0.9, 0.9]})
    assert actions.reason_codes(frame).tolist() == [
        "MODEL_SCORE_HIGH;INACTIVE_60D;COMPLAINT_90D;DETRACTOR;LOW_P_ALIVE", "MODEL_SCORE_ELEVATED;LOW_CSAT", ""]


def facts_as_of(orders: pd.DataFrame, day: str = "2026-09-30") -> pd.DataFrame:
    return customer_facts.run_pandas(orders, day)


def test_at_risk_high_value_filters_and_orders_by_expected_loss():
    clv = pd.DataFrame({"customer_id": ["a", "b", "c"], "clv_12m": [1000.0, 3000.0, 5000.0], "p_alive": [0.4, 0.8, 0.9],
                        "value_tier": ["high", "high", "medium"]})
    scores = pd.DataFrame({"customer_id": ["a", "b", "c"], "churn_probability": [0.9, 0.6, 0.9]})
    # the customer facts of the quarter's last day, as the preparation computes them
    known = pd.DataFrame({"customer_id": ["a", "b", "c"], "days_since_last_purchase": [91, 10, 5],
                          "complaints_90d": [1, 0, 0], "last_nps": [np.nan, 9.0, 3.0], "last_csat": [np.nan, 2.0, 5.0]})
    table = actions.at_risk_high_value_list(clv, scores, known, threshold=0.5)
    # c is medium tier -> out; b: 3000 x 0.6 = 1800 > a: 1000 x 0.9 = 900
    assert table["customer_id"].tolist() == ["b", "a"]
    assert table.set_index("customer_id").loc["a", "reason_codes"] == "MODEL_SCORE_HIGH;INACTIVE_60D;COMPLAINT_90D;LOW_P_ALIVE"
    assert table.set_index("customer_id").loc["b", "reason_codes"] == "MODEL_SCORE_ELEVATED;LOW_CSAT"
    # a threshold of 70% keeps only a (0.9); exactly the threshold counts as at risk
    assert actions.at_risk_high_value_list(clv, scores, known, threshold=0.7)["customer_id"].tolist() == ["a"]
    assert actions.at_risk_high_value_list(clv, scores, known, threshold=0.6)["customer_id"].tolist() == ["b", "a"]


def test_risk_groups_count_each_notion_and_their_overlaps():
    scores = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "churn_probability": [0.9, 0.5, 0.49, 0.7]})
    segments = pd.DataFrame({"customer_id": ["a", "e", "f", "b"], "segment": ["At risk", "At risk", "Lost", "Loyal"]})
    clv = pd.DataFrame({"customer_id": ["a", "b", "c", "e"], "value_tier": ["high", "high", "high", "high"]})
    groups = actions.risk_groups(scores, segments, clv, 0.5).set_index("group")["customers"].tolist()
    # model: a, b, d (0.49 is below); RFM At risk: a, e; high tier: a, b, c, e
    assert groups == [3, 2, 4, 2, 1, 2]   # model & high: a, b; model & RFM: a; RFM & high: a, e
    text = actions.risk_groups_finding(actions.risk_groups(scores, segments, clv, 0.5), 0.5)
    assert text.startswith("3 customers are at risk by the churn model (probability 50% or more) and 2 are in the "
                           "RFM segment 'At risk'; 1 are in both")


def test_win_back_window_and_spend_before_lapse():
    orders = make_orders([
        ("x1", "x", "2025-04-01", 1000), ("x2", "x", "2025-06-01", 100), ("x3", "x", "2026-05-01", 50),
        ("y1", "y", "2026-08-01", 70),        # bought 60 days ago: not lapsed
        ("z1", "z", "2025-01-01", 500),       # lapsed more than a year beyond the window
        ("w1", "w", "2026-07-02", 80),        # exactly 90 days before 2026-09-30: churned, so on the list
        ("w2", "w", "2026-10-05", 999),       # after the quarter: not seen
    ])
    table = actions.win_back(facts_as_of(orders), orders, churn_days=90)
    assert table["customer_id"].tolist() == ["x", "w"]
    # the year before 2026-05-01 holds 2025-06-01 (100) and 2026-05-01 (50); 2025-04-01 is older
    assert table.iloc[0]["revenue_year_before_lapse"] == 150
    assert table.iloc[0]["days_since_last_purchase"] == 152
    assert table.iloc[1]["revenue_year_before_lapse"] == 80 and table.iloc[1]["days_since_last_purchase"] == 90


def test_onboarding_lists_single_order_new_customers():
    orders = make_orders([("a1", "a", "2026-07-01", 10), ("a2", "a", "2026-07-09", 10), ("b1", "b", "2026-08-01", 200),
                          ("c1", "c", "2026-05-01", 10), ("c2", "c", "2026-08-01", 10),
                          ("d1", "d", "2026-09-30 23:59", 30), ("d2", "d", "2026-10-01", 30)])  # d's 2nd order: next quarter
    table = actions.onboarding(facts_as_of(orders), Q3)
    assert table["customer_id"].tolist() == ["b", "d"]
    assert table.iloc[0]["first_order_value"] == 200 and table.iloc[0]["days_since_first_order"] == 60
    assert table.iloc[1]["days_since_first_order"] == 0


def test_cross_sell_keeps_best_suggestion_per_customer():
    candidates = pd.DataFrame({"customer_id": ["a", "a", "b"], "antecedent": ["H", "H", "S"],
                               "consequent": ["A", "T", "T"], "score": [1.0, 3.0, 2.0]})
    assert actions.cross_sell_list(candidates)[["customer_id", "consequent"]].values.tolist() == [["a", "T"], ["b", "T"]]


def test_closed_loop_lists_and_kpis(tmp_path):
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    pd.DataFrame({"customer_id": ["a", "b", "c"]}).to_csv(artifacts / "at_risk_high_value.csv", index=False)
    pd.DataFrame({"customer_id": ["a", "d"], "consequent": ["Training", "Hardware"]}).to_csv(
        artifacts / "cross_sell.csv", index=False)
    orders = make_orders([("o1", "a", "2026-07-02", 5), ("o2", "b", "2026-08-02", 5), ("o3", "c", "2026-06-02", 5)])
    orders["category"] = ["Training", "Hardware", "Hardware"]
    lists = actions.closed_loop_lists(artifacts, orders, Q3).set_index("list")
    assert lists.loc["at_risk_high_value.csv", "customers with the outcome"] == 2      # a and b bought in Q3
    assert lists.loc["at_risk_high_value.csv", "share"] == pytest.approx(2 / 3)
    assert lists.loc["cross_sell.csv", "customers with the outcome"] == 1             # a bought Training
    rows = [{"metric": m, "value": 100.0, "target": 150.0} for m in KPIS]
    previous, current = pd.DataFrame(rows), pd.DataFrame(rows)
    current.loc[current["metric"] == "revenue", "value"] = 120.0
    current.loc[current["metric"] == "churn_rate", "value"] = 120.0
    moves = actions.closed_loop_kpis(previous, current, "¥").set_index("kpi")
    assert moves.loc["Revenue (net)", "moved the right way"] == "yes"
    assert moves.loc["Revenue (net)", "target met now"] == "no"
    assert moves.loc["Churn rate", "moved the right way"] == "no"        # churn rising is the wrong way
    finding = actions.closed_loop_finding(lists.reset_index(), moves.reset_index(), "2026Q2")
    assert "66.7% of the 3 at-risk high-value customers were retained" in finding


def test_follow_up_plan_triggers():
    kpis = pd.DataFrame([{"metric": "churn_rate", "value": 0.3, "target": 0.25}, {"metric": "revenue", "value": 100.0,
                                                                                 "target": np.nan}])
    plan = actions.follow_up_plan(kpis, pd.DataFrame({"tracking_kpi": ["Churn rate"]}), "¥").set_index("kpi")
    assert plan.loc["Churn rate", "re-analyse when"] == "above 27.0% at a check"   # target + 2 points
    assert plan.loc["Churn rate", "frequency"] == "monthly"
    assert plan.loc["Churn rate", "in an action this quarter"] == "yes"
    assert plan.loc["Revenue (net)", "frequency"] == "quarterly"
    # a KPI without a target: no target shown, and the trigger is a move of 10% (not a target miss)
    assert plan.loc["Revenue (net)", "target"] == "no target"
    assert plan.loc["Revenue (net)", "re-analyse when"] == "moves more than 10% from this quarter's value"
    assert plan.loc["Churn rate", "target"] == "25.0%"


def test_closed_loop_without_targets_judges_no_target():
    previous = pd.DataFrame([{"metric": m, "value": 100.0, "target": np.nan} for m in KPIS])
    current = previous.assign(value=120.0)
    moves = actions.closed_loop_kpis(previous, current, "¥").set_index("kpi")
    assert (moves["target"] == "no target").all()
    assert (moves["target met now"] == "no target").all()
    assert not moves["target met now"].isin(["yes", "no"]).any()
    assert moves.loc["Revenue (net)", "moved the right way"] == "yes"      # 100 -> 120, higher is better
    assert moves.loc["Churn rate", "moved the right way"] == "no"


def test_findings_read_from_the_numbers():
    at_risk = pd.DataFrame({"clv": [1000.0, 3000.0], "reason_codes": ["INACTIVE_60D;DETRACTOR", "INACTIVE_60D"]})
    assert actions.at_risk_finding(at_risk, "¥") == ("2 high-value customers are at risk, carrying ¥4,000 of 12-month "
                                                     "CLV; the most common reason is INACTIVE_60D (2 customers).")
    assert actions.at_risk_finding(at_risk.iloc[0:0], "¥").startswith("No high-value customer")
    assert actions.onboarding_finding(pd.DataFrame({"customer_id": ["a", "b"]}), 8) == (
        "2 of this quarter's new customers have not ordered a second time yet (25.0% of them).")


def test_win_back_is_empty_when_nobody_has_lapsed():
    orders = make_orders([("a1", "a", "2026-09-01", 10), ("b1", "b", "2026-08-15", 20)])
    table = actions.win_back(facts_as_of(orders), orders, churn_days=90)
    assert table.empty and list(table.columns)[:3] == ["customer_id", "last_purchase_date", "days_since_last_purchase"]
    assert actions.win_back_finding(table, "¥") == "No customer lapsed within the last year."
