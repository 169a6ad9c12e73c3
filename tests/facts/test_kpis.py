"""KPIs on hand-made orders whose answers are worked out in the comments."""
import numpy as np
import pandas as pd
import pytest
from conftest import make_orders

from helpers.facts import kpis
from helpers.models import stats
from helpers.quarters import Quarter

Q3 = Quarter.parse("2026Q3")


def test_quarter_kpis_by_hand(tiny_orders):
    values = kpis.quarter_kpis(tiny_orders, None, Q3, churn_days=90)
    # Purchases in Q3: a (o1, o2), b (o3). c's Q3 order was cancelled; b's o6 is a return.
    assert values["active_customers"] == 2
    assert values["new_customers"] == 2                       # a and b first bought in Q3; c in Q2
    assert values["revenue"] == pytest.approx(100 + 50 + 200 - 40)   # cancelled counts 0, return subtracts
    assert values["average_order_value"] == pytest.approx((100 + 50 + 200) / 3)
    assert values["repeat_purchase_rate"] == pytest.approx(0.5)       # a has 2 orders, b has 1
    # 30-day retention: a (first 07-05, again 07-20) and b (first 08-01, nothing within 30 days) -> 1/2
    assert values["retention_30d"] == pytest.approx(0.5)
    # churn: active at 07-01 with a purchase in the previous 90 days = c (04-10); no purchase since -> churned
    assert values["churn_rate"] == pytest.approx(1.0)
    assert np.isnan(values["nps"])


def test_first_purchases_and_repeat_within_30_days_by_hand():
    orders = make_orders([
        ("o1", "b", "2026-08-01 10:00", 200.0),
        ("o1", "b", "2026-08-01 10:00", 5.0),             # a second line of the first order: no repeat
        ("o2", "b", "2026-09-15", 80.0),                  # 45 days later: too late
        ("o3", "a", "2026-06-01", 60.0, "cancelled"),     # not a purchase: a's first is o4
        ("o4", "a", "2026-06-10 09:00", 100.0),
        ("o5", "a", "2026-07-10 09:00", 50.0),            # exactly 30 days later: counts
        ("o6", "c", "2026-07-01", -30.0, "completed", True),  # only a return: no purchase
    ])
    firsts = kpis.first_purchases(orders)
    assert firsts.index.tolist() == ["a", "b"]
    assert firsts["first_purchase"].tolist() == [pd.Timestamp("2026-06-10 09:00"), pd.Timestamp("2026-08-01 10:00")]
    assert firsts["bought_again"].tolist() == [True, False]
    assert kpis.first_purchases(orders, days=29)["bought_again"].tolist() == [False, False]
    assert kpis.first_purchases(orders, days=45)["bought_again"].tolist() == [True, True]


def test_kpis_of_several_quarters_from_one_basis_equal_each_alone(tiny_orders):
    quarters = [Q3, Q3.previous(), Q3.year_ago()]
    basis = kpis.kpi_basis(tiny_orders, quarters)
    for q in quarters:
        shared, alone = kpis.quarter_kpis(tiny_orders, None, q, 90, basis=basis), kpis.quarter_kpis(tiny_orders, None, q, 90)
        assert shared.keys() == alone.keys()
        assert all(shared[m] == alone[m] or (np.isnan(shared[m]) and np.isnan(alone[m])) for m in shared)
    assert kpis.quarter_kpis(tiny_orders, None, Q3.previous(), 90, basis=basis)["new_customers"] == 1  # c, 04-10


