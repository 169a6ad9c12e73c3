"""Chapter 00's drift check: against the previous quarter's report, or recomputed from this run's data."""
import json

import pandas as pd
import pytest

from helpers.chapters import quality
from helpers.errors import NotAvailable
from helpers.paths import RunLayout
from helpers.quarters import Quarter

Q3 = Quarter.parse("2026Q3")


def prepared_tables() -> dict[str, pd.DataFrame]:
    orders = pd.DataFrame({"order_id": ["o1", "o2", "o3", "o4"],
                           "order_date": pd.to_datetime(["2026-04-02", "2026-06-30", "2026-07-05", "2026-08-09"]),
                           "channel": ["online", "online", "app", "online"]})
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"],
                              "signup_date": pd.to_datetime(["2026-03-01", "2026-05-01", "2026-07-01"]),
                              "region": ["East", None, "West"], "first_order_date": pd.NaT})
    return {"orders": orders, "customers": customers}


LOG = {"available": ["customers", "orders"],
       "coverage": {"orders": {"first_day": "2026-04-02", "last_day": "2026-08-09"}}}


def test_without_an_earlier_report_the_previous_quarter_is_recomputed():
    tables = prepared_tables()
    baseline, against = quality.drift_baseline(None, tables.get, LOG, Q3)
    assert against == "2026Q2 (recomputed from the data as of 2026-06-30; no earlier report found)"
    # as of 2026-06-30: orders o1, o2 (both online); customers a, b (b without a region)
    assert baseline["orders"]["rows"] == 2 and baseline["orders"]["categories"]["channel"] == ["online"]
    assert baseline["customers"]["rows"] == 2 and baseline["customers"]["null_rate"]["region"] == 0.5
    now = {"orders": {"rows": 4, "null_rate": {"channel": 0.0}, "categories": {"channel": ["app", "online"]}},
           "customers": {"rows": 3, "null_rate": {"region": 1 / 3}, "categories": {"region": ["East", "West"]}}}
    drift = quality.drift_table(now, baseline).set_index(["table", "check"])
    assert drift.loc[("orders", "rows"), "change"] == "+100.0%"            # 2 -> 4
    assert drift.loc[("customers", "rows"), "change"] == "+50.0%"          # 2 -> 3
    assert drift.loc[("orders", "new values in channel"), "now"] == "app"
    assert drift.loc[("customers", "missing values in region"), "change"] == "-16.7 pp"   # 50% -> 33.3%
    assert quality.drift_finding(drift.reset_index(), against) == (
        "Compared with 2026Q2 (recomputed from the data as of 2026-06-30; no earlier report found), 3 column-level "
        "changes were flagged (missing values moving by 5 points or more, or new category values). The largest "
        "change in row count is orders (+100.0%).")


def test_an_earlier_report_gives_its_own_profile_and_the_tables_are_not_read(tmp_path):
    report = tmp_path / "2026-07-03"
    log_file = RunLayout(report).prepared / "prepare_log.json"   # where that report's preparation kept its log
    log_file.parent.mkdir(parents=True)
    kept = {"orders": {"rows": 7, "null_rate": {}, "categories": {}}}
    log_file.write_text(json.dumps({"profile": kept}), encoding="utf-8")

    def no_table(name):
        raise AssertionError(f"{name} should not be read when the earlier report has a profile")

    assert quality.drift_baseline(report, no_table, LOG, Q3) == (kept, "the 2026Q2 report of 2026-07-03")
    # an earlier report without a profile: recomputed, and the caption says why
    log_file.write_text(json.dumps({}), encoding="utf-8")
    baseline, against = quality.drift_baseline(report, prepared_tables().get, LOG, Q3)
    assert baseline["orders"]["rows"] == 2
    assert against == ("2026Q2 (recomputed from the data as of 2026-06-30; the 2026Q2 report of 2026-07-03 "
                       "kept no profile)")


