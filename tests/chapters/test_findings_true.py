"""Findings are true to the tables they sit under: built from the frame the section shows, with
the rule they apply in the sentence, on frames where a careless reading gives another answer."""
import numpy as np
import pandas as pd
import pytest
from conftest import make_orders

from helpers.chapters import actions, basket, diagnosis, overview, satisfaction
from helpers.facts import customer_facts
from helpers.quarters import Quarter

Q = "2026Q3"


# ----------------------------------------------------------------------------- 02 NPS by region
def _region_surveys() -> tuple[pd.DataFrame, pd.DataFrame]:
    """NPS answers of 2026Q3 (and 2026Q2 for the detractor change) by region:

    A  2 answers [10, 10]            NPS 100              (shown: at least 2 answers)
    B  4 answers [10, 10, 9, 0]      (3 - 1) / 4 = NPS 50
    C  5 answers [10, 0, 0, 8, 9]    (2 - 2) / 5 = NPS 0; 2026Q2 [10, 9]: detractors 0% -> 40%, +40.0 pp
    D  1 answer  [0]                 NPS -100, blanked (fewer than 2); 2026Q2 [10]: detractors +100 pp, blanked
    """
    scores = {"A": [10, 10], "B": [10, 10, 9, 0], "C": [10, 0, 0, 8, 9], "D": [0]}
    before = {"C": [10, 9], "D": [10]}
    rows = []
    for quarter_day, groups in (("2026-08-15", scores), ("2026-05-15", before)):
        for region, answers in groups.items():
            rows += [(f"{region}{i}", quarter_day, score) for i, score in enumerate(answers)]
    surveys = pd.DataFrame(rows, columns=["customer_id", "response_date", "nps_score"])
    surveys["response_date"] = pd.to_datetime(surveys["response_date"])
    surveys["csat_score"] = 4.0
    customers = surveys[["customer_id"]].drop_duplicates().assign(region=lambda f: f["customer_id"].str[0])
    return surveys, customers


def test_nps_by_region_names_the_extremes_of_the_rows_shown_and_states_the_rule():
    surveys, customers = _region_surveys()
    table = satisfaction.satisfaction_by(surveys, customers, Q, "region", min_group_size=2)
    assert np.isnan(table.set_index("region").loc["D", "nps"])      # D is blanked in the table
    text = satisfaction.satisfaction_by_finding(table, min_answers=4, min_group_size=2)
    # Careless readings: the old "at least 4 answers" pick alone would name B the highest (as the
    # demo named Southwest China while Overseas showed more), and an unblanked D the lowest.
    assert text == (
        "By region, among the groups with at least 2 NPS answers (the table blanks the NPS of smaller ones), NPS is "
        "highest for A (100, 2 answers) and lowest for C (0, 5 answers). Counting only the groups with at least 4 "
        "answers, as smaller ones swing widely, NPS is highest for B (50, 4 answers) and lowest for C (0, 5 answers). "
        "Of the same groups, the share of detractors rose most in C (+40.0 pp on the previous quarter).")
    # the highest named is the maximum over the rows the table shows
    shown = table.dropna(subset=["nps"])
    assert shown.loc[shown["nps"].idxmax(), "region"] == "A"


def test_nps_by_region_says_when_too_few_groups_are_large_enough():
    surveys, customers = _region_surveys()
    table = satisfaction.satisfaction_by(surveys, customers, Q, "region", min_group_size=2)
    # only C has 5 or more answers: no robust comparison, and the sentence says so
    assert satisfaction.satisfaction_by_finding(table, min_answers=5, min_group_size=2).split(". ")[1] == (
        "Fewer than two of these groups have at least 5 answers, and smaller groups swing widely, so the gap may be "
        "chance")


def test_the_nps_trend_finding_reads_only_the_trend_it_sits_under():
    trend = pd.DataFrame({"quarter": ["2026Q2", "2026Q3"], "nps": [30.0, 20.0], "nps_low": [20.0, 10.0],
                          "nps_high": [40.0, 30.0], "nps_responses": [100, 120], "csat": [0.8, 0.75]})
    assert satisfaction.nps_finding(trend) == (
        "NPS fell 10 points on the previous quarter to 20 (95% interval 10 to 30, 120 answers). "
        "CSAT was 75.0% (-5.0 pp on the previous quarter).")