def test_nps_and_csat():
    assert kpis.nps_points([10, 9, 8, 7, 6, 0]).tolist() == [100, 100, 0, 0, -100, -100]
    assert kpis.nps_points(pd.Series([10, 10, 7, 3])).mean() == pytest.approx(25.0)    # 50% - 25%
    with pytest.raises(ValueError, match="between 0 and 10"):
        kpis.nps_points([11])
    surveys = pd.DataFrame({"customer_id": ["a", "b", "c", "a"], "response_date": pd.to_datetime(["2026-07-01", "2026-08-01", "2026-09-01", "2026-06-01"]),
                            "nps_score": [10, 5, np.nan, 10], "csat_score": [5, 3, 4, np.nan]})
    values = kpis.quarter_kpis(make_orders([("o1", "a", "2026-07-05", 1)]), surveys, Q3, 90)
    assert values["nps"] == pytest.approx(0.0)          # one promoter, one detractor in Q3
    assert values["csat"] == pytest.approx(2 / 3)       # 5 and 4 of 5, 3, 4


def test_compute_kpis_changes_and_targets(tiny_orders):
    table = kpis.compute_kpis(tiny_orders, None, Q3, 90, {"active_customers": 3, "churn_rate": 0.5,
                                                           "repeat_purchase_rate": 0.4})
    row = table.set_index("metric")
    assert row.loc["active_customers", "previous"] == 1            # only c bought in Q2
    assert row.loc["active_customers", "qoq_change"] == pytest.approx(1.0)   # 2 / 1 - 1
    assert bool(row.loc["active_customers", "met"]) is False        # 2 < 3
    assert bool(row.loc["churn_rate", "met"]) is False              # lower is better: 1.0 > 0.5
    assert bool(row.loc["repeat_purchase_rate", "met"]) is True     # 0.5 >= 0.4
    assert row.loc["repeat_purchase_rate", "qoq_change"] == pytest.approx(0.5 - 0.0)  # a difference for rates
    assert row.loc["revenue", "met"] is None
    readers = kpis.kpi_table_for_readers(table, "¥").set_index("KPI")
    assert readers.loc["Revenue (net)", "This quarter"] == "¥310"
    assert readers.loc["Active customers", "vs previous quarter"] == "+100.0%"
    assert readers.loc["Active customers", ["Target", "Met"]].tolist() == ["3", "not met"]
    assert readers.loc["Repeat-purchase rate", ["Target", "Met"]].tolist() == ["40.0%", "met"]
    assert readers.loc["Revenue (net)", ["Target", "Met"]].tolist() == ["no target", "–"]
    assert kpis.kpi_finding(table, "¥").startswith("1 of 3 KPIs with a target met it this quarter.")


def test_the_previous_quarters_kpis_are_those_compute_kpis_gives_for_it(tiny_orders):
    targets = {"active_customers": 3, "churn_rate": 0.5}
    then = kpis.previous_quarter_kpis(kpis.compute_kpis(tiny_orders, None, Q3, 90, targets)).set_index("metric")
    assert then.loc["active_customers", "value"] == 1 and then.loc["revenue", "value"] == 80.0  # c's o4 in Q2
    assert then.loc["active_customers", "target"] == 3 and np.isnan(then.loc["revenue", "target"])
    alone = kpis.compute_kpis(tiny_orders, None, Q3.previous(), 90, targets).set_index("metric")
    pd.testing.assert_frame_equal(then, alone[["value", "target"]])


def test_compute_kpis_without_targets(tiny_orders):
    with_targets = kpis.compute_kpis(tiny_orders, None, Q3, 90, {"active_customers": 3, "revenue": 100})
    # no targets at all, and targets given as None / NaN (an empty kpi_targets entry) are the same
    for targets in ({}, {metric: None for metric in kpis.KPIS}, {"revenue": np.nan, "nps": None}):
        table = kpis.compute_kpis(tiny_orders, None, Q3, 90, targets)
        # the values are those computed with targets (revenue 310, 2 active customers, see above)
        value_columns = ["metric", "value", "previous", "year_ago", "qoq_change", "yoy_change"]
        pd.testing.assert_frame_equal(table[value_columns], with_targets[value_columns])
        assert table["target"].isna().all()
        assert table["met"].isna().all()
    readers = kpis.kpi_table_for_readers(table, "¥")
    assert (readers["Target"] == "no target").all()
    assert not readers["Met"].isin(["met", "not met"]).any()
    assert readers.set_index("KPI").loc["Revenue (net)", "This quarter"] == "¥310"
    assert kpis.kpi_finding(table, "¥").startswith(
        "No KPI has a target (kpi_targets in the parameters), so none is judged met or not met. Net revenue was ¥310")
    # the chapter's table with the significance columns says the same
    significance = table[["metric"]].assign(change_low=np.nan, change_high=np.nan, significant=False,
                                            small_sample=False)
    shown = stats.kpi_table_with_significance(table.merge(significance, on="metric"), "¥")
    assert (shown["Target"] == "no target").all() and not shown["Met"].isin(["met", "not met"]).any()


