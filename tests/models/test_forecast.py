"""The one growth trend and forecast of the report (chapters 01 and 04)."""
import numpy as np
import pandas as pd
import pytest

from helpers.chapters import value
from helpers.errors import NotAvailable
from helpers.models.forecast import forecast_series, growth_forecast, growth_trend
from helpers.quarters import Quarter


def test_growth_trend_and_a_four_quarter_forecast():
    # One purchase of 100 * q by each of q customers in quarter number q (1..8), 2024Q4..2026Q3.
    quarters = Quarter.parse("2026Q3").trailing(8)
    # (on the 6th day of each quarter, the 8th quarter's on its 85th: every quarter fully covered)
    rows = [
        (f"c{q}_{i}", quarter.start + pd.Timedelta(days=5 if q < 8 else 84), 100.0 * q)
        for q, quarter in enumerate(quarters, start=1)
        for i in range(q)
    ]
    orders = pd.DataFrame(rows, columns=["customer_id", "order_date", "net_amount"]).assign(is_purchase=True)
    orders["order_id"] = [f"o{i}" for i in range(len(orders))]
    history = growth_trend(orders, "2026Q3", n_quarters=8)
    assert history["quarter"].tolist()[0] == "2024Q4" and history["quarter"].tolist()[-1] == "2026Q3"
    # quarter q: q customers x 100 q = 100 q^2 revenue, q active, q new
    assert history["revenue"].tolist() == [100.0 * q * q for q in range(1, 9)]
    assert history["active_customers"].tolist() == list(range(1, 9)) == history["new_customers"].tolist()
    forecast = growth_forecast(history, horizon=4)
    future = forecast.loc[(forecast["metric"] == "active_customers") & (forecast["kind"] == "forecast")]
    assert future["quarter"].tolist() == ["2026Q4", "2027Q1", "2027Q2", "2027Q3"]
    assert (future["lower"] <= future["value"]).all() and (future["value"] <= future["upper"]).all()
    assert future["value"].iloc[0] > 8  # a rising series keeps rising
    assert "active customers of" in value.forecast_finding(forecast)





def test_quarters_before_the_data_are_left_out_and_partial_ones_marked():
    # Orders from 2025-11-15 (2025Q4 is partial) to 2026-09-26 (4 days short of the quarter's
    # end: within the 7 days' slack, so 2026Q3 is full); 2025Q3 ends before the data starts.
    orders = pd.DataFrame({"customer_id": ["a", "b", "a", "c", "d"], "net_amount": [10.0, 20.0, 30.0, 40.0, 50.0],
                           "order_date": pd.to_datetime(["2025-11-15 09:00", "2025-12-01 09:00", "2026-02-01 09:00",
                                                         "2026-05-01 09:00", "2026-09-26 18:00"])}).assign(is_purchase=True)
    orders["order_id"] = [f"o{i}" for i in range(len(orders))]
    trend = growth_trend(orders, "2026Q3", n_quarters=5, new_customer_warmup_days=120)
    assert trend["quarter"].tolist() == ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    assert trend["coverage"].tolist() == ["partial", "full", "full", "full"]
    # new customers can be told from 2025-11-15 + 120 days = 2026-03-15: from 2026Q2 on
    assert trend["new_customers"].isna().tolist() == [True, True, False, False]
    assert trend["new_customers"].tolist()[2:] == [1.0, 1.0]
    assert trend["revenue"].tolist() == [30.0, 30.0, 40.0, 50.0]
    # three full quarters: with min_quarters 4 nothing is forecast, and the section says so
    with pytest.raises(NotAvailable, match="3 fully covered quarters of history, the forecast needs 4"):
        growth_forecast(trend)
    ahead = growth_forecast(trend, horizon=2, min_quarters=3)
    future = ahead.loc[ahead["kind"] == "forecast"].set_index(["metric", "quarter"])
    # active customers 1, 1, 1 over the full quarters: the last value, flat, never below zero
    assert future.loc[("active_customers", "2026Q4"), "value"] == 1.0
    assert future.loc[("active_customers", "2026Q4"), "method"].startswith("last value")
    # new customers have two full quarters with a value: not forecast, and the method says why
    assert np.isnan(future.loc[("new_customers", "2026Q4"), "value"])
    assert future.loc[("new_customers", "2026Q4"), "method"] == "not forecast: 2 full quarters with a value, 3 needed"
    assert (ahead["lower"].dropna() >= 0).all()


def test_a_falling_revenue_is_never_forecast_below_zero():
    trend = pd.DataFrame({"quarter": ["2025Q4", "2026Q1", "2026Q2", "2026Q3"], "coverage": "full",
                          "new_customers": [5.0, 4.0, 3.0, 2.0], "active_customers": [40, 30, 20, 10],
                          "revenue": [4000.0, 2500.0, 900.0, 100.0]})
    ahead = growth_forecast(trend, horizon=4)
    assert (ahead[["value", "lower", "upper"]].dropna() >= 0).all().all()


def test_forecast_series_last_value_interval_by_hand():
    # Changes +2, +2: their spread is 0, so a flat interval around the last value.
    out = forecast_series(pd.Series([10.0, 12.0, 14.0]), horizon=2)
    assert out["forecast"].tolist() == [14.0, 14.0]
    assert np.allclose(out["lower"], 14.0) and np.allclose(out["upper"], 14.0)
