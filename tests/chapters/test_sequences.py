"""Hand-made orders for helpers.chapters.sequences; transitions and gaps worked out in the comments."""
import matplotlib

matplotlib.use("Agg")
import pandas as pd
import pytest

from helpers.chapters import sequences


@pytest.fixture
def orders():
    rows = [
        # A: o1 (X 100 + Y 30 -> main category X), o2 (Y) ten days later, o3 (X) ten days later
        ("o1", "A", "2026-04-01", "X", 100.0), ("o1", "A", "2026-04-01", "Y", 30.0),
        ("o2", "A", "2026-04-11", "Y", 50.0),
        ("o3", "A", "2026-04-21", "X", 70.0),
        # B: o4 (X) and o5 (X) one day apart
        ("o4", "B", "2026-04-05", "X", 10.0),
        ("o5", "B", "2026-04-06", "X", 10.0),
        # C: a single order has no transition
        ("o6", "C", "2026-05-01", "Y", 10.0),
    ]
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "category", "net_amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["is_purchase"] = True
    return frame


def test_main_category_per_order(orders):
    heads = sequences.order_categories(orders).set_index("order_id")
    assert heads.loc["o1", "category"] == "X"  # 100 > 30
    assert len(heads) == 6


def test_transitions_and_gaps(orders):
    pairs = sequences.consecutive_orders(orders, "2026Q2", quarters=1)
    # A: X -> Y (10 days), Y -> X (10 days); B: X -> X (1 day)
    assert sorted(zip(pairs["from_category"], pairs["to_category"], pairs["days_between"])) == [
        ("X", "X", 1), ("X", "Y", 10), ("Y", "X", 10)
    ]
    table = sequences.next_category_table(pairs).set_index(["from_category", "to_category"])
    # from X: one to X, one to Y -> 0.5 each; from Y: one to X -> 1.0
    assert table.loc[("X", "Y"), "share"] == 0.5 and table.loc[("X", "X"), "share"] == 0.5
    assert table.loc[("Y", "X"), "share"] == 1.0
    gaps = sequences.days_between_orders(pairs).set_index("category")
    # all gaps 1, 10, 10 -> median 10; after an X order: 1 and 10 -> median 5.5
    assert gaps.loc["All categories", "median_days"] == 10
    assert gaps.loc["X", "median_days"] == 5.5
    assert gaps.loc["All categories", "order_pairs"] == 3
    text = sequences.sequences_finding(table.reset_index(), gaps.reset_index())
    # one of three transitions stays in the same category (X -> X)
    assert text.startswith("33.3% of 3 repeat orders stay in the category")
    assert "median time to the next order is 10 days" in text


def test_pairs_limited_to_the_window(orders):
    # a window of 1 quarter ending 2026Q3 holds no second order at all
    assert sequences.consecutive_orders(orders, "2026Q3", quarters=1).empty


def test_heatmap_is_labelled(orders):
    table = sequences.next_category_table(sequences.consecutive_orders(orders, "2026Q2"))
    ax = sequences.plot_next_category(table)
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


@pytest.mark.parametrize("dtype", ["object", "str"])
def test_orders_sort_by_customer_date_and_id_as_text_and_ties_go_to_the_first_category(dtype):
    rows = [  # order, customer, date, category, net amount
        ("B2", "c10", "2026-01-02 10:00", "Software", 50.0), ("B2", "c10", "2026-01-02 10:00", "Hardware", 50.0),
        ("B10", "c10", "2026-01-02 10:00", "Training", 30.0),
        ("A1", "c9", "2026-01-01 09:00", "Software", 100.0),
        ("Z1", "C1", "2026-03-01 08:00", None, 20.0),
    ]
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "category", "net_amount"])
    frame = frame.astype({"order_id": dtype, "customer_id": dtype})
    frame["order_date"], frame["is_purchase"] = pd.to_datetime(frame["order_date"]), True
    heads = sequences.order_categories(frame)
    # "C1" < "c10" < "c9" and "B10" < "B2" as text; B2's tie (50 and 50) goes to Hardware, before Software
    assert heads[["order_id", "customer_id", "category"]].values.tolist() == [
        ["Z1", "C1", "Uncategorised"], ["B10", "c10", "Training"], ["B2", "c10", "Hardware"], ["A1", "c9", "Software"]]
    assert heads["order_date"].tolist() == list(pd.to_datetime(["2026-03-01 08:00", "2026-01-02 10:00",
                                                                "2026-01-02 10:00", "2026-01-01 09:00"]))
