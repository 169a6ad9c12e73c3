"""Short-horizon forecasts of quarterly series with prediction intervals.

Additive-error, additive (damped) trend exponential smoothing (Holt 1957; the ETS state-space
form of Hyndman et al. 2008, statsmodels ``ETSModel``), which suits the short quarterly series a
report has. Below four points there is no trend to estimate and the forecast is the last value
with an interval from the spread of the quarter-on-quarter changes.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from helpers.facts import purchase_lines
from helpers.quarters import Quarter
from helpers.validation import require_columns

GROWTH_METRICS = {
    "new_customers": "New customers",
    "active_customers": "Active customers",
    "revenue": "Revenue (net)",
}


def forecast_series(history: pd.Series, horizon: int = 1, alpha: float = 0.05) -> pd.DataFrame:
    """Forecast ``horizon`` steps after ``history`` (ordered oldest first, index = period labels).

    Returns
    -------
    DataFrame with one row per forecast step: ``step``, ``forecast``, ``lower``, ``upper``
    (a ``1 - alpha`` prediction interval) and ``method``.
    """
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    values = pd.Series(history, dtype=float).dropna()
    if values.empty:
        raise ValueError("cannot forecast an empty series")
    steps = np.arange(1, horizon + 1)
    if len(values) >= 4 and values.std() > 0:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = ETSModel(values.reset_index(drop=True), error="add", trend="add", damped_trend=True)
            fitted = model.fit(disp=False)
            frame = fitted.get_prediction(start=len(values), end=len(values) + horizon - 1).summary_frame(alpha=alpha)
        out = pd.DataFrame(
            {
                "step": steps,
                "forecast": frame["mean"].to_numpy(),
                "lower": frame["pi_lower"].to_numpy(),
                "upper": frame["pi_upper"].to_numpy(),
            }
        )
        out["method"] = "damped-trend exponential smoothing"
    else:
        changes = values.diff().dropna()
        spread = changes.std() if len(changes) > 1 else abs(values.iloc[-1]) * 0.1
        z = stats.norm.ppf(1 - alpha / 2)
        last = values.iloc[-1]
        out = pd.DataFrame(
            {
                "step": steps,
                "forecast": last,
                "lower": last - z * spread * np.sqrt(steps),
                "upper": last + z * spread * np.sqrt(steps),
            }
        )
        out["method"] = "last value (too few quarters for a trend)"
    return out


def growth_trend(orders: pd.DataFrame, period: Quarter | str, n_quarters: int = 8) -> pd.DataFrame:
    """New customers, active customers and net revenue per quarter, the last ``n_quarters``.

    Returns ``quarter, new_customers, active_customers, revenue`` oldest first.
    """
    require_columns(orders, ["order_id", "customer_id", "order_date", "net_amount", "is_purchase"], "orders")
    trailing = Quarter.parse(period).trailing(n_quarters)
    index = [q.year * 4 + q.q - 1 for q in trailing]  # integer quarter keys: cheaper than text labels

    def quarter_index(dates: pd.Series) -> pd.Series:
        return dates.dt.year * 4 + dates.dt.quarter - 1

    window = orders.loc[(orders["order_date"] >= trailing[0].start) & (orders["order_date"] <= trailing[-1].end)]
    keys = quarter_index(window["order_date"])
    purchases = purchase_lines(window)
    active = purchases.groupby(keys.loc[purchases.index])["customer_id"].nunique()
    revenue = window.groupby(keys)["net_amount"].sum()
    first = purchase_lines(orders).groupby("customer_id")["order_date"].min()
    new = quarter_index(first).value_counts()
    return pd.DataFrame({
        "quarter": [str(q) for q in trailing],
        "new_customers": new.reindex(index).fillna(0).to_numpy(dtype="int64"),
        "active_customers": active.reindex(index).fillna(0).to_numpy(dtype="int64"),
        "revenue": revenue.reindex(index).fillna(0.0).to_numpy(dtype=float),
    })


def growth_forecast(trend: pd.DataFrame, horizon: int = 1, alpha: float = 0.05) -> pd.DataFrame:
    """The trend in long form with a ``horizon``-quarter forecast of every metric: the one
    growth forecast of the report (the overview shows the next quarter, the value chapter four).

    Uses :func:`forecast_series` (damped-trend exponential smoothing). Quarters with no activity
    before the first active quarter are left out of the fit; counts are never forecast below
    zero. Returns ``quarter, metric, label, value, lower, upper, kind`` (``actual`` or
    ``forecast``) and ``method``.
    """
    require_columns(trend, ["quarter", *GROWTH_METRICS], "trend")
    if trend.empty:
        raise ValueError("trend has no quarters to forecast from")
    last = Quarter.parse(trend["quarter"].iloc[-1])
    future = [str(last.shift(step)) for step in range(1, horizon + 1)]
    started = (trend[list(GROWTH_METRICS)] != 0).any(axis=1).cummax()
    if not started.any():
        started[:] = True
    rows = []
    for metric, metric_label in GROWTH_METRICS.items():
        actual = pd.DataFrame({"quarter": trend["quarter"], "metric": metric, "label": metric_label,
                               "value": trend[metric].astype(float), "lower": np.nan, "upper": np.nan,
                               "kind": "actual", "method": ""})
        history = trend.loc[started, metric].astype(float)
        history.index = trend.loc[started, "quarter"]
        predicted = forecast_series(history, horizon=horizon, alpha=alpha)
        floor = 0.0 if metric != "revenue" else -np.inf
        forecast = pd.DataFrame({
            "quarter": future, "metric": metric, "label": metric_label,
            "value": predicted["forecast"].clip(lower=floor).to_numpy(),
            "lower": predicted["lower"].clip(lower=floor).to_numpy(),
            "upper": predicted["upper"].clip(lower=floor).to_numpy(), "kind": "forecast",
            "method": predicted["method"].to_numpy()})
        rows += [actual, forecast]
    return pd.concat(rows, ignore_index=True)
