"""The whole report on a small generated data set, as a report runner would run it."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from conftest import folder_digest, run_report

from helpers import paths
from helpers.demo.generator import generate, write
from helpers.paths import RunLayout
from helpers.report.registry import CHAPTERS

pytestmark = pytest.mark.slow
CHAPTER_PAGES = [f"{c}.html" for c in CHAPTERS]


def test_report_folder_is_complete(report):
    folder, result = report
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", folder.name)
    for page in ["index.html", *CHAPTER_PAGES]:
        assert (folder / page).exists(), page
    layout = RunLayout(folder)
    assert (layout.artifacts / "kpi_overview.csv").exists()
    assert list(layout.quarantine.glob("*.csv")), "the demo data has rows to set aside"
    assert str(folder / "index.html") in result.stdout
    assert "[1/9]" in result.stdout and "[9/9]" in result.stdout  # progress shown


def test_html_has_no_code_embeds_images_and_loads_nothing_remote(report):
    folder, _ = report
    images = 0
    for page in ["index.html", *CHAPTER_PAGES]:
        html = (folder / page).read_text(encoding="utf-8")
        soup = BeautifulSoup(html, "html.parser")
        assert not soup.select(".jp-CodeCell .jp-InputArea, .jp-InputArea-editor, .highlight-ipynb"), f"code in {page}"
        assert "open_chapter(" not in html and "injected-parameters" not in html
        for img in soup.find_all("img"):
            assert img["src"].startswith("data:image/png;base64,"), page
            images += 1
        remote = [t.get("src") or t.get("href") for t in soup.find_all(["script", "link"])
                  if re.match(r"https?://", (t.get("src") or t.get("href") or ""))]
        assert not remote, f"{page} loads {remote}"
    assert images >= 1


def test_manifest_is_complete(report):
    folder, _ = report
    manifest = json.loads(RunLayout(folder).manifest.read_text())
    assert manifest["quarter"] == "2026Q3"
    assert manifest["parameters"]["churn_inactivity_days"] == 90
    assert {i["source"] for i in manifest["inputs"]} == {"customers", "orders", "products", "tickets", "surveys",
                                                         "events", "campaigns"}
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert manifest["packages"]["pandas"] and manifest["git_commit"]
    assert [s["name"] for s in manifest["steps"]] == ["prepare", *CHAPTERS]
    assert all(s["status"] == "ok" and s["seconds"] >= 0 and s["started"] for s in manifest["steps"])
    assert all(r["balanced"] for r in manifest["reconciliation"])


def test_no_personal_data_in_any_page(report, demo):
    folder, _ = report
    customers = pd.read_csv(demo / "customers.csv", dtype=str)
    personal = set()
    for column in ("name", "phone", "email", "id_number"):
        personal |= set(customers[column].dropna().str.strip())
    personal = {p for p in personal if len(p) >= 5}
    assert len(personal) > 1000
    for page in ["index.html", *CHAPTER_PAGES]:
        text = (folder / page).read_text(encoding="utf-8")
        leaked = [p for p in personal if p in text]
        assert not leaked, f"{page} shows personal data: {leaked[:3]}"
    layout = RunLayout(folder)
    for artifact in [*layout.artifacts.glob("*.csv"), *layout.analyst_artifacts.glob("*.csv")]:
        text = artifact.read_text(encoding="utf-8")
        assert not [p for p in personal if p in text], artifact.name
    if layout.pdf.exists():  # printed from the pages above, so checked as text too
        from pypdf import PdfReader

        text = "\n".join(page.extract_text() for page in PdfReader(layout.pdf).pages)
        assert not [p for p in personal if p in text], "report.pdf shows personal data"


def test_second_run_is_identical_gets_its_own_folder_and_leaves_the_first_alone(report, demo):
    folder, _ = report
    before = folder_digest(folder)
    # The first run executes chapters 00-04 side by side (the default on two cores or more), the
    # second one after another in one kernel (--jobs 1): the numbers must not change.
    result = run_report("--quarter", "2026Q3", "--data", str(demo), "--out", str(folder.parents[1]), "--jobs", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    second = folder.parent / f"{folder.name}-2"
    assert (second / "index.html").exists()
    assert folder_digest(folder) == before
    assert not list((folder.parents[1] / ".building").iterdir())  # no scratch left behind
    # Determinism: the same inputs and parameters give byte-identical tables and findings, in either mode.
    first, again = RunLayout(folder), RunLayout(second)
    for kept in ("artifacts", "analyst_artifacts"):
        first_artifacts = sorted(p.name for p in getattr(first, kept).iterdir())
        assert first_artifacts == sorted(p.name for p in getattr(again, kept).iterdir())
        different = [name for name in first_artifacts
                     if (getattr(first, kept) / name).read_bytes() != (getattr(again, kept) / name).read_bytes()]
        assert not different, f"{kept} differ between two identical runs: {different}"
    for name in ("orders.csv", "customers.csv"):
        assert (first.quarantine / name).read_bytes() == (again.quarantine / name).read_bytes()


def test_failing_chapter_leaves_the_others_rendered(demo, tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for chapter in ("01_overview", "03_behaviour"):
        nb = nbformat.read(paths.notebook_path(chapter), as_version=4)
        if chapter == "03_behaviour":
            nb.cells.insert(3, nbformat.v4.new_code_cell('raise RuntimeError("deliberate failure for the test")'))
        nbformat.write(nb, notebooks / f"{chapter}.ipynb")
    out = tmp_path / "out"
    result = run_report("--quarter", "2026Q3", "--data", str(demo), "--out", str(out), "--chapters", "01,03",
                        "--notebooks", str(notebooks))
    assert result.returncode == 1
    folder = next((out / "2026Q3").iterdir())
    failed_page = (folder / "03_behaviour.html").read_text(encoding="utf-8")
    assert "This chapter failed" in failed_page and "deliberate failure for the test" in failed_page
    assert "raise RuntimeError" in failed_page  # the cell that raised
    assert "Finding." in (folder / "01_overview.html").read_text(encoding="utf-8")
    index = BeautifulSoup((folder / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert index.select_one(".ci-status-failed").get_text() == "failed"
    steps = {s["name"]: s["status"] for s in json.loads(RunLayout(folder).manifest.read_text())["steps"]}
    assert steps == {"prepare": "ok", "01_overview": "ok", "03_behaviour": "failed"}


def test_bad_data_stops_before_any_chapter_with_a_clear_message(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,customer_id,order_date,amount\nA1,c1,2026-07-01,abc\n")
    out = tmp_path / "out"
    result = run_report("--quarter", "2026Q3", "--data", str(tmp_path), "--out", str(out))
    assert result.returncode == 2
    assert "orders.csv" in result.stderr and "column 'amount'" in result.stderr and "Fix:" in result.stderr
    assert not (out / "2026Q3").exists()               # no report folder
    assert not list((out / ".building").iterdir())     # and no half-built one


def test_closed_loop_and_drift_use_the_previous_quarter(report):
    folder, _ = report
    lists = pd.read_csv(folder / "artifacts" / "closed_loop_lists.csv").set_index("list")
    at_risk = lists.loc["at_risk_high_value.csv"]
    assert at_risk["customers on it"] > 0
    assert 0 <= at_risk["share"] <= 1
    assert at_risk["customers with the outcome"] == round(at_risk["share"] * at_risk["customers on it"])
    kpis = pd.read_csv(folder / "artifacts" / "closed_loop_kpis.csv")
    assert len(kpis) == 9 and set(kpis["moved the right way"]) <= {"yes", "no", "–"}
    page = (folder / "05_crm_recommendations.html").read_text(encoding="utf-8")
    assert "checked against 2026Q3" in page
    quality_page = (folder / "00_data_quality.html").read_text(encoding="utf-8")
    assert "Changes since the 2026Q2 report" in quality_page


def test_actions_and_index_summary(report):
    folder, _ = report
    actions = pd.read_csv(folder / "artifacts" / "actions.csv")
    assert len(actions) >= 1 and actions["priority"].tolist() == list(range(1, len(actions) + 1))
    assert actions["owner"].notna().all() and actions["deadline"].str.match(r"\d{4}-\d{2}-\d{2}").all()
    index = BeautifulSoup((folder / "index.html").read_text(encoding="utf-8"), "html.parser")
    text = index.get_text(" ")
    assert "Top actions" in text and actions.iloc[0]["problem"] in text
    links = {a["href"] for a in index.find_all("a")}
    assert {f"{c}.html" for c in CHAPTERS} <= links
    assert "artifacts/actions.csv" in links
    for link in links:
        assert (folder / link).exists(), link


def test_killed_run_leaves_earlier_reports_and_no_half_folder(report, demo):
    import signal
    import time

    folder, _ = report
    out = folder.parents[1]
    before = {p.name: folder_digest(p) for p in (out / "2026Q3").iterdir()}
    process = subprocess.Popen([sys.executable, str(paths.PROJECT_ROOT / "run_all.py"), "--quarter", "2026Q3",
                                "--data", str(demo), "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    def in_builds(folder: str, pattern: str) -> list:
        """The files matching ``pattern`` in the ``folder`` (a ``RunLayout`` property) of the build folders."""
        return [p for build in (out / ".building").glob("2026Q3-*")
                for p in getattr(RunLayout(build), folder).glob(pattern)]

    deadline = time.time() + 120
    while time.time() < deadline and not in_builds("notebooks", "*.ipynb"):
        time.sleep(0.2)   # wait until it is executing a chapter
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert process.returncode != 0
    assert {p.name: folder_digest(p) for p in (out / "2026Q3").iterdir()} == before
    assert not list((out / ".building").iterdir())
    # A run killed without a chance to clean up (SIGKILL) leaves only scratch, removed by the next run.
    process = subprocess.Popen([sys.executable, str(paths.PROJECT_ROOT / "run_all.py"), "--quarter", "2026Q3",
                                "--data", str(demo), "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while time.time() < deadline and not in_builds("prepared", "orders.parquet"):
        time.sleep(0.2)
    process.kill()
    process.wait(timeout=60)
    assert {p.name for p in (out / "2026Q3").iterdir()} == set(before)
    result = run_report("--quarter", "2026Q3", "--data", str(demo), "--out", str(out), "--chapters", "00")
    assert result.returncode == 0
    assert not list((out / ".building").iterdir())


SCRIPT = '<script>alert("ci")</script>'
IMAGE = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://evil.example","open")'
MATH = r"$\alert{x}$"
# A person's name, phone, e-mail and ID number (valid GB 11643 check digit), planted in the
# personal columns and inside the person's own comments.
MARKERS = ("欧阳明月", "13912345678", "marker.person@example.org", "11010519491231002X")


def _files_text(folder):
    """Every file under ``folder`` as text; Parquet decoded, since its pages are compressed."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            yield path, pd.read_parquet(path).to_csv(index=False)
        else:
            yield path, path.read_bytes().decode("utf-8", errors="replace")


