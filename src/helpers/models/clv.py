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

When a model does not fit
-------------------------
- A BG/NBD or Pareto/NBD fit whose estimates sit at a bound of the likelihood (any parameter below
  1e-4 or above 1e4, e.g. a -> 0: no dropout in the data, so P(alive) is about 100% for everyone)
  or that does not converge, even with the penalizers, is not used: the nested NBD model without
  dropout (``helpers.models.nbd``) is fitted instead.
- On the calibration / holdout split, a dropout model whose predicted holdout purchases miss the
  actual total by more than ``max_error`` (relative) is replaced by the NBD model when that does
  better, else flagged; the CLV fit follows the holdout's verdict (:func:`fit_clv_models`).
- Fit reports list every model tried, whether it is used (``yes``, ``no``, ``yes, flagged``), the
  holdout numbers of its calibration fit and why.
- The holdout is shortened to what the order history allows (down to ``min_holdout_weeks``, with
  at least ``min_calibration_weeks`` before it); too short a history, or too few repeat buyers,
  raise ``NotAvailable`` with the numbers.

Quirks of ``lifetimes`` handled here: importing it sets ``simplefilter("ignore", FutureWarning)``
process-wide (the filters are restored around the import and every fit), a failed fit prints the
optimiser output to stdout (captured), and the column named ``T`` is always read as ``df["T"]``.
"""
from __future__ import annotations

import contextlib
import io
import time
import warnings
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.errors import NotAvailable
from helpers.facts import purchase_lines
from helpers.models.nbd import NBDFitter
from helpers.report.fmt import fmt_change, fmt_date, fmt_int, fmt_money, fmt_num, fmt_pct
from helpers.report.i18n import t
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
    "holdout_plan",
    "holdout_validation",
    "holdout_if_available",
    "calibration_by_frequency",
    "plot_calibration",
    "clv_finding",
    "validation_finding",
]

#: Length of one model time unit in days ("D" days, "W" weeks).
TIME_UNIT_DAYS = {"D": 1.0, "W": 7.0}
_DAYS_PER_MONTH = 365.25 / 12
_PURCHASE_MODELS = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}
# Gamma-Gamma parameters outside this range mean the optimiser ran off (a flat likelihood); v is
# on the scale of the currency, so its range is wide.
_PARAM_RANGE = (1e-6, 1e6)
# Purchase-model parameters (r, alpha, a, b; Pareto/NBD r, alpha, s, beta) beyond this range sit at
# a bound: lifetimes optimises the log-parameters from 0 (values of 1), and a value 9 natural-log
# units away arises only when the likelihood keeps improving that way, i.e. the data support the
# nested model (a or s -> 0, b or beta -> infinity: no dropout). Real exports gave a = 1.6e-06.
_PURCHASE_BOUNDS = (1e-4, 1e4)
_DROPOUT_PARAMS = {"a": "low", "s": "low", "b": "high", "beta": "high"}
NO_DROPOUT_MODEL = "NBD (no dropout)"
_OPTIONS = "chapter_options.04_value"
# Columns of every fit report, in this order.
FIT_REPORT_COLUMNS = ("model", "used", "params", "converged", "penalizer", "n_customers", "n_unique_rows", "seconds",
                      "holdout_predicted", "holdout_actual", "holdout_error", "note")


def _unit_days(time_unit: str) -> float:
    if time_unit not in TIME_UNIT_DAYS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNIT_DAYS)}, got {time_unit!r}")
    return TIME_UNIT_DAYS[time_unit]


def _day(value) -> str:
    """A day for readers (``fmt_date`` of the calendar day, whatever the time of ``value``)."""
    return fmt_date(pd.Timestamp(value).date())


def _model_name(model: str) -> str:
    """A purchase model's name in a sentence: ``NO_DROPOUT_MODEL`` in the report's language, the others as named."""
    return t("NBD (no dropout)") if model == NO_DROPOUT_MODEL else model



def purchases_from_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Valid purchase lines of the prepared ``orders`` table: customer_id, order_date, amount.

    Only ``is_purchase`` lines count (completed, not a return, amount > 0); the amount is the
    line's ``net_amount``.
    """
    require_columns(orders, ["customer_id", "order_date", "net_amount", "is_purchase"], "orders")
    out = purchase_lines(orders, columns=["customer_id", "net_amount"])[["customer_id", "order_date", "net_amount"]]
    out = out.rename(columns={"net_amount": "amount"})
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
    out.attrs["as_of"] = as_of  # named in the messages of the fits
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


