"""The one growth trend and forecast of the report (chapters 01 and 04)."""
import numpy as np
import pandas as pd

from helpers.chapters import value
from helpers.models.forecast import forecast_series, growth_forecast, growth_trend
from helpers.quarters import Quarter


def test_growth_trend_and_a_four_quarter_forecast():
    # One purchase of 100 * q by each of q customers in quarter number q (1..8), 2024Q4..2026Q3.
    quarters = Quarter.parse("2026Q3").trailing(8)
    rows = [
        (f"c{q}_{i}", quarter.start + pd.Timedelta(days=10), 100.0 * q)
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





def test_quarters_before_the_data_starts_are_not_forecast_from():
    # Nothing before 2026Q1, then 10, 12, 14 active customers: the zeros of 2025Q3-Q4 are no history.
    trend = pd.DataFrame({"quarter": ["2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"],
                          "new_customers": [0, 0, 10, 4, 4], "active_customers": [0, 0, 10, 12, 14],
                          "revenue": [0.0, 0.0, 1000.0, 1200.0, 1400.0]})
    ahead = growth_forecast(trend, horizon=2)
    future = ahead.loc[(ahead["kind"] == "forecast") & (ahead["metric"] == "active_customers")]
    # three quarters of history: the last value, 14, with an interval from the changes (+2, +2)
    assert future["value"].tolist() == [14.0, 14.0]
    assert future["method"].iloc[0].startswith("last value")
    assert (ahead.loc[ahead["metric"] != "revenue", "lower"].dropna() >= 0).all()


def test_forecast_series_last_value_interval_by_hand():
    # Changes +2, +2: their spread is 0, so a flat interval around the last value.
    out = forecast_series(pd.Series([10.0, 12.0, 14.0]), horizon=2)
    assert out["forecast"].tolist() == [14.0, 14.0]
    assert np.allclose(out["lower"], 14.0) and np.allclose(out["upper"], 14.0)
