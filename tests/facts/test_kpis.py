"""KPIs on hand-made orders whose answers are worked out in the comments."""
import numpy as np
import pandas as pd
import pytest
from conftest import make_orders

from helpers.facts import kpis
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
    readers = kpis.kpi_table_for_readers(table, "¥")
    assert readers.loc[readers["KPI"] == "Revenue (net)", "This quarter"].item() == "¥310"
    assert readers.loc[readers["KPI"] == "Active customers", "vs previous quarter"].item() == "+100.0%"


def test_churn_base_window():
    orders = make_orders([("o1", "a", "2026-03-01", 5), ("o2", "b", "2026-06-15", 5), ("o3", "b", "2026-09-20", 5)])
    churned = kpis.churn_base(orders, Q3, churn_days=90)
    # a's last purchase (03-01) is more than 90 days before 07-01 -> not in the base; b is, and bought in the last 90 days
    assert churned.to_dict() == {"b": False}