def _at_bound(params: pd.Series) -> str | None:
    """Which purchase-model estimates lie beyond ``_PURCHASE_BOUNDS``, and what that means."""
    low, high = _PURCHASE_BOUNDS
    parts = [t("{name} = {value} below {bound}", name=name, value=f"{value:.2g}", bound=f"{low:.0e}") if value < low
             else t("{name} = {value} above {bound}", name=name, value=f"{value:.2g}", bound=f"{high:.0e}")
             for name, value in params.items() if not low <= value <= high]
    if not parts:
        return None
    no_dropout = any((side == "low" and params[name] < low) or (side == "high" and params[name] > high)
                     for name, side in _DROPOUT_PARAMS.items() if name in params.index)
    bounds = t(", ").join(parts)
    if no_dropout:
        return t("{bounds}: the data show no dropout, so P(alive) would be about 100% for everyone", bounds=bounds)
    return bounds


def _absurd(params: pd.Series, model: str) -> tuple[str, str] | None:
    """None for a usable fit, else (``"at a bound"`` or ``"implausible"``, the details)."""
    values = params.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        return "implausible", t("non-finite parameter: {params}", params=_params_text(params))
    if model in _PURCHASE_MODELS.values():
        detail = _at_bound(params)
        return None if detail is None else ("at a bound", detail)
    low, high = _PARAM_RANGE
    if np.any(values < low) or np.any(values > high):
        return "implausible", t("parameter outside [{low}, {high}]: {params}", low=f"{low:g}", high=f"{high:g}",
                                params=_params_text(params))
    if model == "Gamma-Gamma" and params["q"] <= 1:
        return "implausible", t("q <= 1, mean spend not finite: {params}", params=_params_text(params))
    return None


def _report_row(**values) -> dict:
    """One fit-report row with every column of ``FIT_REPORT_COLUMNS`` (holdout numbers NaN until known)."""
    row = {"used": "", "params": "", "converged": False, "penalizer": np.nan, "n_customers": 0, "n_unique_rows": 0,
           "seconds": np.nan, "holdout_predicted": np.nan, "holdout_actual": np.nan, "holdout_error": np.nan, "note": ""}
    row.update(values)
    return {column: row[column] for column in FIT_REPORT_COLUMNS}


def _problem_texts(problem: tuple[str, str], penalizer: float) -> tuple[str, str]:
    """A fit's problem (``_absurd``) for the fit report's note and, as a clause, for why the fit is not used."""
    kind, detail = problem
    value = f"{penalizer:g}"
    if kind == "at a bound":
        note = t("penalizer {penalizer}: estimates at a bound ({detail})", penalizer=value, detail=detail)
        # The first fit's problem is the data's: a penalty pulls every parameter towards 0.
        reason = (t("its estimates are at a bound ({detail})", detail=detail) if penalizer == 0 else
                  t("its estimates are at a bound ({detail}) with penalizer {penalizer}", detail=detail, penalizer=value))
    else:
        note = t("penalizer {penalizer}: estimates implausible ({detail})", penalizer=value, detail=detail)
        reason = (t("its estimates are implausible ({detail})", detail=detail) if penalizer == 0 else
                  t("its estimates are implausible ({detail}) with penalizer {penalizer}", detail=detail, penalizer=value))
    return note, reason


