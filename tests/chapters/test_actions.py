"""Action lists, reason codes, follow-up plan and the closed loop on hand-made frames."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import make_orders

from helpers.chapters import actions
from helpers.errors import NotAvailable
from helpers.facts import customer_facts
from helpers.facts.kpis import KPIS, DataSpans, compute_kpis
from helpers.params import BehaviourOptions, load_params
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
    lists = actions.closed_loop_lists(actions.read_action_lists(artifacts), orders, Q3).set_index("list")
    assert list(lists.index) == ["at_risk_high_value.csv", "cross_sell.csv"]   # only the lists the folder holds
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
    finding = actions.closed_loop_finding(lists.reset_index(), moves.reset_index(), "the 2026Q2 report of 2026-07-03")
    assert finding.startswith("Against the 2026Q2 report of 2026-07-03: 66.7% of the 3 at-risk high-value customers "
                              "were retained; ")


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
    assert actions.win_back_finding(table, "¥", churn_days=90) == (
        "No customer is on the win-back list: none made a last purchase between 90 and 454 days ago (churned, with "
        "no purchase for 90 days or more, and churned for less than 365 days).")


def test_follow_up_plan_flags_triggers_this_quarter_already_breaches():
    kpis = pd.DataFrame([
        {"metric": "revenue", "value": 100.0, "target": np.nan},               # no target: a 10% move, not breached
        {"metric": "nps", "value": 20.3, "target": 25.0},                      # trigger 25 - 5 = 20.0: not below
        {"metric": "active_customers", "value": 1859.0, "target": 2000.0},     # trigger 2000 - 5% = 1,900: below
        {"metric": "churn_rate", "value": 0.323, "target": 0.30},              # trigger 30% + 2 pp = 32.0%: above
        {"metric": "repeat_purchase_rate", "value": 0.28, "target": 0.30},     # trigger 28.0%: on it, not below
    ])
    plan = actions.follow_up_plan(kpis, pd.DataFrame({"tracking_kpi": ["Net Promoter Score"]}), "¥")
    assert plan["kpi"].tolist()[:2] == ["Active customers", "Churn rate"]     # breached first, in the KPIs' order
    flags = plan.set_index("kpi")
    assert flags["breached"].to_dict() == {"Active customers": "yes", "Churn rate": "yes", "Net Promoter Score": "no",
                                           "Revenue (net)": "no", "Repeat-purchase rate": "no"}
    assert flags.loc["Active customers", "trigger"] == "below 1,900"
    assert flags.loc["Active customers", "re-analyse when"] == "below 1,900 at a check"
    assert plan["kpi"].tolist()[2] == "Net Promoter Score"                     # then the KPI in an action
    assert actions.breached_finding(plan) == (
        "Already breached: Active customers 1,859 against below 1,900; Churn rate 32.3% against above 32.0%.")
    assert actions.breached_finding(plan.loc[plan["breached"] == "no"]) == (
        "No re-analysis trigger is breached by this quarter's values.")


def previous_quarter_orders() -> pd.DataFrame:
    """Orders around 2026Q2 with categories: H(ardware), T(raining), S(oftware)."""
    rows = [  # (order, customer, date, amount, category)
        ("w1", "w", "2025-09-01", 100, "S"), ("w2", "w", "2026-02-01", 40, "S"),   # lapsed by 2026-06-30
        ("d1", "d", "2025-12-01", 45, "H"),                                         # lapsed by 2026-06-30
        ("p1", "p", "2026-06-10", 50, "H"), ("p1", "p", "2026-06-10", 20, "T"),
        ("q1", "q", "2026-06-12", 60, "H"), ("q1", "q", "2026-06-12", 30, "T"),
        ("r1", "r", "2026-06-15", 25, "S"), ("r2", "r", "2026-06-20", 35, "S"),
        ("c1", "c", "2026-06-01", 80, "H"),                                         # H without T, still active
        ("n1", "n", "2026-05-10", 30, "S"),
        # 2026Q3, after the day the lists are recomputed for
        ("n2", "n", "2026-07-15", 30, "S"), ("w3", "w", "2026-08-10", 10, "S"), ("c2", "c", "2026-09-01", 15, "T"),
        ("q2", "q", "2026-09-05", 60, "H"), ("e1", "e", "2026-08-01", 70, "H"),
    ]
    orders = make_orders([row[:4] for row in rows])
    orders["category"] = [row[4] for row in rows]
    return orders.sort_values("order_date", kind="stable").reset_index(drop=True)


def test_recomputed_lists_are_those_of_the_previous_quarter_end():
    orders = previous_quarter_orders()
    q2 = Q3.previous()
    lists, notes = actions.recomputed_lists(facts_as_of(orders, "2026-06-30"), orders, q2, 90, BehaviourOptions())
    assert set(lists) == {"win_back.csv", "onboarding.csv", "cross_sell.csv"}
    # lapsed (last purchase 90 days or more before 2026-06-30): w (149 days, spent 100 + 40 in the
    # year up to 2026-02-01) and d (211 days, 45)
    win_back = lists["win_back.csv"]
    assert win_back["customer_id"].tolist() == ["w", "d"]
    assert win_back["revenue_year_before_lapse"].tolist() == [140.0, 45.0]
    assert win_back["days_since_last_purchase"].tolist() == [149, 211]
    # first purchase in 2026Q2 and one order by 2026-06-30 (r has two; n's second is in July)
    onboard = lists["onboarding.csv"]
    assert onboard["customer_id"].tolist() == ["q", "c", "p", "n"]
    assert onboard["first_order_value"].tolist() == [90.0, 80.0, 70.0, 30.0]
    # 9 baskets from 2025Q3 to 2026Q2; H in 4, T in 2, both in 2: H -> T has confidence 2/4 and lift
    # 0.5 / (2/9) = 2.25. c bought H without T and is active; d too but has lapsed; e came later.
    cross = lists["cross_sell.csv"]
    assert cross[["customer_id", "antecedent", "consequent"]].values.tolist() == [["c", "H", "T"]]
    assert cross["lift"].tolist() == [pytest.approx(2.25)]
    assert notes == ["The at-risk high-value list is left out: it needs the churn scores and CLV tiers as of "
                     "2026-06-30, which only the 2026Q2 report computes."]
    # checked against 2026Q3: w came back; n, q and c ordered again; c bought the suggested T
    outcomes = actions.closed_loop_lists(lists, orders, Q3).set_index("list")
    assert outcomes["customers on it"].to_dict() == {"win_back.csv": 2, "onboarding.csv": 4, "cross_sell.csv": 1}
    assert outcomes["customers with the outcome"].to_dict() == {"win_back.csv": 1, "onboarding.csv": 3,
                                                                "cross_sell.csv": 1}
    assert outcomes.loc["onboarding.csv", "share"] == pytest.approx(0.75)


def test_recomputed_lists_leave_out_cross_sell_without_two_categories():
    orders = previous_quarter_orders().assign(category="Uncategorised")
    lists, notes = actions.recomputed_lists(facts_as_of(orders, "2026-06-30"), orders, Q3.previous(), 90,
                                            BehaviourOptions(max_products=0))
    assert "cross_sell.csv" not in lists and len(lists["win_back.csv"]) == 2
    assert notes[1].startswith("The cross-sell list is left out: the orders name fewer than two categories")


def chapter_for_the_closed_loop(outputs, first_day: str = "2025-09-01"):
    """A chapter of 2026Q3 for ``LastQuarter.from_chapter``, and its KPI table."""
    orders = previous_quarter_orders()
    params = load_params(quarter="2026Q3")
    coverage = {"orders": {"first_day": first_day, "last_day": "2026-09-05"}}

    def previous_report():
        found = sorted(outputs.glob("2026Q2/*"))
        return found[-1] if found else None

    ch = SimpleNamespace(params=params, period=Q3, log={"coverage": coverage},
                         table={"orders": orders, "surveys": None}.get, spans=DataSpans(coverage, 0),
                         previous_report=previous_report,
                         customer_facts=lambda day: facts_as_of(orders, str(pd.Timestamp(day).date())))
    return ch, compute_kpis(orders, None, Q3, params.churn_inactivity_days, params.kpi_targets.model_dump(), ch.spans)


def test_last_quarter_without_an_earlier_report_is_recomputed(tmp_path):
    last = actions.LastQuarter.from_chapter(*chapter_for_the_closed_loop(tmp_path))
    assert last.source == "2026Q2 (recomputed from the data as of 2026-06-30; no earlier report found)"
    assert last.lists["win_back.csv"]["customer_id"].tolist() == ["w", "d"]
    kpis = last.kpis.set_index("metric")["value"]
    # 2026Q2: p, q, r, c and n bought; 70 + 90 + 60 + 80 + 30 = 330
    assert kpis["active_customers"] == 5 and kpis["revenue"] == 330.0
    assert last.notes[0].startswith("The at-risk high-value list is left out")
    with pytest.raises(NotAvailable, match="no report for 2026Q2 was found and the orders start on 2026-07-01"):
        actions.LastQuarter.from_chapter(*chapter_for_the_closed_loop(tmp_path, first_day="2026-07-01"))


def test_last_quarter_with_an_earlier_report_uses_its_lists(tmp_path):
    artifacts = tmp_path / "2026Q2" / "2026-07-03" / "artifacts"
    artifacts.mkdir(parents=True)
    pd.DataFrame({"customer_id": ["007", "x"]}).to_csv(artifacts / "win_back.csv", index=False)
    pd.DataFrame([{"metric": "revenue", "value": 400.0, "target": np.nan}]).to_csv(artifacts / "kpi_overview.csv",
                                                                                   index=False)
    last = actions.LastQuarter.from_chapter(*chapter_for_the_closed_loop(tmp_path))
    assert last.source == "the 2026Q2 report of 2026-07-03" and last.notes == []
    assert list(last.lists) == ["win_back.csv"]
    assert last.lists["win_back.csv"]["customer_id"].tolist() == ["007", "x"]   # ids keep their leading zeros
    assert last.kpis["value"].tolist() == [400.0]


def test_last_quarter_from_a_report_without_its_kpi_table_recomputes_the_kpis(tmp_path):
    artifacts = tmp_path / "2026Q2" / "2026-07-03" / "artifacts"
    artifacts.mkdir(parents=True)
    pd.DataFrame({"customer_id": ["w"]}).to_csv(artifacts / "win_back.csv", index=False)
    last = actions.LastQuarter.from_chapter(*chapter_for_the_closed_loop(tmp_path))
    assert last.lists["win_back.csv"]["customer_id"].tolist() == ["w"]
    assert last.kpis.set_index("metric").loc["revenue", "value"] == 330.0     # 2026Q2 from the data
    assert last.notes == ["That report holds no KPI table; last quarter's KPIs are recomputed from the data."]
