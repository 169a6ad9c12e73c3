"""Customer lifetime value: repeat-purchase summaries, BG/NBD (or Pareto/NBD) + Gamma-Gamma fits,
predictions over a horizon and a calibration / holdout check.

Methods
-------
- BG/NBD purchase model: Fader, Hardie and Lee (2005), "Counting your customers the easy way",
  Marketing Science 24(2). Pareto/NBD as an option: Schmittlein, Morrison and Colombo (1987).
- Gamma-Gamma spend model: Fader, Hardie and Lee (2005), "RFM and CLV: using iso-value curves",
  JMR 42(4); Fader and Hardie (2013), note 025.
- Fitting uses the ``lifetimes`` fitters on the summary compressed to its unique rows with
  weights (each unique (frequency, recency, T) pattern counted once, as Fader and Hardie do),
  which gives the same maximum-likelihood estimates as the per-customer fit at a fraction of
  the cost. The summaries are built here, vectorised, because the ``lifetimes`` utilities
  (``summary_data_from_transaction_data``, ``calibration_and_holdout_data``) fail on pandas 3.

Quirks of ``lifetimes`` handled here: importing it sets ``simplefilter("ignore", FutureWarning)``
process-wide (the filters are restored around the import and every fit), a failed fit prints the
optimiser output to stdout (captured), and the column named ``T`` is always read as ``df["T"]``.
"""
from __future__ import annotations

import contextlib
import io
import time
import warnings
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.facts import purchase_lines
from helpers.models.nbd import NBDFitter
from helpers.report.fmt import fmt_change, fmt_int, fmt_money, fmt_num, fmt_pct
from helpers.validation import require_columns

with warnings.catch_warnings():  # lifetimes silences every FutureWarning at import; keep ours
    # ... and sets pandas' obsolete "mode.chained_assignment" option (a deprecation warning on pandas 3).
    warnings.filterwarnings("ignore", message=".*chained_assignment.*")
    import lifetimes
    from lifetimes.utils import ConvergenceError

__all__ = [
    "TIME_UNIT_DAYS",
    "ClvModels",
    "HoldoutValidation",
    "purchases_from_orders",
    "repeat_purchase_summary",
    "calibration_holdout_summary",
    "compress_purchase_summary",
    "compress_spend_summary",
    "fit_purchase_model",
    "fit_spend_model",
    "fit_clv_models",
    "predict_clv",
    "holdout_validation",
    "calibration_by_frequency",
    "plot_calibration",
    "clv_finding",
    "validation_finding",
]

#: Length of one model time unit in days ("D" days, "W" weeks).
TIME_UNIT_DAYS = {"D": 1.0, "W": 7.0}
_DAYS_PER_MONTH = 365.25 / 12
_PURCHASE_MODELS = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}
# Fitted parameters outside this range mean the optimiser ran off (a flat likelihood).
_PARAM_RANGE = (1e-6, 1e6)


def _unit_days(time_unit: str) -> float:
    if time_unit not in TIME_UNIT_DAYS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNIT_DAYS)}, got {time_unit!r}")
    return TIME_UNIT_DAYS[time_unit]




