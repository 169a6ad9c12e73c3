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
