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
            "revenue": float(raw.loc[q3, "amount"].sum())}


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
    orders = pd.read_parquet(report / "prepared" / "orders.parquet")
    q3 = orders.loc[(orders["order_date"] >= "2011-07-01") & (orders["order_date"] < "2011-10-01") & orders["is_purchase"]]
    assert q3["order_id"].nunique() == expected["orders"]


def test_quarantine_counts_by_reason(report, expected):
    quarantined = pd.read_csv(report / "quarantine" / "orders.csv", dtype=str)
    assert quarantined["rule"].value_counts().to_dict() == expected["counts"]
    log = json.loads((report / "prepared" / "prepare_log.json").read_text())
    assert log["reconciliation"][0]["balanced"]


def test_every_chapter_renders_and_missing_sources_are_one_line_notes(report):
    manifest = json.loads((report / "manifest.json").read_text())
    assert all(step["status"] == "ok" for step in manifest["steps"]), manifest["steps"]
    assert set(manifest["absent_sources"]) == {"customers", "products", "tickets", "surveys", "events", "campaigns"}
    needs = (report / "02_needs.html").read_text(encoding="utf-8")
    assert "Not available: needs surveys data." in needs