def purchases_from_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Valid purchase lines of the prepared ``orders`` table: customer_id, order_date, amount.

    Only ``is_purchase`` lines count (completed, not a return, amount > 0); the amount is the
    line's ``net_amount``.
    """
    require_columns(orders, ["customer_id", "order_date", "net_amount", "is_purchase"], "orders")
    out = purchase_lines(orders)[["customer_id", "order_date", "net_amount"]].rename(columns={"net_amount": "amount"})
    return out.reset_index(drop=True)


def _daily_purchases(transactions, customer_col, date_col, value_col, start=None, end=None) -> pd.DataFrame:
    """One row per customer and purchase day (same-day purchases count once, values summed)."""
    require_columns(transactions, [customer_col, date_col, value_col], "transactions")
    dates = pd.to_datetime(transactions[date_col]).dt.normalize()
    keep = dates.notna() & transactions[customer_col].notna()
    if start is not None:
        keep &= dates > start
    if end is not None:
        keep &= dates <= end
    daily = (
        pd.DataFrame(
            {
                "customer_id": transactions.loc[keep, customer_col].to_numpy(),
                "day": dates[keep].to_numpy(),
                "value": pd.to_numeric(transactions.loc[keep, value_col], errors="coerce").fillna(0.0).to_numpy(),
            }
        )
        .groupby(["customer_id", "day"], sort=True, observed=True)["value"]
        .sum()
        .reset_index()
    )
    return daily


def repeat_purchase_summary(
    transactions: pd.DataFrame,
    as_of,
    *,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    value_col: str = "amount",
    time_unit: str = "W",
) -> pd.DataFrame:
    """Repeat-purchase summary of every customer with a purchase on or before ``as_of``.

    Purchases are counted per day, as in Fader, Hardie and Lee (2005): several purchases on one
    day are one transaction whose value is their sum.

    Returns
    -------
    DataFrame with ``customer_id``; ``frequency`` (number of repeat purchase days, i.e. purchase
    days after the first); ``recency`` (time from the first to the last purchase day);
    ``T`` (time from the first purchase day to ``as_of``), both in ``time_unit`` ("D" days or
    "W" weeks); ``monetary_value`` (mean value of the repeat purchase days, 0 without repeats);
    ``first_purchase`` and ``last_purchase`` (dates).
    """
    unit = _unit_days(time_unit)
    as_of = pd.Timestamp(as_of).normalize()
    daily = _daily_purchases(transactions, customer_col, date_col, value_col, end=as_of)
    grouped = daily.groupby("customer_id", sort=True, observed=True)
    summary = grouped.agg(
        first_purchase=("day", "min"),
        last_purchase=("day", "max"),
        purchase_days=("day", "size"),
        total_value=("value", "sum"),
        first_value=("value", "first"),
    )
    frequency = summary["purchase_days"] - 1
    repeat_value = summary["total_value"] - summary["first_value"]
    out = pd.DataFrame(
        {
            "customer_id": summary.index.to_numpy(),
            "frequency": frequency.to_numpy(dtype=np.int64),
            "recency": ((summary["last_purchase"] - summary["first_purchase"]).dt.days / unit).to_numpy(),
            "T": ((as_of - summary["first_purchase"]).dt.days / unit).to_numpy(),
            "monetary_value": np.where(frequency > 0, repeat_value / frequency.clip(lower=1), 0.0),
            "first_purchase": summary["first_purchase"].to_numpy(),
            "last_purchase": summary["last_purchase"].to_numpy(),
        }
    )
    return out


def calibration_holdout_summary(
    transactions: pd.DataFrame,
    holdout_end,
    holdout_weeks: int,
    *,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    value_col: str = "amount",
    time_unit: str = "W",
) -> pd.DataFrame:
    """Split purchases at ``holdout_end - holdout_weeks`` into a calibration and a holdout period.

    The calibration period ends ``holdout_weeks`` weeks before ``holdout_end``; only customers
    whose first purchase falls in it are kept (the holdout tests predictions for known customers).

    Returns
    -------
    The :func:`repeat_purchase_summary` columns for the calibration period, plus
    ``frequency_holdout`` (purchase days in the holdout period), ``monetary_value_holdout``
    (mean value per holdout purchase day, 0 without one) and ``duration_holdout`` (holdout length
    in ``time_unit``).
    """
    if int(holdout_weeks) < 1:
        raise ValueError(f"holdout_weeks must be at least 1, got {holdout_weeks}")
    unit = _unit_days(time_unit)
    holdout_end = pd.Timestamp(holdout_end).normalize()
    calibration_end = holdout_end - pd.Timedelta(days=7 * int(holdout_weeks))
    kwargs = dict(customer_col=customer_col, date_col=date_col, value_col=value_col)
    calibration = repeat_purchase_summary(transactions, calibration_end, time_unit=time_unit, **kwargs)
    holdout = _daily_purchases(transactions, customer_col, date_col, value_col, start=calibration_end, end=holdout_end)
    in_holdout = holdout.groupby("customer_id", observed=True)["value"].agg(["size", "mean"])
    counts = in_holdout["size"].reindex(calibration["customer_id"]).fillna(0)
    values = in_holdout["mean"].reindex(calibration["customer_id"]).fillna(0.0)
    calibration["frequency_holdout"] = counts.to_numpy(dtype=np.int64)
    calibration["monetary_value_holdout"] = values.to_numpy()
    calibration["duration_holdout"] = 7 * int(holdout_weeks) / unit
    calibration.attrs["calibration_end"] = calibration_end
    calibration.attrs["holdout_end"] = holdout_end
    return calibration


def compress_purchase_summary(summary: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Unique ``(frequency, recency, T)`` rows with ``weights`` = number of customers having them.

    Returns the compressed frame and, for every row of ``summary``, the position of its unique
    row (to broadcast predictions back).
    """
    require_columns(summary, ["frequency", "recency", "T"], "summary")
    keys = summary[["frequency", "recency", "T"]]
    codes = keys.groupby(["frequency", "recency", "T"], sort=True).ngroup().to_numpy()
    unique = keys.groupby(["frequency", "recency", "T"], sort=True).size().rename("weights").reset_index()
    return unique, codes


