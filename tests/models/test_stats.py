import numpy as np
import pandas as pd
import pytest

from helpers.models.stats import (
    bootstrap_diff_means_ci,
    bootstrap_diff_totals_ci,
    bootstrap_mean_ci,
    change_significance,
    exact_interval,
    kpi_samples,
    kpi_significance,
    kpi_table_with_significance,
    newcombe_diff_interval,
    nps_points,
    poisson_diff_ci,
    significance_finding,
    wilson_interval,
)
from helpers.quarters import Quarter


def test_wilson_interval_matches_newcombe_1998_table():
    # Newcombe (1998a), Stat Med 17:857, Table I: 81/263 -> 0.2553 to 0.3662; 15/148 -> 0.0624 to 0.1605
    interval = wilson_interval(81, 263)
    assert interval.estimate == pytest.approx(81 / 263)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.2553, 0.3662)
    interval = wilson_interval(15, 148)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.0624, 0.1605)


def test_wilson_by_hand_for_zero_successes():
    # 0/10: centre = (z^2/20)/(1+z^2/10) = half-width, so low = 0 and high = (z^2/10)/(1+z^2/10) = 0.2775
    interval = wilson_interval(0, 10)
    assert interval.low == 0.0
    assert interval.high == pytest.approx(0.2775, abs=1e-4)


def test_exact_interval_matches_published_value():
    # Newcombe (1998a) Table I, Clopper-Pearson for 81/263: 0.2527 to 0.3676
    interval = exact_interval(81, 263)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.2527, 0.3676)
    assert exact_interval(0, 5).low == 0.0 and exact_interval(5, 5).high == 1.0


def test_newcombe_difference_matches_published_value():
    # Newcombe (1998b), Stat Med 17:873, example 56/70 - 48/80 = 0.2, method 10: 0.0524 to 0.3339
    interval = newcombe_diff_interval(56, 70, 48, 80)
    assert interval.estimate == pytest.approx(0.2)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.0524, 0.3339)


def test_bootstrap_mean_ci_is_deterministic_and_contains_true_mean():
    # evenly spread values 30..70: mean exactly 50, sd = 40 / sqrt(12) = 11.55 (continuous uniform)
    sample = np.linspace(30, 70, 401)
    first = bootstrap_mean_ci(sample, n_resamples=2000, seed=11)
    second = bootstrap_mean_ci(sample, n_resamples=2000, seed=11)
    assert first == second
    assert first.estimate == pytest.approx(50)
    assert first.low < 50 < first.high
    # width should be close to 2 * 1.96 * 11.55 / sqrt(401) = 2.26
    assert first.high - first.low == pytest.approx(2.26, rel=0.1)
    assert bootstrap_mean_ci(sample, n_resamples=2000, seed=12) != first


def test_bootstrap_mean_ci_on_constant_sample_has_zero_width():
    interval = bootstrap_mean_ci([3.0, 3.0, 3.0, 3.0])
    assert (interval.estimate, interval.low, interval.high) == (3.0, 3.0, 3.0)


def test_bootstrap_large_sample_uses_normal_interval():
    # 0/1 values, n = 10: mean 0.5, sd (ddof=1) = sqrt(10/36)=0.527, half width 1.96*0.527/sqrt(10) = 0.3267
    interval = bootstrap_mean_ci([0, 1] * 5, max_bootstrap_n=5)
    assert interval.method.startswith("normal")
    assert interval.high - 0.5 == pytest.approx(0.3267, abs=1e-3)


def test_bootstrap_difference_of_means_detects_shift():
    rng = np.random.default_rng(3)
    current, previous = rng.normal(12, 2, 300), rng.normal(10, 2, 300)
    interval = bootstrap_diff_means_ci(current, previous, seed=1)
    assert interval.low < 2 < interval.high
    assert interval.low > 0


