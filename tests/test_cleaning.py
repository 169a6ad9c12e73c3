"""Each cleaning rule on a hand-made frame, and the reconciliation of rows in and out."""
import pandas as pd

from helpers import cleaning
from helpers.schema import SOURCES


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
    kept = cleaning.drop_future_dates(kept, "orders", pd.Timestamp("2026-11-23"), q)
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
    assert written["detail"].tolist() == ["customer_id is empty", "key C1"]


def test_is_in_matches_pandas_isin_for_arrow_and_object_text():
    keys = pd.Index(["C1", "C3"])
    for dtype in ("str", "string", object):
        values = pd.Series(["C1", "C2", None, "C3"], dtype=dtype)
        assert cleaning.is_in(values, keys).tolist() == [True, False, False, True]
