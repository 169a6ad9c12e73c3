"""Tests for helpers.chapters.rfm: quintile scores, rules, segments, summary and migration, by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.chapters import rfm
from helpers.facts import customer_facts


def tiny_orders() -> pd.DataFrame:
    rows = [
        # order_id, line, customer, date, net_amount, is_purchase
        ("o1", 1, "A", "2026-09-20 10:00", 60.0, True),
        ("o1", 2, "A", "2026-09-20 10:00", 40.0, True),
        ("o2", 1, "A", "2026-06-01 10:00", 50.0, True),
        ("o3", 1, "B", "2025-01-10 10:00", 500.0, True),
        ("o4", 1, "C", "2026-09-30 23:00", 30.0, True),
        ("o5", 1, "C", "2026-08-01 10:00", 0.0, False),  # cancelled
        ("o6", 1, "D", "2026-10-01 10:00", 70.0, True),  # after the as-of date
        ("o7", 1, "E", "2025-10-01 10:00", 200.0, True),  # first day of the 365-day window
        ("o8", 1, "E", "2026-03-01 10:00", 200.0, True),
    ]
    frame = pd.DataFrame(rows, columns=["order_id", "line_id", "customer_id", "order_date", "net_amount", "is_purchase"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame.assign(amount=frame["net_amount"], is_return=False)


def facts_as_of(day: str, orders: pd.DataFrame | None = None) -> pd.DataFrame:
    """The per-customer facts the preparation computes, here by the pandas reference."""
    return customer_facts.run_pandas(tiny_orders() if orders is None else orders, day)


def write_rules(tmp_path, text: str):
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_quintile_score_keeps_ties_together():
    # rank(min) = 1,1,1,4,5,6,7,8,9,10 of 10 -> 1 + floor(5 * (rank - 1) / 10) = 1,1,1,2,3,3,4,4,5,5
    scores = rfm.quintile_score(pd.Series([1, 1, 1, 2, 3, 4, 5, 6, 7, 8]))
    assert scores.tolist() == [1, 1, 1, 2, 3, 3, 4, 4, 5, 5]
    # Lower is better (recency): 10 days best.
    assert rfm.quintile_score(pd.Series([10, 20, 30, 40, 50]), higher_is_better=False).tolist() == [5, 4, 3, 2, 1]
    assert rfm.quintile_score(pd.Series([7, 7, 7])).tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="missing"):
        rfm.quintile_score(pd.Series([1.0, np.nan]))


def test_rfm_scores_by_hand():
    # As of 2026-09-30, window 2025-10-01 .. 2026-09-30.
    # A: last 09-20 -> 10 days, orders o1, o2 -> 2, revenue 60 + 40 + 50 = 150
    # B: last 2025-01-10 -> 628 days, nothing in the window -> 0 orders, 0 revenue
    # C: last 09-30 23:00 -> 0 days, 1 order, 30 (the cancelled line does not count)
    # D: only buys after the as-of date -> not scored
    # E: 2025-10-01 (in window) and 2026-03-01 -> 213 days, 2 orders, 400
    scores = rfm.rfm_scores(facts_as_of("2026-09-30")).set_index("customer_id")
    assert list(scores.index) == ["A", "B", "C", "E"]
    assert scores["days_since_last_purchase"].tolist() == [10, 628, 0, 213]
    assert scores["days_since_first_purchase"].tolist() == [121, 628, 0, 364]
    assert scores["orders_in_window"].tolist() == [2, 0, 1, 2]
    assert scores["revenue_in_window"].tolist() == [150.0, 0.0, 30.0, 400.0]
    # R: best C(0 days) rank 4 -> 4, A rank 3 -> 3, E rank 2 -> 2, B rank 1 -> 1  (1 + floor(5 (rank-1) / 4))
    assert scores["r"].tolist() == [3, 1, 4, 2]
    # F: B(0) 1, C(1) 2, A and E (2, tied at rank 3) 3
    assert scores["f"].tolist() == [3, 1, 2, 3]
    # M: B 1, C 2, A 3, E 4
    assert scores["m"].tolist() == [3, 1, 2, 4]


def test_first_matching_rule_wins(tmp_path):
    path = write_rules(
        tmp_path,
        """
segments:
  - {name: Top, r: [3, 5], fm: [3, 5]}
  - {name: Recent, r: [3, 5]}
  - {name: Old, r: [1, 2]}
