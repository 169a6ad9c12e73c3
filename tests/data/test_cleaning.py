"""Each cleaning rule on a hand-made frame, and the reconciliation of rows in and out."""
import pandas as pd
import pytest

from helpers.data import cleaning
from helpers.data.schema import SOURCES
from helpers.errors import DataError


def customers(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "source_system", "email", "phone", "signup_date", "birth_year"])
    for column in SOURCES["customers"].names:
        if column not in frame:
            frame[column] = pd.NA
    frame["signup_date"] = pd.to_datetime(frame["signup_date"])
    return frame[SOURCES["customers"].names]


def orders(rows):
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount"])
    for column in SOURCES["orders"].names:
        if column not in frame:
            frame[column] = pd.NA
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["status"] = "completed"
    frame["is_return"] = False
    return frame[SOURCES["orders"].names]


def test_normalisers():
    assert cleaning.normalise_email(pd.Series([" Li.Wei@Example.COM ", "no-at-sign", None])).tolist()[:2] == [
        "li.wei@example.com", pd.NA]
    phones = pd.Series(["+86 138-0013-8000", "13800138000", "0086 13800138000", "12"])
    assert cleaning.normalise_phone(phones).tolist()[:3] == ["13800138000"] * 3
    assert pd.isna(cleaning.normalise_phone(phones).iloc[3])


def test_merge_duplicate_customers_transitively_keeps_crm_and_fills_gaps():
    frame = customers([
        ("W1", "webshop", "A@X.com ", "111-2222-3333", "2024-01-05", 1990),   # same e-mail as C1
        ("C1", "crm", "a@x.com", None, "2024-03-01", None),
        ("W2", "webshop", None, "11122223333", "2024-02-01", None),          # same phone as W1 -> same person
        ("C2", "crm", "b@x.com", "999", "2024-01-01", 1980),
    ])
    q = cleaning.Quarantine()
    kept, id_map = cleaning.merge_duplicate_customers(frame, q)
    assert sorted(kept["customer_id"]) == ["C1", "C2"]
    assert id_map.to_dict() == {"W1": "C1", "W2": "C1"}
    c1 = kept.set_index("customer_id").loc["C1"]
    assert c1["birth_year"] == 1990                               # filled from the web-shop account
    assert c1["signup_date"] == pd.Timestamp("2024-01-05")        # earliest signup of the merged accounts
    assert q.removed("customers") == 2
    assert q.log[0]["rule"] == "merged_duplicate_customer"


def test_remap_logs_changed_rows_without_removing():
    q = cleaning.Quarantine()
    frame = orders([("o1", "W1", "2026-07-01", 5), ("o2", "C2", "2026-07-01", 6)])
    out = cleaning.remap_customer_ids(frame, "orders", pd.Series({"W1": "C1"}), q)
    assert out["customer_id"].tolist() == ["C1", "C2"]
    assert q.removed("orders") == 0 and q.log[0]["action"] == "changed" and q.log[0]["rows"] == 1


def test_exact_duplicates_future_dates_non_positive_and_orphans_reconcile():
    frame = orders([
        ("o1", "a", "2026-07-01", 10),
        ("o1", "a", "2026-07-01", 10),      # exact copy -> removed
        ("o2", "a", "2062-07-01", 10),      # future -> removed
        ("o3", "b", "2026-07-02", 0),       # zero amount, not a return -> removed
        ("o4", "zz", "2026-07-03", 5),      # unknown customer -> removed
        ("o5", "b", "2026-07-04", -3),      # negative, but flagged a return below -> kept
    ])
    frame.loc[5, "is_return"] = True
    q = cleaning.Quarantine()
    kept = cleaning.drop_exact_duplicates(frame, "orders", q)
    kept = cleaning.check_domains(kept, "orders", q, earliest=pd.Timestamp("2000-01-01"), as_of=pd.Timestamp("2026-11-23"),
                                  max_share=0.5)
    kept = cleaning.drop_non_positive_amounts(kept, q)
    kept = cleaning.drop_orphans(kept, "orders", pd.Index(["a", "b"]), q)
    assert kept["order_id"].tolist() == ["o1", "o5"]
    rules = {entry["rule"]: entry["rows"] for entry in q.log}
    assert rules == {"exact_duplicate": 1, "future_date": 1, "non_positive_amount": 1, "orphan_customer_id": 1}
    assert len(frame) == len(kept) + q.removed("orders")  # 6 = 2 + 4


