import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.chapters.satisfaction import (  # noqa: E402
    cohens_d,
    cramers_v,
    customer_profile,
    customer_satisfaction,
    driver_data,
    drivers_finding,
    extremes_by,
    extremes_finding,
    key_drivers,
    net_promoter_score,
    nps_category,
    nps_finding,
    plot_drivers,
    plot_nps_mix,
    plot_satisfaction_trend,
    satisfaction_by,
    satisfaction_by_finding,
    satisfaction_drivers,
    satisfaction_extremes,
    satisfaction_groups,
    satisfaction_trend,
)

Q = "2026Q3"


def test_nps_of_brief_example_is_zero():
    # promoters 10, 9 (2 of 5), passive 8, detractors 0, 6 (2 of 5): 40% - 40% = 0
    assert net_promoter_score([10, 9, 8, 0, 6]) == 0.0
    assert net_promoter_score([10, 10, 10, 0]) == 50.0
    assert np.isnan(net_promoter_score([np.nan]))
    assert nps_category(pd.Series([10, 7, 6, np.nan])).tolist()[:3] == ["promoter", "passive", "detractor"]
    with pytest.raises(ValueError, match="between 0 and 10"):
        net_promoter_score([12])


def _surveys():
    # 2026Q3: NPS [10, 10, 0, 8] -> 50% - 25% = 25; CSAT [5, 4, 2, nan] -> 2 of 3 satisfied
    # 2026Q2: NPS [10, 0] -> 0; CSAT [3] -> 0 of 1
    return pd.DataFrame({
        "survey_id": [f"s{i}" for i in range(6)],
        "customer_id": ["c1", "c2", "c3", "c4", "c1", "c3"],
        "response_date": pd.to_datetime(["2026-07-01", "2026-07-15", "2026-08-01", "2026-09-30",
                                         "2026-05-01", "2026-06-01"]),
        "nps_score": [10, 10, 0, 8, 10, 0],
        "csat_score": [5, 4, 2, np.nan, 3, np.nan],
    })


def test_satisfaction_trend_values_and_intervals():
    trend = satisfaction_trend(_surveys(), Q, n_quarters=3)
    assert trend["quarter"].tolist() == ["2026Q1", "2026Q2", "2026Q3"]
    assert trend["nps_responses"].tolist() == [0, 2, 4]
    now = trend.iloc[-1]
    assert (now["promoters"], now["passives"], now["detractors"], now["nps"]) == (0.5, 0.25, 0.25, 25.0)
    # Var = (0.5 + 0.25 - 0.25^2) / 4 = 0.171875, se 0.41458, 1.96 se = 0.8126 -> [-56.3, 100 (capped)]
    assert now["nps_low"] == pytest.approx(-56.26, abs=0.01)
    assert now["nps_high"] == 100.0
    assert now["csat"] == pytest.approx(2 / 3) and now["csat_responses"] == 3
    assert now["mean_csat_score"] == pytest.approx(11 / 3)
    assert np.isnan(trend.iloc[0]["nps"])
    text = nps_finding(trend, nps_target=30)
    assert text.startswith("NPS rose 25 points on the previous quarter to 25, below the target of 30")
    assert "CSAT was 66.7%" in text
    ax = plot_satisfaction_trend(trend)
    assert ax.get_title() and ax.get_ylabel().startswith("NPS")
    plt.close("all")


def test_satisfaction_by_region_with_previous_quarter_and_suppression():
    customers = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4"], "region": ["North", "North", "South", "South"]})
    table = satisfaction_by(_surveys(), customers, Q, "region", min_group_size=1).set_index("region")
    # North: [10, 10] -> 100; previous [10] -> 100. South: [0, 8] -> -50; previous [0] -> -100 (detractors 100%)
    assert table.loc["North", "nps"] == 100.0 and table.loc["South", "nps"] == -50.0
    assert table.loc["South", "nps_change"] == 50.0
    assert table.loc["South", "detractors_change"] == pytest.approx(-0.5)
    suppressed = satisfaction_by(_surveys(), customers, Q, "region", min_group_size=3)
    assert suppressed["suppressed"].all() and suppressed["nps"].isna().all()
    # 2 NPS answers in each region: both shown with a minimum of 1, neither with a minimum of 5
    text = satisfaction_by_finding(table.reset_index(), min_answers=30, min_group_size=1)
    assert text.startswith("By region, among the groups with at least 1 NPS answers (the table blanks the NPS of "
                           "smaller ones), NPS is highest for North (100, 2 answers) and lowest for South (-50, 2 answers).")
    assert satisfaction_by_finding(table.reset_index(), 30, 5) == (
        "Fewer than two region groups have at least 5 NPS answers, so NPS cannot be compared across them.")
    ax = plot_nps_mix(table.reset_index())
    assert ax.get_xlabel() == "Share of NPS answers (%)"
    plt.close("all")


