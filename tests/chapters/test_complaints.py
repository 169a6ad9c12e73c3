import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.chapters.complaints import (  # noqa: E402
    complaint_breakdown,
    complaint_rate_by_product,
    complaint_summary,
    complaints_by,
    complaints_finding,
    consultation_summary,
    consultations_by,
    consultations_finding,
    monthly_product_rates,
    persistence_finding,
    persistent_complaint_products,
    plot_complaints_by,
    plot_monthly_product_rates,
    table_formats,
    unmapped_note,
)

Q = "2026Q3"


def _tickets():
    # ten complaints in 2026Q3 with resolution hours 1..9 and one still open; two reopened
    complaints = pd.DataFrame({
        "ticket_id": [f"t{i}" for i in range(10)],
        "customer_id": ["c1", "c2"] * 5,
        "created_at": pd.Timestamp("2026-08-01"),
        "ticket_type": "complaint",
        "complaint_type": ["delivery"] * 6 + ["quality"] * 4,
        "product_id": ["p1"] * 5 + ["p2"] * 4 + [None],
        "department": ["Logistics"] * 6 + ["After-sales"] * 4,
        "channel": "phone",
        "reopened": [True, True] + [False] * 8,
        "resolution_hours": [1, 2, 3, 4, 5, 6, 7, 8, 9, np.nan],
        "first_response_hours": 1.0,
    })
    consultations = pd.DataFrame({
        "ticket_id": ["k1", "k2", "k3", "k4"], "customer_id": "c1",
        "created_at": pd.to_datetime(["2026-07-02", "2026-07-03", "2026-07-04", "2026-04-01"]),
        "ticket_type": "consultation", "complaint_type": None, "product_id": "p1",
        "department": ["Sales", "Sales", "Technical support", "Sales"], "channel": "chat", "reopened": False,
        "resolution_hours": 1.0, "first_response_hours": [0.5, 1.5, np.nan, 3.0],
    })
    return pd.concat([complaints, consultations], ignore_index=True)


