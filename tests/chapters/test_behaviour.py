"""Hand-made frames for helpers.chapters.behaviour; expected values worked out in the comments."""
import matplotlib

matplotlib.use("Agg")
import pandas as pd
import pytest

from helpers import facts
from helpers.chapters import behaviour

Q = "2026Q2"  # 2026-04-01 .. 2026-06-30


def _lines(rows):
    """rows: (order_id, customer_id, date, category, net_amount, channel[, is_purchase])"""
    frame = pd.DataFrame(
        [r if len(r) == 7 else (*r, True) for r in rows],
        columns=["order_id", "customer_id", "order_date", "category", "net_amount", "channel", "is_purchase"],
    )
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["quantity"] = 1.0
    frame["product_id"] = "P-" + frame["category"]
    return frame


@pytest.fixture
def orders():
    return _lines(
        [
            # A: one order of two lines (100 + 50) plus a cancelled line that must not count
            ("o1", "A", "2026-04-02", "Office", 100.0, "online"),
            ("o1", "A", "2026-04-02", "Software", 50.0, "online"),
            ("o1", "A", "2026-04-02", "Office", 0.0, "online", False),
            # B: two orders
            ("o2", "B", "2026-05-01", "Office", 200.0, "offline"),
            ("o3", "B", "2026-05-20", "Office", 300.0, "offline"),
            # C: three orders
            ("o4", "C", "2026-04-10", "Software", 10.0, "app"),
            ("o5", "C", "2026-05-10", "Software", 20.0, "app"),
            ("o6", "C", "2026-06-10", "Office", 20.0, "online"),
            # D: one order in the previous quarter only (not active in 2026Q2)
            ("o7", "D", "2026-03-31", "Office", 999.0, "online"),
        ]
    )


@pytest.fixture
def customers():
    return pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "segment": ["Individual", "Individual", "Small enterprise", "Individual"]})


def test_purchase_orders_sums_purchase_lines_only(orders):
    table = behaviour.purchase_orders(orders).set_index("order_id")
    # o1 = 100 + 50 (the cancelled line is not a purchase)
    assert table.loc["o1", "order_value"] == 150.0
    assert len(table) == 7


def test_purchase_lines_window_is_the_same_sorted_or_not(orders):
    # 2026-04-02 .. 2026-05-10 holds the purchase lines of o1 (2), o2, o4, o5; not the cancelled line
    by_date = orders.sort_values("order_date", kind="stable").astype({"order_date": "datetime64[ns]"})
    for frame in (orders, by_date):
        window = facts.purchase_lines(frame, "2026-04-02", "2026-05-10")
        assert sorted(window["order_id"]) == ["o1", "o1", "o2", "o4", "o5"]
    assert facts.purchase_lines(by_date, "2026-04-02", "2026-05-10").index.tolist() == [0, 1, 5, 3, 6]
    assert facts.purchase_lines(by_date, start="2026-06-01")["order_id"].tolist() == ["o6"]
    assert facts.purchase_lines(by_date, end="2026-03-31")["order_id"].tolist() == ["o7"]


def test_purchase_frequency_bands(orders):
    table = behaviour.purchase_frequency(orders, Q).set_index("orders_per_customer")
    # A: 1 order, B: 2, C: 3 -> bands "1", "2", "3-4" one customer each; D is not active
    assert table["customers"].to_dict() == {"1": 1, "2": 1, "3-4": 1, "5-9": 0, "10+": 0}
    assert table.loc["1", "share"] == pytest.approx(1 / 3)
    assert table["orders"].sum() == 6
    # 2 of 3 customers bought more than once; 6 orders / 3 customers = 2.00
    assert behaviour.purchase_frequency_finding(table.reset_index()).startswith("66.7% of the 3 active customers")


def test_order_value_distribution_and_summary(orders):
    bands = behaviour.order_value_distribution(orders, Q)
    # six orders in the quarter: 150, 200, 300, 10, 20, 20 -> revenue 700
    assert bands["orders"].sum() == 6
    assert bands["revenue"].sum() == pytest.approx(700.0)
    summary = behaviour.order_value_summary(orders, Q).iloc[0]
    assert summary["median_order_value"] == pytest.approx(85.0)  # (20 + 150) / 2
    assert summary["mean_order_value"] == pytest.approx(700 / 6)