def test_duplicate_keys_keep_first_and_missing_required(tmp_path):
    frame = customers([("C1", "crm", "a@x", None, "2024-01-01", 1990), ("C1", "crm", "b@x", None, "2024-02-01", 1991),
                       (None, "crm", "c@x", None, "2024-02-01", 1992)])
    q = cleaning.Quarantine()
    kept = cleaning.drop_missing_required(frame, "customers", q)
    kept = cleaning.drop_duplicate_keys(kept, "customers", q)
    assert kept["email"].tolist() == ["a@x"]
    q.write(tmp_path)
    written = pd.read_csv(tmp_path / "customers.csv")
    assert written["rule"].tolist() == ["missing_required_value:customer_id", "duplicate_key"]
    assert written["detail"].tolist() == ["customer_id is empty", "key C1; signup_date 2024-01-01 kept, 2024-02-01 set aside; "
                                          "birth_year 1990 kept, 1991 set aside"]
    assert "email" not in written  # personal columns never reach a quarantine file


def test_is_in_matches_pandas_isin_for_arrow_and_object_text():
    keys = pd.Index(["C1", "C3"])
    for dtype in ("str", "string", object):
        values = pd.Series(["C1", "C2", None, "C3"], dtype=dtype)
        assert cleaning.is_in(values, keys).tolist() == [True, False, False, True]


def surveys(rows):
    frame = pd.DataFrame(rows, columns=["survey_id", "customer_id", "response_date", "nps_score", "csat_score"])
    for column in SOURCES["surveys"].names:
        if column not in frame:
            frame[column] = pd.NA
    frame["response_date"] = pd.to_datetime(frame["response_date"])
    frame["_source_file"], frame["_source_row"] = "surveys.csv", range(2, 2 + len(frame))
    return frame


DAYS = dict(earliest=pd.Timestamp("2000-01-01"), as_of=pd.Timestamp("2026-11-30"))


def test_scores_outside_their_scale_and_infinite_amounts_are_set_aside_by_rule():
    frame = surveys([("s1", "a", "2026-07-01", 11, 4), ("s2", "a", "2026-07-02", 9, 6), ("s3", "b", "2026-07-03", 0, 1),
                     ("s4", "b", "2026-07-04", 10, 5), ("s5", "c", "2026-07-05", None, 5)])
    q = cleaning.Quarantine()
    kept = cleaning.check_domains(frame, "surveys", q, max_share=0.5, **DAYS)
    assert kept["survey_id"].tolist() == ["s3", "s4", "s5"]          # 0 and 10, 1 and 5 are on the scales
    rules = {e["rule"]: e["rows"] for e in q.log}
    assert rules == {"out_of_range:nps_score": 1, "out_of_range:csat_score": 1}
    assert q.frames["surveys"][0]["detail"].tolist() == ["nps_score=11.0 outside 0 to 10"]

    lines = orders([("o1", "a", "2026-07-01", float("inf")), ("o2", "a", "2026-07-01", 10),
                    ("o3", "a", "2026-07-01", 2e9), ("o4", "a", "1900-01-01", 5)])
    q = cleaning.Quarantine()
    kept = cleaning.check_domains(lines, "orders", q, amount_ceiling=1e6, max_share=0.9, **DAYS)
    assert kept["order_id"].tolist() == ["o2"]
    assert {e["rule"] for e in q.log} == {"non_finite_value:amount", "amount_above_ceiling:amount",
                                           "date_before_earliest:order_date"}


