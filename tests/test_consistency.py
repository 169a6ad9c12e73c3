"""Every quantity the report shows in more than one place is the same number everywhere, on the
demo report and on a second generated company with another churn window and another quarter;
every KPI change lies inside its own interval; the three notions of risk relate as the report says."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import run_report

from helpers.demo.generator import generate, write
from helpers.paths import RunLayout
from helpers.report import export
from helpers.report.chapter import RESOLVED_PARAMS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def other_company(tmp_path_factory):
    """Another company: other seed and size, a 60-day churn window, the quarter 2026Q2."""
    data = tmp_path_factory.mktemp("other_data")
    write(generate(customers=500, seed=31, end="2026-06-30"), data)
    params = tmp_path_factory.mktemp("other_params") / "other.yaml"
    params.write_text(yaml.safe_dump({"quarter": "2026Q2", "data_dir": str(data), "churn_inactivity_days": 60,
                                      "company_name": "Other company"}), encoding="utf-8")
    out = tmp_path_factory.mktemp("other_out")
    result = run_report("--params", str(params), "--out", str(out), pdf=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return next(p for p in (out / "2026Q2").iterdir() if not p.name.startswith("."))


@pytest.fixture(params=["demo", "other"])
def folder(request, report, other_company) -> Path:
    return report[0] if request.param == "demo" else other_company


def artifact(folder: Path, name: str) -> pd.DataFrame:
    """A table of the report, shared (``artifacts/``) or kept for the analyst."""
    return export.read_csv(RunLayout(folder).artifact(name), dtype={"customer_id": str})


def finding_numbers(folder: Path, chapter: str) -> dict:
    numbers: dict = {}
    for finding in json.loads((folder / "artifacts" / f"findings_{chapter}.json").read_text(encoding="utf-8")):
        numbers.update(finding["numbers"])
    return numbers


def test_the_same_quantity_is_equal_wherever_it_appears(folder):
    quarter = json.loads(RunLayout(folder).manifest.read_text())["quarter"]
    kpis = artifact(folder, "kpi_overview.csv").set_index("metric")["value"]
    overview, needs = finding_numbers(folder, "01_overview"), finding_numbers(folder, "02_needs")
    behaviour, value = finding_numbers(folder, "03_behaviour"), finding_numbers(folder, "04_value")
    growth = artifact(folder, "growth_forecast.csv")
    actual = growth.loc[(growth["quarter"] == quarter) & (growth["kind"] == "actual")].set_index("metric")["value"]
    satisfaction = artifact(folder, "nps_csat.csv").set_index("quarter").loc[quarter]
    pairs = {
        # quantity: (value in one place, value in the other)
        "active customers, KPI table / overview finding": (kpis["active_customers"], overview["active_customers"]),
        "active customers, KPI table / behaviour finding": (kpis["active_customers"], behaviour["active_customers"]),
        "active customers, KPI table / growth trend": (kpis["active_customers"], actual["active_customers"]),
        "new customers, KPI table / growth trend": (kpis["new_customers"], actual["new_customers"]),
        "net revenue, KPI table / overview finding": (kpis["revenue"], overview["revenue"]),
        "net revenue, KPI table / growth trend": (kpis["revenue"], actual["revenue"]),
        "churn rate, KPI table / behaviour finding": (kpis["churn_rate"], behaviour["churn_rate"]),
        "churn rate, KPI table / overview finding": (kpis["churn_rate"], overview["churn_rate"]),
        "NPS, KPI table / satisfaction table": (kpis["nps"], satisfaction["nps"]),
        "NPS, KPI table / needs finding": (kpis["nps"], needs["nps"]),
        "CSAT, KPI table / satisfaction table": (kpis["csat"], satisfaction["csat"]),
        "CSAT, KPI table / needs finding": (kpis["csat"], needs["csat"]),
        "customers scored for churn, finding / scores table": (behaviour["customers_scored"],
                                                                len(artifact(folder, "churn_scores.csv"))),
        "customers valued, RFM / CLV": (value["customers_scored"], value["customers_valued"]),
        "customers valued, CLV finding / CLV table": (value["customers_valued"], len(artifact(folder, "clv.csv"))),
        "cross-sell candidates, finding / table": (behaviour["cross_sell_candidates"],
                                                   artifact(folder, "cross_sell_candidates.csv")["customer_id"].nunique()),
    }
    unequal = {name: (a, b) for name, (a, b) in pairs.items() if a != pytest.approx(b, rel=1e-9, abs=1e-9)}
    assert not unequal, unequal


def test_every_kpi_change_lies_inside_its_own_interval(folder):
    kpis = artifact(folder, "kpi_overview.csv").dropna(subset=["qoq_change", "change_low", "change_high"])
    assert len(kpis) >= 7
    outside = kpis.loc[(kpis["qoq_change"] < kpis["change_low"]) | (kpis["qoq_change"] > kpis["change_high"]),
                       ["metric", "qoq_change", "change_low", "change_high"]]
    assert outside.empty, outside.to_dict("records")


def test_action_lists_come_from_the_sections_they_cite(folder):
    scores = artifact(folder, "churn_scores.csv").set_index("customer_id")["churn_probability"]
    clv = artifact(folder, "clv.csv").set_index("customer_id")
    at_risk = artifact(folder, "at_risk_high_value.csv")
    # At risk and high value: scored by the churn model at 50% or more, and in the CLV high tier.
    assert set(at_risk["customer_id"]) <= set(scores.index[scores >= 0.5])
    assert (clv.loc[at_risk["customer_id"], "value_tier"] == "high").all()
    # Win-back customers are churned, so the churn model (which scores the not-yet-churned) never lists them.
    win_back = artifact(folder, "win_back.csv")
    assert len(win_back) and not set(win_back["customer_id"]) & set(scores.index)
    cross_sell = artifact(folder, "cross_sell.csv")
    assert set(cross_sell["customer_id"]) <= set(artifact(folder, "cross_sell_candidates.csv")["customer_id"])


def test_the_three_notions_of_risk_relate_as_chapter_05_says(folder):
    params = json.loads((RunLayout(folder).analyst / RESOLVED_PARAMS).read_text(encoding="utf-8"))
    threshold = params["chapter_options"]["03_behaviour"]["high_risk_threshold"]
    groups = finding_numbers(folder, "05_crm_recommendations")
    scores = artifact(folder, "churn_scores.csv").set_index("customer_id")["churn_probability"]
    segments = artifact(folder, "rfm_segments.csv")
    rfm_summary = artifact(folder, "rfm_summary.csv").set_index("segment")["customers"]
    high = set(artifact(folder, "clv.csv").query("value_tier == 'high'")["customer_id"])
    at_risk = artifact(folder, "at_risk_high_value.csv")
    model = set(scores.index[scores >= threshold])
    assert groups["at_risk_by_model"] == len(model)
    assert groups["rfm_at_risk"] == rfm_summary["At risk"] == (segments["segment"] == "At risk").sum()
    assert groups["high_value_tier"] == len(high)
    assert groups["at_risk_high_value"] == len(model & high) == len(at_risk)
    assert groups["model_and_rfm"] == len(model & set(segments.loc[segments["segment"] == "At risk", "customer_id"]))
