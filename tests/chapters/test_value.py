"""Tests for helpers.chapters.value: tiers, CAC / CRV, profitability, forecast and options, by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.chapters import value
from helpers.models.forecast import growth_forecast


def test_value_options_defaults_and_checks():
    options = value.ValueOptions(holdout_weeks=13, penalizers=[0, 0.1])
    assert options.holdout_weeks == 13 and options.penalizers == (0, 0.1)
    assert options.clv_horizon_months == 12 and options.value_tier_quantiles == (0.5, 0.8)
    with pytest.raises(ValueError, match="value_tier_quantiles"):
        value.ValueOptions(value_tier_quantiles=[0.8, 0.5])
    with pytest.raises(ValueError, match="clv_model"):
        value.ValueOptions(clv_model="magic")


def test_value_tiers_by_hand():
    # CLV 0..9: 50% quantile = 4.5, 80% quantile = 7.2 -> low 0-4, medium 5-7, high 8-9.
    clv = pd.DataFrame({"customer_id": list("abcdefghij"), "clv_12m": np.arange(10.0), "p_alive": 0.5})
    tiers = value.value_tiers(clv)
    assert tiers["value_tier"].astype(str).tolist() == ["low"] * 5 + ["medium"] * 3 + ["high"] * 2
    assert tiers.attrs["cut_points"] == {"medium_from": 4.5, "high_from": pytest.approx(7.2)}
    summary = value.tier_summary(tiers).set_index("value_tier")
    # high: 8 + 9 = 17 of 45 total CLV
    assert summary.loc["high", "customers"] == 2 and summary.loc["high", "share_of_clv"] == pytest.approx(17 / 45)
    assert summary.loc["low", "clv_max"] == 4.0
    assert value.tier_finding(summary.reset_index()).startswith("The high-value tier is 20.0% of customers (2)")
    with pytest.raises(ValueError, match="increasing"):
        value.value_tiers(clv, (0.8, 0.5))


def test_relationship_tiers_by_hand():
    tiers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "clv_12m": [100.0, 90.0, 50.0, 40.0, 10.0],
            "value_tier": pd.Categorical(["high", "high", "medium", "medium", "low"], value.VALUE_TIERS),
        }
    )
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "d", "e"], "segment": ["Large enterprise", "Individual", "Medium enterprise", "Individual", "Large enterprise"]}
    )
    # a: high + key account -> strategic; b: high, not key -> important; c: medium + key -> important;
    # d: medium, not key -> general; e: low -> general even though a key account.
    out = value.relationship_tiers(tiers, customers)
    assert out["relationship_tier"].astype(str).tolist() == ["strategic", "important", "important", "general", "general"]
    summary = value.relationship_summary(out).set_index("relationship_tier")
    assert summary.loc["important", "clv_total"] == 140.0 and summary.loc["strategic", "share_of_clv"] == pytest.approx(100 / 290)


def acquisition_frames():
    campaigns = pd.DataFrame(
        {
            "month": pd.to_datetime(["2026-07-01", "2026-08-01", "2026-07-01", "2026-01-01", "2025-09-01"]),
            "channel": ["search", "search", "social", "search", "search"],
            "spend": [300.0, 300.0, 100.0, 400.0, 999.0],  # 2025-09 is outside the trailing 4 quarters
            "leads": [10, 10, 5, 10, 10],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["n1", "n2", "n3", "n4", "o1", "x1"],
            "acquisition_channel": ["search", "search", "social", "search", "search", "referral"],
            "segment": ["Individual", "Large enterprise", "Individual", "Individual", "Individual", "Individual"],
            "first_order_date": pd.to_datetime(["2026-07-05", "2026-09-30", "2026-08-10", "2026-02-01", "2025-06-01", "2026-08-01"]),
        }
    )
    clv = pd.DataFrame({"customer_id": ["n1", "n2", "n3", "n4", "o1", "x1"], "clv_12m": [500.0, 1100.0, 80.0, 200.0, 9.0, 60.0]})
    return campaigns, customers, clv


def test_cac_by_channel_by_hand():
    campaigns, customers, _ = acquisition_frames()
    cac = value.cac_by_channel(campaigns, customers, "2026Q3").set_index("channel")
    # Quarter 2026Q3: search spend 600, new n1, n2 -> CAC 300; social 100 / n3 -> 100.
    assert cac.loc["search", ["spend_quarter", "new_customers_quarter", "cac_quarter"]].tolist() == [600.0, 2, 300.0]
    assert cac.loc["social", "cac_quarter"] == 100.0
    # Trailing 2025Q4..2026Q3: search 600 + 400 = 1000 over n1, n2, n4 -> 333.33.
    assert cac.loc["search", "cac_trailing"] == pytest.approx(1000 / 3)
    assert "referral" not in cac.index  # no campaign spend -> no CAC row


def test_crv_table_by_hand():
    campaigns, customers, clv = acquisition_frames()
    cac = value.cac_by_channel(campaigns, customers, "2026Q3")
    table = value.crv_table(cac, customers, clv, "2026Q3").set_index(["level", "group"])
    # search: new n1, n2, n4 -> mean CLV (500 + 1100 + 200) / 3 = 600, CAC 333.33 -> ratio 1.8, CRV 266.67
    search = table.loc[("channel", "search")]
    assert search["clv_12m"] == pytest.approx(600.0) and search["clv_cac_ratio"] == pytest.approx(1.8)
    assert search["crv"] == pytest.approx(600 - 1000 / 3) and search["spend"] == 1000.0
    # social: n3, CLV 80, CAC 100 -> CRV -20
    assert table.loc[("channel", "social"), "crv"] == pytest.approx(-20.0)
    # referral has no campaign: CAC unknown, counted in customers_without_cac
    assert np.isnan(table.loc[("channel", "referral"), "cac"]) and table.loc[("channel", "referral"), "customers_without_cac"] == 1
    # Individual: n1 (333.33), n3 (100), n4 (333.33), x1 (unknown) -> CAC mean 255.56, CLV mean (500+80+200+60)/4 = 210
    individual = table.loc[("segment", "Individual")]
    assert individual["cac"] == pytest.approx((2000 / 3 + 100) / 3) and individual["clv_12m"] == pytest.approx(210.0)
    assert individual["new_customers"] == 4 and individual["customers_without_cac"] == 1
    assert value.cac_finding(table.reset_index()).startswith("Search returns the most per acquisition cost")


def test_customer_profitability_by_hand():
    orders = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "B", "C"],
            "order_date": pd.to_datetime(["2026-09-01", "2026-09-02", "2026-09-03", "2026-05-01", "2024-01-01"]),
            "product_id": ["p1", "p1", "p2", "p2", "p1"],
            "quantity": [2, -1, 1, 3, 1],
            "net_amount": [200.0, -100.0, 0.0, 90.0, 100.0],  # A: sale, return, cancelled line
        }
    )
    products = pd.DataFrame({"product_id": ["p1", "p2"], "unit_cost": [60.0, 20.0]})
    tickets = pd.DataFrame({"customer_id": ["A", "B", "B", "D"], "created_at": pd.to_datetime(["2026-09-05", "2026-06-01", "2026-07-01", "2026-08-01"])})
    profit = value.customer_profitability(orders, "2026-09-30", 365, tickets, cost_per_ticket=25.0, products=products).set_index("customer_id")
    # A: revenue 200 - 100 + 0 = 100; cost 2*60 - 1*60 + 0 (cancelled, sign 0) = 60; 1 ticket = 25 -> profit 15
    assert profit.loc["A", ["revenue", "product_cost", "tickets", "service_cost", "profit"]].tolist() == [100.0, 60.0, 1, 25.0, 15.0]
    # B: revenue 90, cost 3*20 = 60, 2 tickets = 50 -> profit -20
    assert profit.loc["B", "profit"] == -20.0
    # C: no line in the window -> absent; D: only a ticket -> profit -25
    assert "C" not in profit.index and profit.loc["D", "profit"] == -25.0
    customers = pd.DataFrame({"customer_id": ["A", "B", "D"], "segment": ["Individual", "Individual", "Small enterprise"]})
    by_segment = value.profitability_by_segment(profit.reset_index(), customers).set_index("segment")
    # Individual: A + B -> profit -5, 2 customers, half unprofitable, margin -5 / 190
    assert by_segment.loc["Individual", ["customers", "profit", "share_unprofitable"]].tolist() == [2, -5.0, 0.5]
    assert by_segment.loc["Individual", "margin"] == pytest.approx(-5 / 190)
    assert "66.7% of customers cost more" in value.profitability_finding(by_segment.reset_index())
    no_costs = value.customer_profitability(orders, "2026-09-30").set_index("customer_id")
    assert no_costs.loc["A", "profit"] == 100.0 and not no_costs.attrs["product_cost_known"]


def profit_frames():
    """Four customers in the prepared-orders shape, their profit worked out by hand below."""
    from conftest import make_orders

    orders = make_orders([
        ("o1", "A", "2026-09-01", 180.0),                      # 2 x p1 (list 100): 20 discount
        ("o2", "A", "2026-09-10", -90.0, "completed", True),   # 1 x p1 returned
        ("o3", "B", "2026-05-01", 150.0),                      # 3 x p2 (list 50): no discount
        ("o4", "B", "2026-05-02", 100.0, "cancelled"),         # 1 x p1, cancelled: no revenue, no cost
        ("o5", "C", "2026-08-01", 100.0),                      # 1 x p1 at list price
        ("o6", "C", "2025-01-01", 999.0),                      # before the window
    ])
    orders["product_id"] = ["p1", "p1", "p2", "p1", "p1", "p1"]
    orders["quantity"] = [2.0, -1.0, 3.0, 1.0, 1.0, 1.0]
    products = pd.DataFrame({"product_id": ["p1", "p2"], "unit_price": [100.0, 50.0], "unit_cost": [60.0, 20.0]})
    tickets = pd.DataFrame({"customer_id": ["A", "B", "B", "D"],
                            "created_at": pd.to_datetime(["2026-09-05", "2026-06-01", "2026-07-01", "2026-08-01"])})
    customers = pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "segment": ["Individual"] * 3 + ["Small enterprise"]})
    return orders, products, tickets, customers


def test_profit_per_customer_distribution_extremes_and_drivers_by_hand():
    orders, products, tickets, customers = profit_frames()
    profit = value.customer_profitability(orders, "2026-09-30", 365, tickets, 25.0, products)
    by_id = profit.set_index("customer_id")
    # A: revenue 180 - 90 = 90, purchase value 180, returns 90, discount 2 x 100 - 180 = 20,
    #    product cost 2 x 60 - 1 x 60 = 60, 1 ticket = 25 -> profit 90 - 60 - 25 = 5
    # B: revenue 150 (the cancelled line counts 0), returns 0, discount 3 x 50 - 150 = 0, cost 3 x 20 = 60,
    #    2 tickets = 50 -> profit 40
    # C: revenue 100 (the 2025 line is outside), cost 60, no ticket -> profit 40
    # D: a ticket only -> profit -25
    columns = ["revenue", "purchase_value", "returns", "discounts", "product_cost", "service_cost", "profit"]
    assert by_id.loc["A", columns].tolist() == [90.0, 180.0, 90.0, 20.0, 60.0, 25.0, 5.0]
    assert by_id.loc["B", columns].tolist() == [150.0, 150.0, 0.0, 0.0, 60.0, 50.0, 40.0]
    assert by_id["profit"].to_dict() == {"A": 5.0, "B": 40.0, "C": 40.0, "D": -25.0}

    # Profits sorted: -25, 5, 40, 40. Linear percentiles: P10 at position 0.3 -> -25 + 0.3 x 30 = -16;
    # P25 at 0.75 -> -2.5; median at 1.5 -> 22.5; P75 at 2.25 -> 40; P90 40. Mean 60 / 4 = 15; 1 of 4 below zero.
    distribution = value.profit_distribution(profit).iloc[0]
    assert distribution[["customers", "unprofitable_customers", "share_unprofitable", "mean_profit"]].tolist() == [4, 1, 0.25, 15.0]
    assert distribution[["p10", "p25", "median_profit", "p75", "p90"]].tolist() == pytest.approx([-16.0, -2.5, 22.5, 40.0, 40.0])

    # Two each way: most B (40, the smaller id of the tie) then C; least D (-25) then A (5). Ids only.
    extremes = value.profit_extremes(profit, customers, n=2)
    assert extremes["customer_id"].tolist() == ["B", "C", "D", "A"]
    assert extremes["position"].tolist() == ["Most profitable"] * 2 + ["Least profitable"] * 2
    assert extremes["rank"].tolist() == [1, 2, 1, 2]
    assert extremes.loc[2, ["segment", "profit"]].tolist() == ["Small enterprise", -25.0]
    assert "name" not in extremes.columns

    # Drivers over purchase value 180 + 150 + 100 = 430: returns 90 (A only), discounts 20 (A),
    # product cost 180 (A, B, C: 60 each), service tickets 4 x 25 = 100 (A, B, D: 33.33 each).
    drivers = value.cost_by_driver(profit).set_index("driver")
    assert drivers.index.tolist() == ["Returns and credits", "Discounts off list price", "Product cost", "Service tickets"]
    assert drivers["customers"].tolist() == [1, 1, 3, 3]
    assert drivers["amount"].tolist() == [90.0, 20.0, 180.0, 100.0]
    assert drivers["per_customer"].tolist() == pytest.approx([90.0, 20.0, 60.0, 100 / 3])
    assert drivers["share_of_purchase_value"].tolist() == pytest.approx([90 / 430, 20 / 430, 180 / 430, 100 / 430])
    assert value.cost_driver_finding(drivers.reset_index()) == (
        "The largest driver is product cost: ¥180 in the last 365 days (41.9% of purchase value), ¥60 per customer "
        "it touches.")
    assert value.profit_distribution_finding(value.profit_distribution(profit), extremes) == (
        "The median customer earns ¥22 after cost to serve; the middle half lies between -¥2 and ¥40, and 1 customer "
        "(25.0%) cost more than they brought in. The most profitable customer, B, earned ¥40; the least profitable, "
        "D, -¥25.")
    # Without product costs, list prices or tickets, only the drivers the data hold are listed.
    bare = value.customer_profitability(orders, "2026-09-30")
    assert value.cost_by_driver(bare)["driver"].tolist() == ["Returns and credits"]


def test_plots_have_titles_and_labels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clv = pd.DataFrame({"customer_id": list("abcdefghij"), "clv_12m": np.arange(10.0), "p_alive": 0.5})
    tier_ax = value.plot_tiers(value.tier_summary(value.value_tiers(clv)))
    campaigns, customers, clv_new = acquisition_frames()
    crv = value.crv_table(value.cac_by_channel(campaigns, customers, "2026Q3"), customers, clv_new, "2026Q3")
    cac_ax = value.plot_cac_crv(crv)
    by_segment = pd.DataFrame({"segment": ["Individual", "Large enterprise"], "profit_per_customer": [-5.0, 100.0]})
    profit_ax = value.plot_profitability(by_segment)
    orders, products, tickets, _ = profit_frames()
    histogram_ax = value.plot_profit_distribution(value.customer_profitability(orders, "2026-09-30", 365, tickets, 25.0, products))
    assert histogram_ax.get_xlabel() == "Profit per customer (¥)" and histogram_ax.get_ylabel() == "Customers"
    assert len(histogram_ax.patches) == 40
    history = pd.DataFrame({"quarter": ["2026Q1", "2026Q2", "2026Q3"], "revenue": [1.0e6, 1.2e6, 1.1e6]})
    history = history.assign(new_customers=[3, 4, 5], active_customers=[10, 12, 11], coverage=["partial", "full", "full"])
    forecast_ax = value.plot_growth_forecast(growth_forecast(history, horizon=2, min_quarters=2), "revenue")
    for ax in (tier_ax, cac_ax, profit_ax, histogram_ax, forecast_ax):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert forecast_ax.get_ylabel() == "Revenue (¥)"
    plt.close("all")