def test_customer_satisfaction_scale_and_groups():
    sat = customer_satisfaction(_surveys(), Q).set_index("customer_id")
    # c1: NPS 10, CSAT 5 -> 2.5*(5-1)=10 -> score 10 high; c2: 10 and 7.5 -> 8.75 medium
    # c3: 0 and 2.5 -> 1.25 low; c4: NPS 8 only -> 8 medium
    assert sat["satisfaction_score"].to_dict() == {"c1": 10.0, "c2": 8.75, "c3": 1.25, "c4": 8.0}
    assert sat["satisfaction_group"].to_dict() == {"c1": "high", "c2": "medium", "c3": "low", "c4": "medium"}
    two_quarters = customer_satisfaction(_surveys(), Q, lookback_quarters=2).set_index("customer_id")
    # c1 adds 2026Q2 answer NPS 10, CSAT 3 -> 5: mean of [10, 10, 10, 5] = 8.75
    assert two_quarters.loc["c1", "satisfaction_score"] == 8.75 and two_quarters.loc["c1", "responses"] == 2


def _profile_inputs():
    customers = pd.DataFrame({
        "customer_id": ["c1", "c2", "c3"], "segment": ["Individual", "Individual", None], "region": ["North"] * 3,
        "first_order_date": pd.to_datetime(["2026-01-01", None, None]),
        "signup_date": pd.to_datetime(["2025-01-01", "2026-09-20", None]),
    })
    orders = pd.DataFrame({
        "order_id": ["o1", "o1", "o2", "o3"], "customer_id": ["c1", "c1", "c1", "c2"],
        "order_date": pd.to_datetime(["2026-07-01", "2026-07-01", "2025-12-01", "2024-01-01"]),
        "category": ["Tea", "Cups", "Cups", "Tea"], "amount": [30.0, 20.0, 25.0, 10.0],
        "is_purchase": True,
    })
    orders["net_amount"] = orders["amount"]
    tickets = pd.DataFrame({
        "customer_id": ["c1", "c1", "c2"], "created_at": pd.to_datetime(["2026-08-01", "2026-08-05", "2026-08-05"]),
        "ticket_type": ["complaint", "complaint", "consultation"], "resolution_hours": [10.0, np.nan, 5.0],
    })
    return customers, orders, tickets


def test_customer_profile_by_hand():
    customers, orders, tickets = _profile_inputs()
    profile = customer_profile(customers, orders, tickets, Q).set_index("customer_id")
    # c1: orders o1 (2026Q3) and o2 (2025Q4, inside 4 quarters) -> 2, revenue 75;
    # categories Tea 30, Cups 45 -> Cups; 2 complaints, mean resolution 10 h (open one ignored);
    # tenure 2026-09-30 - 2026-01-01 = 272 days
    assert profile.loc["c1", ["orders", "revenue", "complaints", "mean_resolution_hours", "tenure_days"]].tolist() \
        == [2, 75.0, 2, 10.0, 272]
    assert profile.loc["c1", "main_category"] == "Cups"
    # c2: order in 2024 is outside the window; consultation is not a complaint; tenure from signup = 10 days
    assert profile.loc["c2", ["orders", "complaints", "tenure_days"]].tolist() == [0, 0, 10]
    assert profile.loc["c2", "main_category"] == "None" and np.isnan(profile.loc["c2", "mean_resolution_hours"])
    assert profile.loc["c3", "segment"] == "Unknown" and np.isnan(profile.loc["c3", "tenure_days"])


def test_effect_sizes_by_hand():
    # [5, 7] vs [1, 3]: means 6 and 2, both variances 2 -> pooled sd sqrt(2); d = 4 / 1.4142 = 2.828
    assert cohens_d([5, 7], [1, 3]) == pytest.approx(2.828, abs=1e-3)
    # perfectly separated 2x2 table of 4 people: chi2 = 4, V = sqrt(4 / 4) = 1
    assert cramers_v(pd.Series(["a", "a", "b", "b"]), pd.Series(["x", "x", "y", "y"])) == pytest.approx(1.0)
    # independent: a -> x, y; b -> x, y: V = 0
    assert cramers_v(pd.Series(["a", "a", "b", "b"]), pd.Series(["x", "y", "x", "y"])) == pytest.approx(0.0)


def _ten_customers():
    ids = [f"c{i}" for i in range(10)]
    satisfaction = pd.DataFrame({"customer_id": ids, "satisfaction_score": np.arange(10, dtype=float)})
    satisfaction["satisfaction_group"] = np.select([satisfaction["satisfaction_score"] >= 9,
                                                    satisfaction["satisfaction_score"] >= 7], ["high", "medium"], "low")
    profile = pd.DataFrame({
        "customer_id": ids,
        "segment": ["B", "B", "A", "A", "A", "A", "A", "A", "A", "A"],
        "region": ["South", "South"] + ["North"] * 6 + ["East", "North"],
        "main_category": "Tea",
        "orders": [1, 3, 2, 2, 2, 2, 2, 2, 5, 7],
        "revenue": 100.0, "complaints": [2, 2, 0, 0, 0, 0, 0, 0, 0, 0],
        "mean_resolution_hours": [30.0, 50.0] + [np.nan] * 8, "tenure_days": 100.0,
    })
    return satisfaction, profile


