"""Hand-made purchases for helpers.chapters.cohorts; expected values worked out in the comments."""
import matplotlib

matplotlib.use("Agg")
import pandas as pd
import pytest

from helpers.chapters import cohorts

AS_OF = pd.Timestamp("2026-03-31 23:59:59")


@pytest.fixture
def orders():
    rows = [
        ("A", "2026-01-05", True), ("A", "2026-02-10", True), ("A", "2026-03-01", True),
        ("B", "2026-01-20", True), ("B", "2026-02-11", False),  # cancelled: not a purchase
        ("B", "2026-03-15", True),
        ("C", "2026-02-03", True), ("C", "2026-02-20", True),
        ("D", "2026-03-10", True),
        ("E", "2025-11-01", True), ("E", "2025-11-01", True), ("E", "2026-01-15", True),
        ("F", "2026-04-02", True),  # after the as-of date
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "is_purchase"])
    frame["order_id"] = [f"o{i}" for i in range(len(frame))]
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["net_amount"] = 10.0
    return frame


def test_cohort_retention_matrix(orders):
    table = cohorts.cohort_retention(orders, AS_OF, months=3)
    cells = table.set_index(["cohort", "months_since"])
    # Cohorts 2026-01 (A, B), 2026-02 (C), 2026-03 (D); E (2025-11) is older than 3 months.
    assert list(cells.index) == [
        ("2026-01", 0), ("2026-01", 1), ("2026-01", 2), ("2026-02", 0), ("2026-02", 1), ("2026-03", 0)
    ]
    # 2026-01: month 1 only A (B's February line is cancelled) -> 1/2; month 2 A and B -> 2/2
    assert cells.loc[("2026-01", 1), "customers"] == 1
    assert cells.loc[("2026-01", 1), "retention"] == 0.5
    assert cells.loc[("2026-01", 2), "retention"] == 1.0
    # 2026-02: C bought twice in February only -> month 1 retention 0
    assert cells.loc[("2026-02", 1), "retention"] == 0.0
    assert list(table.columns) == ["cohort", "months_since", "customers", "retention"]
    matrix = cohorts.retention_matrix(table)
    assert matrix.shape == (3, 3)
    # month-1 average weighted by cohort size: (0.5 * 2 + 0 * 1) / 3 = 33.3%
    assert cohorts.cohort_finding(table).startswith("On average 33.3% of a cohort")


def test_early_retention_only_closed_windows(orders):
    table = cohorts.early_retention(orders, AS_OF, windows=(30, 90)).set_index("window_days")
    # 30 days: eligible first purchase <= 2026-03-01: A (gap 36), B (54), C (17), E (75; the
    # second order at the same instant 2025-11-01 00:00 is not "after") -> only C retained: 1 / 4
    assert table.loc[30, "new_customers"] == 4 and table.loc[30, "retained"] == 1
    assert table.loc[30, "retention"] == 0.25
    # 90 days: eligible first purchase <= 2025-12-31: only E, gap 75 <= 90 -> 1 / 1
    assert table.loc[90, "new_customers"] == 1 and table.loc[90, "retention"] == 1.0
    recent = cohorts.early_retention(orders, AS_OF, windows=(30,), acquired_since="2026-01-01").set_index("window_days")
    # without E: A, B, C eligible, C retained -> 1 / 3
    assert recent.loc[30, "retention"] == pytest.approx(1 / 3)
    by_cohort = cohorts.early_retention(orders, AS_OF, windows=(30,), by_cohort=True).set_index("cohort")
    assert by_cohort.loc["2026-02", "retention"] == 1.0 and by_cohort.loc["2026-01", "retention"] == 0.0
    assert "25.0% within 30 days (of 4 customers)" in cohorts.early_retention_finding(table.reset_index())


def test_invalid_arguments(orders):
    with pytest.raises(ValueError, match="months"):
        cohorts.cohort_retention(orders, AS_OF, months=0)
    with pytest.raises(ValueError, match="windows"):
        cohorts.early_retention(orders, AS_OF, windows=(0,))


def test_heatmap_is_labelled(orders):
    ax = cohorts.plot_cohort_heatmap(cohorts.cohort_retention(orders, AS_OF, months=3))
    assert ax.get_title() and ax.get_xlabel() == "Months since first purchase"


def test_no_new_customer_in_the_window_is_not_available(orders):
    from helpers.errors import NotAvailable

    # Every customer's first purchase is before 2026-03 except D (2026-03-10); as of 2026-02-28
    # with one month, the only cohort would be 2026-02 (C) -> present; as of 2026-05-31 with 1 month: none.
    assert cohorts.cohort_retention(orders, pd.Timestamp("2026-02-28 23:59"), months=1)["cohort"].tolist() == ["2026-02"]
    with pytest.raises(NotAvailable, match="no customer made a first purchase in the 1 month up to 2026-05-31"):
        cohorts.cohort_retention(orders, pd.Timestamp("2026-05-31 23:59"), months=1)
    # the three cohorts of 2026Q1 hold A, B, C and D: 4 customers, fewer than a minimum of 5
    assert len(cohorts.cohort_retention(orders, AS_OF, months=3, min_customers=4))
    with pytest.raises(NotAvailable, match="hold 4 customers, fewer than the 5 any reported group needs"):
        cohorts.cohort_retention(orders, AS_OF, months=3, min_customers=5)
