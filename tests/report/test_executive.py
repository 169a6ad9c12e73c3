"""The executive page: scorecard cells, sparkline geometry, each story rule on hand-made frames
(answers worked out by hand in the comments), and that a story without its evidence is not told."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from helpers.facts.kpis import DataSpans
from helpers.report import executive as ex
from helpers.report.executive import Evidence

NAN = np.nan
QUARTER = "2026Q3"  # previous quarter 2026Q2, a year ago 2025Q3


# --- scorecard -------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, unit, reason, expected", [
    (0.0667, "money", "", "▲ +6.7%"),
    (-0.062, "count", "", "▼ -6.2%"),
    (-7.559, "points", "", "▼ -7.6 pts"),
    (-0.0127, "share", "", "▼ -1.3 pp"),
    (0.0, "money", "", "0.0%"),              # no move: no arrow, no sign
    (0.00028, "share", "", "0.0 pp"),        # +0.03 pp shows as 0.0 pp: no direction to claim
    (-0.0004, "money", "", "0.0%"),
    (NAN, "share", "2026Q2 is only partly covered by the orders data", "not compared"),
    (NAN, "share", "", "–"),                  # missing, with no reason given
    (NAN, "share", NAN, "–"),                 # the CSV's empty not_compared reads back as NaN
])
def test_change_cell_arrow_sign_and_unit(change, unit, reason, expected):
    assert ex.change_cell(change, unit, reason) == expected


@pytest.mark.parametrize("target, met, expected", [
    (400.0, True, ("✓ met", "ci-met")),
    (25.0, "False", ("✗ not met", "ci-missed")),   # as read back from a CSV
    (NAN, None, ("– no target", "ci-none")),
    (NAN, True, ("– no target", "ci-none")),       # no target: nothing to meet, whatever the flag
    (0.3, NAN, ("– no value", "ci-none")),
])
def test_status_reads_without_colour(target, met, expected):
    assert ex.status_cell(target, met) == expected


def kpi_frame() -> pd.DataFrame:
    """Three KPIs: new customers met and up 10% (YoY not compared), churn down 2 pp but above its
    25% target, NPS up 5 points without a target, the quarter only partly covered for NPS."""
    return pd.DataFrame({
        "metric": ["new_customers", "churn_rate", "nps"],
        "label": ["New customers", "Churn rate", "Net Promoter Score"],
        "value": [110.0, 0.30, 20.0], "unit": ["count", "share", "points"],
        "qoq_change": [0.10, -0.02, 5.0], "yoy_change": [NAN, -0.01, -2.5],
        "target": [100.0, 0.25, NAN], "met": [True, False, None],
        "coverage": ["full", "full", "partial"],
        "not_compared": ["2025Q3 is not in the orders data", "", ""],
    })


def test_scorecard_rows_for_met_not_met_no_target_and_not_compared():
    card = ex.scorecard(kpi_frame(), "¥").set_index("metric")
    assert card.loc["new_customers", ["This quarter", "vs previous quarter", "vs a year ago", "Target", "Status"]
                    ].tolist() == ["110", "▲ +10.0%", "not compared", "100", "✓ met"]
    assert card.loc["churn_rate", ["This quarter", "vs previous quarter", "vs a year ago", "Target", "Status"]
                    ].tolist() == ["30.0%", "▼ -2.0 pp", "▼ -1.0 pp", "25.0%", "✗ not met"]
    assert card.loc["nps", ["This quarter", "vs previous quarter", "vs a year ago", "Target", "Status"]
                    ].tolist() == ["20.0 (partial quarter)", "▲ +5.0 pts", "▼ -2.5 pts", "no target", "– no target"]
    # Colour follows the KPI's good direction: churn down is good, new customers up is good.
    assert card.loc["churn_rate", "qoq_class"] == "ci-good" and card.loc["new_customers", "qoq_class"] == "ci-good"
    assert card.loc["nps", "yoy_class"] == "ci-bad" and card.loc["new_customers", "yoy_class"] == ""
    assert card["status_class"].tolist() == ["ci-met", "ci-missed", "ci-none"]


def test_scorecard_html_escapes_and_names_the_quarters():
    kpis = kpi_frame().assign(label=["New <b>customers</b>", "Churn rate", "Net Promoter Score"])
    page = ex.scorecard_html(kpis, "¥", QUARTER)
    assert "New &lt;b&gt;customers&lt;/b&gt;" in page and "<b>" not in page
    assert "<caption>KPIs, 2026Q3, against 2026Q2 and 2025Q3</caption>" in page
    assert "<td class='ci-missed'>✗ not met</td>" in page
    assert "Not compared: 2025Q3 is not in the orders data." in page


# --- sparkline -----------------------------------------------------------------------------------------

def test_sparkline_points_of_a_known_series():
    # x = 0, 50, 100 (n = 3 over 100 px); y from 20 (smallest) to 0 (largest).
    assert ex.sparkline_points([1, 2, 3], width=100, height=20, pad=0) == [[(0.0, 20.0), (50.0, 10.0), (100.0, 0.0)]]
    # pad 1: x = 1 + 10 i (30 px over 3 steps); y = 11 - 10 * (v - 1) / 2. The gap splits the line.
    assert ex.sparkline_points([1, NAN, 3, 2], width=32, height=12, pad=1) == [[(1.0, 11.0)],
                                                                               [(21.0, 1.0), (31.0, 6.0)]]
    assert ex.sparkline_points([5, 5], width=100, height=20, pad=0) == [[(0.0, 10.0), (100.0, 10.0)]]  # flat: mid height
    assert ex.sparkline_points([NAN, NAN]) == []
    with pytest.raises(ValueError, match="at least 2 values"):
        ex.sparkline_points([1.0])


def test_sparkline_svg_draws_the_points_and_says_what_it_shows():
    svg = ex.sparkline_svg([1, 2, 3], "NPS, 2026Q1 to 2026Q3: 1 < 3", width=100, height=20)
    (run,) = ex.sparkline_points([1, 2, 3], 100, 20)
    points = " ".join(f"{x},{y}" for x, y in run)
    assert points == "3.0,17.0 50.0,10.0 97.0,3.0"  # default pad 3
    assert f"points='{points}'" in svg
    assert "<title>NPS, 2026Q1 to 2026Q3: 1 &lt; 3</title>" in svg and "role='img'" in svg
    assert "<circle cx='97.0' cy='3.0'" in svg  # the dot on the last value
    assert ex.sparkline_svg([NAN, 4.0, NAN], "one value") == "–"


def orders_frame() -> pd.DataFrame:
    """Customer A buys in May 2026 (Q2) and August (Q3); B twice in July (Q3)."""
    return pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4"], "customer_id": ["A", "B", "B", "A"],
        "order_date": pd.to_datetime(["2026-05-01", "2026-07-10", "2026-07-20", "2026-08-01"]),
        "amount": [100.0, 50.0, 70.0, 30.0], "net_amount": [100.0, 50.0, 70.0, 30.0], "is_purchase": [True] * 4,
    })


def test_kpi_trend_per_quarter_and_partial_quarters_left_out():
    trend = ex.kpi_trend(orders_frame(), None, QUARTER, churn_days=90, quarters=2)
    assert trend.index.tolist() == ["2026Q2", "2026Q3"]
    assert trend["active_customers"].tolist() == [1.0, 2.0]
    assert trend["revenue"].tolist() == [100.0, 150.0]
    assert trend["nps"].isna().all()  # no surveys
    # The orders start on 1 May: 2026Q2 is partly covered, so none of its values is drawn.
    spans = DataSpans({"orders": {"first_day": "2026-05-01", "last_day": "2026-09-30"}})
    trend = ex.kpi_trend(orders_frame(), None, QUARTER, churn_days=90, spans=spans, quarters=2)
    assert trend.loc["2026Q2"].isna().all()
    assert trend.loc["2026Q3", ["active_customers", "revenue"]].tolist() == [2.0, 150.0]
    with pytest.raises(ValueError, match="at least 2 quarters"):
        ex.kpi_trend(orders_frame(), None, QUARTER, 90, quarters=1)


# --- the region story ------------------------------------------------------------------------------------

def region_evidence(actions: pd.DataFrame | None = None) -> Evidence:
    """South's NPS fell 30 points (20 -> -10), North's rose, West fell 50 but is suppressed.

    South's customers c1, c2 filed in 2026Q2 one delivery and two quality complaints; in 2026Q3
    three delivery complaints (all handled by Logistics) and one quality (Sales). Delivery rose
    most (1 -> 3), and Logistics handled 3 of South's 4 complaints. North's 5 delivery complaints
    and South's consultations do not count.
    """
    regions = pd.DataFrame({"region": ["North", "South", "West"], "nps": [40.0, -10.0, 0.0],
                            "nps_previous": [35.0, 20.0, 50.0], "nps_change": [5.0, -30.0, -50.0],
                            "suppressed": [False, False, True]})
    customers = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "region": ["South", "South", "North"]})
    rows = [("c1", "2026-05-03", "complaint", "delivery", "Logistics"),
            ("c2", "2026-05-04", "complaint", "quality", "After-sales"),
            ("c2", "2026-06-04", "complaint", "quality", "After-sales"),
            ("c1", "2026-07-03", "complaint", "delivery", "Logistics"),
            ("c1", "2026-08-03", "complaint", "delivery", "Logistics"),
            ("c2", "2026-09-03", "complaint", "delivery", "Logistics"),
            ("c2", "2026-09-05", "complaint", "quality", "Sales"),
            *[("c1", "2026-08-10", "consultation", None, "Sales")] * 3,
            *[("c3", "2026-08-11", "complaint", "delivery", "Logistics")] * 5]
    tickets = pd.DataFrame(rows, columns=["customer_id", "created_at", "ticket_type", "complaint_type", "department"])
    tickets.insert(0, "ticket_id", [f"T{i}" for i in range(len(tickets))])
    tickets["created_at"] = pd.to_datetime(tickets["created_at"])
    return Evidence(satisfaction_by_region=regions, customers=customers, tickets=tickets, actions=actions)


def nps_actions(owner: str = "Customer service") -> pd.DataFrame:
    return pd.DataFrame({
        "priority": [1, 2], "rule": ["nps_trailing_group", "kpi_below_target"],
        "problem": ["NPS trailing in South", "KPI below target: Average order value"],
        "description": ["NPS in South is -10.0", "Average order value was low"],
        "likely_cause": ["NPS in South moved -30.0 points", "South (region) accounts for -¥94 of the change"],
        "action": ["Detractor call-backs in South", "Bundles"], "owner": [owner, "Sales"],
        "deadline": ["2026-11-14", "2026-11-14"], "tracking_kpi": ["NPS of South", "Average order value"],
    })


def test_region_story_joins_the_nps_fall_with_the_complaints_and_the_department():
    story = ex.region_nps_story(region_evidence(nps_actions()), QUARTER)
    assert story.owner == "Logistics"
    assert story.text == (
        "NPS in South fell 30.0 points to -10.0 (from 20.0 in 2026Q2), while its delivery complaints went from 1 to 3; "
        "Logistics handled 3 of its 4 complaints this quarter, so the cause points to Logistics, yet the report's "
        "NPS actions for South go to Customer service.")  # the AOV action naming South (Sales) is not an NPS action
    assert story.chapters == ("02_needs", "05_crm_recommendations")


def test_region_story_says_nothing_more_when_the_action_already_goes_to_the_department():
    story = ex.region_nps_story(region_evidence(nps_actions(owner="Logistics")), QUARTER)
    assert story.text.endswith("so the cause points to Logistics.")
    assert ex.region_nps_story(region_evidence(), QUARTER).text.endswith("so the cause points to Logistics.")


def test_region_story_reads_only_the_actions_that_name_the_region_as_a_whole():
    # "Southeast" contains "South" but is another region: its action is not one for South.
    other = nps_actions().assign(problem="NPS trailing in Southeast", description="", likely_cause="",
                                 action="Call-backs in Southeast", tracking_kpi="NPS of Southeast")
    assert ex.region_nps_story(region_evidence(other), QUARTER).text.endswith("so the cause points to Logistics.")


def test_region_story_is_skipped_without_its_evidence():
    evidence = region_evidence(nps_actions())
    assert ex.region_nps_story(dataclasses.replace(evidence, tickets=None), QUARTER) is None
    assert ex.region_nps_story(dataclasses.replace(evidence, satisfaction_by_region=None), QUARTER) is None
    assert ex.region_nps_story(dataclasses.replace(evidence, customers=None), QUARTER) is None
    no_department = evidence.tickets.drop(columns="department")
    assert ex.region_nps_story(dataclasses.replace(evidence, tickets=no_department), QUARTER) is None
    rose = evidence.satisfaction_by_region.assign(nps_change=[5.0, 2.0, -50.0])  # only the suppressed one fell
    assert ex.region_nps_story(dataclasses.replace(evidence, satisfaction_by_region=rose), QUARTER) is None
    # No complaint type of South rose in 2026Q3 (the Q3 tickets moved to Q1): no cause, no story.
    earlier = evidence.tickets.assign(created_at=evidence.tickets["created_at"].where(
        evidence.tickets["created_at"] < "2026-07-01", pd.Timestamp("2026-02-01")))
    assert ex.region_nps_story(dataclasses.replace(evidence, tickets=earlier), QUARTER) is None


# --- the KPI story --------------------------------------------------------------------------------------

def kpi_overview(csat_significant: bool = False) -> pd.DataFrame:
    """NPS fell 7.56 points (interval -17.54 to 2.13, half-width 9.84: 0.77 half-widths) and missed
    its target; AOV fell 0.16% (half-width 5.4%: 0.03) and missed; churn fell (good); CSAT fell
    3 pp but met its target."""
    return pd.DataFrame({
        "metric": ["average_order_value", "churn_rate", "nps", "csat"],
        "label": ["Average order value", "Churn rate", "Net Promoter Score", "Customer satisfaction (CSAT)"],
        "value": [3078.08, 0.323, 20.27, 0.765], "unit": ["money", "share", "points", "share"],
        "qoq_change": [-0.0016, -0.001, -7.559, -0.0296], "yoy_change": [0.03, -0.016, 0.6, 0.0075],
        "target": [3200.0, 0.30, 25.0, 0.75], "met": [False, False, False, True],
        "change_low": [-0.0565, -0.033, -17.54, -0.050], "change_high": [0.0514, 0.031, 2.13, -0.009],
        "significant": [False, False, False, csat_significant], "not_compared": ["", "", "", ""],
    })


def kpi_actions() -> pd.DataFrame:
    return pd.DataFrame({
        "priority": [1, 2], "rule": ["kpi_below_target", "kpi_below_target"],
        "problem": ["KPI below target: Net Promoter Score", "KPI below target: Churn rate"],
        "likely_cause": ["South (region) accounts for -11.5 pts of the change", "no single group stands out"],
        "action": ["Close the loop with every detractor", "Contact the at-risk list"],
        "owner": ["Customer service", "Customer success"], "deadline": ["2026-11-14", "2026-11-30"],
        "tracking_kpi": ["Net Promoter Score", "Churn rate"],
    })


def test_kpi_story_tells_the_largest_adverse_change_with_its_cause():
    story = ex.kpi_change_story(Evidence(kpis=kpi_overview(), actions=kpi_actions()), "¥")
    assert story.text == ("Net Promoter Score fell 7.6 points to 20.3 against a target of 25.0 (within chance "
                          "variation); likely cause: South (region) accounts for -11.5 pts of the change; owner: "
                          "Customer service, by 2026-11-14.")
    assert story.owner == "Customer service"


def test_kpi_story_puts_a_change_beyond_chance_first_and_needs_its_action():
    # CSAT's change is significant: it goes first even though it met its target; no action tracks it.
    evidence = Evidence(kpis=kpi_overview(csat_significant=True), actions=kpi_actions())
    assert ex.kpi_change_story(evidence, "¥") is None
    csat_action = kpi_actions().iloc[[0]].assign(tracking_kpi="Customer satisfaction (CSAT)", owner="Customer service",
                                                 likely_cause="after-sales tickets waited longer")
    story = ex.kpi_change_story(dataclasses.replace(evidence, actions=csat_action), "¥")
    assert story.text == ("Customer satisfaction (CSAT) fell 3.0 pp to 76.5% against a target of 75.0% (beyond "
                          "chance variation); likely cause: after-sales tickets waited longer; owner: Customer "
                          "service, by 2026-11-14.")


def test_kpi_story_is_skipped_without_its_evidence():
    assert ex.kpi_change_story(Evidence(kpis=kpi_overview()), "¥") is None             # chapter 05 not run
    assert ex.kpi_change_story(Evidence(actions=kpi_actions()), "¥") is None          # chapter 01 not run
    improving = kpi_overview().assign(qoq_change=[0.01, -0.01, 2.0, 0.01])           # every move the right way
    assert ex.kpi_change_story(Evidence(kpis=improving, actions=kpi_actions()), "¥") is None
    not_compared = kpi_overview().assign(qoq_change=NAN, not_compared="2026Q2 is only partly covered")
    assert ex.kpi_change_story(Evidence(kpis=not_compared, actions=kpi_actions()), "¥") is None


# --- the at-risk and the product stories ---------------------------------------------------------------------

def at_risk_evidence() -> Evidence:
    """Three at-risk high-value customers with ¥1,000 + ¥2,000 + ¥500 of CLV; two of them inactive
    60 days (the model codes do not count as a reason); two in South."""
    at_risk = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "clv": [1000.0, 2000.0, 500.0],
                            "reason_codes": ["MODEL_SCORE_HIGH;INACTIVE_60D", "MODEL_SCORE_ELEVATED;INACTIVE_60D;DETRACTOR",
                                             "MODEL_SCORE_ELEVATED;COMPLAINT_90D"]})
    actions = pd.DataFrame({"priority": [1, 2], "rule": ["kpi_below_target", "high_value_at_risk"],
                            "owner": ["Sales", "Key account management"], "deadline": ["2026-11-01", "2026-11-14"]})
    customers = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "region": ["South", "South", "North"]})
    return Evidence(at_risk=at_risk, actions=actions, customers=customers)


def test_at_risk_story():
    story = ex.at_risk_story(at_risk_evidence(), "¥")
    assert story.text == ("3 high-value customers are at risk of churning, carrying ¥3,500 of 12-month CLV (2 of them "
                          "in South); the most common reason is no purchase for 60 days or more (2 of 3), and the calls "
                          "to keep them point to Key account management by 2026-11-14.")
    assert "MODEL_SCORE" not in story.text and "_" not in story.text


def test_at_risk_story_is_skipped_without_its_evidence():
    evidence = at_risk_evidence()
    assert ex.at_risk_story(dataclasses.replace(evidence, actions=None), "¥") is None
    assert ex.at_risk_story(dataclasses.replace(evidence, at_risk=evidence.at_risk.iloc[:0]), "¥") is None
    model_only = evidence.at_risk.assign(reason_codes="MODEL_SCORE_HIGH")
    assert ex.at_risk_story(dataclasses.replace(evidence, at_risk=model_only), "¥") is None
    # Without the customers table the story is told without the region.
    assert "of them in" not in ex.at_risk_story(dataclasses.replace(evidence, customers=None), "¥").text


def product_evidence() -> Evidence:
    """Router (P1) has 12 complaints against 3 expected and beyond chance; P2 has a larger ratio
    (10) but not beyond chance. P1's complaints in 2026Q3: 2 quality, 1 delivery (5 quality in Q2)."""
    products = pd.DataFrame({"product_id": ["P1", "P2"], "product_name": ["Router", "Mouse"],
                             "longest_run_months": [3, 2], "complaints": [12, 10], "orders": [161, 40],
                             "expected_complaints": [3.0, 1.0], "significant": [True, False]})
    rows = [*[("P1", "2026-08-01", "quality")] * 2, ("P1", "2026-09-01", "delivery"), *[("P1", "2026-05-01", "quality")] * 5,
            *[("P2", "2026-08-01", "billing")] * 4]
    tickets = pd.DataFrame(rows, columns=["product_id", "created_at", "complaint_type"]).assign(
        ticket_type="complaint", customer_id="c1", created_at=lambda d: pd.to_datetime(d["created_at"]))
    tickets.insert(0, "ticket_id", [f"T{i}" for i in range(len(tickets))])
    actions = pd.DataFrame({"priority": [3, 4], "problem": ["Product with a persistent complaint rate: Router (P1)",
                                                            "Product with a persistent complaint rate: Mouse (P2)"],
                            "owner": ["Product quality", "Sales"], "deadline": ["2026-11-14", "2026-11-14"]})
    return Evidence(complaint_products=products, tickets=tickets, actions=actions)