def test_satisfaction_extremes_compare_top_and_bottom_20_percent():
    satisfaction, profile = _ten_customers()
    table = satisfaction_extremes(satisfaction, profile, fraction=0.2)
    # most satisfied: c9, c8 (scores 9, 8); least: c0, c1 (0, 1)
    orders = table.loc[table["attribute"] == "Orders (last 4 quarters)"].iloc[0]
    assert (orders["most_satisfied"], orders["least_satisfied"], orders["difference"]) == (6.0, 2.0, 4.0)
    assert orders["effect_size"] == pytest.approx(2.828, abs=1e-3)
    segment_v = table.loc[(table["attribute"] == "Segment") & (table["level"] == "all"), "effect_size"].iloc[0]
    assert segment_v == pytest.approx(1.0)
    level_a = table.loc[(table["attribute"] == "Segment") & (table["level"] == "A")].iloc[0]
    assert (level_a["most_satisfied"], level_a["least_satisfied"], level_a["effect_size"]) == (1.0, 0.0, 1.0)
    text = extremes_finding(table)
    assert "complaints" in text or "orders" in text
    by_region = extremes_by(satisfaction, profile, "region").set_index("region")
    # most: c8 East, c9 North; least: c0, c1 South
    assert by_region.loc["South", ["most_satisfied", "least_satisfied"]].tolist() == [0, 2]
    assert by_region.loc["East", "share_of_most"] == 0.5
    groups = satisfaction_groups(satisfaction, profile).set_index("satisfaction_group")
    # high: c9 only; medium: c7, c8; low: c0..c6 (7 customers)
    assert groups["customers"].to_dict() == {"high": 1, "medium": 2, "low": 7}
    assert groups.loc["low", "complaints"] == pytest.approx(4 / 7)
    assert groups.loc["low", "top_segment"] == "A" and groups.loc["low", "top_segment_share"] == pytest.approx(5 / 7)


def test_satisfaction_drivers_recover_known_effects():
    rng = np.random.default_rng(5)
    n = 400
    data = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "segment": np.where(np.arange(n) % 2 == 0, "Individual", "Large enterprise"),
        "region": np.where(np.arange(n) % 4 == 0, "South", "North"),
        "complaints": rng.integers(0, 3, n).astype(float),
        "orders": rng.integers(0, 10, n).astype(float),
    })
    data["mean_resolution_hours"] = np.where(data["complaints"] > 0, rng.uniform(1, 72, n), np.nan)
    # score = 8 - 1.5 complaints + 0.2 orders - 1 (South) + noise sd 0.3
    data["score"] = 8 - 1.5 * data["complaints"] + 0.2 * data["orders"] - 1.0 * (data["region"] == "South") \
        + rng.normal(0, 0.3, n)
    drivers = satisfaction_drivers(data).set_index("term")
    assert drivers.loc["Complaints (last 4 quarters)", "coefficient"] == pytest.approx(-1.5, abs=0.1)
    assert drivers.loc["Orders (last 4 quarters)", "coefficient"] == pytest.approx(0.2, abs=0.03)
    assert drivers.loc["Region: South", "coefficient"] == pytest.approx(-1.0, abs=0.1)
    assert drivers.loc["Region: South", "ci_low"] < -1.0 < drivers.loc["Region: South", "ci_high"]
    assert drivers.loc["Complaints (last 4 quarters)", "significant"]
    assert not drivers.loc["Segment: Large enterprise", "significant"]
    assert drivers.loc["Region: South", "reading"] == "Customers in region South score 0.97 points lower than those in North."  # estimate -0.97
    assert drivers.attrs["n"] == n
    assert "significant drivers" in drivers_finding(drivers.reset_index())
    ax = plot_drivers(drivers.reset_index())
    assert ax.get_title()
    plt.close("all")
    few = satisfaction_drivers(data.head(8))
    assert few.empty and "too few" in few.attrs["note"]
    assert drivers_finding(few).startswith("Too few surveyed customers")


def test_driver_data_joins_answers_to_profile():
    customers, orders, tickets = _profile_inputs()
    surveys = pd.DataFrame({"customer_id": ["c1", "c1", "c2"], "response_date": pd.Timestamp("2026-08-10"),
                            "nps_score": [10, 6, np.nan], "csat_score": [5, 4, 3]})
    data = driver_data(surveys, customers, orders, tickets, Q)
    # c2 gave no NPS answer; c1 mean of 10 and 6 = 8 with 2 complaints
    assert data["customer_id"].tolist() == ["c1"]
    assert data.loc[0, ["score", "complaints", "orders"]].tolist() == [8.0, 2.0, 2.0]
    # one customer is far too few for a model: key_drivers returns an empty table
    assert key_drivers(surveys, customers, orders, tickets, Q).empty


def test_drivers_without_scores_say_so_instead_of_failing():
    from helpers.chapters.satisfaction import satisfaction_drivers

    data = pd.DataFrame({"score": [np.nan] * 3, "segment": ["Individual"] * 3, "region": ["East China"] * 3,
                         "complaints": [0, 1, 2], "mean_resolution_hours": [np.nan] * 3, "orders": [1, 2, 3]})
    table = satisfaction_drivers(data)
    assert table.empty and table.attrs["note"] == "0 customers with a score are too few for a regression"
