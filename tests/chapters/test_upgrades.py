import pandas as pd
import pytest
from conftest import make_orders

from helpers.chapters.upgrades import upgrade_candidates, upgrade_finding
from helpers.errors import NotAvailable
from helpers.quarters import Quarter

Q3 = Quarter.parse("2026Q3")

# Software tiers by list price: S1 100 < S2 200 < S3 500; Paper has one product only.
PRODUCTS = pd.DataFrame({"product_id": ["S1", "S2", "S3", "P1"],
                         "product_name": ["Suite Basic", "Suite Plus", "Suite Max", "Paper box"],
                         "category": ["Software", "Software", "Software", "Paper"],
                         "unit_price": [100.0, 200.0, 500.0, 10.0]})
CUSTOMERS = pd.DataFrame({"customer_id": ["a1", "b1", "b2", "c1", "d1", "e1"],
                          "segment": ["Small enterprise"] * 5 + ["Large enterprise"]})


def hand_orders() -> pd.DataFrame:
    rows = [  # (order, customer, day, amount), product, quantity
        (("o1", "a1", "2026-08-01", 300.0), "S1", 3.0),  # active; buys the bottom tier
        (("o2", "a1", "2026-08-01", 40.0), "P1", 4.0),   # Paper: no dearer product, no offer
        (("o3", "b1", "2026-02-01", 200.0), "S2", 1.0),  # bought S2 in the window, not active
        (("o4", "b2", "2026-09-01", 200.0), "S2", 1.0),  # active; next tier S3 has 1 Small buyer (< 2)
        (("o5", "c1", "2026-03-01", 500.0), "S3", 1.0),  # top tier
        (("o6", "d1", "2025-06-01", 100.0), "S1", 1.0),  # outside the 365 days and inactive
        (("o7", "e1", "2026-09-10", 200.0), "S1", 2.0),  # active, Large: no Large customer buys S2
    ]
    orders = make_orders([row for row, _, _ in rows])
    orders["product_id"] = [product for _, product, _ in rows]
    orders["quantity"] = [quantity for _, _, quantity in rows]
    return orders


def test_the_next_tier_in_the_category_bought_by_similar_customers():
    table = upgrade_candidates(hand_orders(), CUSTOMERS, PRODUCTS, Q3, min_group=2)
    # Only a1 has an offer: Suite Basic (100) -> Suite Plus (200), which b1 and b2 (2 >= min_group, Small
    # enterprise like a1) bought; 3 units x (200 - 100) = 300 a year. Small buyers of Software in the window:
    # a1, b1, b2, c1 = 4 (d1's purchase is older), so 2 of 4 = 50%.
    # b2 (S2): S3 has one Small buyer only; c1: top tier and inactive; e1: no Large customer buys S2.
    assert table["customer_id"].tolist() == ["a1"]
    row = table.iloc[0]
    assert row[["category", "current_product", "offer_product", "current_price", "offer_price"]].tolist() == [
        "Software", "Suite Basic", "Suite Plus", 100.0, 200.0]
    assert row["units_in_window"] == 3.0 and row["added_value_per_year"] == 300.0
    assert row[["similar_buyers", "similar_category_buyers", "share_of_similar"]].tolist() == [2, 4, 0.5]
    assert row["why"] == ("2 of the 4 Small enterprise customers who bought Software in the last 365 days bought "
                          "Suite Plus; this customer bought 3 x Suite Basic")
    assert upgrade_finding(table, "¥") == ("1 active customer could move up a tier in a category they already buy, "
                                           "worth ¥300 a year if they accept: from Suite Basic to Suite Plus.")
    # With min_group 1, b2 is offered Suite Max (1 x (500 - 200) = 300) and e1 nothing still; a half-year
    # window doubles the yearly value of what was bought in it.
    loose = upgrade_candidates(hand_orders(), CUSTOMERS, PRODUCTS, Q3, min_group=1).set_index("customer_id")
    assert loose["offer_product"].to_dict() == {"a1": "Suite Plus", "b2": "Suite Max"}
    assert loose["added_value_per_year"].tolist() == [300.0, 300.0]
    assert "2 active customers could move up a tier" in upgrade_finding(loose.reset_index(), "¥")
    half_year = upgrade_candidates(hand_orders(), CUSTOMERS, PRODUCTS, Q3, window_days=73, min_group=1)
    # 73 days to 30 September start on 20 July: a1 (1 Aug), b2 (1 Sep) and e1 are in; b1 and c1 are not,
    # so b2's S3 has no buyer and a1's S2 one (b2): 3 x 100 x 365 / 73 = 1,500.
    assert half_year.set_index("customer_id")["added_value_per_year"].to_dict() == {"a1": 1500.0}


def test_a_segment_change_is_never_an_offer_and_no_products_is_not_available():
    table = upgrade_candidates(hand_orders(), CUSTOMERS, PRODUCTS, Q3, min_group=1)
    assert not table["offer_product"].isin(["Small enterprise", "Medium enterprise", "Large enterprise"]).any()
    no_products = hand_orders().drop(columns="product_id")
    with pytest.raises(NotAvailable, match="orders.product_id"):
        upgrade_candidates(no_products, CUSTOMERS, PRODUCTS, Q3)
    empty_ids = hand_orders().assign(product_id=pd.NA)
    with pytest.raises(NotAvailable, match="no product ids"):
        upgrade_candidates(empty_ids, CUSTOMERS, PRODUCTS, Q3)
    with pytest.raises(NotAvailable, match="products.category"):
        upgrade_candidates(hand_orders(), CUSTOMERS, PRODUCTS.drop(columns="category"), Q3)
    assert upgrade_finding(table.iloc[0:0], "¥") == "No active customer buys a product with a next tier that similar customers buy."
