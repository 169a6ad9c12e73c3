"""The input contract through the whole preparation, on small exports the tests write: every
rule sets rows aside with its name or stops with the file, column, example lines and the fix,
and the records counted in the raw files equal rows kept + rows set aside."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from helpers import facts
from helpers.data.prepare import load_prepared, prepare
from helpers.errors import DataError
from helpers.facts import customer_facts
from helpers.params import load_params
from helpers.paths import RunLayout

CUSTOMERS = """customer_id,source_system,name,phone,email,id_number,customer_type,region,signup_date
c1,crm,Wang Fang,13800138000,wang.fang@example.com,11010519491231002X,individual,East,2025-01-10
c2,crm,Li Lei,13900139000,li.lei@example.com,,individual,North,2025-02-11
c3,crm,Zhao Min,,zhao.min@example.com,,enterprise,South,2025-03-12
c4,crm,Chen Jie,,,,individual,East,2025-04-13
c5,crm,Sun Li,,,,individual,West,2025-05-14
c6,crm,Zhou Yu,,,,enterprise,North,2025-06-15
"""
ORDERS_HEADER = "order_id,line_id,customer_id,order_date,amount,product_id,status,channel\n"
ORDERS_ROWS = [f"o{i},1,c{i % 6 + 1},2026-0{7 + i % 3}-{10 + i:02d},{100 + 10 * i},p1,completed,online"
               for i in range(12)]
SURVEYS_HEADER = "survey_id,customer_id,response_date,nps_score,csat_score,comment\n"
SURVEYS_ROWS = [f"s{i},c{i % 6 + 1},2026-08-{10 + i:02d},{i % 11},{i % 5 + 1},fine" for i in range(10)]
TICKETS_HEADER = "ticket_id,customer_id,created_at,ticket_type,first_response_at,resolved_at,comment\n"
TICKETS_ROWS = [f"t{i},c{i % 6 + 1},2026-08-{10 + i:02d} 09:00,complaint,2026-08-{10 + i:02d} 10:00,"
                f"2026-08-{11 + i:02d} 09:00,late" for i in range(10)]
EVENTS_HEADER = "customer_id,event_time,event_type,channel\n"
EVENTS_ROWS = [f"c{i % 6 + 1},2026-08-{10 + i:02d} 12:00,visit,web" for i in range(10)]


def write_export(folder: Path, orders=None, surveys=None, tickets=None, events=None, customers=CUSTOMERS) -> Path:
    files = {"customers.csv": customers,
             "orders.csv": ORDERS_HEADER + "\n".join(orders or ORDERS_ROWS) + "\n",
             "surveys.csv": SURVEYS_HEADER + "\n".join(surveys or SURVEYS_ROWS) + "\n",
             "tickets.csv": TICKETS_HEADER + "\n".join(tickets or TICKETS_ROWS) + "\n",
             "events.csv": EVENTS_HEADER + "\n".join(events or EVENTS_ROWS) + "\n"}
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


SOURCE_FILES = {name: {"files": f"{name}.csv"} for name in ("customers", "orders", "surveys", "tickets", "events")}


def run_prepare(data: Path, sources: dict = SOURCE_FILES, **overrides) -> tuple[dict, RunLayout]:
    params = load_params(quarter="2026Q3", params_file=None, data_dir=str(data), data_as_of="2026-11-30",
                         sources=sources, **overrides)
    layout = RunLayout(data.parent / "run").make()
    return prepare(params, layout), layout


def raw_records(path: Path) -> int:
    """Records of a test file without quoted line breaks: its non-empty lines after the header."""
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines()[1:] if line.strip())


def quarantined(layout: RunLayout, source: str) -> pd.DataFrame:
    path = layout.quarantine / f"{source}.csv"
    return pd.read_csv(path, dtype=str) if path.exists() else pd.DataFrame(columns=["rule", "action", "detail"])


def assert_balanced(data: Path, layout: RunLayout, log: dict) -> None:
    """Counted by the test from the raw files: records = prepared rows + rows quarantined as removed."""
    for source in ("orders", "surveys", "tickets", "events"):
        kept = len(pd.read_parquet(layout.prepared / f"{source}.parquet"))
        removed = int((quarantined(layout, source)["action"] == "removed").sum())
        assert raw_records(data / f"{source}.csv") == kept + removed, source
        entry = next(r for r in log["reconciliation"] if r["source"] == source)
        assert entry["raw_records"] == raw_records(data / f"{source}.csv") and entry["balanced"]


def rules(layout: RunLayout, source: str) -> dict[str, int]:
    return quarantined(layout, source)["rule"].value_counts().to_dict()


def test_a_valid_export_keeps_every_row(tmp_path):
    data = write_export(tmp_path / "data")
    log, layout = run_prepare(data)
    assert_balanced(data, layout, log)
    assert len(pd.read_parquet(layout.prepared / "orders.parquet")) == 12


# One fault each: (source, row index, faulty row, rule expected in quarantine)
SET_ASIDE = {
    "nps_11": ("surveys", 3, "s3,c4,2026-08-13,11,4,fine", "out_of_range:nps_score"),
    "csat_6": ("surveys", 4, "s4,c5,2026-08-14,8,6,fine", "out_of_range:csat_score"),
    "nps_negative": ("surveys", 5, "s5,c6,2026-08-15,-1,3,fine", "out_of_range:nps_score"),
    "amount_inf": ("orders", 2, "o2,1,c3,2026-09-12,inf,p1,completed,online", "non_finite_value:amount"),
    "order_1900": ("orders", 3, "o3,1,c4,1900-01-01,130,p1,completed,online", "date_before_earliest:order_date"),
    "order_2062": ("orders", 4, "o4,1,c5,2062-07-14,140,p1,completed,online", "future_date"),
    "resolved_before_created": ("tickets", 1, "t1,c2,2026-08-11 09:00,complaint,2026-08-11 10:00,2020-01-01 00:00,x",
                                "date_order:resolved_at"),
    "response_before_created": ("tickets", 2, "t2,c3,2026-08-12 09:00,complaint,2026-08-12 08:59,2026-08-13 09:00,x",
                                "date_order:first_response_at"),
    "unknown_status_rare": ("orders", 5, "o5,1,c6,2026-07-15,150,p1,pending,online", "unknown_value:status"),
    "unknown_event_rare": ("events", 6, "c1,2026-08-16 12:00,page_view,web", "unknown_value:event_type"),
}


@pytest.mark.parametrize("case", sorted(SET_ASIDE))
def test_a_row_breaking_a_rule_goes_to_quarantine_with_the_rule(tmp_path, case):
    source, index, row, rule = SET_ASIDE[case]
    rows = {"orders": list(ORDERS_ROWS), "surveys": list(SURVEYS_ROWS), "tickets": list(TICKETS_ROWS),
            "events": list(EVENTS_ROWS)}
    rows[source][index] = row
    data = write_export(tmp_path / "data", **rows)
    log, layout = run_prepare(data)
    assert rules(layout, source) == {rule: 1}
    assert_balanced(data, layout, log)


def test_amount_ceiling_from_the_parameters(tmp_path):
    rows = list(ORDERS_ROWS)
    rows[0] = "o0,1,c1,2026-07-10,25000000,p1,completed,online"
    data = write_export(tmp_path / "data", orders=rows)
    log, layout = run_prepare(data, amount_ceiling=1_000_000)
    assert rules(layout, "orders") == {"amount_above_ceiling:amount": 1}
    assert_balanced(data, layout, log)


def test_vocabulary_case_and_spaces_are_folded_once(tmp_path):
    events = [row.replace(",visit,web", ",VISIT,Web" if i % 2 else ", Visit ,web") for i, row in enumerate(EVENTS_ROWS)]
    orders = [row.replace(",completed,online", ",Completed,ONLINE") for row in ORDERS_ROWS]
    tickets = [row.replace(",complaint,", ",Complaint,") for row in TICKETS_ROWS]
    data = write_export(tmp_path / "data", events=events, orders=orders, tickets=tickets)
    log, layout = run_prepare(data)
    assert set(pd.read_parquet(layout.prepared / "events.parquet")["event_type"]) == {"visit"}
    assert set(pd.read_parquet(layout.prepared / "events.parquet")["channel"]) == {"web"}
    prepared = pd.read_parquet(layout.prepared / "orders.parquet")
    assert set(prepared["status"]) == {"completed"} and set(prepared["channel"]) == {"online"}
    assert prepared["is_purchase"].all()
    assert set(pd.read_parquet(layout.prepared / "tickets.parquet")["ticket_type"]) == {"complaint"}


def test_value_map_translates_chinese_codes(tmp_path):
    tickets = [row.replace(",complaint,", ",投诉,") for row in TICKETS_ROWS]
    data = write_export(tmp_path / "data", tickets=tickets)
    sources = SOURCE_FILES | {"tickets": {"files": "tickets.csv", "value_map": {"ticket_type": {"投诉": "complaint"}}}}
    log, layout = run_prepare(data, sources=sources)
    assert set(pd.read_parquet(layout.prepared / "tickets.parquet")["ticket_type"]) == {"complaint"}


def message_of(data: Path, **overrides) -> str:
    with pytest.raises(DataError) as error:
        run_prepare(data, **overrides)
    return str(error.value)


def test_common_unknown_values_stop_the_run_with_the_value_map_fix(tmp_path):
    tickets = [row.replace(",complaint,", ",投诉," if i < 6 else ",咨询,") for i, row in enumerate(TICKETS_ROWS)]
    data = write_export(tmp_path / "data", tickets=tickets)
    message = message_of(data)
    assert f"file {data / 'tickets.csv'}" in message and "column 'ticket_type'" in message
    assert "'投诉' (6 rows), '咨询' (4 rows)" in message
    assert '"投诉": complaint, "咨询": consultation' in message
    assert "line" in message and "tickets.csv" in message and "    2" in message  # the first example is line 2


def test_a_scale_mistake_stops_the_run_naming_the_column(tmp_path):
    surveys = [f"s{i},c{i % 6 + 1},2026-08-{10 + i:02d},8,{6 + i % 5},fine" for i in range(10)]  # CSAT on 1-10
    data = write_export(tmp_path / "data", surveys=surveys)
    message = message_of(data)
    assert "values of surveys.csat_score break the rule out_of_range:csat_score" in message
    assert f"file {data / 'surveys.csv'}" in message and "csat_raw / 2" in message


def test_conflicting_duplicate_lines_keep_the_first(tmp_path):
    rows = list(ORDERS_ROWS) + ["o0,1,c1,2026-07-10,999,p1,completed,online"]  # o0 line 1 again, other amount
    data = write_export(tmp_path / "data", orders=rows)
    log, layout = run_prepare(data)
    aside = quarantined(layout, "orders")
    assert aside["rule"].tolist() == ["duplicate_key"]
    assert aside["detail"].iloc[0] == "key o0/1; amount 100.0 kept, 999.0 set aside"
    prepared = pd.read_parquet(layout.prepared / "orders.parquet")
    assert prepared.loc[prepared["order_id"] == "o0", "amount"].tolist() == [100.0]
    assert_balanced(data, layout, log)


def test_an_order_id_carried_by_two_customers_is_set_aside(tmp_path):
    rows = list(ORDERS_ROWS) + ["o0,2,c2,2026-07-10,50,p1,completed,online"]  # o0 belongs to c1
    data = write_export(tmp_path / "data", orders=rows)
    log, layout = run_prepare(data)
    assert rules(layout, "orders") == {"order_with_several_customers": 2}
    assert "o0" not in set(pd.read_parquet(layout.prepared / "orders.parquet")["order_id"])
    assert_balanced(data, layout, log)


def test_signup_after_the_first_order_is_flagged(tmp_path):
    customers = CUSTOMERS.replace("c1,crm,Wang Fang,13800138000,wang.fang@example.com,11010519491231002X,individual,"
                                  "East,2025-01-10", "c1,crm,Wang Fang,,,,individual,East,2026-10-01")
    data = write_export(tmp_path / "data", customers=customers)
    log, _ = run_prepare(data)
    flagged = [e for e in log["cleaning"] if e["rule"] == "signup_after_first_order"]
    assert flagged[0]["rows"] == 1 and flagged[0]["examples"] == "c1" and flagged[0]["action"] == "flagged"


MARKERS = ("Wang Fang", "13800138000", "wang.fang@example.com", "11010519491231002X")


def test_no_personal_data_in_any_file_the_preparation_writes(tmp_path):
    # Markers in the personal columns (c1, and c1's duplicate account w1 that is merged and set
    # aside) and inside comments of tickets and surveys, kept and quarantined rows alike.
    customers = CUSTOMERS + "w1,webshop,Wang Fang,+86 138-0013-8000,Wang.Fang@example.com,11010519491231002X,,,2025-01-11\n"
    comment = "\"Wang Fang here, call 138-0013-8000 or mail wang.fang@example.com, ID 11010519491231002X\""
    surveys = list(SURVEYS_ROWS)
    surveys[0] = f"s0,c1,2026-08-10,9,5,{comment}"
    surveys[1] = f"s1,c1,2026-08-11,12,5,{comment}"                        # NPS 12: quarantined with its comment
    tickets = list(TICKETS_ROWS)
    tickets[0] = f"t0,c1,2026-08-10 09:00,complaint,2026-08-10 10:00,2026-08-11 09:00,{comment}"
    data = write_export(tmp_path / "data", customers=customers, surveys=surveys, tickets=tickets)
    log, layout = run_prepare(data)
    assert rules(layout, "customers") == {"merged_duplicate_customer": 1}
    written = [p for p in layout.root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in written) and any(p.parent.name == "quarantine" for p in written)
    for path in written:
        text = path.read_bytes()
        if path.suffix == ".parquet":
            text = pd.read_parquet(path).to_csv(index=False).encode()
        for marker in MARKERS:
            assert marker.encode() not in text, (marker, path)
    masked = log["free_text_masked"]
    assert masked["surveys.comment"]["phone"] == 2 and masked["tickets.comment"]["name"] == 1
    assert json.dumps(log)  # the log itself is one of the files checked above


def test_each_customers_facts_are_computed_once_for_every_as_of_day_the_chapters_read(tmp_path):
    data = write_export(tmp_path / "data")
    log, layout = run_prepare(data)
    # The export's orders start 2026-07-10: as of the previous quarter's end and a year before
    # nobody had an order line yet, so only the quarter's end has rows.
    orders = pd.DataFrame(ORDERS_ROWS)[0].str.split(",", expand=True)
    orders = pd.DataFrame({"order_id": orders[0], "customer_id": orders[2], "order_date": pd.to_datetime(orders[3]),
                           "amount": orders[4].astype(float), "status": "completed", "is_return": False})
    orders = orders.assign(net_amount=facts.net_amount(orders), is_purchase=facts.is_purchase(orders),
                           channel="online", category="Uncategorised")  # as the export says; no product master
    written = pd.read_parquet(layout.prepared / customer_facts.FACTS_FILE)
    days = [pd.Timestamp("2026-09-30")]
    assert sorted(written["as_of"].unique()) == days
    assert orders["order_date"].min() == pd.Timestamp("2026-07-10")
    for day in days:
        others = {name: load_prepared(layout, name) for name in ("tickets", "surveys", "events")}
        expected = customer_facts.run_pandas(orders, day, windows=(90, 180, 365), **others)
        got = written.loc[written["as_of"] == day].drop(columns="as_of").reset_index(drop=True)
        pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)
    # As of 2026-09-30 every one of the six customers has bought: c1 ... c6, 12 orders in all.
    latest = written.loc[written["as_of"] == days[0]]
    assert len(latest) == 6 and latest["purchase_orders"].sum() == 12


def test_coverage_is_the_first_and_last_day_of_each_dated_table():
    from helpers.data.prepare import coverage

    tables = {
        "orders": pd.DataFrame({"order_date": pd.to_datetime(["2026-03-31 23:59", "2025-11-02 00:00", "2026-01-15 12:00"])}),
        "surveys": pd.DataFrame({"response_date": pd.to_datetime([None, "2026-02-01"])}),
        "events": pd.DataFrame({"event_time": pd.to_datetime([None, None])}),  # no day at all: not covered
        "products": pd.DataFrame({"product_id": ["p1"]}),  # no date column
    }
    assert coverage(tables) == {"orders": {"first_day": "2025-11-02", "last_day": "2026-03-31"},
                                "surveys": {"first_day": "2026-02-01", "last_day": "2026-02-01"}}