def compress_spend_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Unique ``(frequency, monetary_value)`` rows of repeat buyers with ``weights`` (Gamma-Gamma input)."""
    require_columns(summary, ["frequency", "monetary_value"], "summary")
    repeaters = summary.loc[(summary["frequency"] > 0) & (summary["monetary_value"] > 0), ["frequency", "monetary_value"]]
    return repeaters.groupby(["frequency", "monetary_value"], sort=True).size().rename("weights").reset_index()


def _params_text(params: pd.Series) -> str:
    return ", ".join(f"{name} = {value:.4g}" for name, value in params.items())


def _absurd(params: pd.Series, model: str) -> str | None:
    values = params.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        return "non-finite parameter"
    low, high = _PARAM_RANGE
    if np.any(values < low) or np.any(values > high):
        return f"parameter outside [{low:g}, {high:g}]"
    if model == "Gamma-Gamma" and params["q"] <= 1:
        return "q <= 1 (mean spend not finite)"
    return None


def _fit_with_retries(make_fitter, fit_args: dict, model: str, penalizers, n_customers: int, n_rows: int):
    """Fit, checking convergence and plausibility; retry with the next penalizer on failure."""
    if not penalizers:
        raise ValueError("penalizers must list at least one value, e.g. [0.0, 0.001, 0.01]")
    notes = []
    started = time.perf_counter()
    fitter = None
    for penalizer in penalizers:
        candidate = make_fitter(float(penalizer))
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore", RuntimeWarning)
                candidate.fit(**fit_args)
        except (ConvergenceError, ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            notes.append(f"penalizer {penalizer:g}: did not converge ({type(exc).__name__})")
            continue
        problem = _absurd(candidate.params_, model)
        fitter = candidate
        if problem is None:
            report = {
                "model": model,
                "params": _params_text(candidate.params_),
                "converged": True,
                "penalizer": float(penalizer),
                "n_customers": int(n_customers),
                "n_unique_rows": int(n_rows),
                "seconds": round(time.perf_counter() - started, 2),
                "note": "; ".join(notes + [f"converged with penalizer {penalizer:g}"]) if notes else "converged at the first attempt",
            }
            return candidate, report
        notes.append(f"penalizer {penalizer:g}: implausible estimates ({problem}: {_params_text(candidate.params_)})")
    report = {
        "model": model,
        "params": _params_text(fitter.params_) if fitter is not None else "",
        "converged": False,
        "penalizer": float(penalizers[-1]),
        "n_customers": int(n_customers),
        "n_unique_rows": int(n_rows),
        "seconds": round(time.perf_counter() - started, 2),
        "note": "; ".join(notes),
    }
    return fitter, report


def fit_purchase_model(
    summary: pd.DataFrame,
    model: str = "bgnbd",
    penalizers: tuple[float, ...] = (0.0, 0.001, 0.01),
    compress: bool = True,
):
    """Fit BG/NBD (``model="bgnbd"``) or Pareto/NBD (``"pareto_nbd"``) to a repeat-purchase summary.

    The summary is compressed to unique ``(frequency, recency, T)`` rows with weights unless
    ``compress=False``. A fit that does not converge or gives implausible estimates is retried
    with each next penalizer (an L2 penalty on the parameters).

    Returns
    -------
    (fitter or None, fit report dict with model, params, converged, penalizer, n_customers,
    n_unique_rows, seconds, note)
    """
    if model not in _PURCHASE_MODELS:
        raise ValueError(f"model must be one of {sorted(_PURCHASE_MODELS)}, got {model!r}")
    if len(summary) == 0:
        raise ValueError("the summary is empty: no customer has a purchase before the as-of date")
    if compress:
        rows, _ = compress_purchase_summary(summary)
    else:
        rows = summary[["frequency", "recency", "T"]].assign(weights=1)
    fit_args = {
        "frequency": rows["frequency"].to_numpy(),
        "recency": rows["recency"].to_numpy(dtype=float),
        "T": rows["T"].to_numpy(dtype=float),
        "weights": rows["weights"].to_numpy(),
    }
    if model == "bgnbd":
        make = lifetimes.BetaGeoFitter
    else:
        make = lifetimes.ParetoNBDFitter
        fit_args["initial_params"] = np.ones(4)  # lifetimes draws random starts otherwise
    if (rows["frequency"] > 0).sum() == 0:
        raise ValueError("no customer has a repeat purchase: the purchase model cannot be fitted")
    return _fit_with_retries(make, fit_args, _PURCHASE_MODELS[model], penalizers, len(summary), len(rows))


def fit_spend_model(
    summary: pd.DataFrame, penalizers: tuple[float, ...] = (0.0, 0.001, 0.01), compress: bool = True
):
    """Fit the Gamma-Gamma spend model to repeat buyers (``frequency > 0``, ``monetary_value > 0``).

    Returns (fitter or None, fit report dict); also records the correlation between frequency and
    monetary value in the note, which the model assumes to be near zero.
    """
    if compress:
        rows = compress_spend_summary(summary)
    else:
        rows = summary.loc[(summary["frequency"] > 0) & (summary["monetary_value"] > 0), ["frequency", "monetary_value"]]
        rows = rows.assign(weights=1)
    if len(rows) < 2:
        raise ValueError("fewer than two repeat buyers: the spend model cannot be fitted")
    fit_args = {
        "frequency": rows["frequency"].to_numpy(),
        "monetary_value": rows["monetary_value"].to_numpy(dtype=float),
        "weights": rows["weights"].to_numpy(),
    }
    n_customers = int(rows["weights"].sum())
    fitter, report = _fit_with_retries(lifetimes.GammaGammaFitter, fit_args, "Gamma-Gamma", penalizers, n_customers, len(rows))
    repeaters = summary.loc[summary["frequency"] > 0]
    corr = repeaters["frequency"].corr(repeaters["monetary_value"]) if len(repeaters) > 2 else np.nan
    report["note"] = f"{report['note']}; frequency-spend correlation {corr:.2f}"
    return fitter, report


@dataclass
class ClvModels:
    """A fitted purchase model, spend model and the record of how the fits went."""

    purchase_model: object
    spend_model: object
    fit_report: pd.DataFrame
    time_unit: str = "W"


def _fit_no_dropout(summary: pd.DataFrame, failed_report: dict):
    rows, _ = compress_purchase_summary(summary)
    started = time.perf_counter()
    try:
        fitter = NBDFitter().fit(rows["frequency"].to_numpy(), rows["recency"].to_numpy(float),
                                 rows["T"].to_numpy(float), weights=rows["weights"].to_numpy())
    except ValueError as exc:
        raise ValueError(f"the {failed_report['model']} model could not be fitted ({failed_report['note']}) "
                         f"and neither could the NBD model without dropout ({exc})") from None
    return fitter, {
        "model": "NBD (no dropout)", "params": _params_text(fitter.params_), "converged": True, "penalizer": 0.0,
        "n_customers": int(len(summary)), "n_unique_rows": int(len(rows)),
        "seconds": round(time.perf_counter() - started, 2),
        "note": (f"{failed_report['model']} did not give a usable fit ({failed_report['note']}); its dropout "
                 f"parameters go to their bound, so purchases are modelled without dropout (every customer alive)"),
    }


def fit_clv_models(
    summary: pd.DataFrame,
    model: str = "bgnbd",
    penalizers: tuple[float, ...] = (0.0, 0.001, 0.01),
    time_unit: str = "W",
) -> ClvModels:
    """Fit the purchase model (BG/NBD or Pareto/NBD) and the Gamma-Gamma spend model.

    When the purchase model does not converge or its estimates are implausible even with the
    penalizers, the NBD model without dropout (``helpers.models.nbd``) is fitted instead and the report
    says so. Raises ValueError only when that fails too; a spend model that fails
    leaves ``spend_model`` None and the CLV falls back to the mean repeat value (see
    :func:`predict_clv`); both outcomes are in ``fit_report``.
    """
    purchase, purchase_report = fit_purchase_model(summary, model, penalizers)
    if purchase is None or not purchase_report["converged"]:
        # Real data often put the dropout parameters on their bound (no dropout seen in the
        # window); the model then reduces to the NBD without dropout, which is fitted instead.
        purchase, purchase_report = _fit_no_dropout(summary, purchase_report)
    try:
        spend, spend_report = fit_spend_model(summary, penalizers)
    except ValueError as exc:
        spend, spend_report = None, {"model": "Gamma-Gamma", "params": "", "converged": False, "note": str(exc)}
    if spend is not None and not spend_report["converged"]:
        spend = None
    report = pd.DataFrame([purchase_report, spend_report])
    report.attrs["time_unit"] = time_unit
    return ClvModels(purchase, spend, report, time_unit)


def _stable_recency(model, recency: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Pareto/NBD's formulas subtract two equal terms when the last purchase is on the as-of day
    (recency == T) and return NaN; one thousandth of a time unit earlier gives the limit."""
    if isinstance(model, lifetimes.ParetoNBDFitter):
        return np.where((recency >= T) & (T > 1e-3), T - 1e-3, recency)
    return recency