def test_text_from_data_is_escaped_masked_and_safe_everywhere(tmp_path):
    frames = generate(customers=400, seed=11, end="2026-09-30")
    customers = frames["customers"]
    frames["customers"]["region"] = customers["region"].replace("South China", IMAGE)
    frames["customers"]["industry"] = customers["industry"].replace("Retail", MATH)
    frames["products"]["product_name"] = SCRIPT + frames["products"]["product_name"]
    frames["products"].loc[0, "product_name"] = FORMULA
    frames["products"]["category"] = frames["products"]["category"].replace("Hardware", f"Hardware {IMAGE}")
    for source in ("tickets", "surveys"):
        frames[source]["comment"] = frames[source]["comment"].fillna("") + " " + SCRIPT
    person = sorted(set(frames["surveys"]["customer_id"]) & set(frames["tickets"]["customer_id"]))[0]
    row = customers["customer_id"] == person
    customers.loc[row, ["name", "phone", "email", "id_number"]] = list(MARKERS)
    duplicate = customers.loc[row].assign(customer_id="W9999999", source_system="webshop", phone="+86 139-1234-5678")
    frames["customers"] = pd.concat([customers, duplicate], ignore_index=True)  # merged, so set aside
    said = "我是欧阳明月，电话 139 1234 5678，邮箱 marker.person@example.org，身份证 11010519491231002X。"
    for source in ("tickets", "surveys"):
        own = frames[source]["customer_id"] == person
        frames[source].loc[own, "comment"] = said
    quarantined_survey = frames["surveys"].loc[frames["surveys"]["customer_id"] == person].head(1)
    frames["surveys"] = pd.concat([frames["surveys"], quarantined_survey.assign(survey_id="SV-OUT", nps_score=11)])
    data = tmp_path / "data"
    write(frames, data)
    out = tmp_path / "out"
    result = run_report("--quarter", "2026Q3", "--data", str(data), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    folder = next((out / "2026Q3").iterdir())
    shown = 0
    for page in ["index.html", *CHAPTER_PAGES]:
        soup = BeautifulSoup((folder / page).read_text(encoding="utf-8"), "html.parser")
        assert not [s for s in soup.find_all("script") if "alert" in (s.string or "")], page
        assert not soup.find_all(attrs={"onerror": True}), page
        assert not soup.find_all("img", src="x"), page
        text = soup.get_text()
        shown += text.count(IMAGE) + text.count(SCRIPT)
    assert shown > 0, "the hostile values should be shown, as text"
    # The industry written as mathematics did not take chapter 01 down.
    layout = RunLayout(folder)
    steps = {s["name"]: s["status"] for s in json.loads(layout.manifest.read_text())["steps"]}
    assert set(steps.values()) == {"ok"}
    # No personal data in any file of the report folder: pages, artifacts, quarantine, prepared
    # tables, executed notebooks, manifest.
    checked = 0
    for path, text in _files_text(folder):
        checked += 1
        for marker in MARKERS:
            assert marker not in text, f"{marker} in {path.relative_to(folder)}"
    assert checked > 30
    surveys_aside = pd.read_csv(layout.quarantine / "surveys.csv", dtype=str)
    assert "[phone]" in surveys_aside.loc[surveys_aside["survey_id"] == "SV-OUT", "comment"].iloc[0]
    # No CSV cell a spreadsheet would evaluate.
    import csv
    for path in [*layout.artifacts.glob("*.csv"), *layout.analyst_artifacts.glob("*.csv"),
                 *layout.quarantine.glob("*.csv")]:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for cells in csv.reader(handle):
                risky = [c for c in cells if c[:1] in ("=", "@", "\t", "\r")]
                assert not risky, f"{path.name}: {risky[:2]}"


def test_a_quarter_without_orders_is_a_clear_error(demo, tmp_path):
    result = run_report("--quarter", "2030Q1", "--data", str(demo), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "the quarter 2030Q1 has no valid orders" in result.stderr and "choose a quarter between 2023Q1" in result.stderr


def test_optional_columns_that_are_entirely_empty_do_not_break_a_chapter(tmp_path):
    frames = generate(customers=400, seed=5, end="2026-09-30")
    blank = {"customers": ["industry", "company_size", "birth_year", "acquisition_channel", "signup_date"],
             "orders": ["channel", "quantity", "product_id"], "products": ["category", "unit_cost"],
             "tickets": ["resolved_at", "first_response_at", "complaint_type", "department", "comment"],
             "surveys": ["csat_score", "comment"], "events": ["session_id", "feature"], "campaigns": ["leads"]}
    for source, columns in blank.items():
        for column in columns:
            frames[source][column] = None
    data = tmp_path / "data"
    write(frames, data)
    result = run_report("--quarter", "2026Q3", "--data", str(data), "--out", str(tmp_path / "out"))
    folder = next((tmp_path / "out" / "2026Q3").iterdir())
    steps = {s["name"]: (s["status"], s["error"]) for s in json.loads(RunLayout(folder).manifest.read_text())["steps"]}
    assert result.returncode == 0, steps


def test_overview_and_needs_artifacts_reconcile_with_the_prepared_data(report):
    folder, _ = report
    layout = RunLayout(folder)
    for name, columns in {
        "kpi_overview.csv": ["metric", "value", "qoq_change", "yoy_change", "target", "met", "change_low",
                             "change_high", "significant", "small_sample"],
        "cross_table.csv": ["region", "segment", "customers", "average_order_value", "repeat_purchase_rate",
                            "share_of_customers", "suppressed"],
        "key_accounts.csv": ["customer_id"], "growth_forecast.csv": [], "distribution_region.csv": [],
        "nps_csat.csv": ["quarter", "nps", "nps_low", "nps_high", "nps_responses", "csat"],
        "need_themes.csv": [], "satisfaction_extremes.csv": [], "complaints.csv": [],
        "satisfaction_drivers.csv": [], "sentiment.csv": [],
    }.items():
        frame = pd.read_csv(layout.artifact(name))
        assert set(columns) <= set(frame.columns), (name, list(frame.columns))
    kpis = pd.read_csv(layout.artifact("kpi_overview.csv")).set_index("metric")
    cross = pd.read_csv(layout.artifact("cross_table.csv"))
    # every active customer is in exactly one cell; suppressed cells hide their count
    suppressed = cross["suppressed"].astype(bool)
    assert cross.loc[suppressed, "customers"].isna().all()          # a suppressed cell shows no count
    hidden = kpis.loc["active_customers", "value"] - cross.loc[~suppressed, "customers"].sum()
    # each primary-suppressed cell holds between 1 and min_group_size - 1 customers; a secondary one
    # (hidden so that no primary cell can be recovered from its row or column) holds at least 5
    primary = cross["suppression"].eq("primary")
    secondary = cross["suppression"].eq("secondary")
    assert primary.sum() >= 1 and (suppressed == (primary | secondary)).all()
    assert primary.sum() + 5 * secondary.sum() <= hidden
    # NPS in the chapter equals NPS recomputed from the prepared surveys
    surveys = pd.read_parquet(layout.prepared / "surveys.parquet")
    answers = surveys.loc[(surveys["response_date"] >= "2026-07-01") & (surveys["response_date"] < "2026-10-01"),
                          "nps_score"].dropna()
    recomputed = 100 * ((answers >= 9).mean() - (answers <= 6).mean())
    trend = pd.read_csv(layout.artifact("nps_csat.csv")).set_index("quarter")
    assert trend.loc["2026Q3", "nps"] == pytest.approx(recomputed)
    assert kpis.loc["nps", "value"] == pytest.approx(recomputed)
    assert trend.loc["2026Q3", "nps_responses"] == len(answers)
    findings = json.loads(layout.artifact("findings_02_needs.json").read_text())
    assert findings and all(f["text"] for f in findings)