def test_poisson_totals_and_counts():
    # Poisson bootstrap of totals 10 values of 1 vs 10 values of 1: change 0, interval around 0
    interval = bootstrap_diff_totals_ci(np.ones(10), np.ones(10), seed=2)
    assert interval.estimate == 0 and interval.low < 0 < interval.high
    # counts 100 vs 60: 40 +/- 1.96 * sqrt(160) = 40 +/- 24.79
    counts = poisson_diff_ci(100, 60)
    assert (round(counts.low, 2), round(counts.high, 2)) == (15.21, 64.79)


def test_nps_points_maps_scores():
    assert list(nps_points([10, 9, 8, 7, 6, 0])) == [100, 100, 0, 0, -100, -100]
    with pytest.raises(ValueError, match="between 0 and 10"):
        nps_points([11])


def test_change_significance_proportion_uses_newcombe_and_flags_small_samples():
    current = [1] * 56 + [0] * 14
    previous = [1] * 48 + [0] * 32
    result = change_significance("repeat", current, previous, "proportion", small_sample_size=75)
    assert result["change"] == pytest.approx(0.2)
    assert round(result["change_low"], 4) == 0.0524
    assert result["significant"] is True
    assert result["small_sample"] is True  # 70 answers < 75
    flat = change_significance("repeat", [1, 0] * 20, [1, 0] * 20, "proportion")
    assert flat["significant"] is False and flat["small_sample"] is False


def test_change_significance_nps_in_points():
    # current [10,10,0,8] -> NPS (2-1)/4 = 25; previous [10,0,0,0] -> (1-3)/4 = -50; change +75
    result = change_significance("nps", [10, 10, 0, 8], [10, 0, 0, 0], "nps", seed=1)
    assert (result["current"], result["previous"], result["change"]) == (25.0, -50.0, 75.0)
    assert result["small_sample"] is True


def test_change_significance_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        change_significance("x", [1], [1], "median")


def _orders():
    # c1: two purchase orders in 2026Q3 (o1 100, o2 300), one in 2026Q2 (o0 200)
    # c2: first purchase 2026-07-05 (o3 50) and again 2026-07-20 (o4 50) -> new, retained within 30 days
    # c3: first purchase 2026-08-01 (o5 400), cancelled line o6 -> new, not retained
    # c4: only in 2026Q2 (o7 100)
    rows = [
        ("o0", "c1", "2026-05-10", 200.0, True),
        ("o1", "c1", "2026-07-10", 100.0, True),
        ("o2", "c1", "2026-08-10", 300.0, True),
        ("o3", "c2", "2026-07-05", 50.0, True),
        ("o4", "c2", "2026-07-20", 50.0, True),
        ("o5", "c3", "2026-08-01", 400.0, True),
        ("o6", "c3", "2026-08-02", 70.0, False),
        ("o7", "c4", "2026-04-15", 100.0, True),
    ]
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount", "is_purchase"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["net_amount"] = frame["amount"].where(frame["is_purchase"], 0.0)
    return frame


def test_kpi_samples_follow_kpi_definitions():
    samples = kpi_samples(_orders(), None, Quarter.parse("2026Q3"), churn_days=90)
    assert samples["new_customers"].tolist() == [2.0]  # c2, c3
    assert samples["active_customers"].tolist() == [3.0]  # c1, c2, c3
    assert sorted(samples["revenue"].tolist()) == [100.0, 400.0, 400.0]  # c2 100, c1 400, c3 400 (+0 cancelled)
    assert sorted(samples["average_order_value"].tolist()) == [50.0, 50.0, 100.0, 300.0, 400.0]
    assert sorted(samples["retention_30d"].tolist()) == [0.0, 1.0]  # c3 not retained, c2 retained
    assert sorted(samples["repeat_purchase_rate"].tolist()) == [0.0, 1.0, 1.0]
    # churn base: c1 (bought 2026-05-10) and c4 (2026-04-15) active at 2026-07-01; c4 churned
    assert sorted(samples["churn_rate"].tolist()) == [0.0, 1.0]
    assert samples["nps"].size == 0


