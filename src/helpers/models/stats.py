"""Intervals and "is this change meaningful" checks for the KPI table.

- Means (average order value, NPS as a mean of +100 / 0 / -100 per response): percentile
  bootstrap (Efron and Tibshirani 1993), seeded and vectorised (a resamples x n index matrix,
  drawn in chunks to bound memory). Above ``max_bootstrap_n`` observations the bootstrap
  distribution of a mean is normal to within Monte Carlo error and the normal interval with the
  sample standard error is used instead.
- Totals over customers (revenue): Poisson bootstrap (each customer's weight ~ Poisson(1),
  Hanley and MacGibbon 2006), so the number of customers varies between resamples as it does
  between quarters.
- Counts (new / active customers): the difference of two Poisson counts with the normal
  interval ``x1 - x2 +/- z sqrt(x1 + x2)``.
- Proportions: Wilson score or exact Clopper-Pearson interval; difference of two proportions:
  Newcombe's hybrid score interval (Newcombe 1998, method 10).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers.facts.kpis import KPIS, RELATIVE_CHANGE_UNITS, KpiBasis, kpi_basis, kpi_units, nps_points
from helpers.report.i18n import t

KINDS = ("mean", "nps", "proportion", "total", "count")
# Index draws per chunk of resamples: bounds memory at about 8 bytes x this number.
_CHUNK_DRAWS = 4_000_000


@dataclass(frozen=True)
class Interval:
    """A point estimate with a ``1 - alpha`` interval and how it was computed."""

    estimate: float
    low: float
    high: float
    method: str


def _clean(values, name: str) -> np.ndarray:
    array = np.asarray(pd.Series(values, dtype="float64").dropna(), dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _check(alpha: float, n_resamples: int) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if n_resamples < 10:
        raise ValueError(f"n_resamples must be at least 10, got {n_resamples}")


def _bootstrap_means(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``n_resamples`` means of resamples drawn with replacement (chunked, vectorised)."""
    n = len(values)
    per_chunk = max(1, _CHUNK_DRAWS // max(n, 1))
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, per_chunk):
        stop = min(start + per_chunk, n_resamples)
        means[start:stop] = values[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    return means


def _poisson_totals(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Totals of ``values`` weighted by Poisson(1) draws (the Poisson bootstrap)."""
    n = len(values)
    per_chunk = max(1, _CHUNK_DRAWS // max(n, 1))
    totals = np.empty(n_resamples)
    for start in range(0, n_resamples, per_chunk):
        stop = min(start + per_chunk, n_resamples)
        totals[start:stop] = rng.poisson(1.0, size=(stop - start, n)) @ values
    return totals


def bootstrap_mean_ci(
    values,
    n_resamples: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    max_bootstrap_n: int = 50_000,
) -> Interval:
    """Percentile bootstrap interval of a mean (Efron and Tibshirani 1993).

    Deterministic for a given ``seed``. Above ``max_bootstrap_n`` values the normal interval
    ``mean +/- z * sd / sqrt(n)`` is returned (the bootstrap would agree to Monte Carlo error).
    """
    _check(alpha, n_resamples)
    data = _clean(values, "values")
    if len(data) == 0:
        raise ValueError("cannot compute an interval of the mean of an empty sample")
    estimate = float(data.mean())
    if len(data) == 1:
        return Interval(estimate, np.nan, np.nan, "single value: no interval")
    if len(data) > max_bootstrap_n:
        half = stats.norm.ppf(1 - alpha / 2) * data.std(ddof=1) / np.sqrt(len(data))
        return Interval(estimate, estimate - half, estimate + half, "normal approximation (large sample)")
    means = _bootstrap_means(data, n_resamples, np.random.default_rng(seed))
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return Interval(estimate, float(low), float(high), "percentile bootstrap")


def bootstrap_diff_means_ci(
    current,
    previous,
    n_resamples: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    max_bootstrap_n: int = 50_000,
) -> Interval:
    """Percentile bootstrap interval of ``mean(current) - mean(previous)`` (independent samples)."""
    _check(alpha, n_resamples)
    cur, prev = _clean(current, "current"), _clean(previous, "previous")
    if len(cur) == 0 or len(prev) == 0:
        raise ValueError("both samples need at least one value to compare their means")
    estimate = float(cur.mean() - prev.mean())
    if len(cur) < 2 or len(prev) < 2:
        return Interval(estimate, np.nan, np.nan, "too few values: no interval")
    if max(len(cur), len(prev)) > max_bootstrap_n:
        se = np.sqrt(cur.var(ddof=1) / len(cur) + prev.var(ddof=1) / len(prev))
        half = stats.norm.ppf(1 - alpha / 2) * se
        return Interval(estimate, estimate - half, estimate + half, "normal approximation (large sample)")
    rng = np.random.default_rng(seed)
    diffs = _bootstrap_means(cur, n_resamples, rng) - _bootstrap_means(prev, n_resamples, rng)
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    return Interval(estimate, float(low), float(high), "percentile bootstrap")


def bootstrap_diff_totals_ci(
    current,
    previous,
    n_resamples: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    max_bootstrap_n: int = 50_000,
) -> Interval:
    """Poisson-bootstrap interval of ``sum(current) - sum(previous)``, values one per customer.

    Var of a Poisson-bootstrap total is ``sum(x**2)``; that normal interval is used above
    ``max_bootstrap_n`` values.
    """
    _check(alpha, n_resamples)
    cur, prev = _clean(current, "current"), _clean(previous, "previous")
    estimate = float(cur.sum() - prev.sum())
    if len(cur) + len(prev) == 0:
        return Interval(0.0, np.nan, np.nan, "no values: no interval")
    if max(len(cur), len(prev)) > max_bootstrap_n:
        half = stats.norm.ppf(1 - alpha / 2) * np.sqrt((cur**2).sum() + (prev**2).sum())
        return Interval(estimate, estimate - half, estimate + half, "normal approximation (large sample)")
    rng = np.random.default_rng(seed)
    diffs = _poisson_totals(cur, n_resamples, rng) - _poisson_totals(prev, n_resamples, rng)
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    return Interval(estimate, float(low), float(high), "Poisson bootstrap")


def poisson_diff_ci(current_count: float, previous_count: float, alpha: float = 0.05) -> Interval:
    """Normal interval of the difference of two Poisson counts: ``x1 - x2 +/- z sqrt(x1 + x2)``."""
    if current_count < 0 or previous_count < 0:
        raise ValueError(f"counts must not be negative, got {current_count} and {previous_count}")
    estimate = float(current_count - previous_count)
    half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(current_count + previous_count)
    return Interval(estimate, estimate - half, estimate + half, "Poisson counts (normal approximation)")


def _check_counts(successes: float, n: float) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")


def wilson_interval(successes: float, n: float, alpha: float = 0.05) -> Interval:
    """Wilson score interval of a proportion (Wilson 1927; Newcombe 1998 method 3)."""
    _check_counts(successes, n)
    if n == 0:
        return Interval(np.nan, np.nan, np.nan, "no observations")
    z = stats.norm.ppf(1 - alpha / 2)
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return Interval(float(p), float(max(0.0, centre - half)), float(min(1.0, centre + half)), "Wilson score")


def exact_interval(successes: float, n: float, alpha: float = 0.05) -> Interval:
    """Exact (Clopper-Pearson) interval of a proportion from beta quantiles."""
    _check_counts(successes, n)
    if n == 0:
        return Interval(np.nan, np.nan, np.nan, "no observations")
    low = 0.0 if successes == 0 else stats.beta.ppf(alpha / 2, successes, n - successes + 1)
    high = 1.0 if successes == n else stats.beta.ppf(1 - alpha / 2, successes + 1, n - successes)
    return Interval(float(successes / n), float(low), float(high), "exact (Clopper-Pearson)")


def proportion_interval(successes: float, n: float, alpha: float = 0.05, method: str = "wilson") -> Interval:
    """Interval of a proportion, ``method`` ``"wilson"`` or ``"exact"``."""
    if method == "wilson":
        return wilson_interval(successes, n, alpha)
    if method == "exact":
        return exact_interval(successes, n, alpha)
    raise ValueError(f"method must be 'wilson' or 'exact', got {method!r}")


def newcombe_diff_interval(x1: float, n1: float, x2: float, n2: float, alpha: float = 0.05) -> Interval:
    """Interval of ``x1/n1 - x2/n2`` by Newcombe's hybrid score method (1998, method 10)."""
    if n1 == 0 or n2 == 0:
        return Interval(np.nan, np.nan, np.nan, "no observations")
    first, second = wilson_interval(x1, n1, alpha), wilson_interval(x2, n2, alpha)
    p1, p2 = first.estimate, second.estimate
    low = p1 - p2 - np.sqrt((p1 - first.low) ** 2 + (second.high - p2) ** 2)
    high = p1 - p2 + np.sqrt((first.high - p1) ** 2 + (p2 - second.low) ** 2)
    return Interval(float(p1 - p2), float(low), float(high), "Newcombe hybrid score")


def change_significance(
    kpi_name: str,
    current_sample,
    previous_sample,
    kind: str,
    seed: int = 0,
    n_resamples: int = 1000,
    alpha: float = 0.05,
    small_sample_size: int = 30,
) -> dict:
    """Interval of the change of one KPI between two periods and whether it excludes zero.

    Parameters
    ----------
    kind
        ``"mean"``: samples are values (e.g. order values), change = difference of means.
        ``"nps"``: samples are 0-10 scores, change in NPS points.
        ``"proportion"``: samples are booleans (one per customer / response), change in share.
        ``"total"``: samples are one value per customer, change of the sum (Poisson bootstrap).
        ``"count"``: samples are the two counts (numbers), change of the count.

    Returns
    -------
    dict with ``metric``, ``current``, ``previous``, ``change``, ``change_low``,
    ``change_high``, ``significant`` (the interval excludes 0), ``small_sample`` (either period
    has fewer than ``small_sample_size`` observations but neither is empty), ``n_current``,
    ``n_previous``, ``method``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "count":
        cur_n, prev_n = float(np.sum(current_sample)), float(np.sum(previous_sample))
        current, previous = cur_n, prev_n
        interval = poisson_diff_ci(cur_n, prev_n, alpha)
    elif kind == "proportion":
        cur, prev = _clean(current_sample, "current_sample"), _clean(previous_sample, "previous_sample")
        cur_n, prev_n = len(cur), len(prev)
        current = cur.mean() if cur_n else np.nan
        previous = prev.mean() if prev_n else np.nan
        interval = newcombe_diff_interval(cur.sum(), cur_n, prev.sum(), prev_n, alpha)
    else:
        cur, prev = _clean(current_sample, "current_sample"), _clean(previous_sample, "previous_sample")
        if kind == "nps":
            cur, prev = nps_points(cur), nps_points(prev)   # 0-10 answers to points
        cur_n, prev_n = len(cur), len(prev)
        if kind == "total":
            current, previous = float(cur.sum()), float(prev.sum())
            interval = bootstrap_diff_totals_ci(cur, prev, n_resamples, alpha, seed)
        else:
            current = float(cur.mean()) if cur_n else np.nan
            previous = float(prev.mean()) if prev_n else np.nan
            if cur_n == 0 or prev_n == 0:
                interval = Interval(np.nan, np.nan, np.nan, "no values in one period")
            else:
                interval = bootstrap_diff_means_ci(cur, prev, n_resamples, alpha, seed)
    known = not (np.isnan(interval.low) or np.isnan(interval.high))
    has_data = min(cur_n, prev_n) > 0
    return {
        "metric": kpi_name,
        "current": float(current),
        "previous": float(previous),
        "change": float(current - previous),
        "change_low": interval.low,
        "change_high": interval.high,
        "significant": bool(known and (interval.low > 0 or interval.high < 0)),
        "small_sample": bool(has_data and min(cur_n, prev_n) < small_sample_size),
        "n_current": int(cur_n),
        "n_previous": int(prev_n),
        "method": interval.method,
    }


# --- the KPI table's "is this change meaningful" columns -------------------------------------

# How each KPI of helpers.facts.kpis is tested; counts and money changes are reported relative to the
# comparison period (as ``qoq_change`` is), shares and NPS as differences.
KPI_TEST_KINDS = {
    "new_customers": "count",
    "active_customers": "count",
    "revenue": "total",
    "average_order_value": "mean",
    "retention_30d": "proportion",
    "repeat_purchase_rate": "proportion",
    "churn_rate": "proportion",
    "nps": "mean",          # kpi_units gives NPS points per answer; their mean is the NPS
    "csat": "proportion",
}


def kpi_samples(orders: pd.DataFrame, surveys: pd.DataFrame | None, quarter, churn_days: int,
                basis: KpiBasis | None = None) -> dict:
    """The observations behind each KPI of ``quarter`` (``helpers.facts.kpis.kpi_units``) as arrays.

    Counts of new and active customers become a single count (tested as Poisson events); every
    other KPI keeps one value per unit: net revenue per customer, value per order, 0/1 per
    eligible customer for the rates, NPS points per answer, 0/1 (4-5) per CSAT answer.
    """
    from helpers.quarters import Quarter

    units = kpi_units(orders, surveys, Quarter.parse(quarter), churn_days, basis)
    samples = {metric: frame["value"].to_numpy(dtype=float) for metric, frame in units.items()}
    for metric in ("new_customers", "active_customers"):
        samples[metric] = np.array([len(units[metric])], dtype=float)
    return samples


def kpi_significance(
    orders: pd.DataFrame,
    surveys: pd.DataFrame | None,
    period,
    churn_days: int = 90,
    compare_to: str = "previous",
    seed: int = 0,
    n_resamples: int = 1000,
    alpha: float = 0.05,
    small_sample_size: int = 30,
    spans=None,
) -> pd.DataFrame:
    """Whether each KPI's change on the previous quarter (or a year ago) is statistically meaningful.

    With ``spans`` (``helpers.facts.kpis.DataSpans``), a KPI whose quarters cannot be compared (a
    partly covered quarter, new customers before they can be told) is not tested: its interval
    is missing, ``significant`` False and ``method`` says why.

    Columns: metric, change_low, change_high (the ``1 - alpha`` interval of the change, in the
    units of ``helpers.facts.kpis`` changes: relative for counts and money, a difference for shares
    and NPS points), significant (the interval excludes no change), small_sample (fewer than
    ``small_sample_size`` observations in either period), n_current, n_previous, method.
    Methods per KPI are listed in ``KPI_TEST_KINDS`` (see the module docstring).
    """
    from helpers.quarters import Quarter

    if compare_to not in ("previous", "year_ago"):
        raise ValueError(f"compare_to must be 'previous' or 'year_ago', got {compare_to!r}")
    quarter = Quarter.parse(period)
    reference = quarter.previous() if compare_to == "previous" else quarter.year_ago()
    basis = kpi_basis(orders, [quarter, reference])
    now = kpi_samples(orders, surveys, quarter, churn_days, basis)
    then = kpi_samples(orders, surveys, reference, churn_days, basis)
    rows = []
    for offset, (metric, kind) in enumerate(KPI_TEST_KINDS.items()):
        result = change_significance(
            metric, now[metric], then[metric], kind, seed=seed + offset,
            n_resamples=n_resamples, alpha=alpha, small_sample_size=small_sample_size,
        )
        if kind == "count":
            # a count is one observation of a Poisson process: "small" means few events
            result["n_current"], result["n_previous"] = int(result["current"]), int(result["previous"])
            result["small_sample"] = bool(min(result["current"], result["previous"]) < small_sample_size)
        if KPIS[metric].unit in RELATIVE_CHANGE_UNITS:  # the interval in the unit of the change it brackets
            base = result["previous"]
            scale = 1 / base if base and not np.isnan(base) and base > 0 else np.nan
            result["change_low"] *= scale
            result["change_high"] *= scale
        why = spans.comparable(metric, quarter, reference) if spans is not None else ""
        if why:
            result.update(change_low=np.nan, change_high=np.nan, significant=False, method=f"not compared: {why}")
        rows.append(result)
    table = pd.DataFrame(rows)
    return table[["metric", "change_low", "change_high", "significant", "small_sample",
                  "n_current", "n_previous", "method"]]


def significance_finding(significance: pd.DataFrame, kpis: pd.DataFrame | None = None) -> str:
    """Which KPI changes are larger than chance, and which rest on small samples."""
    labels = dict(zip(kpis["metric"], kpis["label"])) if kpis is not None else {}
    name = lambda metric: labels.get(metric, metric.replace("_", " "))  # noqa: E731
    tested = significance.dropna(subset=["change_low", "change_high"])
    if tested.empty:
        return t("No KPI has data in both quarters, so no change can be tested.")
    real = [name(m) for m in tested.loc[tested["significant"].astype(bool), "metric"]]
    small = [name(m) for m in tested.loc[tested["small_sample"].astype(bool), "metric"]]
    separator = t(", ")  # between the names of a list
    if real:
        text = t("{real} of {tested} KPI changes on the previous quarter are larger than chance: {kpis}.",
                 real=len(real), tested=len(tested), kpis=separator.join(real))
    else:
        text = t("None of the {tested} KPI changes on the previous quarter is larger than chance variation.",
                 tested=len(tested))
    if small:
        text += " " + t("Read with care (small sample): {kpis}.", kpis=separator.join(small))
    return text


def kpi_table_with_significance(kpi_overview: pd.DataFrame, currency: str = "¥", alpha: float = 0.05) -> pd.DataFrame:
    """The readers' KPI table (``helpers.facts.kpis.kpi_table_for_readers``) with three more columns:
    the interval of the change on the previous quarter, whether it is beyond chance, and a
    small-sample warning. ``kpi_overview`` is ``compute_kpis`` merged with ``kpi_significance``."""
    from helpers.facts.kpis import format_kpi_change, kpi_table_for_readers

    needed = {"label", "value", "unit", "qoq_change", "yoy_change", "target", "met", "change_low", "change_high",
              "significant", "small_sample"}
    missing = sorted(needed - set(kpi_overview.columns))
    if missing:
        raise ValueError(f"kpi_overview lacks column(s) {missing}; merge compute_kpis with kpi_significance")
    table = kpi_table_for_readers(kpi_overview, currency)
    known = kpi_overview["change_low"].notna() & kpi_overview["change_high"].notna() & kpi_overview["qoq_change"].notna()
    table[t("{level} interval of the change", level=f"{1 - alpha:.0%}")] = [
        t("{low} to {high}", low=format_kpi_change(low, unit), high=format_kpi_change(high, unit)) if ok else "–"
        for low, high, unit, ok in zip(kpi_overview["change_low"], kpi_overview["change_high"], kpi_overview["unit"],
                                       known)
    ]
    yes, no = t("yes"), t("no")
    table[t("Change beyond chance")] = np.where(known, np.where(kpi_overview["significant"], yes, no), "–")
    table[t("Small sample")] = np.where(kpi_overview["small_sample"], yes, "")
    return table
