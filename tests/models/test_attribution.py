import pandas as pd
import pytest

from helpers.models.attribution import attribute_change, main_contributor

CUSTOMERS = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "region": ["East", "East", "South", "South"]})


def units(pairs):
    return pd.DataFrame({"customer_id": [p[0] for p in pairs], "value": [float(p[1]) for p in pairs]})


def test_rate_change_splits_exactly_into_groups():
    now = units([("a", 1), ("b", 0), ("c", 1)])             # churn 2/3
    previous = units([("a", 0), ("b", 0), ("c", 1), ("d", 0)])  # churn 1/4
    table = attribute_change(now, previous, CUSTOMERS, "churn_rate", ["region"]).set_index("group")
    # East: 2/3 x 0.5 - 2/4 x 0 = 1/3 ; South: 1/3 x 1 - 2/4 x 0.5 = 1/12 ; total 2/3 - 1/4 = 5/12
    assert table.loc["East", "contribution"] == pytest.approx(1 / 3)
    assert table.loc["South", "contribution"] == pytest.approx(1 / 12)
    assert table["contribution"].sum() == pytest.approx(5 / 12)
    assert main_contributor(table.reset_index(), adverse_sign=+1)["group"] == "East"


def test_additive_change_and_unknown_group():
    now = units([("a", 100), ("c", 50), ("zz", 10)])
    previous = units([("a", 80), ("c", 120)])
    table = attribute_change(now, previous, CUSTOMERS, "revenue", ["region"]).set_index("group")
    assert table.loc["East", "contribution"] == 20          # 100 - 80
    assert table.loc["South", "contribution"] == -70        # 50 - 120
    assert table.loc["Unknown", "contribution"] == 10
    assert main_contributor(table.reset_index(), adverse_sign=-1)["group"] == "South"
    assert main_contributor(table.reset_index().iloc[1:2].assign(contribution=5.0), adverse_sign=-1) is None


def test_unknown_dimension_is_an_error():
    with pytest.raises(ValueError, match="no column"):
        attribute_change(units([]), units([]), CUSTOMERS, "revenue", ["industry"])


def test_a_group_that_explains_little_of_the_change_is_no_cause():
    # active customers fell by 10 (40 -> 30): Norway lost 1, every other country a little; no group
    # explains half of the fall, so none is named
    table = pd.DataFrame({"dimension": "region", "group": ["Norway", "France", "Spain", "Italy", "UK"],
                          "units_now": [4, 6, 6, 7, 7], "units_previous": [5, 8, 8, 9, 10],
                          "contribution": [-1.0, -2.0, -2.0, -2.0, -3.0]})
    assert main_contributor(table, adverse_sign=-1) is None
    # UK losing 6 of the 10 is a cause
    table.loc[4, "contribution"], table.loc[3, "contribution"], table.loc[2, "contribution"] = -6.0, 0.0, -1.0
    assert main_contributor(table, adverse_sign=-1)["group"] == "UK"
    assert main_contributor(table, adverse_sign=-1, min_share=0.7) is None
