"""The business definitions on hand-made frames, with their boundary cases."""
import pandas as pd
import pytest
from conftest import make_orders

from helpers import facts
from helpers.facts import customer_facts
from helpers.facts.kpis import churn_base
from helpers.quarters import Quarter


def test_purchase_line_and_net_amount():
    lines = pd.DataFrame({"status": ["completed", "cancelled", "refunded", "completed", "completed", None],
                          "is_return": [False, False, False, True, False, None],
                          "amount": [10.0, 10.0, 10.0, -4.0, 0.0, 5.0]})
    # a sale; cancelled and refunded lines; a return; a zero line; an empty status counts as completed
    assert facts.is_purchase(lines).tolist() == [True, False, False, False, False, True]
    assert facts.net_amount(lines).tolist() == [10.0, 0.0, 0.0, -4.0, 0.0, 5.0]


def test_a_purchase_and_its_return_on_the_same_day():
    orders = make_orders([("o1", "a", "2026-07-01 10:00", 100.0), ("r1", "a", "2026-07-01 16:00", -100.0, "completed", True)])
    assert facts.purchase_lines(orders)["order_id"].tolist() == ["o1"]   # still a purchase (the customer bought)
    assert orders["net_amount"].sum() == 0.0                             # and no net revenue


def test_purchase_lines_with_only_some_columns():
    orders = make_orders([("o1", "a", "2026-07-01 10:00", 10.0), ("o2", "b", "2026-07-02 09:00", 20.0, "cancelled"),
                          ("o3", "a", "2026-07-03 08:00", 30.0), ("o4", "c", "2026-07-04 12:00", 40.0)])
    # the window 07-02 .. 07-03 holds o2 (cancelled, not a purchase) and o3
    lines = facts.purchase_lines(orders, "2026-07-02", "2026-07-03 23:59", columns=["customer_id", "amount", "channel"])
    assert list(lines.columns) == ["customer_id", "order_date", "amount", "is_purchase"]  # no channel in these orders
    assert lines["amount"].tolist() == [30.0] and lines.index.tolist() == [2]
    whole = facts.purchase_lines(orders, "2026-07-02", "2026-07-03 23:59")
    pd.testing.assert_frame_equal(lines, whole[lines.columns])
    # without a window: every purchase line, as all of them with every column
    assert facts.purchase_lines(orders, columns=[])["order_date"].dt.day.tolist() == [1, 3, 4]


def test_days_since_count_calendar_days_from_midnight():
    moments = pd.Series(pd.to_datetime(["2026-06-30 23:59", "2026-07-01 00:00", "2026-04-02 08:00"]))
    assert facts.days_since(moments, "2026-07-01").tolist() == [1, 0, 90]


def test_churned_exactly_at_n_days_and_not_one_day_before():
    assert facts.is_churned(pd.Series([89, 90, 91]), 90).tolist() == [False, True, True]
    with pytest.raises(ValueError, match="positive"):
        facts.is_churned(10, 0)


def test_every_churn_flag_agrees_on_the_boundary():
    # As of 2026-09-30 (end of 2026Q3) with N = 90: a's last purchase is exactly 90 days before
    # (2026-07-02 late in the evening), b's 89 days before, c's the day before the quarter.
    orders = make_orders([("o1", "a", "2026-07-02 23:30", 10.0), ("o2", "b", "2026-07-03 00:10", 10.0),
                          ("o0", "a", "2026-06-20", 10.0), ("o3", "b", "2026-06-25", 10.0),
                          ("o4", "c", "2026-06-30 23:59", 10.0)])
    days = facts.days_since(facts.last_purchase(orders, "2026-09-30"), "2026-09-30")
    assert days.to_dict() == {"a": 90, "b": 89, "c": 92}
    kpi = churn_base(orders, Quarter.parse("2026Q3"), 90)
    assert kpi.to_dict() == {"a": True, "b": False, "c": True}

    from helpers.chapters.actions import win_back
    from helpers.chapters.churn import churn_status
    from helpers.models.churn_model import churn_labels

    as_of_quarter_end = customer_facts.run_pandas(orders, "2026-09-30")
    status = churn_status(as_of_quarter_end, 90).set_index("customer_id")["churned"]
    assert status.to_dict() == kpi.to_dict()
    assert as_of_quarter_end.set_index("customer_id")["days_since_last_purchase"].to_dict() == days.to_dict()
    assert sorted(win_back(as_of_quarter_end, orders, 90)["customer_id"]) == ["a", "c"]
    # The model's label at a cut-off 90 days earlier: active then, churned by 2026-09-30 when no
    # purchase followed in the 90 days after the cut-off.
    labels = churn_labels(orders, "2026-07-02", 90)
    assert labels.to_dict() == {"a": 1, "b": 0, "c": 1}


def test_purchase_lines_at_midnight_belong_to_their_day():
    orders = make_orders([("o1", "a", "2026-07-01 00:00", 5.0), ("o2", "a", "2026-06-30 23:59:59", 5.0)])
    assert facts.last_purchase(orders, "2026-06-30").tolist() == [pd.Timestamp("2026-06-30 23:59:59")]
    assert facts.last_purchase(orders, "2026-07-01").tolist() == [pd.Timestamp("2026-07-01")]


