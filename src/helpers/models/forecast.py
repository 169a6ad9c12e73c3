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

from helpers import facts
from helpers.errors import NotAvailable
from helpers.facts import purchase_lines
from helpers.quarters import Quarter
from helpers.report.fmt import fmt_quarter
from helpers.report.i18n import t
from helpers.validation import require_columns

GROWTH_METRICS = {
    "new_customers": "New customers",
    "active_customers": "Active customers",
    "revenue": "Revenue (net)",
}


# The columns of the orders that growth_trend reads.
GROWTH_COLUMNS = ("order_id", "customer_id", "order_date", "net_amount", "is_purchase")


def _metric_label(metric: str) -> str:
    """The ``GROWTH_METRICS`` label of ``metric`` in the report's language (the label of charts and legends)."""
    labels = {"new_customers": t("New customers"), "active_customers": t("Active customers"),
              "revenue": t("Revenue (net)")}
    return labels.get(metric, GROWTH_METRICS[metric])


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


def growth_trend(orders: pd.DataFrame, period: Quarter | str, n_quarters: int = 8,
                 new_customer_warmup_days: int = 0) -> pd.DataFrame:
    """New customers, active customers and net revenue per quarter, the last ``n_quarters``.

    Quarters that end before the first order line are left out (no data is not zero); each
    quarter's ``coverage`` is "full" or "partial" (``facts.quarter_coverage`` over the first and
    last order day); new customers are missing (NaN) where they cannot be told
    (``facts.can_tell_new``). Returns ``quarter, coverage, new_customers, active_customers,
    revenue`` oldest first.
    """
    require_columns(orders, list(GROWTH_COLUMNS), "orders")
    if orders.empty:
        raise NotAvailable(t("no order lines"), t("an orders export with rows"))
    orders = orders[list(GROWTH_COLUMNS)]  # the windows below copy only these columns
    data_start, data_end = orders["order_date"].min(), orders["order_date"].max()
    trailing = [q for q in Quarter.parse(period).trailing(n_quarters)
                if facts.quarter_coverage(q, data_start, data_end) != "none"]
    if not trailing:
        raise NotAvailable(t("no order line in the {n_quarters} quarters up to {quarter}", n_quarters=n_quarters,
                             quarter=fmt_quarter(period)),
                           t("an export that covers the report's quarter"))
    index = [q.year * 4 + q.q - 1 for q in trailing]  # integer quarter keys: cheaper than text labels

    def quarter_index(dates: pd.Series) -> pd.Series:
        return dates.dt.year * 4 + dates.dt.quarter - 1

    window = orders.loc[(orders["order_date"] >= trailing[0].start) & (orders["order_date"] <= trailing[-1].end),
                        ["order_date", "customer_id", "net_amount", "is_purchase"]]
    keys = quarter_index(window["order_date"])
    purchases = purchase_lines(window, columns=["customer_id"])
    active = purchases.groupby(keys.loc[purchases.index])["customer_id"].nunique()
    revenue = window.groupby(keys)["net_amount"].sum()
    first = purchase_lines(orders, columns=["customer_id"]).groupby("customer_id")["order_date"].min()
    new = quarter_index(first).value_counts().reindex(index).fillna(0).astype(float)
    knowable = [facts.can_tell_new(q.start, data_start, new_customer_warmup_days) for q in trailing]
    return pd.DataFrame({
        "quarter": [str(q) for q in trailing],
        "coverage": [facts.quarter_coverage(q, data_start, data_end) for q in trailing],
        "new_customers": new.where(knowable).to_numpy(),
        "active_customers": active.reindex(index).fillna(0).to_numpy(dtype="int64"),
        "revenue": revenue.reindex(index).fillna(0.0).to_numpy(dtype=float),
    })


def growth_forecast(trend: pd.DataFrame, horizon: int = 1, alpha: float = 0.05, min_quarters: int = 4) -> pd.DataFrame:
    """The trend in long form with a ``horizon``-quarter forecast of every metric: the one
    growth forecast of the report (the overview shows the next quarter, the value chapter four).

    Uses :func:`forecast_series` (damped-trend exponential smoothing) on the fully covered
    quarters with a value; a metric with fewer than ``min_quarters`` of them is not forecast
    (its forecast rows are missing, ``method`` says why), and when no metric can be, the
    forecast is not available. Forecasts and their intervals never go below zero. Returns
    ``quarter, coverage, metric, label, value, lower, upper, kind`` (``actual`` or
    ``forecast``) and ``method``.
    """
    require_columns(trend, ["quarter", "coverage", *GROWTH_METRICS], "trend")
    if trend.empty:
        raise ValueError("trend has no quarters to forecast from")
    if min_quarters < 1:
        raise ValueError(f"min_quarters must be at least 1, got {min_quarters}")
    last = Quarter.parse(trend["quarter"].iloc[-1])
    future = [str(last.shift(step)) for step in range(1, horizon + 1)]
    full = trend["coverage"] == "full"
    rows, forecast_made = [], False
    for metric in GROWTH_METRICS:
        metric_label = _metric_label(metric)
        actual = pd.DataFrame({"quarter": trend["quarter"], "coverage": trend["coverage"], "metric": metric,
                               "label": metric_label, "value": trend[metric].astype(float), "lower": np.nan,
                               "upper": np.nan, "kind": "actual", "method": ""})
        usable = full & trend[metric].notna()
        history = pd.Series(trend.loc[usable, metric].astype(float).to_numpy(), index=trend.loc[usable, "quarter"])
        forecast = pd.DataFrame({"quarter": future, "coverage": "forecast", "metric": metric, "label": metric_label,
                                 "value": np.nan, "lower": np.nan, "upper": np.nan, "kind": "forecast",
                                 "method": f"not forecast: {len(history)} full quarters with a value, "
                                           f"{min_quarters} needed"})
        if len(history) >= min_quarters:
            predicted = forecast_series(history, horizon=horizon, alpha=alpha)
            for column, source in (("value", "forecast"), ("lower", "lower"), ("upper", "upper")):
                forecast[column] = predicted[source].clip(lower=0.0).to_numpy()  # no negative counts or revenue
            forecast["method"] = predicted["method"].to_numpy()
            forecast_made = True
        rows += [actual, forecast]
    if not forecast_made:
        held = int(full.sum())
        if held == 1:
            missing = t("1 fully covered quarter of history, the forecast needs {needed}", needed=min_quarters)
        else:
            missing = t("{held} fully covered quarters of history, the forecast needs {needed}", held=held,
                        needed=min_quarters)
        raise NotAvailable(missing, t("a longer export, or a lower forecast_min_quarters in the parameters"))
    return pd.concat(rows, ignore_index=True)