# ----------------------------------------------------------------------------- 01 cross table
def _cells(counts: list[list[int]]) -> pd.DataFrame:
    """A hand-made two-way table: rows R1..R3 (region), columns A..C (segment), customers per cell."""
    return pd.DataFrame([(f"R{r + 1}", "ABC"[c], n) for r, row in enumerate(counts) for c, n in enumerate(row)],
                        columns=["region", "segment", "customers"])


def _hidden_per_line(cells: pd.DataFrame, status: pd.Series) -> list[int]:
    hidden = cells.assign(hidden=status.ne(""))
    return hidden.groupby("region")["hidden"].sum().tolist() + hidden.groupby("segment")["hidden"].sum().tolist()


def _status(cells: pd.DataFrame, status: pd.Series) -> dict:
    return {f"{r}/{s}": v for r, s, v in zip(cells["region"], cells["segment"], status) if v}


def test_one_small_cell_is_protected_by_a_rectangle_of_secondary_cells():
    #        A   B   C
    #   R1   3  10  20      R1/A has 3 < 5 customers: primary.
    #   R2  12  15  30      Rows: R1 has one hidden cell -> its smallest other, R1/B (10).
    #   R3  25  40  50      Columns: A has one (R1/A) -> R2/A (12, smaller than 25);
    #                       B has one (R1/B) -> R2/B (15, smaller than 40). Then R1, R2, A and B hold
    #                       two hidden cells each, R3 and C none: the next sweep changes nothing.
    cells = _cells([[3, 10, 20], [12, 15, 30], [25, 40, 50]])
    status = overview.complementary_suppression(cells, ["region", "segment"], min_group_size=5)
    assert _status(cells, status) == {"R1/A": "primary", "R1/B": "secondary", "R2/A": "secondary",
                                      "R2/B": "secondary"}
    # Without R1/B, R1's total 33 minus the shown 10 + 20 would give R1/A = 3 back.
    assert all(n != 1 for n in _hidden_per_line(cells, status))


def test_secondary_suppression_iterates_until_no_line_has_one_hidden_cell():
    #        A   B   C
    #   R1   3  10  20      Sweep 1, rows: R1 -> R1/B (10). Columns: A -> R2/A (12 < 25);
    #   R2  12  40  30      B -> R3/B (15 < 40). Now R2 (only R2/A) and R3 (only R3/B) have one each.
    #   R3  25  15  50      Sweep 2, rows: R2 -> R2/C (30 < 40); R3 -> R3/A (25 < 50). Columns: C has
    #                       only R2/C -> R1/C (20 < 50). Sweep 3: rows 3, 2, 2; columns 3, 2, 2: done.
    cells = _cells([[3, 10, 20], [12, 40, 30], [25, 15, 50]])
    status = overview.complementary_suppression(cells, ["region", "segment"], min_group_size=5)
    assert _status(cells, status) == {
        "R1/A": "primary", "R1/B": "secondary", "R1/C": "secondary", "R2/A": "secondary", "R2/C": "secondary",
        "R3/A": "secondary", "R3/B": "secondary"}
    assert all(n != 1 for n in _hidden_per_line(cells, status))
    # no small cell: nothing hidden
    assert _status(cells, overview.complementary_suppression(cells, ["region", "segment"], 3)) == {}