def test_no_previous_quarter_in_the_data_is_not_available():
    log = {"available": ["orders"], "coverage": {"orders": {"first_day": "2026-07-01", "last_day": "2026-09-30"}}}
    with pytest.raises(NotAvailable, match="the orders start on 2026-07-01, after the end of 2026Q2"):
        quality.drift_baseline(None, prepared_tables().get, log, Q3)


def _raw_orders(rows) -> pd.DataFrame:
    from helpers.data.schema import SOURCES

    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount"])
    for column in SOURCES["orders"].names:
        if column not in frame:
            frame[column] = pd.NA
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["status"], frame["is_return"] = "completed", False
    return frame[SOURCES["orders"].names]


def test_inventory_dates_are_those_of_the_rows_kept_and_the_2062_row_is_noted():
    from helpers.data import cleaning
    from helpers.data.prepare import coverage

    # a hand-made raw export: the year 2026 of o3 typed as 2062
    raw = _raw_orders([("o1", "a", "2026-07-01", 10.0), ("o2", "a", "2026-09-28", 20.0),
                       ("o3", "b", "2062-08-15", 30.0), ("o4", "b", "2026-08-02", 40.0)])
    q = cleaning.Quarantine()
    kept = cleaning.check_domains(raw, "orders", q, earliest=pd.Timestamp("2000-01-01"),
                                  as_of=pd.Timestamp("2026-09-30"), max_share=0.5)
    log = {"as_of": "2026-09-30", "available": ["orders"], "absent": ["tickets"], "cleaning": q.log,
           "coverage": coverage({"orders": kept}),
           "inventory": [{"source": "orders", "status": "read",
                          "files": [{"file": "data/orders.csv", "sha256": "ab" * 32}], "rows": 4, "columns_mapped": 4, "date_from": "2026-07-01", "date_to": "2062-08-15"},
                         {"source": "tickets", "status": "absent", "files": [], "rows": 0}]}
    table = quality.inventory_table(log).set_index("source")
    # kept: o1, o2, o4 -> 2026-07-01 to 2026-09-28 (the raw range ran to 2062-08-15)
    assert table.loc["orders", ["first date kept", "last date kept"]].tolist() == ["2026-07-01", "2026-09-28"]
    assert table.loc["orders", "dates set aside"] == "1 row dated after the data cut-off (2026-09-30) was set aside"
    assert table.loc["tickets", ["first date kept", "last date kept", "dates set aside"]].tolist() == ["–"] * 3
    assert quality.inventory_finding(log) == (
        "Sources used (1): orders. Absent: tickets. The date ranges are those of the rows kept; rows dated after the "
        "data cut-off (2026-09-30) were set aside: orders 1.")


def test_dates_set_aside_count_each_rule_and_action():
    log = {"as_of": "2026-09-30", "cleaning": [
        {"source": "tickets", "rule": "future_date", "action": "removed", "rows": 12},
        {"source": "tickets", "rule": "future_date:resolved_at", "action": "removed", "rows": 2},
        {"source": "tickets", "rule": "date_before_earliest", "action": "removed", "rows": 1},
        {"source": "customers", "rule": "future_date:signup_date", "action": "changed", "rows": 3},
        {"source": "tickets", "rule": "exact_duplicate", "action": "removed", "rows": 5}]}
    # tickets: 12 + 2 after the cut-off, 1 before the earliest date; the duplicates are not dates
    assert quality._dates_note(quality._dates_set_aside(log, "tickets"), log["as_of"]) == (
        "14 rows dated after the data cut-off (2026-09-30) were set aside; "
        "1 row dated before the earliest date was set aside")
    assert quality._dates_note(quality._dates_set_aside(log, "customers"), log["as_of"]) == (
        "3 dates after the data cut-off (2026-09-30) were cleared")
    assert quality._dates_note(quality._dates_set_aside(log, "orders"), log["as_of"]) == ""
