"""Tests for helpers.models.clv: summaries by hand, CDNOW estimates of Fader, Hardie and Lee (2005)."""
from __future__ import annotations

import warnings
from pathlib import Path

import lifetimes  # noqa: E402  (already imported by helpers.models.clv, so filters are not touched again)
import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import ConvergenceError  # noqa: E402

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
    assert not report["converged"] and report["note"].count("implausible") == 2


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
                            "monetary_value": np.where(x > 0, 50.0, 0.0)})
    models = clv.fit_clv_models(summary, "bgnbd", (0.0,), "W")
    report = models.fit_report.iloc[0]
    assert report["model"] == "NBD (no dropout)" and report["converged"]
    assert "modelled without dropout" in report["note"]
    assert float(report["params"].split("r = ")[1].split(",")[0]) == pytest.approx(0.8, rel=0.1)  # simulated r
    predicted = clv.predict_clv(models, summary)
    assert (predicted["p_alive"] == 1.0).all()
