"""Hand-made baskets for helpers.chapters.basket; every rule below is worked out by hand."""
import pandas as pd
import pytest

from helpers.chapters import basket

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
    assert basket.rules_finding(rules).startswith(
        "8 pair rules lift purchases above chance; the strongest: 66.7% of orders with bread also hold butter, "
        "1.67 times the usual 40.0%"
    )
    # product rules are skipped when there are more distinct products than allowed
    assert set(basket.association_rules(_orders(), "2026Q2", min_support=0.1, max_products=3)["level"]) == {"category"}


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