def _cross_orders() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders of 2026Q3 for the first 3 x 3 table above, one order per customer, the order value set per cell:
    R1/A 900 (3 customers), R2/B 800, R1/C 500, R3/C 100, every other cell 200."""
    counts = {("R1", "A"): 3, ("R1", "B"): 10, ("R1", "C"): 20, ("R2", "A"): 12, ("R2", "B"): 15, ("R2", "C"): 30,
              ("R3", "A"): 25, ("R3", "B"): 40, ("R3", "C"): 50}
    value = {("R1", "A"): 900, ("R2", "B"): 800, ("R1", "C"): 500, ("R3", "C"): 100}
    rows, people = [], []
    for (region, segment), n in counts.items():
        for i in range(n):
            customer = f"{region}{segment}{i}"
            rows.append((f"o-{customer}", customer, "2026-08-01", value.get((region, segment), 200)))
            people.append((customer, region, segment))
    return make_orders(rows), pd.DataFrame(people, columns=["customer_id", "region", "segment"])


def test_cross_table_finding_reads_only_the_cells_shown():
    orders, customers = _cross_orders()
    table = overview.cross_table(orders, customers, None, Q, ["region", "segment"], min_group_size=5)
    status = dict(zip(table["region"] + "/" + table["segment"], table["suppression"]))
    assert {k: v for k, v in status.items() if v} == {"R1/A": "primary", "R1/B": "secondary", "R2/A": "secondary",
                                                     "R2/B": "secondary"}
    assert table.loc[table["suppressed"], ["customers", "average_order_value"]].isna().all().all()
    assert table["suppressed"].sum() == 4
    # Careless readings: R1/A (¥900, 3 customers) or the secondary R2/B (¥800) as the highest
    # average order value. Of the cells shown, R1/C has ¥500; the largest is R3/C, 50 of 205 = 24.4%.
    assert overview.cross_table_finding(table, ["region", "segment"], "¥", min_group_size=5) == (
        "Among the cells shown, each of at least 5 customers, the largest group is R3 / C with 50 active customers "
        "(24.4%) and the highest average order value is in R1 / C (¥500). 4 cells are suppressed: 1 with fewer than "
        "5 customers, and 3 more so that no hidden count can be worked out from the row and column totals.")


def test_cross_table_finding_when_only_small_cells_are_hidden_or_all_are():
    table = pd.DataFrame({"region": ["N", "S"], "segment": ["X", "Y"], "customers": [8.0, np.nan],
                          "share_of_customers": [0.8, np.nan], "average_order_value": [50.0, np.nan],
                          "suppressed": [False, True], "suppression": ["", "primary"]})
    # N / X and S / Y share no row or column, so the small one is hidden alone
    assert overview.cross_table_finding(table, min_group_size=5).endswith(
        "One cell has fewer than 5 customers and is suppressed.")
    hidden = table.assign(suppressed=True, suppression=["secondary", "primary"])
    assert overview.cross_table_finding(hidden, min_group_size=5) == (
        "All 2 cells of the cross table are suppressed: each has fewer than 5 customers or is hidden so that such "
        "a cell cannot be worked out from the row and column totals.")


# ----------------------------------------------------------------------------- 05 where the at-risk are
@pytest.mark.parametrize("regions, words", [
    # 3 of 10 is the largest share but no majority (the demo said "most are in South China (3 of 10)")
    (["South"] * 3 + ["East"] * 2 + ["North"] * 2 + ["West"] * 2 + ["Central"],
     "the largest share is in South (3 of 10)"),
    (["South"] * 5 + ["East"] * 5, "the largest shares are in East and South (5 of 10 each)"),
    (["South"] * 5 + ["East"] * 4 + ["North"], "the largest share is in South (5 of 10)"),   # half is not most
    (["South"] * 6 + ["East"] * 4, "most are in South (6 of 10)"),
    # a missing region counts in the total only: 4 of 10 is no majority, though 4 of the 7 known are
    (["South"] * 4 + ["East"] * 3 + [None] * 3, "the largest share is in South (4 of 10)"),
])
def test_most_means_a_strict_majority(regions, words):
    ids = [f"c{i}" for i in range(10)]
    customers = pd.DataFrame({"customer_id": ids, "region": regions})
    clv = pd.DataFrame({"customer_id": ids, "clv_12m": 1000.0, "p_alive": 0.5, "value_tier": "high"})
    scores = pd.DataFrame({"customer_id": ids, "churn_probability": 0.9})
    evidence = diagnosis.Evidence(Quarter.parse(Q), pd.Timestamp("2026-12-01"), "¥", 90, pd.DataFrame(),
                                  make_orders([("o1", "c0", "2026-08-01", 10)]), customers, None,
                                  {"clv.csv": clv, "churn_scores.csv": scores})
    rule = next(r for r in diagnosis.load_rules().rules if r.id == "high_value_at_risk")
    [fact] = diagnosis.check_high_value_at_risk(evidence, rule, diagnosis.load_rules())
    assert fact["cause"] == words


# ----------------------------------------------------------------------------- 03 pair rules
def test_rules_are_counted_as_product_pairs():
    # Baskets {a, b} x 2, {c, d} x 2, {a}, {c}, {e} x 2: n = 8, a and c in 3, b and d in 2.
    # a -> b: support 2/8, confidence 2/3, lift (2/3) / (2/8) = 8/3; b -> a: confidence 1, lift
    # 1 / (3/8) = 8/3; c / d alike. So 2 pairs with lift above 1 and 4 rules: counting rules as pairs
    # would say 4. The lifts tie, and so do the supports: a -> b comes first by name.
    baskets = pd.DataFrame([("k1", "a"), ("k1", "b"), ("k2", "a"), ("k2", "b"), ("k3", "c"), ("k3", "d"),
                            ("k4", "c"), ("k4", "d"), ("k5", "a"), ("k6", "c"), ("k7", "e"), ("k8", "e")],
                           columns=["basket_id", "item"])
    rules = basket.pair_rules(baskets, min_support=0.1).assign(level="product")
    assert len(basket.strong_rules(rules)) == 4
    assert basket.rules_finding(rules) == (
        "Pairs of products bought together more often than chance (lift above 1): 2; they make 4 rules, A → B and "
        "B → A counted apart. The strongest rule: 66.7% of orders with a also hold b, 2.67 times the usual 25.0% "
        "(support 25.0% of 8 orders).")
    # one direction under the minimum confidence (a -> b and c -> d have 2/3, b -> a and d -> c 1):
    # still 2 pairs, now 2 rules
    one_way = basket.pair_rules(baskets, min_support=0.1, min_confidence=0.8).assign(level="product")
    assert basket.rules_finding(one_way).startswith(
        "Pairs of products bought together more often than chance (lift above 1): 2; they make 2 rules,")


# ----------------------------------------------------------------------------- 05 win-back list
def test_win_back_wording_is_true_of_a_customer_whose_last_purchase_was_400_days_ago():
    # As of 2026-09-30 with a churn window of 90 days the list takes last purchases 90 to 454 days ago:
    #   a  last purchase 2025-08-26, 400 days ago   on the list (not "within the last year")
    #   b  last purchase 2026-06-01, 121 days ago   on the list
    #   c  last purchase 2026-09-01,  29 days ago   not churned
    #   d  last purchase 2025-06-30, 457 days ago   churned for more than a year: off the list
    # Spend in the 365 days up to the last purchase: a 100 + 50 (2025-03-01) = 150; b 200 (its
    # order of 2025-01-10 is 507 days before 2026-06-01 and does not count).
    orders = make_orders([("a1", "a", "2025-08-26", 100), ("a0", "a", "2025-03-01", 50),
                          ("b1", "b", "2026-06-01", 200), ("b0", "b", "2025-01-10", 999),
                          ("c1", "c", "2026-09-01", 70), ("d1", "d", "2025-06-30", 80)])
    facts = customer_facts.run_pandas(orders, "2026-09-30")
    listed = actions.win_back(facts, orders, churn_days=90)
    assert dict(zip(listed["customer_id"], listed["days_since_last_purchase"])) == {"b": 121, "a": 400}
    text = actions.win_back_finding(listed, "¥", churn_days=90)
    assert text == (
        "2 customers made their last purchase between 90 and 454 days ago: they are churned (no purchase for 90 days "
        "or more) and have been churned for less than 365 days. The top 2 spent ¥350 in the year before their last "
        "purchase.")
    assert "within the last year" not in text
    assert listed["days_since_last_purchase"].between(90, 454).all()
