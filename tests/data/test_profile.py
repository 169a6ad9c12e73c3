"""The profile of the prepared tables kept for next quarter's drift check."""
import pandas as pd

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