def _expected_purchases(model, t, frequency, recency, T) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = np.asarray(
            model.conditional_expected_number_of_purchases_up_to_time(t, frequency, _stable_recency(model, recency, T), T),
            dtype=float,
        )
        missing = ~np.isfinite(values)
        if missing.any():  # e.g. first purchase on the as-of day: the population expectation applies
            values[missing] = np.asarray(model.expected_number_of_purchases_up_to_time(t), dtype=float)
    return values


def _probability_alive(model, frequency, recency, T) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = np.asarray(model.conditional_probability_alive(frequency, _stable_recency(model, recency, T), T), dtype=float)
    # Still undefined only for customers who bought on the as-of day: they are alive.
    return np.where(np.isfinite(values), values, np.where(recency >= T, 1.0, np.nan))


def predict_clv(
    models: ClvModels,
    summary: pd.DataFrame,
    horizon_months: int = 12,
    monthly_discount_rate: float = 0.01,
) -> pd.DataFrame:
    """Probability alive, expected purchases and discounted CLV over ``horizon_months``.

    CLV is our own discounted sum (the same formula as ``lifetimes``' ``customer_lifetime_value``):
    ``sum over months m of (E[N(m)] - E[N(m-1)]) * E[spend] / (1 + d) ** m``, with E[N(t)] the
    purchase model's conditional expected purchases by time t, E[spend] the Gamma-Gamma
    conditional expected value per purchase (the customer's mean repeat value when the spend model
    is missing) and d the monthly discount rate. Predictions are computed once per unique
    (frequency, recency, T) row and broadcast to the customers.

    Returns
    -------
    DataFrame: customer_id, p_alive, expected_purchases_12m (over the horizon, whatever its
    length), expected_order_value, clv_12m.
    """
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be at least 1, got {horizon_months}")
    if not 0 <= monthly_discount_rate < 1:
        raise ValueError(f"monthly_discount_rate must be in [0, 1), got {monthly_discount_rate}")
    unit = _unit_days(models.time_unit)
    unique, codes = compress_purchase_summary(summary)
    f, r, T = unique["frequency"].to_numpy(), unique["recency"].to_numpy(float), unique["T"].to_numpy(float)
    p_alive = _probability_alive(models.purchase_model, f, r, T)
    month = _DAYS_PER_MONTH / unit
    cumulative = np.column_stack([_expected_purchases(models.purchase_model, m * month, f, r, T) for m in range(1, horizon_months + 1)])
    per_month = np.diff(np.column_stack([np.zeros(len(unique)), cumulative]), axis=1)
    discount = (1 + monthly_discount_rate) ** -np.arange(1, horizon_months + 1)
    discounted_purchases = per_month @ discount
    frequency = summary["frequency"].to_numpy()
    monetary = summary["monetary_value"].to_numpy(float)
    if models.spend_model is not None:
        spend = np.asarray(models.spend_model.conditional_expected_average_profit(frequency, monetary), dtype=float)
    else:
        fallback = monetary[frequency > 0].mean() if (frequency > 0).any() else 0.0
        spend = np.where(frequency > 0, monetary, fallback)
    return pd.DataFrame(
        {
            "customer_id": summary["customer_id"].to_numpy(),
            "p_alive": p_alive[codes],
            "expected_purchases_12m": cumulative[codes, -1],
            "expected_order_value": spend,
            "clv_12m": discounted_purchases[codes] * spend,
        }
    )


