"""Hand-made baskets for helpers.chapters.basket; every rule below is worked out by hand."""
import pandas as pd
import pytest

from helpers.chapters import basket
from helpers.errors import NotAvailable

# Five baskets:
#   b1 {bread, milk}   b2 {bread, butter}   b3 {bread, milk, butter}   b4 {milk}   b5 {beer}
# item counts: bread 3, milk 3, butter 2, beer 1 (n = 5)
# pairs: bread&milk 2 (b1, b3), bread&butter 2 (b2, b3), milk&butter 1 (b3)
BASKETS = pd.DataFrame(
    [("b1", "bread"), ("b1", "milk"), ("b1", "bread"),  # duplicate line: counts once
     ("b2", "bread"), ("b2", "butter"),
     ("b3", "bread"), ("b3", "milk"), ("b3", "butter"),
     ("b4", "milk"), ("b5", "beer")],
    columns=["basket_id", "item"],
)


def test_pair_rules_by_hand():
    rules = basket.pair_rules(BASKETS, min_support=0.1).set_index(["antecedent", "consequent"])
    # bread -> milk: support 2/5 = 0.4, confidence 2/3, lift (2/3) / (3/5) = 10/9
    assert rules.loc[("bread", "milk"), "support"] == pytest.approx(0.4)
    assert rules.loc[("bread", "milk"), "confidence"] == pytest.approx(2 / 3)
    assert rules.loc[("bread", "milk"), "lift"] == pytest.approx(10 / 9)
    # butter -> bread: confidence 2/2 = 1, lift 1 / (3/5) = 5/3
    assert rules.loc[("butter", "bread"), "confidence"] == 1.0
    assert rules.loc[("butter", "bread"), "lift"] == pytest.approx(5 / 3)
    # bread -> butter: confidence 2/3, lift (2/3) / (2/5) = 5/3
    assert rules.loc[("bread", "butter"), "lift"] == pytest.approx(5 / 3)
    # milk -> butter: support 1/5, confidence 1/3, lift (1/3) / (2/5) = 5/6
    assert rules.loc[("milk", "butter"), "support"] == pytest.approx(0.2)
    assert rules.loc[("milk", "butter"), "lift"] == pytest.approx(5 / 6)
    assert len(rules) == 6  # 3 pairs x 2 directions; beer is never bought with anything
    assert rules["baskets"].iloc[0] == 5
    assert rules["lift"].round(9).is_monotonic_decreasing


def test_min_support_and_confidence_filter():
    # support >= 0.3 keeps the bread pairs only (0.4), not milk & butter (0.2)
    rules = basket.pair_rules(BASKETS, min_support=0.3)
    assert set(zip(rules["antecedent"], rules["consequent"])) == {
        ("bread", "milk"), ("milk", "bread"), ("bread", "butter"), ("butter", "bread")
    }
    # confidence >= 0.9 keeps butter -> bread (1.0) only
    strict = basket.pair_rules(BASKETS, min_support=0.1, min_confidence=0.9)
    assert list(zip(strict["antecedent"], strict["consequent"])) == [("butter", "bread")]
    with pytest.raises(ValueError, match="min_support"):
        basket.pair_rules(BASKETS, min_support=0)


def _orders():
    frame = BASKETS.rename(columns={"basket_id": "order_id", "item": "category"})
    frame["customer_id"] = frame["order_id"].map({"b1": "X", "b2": "Y", "b3": "Y", "b4": "Z", "b5": "Z"})
    frame["order_date"] = pd.Timestamp("2026-05-01")
    frame["net_amount"] = 50.0
    frame["is_purchase"] = True
    frame["product_id"] = "P-" + frame["category"]
    return frame


