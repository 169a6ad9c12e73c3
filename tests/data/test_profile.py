"""The profile of the prepared tables kept for next quarter's drift check."""
import pandas as pd
import pytest

from helpers.data.profile import profile_tables


def test_rows_missing_values_and_category_values():
    orders = pd.DataFrame({"order_id": ["o1", "o2", "o3", "o4"], "channel": ["online", None, "app", "online"],
                           "amount": [1.0, 2.0, None, None]})
    profile = profile_tables({"orders": orders})["orders"]
    assert profile["rows"] == 4
    assert profile["null_rate"] == {"order_id": 0.0, "channel": 0.25, "amount": 0.5}
    assert profile["categories"] == {"channel": ["app", "online"]}   # order_id is an id, amount a number


def test_derived_segment_and_category_are_profiled_so_placeholders_can_be_told():
    customers = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["Unknown", "Unknown"]})
    orders = pd.DataFrame({"order_id": ["o1"], "category": ["Uncategorised"]})
    profile = profile_tables({"customers": customers, "orders": orders})
    assert profile["customers"]["categories"] == {"segment": ["Unknown"]}
    assert profile["orders"]["categories"] == {"category": ["Uncategorised"]}


def test_tables_as_of_cut_each_table_at_the_end_of_the_day():
    from helpers.data.profile import tables_as_of

    orders = pd.DataFrame({"order_id": ["o1", "o2", "o3"],
                           "order_date": pd.to_datetime(["2026-06-01 00:00", "2026-06-30 23:59", "2026-07-01 00:00"])})
    # a: signed up in time; b: no signup date, first purchase in time; c: no signup date, first
    # purchase after the day; d: neither date (kept); e: signed up after the day
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e"],
                              "signup_date": pd.to_datetime(["2026-01-05", None, None, None, "2026-07-02"]),
                              "first_order_date": pd.to_datetime(["2026-02-01", "2026-06-30", "2026-07-01", None,
                                                                  "2026-07-03"])})
    surveys = pd.DataFrame({"survey_id": ["s1"], "response_date": pd.to_datetime(["2026-08-01"])})
    products = pd.DataFrame({"product_id": ["P1", "P2"], "category": ["Hardware", "Training"]})
    cut = tables_as_of({"orders": orders, "customers": customers, "surveys": surveys, "products": products},
                       "2026-06-30")
    assert cut["orders"]["order_id"].tolist() == ["o1", "o2"]          # 23:59 on the day counts, midnight after not
    assert cut["customers"]["customer_id"].tolist() == ["a", "b", "d"]
    assert "surveys" not in cut                                          # no answer yet: the source did not exist
    assert cut["products"]["product_id"].tolist() == ["P1", "P2"]       # no date column: kept whole
    unsorted = tables_as_of({"orders": orders.iloc[::-1]}, "2026-06-30")["orders"]
    assert unsorted["order_id"].tolist() == ["o2", "o1"]                # not a first part: the rows kept, in order
    with pytest.raises(ValueError, match="day must be a date"):
        tables_as_of({"orders": orders}, None)


def test_profile_as_of_is_the_profile_of_the_cut_tables():
    from helpers.data.profile import profile_as_of

    orders = pd.DataFrame({"order_id": ["o1", "o2", "o3", "o4"],
                           "order_date": pd.to_datetime(["2026-05-01", "2026-06-01", "2026-06-20", "2026-08-01"]),
                           "channel": ["online", None, "online", "app"]})
    profile = profile_as_of({"orders": orders}, "2026-06-30")["orders"]
    assert profile["rows"] == 3                                          # o4 comes after the day
    assert profile["null_rate"]["channel"] == pytest.approx(0.3333)      # 1 of 3, rounded to 4 places
    assert profile["categories"] == {"channel": ["online"]}              # "app" appears only later
