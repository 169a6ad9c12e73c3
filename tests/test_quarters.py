import pandas as pd
import pytest

from helpers.quarters import Quarter, quarter_labels


def test_parse_and_bounds():
    q = Quarter.parse("2026q3")
    assert str(q) == "2026Q3"
    assert q.start == pd.Timestamp("2026-07-01")
    assert q.last_day == pd.Timestamp("2026-09-30")
    assert q.end < pd.Timestamp("2026-10-01") and q.end > pd.Timestamp("2026-09-30 23:59:59")
    assert q.days == 92


def test_previous_year_ago_and_trailing_cross_year_boundaries():
    q = Quarter.parse("2026Q1")
    assert str(q.previous()) == "2025Q4"
    assert str(q.year_ago()) == "2025Q1"
    assert [str(x) for x in q.trailing(8)] == ["2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2", "2025Q3",
                                               "2025Q4", "2026Q1"]
    assert str(Quarter.parse("2025Q4").shift(1)) == "2026Q1"


@pytest.mark.parametrize("bad", ["2026Q5", "2026-Q3", "Q3 2026", ""])
def test_bad_quarter_names_the_expected_form(bad):
    with pytest.raises(ValueError, match="YYYYQn"):
        Quarter.parse(bad)


def test_contains_and_labels():
    dates = pd.Series(pd.to_datetime(["2026-06-30 23:59", "2026-07-01 00:00", "2026-09-30 23:00", "2026-10-01 00:00"]))
    assert Quarter.parse("2026Q3").contains(dates).tolist() == [False, True, True, False]
    assert quarter_labels(dates).tolist() == ["2026Q2", "2026Q3", "2026Q3", "2026Q4"]
    assert str(Quarter.containing("2026-11-23")) == "2026Q4"
