"""Tests for helpers.models.clv: summaries by hand, CDNOW estimates of Fader, Hardie and Lee (2005)."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import lifetimes  # noqa: E402  (already imported by helpers.models.clv, so filters are not touched again)
import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import ConvergenceError  # noqa: E402

from helpers.errors import NotAvailable
from helpers.models import clv

CDNOW_SAMPLE = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"


@pytest.fixture(scope="module")
def cdnow_transactions() -> pd.DataFrame:
    # The 1/10th CDNOW sample (2,357 customers, Jan 1997 - Jun 1998) behind the FHL (2005) estimates.
    frame = pd.read_csv(
        CDNOW_SAMPLE, sep=r"\s+", header=None, names=["master_id", "customer_id", "date", "cds", "amount"], dtype={"date": str}
    )
    frame["order_date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


@pytest.fixture(scope="module")
def cdnow_summary(cdnow_transactions) -> pd.DataFrame:
    # Calibration period = the first 39 weeks, 1997-01-01 to 1997-09-30, time in weeks.
    return clv.repeat_purchase_summary(cdnow_transactions, "1997-09-30", time_unit="W")


@pytest.fixture(scope="module")
def cdnow_models(cdnow_summary) -> clv.ClvModels:
    return clv.fit_clv_models(cdnow_summary, model="bgnbd")


def tiny_transactions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "A", "A", "B", "C"],
            "order_date": pd.to_datetime(
                ["2026-01-01 09:00", "2026-01-01 17:00", "2026-01-15 00:00", "2026-01-29 00:00", "2026-02-27 00:00",
                 "2026-02-12 00:00", "2026-03-01 00:00"]
            ),
            "amount": [10.0, 5.0, 20.0, 40.0, 8.0, 100.0, 50.0],
        }
    )


def test_summary_by_hand():
    # As of 2026-02-26. A: purchase days 01-01 (10+5 same day), 01-15 (20), 01-29 (40); 02-27 is later.
    #   frequency = 2 repeat days, recency = 28 days = 4 weeks, T = 56 days = 8 weeks,
    #   monetary_value = (20 + 40) / 2 = 30.
    # B: one purchase 02-12 -> frequency 0, recency 0, T = 14 days = 2 weeks, monetary 0.
    # C: first purchase after the as-of date -> not in the summary.
    summary = clv.repeat_purchase_summary(tiny_transactions(), "2026-02-26", time_unit="W").set_index("customer_id")
    assert list(summary.index) == ["A", "B"]
    assert summary.loc["A", ["frequency", "recency", "T", "monetary_value"]].tolist() == [2, 4.0, 8.0, 30.0]
    assert summary.loc["B", ["frequency", "recency", "T", "monetary_value"]].tolist() == [0, 0.0, 2.0, 0.0]
    in_days = clv.repeat_purchase_summary(tiny_transactions(), "2026-02-26", time_unit="D").set_index("customer_id")
    assert in_days.loc["A", "recency"] == 28 and in_days.loc["A", "T"] == 56


def test_calibration_holdout_by_hand():
    # Holdout = 4 weeks ending 2026-03-26 -> calibration ends 2026-02-26 (the summary above).
    # A buys once in the holdout (02-27, value 8); B does not; C's first purchase is in the
    # holdout so C is not a calibration customer.
    split = clv.calibration_holdout_summary(tiny_transactions(), "2026-03-26", holdout_weeks=4).set_index("customer_id")
    assert list(split.index) == ["A", "B"]
    assert split["frequency_holdout"].tolist() == [1, 0]
    assert split["monetary_value_holdout"].tolist() == [8.0, 0.0]
    assert split["duration_holdout"].tolist() == [4.0, 4.0]
    assert split.attrs["calibration_end"] == pd.Timestamp("2026-02-26")
    with pytest.raises(ValueError, match="holdout_weeks"):
        clv.calibration_holdout_summary(tiny_transactions(), "2026-03-26", holdout_weeks=0)


def test_summary_matches_published_cdnow_summary(cdnow_summary):
    # lifetimes ships Hardie's summary (x, t_x, T, zbar) of the same 2,357 customers, rounded to 2 decimals.
    with warnings.catch_warnings():  # lifetimes.datasets imports the deprecated pkg_resources
        warnings.simplefilter("ignore")
        from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value
    published = load_cdnow_summary_data_with_monetary_value()
    assert len(cdnow_summary) == 2357
    assert (cdnow_summary["frequency"].to_numpy() == published["frequency"].to_numpy()).all()
    assert np.abs(cdnow_summary["recency"].to_numpy() - published["recency"].to_numpy()).max() < 0.006
    assert np.abs(cdnow_summary["T"].to_numpy() - published["T"].to_numpy()).max() < 0.006
    assert np.abs(cdnow_summary["monetary_value"].to_numpy() - published["monetary_value"].to_numpy()).max() < 0.006


def test_cdnow_estimates_match_fader_hardie_lee(cdnow_models):
    # BG/NBD: FHL (2005a) Marketing Science, r = 0.243, alpha = 4.414, a = 0.793, b = 2.426.
    # Gamma-Gamma: FHL (2005b) / Hardie note 025, p = 6.25, q = 3.74, gamma = 15.44.
    bgnbd = cdnow_models.purchase_model.params_
    for name, published in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert bgnbd[name] == pytest.approx(published, rel=0.01), name
    spend = cdnow_models.spend_model.params_
    for name, published in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert spend[name] == pytest.approx(published, rel=0.01), name
    report = cdnow_models.fit_report.set_index("model")
    assert list(report.index) == ["BG/NBD", "Gamma-Gamma"] and report["used"].tolist() == ["yes", "yes"]
    assert cdnow_models.purchase_model_name == "BG/NBD"
    assert report.loc["BG/NBD", "converged"] and report.loc["BG/NBD", "penalizer"] == 0.0
    assert report.loc["BG/NBD", "n_customers"] == 2357
    assert report.loc["BG/NBD", "n_unique_rows"] < 2357  # compression did something
    assert report.loc["Gamma-Gamma", "n_customers"] == 946  # repeat buyers in the calibration period


def test_compressed_fit_equals_uncompressed_fit(cdnow_summary):
    compressed, _ = clv.fit_purchase_model(cdnow_summary, compress=True)
    full, _ = clv.fit_purchase_model(cdnow_summary, compress=False)
    np.testing.assert_allclose(compressed.params_.to_numpy(), full.params_.to_numpy(), rtol=1e-4)
    spend_compressed, _ = clv.fit_spend_model(cdnow_summary, compress=True)
    spend_full, _ = clv.fit_spend_model(cdnow_summary, compress=False)
    np.testing.assert_allclose(spend_compressed.params_.to_numpy(), spend_full.params_.to_numpy(), rtol=1e-4)


def test_compression_weights_count_customers():
    summary = pd.DataFrame({"frequency": [0, 0, 2, 2, 2], "recency": [0.0, 0.0, 3.0, 3.0, 4.0], "T": [5.0, 5.0, 6.0, 6.0, 6.0]})
    unique, codes = clv.compress_purchase_summary(summary)
    # Rows (0,0,5) x2, (2,3,6) x2, (2,4,6) x1.
    assert unique["weights"].tolist() == [2, 2, 1]
    assert codes.tolist() == [0, 0, 1, 1, 2]


def test_clv_equals_lifetimes_discounted_sum(cdnow_summary, cdnow_models):
    ours = clv.predict_clv(cdnow_models, cdnow_summary, horizon_months=12, monthly_discount_rate=0.01)
    theirs = cdnow_models.spend_model.customer_lifetime_value(
        cdnow_models.purchase_model,
        cdnow_summary["frequency"],
        cdnow_summary["recency"],
        cdnow_summary["T"],
        cdnow_summary["monetary_value"],
        time=12,
        discount_rate=0.01,
        freq="W",
    )
    # lifetimes' month is 4.345 weeks, ours 365.25 / 12 days = 4.348 weeks: agree within 0.2%.
    np.testing.assert_allclose(ours["clv_12m"].to_numpy(), theirs.to_numpy(), rtol=2e-3)
    undiscounted = clv.predict_clv(cdnow_models, cdnow_summary, monthly_discount_rate=0.0)
    np.testing.assert_allclose(
        undiscounted["clv_12m"], undiscounted["expected_purchases_12m"] * undiscounted["expected_order_value"], rtol=1e-9
    )
    assert (ours["p_alive"].between(0, 1)).all()
    assert (ours["p_alive"][cdnow_summary["frequency"] == 0] == 1).all()  # BG/NBD: no repeat, never seen dying


def test_retry_with_penalizer_is_recorded():
    class FlakyFitter:
        """Fails without a penalty, converges with one."""

        def __init__(self, penalizer_coef):
            self.penalizer_coef = penalizer_coef

        def fit(self, **_):
            if self.penalizer_coef == 0:
                raise ConvergenceError("did not converge")
            self.params_ = pd.Series({"r": 0.5, "alpha": 3.0, "a": 0.8, "b": 2.0})

    fitter, report = clv._fit_with_retries(FlakyFitter, {}, "BG/NBD", (0.0, 0.001, 0.01), 10, 5)
    assert report["converged"] and report["penalizer"] == 0.001
    assert "penalizer 0: did not converge" in report["note"]

    class AbsurdFitter(FlakyFitter):
        def fit(self, **_):
            self.params_ = pd.Series({"r": 0.5, "alpha": 3.0, "a": 1e9, "b": 2.0})

    _, report = clv._fit_with_retries(AbsurdFitter, {}, "BG/NBD", (0.0, 0.01), 10, 5)
    assert not report["converged"] and report["note"].count("estimates at a bound (a = 1e+09 above 1e+04") == 2
    # a -> infinity is every customer dropping out after each purchase, not "no dropout"
    assert report["reason"] == "its estimates are at a bound (a = 1e+09 above 1e+04)"


def test_the_real_exports_dropout_estimate_is_at_the_bound():
    # a = 1.6e-06 came out of a real export and passed the old check (1e-06); it is at the bound.
    params = pd.Series({"r": 0.5, "alpha": 3.0, "a": 1.6e-06, "b": 2.0})
    assert clv._absurd(params, "BG/NBD") == (
        "at a bound", "a = 1.6e-06 below 1e-04: the data show no dropout, so P(alive) would be about 100% for everyone")
    assert clv._absurd(params.rename({"a": "s", "b": "beta"}), "Pareto/NBD")[0] == "at a bound"
    assert clv._absurd(pd.Series({"r": 0.5, "alpha": 3.0, "a": 1e-04, "b": 2.0}), "BG/NBD") is None  # the bound itself is fine
    # a rate parameter at the bound is a bound too, but says nothing about dropout
    rate_at_bound = pd.Series({"r": 2e5, "alpha": 3.0, "a": 0.5, "b": 2.0})
    assert clv._absurd(rate_at_bound, "BG/NBD") == ("at a bound", "r = 2e+05 above 1e+04")
    # Gamma-Gamma keeps its wide range: v is in currency units (the demo's is 1.3e4)
    assert clv._absurd(pd.Series({"p": 0.6, "q": 3.6, "v": 1.3e4}), "Gamma-Gamma") is None


def test_holdout_validation_on_cdnow(cdnow_transactions):
    # FHL's setup: 39-week calibration, 39-week holdout to 1998-06-30.
    validation = clv.holdout_validation(cdnow_transactions, "1998-06-30", holdout_weeks=39)
    overall = validation.overall.iloc[0]
    assert overall["customers"] == 2357
    assert validation.calibration_end == pd.Timestamp("1997-09-30")
    assert overall["mae"] < overall["mae_naive"]  # the model beats the naive past-rate forecast
    assert abs(overall["relative_error"]) < 0.15
    deciles = validation.by_decile
    assert deciles["decile"].tolist() == list(range(1, 11)) and deciles["customers"].sum() == 2357
    assert deciles["actual_mean"].iloc[-1] > 5 * deciles["actual_mean"].iloc[0]  # top decile buys far more
    by_frequency = clv.calibration_by_frequency(validation.per_customer)
    assert by_frequency["customers"].sum() == 2357 and by_frequency["frequency_calibration"].max() == 7
    assert "naive" in clv.validation_finding(validation)


def test_import_leaves_future_warnings_visible():
    # lifetimes' package import runs simplefilter("ignore", FutureWarning); helpers.models.clv undoes it.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        warnings.warn("still visible", FutureWarning)
    assert not any(f[0] == "ignore" and f[2] is FutureWarning and f[1] is None for f in warnings.filters)
    assert len(caught) == 1


def test_input_errors():
    with pytest.raises(ValueError, match="time_unit"):
        clv.repeat_purchase_summary(tiny_transactions(), "2026-02-26", time_unit="M")
    with pytest.raises(ValueError, match="lacks column"):
        clv.repeat_purchase_summary(tiny_transactions().drop(columns="amount"), "2026-02-26")
    single = clv.repeat_purchase_summary(tiny_transactions().query("customer_id == 'B'"), "2026-02-26")
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        clv.fit_purchase_model(single)
    with pytest.raises(ValueError, match="model must be one of"):
        clv.fit_purchase_model(single, model="mbgnbd")


def test_calibration_plot_has_title_and_labels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = pd.DataFrame({"decile": [1, 2], "predicted_mean": [0.1, 0.5], "actual_mean": [0.2, 0.4]})
    ax = clv.plot_calibration(table)
    assert ax.get_title() and ax.get_ylabel() == "Purchases per customer in holdout (mean)"
    assert len(ax.get_lines()) == 2
    plt.close("all")


def test_pareto_nbd_matches_published_and_handles_purchase_on_as_of_day(cdnow_summary):
    # Fader, Hardie and Lee (2005), "A note on implementing the Pareto/NBD model in MATLAB":
    # r = 0.55, alpha = 10.58, s = 0.61, beta = 11.67 on the same CDNOW calibration data.
    fitter, report = clv.fit_purchase_model(cdnow_summary, model="pareto_nbd")
    for name, published in {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}.items():
        assert fitter.params_[name] == pytest.approx(published, rel=0.01), name
    assert report["model"] == "Pareto/NBD" and report["converged"]
    # Bought on the as-of day (recency == T): lifetimes' formulas give NaN there; ours give the limit.
    today = pd.DataFrame(
        {"customer_id": ["heavy", "new"], "frequency": [20, 0], "recency": [30.0, 0.0], "T": [30.0, 0.0], "monetary_value": [20.0, 0.0]}
    )
    models = clv.ClvModels(fitter, None, pd.DataFrame([report]), "W")
    out = clv.predict_clv(models, today).set_index("customer_id")
    assert out["p_alive"].tolist() == pytest.approx([1.0, 1.0], abs=1e-3)
    # The heavy buyer (20 repeats in 30 weeks) is expected to buy far more than a brand-new customer.
    assert out.loc["heavy", "expected_purchases_12m"] > 10 * out.loc["new", "expected_purchases_12m"] > 0


def test_no_dropout_in_the_data_falls_back_to_the_nbd_model_and_says_so():
    # Everyone keeps buying at a steady gamma-distributed rate: no dropout for BG/NBD to find.
    rng = np.random.default_rng(3)
    n = 3000
    T = rng.uniform(20, 52, n)
    x = rng.poisson(rng.gamma(0.8, 1 / 5, n) * T)
    recency = np.where(x > 0, T - rng.uniform(0, 1, n), 0.0)
    summary = pd.DataFrame({"customer_id": np.arange(n).astype(str), "frequency": x, "recency": recency, "T": T,
                            "monetary_value": np.where(x > 0, rng.gamma(4, 12.5, n), 0.0)})
    models = clv.fit_clv_models(summary, "bgnbd", (0.0,), "W")
    report = models.fit_report
    assert report["model"].tolist() == ["BG/NBD", "NBD (no dropout)", "Gamma-Gamma"]
    assert report["used"].tolist() == ["no", "yes", "yes"]
    # a -> 0 and b -> infinity: both say no customer drops out. Where exactly the optimiser stops
    # near the bound differs from machine to machine (4.3e-07 or 4.5e-07): the note says which side.
    bound = re.fullmatch(r"penalizer 0: estimates at a bound \(a = (\S+) below 1e-04, b = (\S+) above 1e\+04: "
                         r"the data show no dropout, so P\(alive\) would be about 100% for everyone\)", report.loc[0, "note"])
    assert bound and float(bound.group(1)) < 1e-4 and float(bound.group(2)) > 1e4
    assert report.loc[1, "note"].startswith("used instead of BG/NBD: the nested model without dropout")
    assert models.purchase_model_name == "NBD (no dropout)"
    assert models.note.startswith("Purchases are modelled with the NBD model without dropout, not BG/NBD, because its "
                                  "estimates are at a bound (a = ")
    assert float(report.loc[1, "params"].split("r = ")[1].split(",")[0]) == pytest.approx(0.8, rel=0.1)  # simulated r
    predicted = clv.predict_clv(models, summary)
    # Not estimated under the model without dropout, rather than a meaningless 100%.
    assert predicted["p_alive"].isna().all() and (predicted["expected_purchases_12m"] > 0).all()
    assert "counts every one of them as still active" in clv.clv_finding(predicted, models=models)


def _steady_buyers(n: int, start: str, end: str, seed: int = 1) -> pd.DataFrame:
    """Purchases of ``n`` customers who never drop out: each buys on a random day in the first half
    of [start, end], then at a steady Poisson rate (gamma(0.8) across customers, mean one per 20
    days) until ``end``."""
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    span = (end - start).days
    first = rng.integers(0, span // 2, n)
    counts = rng.poisson(rng.gamma(0.8, 1 / 16, n) * (span - first))
    day = np.repeat(first, counts) + (rng.uniform(0, 1, counts.sum()) * np.repeat(span - first, counts)).astype(int)
    customer = np.r_[np.arange(n), np.repeat(np.arange(n), counts)]
    # Spend per purchase: gamma with shape 5 around each customer's own mean (gamma across
    # customers, independent of the purchase rate), the Gamma-Gamma model's assumptions.
    mean_spend = rng.gamma(6, 15, n)
    amount = rng.gamma(5, mean_spend[customer] / 5)
    return pd.DataFrame({"customer_id": [f"C{i:04d}" for i in customer],
                         "order_date": start + pd.to_timedelta(np.r_[first, day], "D"), "amount": amount})


def test_bound_fit_with_the_real_exports_estimate_falls_back(monkeypatch, cdnow_summary):
    # CDNOW fits fine; a BG/NBD that returns the real export's a = 1.6e-06 at every attempt must not be used.
    class DegenerateBetaGeo(lifetimes.BetaGeoFitter):
        def fit(self, *args, **kwargs):
            self.params_ = pd.Series({"r": 0.24, "alpha": 4.4, "a": 1.6e-06, "b": 2.4})
            return self

    monkeypatch.setattr(clv.lifetimes, "BetaGeoFitter", DegenerateBetaGeo)
    models = clv.fit_clv_models(cdnow_summary)
    report = models.fit_report.set_index("model")
    assert report["used"].to_dict() == {"BG/NBD": "no", "NBD (no dropout)": "yes", "Gamma-Gamma": "yes"}
    assert not report.loc["BG/NBD", "converged"]
    assert report.loc["BG/NBD", "note"] == "; ".join(
        f"penalizer {p}: estimates at a bound (a = 1.6e-06 below 1e-04: the data show no dropout, so P(alive) would be "
        "about 100% for everyone)" for p in ("0", "0.001", "0.01"))
    assert models.note == (
        "Purchases are modelled with the NBD model without dropout, not BG/NBD, because its estimates are at a bound "
        "(a = 1.6e-06 below 1e-04: the data show no dropout, so P(alive) would be about 100% for everyone); the "
        "probability alive is not estimated (the model takes every customer to be still active).")


def test_steady_buyers_fall_back_on_the_holdout_too():
    purchases = _steady_buyers(1500, "2025-01-01", "2026-09-30")
    validation = clv.holdout_validation(purchases, "2026-09-30", 26)
    report = validation.fit_report.set_index("model")
    assert validation.purchase_model_name == "NBD (no dropout)" and validation.holdout_weeks == 26
    assert report["used"].to_dict() == {"BG/NBD": "no", "NBD (no dropout)": "yes", "Gamma-Gamma": "yes"}
    # Holdout numbers by hand: purchase days after 2026-04-01 of the customers who bought by then.
    days = purchases.assign(day=purchases["order_date"].dt.normalize()).drop_duplicates(["customer_id", "day"])
    known = days.loc[days["day"] <= "2026-04-01", "customer_id"].unique()
    actual = int(((days["day"] > "2026-04-01") & days["customer_id"].isin(known)).sum())
    assert report.loc["NBD (no dropout)", "holdout_actual"] == actual
    predicted = validation.per_customer["predicted_purchases"].sum()
    assert report.loc["NBD (no dropout)", "holdout_predicted"] == pytest.approx(predicted)
    assert report.loc["NBD (no dropout)", "holdout_error"] == pytest.approx(predicted / actual - 1)
    assert abs(predicted / actual - 1) < 0.1  # no dropout in the data: the NBD model predicts well
    assert np.isnan(report.loc["BG/NBD", "holdout_predicted"])  # never used, never predicted
    assert validation.note.startswith("The holdout validates NBD (no dropout): fitted up to 2026-04-01, it predicted ")
    assert "On the calibration period: purchases are modelled with the NBD model without dropout" in validation.note
    assert "the dropout model gave no usable fit" in clv.validation_finding(validation)
    # The CLV fit carries the holdout numbers of the model it uses.
    history = clv.repeat_purchase_summary(purchases, "2026-09-30")
    models = clv.fit_clv_models(history, holdout=validation)
    assert models.fit_report.loc[1, "holdout_actual"] == actual
    assert f"against {actual:,} actual" in models.note and "within the ±50% allowed" in models.note


def _comeback(n: int = 1500, seed: int = 2) -> pd.DataFrame:
    """Daily purchase chances from 2025-10-01 to 2026-09-30 (gamma(2) rates, mean one per 10 days);
    60% of customers pause from a day 30-100 days in until 2026-04-01, then buy again as before.
    The calibration period (to 2026-04-01) shows dropout that the holdout does not."""
    rng = np.random.default_rng(seed)
    start, days = pd.Timestamp("2025-10-01"), 365
    rate = rng.gamma(2.0, 1 / 20, n)
    pause_from = np.where(rng.random(n) < 0.6, rng.integers(30, 100, n), days + 1)
    day = np.arange(days + 1)
    calibration_days = (pd.Timestamp("2026-04-01") - start).days
    buys = (rng.random((n, days + 1)) < rate[:, None]) & ((day < pause_from[:, None]) | (day > calibration_days))
    customer, on = np.nonzero(buys)
    return pd.DataFrame({"customer_id": [f"C{i:04d}" for i in customer],
                         "order_date": start + pd.to_timedelta(on, "D"), "amount": 50.0})


def test_holdout_far_off_replaces_the_dropout_model():
    purchases = _comeback()
    validation = clv.holdout_validation(purchases, "2026-09-30", 26)
    report = validation.fit_report.set_index("model")
    assert report.loc["BG/NBD", "converged"]  # an ordinary fit: only the holdout shows it is wrong
    assert report["used"].to_dict() == {"BG/NBD": "no", "NBD (no dropout)": "yes", "Gamma-Gamma": "yes"}
    bgnbd, nbd = report.loc["BG/NBD", "holdout_error"], report.loc["NBD (no dropout)", "holdout_error"]
    assert bgnbd < -0.5 and abs(nbd) < abs(bgnbd)
    assert set(validation.rejected) == {"BG/NBD"} and not validation.flagged
    assert validation.rejected["BG/NBD"] == (
        f"fitted up to 2026-04-01, predicted {report.loc['BG/NBD', 'holdout_predicted']:,.0f} purchase days in the 26-week "
        f"holdout against {report.loc['BG/NBD', 'holdout_actual']:,.0f} actual ({100 * bgnbd:+.1f}%), beyond the ±50% "
        f"allowed (chapter_options.04_value.clv_holdout_max_error); the NBD model without dropout predicted "
        f"{report.loc['NBD (no dropout)', 'holdout_predicted']:,.0f} ({100 * nbd:+.1f}%)")
    assert report.loc["BG/NBD", "note"].endswith("; not used: " + validation.rejected["BG/NBD"])
    assert validation.overall.loc[0, "model"] == "NBD (no dropout)"
    assert validation.overall.loc[0, "relative_error"] == pytest.approx(nbd)
    assert "missed the holdout total by more than the ±50% allowed" in clv.validation_finding(validation)
    # The threshold is the parameter: allowing 80% keeps BG/NBD.
    lenient = clv.holdout_validation(purchases, "2026-09-30", 26, max_error=0.8)
    assert lenient.purchase_model_name == "BG/NBD" and lenient.fit_report["model"].tolist() == ["BG/NBD", "Gamma-Gamma"]


def test_the_clv_fit_follows_the_holdouts_verdict(cdnow_summary):
    # CDNOW's BG/NBD fit is fine; only a holdout verdict can replace or flag it.
    fit_report = pd.DataFrame([clv._report_row(model="BG/NBD", used="no", holdout_predicted=500.0, holdout_actual=1500.0,
                                               holdout_error=-2 / 3),
                               clv._report_row(model="NBD (no dropout)", used="yes", holdout_predicted=1400.0,
                                               holdout_actual=1500.0, holdout_error=-1 / 15)])
    verdict = "fitted up to 1997-09-30, predicted 500 purchase days ... beyond the ±50% allowed"
    rejected = clv.HoldoutValidation(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), fit_report, pd.Timestamp("1997-09-30"),
                                     pd.Timestamp("1998-06-30"), 39, 39, 0.5, "NBD (no dropout)", {"BG/NBD": verdict})
    models = clv.fit_clv_models(cdnow_summary, holdout=rejected)
    report = models.fit_report.set_index("model")
    assert models.purchase_model_name == "NBD (no dropout)"
    assert report["used"].to_dict() == {"BG/NBD": "no", "NBD (no dropout)": "yes", "Gamma-Gamma": "yes"}
    assert report.loc["BG/NBD", "converged"] and report.loc["BG/NBD", "note"].endswith("; not used: on the holdout " + verdict)
    assert report.loc["NBD (no dropout)", "holdout_predicted"] == 1400.0 and report.loc["BG/NBD", "holdout_actual"] == 1500.0
    assert models.note.startswith(
        f"Purchases are modelled with the NBD model without dropout, not BG/NBD: on the holdout BG/NBD {verdict}")
    assert "On the holdout, fitted up to 1997-09-30, it predicted 1,400 purchase days in the 39-week holdout against " \
           "1,500 actual (-6.7%), within the ±50% allowed" in models.note
    flagged = clv.HoldoutValidation(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                                    fit_report.assign(used=["yes, flagged", "no"]), pd.Timestamp("1997-09-30"),
                                    pd.Timestamp("1998-06-30"), 39, 39, 0.5, "BG/NBD", {},
                                    {"BG/NBD": "fitted up to ..., no better: treat its figures as rough"})
    models = clv.fit_clv_models(cdnow_summary, holdout=flagged)
    assert models.purchase_model_name == "BG/NBD" and models.fit_report.loc[0, "used"] == "yes, flagged"
    assert "Flagged: on the holdout BG/NBD fitted up to ..., no better: treat its figures as rough" in models.note
    clv_values = clv.predict_clv(models, cdnow_summary)
    assert clv.clv_finding(clv_values, models=models).endswith("treat these figures as rough.")


def test_holdout_close_to_nothing_flags_the_model(cdnow_transactions):
    # CDNOW with the holdout purchases of all but every 20th customer removed: BG/NBD (a good
    # calibration fit) over-predicts the holdout many times, and the NBD model would predict more.
    keep = (cdnow_transactions["order_date"] <= "1997-09-30") | (cdnow_transactions["customer_id"] % 20 == 0)
    thinned = cdnow_transactions[keep]
    validation = clv.holdout_validation(thinned, "1998-06-30", holdout_weeks=39)
    report = validation.fit_report.set_index("model")
    assert validation.purchase_model_name == "BG/NBD" and set(validation.flagged) == {"BG/NBD"}
    assert report["used"].to_dict() == {"BG/NBD": "yes, flagged", "NBD (no dropout)": "no", "Gamma-Gamma": "yes"}
    assert report.loc["BG/NBD", "holdout_error"] > 0.5
    assert report.loc["NBD (no dropout)", "holdout_error"] > report.loc["BG/NBD", "holdout_error"]
    assert report.loc["NBD (no dropout)", "note"] == "not used: no closer to the holdout than BG/NBD"
    assert validation.flagged["BG/NBD"].endswith("no better: treat its figures as rough")
    assert "BG/NBD is flagged" in clv.validation_finding(validation)


def test_four_months_of_history_shorten_the_holdout():
    # Purchases 2026-06-01 .. 2026-09-30: 122 days. With 13 weeks (91 days) of calibration the
    # holdout can be floor((122 - 91) / 7) = 4 weeks, the shortest allowed by default.
    purchases = _steady_buyers(600, "2026-06-01", "2026-09-30", seed=4)
    purchases.loc[0, "order_date"] = pd.Timestamp("2026-06-01 10:00")  # the history starts on 06-01
    plan = clv.holdout_plan(purchases, "2026-09-30", 26)
    assert (plan["holdout_weeks"], plan["history_days"], plan["shortened"]) == (4, 122, True)
    assert plan["note"] == (
        "The holdout is shortened from 26 weeks (chapter_options.04_value.holdout_weeks) to 4: the purchases cover 122 "
        "days up to 2026-09-30 (from 2026-06-01) and the calibration period needs at least 13 weeks "
        "(chapter_options.04_value.clv_min_calibration_weeks).")
    validation = clv.holdout_validation(purchases, "2026-09-30", 26)
    assert validation.holdout_weeks == 4 and validation.requested_weeks == 26
    assert validation.calibration_end == pd.Timestamp("2026-09-02")  # 28 days before the end
    assert validation.note.startswith(plan["note"])
    assert "The holdout is 4 weeks, not 26" in clv.validation_finding(validation)
    # The CLV itself is fitted on the four months.
    history = clv.repeat_purchase_summary(purchases, "2026-09-30")
    models = clv.fit_clv_models(history, holdout=validation)
    values = clv.predict_clv(models, history)
    assert len(values) == 600 and np.isfinite(values["clv_12m"]).all() and (values["expected_purchases_12m"] > 0).all()
    # Five more weeks of calibration leave (122 - 126) / 7 < 4 weeks: not available, with the numbers.
    with pytest.raises(NotAvailable) as caught:
        clv.holdout_validation(purchases, "2026-09-30", 26, min_calibration_weeks=18)
    assert caught.value.missing == (
        "the purchases cover 122 days up to 2026-09-30 (from 2026-06-01); a holdout of 26 weeks "
        "(chapter_options.04_value.holdout_weeks) after at least 18 weeks of calibration needs 308 days, and the "
        "shortest holdout allowed (4 weeks) 154")
    assert caught.value.enable == ("order history from 2026-04-30 or earlier, or lower "
                                   "chapter_options.04_value.clv_min_holdout_weeks or clv_min_calibration_weeks")


def test_three_months_of_history_have_no_holdout_but_a_clv():
    # 2026-07-01 .. 2026-09-30 = 92 days: the 13 weeks (91 days) of calibration leave no full week.
    purchases = _steady_buyers(600, "2026-07-01", "2026-09-30", seed=5)
    purchases.loc[0, "order_date"] = pd.Timestamp("2026-07-01")
    validation, missing = clv.holdout_if_available(purchases, "2026-09-30", 26)
    assert validation is None
    assert missing == ("the purchases cover 92 days up to 2026-09-30 (from 2026-07-01); a holdout of 26 weeks "
                       "(chapter_options.04_value.holdout_weeks) after at least 13 weeks of calibration needs 273 days, "
                       "and the shortest holdout allowed (4 weeks) 119")
    with pytest.raises(NotAvailable, match="order history from 2026-06-04 or earlier"):  # 119 days up to 09-30
        clv.holdout_validation(purchases, "2026-09-30", 26)
    history = clv.repeat_purchase_summary(purchases, "2026-09-30")
    models = clv.fit_clv_models(history, no_holdout=missing)
    assert models.note.endswith(f"No holdout check: {missing}.")
    assert models.fit_report["holdout_predicted"].isna().all()


def test_too_few_repeat_buyers_is_not_available():
    # 30 one-time buyers and 5 who bought twice: 5 repeat buyers, 20 needed by default.
    rows = [(f"O{i}", "2026-08-01") for i in range(30)] + [(f"R{i}", d) for i in range(5) for d in ("2026-07-01", "2026-08-15")]
    purchases = pd.DataFrame(rows, columns=["customer_id", "order_date"])
    purchases = purchases.assign(order_date=pd.to_datetime(purchases["order_date"]), amount=10.0)
    history = clv.repeat_purchase_summary(purchases, "2026-09-30")
    with pytest.raises(NotAvailable) as caught:
        clv.fit_clv_models(history)
    assert caught.value.missing == ("5 of the 35 customers who bought by 2026-09-30 bought again on a later day (the "
                                    "history the CLV is fitted on); the purchase model needs at least 20 repeat buyers")
    assert caught.value.enable == "a longer order history, or a lower chapter_options.04_value.clv_min_repeat_buyers"
    with pytest.raises(NotAvailable, match=r"^Not available: no customer bought by 2026-06-30 \(the history the CLV is "
                                           r"fitted on\); orders on or before that day\.$"):
        clv.fit_clv_models(clv.repeat_purchase_summary(purchases, "2026-06-30"))


def test_holdout_arguments_are_checked():
    with pytest.raises(ValueError, match=r"holdout_weeks \(3\) cannot be shorter than min_holdout_weeks \(4\)"):
        clv.holdout_plan(tiny_transactions(), "2026-03-26", 3)
    with pytest.raises(ValueError, match="max_error must be positive"):
        clv.holdout_validation(tiny_transactions(), "2026-03-26", 4, max_error=0)


def test_nbd_fallback_that_misses_the_holdout_is_flagged():
    # Steady buyers (BG/NBD at its bound, so the NBD model is used) whose holdout purchases are
    # gone for all but every 20th customer: the NBD model over-predicts; nothing to fall back to.
    purchases = _steady_buyers(1500, "2025-01-01", "2026-09-30")
    kept = (purchases["order_date"] <= "2026-04-01") | purchases["customer_id"].str.endswith(("00", "20", "40", "60", "80"))
    validation = clv.holdout_validation(purchases[kept], "2026-09-30", 26)
    report = validation.fit_report.set_index("model")
    assert report["used"].to_dict() == {"BG/NBD": "no", "NBD (no dropout)": "yes, flagged", "Gamma-Gamma": "yes"}
    assert report.loc["NBD (no dropout)", "holdout_error"] > 5  # about 20 times the actual purchases
    assert validation.flagged["NBD (no dropout)"].endswith(
        "beyond the ±50% allowed (chapter_options.04_value.clv_holdout_max_error): treat its figures as rough")
    finding = clv.validation_finding(validation)
    assert "no usable fit" in finding and "NBD (no dropout) is flagged" in finding


def test_customers_who_buy_like_clockwork_leave_no_model_to_fit():
    # 150 customers, each buying every 20 days since 2024 (offset by their number): no dropout and
    # no spread of purchase rates, so neither BG/NBD nor the NBD model without dropout can be estimated
    from helpers.errors import NotAvailable

    days = pd.date_range("2024-01-01", "2026-09-10", freq="20D")
    purchases = pd.DataFrame([(f"K{i:03d}", day + pd.Timedelta(days=i % 20), 50.0 + i)
                              for i in range(150) for day in days], columns=["customer_id", "order_date", "amount"])
    summary = clv.repeat_purchase_summary(purchases, "2026-09-30")
    # BG/NBD: a and b run to 0; the NBD's r and alpha run off beyond 1e4 (no spread of rates)
    with pytest.raises(NotAvailable, match=r"neither does the NBD model without dropout \(r = .* above 1e\+04"):
        clv.fit_clv_models(summary)


def test_the_validation_section_shows_the_holdout_the_fit_made_or_why_there_is_none():
    marker = object()
    assert clv.validated_holdout(marker, "") is marker
    with pytest.raises(NotAvailable, match="the purchases cover 40 days; the holdout needs 119; a longer purchase"):
        clv.validated_holdout(None, "the purchases cover 40 days; the holdout needs 119")