def test_category_mix_shares(orders, customers):
    mix = behaviour.category_mix(orders, customers, Q).set_index(["segment", "category"])
    # Individual (A, B): Office 100 + 200 + 300 = 600, Software 50 -> 600 / 650
    assert mix.loc[("Individual", "Office"), "share"] == pytest.approx(600 / 650)
    # Small enterprise (C): Software 30, Office 20 -> 0.6 / 0.4
    assert mix.loc[("Small enterprise", "Software"), "share"] == pytest.approx(0.6)
    # All customers: Office 620 of 700
    assert mix.loc[("All customers", "Office"), "share"] == pytest.approx(620 / 700)
    text = behaviour.category_mix_finding(mix.reset_index())
    assert "Office is the largest category with 88.6%" in text


def test_channel_mix_and_trend(orders):
    mix = behaviour.channel_mix(orders, Q).set_index("channel")
    # online: o1 150 + o6 20 = 170; offline 500; app 30 -> revenue 700
    assert mix.loc["offline", "revenue_share"] == pytest.approx(500 / 700)
    assert mix.loc["online", "orders"] == 2
    trend = behaviour.channel_trend(orders, Q, quarters=2)
    # 2026Q1 only holds o7 (online)
    q1 = trend[trend["quarter"] == "2026Q1"].set_index("channel")
    assert q1.loc["online", "revenue_share"] == 1.0
    # online's revenue share: 100% in 2026Q1 (o7 only), 170 / 700 = 24.3% in 2026Q2 -> -75.7 pp,
    # the largest move (offline +71.4 pp, app +4.3 pp)
    assert behaviour.channel_finding(mix.reset_index(), trend) == (
        "Offline brought 71.4% of revenue (2 orders). Since 2026Q1 the online share moved most (-75.7 pp)."
    )


def test_product_distribution_and_category_trend(orders, customers):
    dist = behaviour.product_distribution(orders, customers, Q, by="segment", top_n=1)
    # top product by units: P-Office (A 1, B 2, C 1 = 4 units); Individual units 4, Office 3 of them
    assert set(dist["product"]) == {"P-Office"}
    row = dist.set_index("segment").loc["Individual"]
    assert row["units"] == 3 and row["share_of_units"] == pytest.approx(3 / 4)
    trend = behaviour.category_trend(orders, Q, quarters=2).set_index(["quarter", "category"])
    assert trend.loc[("2026Q1", "Office"), "share"] == 1.0


def _events(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "session_id", "event_time", "event_type", "channel", "feature"])
    frame["event_time"] = pd.to_datetime(frame["event_time"])
    return frame


def test_funnel_counts_steps_in_order():
    events = _events(
        [
            # s1 (web) goes through all four steps in order
            ("A", "s1", "2026-04-01 10:00", "visit", "web", None),
            ("A", "s1", "2026-04-01 10:01", "product_view", "web", None),
            ("A", "s1", "2026-04-01 10:02", "add_to_cart", "web", None),
            ("A", "s1", "2026-04-01 10:03", "purchase", "web", None),
            # s2 (web): visit then add to cart without a product view -> stops after visit
            ("B", "s2", "2026-04-02 10:00", "visit", "web", None),
            ("B", "s2", "2026-04-02 10:05", "add_to_cart", "web", None),
            # s3 (web): the product view happens before the visit -> only the visit counts
            ("C", "s3", "2026-04-03 09:59", "product_view", "web", None),
            ("C", "s3", "2026-04-03 10:00", "visit", "web", None),
            # s4 (app): visit and product view
            ("D", "s4", "2026-04-04 10:00", "visit", "app", None),
            ("D", "s4", "2026-04-04 10:01", "product_view", "app", None),
            ("D", "s4", "2026-04-04 10:02", "feature_use", "app", "search"),
            # outside the quarter
            ("D", "s5", "2026-07-01 10:00", "visit", "app", None),
        ]
    )
    table = behaviour.funnel(events, Q).set_index(["channel", "step"])
    # All: visit 4, view 2 (s1, s4), cart 1 (s1), purchase 1
    assert [table.loc[("All", s), "reached"] for s in behaviour.FUNNEL_STEPS] == [4, 2, 1, 1]
    assert table.loc[("All", "product_view"), "conversion"] == 0.5
    assert table.loc[("All", "purchase"), "conversion"] == 1.0
    assert table.loc[("All", "purchase"), "conversion_from_visit"] == 0.25
    # web: 3, 1, 1, 1; app: 1, 1, 0, 0
    assert [table.loc[("web", s), "reached"] for s in behaviour.FUNNEL_STEPS] == [3, 1, 1, 1]
    assert [table.loc[("app", s), "reached"] for s in behaviour.FUNNEL_STEPS] == [1, 1, 0, 0]
    assert behaviour.funnel_finding(table.reset_index()).startswith("25.0% of 4 visits ended in a purchase")
    by_customer = behaviour.funnel(events, Q, unit="customer").set_index(["channel", "step"])
    assert by_customer.loc[("All", "visit"), "reached"] == 4