def test_complaint_product_story():
    story = ex.complaint_product_story(product_evidence(), QUARTER)
    assert story.text == ("Router drew 12 complaints on 161 orders against 3.0 expected at the overall rate, above it "
                          "3 months running; most were quality complaints (2 of 3 this quarter), which points to "
                          "Product quality by 2026-11-14.")


def test_complaint_product_story_is_skipped_without_its_evidence():
    evidence = product_evidence()
    assert ex.complaint_product_story(dataclasses.replace(evidence, tickets=None), QUARTER) is None
    assert ex.complaint_product_story(dataclasses.replace(evidence, actions=None), QUARTER) is None
    none_significant = evidence.complaint_products.assign(significant=False)
    assert ex.complaint_product_story(dataclasses.replace(evidence, complaint_products=none_significant), QUARTER) is None


def test_main_stories_in_rule_order_and_none_without_evidence():
    evidence = dataclasses.replace(region_evidence(nps_actions()), kpis=kpi_overview(),
                                   actions=pd.concat([nps_actions(), kpi_actions()], ignore_index=True),
                                   at_risk=at_risk_evidence().at_risk)
    stories = ex.main_stories(evidence, QUARTER, "¥")
    assert [s.rule for s in stories] == ["kpi_change", "region_nps"]  # no at-risk action, no products
    assert ex.main_stories(Evidence(), QUARTER, "¥") == []
    assert "No main story could be told" in ex.stories_html([], {}, [])