def test_churn_base_window():
    orders = make_orders([("o1", "a", "2026-03-01", 5), ("o2", "b", "2026-06-15", 5), ("o3", "b", "2026-09-20", 5)])
    churned = kpis.churn_base(orders, Q3, churn_days=90)
    # a's last purchase (03-01) is more than 90 days before 07-01 -> not in the base; b is, and bought in the last 90 days
    assert churned.to_dict() == {"b": False}


def test_a_partly_covered_quarter_is_not_compared_and_new_customers_wait_for_the_warm_up():
    # Orders from 2026-05-15 (2026Q2 covered from its 45th day) to 2026-09-30; surveys all year.
    orders = make_orders([("o1", "a", "2026-05-15", 100), ("o2", "b", "2026-06-10", 50), ("o3", "a", "2026-07-05", 80),
                          ("o4", "c", "2026-08-01", 60), ("o5", "b", "2026-09-30", 40)])
    spans = kpis.DataSpans({"orders": {"first_day": "2026-05-15", "last_day": "2026-09-30"},
                            "surveys": {"first_day": "2026-01-01", "last_day": "2026-09-30"}}, new_customer_warmup_days=30)
    surveys = pd.DataFrame({"customer_id": ["a", "b"], "response_date": pd.to_datetime(["2026-05-01", "2026-08-01"]),
                            "nps_score": [10.0, 0.0], "csat_score": [5.0, 2.0]})
    table = kpis.compute_kpis(orders, surveys, Q3, 90, {}, spans).set_index("metric")
    # Q3's own values stand: 3 active (a, b, c), 1 new (c; a and b first bought in Q2)
    assert table.loc["active_customers", "value"] == 3 and table.loc["new_customers", "value"] == 1
    assert (table["coverage"] == "full").all()
    # Q2 is partial for the orders: no change on it; its new customers cannot be told (warm-up to 06-14)
    assert table["qoq_change"].drop(["nps", "csat"]).isna().all()
    assert np.isnan(table.loc["new_customers", "previous"])
    assert table.loc["active_customers", "previous"] == 2     # shown, but not compared
    assert table.loc["active_customers", "not_compared"] == ("2026Q2 is only partly covered by the orders data; "
                                                             "2025Q3 is not in the orders data")
    assert table.loc["new_customers", "not_compared"].startswith("new customers cannot be told in 2026Q2")
    # the surveys cover both quarters: NPS is compared (-100 now against +100), but not with a year ago
    assert table.loc["nps", "qoq_change"] == -200.0 and np.isnan(table.loc["nps", "yoy_change"])
    assert table.loc["nps", "not_compared"] == "2025Q3 is not in the surveys data"
    note = kpis.comparison_note(table.reset_index())
    assert note.startswith("Not compared with other quarters: New customers, Active customers, Revenue (net)")
    significance = stats.kpi_significance(orders, surveys, Q3, 90, n_resamples=100, spans=spans).set_index("metric")
    assert np.isnan(significance.loc["active_customers", "change_low"])
    assert not significance.loc["active_customers", "significant"]
    assert significance.loc["active_customers", "method"] == "not compared: 2026Q2 is only partly covered by the orders data"
    readers = kpis.kpi_table_for_readers(kpis.compute_kpis(orders, surveys, Quarter.parse("2026Q2"), 90, {}, spans), "¥")
    assert readers.loc[1, "This quarter"] == "2 (partial quarter)"