""",
    )
    rules = rfm.load_segment_rules(path)
    scores = pd.DataFrame({"customer_id": ["x", "y", "z"], "r": [5, 5, 1], "f": [5, 1, 5], "m": [4, 1, 5]})
    # x: r5, fm 4.5 -> Top (also matches Recent, but Top comes first); y: fm 1 -> Recent; z: r1 -> Old
    assert rfm.assign_segments(scores, rules)["segment"].astype(str).tolist() == ["Top", "Recent", "Old"]


def test_rules_must_cover_every_score_combination(tmp_path):
    path = write_rules(tmp_path, "segments:\n  - {name: Recent, r: [3, 5]}\n  - {name: New, r: [1, 2], days_since_first_purchase: [0, 90]}\n")
    # r = 1..2 is only covered by a rule on a raw value, which does not count for coverage.
    with pytest.raises(ValueError, match="no rule matches the score combination"):
        rfm.load_segment_rules(path)
    with pytest.raises(ValueError, match="must satisfy 1 <= low <= high <= 5"):
        rfm.load_segment_rules(write_rules(tmp_path, "segments:\n  - {name: Bad, r: [0, 5]}\n"))
    with pytest.raises(ValueError, match="unknown key"):
        rfm.load_segment_rules(write_rules(tmp_path, "segments:\n  - {name: Bad, recency: [1, 5]}\n"))


def test_default_rules_name_every_customer():
    rules = rfm.load_segment_rules()
    names = [rule["name"] for rule in rules]
    assert names[0] == "Champions" and "Lost" in names and "Can't lose them" in names
    grid = np.array(np.meshgrid(*(np.arange(1, 6),) * 3, indexing="ij")).reshape(3, -1).T
    scores = pd.DataFrame(grid, columns=["r", "f", "m"]).assign(days_since_first_purchase=400)
    segments = rfm.assign_segments(scores, rules)
    assert segments["segment"].notna().all()
    # r=5, f=5, m=5 -> Champions; r=1, f=1, m=1 -> Lost; r=1, f=5, m=5 -> Can't lose them
    lookup = segments.set_index(["r", "f", "m"])["segment"].astype(str)
    assert lookup[(5, 5, 5)] == "Champions" and lookup[(1, 1, 1)] == "Lost" and lookup[(1, 5, 5)] == "Can't lose them"
    # A recent low-spend customer whose first purchase was 30 days ago is New, not Potential loyalist.
    new = rfm.assign_segments(pd.DataFrame({"r": [5], "f": [1], "m": [2], "days_since_first_purchase": [30]}), rules)
    assert new["segment"].astype(str).tolist() == ["New"]


def test_summary_and_migration_by_hand():
    categories = ["Gold", "Silver"]
    previous = pd.DataFrame({"customer_id": ["A", "B", "C"], "segment": pd.Categorical(["Gold", "Gold", "Silver"], categories)})
    current = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D"],
            "segment": pd.Categorical(["Gold", "Silver", "Silver", "Gold"], categories),
            "days_since_last_purchase": [5, 50, 60, 1],
            "orders_in_window": [4, 1, 2, 1],
            "revenue_in_window": [300.0, 50.0, 50.0, 100.0],
        }
    )
    summary = rfm.segment_summary(current, previous).set_index("segment")
    # Gold: A, D -> 2 customers (50%), revenue 400 of 500 = 80%; last quarter 2 -> change 0.
    assert summary.loc["Gold", ["customers", "share_of_customers", "revenue_in_window", "share_of_revenue"]].tolist() == [2, 0.5, 400.0, 0.8]
    assert summary.loc["Silver", ["customers_previous", "change_in_customers"]].tolist() == [1, 1]
    assert summary.loc["Gold", "median_days_since_last_purchase"] == 3.0
    matrix = rfm.migration_matrix(previous, current)
    # Gold -> Gold: A; Gold -> Silver: B; Silver -> Silver: C; new -> Gold: D
    assert matrix.loc["Gold"].tolist() == [1, 1]
    assert matrix.loc["Silver"].tolist() == [0, 1]
    assert matrix.loc[rfm.NEW_THIS_QUARTER].tolist() == [1, 0]
    shares = rfm.migration_matrix(previous, current, normalize=True)
    assert shares.loc["Gold"].tolist() == [0.5, 0.5]
    text = rfm.migration_finding(matrix)
    # 2 of 3 stayed (A, C); the only move is B from Gold to Silver; D is new.
    assert text.startswith("66.7% of last quarter") and "1 customers from Gold to Silver" in text and "1 customers were scored" in text
    assert rfm.segment_finding(summary.reset_index()).startswith("Gold are 50.0% of customers but bring 80.0%")


def test_rfm_segments_end_to_end_with_defaults():
    segments = rfm.rfm_segments(facts_as_of("2026-09-30"))
    assert segments["segment"].notna().all() and len(segments) == 4
    # B bought 628 days ago, nothing in the window: r=1, f=1, m=1 -> Lost
    assert segments.set_index("customer_id").loc["B", "segment"] == "Lost"


def test_plots_have_titles_and_labels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    current = rfm.rfm_segments(facts_as_of("2026-09-30"))
    previous = rfm.rfm_segments(facts_as_of("2026-06-30"))
    bars = rfm.plot_segments(rfm.segment_summary(current, previous))
    heatmap = rfm.plot_migration(rfm.migration_matrix(previous, current))
    for ax in (bars, heatmap):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    plt.close("all")