def test_a_rule_broken_by_most_of_a_column_stops_the_run_with_the_fix():
    frame = surveys([(f"s{i}", "a", "2026-07-01", 5, 7 + i % 3) for i in range(10)])  # CSAT on a 1-10 scale
    with pytest.raises(DataError) as error:
        cleaning.check_domains(frame, "surveys", cleaning.Quarantine(), max_share=0.2, label="surveys.csv", **DAYS)
    message = str(error.value)
    assert "10 of 10 values of surveys.csat_score break the rule out_of_range:csat_score" in message
    assert "file surveys.csv" in message and "column 'csat_score'" in message
    assert "line" in message and "csat_raw / 2" in message


def test_ticket_times_before_opening_are_set_aside():
    frame = pd.DataFrame({"ticket_id": ["t1", "t2", "t3"], "customer_id": ["a"] * 3,
                          "created_at": pd.to_datetime(["2026-07-01 10:00"] * 3),
                          "first_response_at": pd.to_datetime(["2026-07-01 09:00", "2026-07-01 10:00", None]),
                          "resolved_at": pd.to_datetime(["2026-07-02", "2026-07-02", "2026-06-30"]),
                          "ticket_type": ["complaint"] * 3})
    q = cleaning.Quarantine()
    kept = cleaning.check_domains(frame, "tickets", q, max_share=0.9, **DAYS)
    assert kept["ticket_id"].tolist() == ["t2"]  # a response at the very minute of opening is fine
    assert [e["rule"] for e in q.log] == ["date_order:first_response_at", "date_order:resolved_at"]


def test_customer_attributes_out_of_bounds_are_cleared_not_dropped():
    frame = customers([("C1", "crm", None, None, "1900-01-01", 1850), ("C2", "crm", None, None, "2024-01-01", 1990),
                       ("C3", "crm", None, None, "2024-01-01", 1991), ("C4", "crm", None, None, "2024-01-01", 1992)])
    q = cleaning.Quarantine()
    kept = cleaning.check_domains(frame, "customers", q, max_share=0.5, **DAYS)
    assert kept["customer_id"].tolist() == ["C1", "C2", "C3", "C4"]       # no customer lost, so no order orphaned
    assert pd.isna(kept.loc[0, "signup_date"]) and pd.isna(kept.loc[0, "birth_year"])
    assert q.removed("customers") == 0 and {e["action"] for e in q.log} == {"changed"}


def test_vocabularies_fold_case_and_spaces_and_use_the_value_map():
    frame = pd.DataFrame({"customer_id": ["a"] * 6, "event_time": pd.to_datetime(["2026-07-01"] * 6),
                          "event_type": [" VISIT", "visit", "Add to cart", "下单", "page_view", None],
                          "channel": ["Web", "APP", "web", "web", "web", "web"]})
    q = cleaning.Quarantine()
    kept = cleaning.normalise_vocabularies(frame, "events", q, value_map={"event_type": {"下单": "purchase"}},
                                           max_share=0.2)
    assert kept["event_type"].tolist()[:4] == ["visit", "visit", "add_to_cart", "purchase"]
    assert pd.isna(kept["event_type"].iloc[-1])
    assert kept["channel"].tolist() == ["web", "app", "web", "web", "web"]
    assert [(e["rule"], e["rows"]) for e in q.log] == [("unknown_value:event_type", 1)]  # page_view: 1 of 5, rare
    assert q.frames["events"][0]["detail"].tolist() == ["event_type=page_view"]


def test_unknown_values_that_are_common_stop_with_the_value_map_lines():
    statuses = ["completed"] * 5 + ["pending"] * 3 + ["已取消"] * 2
    frame = orders([(f"o{i}", "a", "2026-07-01", 10) for i in range(10)]).assign(status=statuses)
    frame["_source_file"], frame["_source_row"] = "orders.csv", range(2, 12)
    with pytest.raises(DataError) as error:
        cleaning.normalise_vocabularies(frame, "orders", cleaning.Quarantine(), max_share=0.2, label="orders.csv")
    message = str(error.value)
    assert "5 of 10 values of orders.status are not among completed, cancelled, refunded" in message
    assert "'pending' (3 rows), '已取消' (2 rows)" in message
    assert '"已取消": cancelled' in message and '"pending": <completed | cancelled | refunded>' in message
    assert "value_map" in message and "line" in message and " 7" in message  # first pending row is line 7


