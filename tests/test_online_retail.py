"""The real UCI Online Retail export through params/examples/online_retail.yaml alone.

Numbers are checked against values computed here, independently, from the raw CSV with plain
pandas. Skipped when ../shared (beside the project) is not there.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import SHARED

from helpers import paths

RAW = SHARED / "datasets" / "online_retail" / "online_retail.csv.gz"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not RAW.exists(), reason=f"the Online Retail data set is not at {RAW}")]
EXCLUDED = {"POST", "DOT", "D", "M", "C2", "CRUK", "PADS", "BANK CHARGES", "AMAZONFEE", "S", "B", "gift_0001_10",
            "gift_0001_20", "gift_0001_30", "gift_0001_40", "gift_0001_50"}


@pytest.fixture(scope="module")
def expected():
    raw = pd.read_csv(RAW, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    raw["StockCode"] = raw["StockCode"].str.strip()
    counts = {}
    excluded = raw["StockCode"].isin(EXCLUDED)
    counts["excluded_by_parameter"] = int(excluded.sum())
    raw = raw.loc[~excluded]
    no_customer = raw["CustomerID"].isna()
    counts["missing_required_value:customer_id"] = int(no_customer.sum())
    raw = raw.loc[~no_customer]
    # Description is not mapped, so a duplicate is a repeat of every other column
    duplicate = raw.drop(columns="Description").duplicated()
    counts["exact_duplicate"] = int(duplicate.sum())
    raw = raw.loc[~duplicate].copy()
    raw["amount"] = raw["Quantity"] * raw["UnitPrice"]
    is_return = raw["InvoiceNo"].str.startswith("C")
    bad = ~is_return & (raw["amount"] <= 0)
    counts["non_positive_amount"] = int(bad.sum())
    raw = raw.loc[~bad]
    is_return = raw["InvoiceNo"].str.startswith("C")
    dates = pd.to_datetime(raw["InvoiceDate"])
    q3 = (dates >= "2011-07-01") & (dates < "2011-10-01")
    sales = raw.loc[q3 & ~is_return]
    return {"counts": counts, "active": sales["CustomerID"].nunique(), "orders": sales["InvoiceNo"].nunique(),
            "revenue": float(raw.loc[q3, "amount"].sum()), "pairs": product_pairs(raw.loc[~is_return], dates)}


def product_pairs(purchases: pd.DataFrame, dates: pd.Series) -> set[tuple[str, str]]:
    """Product pairs in at least 1% of the orders of 2010Q4-2011Q3 (chapter 03's four quarters)
    with lift above 1, by a self-join of the order lines."""
    window = (dates >= "2010-10-01") & (dates < "2011-10-01")
    lines = purchases.loc[window.reindex(purchases.index), ["InvoiceNo", "StockCode"]].drop_duplicates()
    orders = lines["InvoiceNo"].nunique()
    in_orders = lines["StockCode"].value_counts()
    # a pair in 1% of the orders needs both products in 1% of them: the join needs no other lines
    lines = lines.loc[lines["StockCode"].isin(in_orders.index[in_orders >= 0.01 * orders])]
    joined = lines.merge(lines, on="InvoiceNo")
    both = joined.loc[joined["StockCode_x"] < joined["StockCode_y"]].groupby(["StockCode_x", "StockCode_y"]).size()
    both = both[both >= 0.01 * orders]
    first, second = both.index.get_level_values(0), both.index.get_level_values(1)
    lift = both.to_numpy() * orders / (in_orders.reindex(first).to_numpy() * in_orders.reindex(second).to_numpy())
    return set(both.index[lift > 1])


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("retail")
    result = subprocess.run([sys.executable, str(paths.PROJECT_ROOT / "run_all.py"), "--params",
                             "params/examples/online_retail.yaml", "--quarter", "2011Q3", "--out", str(out)],
                            capture_output=True, text=True, timeout=900, cwd=paths.PROJECT_ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return next((out / "2011Q3").iterdir())


def test_kpis_match_an_independent_computation(report, expected):
    kpis = pd.read_csv(report / "artifacts" / "kpi_overview.csv").set_index("metric")["value"]
    assert kpis["active_customers"] == expected["active"]
    assert kpis["revenue"] == pytest.approx(expected["revenue"], rel=1e-9)
    orders = pd.read_parquet(paths.RunLayout(report).prepared / "orders.parquet")
    q3 = orders.loc[(orders["order_date"] >= "2011-07-01") & (orders["order_date"] < "2011-10-01") & orders["is_purchase"]]
    assert q3["order_id"].nunique() == expected["orders"]


def test_quarantine_counts_by_reason(report, expected):
    quarantined = pd.read_csv(paths.RunLayout(report).quarantine / "orders.csv", dtype=str)
    assert quarantined["rule"].value_counts().to_dict() == expected["counts"]
    log = json.loads((paths.RunLayout(report).prepared / "prepare_log.json").read_text())
    assert log["reconciliation"][0]["balanced"]


def test_every_chapter_renders_and_missing_sources_are_one_line_notes(report):
    manifest = json.loads(paths.RunLayout(report).manifest.read_text())
    assert all(step["status"] == "ok" for step in manifest["steps"]), manifest["steps"]
    assert set(manifest["absent_sources"]) == {"customers", "products", "tickets", "surveys", "events", "campaigns"}
    needs = (report / "02_needs.html").read_text(encoding="utf-8")
    assert ("Not available: no surveys data; add the surveys export to the data folder (sources in the parameters "
            "file).") in needs
    sections = {}
    for chapter in ("01_overview", "03_behaviour", "04_value"):
        rows = json.loads((report / "artifacts" / f"sections_{chapter}.json").read_text(encoding="utf-8"))
        sections.update({(chapter, r["section"]): r for r in rows})
    assert not [key for key, row in sections.items() if row["status"] == "failed"]
    # one country in segment's place, one channel, no categories: no breakdown that says nothing
    for key in (("03_behaviour", "channels"), ("03_behaviour", "category_mix"), ("01_overview", "distribution_segment")):
        assert sections[key]["status"] == "not available", key
    # 2010-12-01 .. 2011-12-09: 2010Q4 is partial, three full quarters up to 2011Q3 (four needed)
    assert sections[("01_overview", "growth")]["reason"] == "3 fully covered quarters of history, the forecast needs 4"


def test_product_pairs_are_found_without_categories(report, expected):
    # The export has no categories (every line "Uncategorised") and 3,502 products in the four
    # quarters: chapter 03 mines the 592 products in at least 1% of the 13,081 orders.
    rules = pd.read_csv(report / "artifacts" / "association_rules.csv", dtype={"antecedent": str, "consequent": str})
    assert set(rules["level"]) == {"product"}
    strong = rules.loc[(rules["lift"] > 1) & (rules["support"] >= 0.01)]
    pairs = {tuple(sorted(pair)) for pair in zip(strong["antecedent"], strong["consequent"])}
    # measured: 396 pairs, each in both directions (792 rules), lift up to 75.04 (22918 / 22921)
    assert len(pairs) == 396 and len(strong) == 792
    assert strong["lift"].max() == pytest.approx(75.04, abs=0.005)
    assert pairs == expected["pairs"]
    findings = json.loads((report / "artifacts" / "findings_03_behaviour.json").read_text(encoding="utf-8"))
    text = next(f["text"] for f in findings if "Rules were mined on" in f["text"])
    assert text.startswith("The orders name fewer than two categories, so the rules pair products. Rules were mined "
                           "on the 592 products in at least 1.0% of orders (of 3,502; ")
    # 792 rules = 396 product pairs, each read both ways (A -> B and B -> A)
    assert ("Pairs of products bought together more often than chance (lift above 1): 396; they make 792 rules"
            in text)
