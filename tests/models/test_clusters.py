"""Tests for helpers.models.clusters: features, k by silhouette, readable names, tree rules."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.models import clusters


def three_groups(seed: int = 7) -> pd.DataFrame:
    # 3 groups of 40 customers, well apart on every feature (log scale):
    #   top:     ~5 days since last purchase, ~20 orders, ~20,000 revenue, CLV ~10,000, ~900 days tenure
    #   middle:  ~60 days, ~4 orders, ~1,000 revenue, CLV ~300, ~200 days tenure
    #   dormant: ~600 days, 0 orders, 0 revenue, CLV ~2, ~700 days tenure
    rng = np.random.default_rng(seed)
    n = 40
    jitter = lambda centre: centre * rng.uniform(0.8, 1.25, n)  # noqa: E731
    frames = []
    groups = (("top", 5, 20, 20000, 10000, 900), ("middle", 60, 4, 1000, 300, 200), ("dormant", 600, 0, 0, 2, 700))
    for name, days, orders, revenue, clv, tenure in groups:
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": [f"{name}{i}" for i in range(n)],
                    "days_since_last_purchase": jitter(days).round(),
                    "orders_in_window": np.round(jitter(orders)).astype(int),
                    "revenue_in_window": jitter(revenue),
                    "days_since_first_purchase": jitter(tenure).round(),
                    "clv_12m": jitter(clv),
                    "group": name,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_customer_features_counts_complaints_in_window():
    rfm = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "days_since_last_purchase": [3, 400],
            "orders_in_window": [2, 0],
            "revenue_in_window": [50.0, 0.0],
            "days_since_first_purchase": [100, 900],
        }
    )
    clv = pd.DataFrame({"customer_id": ["A"], "clv_12m": [120.0]})
    tickets = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "B"],
            "created_at": pd.to_datetime(["2026-09-01", "2026-08-01", "2024-01-01", "2026-07-01"]),
            "ticket_type": ["complaint", "complaint", "complaint", "consultation"],
        }
    )
    # A: two complaints in the year to 2026-09-30 (2024 is outside); B: a consultation only -> 0. B has no CLV -> 0.
    features = clusters.customer_features(rfm, clv, tickets, as_of="2026-09-30").set_index("customer_id")
    assert features["complaints_in_window"].tolist() == [2, 0]
    assert features["clv_12m"].tolist() == [120.0, 0.0]
    with pytest.raises(ValueError, match="as_of"):
        clusters.customer_features(rfm, tickets=tickets)


def test_three_clear_groups_are_found_and_named():
    data = three_groups()
    features = data.drop(columns="group")
    result = clusters.fit_clusters(features, k_range=(2, 5), seed=1, n_init=4)
    assert result.k == 3
    assert result.silhouette["chosen"].sum() == 1 and len(result.silhouette) == 4
    # Each true group lands in exactly one cluster, and cluster 1 is the most valuable (top).
    table = pd.crosstab(data["group"], result.assignments["cluster"])
    assert (table.gt(0).sum(axis=1) == 1).all()
    assert table.loc["top", 1] == 40 and table.loc["dormant", 3] == 40
    names = result.profiles.set_index("cluster")["cluster_name"]
    assert "high spend" in names[1] or "high expected value" in names[1]
    assert "lapsed" in names[3] or "low spend" in names[3] or "infrequent" in names[3]
    assert result.profiles["customers"].tolist() == [40, 40, 40]
    # Same seed, same answer.
    again = clusters.fit_clusters(features, k_range=(2, 5), seed=1, n_init=4)
    assert (again.assignments["cluster"] == result.assignments["cluster"]).all()
    assert '3 clusters separate customers best' in clusters.cluster_finding(result)


def test_tree_rules_explain_membership():
    data = three_groups()
    features = data.drop(columns="group")
    result = clusters.fit_clusters(features, k_range=(3, 3), seed=1, n_init=4)
    explanation = clusters.explain_clusters(features, result, seed=1)
    rules = explanation.rules
    # Three groups well apart on every feature: the rules reproduce every cluster exactly.
    assert explanation.accuracy == 1.0 and explanation.customers == 120
    assert explanation.per_cluster["share_reproduced"].tolist() == [1.0, 1.0, 1.0]
    assert explanation.per_cluster["precision"].tolist() == [1.0, 1.0, 1.0]
    assert set(rules["cluster"]) == {1, 2, 3}
    assert rules["share_of_customers"].sum() == pytest.approx(1.0)
    assert rules["rule"].str.contains("12-month CLV|revenue in last 365 days|days since last purchase|orders in last 365 days").all()
    assert clusters.tree_finding(explanation).endswith("They reproduce every cluster exactly.")


def hand_clusters(extra_in_top: int = 0, mixed_into_middle: int = 0):
    """100 customers on two features with the clusters given by hand.

    Cluster 1 "big spenders": 5 customers at revenue 10,000 / 20 orders (the small, most valuable one);
    cluster 2 "regulars": 45 at 1,000 / 5, of whom ``extra_in_top`` sit at 10,000 / 20 instead;
    cluster 3 "occasional": 50 at 100 / 1, of whom ``mixed_into_middle`` sit at 1,000 / 5 instead.
    Customers with the same features but another cluster cannot be told apart by any rule.
    """
    points = ([(1, 10_000.0, 20)] * 5
              + [(2, 10_000.0, 20)] * extra_in_top + [(2, 1_000.0, 5)] * (45 - extra_in_top)
              + [(3, 1_000.0, 5)] * mixed_into_middle + [(3, 100.0, 1)] * (50 - mixed_into_middle))
    cluster, revenue, orders = zip(*points)
    ids = [f"c{i:03d}" for i in range(len(points))]
    features = pd.DataFrame({"customer_id": ids, "revenue_in_window": revenue, "orders_in_window": orders})
    names = {1: "big spenders", 2: "regulars", 3: "occasional"}
    assignments = pd.DataFrame({"customer_id": ids, "cluster": cluster})
    assignments["cluster_name"] = assignments["cluster"].map(names)
    profiles = pd.DataFrame({"cluster": [1, 2, 3], "cluster_name": list(names.values()), "customers": [5, 45, 50]})
    silhouette = pd.DataFrame({"k": [3], "silhouette": [0.9], "chosen": [True]})
    return features, clusters.ClusterResult(assignments, profiles, silhouette, 3, ["revenue_in_window", "orders_in_window"])


def test_the_small_valuable_cluster_gets_a_rule_and_per_cluster_accuracy_by_hand():
    features, result = hand_clusters(mixed_into_middle=3)
    # Asked for one question, the tree goes to two: one question has two answers, and there are three clusters.
    explanation = clusters.explain_clusters(features, result, seed=3, max_depth=1)
    assert explanation.depth == 2
    table = explanation.per_cluster.set_index("cluster")
    # Leaves: {10,000 / 20}: 5 big spenders; {1,000 / 5}: 45 regulars + 3 occasional -> regulars;
    # {100 / 1}: 47 occasional. Big spenders 5 / 5 reproduced, precision 5 / 5; regulars 45 / 45,
    # precision 45 / 48 = 93.75%; occasional 47 / 50 = 94%, precision 47 / 47. Accuracy 97 / 100.
    assert table["customers"].tolist() == [5, 45, 50]
    assert table["share_reproduced"].tolist() == pytest.approx([1.0, 1.0, 0.94])
    assert table["precision"].tolist() == pytest.approx([1.0, 45 / 48, 1.0])
    assert table["rules"].tolist() == [1, 1, 1]
    assert explanation.accuracy == pytest.approx(0.97)
    rules = explanation.rules.set_index("cluster")
    assert rules["share_of_customers"].tolist() == pytest.approx([0.05, 0.48, 0.47])
    assert rules["purity"].tolist() == pytest.approx([1.0, 45 / 48, 1.0])
    assert clusters.tree_finding(explanation) == (
        'Rules 2 questions deep put 97.0% of customers in their own cluster; they reproduce 100.0% of the most '
        'valuable cluster "big spenders" (5 customers), and 100.0% of the customers they put there belong to it. '
        'The least well reproduced is "occasional": 94.0% of its 50 customers.')
    assert clusters.tree_caption(explanation) == (
        "Decision tree rules, 2 questions deep: they put 97.0% of 100 customers in their own cluster")


def test_class_weights_keep_a_small_cluster_from_being_outvoted():
    # 6 regulars look exactly like the 5 big spenders. Unweighted, that leaf would go to the regulars
    # (6 > 5) and no rule would assign the big spenders. Balanced weights are 100 / (3 x size):
    # 5 x 100 / 15 = 33.3 for the big spenders against 6 x 100 / 135 = 4.4 for the regulars.
    features, result = hand_clusters(extra_in_top=6)
    explanation = clusters.explain_clusters(features, result, seed=3)
    table = explanation.per_cluster.set_index("cluster")
    # Big spenders: 5 / 5 reproduced, precision 5 / 11; regulars 39 / 45, precision 39 / 39; occasional exact.
    assert table["share_reproduced"].tolist() == pytest.approx([1.0, 39 / 45, 1.0])
    assert table["precision"].tolist() == pytest.approx([5 / 11, 1.0, 1.0])
    assert explanation.accuracy == pytest.approx(0.94)
    assert 1 in set(explanation.rules["cluster"])
    with pytest.raises(ValueError, match="max_depth"):
        clusters.explain_clusters(features, result, max_depth=0)


def test_threshold_wording():
    # Integer features split at x.5: "<= 2.5" -> at most 2, "> 2.5" -> at least 3; money keeps the currency.
    assert clusters._threshold_text("orders_in_window", 2.5, False, "¥") == "orders in last 365 days at most 2"
    assert clusters._threshold_text("orders_in_window", 2.5, True, "¥") == "orders in last 365 days at least 3"
    assert clusters._threshold_text("orders_in_window", 0.5, False, "¥") == "no orders in last 365 days"
    assert clusters._threshold_text("revenue_in_window", 1234.4, True, "¥") == "revenue in last 365 days above ¥1,234"
    # Both bounds on one path: "> 0.5 and <= 1.5" is exactly 1; "> 0.5 and <= 4.5" is 1 to 4.
    assert clusters._bounds_text("orders_in_window", 0.5, 1.5, "¥") == "orders in last 365 days exactly 1"
    assert clusters._bounds_text("orders_in_window", 0.5, 4.5, "¥") == "orders in last 365 days 1 to 4"
    assert clusters._bounds_text("clv_12m", 100.0, 250.0, "¥") == "12-month CLV above ¥100 and at most ¥250"


def test_input_errors():
    data = three_groups().drop(columns="group")
    with pytest.raises(ValueError, match="k_range"):
        clusters.fit_clusters(data, k_range=(1, 3))
    with pytest.raises(ValueError, match="too few customers"):
        clusters.fit_clusters(data.head(8), k_range=(2, 3))
    with pytest.raises(ValueError, match="at least two"):
        clusters.fit_clusters(data[["customer_id", "clv_12m"]])


def test_profile_plot_has_title_and_labels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    features = three_groups().drop(columns="group")
    result = clusters.fit_clusters(features, k_range=(3, 3), seed=1, n_init=4)
    ax = clusters.plot_cluster_profiles(features, result)
    assert ax.get_title() and ax.get_xlabel() == "Feature" and ax.get_ylabel() == "Cluster"
    assert len(ax.get_yticklabels()) == 3
    plt.close("all")


def test_mean_silhouettes_by_hand_for_several_labelings_in_blocks():
    points = np.array([[0.0], [1.0], [10.0], [11.0]])
    two_pairs, one_alone, one_cluster = np.array([0, 0, 1, 1]), np.array([5, 7, 7, 7]), np.zeros(4)
    # Two pairs: points 0 and 11 score (10.5 - 1) / 10.5, points 1 and 10 score (9.5 - 1) / 9.5.
    # One alone: point 0 scores 0; point 1 (1 - 9.5) / 9.5; points 10 and 11 (10 - 5) / 10 and (11 - 5.5) / 11.
    scores = clusters.mean_silhouettes(points, [two_pairs, one_alone, one_cluster], block=3)
    assert scores == pytest.approx([(19 / 21 + 17 / 19) / 2, 1 / 38, -1.0])


def test_mean_silhouettes_agree_with_scoring_each_labeling_alone():
    from sklearn.metrics import silhouette_score
    rng = np.random.default_rng(7)
    points = rng.normal(size=(500, 3))
    points[:200] += 3
    labelings = [np.where(np.arange(500) < 200, 0, rng.integers(1, k, 500)) for k in (3, 4)]
    assert clusters.mean_silhouettes(points, labelings, block=64) == pytest.approx(
        [silhouette_score(points, labels) for labels in labelings], abs=1e-12)


def test_mean_silhouettes_of_points_that_all_coincide_score_zero_without_a_warning():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clusters.mean_silhouettes(np.zeros((4, 2)), [np.array([0, 0, 1, 1])]) == [0.0]