def test_usage_and_feature_use():
    events = _events(
        [
            ("A", "s1", "2026-04-01 10:00", "visit", "web", None),
            ("A", "s1", "2026-04-01 10:05", "feature_use", "web", "search"),
            ("A", "s2", "2026-04-01 18:00", "visit", "web", None),
            ("A", "s3", "2026-04-05 10:00", "feature_use", "app", "search"),
            ("B", "s4", "2026-04-02 10:00", "visit", "web", None),
        ]
    )
    usage = behaviour.usage_per_customer(events, Q).set_index("customer_id")
    # A: days 04-01 and 04-05 -> 2 active days, sessions s1 s2 s3, two feature uses
    assert usage.loc["A"].tolist() == [2, 3, 2]
    assert usage.loc["B"].tolist() == [1, 1, 0]
    features = behaviour.feature_use(events, Q).set_index("feature")
    # search: 1 user of 2 event-active customers, 2 uses
    assert features.loc["search", "user_share"] == 0.5 and features.loc["search", "uses"] == 2
    summary = behaviour.usage_summary(usage.reset_index())
    assert summary.set_index("metric").loc["Sessions", "median"] == 2.0


def test_validation_errors(orders):
    with pytest.raises(ValueError, match="lacks column"):
        behaviour.purchase_orders(orders.drop(columns="is_purchase"))
    with pytest.raises(ValueError, match="unit must be"):
        behaviour.funnel(_events([]), Q, unit="visitor")


def test_plots_are_titled(orders, customers):
    import matplotlib.pyplot as plt

    for ax in (
        behaviour.plot_purchase_frequency(behaviour.purchase_frequency(orders, Q)),
        behaviour.plot_order_values(orders, Q),
        behaviour.plot_category_mix(behaviour.category_mix(orders, customers, Q)),
        behaviour.plot_channel_trend(behaviour.channel_trend(orders, Q)),
    ):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        plt.close(ax.figure)


def test_readable_columns():
    frame, formats = behaviour.for_readers(pd.DataFrame({"churn_rate": [0.1], "segment": ["x"], "auc": [0.7]}), {"churn_rate": "pct"})
    assert list(frame.columns) == ["Churn rate", "Segment", "AUC"] and formats == {"Churn rate": "pct"}


def test_product_names_from_products(orders, customers):
    products = pd.DataFrame({"product_id": ["P-Office"], "product_name": ["Office chair"]})
    dist = behaviour.product_distribution(orders, customers, Q, by="segment", top_n=1, products=products)
    assert set(dist["product"]) == {"Office chair"}
    ax = behaviour.plot_product_distribution(dist, by="segment")
    assert ax.get_title() and ax.get_xlabel() == "Segment"


def test_a_funnel_of_one_event_type_is_not_available_with_what_it_needs():
    from helpers.errors import NotAvailable

    visits = _events([("A", "s1", "2026-04-01 10:00", "visit", "web", None),
                      ("B", "s2", "2026-05-01 10:00", "visit", "app", None),
                      ("B", "s3", "2026-07-01 10:00", "purchase", "app", None)])  # next quarter
    with pytest.raises(NotAvailable) as raised:
        behaviour.funnel(visits, Q)
    assert raised.value.line() == ("Not available: the events of 2026Q2 hold visit of the funnel's steps; events with "
                                   "a visit and at least one later step (product_view, add_to_cart, purchase) in "
                                   "events.event_type.")
