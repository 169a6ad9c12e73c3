"""What a chapter notebook sees: its parameters, tables and the customer facts of the run."""
import copy
import html

import pandas as pd
import pytest

from helpers.data.prepare import prepare
from helpers.demo.generator import generate, write
from helpers.params import load_params
from helpers.paths import RunLayout
from helpers.report.chapter import Chapter


@pytest.fixture(scope="module")
def chapter(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    write(generate(customers=80, seed=3, end="2026-09-30"), data)
    params = load_params(quarter="2026Q3", data_dir=str(data), data_as_of="2026-09-30")
    layout = RunLayout(tmp_path_factory.mktemp("run")).make()
    prepare(params, layout)
    return Chapter("04_value", params, layout)


def test_customer_facts_are_those_of_the_day_asked_for(chapter):
    orders = chapter.table("orders")
    for day in ("2026-09-30", "2026-06-30", "2025-09-30"):
        facts = chapter.customer_facts(day)
        # one row per customer with an order line on or before the day
        assert sorted(facts["customer_id"]) == sorted(orders.loc[orders["order_date"] < pd.Timestamp(day)
                                                                 + pd.Timedelta(days=1), "customer_id"].unique())
        assert "as_of" not in facts


def test_a_day_the_preparation_did_not_compute_is_a_clear_error(chapter):
    with pytest.raises(ValueError, match="no customer facts as of 2026-08-01; the preparation computes them for "
                                         "2026-09-30, 2026-06-30, 2025-09-30"):
        chapter.customer_facts("2026-08-01")


# --- sections ----------------------------------------------------------------------------------
@pytest.fixture()
def shown(monkeypatch):
    """The HTML a chapter displays, in order."""
    pages = []
    monkeypatch.setattr("helpers.report.chapter.display", lambda obj: pages.append(html.unescape(obj.data)))
    return pages


@pytest.fixture()
def fresh(chapter):
    """The chapter with no sections run yet and a log of its own to change."""
    log = chapter.log
    chapter.sections, chapter.log = {}, copy.deepcopy(log)
    yield chapter
    chapter.log = log


def test_a_section_runs_its_code_in_the_notebook_namespace(fresh, shown):
    namespace = {"ch": fresh}
    assert fresh.run_section("rfm", "answer = 6 * 7", namespace) == "ok"
    assert namespace["answer"] == 42 and shown == []
    assert fresh.sections["rfm"] == {"section": "rfm", "status": "ok", "reason": ""}


def test_a_helper_that_says_not_available_leaves_one_line_and_the_chapter_goes_on(fresh, shown):
    code = ("from helpers.errors import NotAvailable\n"
            "raise NotAvailable('no customer bought before 2026-03-31', 'a history of 9 months or more')")
    assert fresh.run_section("clv", code, {}) == "not available"
    assert shown == ['<p class="ci-na">Not available: no customer bought before 2026-03-31; '
                     'a history of 9 months or more.</p>']
    # the section that builds on it says why it cannot run, without running its code
    assert fresh.run_section("value_tiers", "raise AssertionError('must not run')", {}) == "not available"
    assert shown[1] == ('<p class="ci-na">Not available: it builds on the section \'clv\', which is not available '
                        '(no customer bought before 2026-03-31).</p>')


def test_an_error_inside_a_section_is_its_own_error_box(fresh, shown):
    assert fresh.run_section("forecast", "1 / 0", {}) == "failed"
    assert fresh.sections["forecast"]["reason"] == "ZeroDivisionError: division by zero"
    assert shown[0].startswith('<div class="ci-error"><p><strong>This section could not be computed</strong> '
                               "(forecast): ZeroDivisionError: division by zero")
    assert 'File "<section forecast>", line 1' in shown[0] and "chapter.py" not in shown[0]  # the cell's frame only
    # the next section runs as usual
    assert fresh.run_section("glossary", "x = 1", {}) == "ok"


def test_missing_sources_columns_and_history_are_named_with_the_way_to_enable_them(fresh):
    from helpers.report.registry import SectionSpec

    assert fresh.unmet_need(SectionSpec("x", sources=("orders",))) is None
    fresh.log = {**fresh.log, "available": [s for s in fresh.log["available"] if s != "campaigns"]}
    line = fresh.unmet_need(SectionSpec("x", sources=("campaigns",))).line()
    assert line == ("Not available: no campaigns data; add the campaigns export to the data folder "
                    "(sources in the parameters file).")
    profile = fresh.log["profile"]["orders"]
    fresh.log["profile"]["orders"] = {**profile, "categories": {**profile["categories"], "category": ["Uncategorised"]}}
    assert fresh.unmet_need(SectionSpec("x", columns={"orders": ("category",)})).line() == (
        "Not available: the orders data has no category values; map a column to orders.category "
        "(sources.orders.columns in the parameters file).")
    first = pd.Timestamp(fresh.log["coverage"]["orders"]["first_day"])
    held = (pd.Timestamp("2026-09-30") - first).days + 1
    assert fresh.history_days() == held
    assert fresh.unmet_need(SectionSpec("x", history_days=held)) is None
    assert fresh.unmet_need(SectionSpec("x", history_days=held + 1)).line() == (
        f"Not available: {held} days of order history up to 2026-09-30, this section needs {held + 1}; "
        "an export that starts earlier.")


def test_artifacts_of_earlier_chapters_come_back_in_their_registered_types(chapter):
    from helpers.report import export

    export.write_csv(pd.DataFrame({"customer_id": ["00123", "C9"], "p_alive": [0.5, 1.0],
                                   "expected_purchases_12m": [1.0, 2.0], "clv_12m": [10.0, 20.0],
                                   "value_tier": ["high", "low"], "relationship_tier": ["general", "strategic"]}),
                     chapter.layout.artifacts / "clv.csv")
    clv = chapter.artifact("clv.csv")
    assert clv["customer_id"].tolist() == ["00123", "C9"]  # ids keep their leading zeros
    assert clv["value_tier"].dtype == pd.CategoricalDtype(["high", "medium", "low"], ordered=True)
    assert (clv["value_tier"] == "high").tolist() == [True, False]
    export.write_csv(pd.DataFrame({"customer_id": ["a"], "churn_probability": [0.5]}),
                     chapter.layout.artifacts / "churn_scores.csv")
    with pytest.raises(ValueError, match=r"churn_scores.csv lacks the column\(s\) \['top_reasons', 'main_reason'\] "
                                         "that 04_value reads; 03 Behaviour writes it, run that chapter again"):
        chapter.artifact("churn_scores.csv")
    assert chapter.artifact("no_such.csv") is None


def test_a_breakdown_by_a_column_of_one_value_is_not_available(fresh):
    from helpers.report.registry import SectionSpec

    profile = fresh.log["profile"]["orders"]
    fresh.log["profile"]["orders"] = {**profile, "categories": {**profile["categories"], "channel": ["online"]}}
    assert fresh.unmet_need(SectionSpec("x", breakdown={"orders": ("channel",)})).line() == (
        "Not available: the orders data has only the value 'online' in channel, so there is nothing to compare; "
        "map a column with two values or more to orders.channel (sources.orders.columns in the parameters file).")
    fresh.log["profile"]["orders"]["categories"]["channel"] = ["online", "app", "Unknown"]
    assert fresh.unmet_need(SectionSpec("x", breakdown={"orders": ("channel",)})) is None
    fresh.log["profile"]["orders"]["categories"]["channel"] = ["online", "Unknown"]
    assert fresh.unmet_need(SectionSpec("x", breakdown={"orders": ("channel",)})) is not None


def test_an_artifact_an_earlier_chapter_did_not_write_names_that_chapter(fresh):
    from helpers.report.registry import SectionSpec

    assert fresh.unmet_need(SectionSpec("x", artifacts=("cac_crv.csv",))).line() == (
        "Not available: cac_crv.csv was not written in this run; 04 Value writes it: run it first, or see its "
        "'Not available' lines for what the data lack.")
    assert fresh.unmet_need(SectionSpec("x", artifacts=("funnel.csv", "cac_crv.csv"))).line() == (
        "Not available: funnel.csv and cac_crv.csv were not written in this run; 03 Behaviour and 04 Value write "
        "them: run them first, or see their 'Not available' lines for what the data lack.")
