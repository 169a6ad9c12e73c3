"""What a chapter notebook sees: its parameters, tables and the customer facts of the run."""
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