def test_last_purchases_of_several_days_in_one_pass():
    # lines out of date order; b's line of 07-06 is cancelled (not a purchase); c buys only on 07-06;
    # the days come unsorted and one with a clock time, which counts as its whole day
    orders = make_orders([("o3", "a", "2026-07-05 09:00", 10.0), ("o1", "a", "2026-06-30 23:59:59", 10.0),
                          ("o2", "b", "2026-07-01 00:00", 5.0), ("o4", "b", "2026-07-06 12:00", 5.0, "cancelled"),
                          ("o5", "c", "2026-07-06 08:00", 7.0), ("o6", None, "2026-07-02 08:00", 7.0)])
    last = facts.last_purchases(orders, ["2026-07-06", "2026-06-30", "2026-07-01 15:00"])
    day = pd.Timestamp
    assert list(last) == [day("2026-06-30"), day("2026-07-01"), day("2026-07-06")]
    assert last[day("2026-06-30")].to_dict() == {"a": day("2026-06-30 23:59:59")}
    assert last[day("2026-07-01")].to_dict() == {"a": day("2026-06-30 23:59:59"), "b": day("2026-07-01")}
    assert last[day("2026-07-06")].to_dict() == {"a": day("2026-07-05 09:00"), "b": day("2026-07-01"),
                                                 "c": day("2026-07-06 08:00")}
    # the same as grouping the purchase lines up to each day, index and name included
    for as_of, series in last.items():
        lines = facts.purchase_lines(orders, end=facts.end_of_day(as_of))
        pd.testing.assert_series_equal(series, lines.groupby("customer_id")["order_date"].max())


def test_churn_as_of_days_are_the_day_before_each_quarter_and_its_last_day():
    from helpers.facts.kpis import churn_as_of_days

    assert churn_as_of_days(Quarter.parse("2026Q3")) == [pd.Timestamp("2026-06-30"), pd.Timestamp("2026-09-30")]
    # consecutive quarters share a day: three quarters need four days
    assert churn_as_of_days([Quarter.parse(q) for q in ("2026Q1", "2026Q2", "2026Q3")]) == [
        pd.Timestamp(d) for d in ("2025-12-31", "2026-03-31", "2026-06-30", "2026-09-30")]


def test_at_risk_is_the_threshold_or_more_and_high_value_is_the_high_tier():
    from helpers.facts import at_risk_high_value, is_at_risk

    probability = pd.Series([0.49999, 0.5, 0.93])
    assert is_at_risk(probability, 0.5).tolist() == [False, True, True]  # exactly the threshold is at risk
    with pytest.raises(ValueError, match="between 0 and 1, got 1.5"):
        is_at_risk(probability, 1.5)
    clv = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                        "value_tier": pd.Categorical(["high", "medium", "high", "high"], ["high", "medium", "low"])})
    scores = pd.DataFrame({"customer_id": ["a", "b", "c", "e"], "churn_probability": [0.5, 0.9, 0.2, 0.9]})
    # b is medium, c below the threshold, d not scored, e not valued
    assert at_risk_high_value(clv, scores, 0.5)["customer_id"].tolist() == ["a"]


def test_quarter_coverage_and_when_new_customers_can_be_told():
    q3 = Quarter.parse("2026Q3")  # 2026-07-01 .. 2026-09-30
    assert facts.quarter_coverage(q3, "2026-07-08", "2026-09-23") == "full"      # 7 days' slack at each end
    assert facts.quarter_coverage(q3, "2026-07-09", "2026-09-30") == "partial"   # starts 8 days in
    assert facts.quarter_coverage(q3, "2025-01-01", "2026-09-22") == "partial"   # ends 8 days early
    assert facts.quarter_coverage(q3, "2026-10-01", "2026-12-31") == "none"
    assert facts.quarter_coverage(q3, "2025-01-01", "2026-06-30") == "none"
    # data from 2025-11-15, a warm-up of 120 days: 2026-03-15; a quarter starting 7 days before it counts
    assert not facts.can_tell_new("2026-03-07", "2025-11-15", 120)
    assert facts.can_tell_new("2026-03-08", "2025-11-15", 120)
    assert facts.can_tell_new("2025-11-08", "2025-11-15", 0)
    with pytest.raises(ValueError, match="new_customer_warmup_days must be 0 or more"):
        facts.can_tell_new("2026-01-01", "2025-01-01", -1)


def test_purchase_positions_are_the_rows_of_the_purchase_lines():
    orders = make_orders([("o1", "a", "2026-07-01", 10), ("o2", "a", "2026-07-02", 5, "cancelled"),
                          ("o3", "b", "2026-07-03", -4, "completed", True), ("o4", "b", "2026-07-04", 8),
                          ("o5", "c", "2026-07-05", 3)]).set_axis([50, 40, 30, 20, 10])
    assert facts.purchase_positions(orders).tolist() == [0, 3, 4]  # not the cancelled line nor the return
    assert facts.purchase_positions(orders, end="2026-07-04 23:59").tolist() == [0, 3]
    assert facts.purchase_positions(orders, start="2026-07-02").tolist() == [3, 4]


def test_day_numbers_count_calendar_days_whatever_the_clock_time():
    moments = pd.Series(pd.to_datetime(["1970-01-01 00:00", "1970-01-02 23:59", "2026-06-30 23:59", "2026-07-01 00:01"]))
    assert facts.day_numbers(moments).tolist() == [0, 1, 20634, 20635]
    # the difference of two is their days_since: one minute apart across midnight is one day
    assert facts.day_numbers([pd.Timestamp("2026-07-01")])[0] - facts.day_numbers(moments)[2] == 1
    assert facts.days_since(moments.iloc[[2]], "2026-07-01").tolist() == [1]