def test_association_rules_from_orders():
    rules = basket.association_rules(_orders(), "2026Q2", min_support=0.1, min_confidence=0.0)
    # same five baskets at category and at product level
    assert sorted(rules["level"].unique()) == ["category", "product"]
    category = rules[rules["level"] == "category"].set_index(["antecedent", "consequent"])
    assert category.loc[("bread", "butter"), "lift"] == pytest.approx(5 / 3)
    # rules with lift > 1: bread <-> milk and bread <-> butter at both levels = 8; the first by
    # lift, support and name is bread -> butter (confidence 2/3, lift 5/3, butter in 2/5 baskets)
    # as pairs: bread / milk and bread / butter at each level, 2 + 2 pairs making the 8 rules
    assert basket.rules_finding(rules).startswith(
        "Pairs bought together more often than chance (lift above 1): 2 of categories and 2 of products; they make "
        "8 rules, A → B and B → A counted apart. The strongest rule: 66.7% of orders with bread also hold butter, "
        "1.67 times the usual 40.0%"
    )
    # max_products=2 mines the two products in the most orders, P-bread and P-milk (3 orders each;
    # P-butter has 2, P-beer 1): only their pair is left at product level, with the same numbers
    capped = basket.association_rules(_orders(), "2026Q2", min_support=0.1, min_confidence=0.0, max_products=2)
    product = capped[capped["level"] == "product"]
    assert list(zip(product["antecedent"], product["consequent"])) == [("P-bread", "P-milk"), ("P-milk", "P-bread")]
    assert product["lift"].tolist() == pytest.approx([10 / 9, 10 / 9])
    assert product["baskets"].tolist() == [5, 5]          # every order still counts in the supports
    scope = basket.basket_scope(_orders(), "2026Q2", min_support=0.1, max_products=2).set_index("level")
    assert scope.loc["product", ["items", "frequent_items", "items_mined", "baskets"]].tolist() == [4, 4, 2, 5]
    assert scope.loc["category", ["items", "frequent_items", "items_mined"]].tolist() == [4, 4, 4]
    assert basket.rules_finding(capped, scope.reset_index()).startswith(
        "Rules were mined on all 4 categories and the 2 products in the most orders "
        "(of 4 in at least 10.0% of orders, 4 in all) over 5 orders. ")
    # no product level at all when switched off and no categories: not available, with what would enable it
    no_categories = _orders().assign(category="Uncategorised")
    with pytest.raises(NotAvailable, match="max_products above 0"):
        basket.association_rules(no_categories, "2026Q2", min_support=0.1, max_products=0)


def test_a_rule_with_lift_below_one_is_never_strong():
    # milk -> butter and butter -> milk: support 1/5 (b3 only), lift 5/6 < 1 (see test_pair_rules_by_hand)
    rules = basket.association_rules(_orders(), "2026Q2", min_support=0.1, min_confidence=0.0)
    strong = basket.strong_rules(rules)
    pairs = set(zip(strong["antecedent"], strong["consequent"]))
    assert ("milk", "butter") not in pairs and ("butter", "milk") not in pairs
    assert len(rules) == 12 and len(strong) == 8          # 6 rules per level, 4 of them with lift above 1
    assert (strong["lift"] > 1).all()
    # at most max_rows per level, in each level's lift order: bread -> butter (5/3) leads the category rules
    top = basket.strong_rules(rules, max_rows=1)
    assert list(zip(top["level"], top["antecedent"], top["consequent"])) == [
        ("category", "bread", "butter"), ("product", "P-bread", "P-butter")]


# Five baskets in which a and b are bought together less often than chance:
#   {a, b}  {a}  {b}  {a}  {b}: n(a) = n(b) = 3, n(a and b) = 1, n = 5
#   support 1/5, confidence 1/3, lift (1/3) / (3/5) = 5/9
APART = pd.DataFrame([("k1", "a"), ("k1", "b"), ("k2", "a"), ("k3", "b"), ("k4", "a"), ("k5", "b")],
                     columns=["basket_id", "item"])


def test_no_rule_above_chance_is_said_truthfully():
    rules = basket.pair_rules(APART, min_support=0.1).assign(level="product")
    assert rules["lift"].tolist() == pytest.approx([5 / 9, 5 / 9])
    assert rules["confidence"].tolist() == pytest.approx([1 / 3, 1 / 3])
    assert basket.strong_rules(rules).empty
    assert basket.rules_finding(rules) == (
        "None of the 2 rules that reach the minimum support has a lift above 1: no pair of categories or products "
        "is bought together more often than chance.")
    assert basket.rules_finding(rules.iloc[:0]) == "No pair of items is in enough orders to reach the minimum support."


def _catalogue_orders() -> pd.DataFrame:
    """300 products P000..P299 and no categories (every line "Uncategorised"), 328 orders:
    one single-product order per product (s000..s299, each its own customer), 20 orders
    {P000, P001} and 8 orders {P001, P002} (customer "pairs"), all on 2026-05-01 at 50 a line."""
    rows = [(f"s{i:03d}", f"s{i:03d}", f"P{i:03d}") for i in range(300)]
    rows += [(f"x{i}", "pairs", product) for i in range(20) for product in ("P000", "P001")]
    rows += [(f"y{i}", "pairs", product) for i in range(8) for product in ("P001", "P002")]
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "product_id"])
    frame["category"] = "Uncategorised"
    frame["order_date"] = pd.Timestamp("2026-05-01")
    frame["net_amount"] = 50.0
    frame["is_purchase"] = True
    return frame