@dataclass
class HoldoutValidation:
    """Predicted vs actual holdout purchases: per customer, overall, by decile, and the fit record."""

    per_customer: pd.DataFrame
    overall: pd.DataFrame
    by_decile: pd.DataFrame
    fit_report: pd.DataFrame
    calibration_end: pd.Timestamp | None = None
    holdout_end: pd.Timestamp | None = None


def holdout_validation(
    transactions: pd.DataFrame,
    holdout_end,
    holdout_weeks: int = 26,
    model: str = "bgnbd",
    penalizers: tuple[float, ...] = (0.0, 0.001, 0.01),
    time_unit: str = "W",
) -> HoldoutValidation:
    """Fit on the calibration period and compare predicted with actual holdout purchases.

    Errors are per customer: MAE = mean |predicted - actual| purchase days in the holdout. A naive
    benchmark (the customer's calibration purchase rate ``frequency / T`` times the holdout length)
    is reported beside it. Deciles rank customers by predicted purchases (10 = most).
    """
    split = calibration_holdout_summary(transactions, holdout_end, holdout_weeks, time_unit=time_unit)
    if len(split) == 0:
        raise ValueError("no customer bought before the calibration period ended: shorten holdout_weeks")
    models = fit_clv_models(split, model, penalizers, time_unit)
    unique, codes = compress_purchase_summary(split)
    duration = float(split["duration_holdout"].iloc[0])
    predicted = _expected_purchases(
        models.purchase_model, duration, unique["frequency"].to_numpy(), unique["recency"].to_numpy(float), unique["T"].to_numpy(float)
    )[codes]
    actual = split["frequency_holdout"].to_numpy(float)
    rate = np.where(split["T"] > 0, split["frequency"] / split["T"].where(split["T"] > 0, 1), 0.0)
    per_customer = pd.DataFrame(
        {
            "customer_id": split["customer_id"].to_numpy(),
            "frequency_calibration": split["frequency"].to_numpy(),
            "predicted_purchases": predicted,
            "actual_purchases": actual,
            "naive_purchases": rate * duration,
        }
    )
    per_customer["decile"] = (
        np.ceil(10 * per_customer["predicted_purchases"].rank(method="first") / len(per_customer)).astype(int)
    )
    error = (per_customer["predicted_purchases"] - per_customer["actual_purchases"]).abs()
    per_customer["absolute_error"] = error
    overall = pd.DataFrame(
        [
            {
                "customers": len(per_customer),
                "calibration_end": split.attrs["calibration_end"],
                "holdout_end": split.attrs["holdout_end"],
                "predicted_purchases": per_customer["predicted_purchases"].sum(),
                "actual_purchases": per_customer["actual_purchases"].sum(),
                "relative_error": per_customer["predicted_purchases"].sum() / max(per_customer["actual_purchases"].sum(), 1e-9) - 1,
                "mae": error.mean(),
                "mae_naive": (per_customer["naive_purchases"] - per_customer["actual_purchases"]).abs().mean(),
                "rmse": float(np.sqrt(((per_customer["predicted_purchases"] - per_customer["actual_purchases"]) ** 2).mean())),
            }
        ]
    )
    by_decile = (
        per_customer.groupby("decile")
        .agg(
            customers=("customer_id", "size"),
            predicted_mean=("predicted_purchases", "mean"),
            actual_mean=("actual_purchases", "mean"),
            mae=("absolute_error", "mean"),
        )
        .reset_index()
    )
    return HoldoutValidation(
        per_customer, overall, by_decile, models.fit_report, split.attrs["calibration_end"], split.attrs["holdout_end"]
    )


