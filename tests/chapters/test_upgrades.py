import pandas as pd
from conftest import make_orders

from helpers.chapters.upgrades import upgrade_candidates, upgrade_finding
from helpers.facts import customer_facts
from helpers.quarters import Quarter

Q3 = Quarter.parse("2026Q3")


def test_customers_spending_like_the_next_segment():
    customers = pd.DataFrame({"customer_id": ["s1", "s2", "m1", "m2", "m3", "i1"],
                              "segment": ["Small enterprise", "Small enterprise", "Medium enterprise",
                                          "Medium enterprise", "Medium enterprise", "Individual"]})
    orders = make_orders([
        ("a", "s1", "2026-08-01", 600), ("b", "s2", "2026-08-01", 100), ("c", "s2", "2025-01-01", 5000),
        ("d", "m1", "2026-02-01", 300), ("e", "m2", "2026-03-01", 500), ("f", "m3", "2026-04-01", 700),
        ("g", "i1", "2026-09-01", 50),
    ])
    table = upgrade_candidates(customer_facts.run_pandas(orders, "2026-09-30"), customers, Q3, min_group=3)
    # medium median = 500; s1 spent 600 (ratio 1.2) and is active; s2's 5,000 is older than a year
    # small has only 2 customers (< min_group 3): no benchmark for individuals
    assert table["customer_id"].tolist() == ["s1"]
    assert table.iloc[0]["upgrade_to"] == "Medium enterprise"
    assert table.iloc[0]["spend_ratio"] == 1.2
    assert upgrade_finding(table, "¥") == ("1 active customer already spends at least the median of the next account "
                                           "size up (¥600 in the last year together); the largest group could move to "
                                           "Medium enterprise (1).")