# --- actions, what changed, the whole block --------------------------------------------------------------------

def test_top_actions_by_priority_with_owner_and_date():
    actions = pd.DataFrame({"priority": [2, 1, 3], "problem": ["B", "A <x>", "C"],
                            "action": ["call everyone on at_risk_high_value.csv", "fix", "later"],
                            "owner": ["Key account management", "Logistics", "Sales"],
                            "deadline": ["2026-11-14", "2026-10-31", "2026-12-01"]})
    table = ex.top_actions_table(actions, n=2)
    assert table.to_dict("list") == {"#": [1, 2], "Problem": ["A <x>", "B"],
                                     "Action": ["fix", "call everyone on at_risk_high_value.csv"],
                                     "Owner": ["Logistics", "Key account management"], "Due": ["2026-10-31", "2026-11-14"]}
    page = ex.top_actions_html(actions, n=2)
    assert "A &lt;x&gt;" in page and "<code>at_risk_high_value.csv</code>" in page
    assert "1 more in the" in page
    assert ex.top_actions_html(None) == "" and ex.top_actions_html(None, fallback=["do x"]).endswith("<li>do x</li></ol>")


def test_segment_changes_and_closed_loop():
    summary = pd.DataFrame({"segment": ["Champions", "New", "Lost"], "customers": [1172, 215, 886],
                            "customers_previous": [1013, 243, 886]})
    table = ex.segment_changes(summary)
    assert table["Change"].tolist() == ["+159", "-28", "0"]
    lists = pd.DataFrame({"list": ["at_risk_high_value.csv"], "customers on it": [10],
                          "outcome": ["retained (bought this quarter)"], "customers with the outcome": [7], "share": [0.7]})
    page = ex.changes_html(Evidence(rfm_summary=summary, closed_loop_lists=lists), QUARTER)
    assert "Largest moves in the RFM segments: Champions +159 (1,013 to 1,172); New -28 (243 to 215)." in page
    assert "end of 2026Q2 and of 2026Q3" in page
    assert "At-risk high-value customers: 7 of 10 retained (bought this quarter) (70.0%)." in page
    assert ex.changes_html(Evidence()) == ""  # nothing compares: no block


def test_executive_block_without_any_artifact_says_so():
    page = ex.executive_html(Evidence(), QUARTER, "¥", {}, [])
    assert "Not available: the KPI table" in page and "No main story could be told" in page
    assert "Top actions" not in page and "What changed" not in page


def test_identifiers_in_passed_on_text_are_set_as_code():
    assert ex.inline_html("largest rule is exact_duplicate on <orders>") == \
        "largest rule is <code>exact_duplicate</code> on &lt;orders&gt;"