def _fit_with_retries(make_fitter, fit_args: dict, model: str, penalizers, n_customers: int, n_rows: int):
    """Fit, checking convergence and plausibility (purchase models: no estimate at a bound); retry
    with the next penalizer on failure. ``converged`` in the report means a usable fit."""
    if not penalizers:
        raise ValueError("penalizers must list at least one value, e.g. [0.0, 0.001, 0.01]")
    notes, reasons = [], []
    started = time.perf_counter()
    fitter = None
    for penalizer in penalizers:
        candidate = make_fitter(float(penalizer))
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore", RuntimeWarning)
                candidate.fit(**fit_args)
        except (ConvergenceError, ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            notes.append(t("penalizer {penalizer}: did not converge ({error})", penalizer=f"{penalizer:g}",
                           error=type(exc).__name__))
            continue
        problem = _absurd(candidate.params_, model)
        fitter = candidate
        if problem is None:
            report = _report_row(
                model=model, params=_params_text(candidate.params_), converged=True, penalizer=float(penalizer),
                n_customers=int(n_customers), n_unique_rows=int(n_rows), seconds=round(time.perf_counter() - started, 2),
                note=("; ".join(notes + [t("converged with penalizer {penalizer}", penalizer=f"{penalizer:g}")]) if notes
                      else t("converged at the first attempt")),
            )
            return candidate, report
        note, reason = _problem_texts(problem, penalizer)
        notes.append(note)
        reasons.append(reason)
    report = _report_row(
        model=model, params=_params_text(fitter.params_) if fitter is not None else "", converged=False,
        penalizer=float(penalizers[-1]), n_customers=int(n_customers), n_unique_rows=int(n_rows),
        seconds=round(time.perf_counter() - started, 2), note="; ".join(notes),
    )
    # Why the fit is not used, as a clause (not a report column).
    report["reason"] = reasons[0] if reasons else t("it did not converge with any penalizer")
    return fitter, report


def fit_purchase_model(
    summary: pd.DataFrame,
    model: str = "bgnbd",
    penalizers: tuple[float, ...] = (0.0, 0.001, 0.01),
    compress: bool = True,
):
    """Fit BG/NBD (``model="bgnbd"``) or Pareto/NBD (``"pareto_nbd"``) to a repeat-purchase summary.

    The summary is compressed to unique ``(frequency, recency, T)`` rows with weights unless
    ``compress=False``. A fit that does not converge or has an estimate at a bound (below 1e-4 or
    above 1e4, see ``_PURCHASE_BOUNDS``) is retried with each next penalizer (an L2 penalty on the
    parameters); ``converged`` is False when no attempt gives a usable fit.

    Returns
    -------
    (fitter or None, fit report dict with the ``FIT_REPORT_COLUMNS`` and, when no fit is usable,
    ``reason``: why, as a clause)
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
    report["note"] = f"{report['note']}; " + t("frequency-spend correlation {correlation}", correlation=f"{corr:.2f}")
    return fitter, report


@dataclass
class ClvModels:
    """A fitted purchase model, spend model and the record of how the fits went.

    ``purchase_model_name`` is the purchase model used ("BG/NBD", "Pareto/NBD" or
    ``NO_DROPOUT_MODEL``); ``note`` says for readers which one and why.
    """

    purchase_model: object
    spend_model: object
    fit_report: pd.DataFrame
    time_unit: str = "W"
    purchase_model_name: str = ""
    note: str = ""


def _require_repeat_buyers(summary: pd.DataFrame, minimum: int, period: str) -> None:
    """``NotAvailable`` with the counts unless ``summary`` holds at least ``minimum`` repeat buyers."""
    if int(minimum) < 1:
        raise ValueError(f"min_repeat_buyers must be at least 1, got {minimum}")
    as_of = summary.attrs.get("as_of")  # set by repeat_purchase_summary
    enable = t("a longer order history, or a lower {option}", option=f"{_OPTIONS}.clv_min_repeat_buyers")
    if len(summary) == 0:
        if as_of is not None:
            missing = t("no customer bought by {date} ({period})", date=_day(as_of), period=period)
        else:
            missing = t("no customer bought ({period})", period=period)
        raise NotAvailable(missing, t("orders on or before that day"))
    repeaters = int((summary["frequency"] > 0).sum())
    if repeaters < int(minimum):
        counts = dict(repeaters=fmt_int(repeaters), customers=fmt_int(len(summary)), period=period,
                      minimum=fmt_int(minimum))
        if as_of is not None:
            missing = t("{repeaters} of the {customers} customers who bought by {date} bought again on a later day "
                        "({period}); the purchase model needs at least {minimum} repeat buyers", date=_day(as_of),
                        **counts)
        else:
            missing = t("{repeaters} of the {customers} customers who bought bought again on a later day ({period}); "
                        "the purchase model needs at least {minimum} repeat buyers", **counts)
        raise NotAvailable(missing, enable)


def _fit_no_dropout(summary: pd.DataFrame, instead_of: str, note: str):
    """The NBD model without dropout on ``summary``; ``note`` says why it replaces ``instead_of``."""
    rows, _ = compress_purchase_summary(summary)
    started = time.perf_counter()
    try:
        fitter = NBDFitter().fit(rows["frequency"].to_numpy(), rows["recency"].to_numpy(float),
                                 rows["T"].to_numpy(float), weights=rows["weights"].to_numpy())
        problem = _at_bound(pd.Series(fitter.params_))
    except ValueError as exc:
        problem = str(exc)
    if problem is not None:
        # Both models assume purchase rates that differ between customers (a gamma mixture);
        # customers who all buy like clockwork leave nothing to estimate (r and alpha run off).
        raise NotAvailable(t("the {model} model gives no usable fit on these purchases and neither does the NBD model "
                             "without dropout ({problem})", model=_model_name(instead_of), problem=problem),
                           t("customers whose purchase rates differ; with rates this regular, expected purchases are "
                             "the customers' own past rates"))
    return fitter, _report_row(
        model=NO_DROPOUT_MODEL, used=t("yes"), params=_params_text(fitter.params_), converged=True, penalizer=0.0,
        n_customers=int(len(summary)), n_unique_rows=int(len(rows)), seconds=round(time.perf_counter() - started, 2),
        note=note,
    )


def _no_dropout_note(instead_of: str) -> str:
    return t("used instead of {model}: the nested model without dropout, in which every customer buys at their own "
             "observed rate; the probability alive is not estimated (the model takes every customer to be still "
             "active)", model=_model_name(instead_of))


def _holdout_sentence(row: dict, calibration_end: pd.Timestamp, weeks: int) -> str:
    """'fitted up to <date>, it predicted N purchase days in the W-week holdout against M actual (+e%)'."""
    return t("fitted up to {date}, it predicted {predicted} purchase days in the {weeks}-week holdout against {actual} "
             "actual ({error})", date=_day(calibration_end), predicted=fmt_int(row["holdout_predicted"]), weeks=weeks,
             actual=fmt_int(row["holdout_actual"]), error=fmt_change(row["holdout_error"]))


def fit_clv_models(
    summary: pd.DataFrame,
    model: str = "bgnbd",
    penalizers: tuple[float, ...] = (0.0, 0.001, 0.01),
    time_unit: str = "W",
    *,
    min_repeat_buyers: int = 20,
    holdout: HoldoutValidation | None = None,
    no_holdout: str = "",
) -> ClvModels:
    """Fit the purchase model (BG/NBD or Pareto/NBD) and the Gamma-Gamma spend model.

    The purchase model is replaced by the NBD model without dropout (``helpers.models.nbd``) when

    - it does not converge or its estimates sit at a bound, even with the penalizers (for
      BG/NBD a -> 0: the data show no dropout), or
    - ``holdout`` (a :func:`holdout_validation` of the same model on this data) rejected it: its
      calibration fit missed the holdout total by more than the error allowed, and the NBD model
      did better. A model the holdout flagged instead (the NBD model no better) is used, flagged.

    Raises ``NotAvailable`` with the counts when fewer than ``min_repeat_buyers`` customers bought
    again, ValueError when no purchase model at all can be fitted. A spend model that fails leaves
    ``spend_model`` None (the CLV then uses each customer's mean repeat value, see
    :func:`predict_clv`). ``fit_report`` has one row per model tried (``FIT_REPORT_COLUMNS``):
    whether it is used, the holdout numbers of its calibration fit and why; ``note`` says it for
    readers, with ``no_holdout`` (why there is no holdout check) when ``holdout`` is None.
    """
    _require_repeat_buyers(summary, min_repeat_buyers, t("the history the CLV is fitted on"))
    purchase, first = fit_purchase_model(summary, model, penalizers)
    rows = [first]
    name = first["model"]
    if purchase is None or not first["converged"]:
        # Real data often put the dropout parameters on their bound (no dropout seen in the
        # window); the model then reduces to the NBD without dropout, which is fitted instead.
        reason = first.pop("reason")
        first["used"] = t("no")
        purchase, fallback = _fit_no_dropout(summary, name, _no_dropout_note(name))
        rows.append(fallback)
        sentences = [t("Purchases are modelled with the NBD model without dropout, not {model}, because {reason}; the "
                       "probability alive is not estimated (the model takes every customer to be still active).",
                       model=_model_name(name), reason=reason)]
    elif holdout is not None and name in holdout.rejected:
        first["used"] = t("no")
        first["note"] += "; " + t("not used: on the holdout {reason}", reason=holdout.rejected[name])
        purchase, fallback = _fit_no_dropout(summary, name, _no_dropout_note(name))
        rows.append(fallback)
        sentences = [t("Purchases are modelled with the NBD model without dropout, not {model}: on the holdout {model} "
                       "{reason}; the probability alive is not estimated (the model takes every customer to be still "
                       "active).", model=_model_name(name), reason=holdout.rejected[name])]
    else:
        first["used"] = t("yes")
        sentences = [t("Purchases are modelled with {model}: its estimates are inside their bounds.",
                       model=_model_name(name))]
    used = rows[-1]  # the no-dropout model exactly in the first two branches (their sentences say so)
    if holdout is not None:
        checked = holdout.fit_report.set_index("model")
        for row in rows:
            if row["model"] in checked.index and pd.notna(checked.loc[row["model"], "holdout_predicted"]):
                for column in ("holdout_predicted", "holdout_actual", "holdout_error"):
                    row[column] = checked.loc[row["model"], column]
        if used["model"] in holdout.flagged:
            used["used"] = t("yes, flagged")
            used["note"] += "; " + t("flagged: on the holdout {reason}", reason=holdout.flagged[used["model"]])
            sentences.append(t("Flagged: on the holdout {model} {reason}.", model=_model_name(used["model"]),
                               reason=holdout.flagged[used["model"]]))
        elif pd.notna(used["holdout_predicted"]):
            sentences.append(t("On the holdout, {result}, within the ±{max_error} allowed ({option}).",
                               result=_holdout_sentence(used, holdout.calibration_end, holdout.holdout_weeks),
                               max_error=fmt_pct(holdout.max_error, 0), option=f"{_OPTIONS}.clv_holdout_max_error"))
        else:
            sentences.append(t("The holdout checks {model} instead (see its section).",
                               model=_model_name(holdout.purchase_model_name)))
    elif no_holdout:
        sentences.append(t("No holdout check: {reason}.", reason=no_holdout))
    try:
        spend, spend_report = fit_spend_model(summary, penalizers)
    except ValueError as exc:
        spend, spend_report = None, _report_row(model="Gamma-Gamma", note=str(exc))
    if spend is not None and not spend_report["converged"]:
        spend = None
    spend_report["used"] = t("yes") if spend is not None else t("no")
    if spend is None:
        spend_report["note"] += "; " + t("not used: each customer's mean repeat purchase value stands in for it")
        sentences.append(t("The spend model could not be fitted: each customer's mean repeat purchase value is used."))
    report = pd.DataFrame(rows + [spend_report], columns=list(FIT_REPORT_COLUMNS))
    report.attrs["time_unit"] = time_unit
    return ClvModels(purchase, spend, report, time_unit, used["model"], " ".join(sentences))


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
    DataFrame: customer_id, p_alive (NaN under the NBD model without dropout, which does not
    estimate it), expected_purchases_12m (over the horizon, whatever its length),
    expected_order_value, clv_12m.
    """
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be at least 1, got {horizon_months}")
    if not 0 <= monthly_discount_rate < 1:
        raise ValueError(f"monthly_discount_rate must be in [0, 1), got {monthly_discount_rate}")
    unit = _unit_days(models.time_unit)
    unique, codes = compress_purchase_summary(summary)
    f, r, T = unique["frequency"].to_numpy(), unique["recency"].to_numpy(float), unique["T"].to_numpy(float)
    if isinstance(models.purchase_model, NBDFitter):
        # No dropout process: "alive" is assumed for everyone, not estimated; 100% would read as a finding.
        p_alive = np.full(len(unique), np.nan)
    else:
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
    """Predicted vs actual holdout purchases: per customer, overall, by decile, and the fit record.

    ``holdout_weeks`` is the holdout used (``requested_weeks`` shortened to what the history
    allows); ``rejected`` and ``flagged`` map a purchase model to why the holdout rejected or
    flagged it; ``purchase_model_name`` is the model validated; ``note`` says it all for readers.
    """

    per_customer: pd.DataFrame
    overall: pd.DataFrame
    by_decile: pd.DataFrame
    fit_report: pd.DataFrame
    calibration_end: pd.Timestamp | None = None
    holdout_end: pd.Timestamp | None = None
    holdout_weeks: int = 0
    requested_weeks: int = 0
    max_error: float = np.nan
    purchase_model_name: str = ""
    rejected: dict[str, str] = field(default_factory=dict)
    flagged: dict[str, str] = field(default_factory=dict)
    note: str = ""


def holdout_plan(
    transactions: pd.DataFrame,
    holdout_end,
    holdout_weeks: int = 26,
    min_holdout_weeks: int = 4,
    min_calibration_weeks: int = 13,
    *,
    date_col: str = "order_date",
) -> dict:
    """The holdout the purchase history allows before ``holdout_end``.

    With H days of purchases (the first purchase day to ``holdout_end``, both counted, as the
    report counts days of history), the holdout is
    ``min(holdout_weeks, floor((H - 7 * min_calibration_weeks) / 7))`` weeks, so that at least
    ``min_calibration_weeks`` weeks of purchases lie before it. Raises ``NotAvailable`` naming the
    history there is and the history needed when that is under ``min_holdout_weeks``.

    Returns a dict: holdout_weeks, requested_weeks, history_days, first_purchase, shortened, note.
    """
    holdout_weeks, min_holdout_weeks = int(holdout_weeks), int(min_holdout_weeks)
    min_calibration_weeks = int(min_calibration_weeks)
    if min_holdout_weeks < 1 or min_calibration_weeks < 1:
        raise ValueError(f"min_holdout_weeks and min_calibration_weeks must be at least 1, got {min_holdout_weeks} "
                         f"and {min_calibration_weeks}")
    if holdout_weeks < min_holdout_weeks:
        raise ValueError(f"holdout_weeks ({holdout_weeks}) cannot be shorter than min_holdout_weeks ({min_holdout_weeks})")
    require_columns(transactions, [date_col], "transactions")
    end = pd.Timestamp(holdout_end).normalize()
    dates = pd.to_datetime(transactions[date_col]).dt.normalize()
    dates = dates[dates <= end]
    if dates.empty:
        raise NotAvailable(t("no purchase on or before {date}", date=_day(end)), t("orders up to the quarter end"))
    first = dates.min()
    days = int((end - first).days) + 1
    allowed = (days - 7 * min_calibration_weeks) // 7
    weeks = min(holdout_weeks, allowed)
    if weeks < min_holdout_weeks:
        needed = 7 * (min_holdout_weeks + min_calibration_weeks)
        raise NotAvailable(
            t("the purchases cover {days} days up to {end} (from {first}); a holdout of {weeks} weeks ({option}) after "
              "at least {calibration_weeks} weeks of calibration needs {days_needed} days, and the shortest holdout "
              "allowed ({min_weeks} weeks) {min_days_needed}", days=fmt_int(days), end=_day(end), first=_day(first),
              weeks=holdout_weeks, option=f"{_OPTIONS}.holdout_weeks", calibration_weeks=min_calibration_weeks,
              days_needed=fmt_int(7 * (holdout_weeks + min_calibration_weeks)), min_weeks=min_holdout_weeks,
              min_days_needed=fmt_int(needed)),
            t("order history from {date} or earlier, or lower {option} or clv_min_calibration_weeks",
              date=_day(end - pd.Timedelta(days=needed - 1)), option=f"{_OPTIONS}.clv_min_holdout_weeks"))
    note = ""
    if weeks < holdout_weeks:
        note = t("The holdout is shortened from {requested} weeks ({option}) to {weeks}: the purchases cover {days} days "
                 "up to {end} (from {first}) and the calibration period needs at least {calibration_weeks} weeks "
                 "({calibration_option}).", requested=holdout_weeks, option=f"{_OPTIONS}.holdout_weeks", weeks=weeks,
                 days=fmt_int(days), end=_day(end), first=_day(first), calibration_weeks=min_calibration_weeks,
                 calibration_option=f"{_OPTIONS}.clv_min_calibration_weeks")
    return {"holdout_weeks": int(weeks), "requested_weeks": holdout_weeks, "history_days": days, "first_purchase": first,
            "shortened": weeks < holdout_weeks, "note": note}


def _relative_error(predicted: float, actual: float) -> float:
    return predicted / max(actual, 1e-9) - 1


def holdout_validation(
    transactions: pd.DataFrame,
    holdout_end,
    holdout_weeks: int = 26,
    model: str = "bgnbd",
    penalizers: tuple[float, ...] = (0.0, 0.001, 0.01),
    time_unit: str = "W",
    *,
    min_holdout_weeks: int = 4,
    min_calibration_weeks: int = 13,
    max_error: float = 0.5,
    min_repeat_buyers: int = 20,
) -> HoldoutValidation:
    """Fit on the calibration period and compare predicted with actual holdout purchases.

    The holdout is ``holdout_weeks`` long, shortened to what the history allows (see
    :func:`holdout_plan`). Errors are per customer: MAE = mean |predicted - actual| purchase days
    in the holdout. A naive benchmark (the customer's calibration purchase rate ``frequency / T``
    times the holdout length) is reported beside it. Deciles rank customers by predicted
    purchases (10 = most).

    When the dropout model's total predicted holdout purchases miss the actual total by more than
    ``max_error`` (|predicted / actual - 1|), the NBD model without dropout is fitted on the same
    calibration period; it replaces the dropout model when its error is smaller, else the dropout
    model is kept and flagged (as is an NBD fallback that misses by more). Raises ``NotAvailable``
    when the history is too short or the calibration period has fewer than ``min_repeat_buyers``
    repeat buyers.
    """
    if not max_error > 0:
        raise ValueError(f"max_error must be positive, got {max_error}")
    plan = holdout_plan(transactions, holdout_end, holdout_weeks, min_holdout_weeks, min_calibration_weeks)
    weeks = plan["holdout_weeks"]
    split = calibration_holdout_summary(transactions, holdout_end, weeks, time_unit=time_unit)
    _require_repeat_buyers(split, min_repeat_buyers, t("the calibration period before a {weeks}-week holdout",
                                                        weeks=weeks))
    models = fit_clv_models(split, model, penalizers, time_unit, min_repeat_buyers=min_repeat_buyers)
    unique, codes = compress_purchase_summary(split)
    duration = float(split["duration_holdout"].iloc[0])
    f, r, T = unique["frequency"].to_numpy(), unique["recency"].to_numpy(float), unique["T"].to_numpy(float)

    def holdout_purchases(fitter) -> np.ndarray:
        return _expected_purchases(fitter, duration, f, r, T)[codes]

    actual = split["frequency_holdout"].to_numpy(float)
    rows = models.fit_report.to_dict("records")
    by_model = {row["model"]: row for row in rows}
    name, purchase_model = models.purchase_model_name, models.purchase_model
    predicted = holdout_purchases(purchase_model)
    error = _relative_error(predicted.sum(), actual.sum())
    by_model[name].update(holdout_predicted=predicted.sum(), holdout_actual=actual.sum(), holdout_error=error)
    calibration_end = split.attrs["calibration_end"]
    allowed = dict(max_error=fmt_pct(max_error, 0), option=f"{_OPTIONS}.clv_holdout_max_error")
    rejected, flagged = {}, {}

    def miss(row: dict) -> str:
        return t("fitted up to {date}, predicted {predicted} purchase days in the {weeks}-week holdout against {actual} "
                 "actual ({error}), beyond the ±{max_error} allowed ({option})", date=_day(calibration_end),
                 predicted=fmt_int(row["holdout_predicted"]), weeks=weeks, actual=fmt_int(row["holdout_actual"]),
                 error=fmt_change(row["holdout_error"]), **allowed)

    if abs(error) > max_error and name != NO_DROPOUT_MODEL:
        nbd, nbd_row = _fit_no_dropout(split, name, _no_dropout_note(name))
        nbd_predicted = holdout_purchases(nbd)
        nbd_error = _relative_error(nbd_predicted.sum(), actual.sum())
        nbd_row.update(holdout_predicted=nbd_predicted.sum(), holdout_actual=actual.sum(), holdout_error=nbd_error)
        nbd_text = t("the NBD model without dropout predicted {predicted} ({error})",
                     predicted=fmt_int(nbd_predicted.sum()), error=fmt_change(nbd_error))
        if abs(nbd_error) < abs(error):
            rejected[name] = f"{miss(by_model[name])}; {nbd_text}"
            by_model[name]["used"] = t("no")
            by_model[name]["note"] += "; " + t("not used: {reason}", reason=rejected[name])
            name, purchase_model, predicted = NO_DROPOUT_MODEL, nbd, nbd_predicted
        else:
            flagged[name] = t("{miss}, and {nbd}, no better: treat its figures as rough", miss=miss(by_model[name]),
                              nbd=nbd_text)
            by_model[name]["used"] = t("yes, flagged")
            by_model[name]["note"] += "; " + t("flagged: {reason}", reason=flagged[name])
            nbd_row["used"] = t("no")
            nbd_row["note"] = t("not used: no closer to the holdout than {model}", model=_model_name(name))
        rows.insert(rows.index(by_model[models.purchase_model_name]) + 1, nbd_row)
    elif abs(error) > max_error:
        flagged[name] = t("{miss}: treat its figures as rough", miss=miss(by_model[name]))
        by_model[name]["used"] = t("yes, flagged")
        by_model[name]["note"] += "; " + t("flagged: {reason}", reason=flagged[name])
    fit_report = pd.DataFrame(rows, columns=list(FIT_REPORT_COLUMNS))
    fit_report.attrs["time_unit"] = time_unit
    used = fit_report.loc[fit_report["model"] == name].iloc[0].to_dict()
    original = models.purchase_model_name
    if original in rejected:
        note = t("The holdout validates the NBD model without dropout, not {model}: {model} {reason}; the probability "
                 "alive is not estimated (the model takes every customer to be still active).",
                 model=_model_name(original), reason=rejected[original])
    elif name in flagged:
        note = t("The holdout validates {model}, flagged: {model} {reason}.", model=_model_name(name),
                 reason=flagged[name])
    else:
        note = t("The holdout validates {model}: {result}, within the ±{max_error} allowed ({option}).",
                 model=_model_name(name), result=_holdout_sentence(used, calibration_end, weeks), **allowed)
    if original == NO_DROPOUT_MODEL:  # the calibration fit itself fell back
        note += " " + t("On the calibration period: {note}", note=f"{models.note[0].lower()}{models.note[1:]}")
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
                "model": name,
                "customers": len(per_customer),
                "calibration_end": calibration_end,
                "holdout_end": split.attrs["holdout_end"],
                "predicted_purchases": per_customer["predicted_purchases"].sum(),
                "actual_purchases": per_customer["actual_purchases"].sum(),
                "relative_error": _relative_error(per_customer["predicted_purchases"].sum(),
                                                  per_customer["actual_purchases"].sum()),
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
    if plan["note"]:
        note = plan["note"] + " " + note
    return HoldoutValidation(
        per_customer, overall, by_decile, fit_report, calibration_end, split.attrs["holdout_end"], weeks,
        plan["requested_weeks"], float(max_error), name, rejected, flagged, note,
    )


def holdout_if_available(*args, **kwargs) -> tuple[HoldoutValidation | None, str]:
    """:func:`holdout_validation` with the same arguments, or ``(None, what the data lack)`` when
    it raises ``NotAvailable`` (for the CLV fit, which works without a holdout check)."""
    try:
        return holdout_validation(*args, **kwargs), ""
    except NotAvailable as exc:
        return None, exc.missing


def validated_holdout(holdout: HoldoutValidation | None, no_holdout: str) -> HoldoutValidation:
    """The holdout check :func:`holdout_if_available` made for the CLV fit, for the validation
    section to show without fitting again; ``NotAvailable`` with its reason when there is none."""
    if holdout is None:
        raise NotAvailable(no_holdout, t("a longer purchase history, or a shorter holdout ({option}, "
                                         "clv_min_holdout_weeks)", option=f"{_OPTIONS}.holdout_weeks"))
    return holdout


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
    ax.plot(table[by], table["actual_mean"], marker="o", label=t("Actual"))
    ax.plot(table[by], table["predicted_mean"], marker="s", linestyle="--", label=t("Predicted"))
    labels = {"decile": t("Decile of predicted purchases (10 = most)"),
              "frequency_calibration": t("Repeat purchases in calibration period")}
    ax.set_xlabel(labels.get(by, by))
    ax.set_ylabel(t("Purchases per customer in holdout (mean)"))
    ax.set_title(t("CLV model calibration: predicted vs actual holdout purchases"))
    ax.set_xticks(table[by])
    ax.legend()
    return ax


def clv_finding(clv: pd.DataFrame, currency: str = "¥", models: ClvModels | None = None) -> str:
    """One sentence on expected value: total 12-month CLV and the share held by the top 20%; the
    share likely still active, unless ``models`` used the NBD model without dropout (where every
    customer is alive by construction, which the sentence says instead)."""
    require_columns(clv, ["clv_12m", "p_alive"], "clv")
    if clv.empty:
        return t("No customer has a purchase history to value.")
    values = clv["clv_12m"].sort_values(ascending=False)
    top = values.head(max(1, int(np.ceil(0.2 * len(values))))).sum()
    share = top / values.sum() if values.sum() > 0 else np.nan
    numbers = dict(customers=fmt_int(len(clv)), total=fmt_money(values.sum(), currency), share=fmt_pct(share))
    if models is not None and models.purchase_model_name == NO_DROPOUT_MODEL:
        return t("The {customers} customers are expected to bring {total} (discounted) over the next 12 months, {share} "
                 "of it from the top 20%; the model without dropout counts every one of them as still active, so it "
                 "cannot tell who has stopped buying.", **numbers)
    likely_alive = (clv["p_alive"] >= 0.5).mean()
    text = t("The {customers} customers are expected to bring {total} (discounted) over the next 12 months, {share} of "
             "it from the top 20%; {alive} of them are more likely than not still active.",
             alive=fmt_pct(likely_alive), **numbers)
    if models is not None and models.fit_report["used"].eq(t("yes, flagged")).any():
        text += " " + t("The purchase model missed the holdout by more than allowed: treat these figures as rough.")
    return text


def validation_finding(validation: HoldoutValidation) -> str:
    """One sentence on the holdout check: total predicted vs actual and MAE against the naive rate;
    a second when the validated model is not the one chosen in the parameters or is flagged."""
    row = validation.overall.iloc[0]
    numbers = dict(date=_day(row["calibration_end"]), predicted=fmt_int(row["predicted_purchases"]),
                   actual=fmt_int(row["actual_purchases"]), error=fmt_change(row["relative_error"]),
                   mae=fmt_num(row["mae"], 2), mae_naive=fmt_num(row["mae_naive"], 2))
    if row["mae"] < row["mae_naive"]:
        text = t("Fitted up to {date}, the model predicted {predicted} holdout purchase days against {actual} actual "
                 "({error}); the mean absolute error per customer is {mae}, better than the naive past-rate forecast "
                 "({mae_naive}).", **numbers)
    else:
        text = t("Fitted up to {date}, the model predicted {predicted} holdout purchase days against {actual} actual "
                 "({error}); the mean absolute error per customer is {mae}, no better than the naive past-rate "
                 "forecast ({mae_naive}).", **numbers)
    if validation.rejected:
        dropout_model = next(iter(validation.rejected))
        error = validation.fit_report.set_index("model").loc[dropout_model, "holdout_error"]
        text += " " + t("The model is the NBD model without dropout: {model} missed the holdout total by more than the "
                        "±{max_error} allowed ({error}).", model=_model_name(dropout_model),
                        max_error=fmt_pct(validation.max_error, 0), error=fmt_change(error))
    elif validation.purchase_model_name == NO_DROPOUT_MODEL:
        text += " " + t("The model is the NBD model without dropout: the dropout model gave no usable fit on this history.")
    if validation.flagged:
        text += " " + t("{model} is flagged: its holdout error is beyond the ±{max_error} allowed.",
                        model=_model_name(validation.purchase_model_name), max_error=fmt_pct(validation.max_error, 0))
    if validation.holdout_weeks and validation.holdout_weeks < validation.requested_weeks:
        text += " " + t("The holdout is {weeks} weeks, not {requested}: the history is too short.",
                        weeks=validation.holdout_weeks, requested=validation.requested_weeks)
    return text