def calibration_by_frequency(per_customer: pd.DataFrame, max_frequency: int = 7) -> pd.DataFrame:
    """Mean predicted and actual holdout purchases by calibration-period repeat purchases
    (``max_frequency`` and above pooled), the classic BG/NBD calibration table."""
    require_columns(per_customer, ["frequency_calibration", "predicted_purchases", "actual_purchases"], "per_customer")
    group = per_customer["frequency_calibration"].clip(upper=max_frequency)
    out = (
        per_customer.groupby(group)
        .agg(
            customers=("predicted_purchases", "size"),
            predicted_mean=("predicted_purchases", "mean"),
            actual_mean=("actual_purchases", "mean"),
        )
        .rename_axis("frequency_calibration")
        .reset_index()
    )
    return out


def plot_calibration(table: pd.DataFrame, by: str = "decile", ax=None):
    """Mean predicted vs actual holdout purchases per ``by`` group (``decile`` or
    ``frequency_calibration``), from :func:`holdout_validation` or :func:`calibration_by_frequency`."""
    require_columns(table, [by, "predicted_mean", "actual_mean"], "calibration table")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    ax.plot(table[by], table["actual_mean"], marker="o", label="Actual")
    ax.plot(table[by], table["predicted_mean"], marker="s", linestyle="--", label="Predicted")
    labels = {"decile": "Decile of predicted purchases (10 = most)", "frequency_calibration": "Repeat purchases in calibration period"}
    ax.set_xlabel(labels.get(by, by))
    ax.set_ylabel("Purchases per customer in holdout (mean)")
    ax.set_title("CLV model calibration: predicted vs actual holdout purchases")
    ax.set_xticks(table[by])
    ax.legend()
    return ax