def test_no_categories_and_300_products_still_get_product_rules():
    orders = _catalogue_orders()
    # n = 328 orders; P000 is in 21, P001 in 29, P002 in 9, every other product in 1. With a minimum
    # support of 1% (3.28 orders) only P000, P001 and P002 can be in a rule.
    # P000 -> P001: support 20/328, confidence 20/21, lift (20/21) / (29/328) = 6560/609 = 10.77
    # P002 -> P001: support 8/328, confidence 8/9, lift (8/9) / (29/328) = 2624/261 = 10.05
    # 300 products is more than the old limit of 200 that skipped product rules altogether.
    rules = basket.association_rules(orders, "2026Q2", min_support=0.01, min_confidence=0.0, max_products=200)
    assert set(rules["level"]) == {"product"}
    table = rules.set_index(["antecedent", "consequent"])
    assert len(table) == 4
    assert table.loc[("P000", "P001"), "support"] == pytest.approx(20 / 328)
    assert table.loc[("P000", "P001"), "confidence"] == pytest.approx(20 / 21)
    assert table.loc[("P000", "P001"), "lift"] == pytest.approx(6560 / 609)
    assert table.loc[("P001", "P000"), "confidence"] == pytest.approx(20 / 29)
    assert table.loc[("P002", "P001"), "lift"] == pytest.approx(2624 / 261)
    assert table.loc[("P001", "P002"), "confidence"] == pytest.approx(8 / 29)
    scope = basket.basket_scope(orders, "2026Q2", min_support=0.01, max_products=200)
    assert scope[["level", "items", "frequent_items", "items_mined", "baskets"]].values.tolist() == [
        ["product", 300, 3, 3, 328]]
    assert basket.rules_finding(rules, scope) == (
        "The orders name fewer than two categories, so the rules pair products. Rules were mined on the 3 products "
        "in at least 1.0% of orders (of 300; rarer ones cannot reach the minimum support) over 328 orders. "
        "Pairs of products bought together more often than chance (lift above 1): 2; they make 4 rules, A → B and "
        "B → A counted apart. The strongest rule: 95.2% of orders with P000 also hold P001, "
        "10.77 times the usual 8.8% (support 6.1% of 328 orders).")
    # the same rules as mining every product pair without a limit
    unlimited = basket.pair_rules(orders.rename(columns={"order_id": "basket_id", "product_id": "item"}), 0.01)
    pd.testing.assert_frame_equal(rules.drop(columns="level"), unlimited)
    # capped at the 2 products in the most orders (P001 29, P000 21): only the P000 / P001 pair is mined
    capped = basket.association_rules(orders, "2026Q2", min_support=0.01, min_confidence=0.0, max_products=2)
    assert set(zip(capped["antecedent"], capped["consequent"])) == {("P000", "P001"), ("P001", "P000")}


def test_cross_sell_candidates_from_product_rules():
    orders = _catalogue_orders()
    rules = basket.association_rules(orders, "2026Q2", min_support=0.01, min_confidence=0.0)
    scores = pd.DataFrame({"customer_id": ["s000", "s001", "s002", "s005"], "churn_probability": 0.0})
    # No category rules, so the product rules are used. Each customer spent 50 (expected value 50).
    # s000 bought P000 only: P000 -> P001 (lift 6560/609). s001 bought P001 only: P001 -> P000 (6560/609)
    # beats P001 -> P002 (2624/261). s002: P002 -> P001 (2624/261). s005's P005 is in no rule.
    candidates = basket.cross_sell_candidates(orders, rules, scores, "2026-06-30")
    assert list(zip(candidates["customer_id"], candidates["consequent"])) == [
        ("s000", "P001"), ("s001", "P000"), ("s002", "P001")]
    assert candidates["score"].tolist() == pytest.approx([50 * 6560 / 609, 50 * 6560 / 609, 50 * 2624 / 261])
    # asked for category rules explicitly, there are none
    assert basket.cross_sell_candidates(orders, rules, scores, "2026-06-30", level="category").empty


def test_cross_sell_candidates_by_hand():
    orders = _orders()
    rules = basket.association_rules(orders, "2026Q2", min_support=0.1, min_confidence=0.0)
    scores = pd.DataFrame({"customer_id": ["X", "Y"], "churn_probability": [0.2, 0.5]})
    candidates = basket.cross_sell_candidates(orders, rules, scores, "2026-06-30")
    # X bought bread and milk (b1, three lines x 50 = 150 revenue) but no butter: the only rule
    # with lift > 1 whose consequent X lacks is bread -> butter (lift 5/3).
    # expected value = 150 x (1 - 0.2) = 120; score = 5/3 x 120 = 200.
    # Y bought bread, milk and butter: nothing to suggest. Z is not an active (scored) customer.
    assert candidates["customer_id"].tolist() == ["X"]
    row = candidates.iloc[0]
    assert (row["antecedent"], row["consequent"]) == ("bread", "butter")
    assert row["expected_value"] == pytest.approx(120.0)
    assert row["score"] == pytest.approx(200.0)
    assert list(candidates.columns) == ["customer_id", "antecedent", "consequent", "lift", "expected_value", "score"]
    assert "1 active customers are cross-sell candidates" in basket.cross_sell_finding(candidates)