def test_conflicting_lines_keep_the_first_and_say_what_differs():
    frame = orders([("o1", "a", "2026-07-01", 100.0), ("o1", "a", "2026-07-01", 120.0), ("o2", "a", "2026-07-01", 5.0)])
    frame["line_id"] = ["1", "1", "1"]
    q = cleaning.Quarantine()
    kept = cleaning.drop_duplicate_keys(frame, "orders", q)
    assert kept["amount"].tolist() == [100.0, 5.0]
    assert q.frames["orders"][0]["detail"].tolist() == ["key o1/1; amount 100.0 kept, 120.0 set aside"]
    # Without line ids there is no line key: lines of one order are all kept.
    no_lines = frame.assign(line_id=pd.NA)
    assert len(cleaning.drop_duplicate_keys(no_lines, "orders", cleaning.Quarantine())) == 3


def test_an_order_carried_by_two_customers_is_set_aside_whole():
    frame = orders([("o1", "a", "2026-07-01", 10), ("o1", "b", "2026-07-01", 20), ("o1", "a", "2026-07-01", 5),
                    ("o2", "a", "2026-07-01", 7)])
    q = cleaning.Quarantine()
    kept = cleaning.drop_orders_with_several_customers(frame, q)
    assert kept["order_id"].tolist() == ["o2"]
    assert q.removed("orders") == 3 and q.frames["orders"][0]["detail"].iloc[0] == "order o1 carries 2 customers"


def test_repeated_rows_are_the_later_copies_with_missing_equal_to_missing():
    frame = pd.DataFrame({
        "id": pd.array(["x", None, "x", None, "y", "x"], dtype="string"),
        "amount": [1.0, float("nan"), 1.0, float("nan"), 1.0, 2.0],
        "day": pd.to_datetime(["2026-07-01", None, "2026-07-01", None, "2026-07-01", "2026-07-01"]),
    }, index=[10, 11, 12, 13, 14, 15])
    # Row 12 repeats row 10 and row 13 repeats row 11 (all missing alike); 14 and 15 differ from 10 in one column.
    assert cleaning.repeated_rows(frame, ["id", "amount", "day"]).tolist() == [False, False, True, True, False, False]
    assert cleaning.repeated_rows(frame, ["id"]).tolist() == [False, False, True, True, False, True]
    assert cleaning.repeated_rows(frame, ["amount"]).tolist() == [False, False, True, True, True, False]
    assert cleaning.repeated_rows(frame.iloc[:1], ["id"]).tolist() == [False]


def test_an_order_with_a_third_customer_says_three():
    frame = orders([("o1", "a", "2026-07-01", 10), ("o1", "b", "2026-07-01", 20), ("o1", "c", "2026-07-01", 5),
                    ("o1", "a", "2026-07-02", 5), ("o2", "a", "2026-07-01", 7)])
    q = cleaning.Quarantine()
    assert cleaning.drop_orders_with_several_customers(frame, q)["order_id"].tolist() == ["o2"]
    assert set(q.frames["orders"][0]["detail"]) == {"order o1 carries 3 customers"}


def test_signup_after_first_order_is_flagged_and_kept():
    frame = pd.DataFrame({"customer_id": ["a", "b"], "signup_date": [pd.Timestamp("2026-07-05"), pd.Timestamp("2026-07-01 23:00")],
                          "first_order_date": [pd.Timestamp("2026-07-01"), pd.Timestamp("2026-07-01 08:00")]})
    q = cleaning.Quarantine()
    cleaning.flag_signup_after_first_order(frame, q)
    assert q.log[0]["rule"] == "signup_after_first_order" and q.log[0]["rows"] == 1 and q.log[0]["examples"] == "a"