def _orders(n=400, date="2026-08-01"):
    frame = pd.DataFrame({"order_id": [f"o{i}" for i in range(n)], "customer_id": "c1",
                          "order_date": pd.Timestamp(date), "product_id": ["p1", "p2"] * (n // 2),
                          "is_purchase": True})
    return frame


def test_p90_and_median_of_known_durations():
    summary = complaint_summary(_tickets(), _orders(), Q).iloc[-1]
    # resolved hours 1..9: median 5; p90 = 1 + 0.9 * (9 - 1) = 8.2 (linear interpolation)
    assert summary["median_resolution_hours"] == 5.0
    assert summary["p90_resolution_hours"] == pytest.approx(8.2)
    # 9 of 10 resolved; 2 of 9 resolved reopened; 10 complaints / 400 orders = 25 per 1,000
    assert summary["resolution_rate"] == pytest.approx(0.9)
    assert summary["reopened_rate"] == pytest.approx(2 / 9)
    assert summary["complaints_per_1000_orders"] == pytest.approx(25.0)
    assert complaint_summary(_tickets(), _orders(), Q).iloc[0]["complaints"] == 0  # 2026Q2


def test_complaints_by_type_and_department_and_region():
    by_type = complaints_by(_tickets(), Q, "complaint_type").set_index("complaint_type")
    # delivery: hours 1..6 -> median 3.5, p90 = 1 + 0.9 * 5 = 5.5; quality: 7, 8, 9, open -> 3 of 4 resolved
    assert by_type.loc["delivery", ["complaints", "median_resolution_hours"]].tolist() == [6, 3.5]
    assert by_type.loc["delivery", "p90_resolution_hours"] == pytest.approx(5.5)
    assert by_type.loc["quality", "resolution_rate"] == pytest.approx(0.75)
    assert by_type.loc["delivery", "share"] == pytest.approx(0.6)
    customers = pd.DataFrame({"customer_id": ["c1", "c2"], "region": ["North", None]})
    by_region = complaints_by(_tickets(), Q, "region", customers=customers).set_index("region")
    assert by_region["complaints"].to_dict() == {"North": 5, "Unknown": 5}
    products = pd.DataFrame({"product_id": ["p1", "p2"], "product_name": ["Kettle", "Mug"], "category": ["Home"] * 2})
    by_product = complaints_by(_tickets(), Q, "product", products=products).set_index("product")
    assert by_product["complaints"].to_dict() == {"Kettle": 5, "Mug": 4, "Unknown": 1}
    long = complaint_breakdown(_tickets(), Q, customers, products)
    assert set(long["dimension"]) == {"complaint_type", "product", "category", "region", "channel", "department"}
    with pytest.raises(ValueError, match="need the customers table"):
        complaints_by(_tickets(), Q, "region")
    text = complaints_finding(complaint_summary(_tickets(), _orders(), Q), complaints_by(_tickets(), Q))
    assert text.startswith("10 complaints were opened in 2026Q3, 25.0 per 1,000 orders; 90.0% are resolved")
    assert "most common type is delivery (60.0%)" in text
    ax = plot_complaints_by(complaints_by(_tickets(), Q))
    assert ax.get_ylabel() == "Complaints (count)"
    plt.close("all")


def test_complaint_rate_per_product():
    rates = complaint_rate_by_product(_tickets(), _orders(), Q).set_index("product_id")
    # p1: 5 complaints / 200 orders = 25; p2: 4 / 200 = 20; benchmark 9 / 400 = 22.5
    assert rates.loc["p1", "complaints_per_1000_orders"] == pytest.approx(25.0)
    assert rates.loc["p2", "complaints_per_1000_orders"] == pytest.approx(20.0)
    assert rates["benchmark_per_1000_orders"].iloc[0] == pytest.approx(22.5)
    assert rates["above_benchmark"].to_dict() == {"p1": True, "p2": False}


def _three_month_example():
    """100 single-product orders per product and month; complaints per month:
    Jul  A 5, B 4, C 0, D 1 -> rates 50, 40, 0, 10 vs benchmark 10/400 = 25: A, B above
    Aug  A 4, B 0, C 5, D 1 -> 40, 0, 50, 10 vs 25: A, C above
    Sep  A 1, B 5, C 5, D 1 -> 10, 50, 50, 10 vs 12/400 = 30: B, C above
    A: Jul-Aug (2 in a row, not in Sep); B: Jul and Sep (never 2 in a row); C: Aug-Sep (ongoing)."""
    orders, tickets = [], []
    counts = {"2026-07-15": dict(A=5, B=4, C=0, D=1), "2026-08-15": dict(A=4, B=0, C=5, D=1),
              "2026-09-15": dict(A=1, B=5, C=5, D=1)}
    for day, per_product in counts.items():
        for product, complaints in per_product.items():
            orders += [(f"{product}{day}{i}", product, day) for i in range(100)]
            tickets += [(f"t{product}{day}{i}", product, day) for i in range(complaints)]
    orders = pd.DataFrame(orders, columns=["order_id", "product_id", "order_date"]).assign(is_purchase=True)
    orders["order_date"] = pd.to_datetime(orders["order_date"])
    tickets = pd.DataFrame(tickets, columns=["ticket_id", "product_id", "created_at"]).assign(
        ticket_type="complaint", customer_id="c1")
    tickets["created_at"] = pd.to_datetime(tickets["created_at"])
    return tickets, orders


def test_products_above_benchmark_two_months_in_a_row():
    tickets, orders = _three_month_example()
    rates = monthly_product_rates(tickets, orders, Q).set_index(["product_id", "month"])
    assert rates.loc[("A", "2026-07"), "rate"] == 50.0 and rates.loc[("A", "2026-07"), "benchmark"] == 25.0
    assert rates.loc[("B", "2026-09"), "benchmark"] == 30.0
    persistent = persistent_complaint_products(tickets, orders, Q, consecutive_months=2)
    # both ran 2 months; C is still above in September, so it comes first
    assert persistent["product_id"].tolist() == ["C", "A"]
    assert persistent.set_index("product_id")["longest_run_months"].to_dict() == {"A": 2, "C": 2}
    assert persistent.set_index("product_id")["above_in_last_month"].to_dict() == {"A": False, "C": True}
    assert persistent.set_index("product_id").loc["A", "rate_2026-08"] == 40.0
    # A expected: 100 x (25 + 25 + 30) / 1000 = 8 complaints, observed 10: P(X >= 10 | 8) = 0.2834
    row = persistent.set_index("product_id").loc["A"]
    assert row["expected_complaints"] == pytest.approx(8.0)
    assert row["excess_p_value"] == pytest.approx(0.2834, abs=1e-4)
    assert not row["significant"]
    text = persistence_finding(persistent)
    assert text.startswith("2 product(s) had a complaint rate above the benchmark for 2+ months in a row")
    assert "1 of them are still above" in text
    assert "None of these excesses is beyond chance" in text
    three = persistent_complaint_products(tickets, orders, Q, consecutive_months=3)
    assert three.empty and "No product" in persistence_finding(three, 3)
    ax = plot_monthly_product_rates(monthly_product_rates(tickets, orders, Q), persistent)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["All products (benchmark)", "C", "A"]
    assert ax.get_ylabel() == "Complaints per 1,000 orders"
    plt.close("all")


def test_consultations_volume_and_time_to_answer():
    by_department = consultations_by(_tickets(), Q, "department").set_index("department")
    # 2026Q3: Sales 2 (0.5 h, 1.5 h -> median 1.0), Technical support 1 (not yet answered)
    assert by_department["consultations"].to_dict() == {"Sales": 2, "Technical support": 1}
    assert by_department.loc["Sales", "median_first_response_hours"] == 1.0
    assert by_department.loc["Technical support", "answered_rate"] == 0.0
    summary = consultation_summary(_tickets(), Q)
    assert summary["consultations"].tolist() == [1, 3]
    # p90 of [0.5, 1.5] = 0.5 + 0.9 * 1.0 = 1.4
    assert summary.iloc[-1]["p90_first_response_hours"] == pytest.approx(1.4)
    assert consultations_finding(summary, consultations_by(_tickets(), Q)).startswith(
        "3 consultations in 2026Q3; the first answer came in a median of 1.0 hours")


def _tickets_without_times(empty_columns: bool):
    """The tickets without their handling times: resolved_at and first_response_at not mapped,
    either as columns full of missing values (as the preparation leaves them) or absent."""
    tickets = _tickets().drop(columns=["reopened"])
    if empty_columns:
        return tickets.assign(resolution_hours=np.nan, first_response_hours=np.nan, reopened=False)
    return tickets.drop(columns=["resolution_hours", "first_response_hours"])


@pytest.mark.parametrize("empty_columns", [True, False], ids=["empty-columns", "no-columns"])
def test_unmapped_handling_times_are_not_shown(empty_columns):
    tickets = _tickets_without_times(empty_columns)
    summary = complaint_summary(tickets, _orders(), Q)
    # counts and the rate per 1,000 orders stay (10 complaints / 400 orders = 25); no "0.0% resolved"
    assert summary.columns.tolist() == ["quarter", "complaints", "orders", "complaints_per_1000_orders"]
    assert summary["complaints"].tolist() == [0, 10] and summary["complaints_per_1000_orders"].iloc[-1] == 25.0
    by_type = complaints_by(tickets, Q, "complaint_type")
    assert by_type.columns.tolist() == ["complaint_type", "complaints", "share"]
    assert by_type.set_index("complaint_type")["complaints"].to_dict() == {"delivery": 6, "quality": 4}
    long = complaint_breakdown(tickets, Q)
    assert "resolution_rate" not in long and set(long["dimension"]) == {"complaint_type", "product", "channel",
                                                                      "department"}
    text = complaints_finding(summary, by_type)
    assert text == ("10 complaints were opened in 2026Q3, 25.0 per 1,000 orders. "
                    "The most common type is delivery (60.0%).")
    assert table_formats(summary) == {"complaints": "int", "orders": "int", "complaints_per_1000_orders": "float1"}
    assert unmapped_note(tickets) == ("Resolution rate, time to resolve and reopened rate are not shown: no ticket "
                                      "has a resolution time (map a column to tickets.resolved_at).")
    # consultations: volume only, without the answered rate and time to first answer
    consultations = consultation_summary(tickets, Q)
    assert consultations.columns.tolist() == ["quarter", "consultations"]
    assert consultations["consultations"].tolist() == [1, 3]
    by_department = consultations_by(tickets, Q, "department")
    assert by_department.columns.tolist() == ["department", "consultations", "share"]
    assert by_department.set_index("department")["consultations"].to_dict() == {"Sales": 2, "Technical support": 1}
    assert consultations_finding(consultations, by_department) == (
        "3 consultations in 2026Q3. Sales handles the most (66.7%).")
    assert unmapped_note(tickets, "consultations").startswith("Answered rate and time to first answer are not shown")
    ax = plot_complaints_by(by_type)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Complaints"]
    plt.close("all")


@pytest.mark.parametrize("empty_column", [False, True], ids=["absent", "all empty"])
def test_resolution_without_a_reopened_column_has_no_reopened_rate(empty_column):
    # the preparation keeps an unmapped reopened column empty rather than all False
    tickets = _tickets().assign(reopened=pd.NA) if empty_column else _tickets().drop(columns=["reopened"])
    summary = complaint_summary(tickets, _orders(), Q)
    # 9 of 10 resolved in a median of 5 hours, as with the column; the reopened rate is left out
    assert "reopened_rate" not in summary and summary["resolution_rate"].iloc[-1] == pytest.approx(0.9)
    assert complaints_finding(summary).endswith("in a median of 5 hours (90% within 8 hours).")
    assert unmapped_note(tickets) == ("Reopened rate is not shown: the tickets have no reopened column "
                                      "(map a column to tickets.reopened).")
    assert unmapped_note(_tickets()) == "" and unmapped_note(_tickets(), "consultations") == ""