def test_kpi_significance_table_shape_and_relative_units():
    surveys = pd.DataFrame({
        "customer_id": ["c1", "c2", "c1"],
        "response_date": pd.to_datetime(["2026-07-01", "2026-07-02", "2026-04-01"]),
        "nps_score": [10.0, 0.0, 9.0],
        "csat_score": [5.0, np.nan, 2.0],
    })
    table = kpi_significance(_orders(), surveys, "2026Q3", churn_days=90, seed=4, n_resamples=200)
    assert list(table.columns[:5]) == ["metric", "change_low", "change_high", "significant", "small_sample"]
    assert len(table) == 9
    # churn in 2026Q2 has an empty base (no purchase before 2026-04-01): no test, not "small"
    assert table.set_index("metric")["small_sample"].drop("churn_rate").all()
    assert not table.set_index("metric").loc["churn_rate", "small_sample"]
    row = table.set_index("metric").loc["active_customers"]
    # 3 vs 2 active customers: (1 +/- 1.96 sqrt 5) / 2 -> -1.691 .. 2.691
    assert (round(row["change_low"], 3), round(row["change_high"], 3)) == (-1.691, 2.691)
    assert not row["significant"]
    text = significance_finding(table)
    # churn and NPS (one 2026Q2 answer: no bootstrap interval) are untested: 7 of 9 remain
    assert "None of the 7 KPI changes" in text and "small sample" in text
    # without surveys NPS and CSAT have no data: no interval, not flagged as small, not counted
    no_surveys = kpi_significance(_orders(), None, "2026Q3", churn_days=90, seed=4, n_resamples=200).set_index("metric")
    assert no_surveys.loc[["nps", "csat"], "change_low"].isna().all()
    assert not no_surveys.loc[["nps", "csat"], "small_sample"].any()
    assert "None of the 6 KPI changes" in significance_finding(no_surveys.reset_index())


def test_kpi_table_with_significance_formats_intervals():
    kpi_overview = pd.DataFrame({
        "metric": ["revenue", "nps"], "label": ["Revenue (net)", "Net Promoter Score"], "value": [1000.0, 31.0],
        "unit": ["money", "points"], "previous": [900.0, 37.0], "year_ago": [800.0, 30.0],
        "qoq_change": [1000 / 900 - 1, -6.0], "yoy_change": [0.25, 1.0], "target": [np.nan, 50.0],
        "met": [None, False], "change_low": [0.02, -12.5], "change_high": [0.2, 0.5],
        "significant": [True, False], "small_sample": [False, True],
    })
    table = kpi_table_with_significance(kpi_overview, "¥")
    # money changes are relative (+2.0% .. +20.0%), NPS changes in points
    assert table["95% interval of the change"].tolist() == ["+2.0% to +20.0%", "-12.5 pts to +0.5 pts"]
    assert table["Change beyond chance"].tolist() == ["yes", "no"]
    assert table["Small sample"].tolist() == ["", "yes"]
    with pytest.raises(ValueError, match="merge compute_kpis"):
        kpi_table_with_significance(kpi_overview.drop(columns="significant"))


def test_nps_change_interval_is_in_points_like_the_change():
    # 2026Q3: 6 promoters and 4 detractors of 10 (NPS 20); 2026Q2: 8 promoters, 2 detractors (NPS 60).
    answers = [10.0] * 6 + [0.0] * 4 + [10.0] * 8 + [0.0] * 2
    dates = ["2026-07-15"] * 10 + ["2026-04-15"] * 10
    surveys = pd.DataFrame({"customer_id": [f"c{i}" for i in range(20)], "response_date": pd.to_datetime(dates),
                            "nps_score": answers, "csat_score": np.nan})
    row = kpi_significance(_orders(), surveys, "2026Q3", churn_days=90, seed=1, n_resamples=500).set_index("metric").loc["nps"]
    # The change is -40 points; its interval must bracket it in points (not as a share of the previous NPS).
    assert row["change_low"] < -40 < row["change_high"]
    assert row["change_low"] < -60 and row["change_high"] > -25
