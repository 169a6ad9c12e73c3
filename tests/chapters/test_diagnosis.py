"""Each diagnosis rule fires on evidence built to trigger it and stays silent on evidence built not to."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import make_orders

from helpers.chapters import diagnosis
from helpers.data.prepare import as_of_date
from helpers.facts.kpis import KPIS
from helpers.params import load_params
from helpers.quarters import Quarter

BOOK = diagnosis.load_rules()


def kpi_table(**changes) -> pd.DataFrame:
    rows = [{"metric": m, "label": k.label, "unit": k.unit, "value": 100.0, "previous": 100.0, "year_ago": 100.0,
             "qoq_change": 0.0, "yoy_change": 0.0, "target": np.nan, "met": None} for m, k in KPIS.items()]
    table = pd.DataFrame(rows).set_index("metric")
    for metric, fields in changes.items():
        for column, value in fields.items():
            table.loc[metric, column] = value
    return table.reset_index()


REPORT_DAY = pd.Timestamp("2026-12-01")  # the report of 2026Q3 is produced two months after the quarter's end


def small_orders() -> pd.DataFrame:
    return make_orders([("o1", "a", "2026-04-05", 100), ("o2", "b", "2026-04-06", 100), ("o3", "a", "2026-07-05", 50)])


def small_customers() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["a", "b"], "region": ["East", "South"], "segment": ["Individual"] * 2,
                         "acquisition_channel": ["search", "search"]})


def evidence(kpis=None, report_day=REPORT_DAY, **artifacts) -> diagnosis.Evidence:
    return diagnosis.Evidence(Quarter.parse("2026Q3"), report_day, "¥", 90,
                              kpis if kpis is not None else kpi_table(), small_orders(), small_customers(), None,
                              artifacts)


def rows_of(ev, rule_id):
    book = BOOK.model_copy(update={"rules": [r for r in BOOK.rules if r.id == rule_id]})
    return diagnosis.diagnose(ev, book)


def test_nothing_fires_on_a_quiet_quarter():
    assert diagnosis.diagnose(evidence(), BOOK).empty


def test_kpi_below_target():
    fired = rows_of(evidence(kpi_table(revenue={"target": 200.0, "met": False})), "kpi_below_target")
    assert len(fired) == 1
    row = fired.iloc[0]
    assert row["problem"] == "KPI below target: Revenue (net)"
    assert row["description"] == "Revenue (net) was ¥100 this quarter against a target of ¥200 (50.0% from target)."
    assert row["owner"] == "Sales" and row["deadline"] == "2027-01-15"   # report day 2026-12-01 + 45 days
    # revenue fell from 200 (a 100 + b 100 in Q2) to 50: East -50, South -100 -> South explains most
    assert row["likely_cause"] == "South (region) accounts for -¥100 of the change"
    near_miss = kpi_table(revenue={"value": 199.0, "target": 200.0, "met": False})   # 0.5% < 2% threshold
    assert rows_of(evidence(near_miss), "kpi_below_target").empty


def test_kpi_without_a_target_is_never_below_target():
    # no targets at all (the default): no KPI is below target, whatever its value
    assert rows_of(evidence(kpi_table(revenue={"value": 1.0})), "kpi_below_target").empty
    # even a met flag of False (as read back from an old CSV) does not fire without a target
    assert rows_of(evidence(kpi_table(revenue={"value": 1.0, "met": False})), "kpi_below_target").empty
    # the tracking target of a KPI rule without a target reads "no target", not a dash
    fell = kpi_table(nps={"value": 20.0, "previous": 28.0, "qoq_change": -8.0})
    fell["significant"] = fell["metric"].eq("nps")
    book = BOOK.model_copy(update={"rules": [r.model_copy(update={"target": "{target}"}) for r in BOOK.rules
                                             if r.id == "kpi_fell_significantly"]})
    assert diagnosis.diagnose(evidence(fell), book)["target"].tolist() == ["no target"]
    assert diagnosis.diagnosis_finding(diagnosis.diagnose(evidence(), BOOK)) == (
        "No rule found a problem this quarter: no KPI missed a target set for it and no risk crossed its threshold.")


def test_kpi_fell_significantly_uses_the_interval_when_present():
    fell = kpi_table(nps={"value": 20.0, "previous": 28.0, "qoq_change": -8.0})
    fell["significant"] = False
    assert rows_of(evidence(fell), "kpi_fell_significantly").empty
    fell.loc[fell["metric"] == "nps", "significant"] = True
    fired = rows_of(evidence(fell), "kpi_fell_significantly")
    assert fired["problem"].tolist() == ["KPI moved the wrong way: Net Promoter Score"]
    # without an interval: a 10% revenue fall passes the 5% threshold, a 1% fall does not
    assert len(rows_of(evidence(kpi_table(revenue={"qoq_change": -0.10})), "kpi_fell_significantly")) == 1
    assert rows_of(evidence(kpi_table(revenue={"qoq_change": -0.01})), "kpi_fell_significantly").empty
    # churn rising is the wrong way for churn
    assert len(rows_of(evidence(kpi_table(churn_rate={"qoq_change": 0.06})), "kpi_fell_significantly")) == 1



def test_both_kpi_rules_explain_their_kpis_from_one_computation_of_the_units(monkeypatch):
    calls = []
    counted = diagnosis.kpi_basis
    monkeypatch.setattr(diagnosis, "kpi_basis", lambda *args: calls.append(args) or counted(*args))
    table = kpi_table(revenue={"target": 200.0, "met": False, "qoq_change": -0.75})
    fired = diagnosis.diagnose(evidence(table), BOOK)
    assert sorted(fired["rule"]) == ["kpi_below_target", "kpi_fell_significantly"]
    # both name South: revenue fell from 200 (a 100 + b 100 in Q2) to 50 (a 50), South -100
    assert fired["likely_cause"].tolist() == ["South (region) accounts for -¥100 of the change"] * 2
    assert len(calls) == 1

def high_value(n_at_risk):
    ids = [f"c{i}" for i in range(8)]
    clv = pd.DataFrame({"customer_id": ids, "clv_12m": 1000.0, "p_alive": 0.5, "value_tier": "high"})
    scores = pd.DataFrame({"customer_id": ids, "churn_probability": [0.9] * n_at_risk + [0.1] * (8 - n_at_risk)})
    return {"clv.csv": clv, "churn_scores.csv": scores}


def test_high_value_at_risk():
    fired = rows_of(evidence(**high_value(6)), "high_value_at_risk")
    assert fired.iloc[0]["description"].startswith("6 high-value customers have a churn probability of at least 50%")
    assert "¥6,000" in fired.iloc[0]["description"]
    assert rows_of(evidence(**high_value(4)), "high_value_at_risk").empty   # below min_count 5


def test_persistent_complaint_product():
    table = pd.DataFrame({"product_id": ["P1"], "product_name": ["Router X"], "longest_run_months": [2],
                          "above_in_last_month": [True], "complaints": [12], "orders": [300],
                          "excess_p_value": [0.01]})
    fired = rows_of(evidence(**{"complaint_products.csv": table}), "persistent_complaint_product")
    assert fired.iloc[0]["problem"] == "Product with a persistent complaint rate: Router X (P1)"
    table["excess_p_value"] = 0.3                        # above the rate, but within chance
    assert rows_of(evidence(**{"complaint_products.csv": table}), "persistent_complaint_product").empty
    table["excess_p_value"], table["longest_run_months"] = 0.01, 1
    assert rows_of(evidence(**{"complaint_products.csv": table}), "persistent_complaint_product").empty


def test_channel_clv_below_cac():
    table = pd.DataFrame({"level": ["channel", "channel", "segment"], "group": ["trade fair", "referral", "Individual"],
                          "new_customers": [10, 10, 10], "cac": [2000.0, 100.0, 2000.0],
                          "clv_12m": [1000.0, 900.0, 10.0], "clv_cac_ratio": [0.5, 9.0, 0.005]})
    fired = rows_of(evidence(**{"cac_crv.csv": table}), "channel_clv_below_cac")
    assert fired["problem"].tolist() == ["Acquisition channel not paying back: trade fair"]
    assert "CLV / CAC 0.50" in fired.iloc[0]["description"]
    table["clv_cac_ratio"] = 1.5
    assert rows_of(evidence(**{"cac_crv.csv": table}), "channel_clv_below_cac").empty


def test_new_customer_retention_falling():
    falling = kpi_table(retention_30d={"value": 0.30, "previous": 0.35, "qoq_change": -0.05})
    fired = rows_of(evidence(falling), "new_customer_retention_falling")
    assert "fell from 35.0% to 30.0% (-5.0 pp)" in fired.iloc[0]["description"]
    steady = kpi_table(retention_30d={"value": 0.34, "previous": 0.35, "qoq_change": -0.01})
    assert rows_of(evidence(steady), "new_customer_retention_falling").empty


def test_nps_trailing_group():
    kpis = kpi_table(nps={"value": 20.0})
    by_region = pd.DataFrame({"region": ["South China", "East China"], "nps_responses": [30, 40], "nps": [5.0, 25.0],
                              "nps_change": [-9.0, 1.0]})
    fired = rows_of(evidence(kpis, **{"satisfaction_by_region.csv": by_region}), "nps_trailing_group")
    assert fired["problem"].tolist() == ["NPS trailing in South China"]
    assert "15.0 points behind" in fired.iloc[0]["description"]
    by_region["nps"] = [15.0, 25.0]   # 5 points behind: under the threshold of 10
    assert rows_of(evidence(kpis, **{"satisfaction_by_region.csv": by_region}), "nps_trailing_group").empty


def test_rules_file_is_validated(tmp_path):
    bad = tmp_path / "rules.yaml"
    bad.write_text("cause_dimensions: [region]\nowners: {}\nkpi_actions: {}\nrules:\n"
                   "  - {id: x, check: no_such_check, threshold: 1, dimension: d, description: d, action: a, owner: o,"
                   " tracking_kpi: k, target: t}\n")
    with pytest.raises(ValueError, match="unknown check"):
        diagnosis.load_rules(bad)


def test_deadlines_count_from_the_report_day_not_the_quarter_end():
    missed = kpi_table(revenue={"target": 200.0, "met": False}, churn_rate={"value": 0.5, "target": 0.3, "met": False})
    # run two months after the quarter's end (2026-09-30): 45 days from 2026-12-01 is 2027-01-15,
    # where the quarter's end would give 2026-11-14, already past on the day the report is read
    fired = rows_of(evidence(missed), "kpi_below_target")
    assert fired["deadline"].tolist() == ["2027-01-15", "2027-01-15"]
    assert (pd.to_datetime(fired["deadline"]) > REPORT_DAY).all()
    assert fired["summary"].str.endswith("by 2027-01-15)").all()
    # a rule's own deadline_days counts from the same day: 2026-12-01 + 10 days
    book = BOOK.model_copy(update={"rules": [r.model_copy(update={"deadline_days": 10}) for r in BOOK.rules
                                             if r.id == "kpi_below_target"]})
    assert diagnosis.diagnose(evidence(missed), book)["deadline"].tolist() == ["2026-12-11", "2026-12-11"]
    with pytest.raises(ValueError, match="report_day must be a day"):
        evidence(report_day=None)


def fake_chapter(params, log: dict):
    """What ``Evidence.from_chapter`` reads of a chapter: parameters, the prepare log, tables and artifacts."""
    tables = {"orders": small_orders(), "customers": small_customers(), "surveys": None}
    kpis = kpi_table(revenue={"target": 200.0, "met": False})
    return SimpleNamespace(params=params, period=params.period, log=log, table=tables.get,
                           artifact=lambda name: kpis if name == "kpi_overview.csv" else None)


def test_the_report_day_is_the_preparations_as_of_day_data_as_of_when_set():
    params = load_params(quarter="2026Q3", data_as_of="2026-10-20")
    # the preparation logs as_of_date (data_as_of here) as log["as_of"]; the chapter reads it back
    ev = diagnosis.Evidence.from_chapter(fake_chapter(params, {"as_of": str(as_of_date(params).date())}))
    assert ev.report_day == pd.Timestamp("2026-10-20")
    fired = rows_of(ev, "kpi_below_target")
    assert fired["deadline"].tolist() == ["2026-12-04"]            # 2026-10-20 + 45 days (11 in Oct, 30 in Nov, 4)


def test_without_data_as_of_deadlines_fall_after_the_run_day():
    params = load_params(quarter="2026Q3", data_as_of=None)
    run_day = pd.Timestamp.today().normalize()
    ev = diagnosis.Evidence.from_chapter(fake_chapter(params, {"as_of": str(as_of_date(params).date())}))
    assert ev.report_day == run_day
    deadline = pd.Timestamp(rows_of(ev, "kpi_below_target").iloc[0]["deadline"])
    assert deadline == run_day + pd.Timedelta(days=45) and deadline > run_day