def clv_finding(clv: pd.DataFrame, currency: str = "¥") -> str:
    """One sentence on expected value: total 12-month CLV and the share held by the top 20%."""
    require_columns(clv, ["clv_12m", "p_alive"], "clv")
    if clv.empty:
        return "No customer has a purchase history to value."
    values = clv["clv_12m"].sort_values(ascending=False)
    top = values.head(max(1, int(np.ceil(0.2 * len(values))))).sum()
    share = top / values.sum() if values.sum() > 0 else np.nan
    likely_alive = (clv["p_alive"] >= 0.5).mean()
    return (
        f"The {fmt_int(len(clv))} customers are expected to bring {fmt_money(values.sum(), currency)} "
        f"(discounted) over the next 12 months, {fmt_pct(share)} of it from the top 20%; "
        f"{fmt_pct(likely_alive)} of them are more likely than not still active."
    )


def validation_finding(validation: HoldoutValidation) -> str:
    """One sentence on the holdout check: total predicted vs actual and MAE against the naive rate."""
    row = validation.overall.iloc[0]
    better = "better than" if row["mae"] < row["mae_naive"] else "no better than"
    return (
        f"Fitted up to {row['calibration_end']:%Y-%m-%d}, the model predicted {fmt_int(row['predicted_purchases'])} "
        f"holdout purchase days against {fmt_int(row['actual_purchases'])} actual ({fmt_change(row['relative_error'])}); "
        f"the mean absolute error per customer is {fmt_num(row['mae'], 2)}, {better} the naive "
        f"past-rate forecast ({fmt_num(row['mae_naive'], 2)})."
    )
