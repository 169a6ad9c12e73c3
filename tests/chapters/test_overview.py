import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import make_orders  # noqa: E402

from helpers.chapters.overview import (  # noqa: E402
    cross_table,
    cross_table_finding,
    customer_distribution,
    customers_on_record,
    distribution_finding,
    growth_finding,
    growth_table,
    key_accounts,
    key_accounts_finding,
    pareto_curve,
    plot_distribution,
    plot_growth,
    plot_pareto,
    top_revenue_share,
)
from helpers.models.forecast import growth_forecast, growth_trend  # noqa: E402

Q = "2026Q3"


def _orders(revenues, date="2026-08-01"):
    """One purchase order per customer c0, c1, ... with the given amounts."""
    frame = pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(revenues))],
        "customer_id": [f"c{i}" for i in range(len(revenues))],
        "order_date": pd.Timestamp(date),
        "amount": np.asarray(revenues, dtype=float),
        "is_purchase": True,
    })
    frame["net_amount"] = frame["amount"]
    return frame


def test_pareto_share_of_top_20_percent():
    # 10 customers, revenue 100 in total: top 2 customers = 40 + 20 = 60%
    orders = _orders([40, 20, 10, 10, 5, 5, 4, 3, 2, 1])
    assert top_revenue_share(orders, Q) == pytest.approx(0.6)
    curve = pareto_curve(orders, Q, points=11)
    assert curve["revenue_share"].tolist() == pytest.approx([0, .4, .6, .7, .8, .85, .9, .94, .97, .99, 1.0])


def test_pareto_share_interpolates_between_customers():
    # 6 customers [50,20,10,10,5,5]: 20% lies a fifth of the way from customer 1 (1/6, 50%) to
    # customer 2 (2/6, 70%): 0.5 + (0.2 - 1/6) * 6 * 0.2 = 0.54
    assert top_revenue_share(_orders([5, 10, 50, 20, 10, 5]), Q) == pytest.approx(0.54)
    assert np.isnan(top_revenue_share(_orders([5.0]).iloc[:0], Q))


def test_key_accounts_ranks_by_revenue_with_returns_subtracted():
    orders = _orders([40, 20, 10, 30])
    # c0 returned 15 this quarter: net 25, so c3 (30) ranks first
    orders.loc[len(orders)] = ["r1", "c0", pd.Timestamp("2026-08-02"), -15.0, False, -15.0]
    customers = pd.DataFrame({"customer_id": ["c0", "c1", "c2", "c3"], "segment": ["Individual"] * 3 + [None],
                              "region": ["North", "South", "East", "West"]})
    accounts = key_accounts(orders, customers, Q, top_n=2)
    assert accounts["customer_id"].tolist() == ["c3", "c0"]
    assert accounts["revenue"].tolist() == [30.0, 25.0]
    # total net revenue 40 - 15 + 20 + 10 + 30 = 85
    assert accounts["share"].tolist() == pytest.approx([30 / 85, 25 / 85])
    assert accounts["cumulative_share"].iloc[-1] == pytest.approx(55 / 85)
    assert accounts["segment"].tolist() == ["Unknown", "Individual"]
    assert "c3" in key_accounts_finding(accounts, 0.5)


def test_customer_distribution_counts_all_and_active():
    customers = pd.DataFrame({"customer_id": ["c0", "c1", "c2", "c3", "c4"],
                              "region": ["North", "North", "South", None, "South"],
                              # c3 and c4 never bought: they are on record by their sign-up dates
                              "signup_date": pd.to_datetime([None, None, None, "2026-01-10", "2025-05-01"])})
    orders = _orders([10, 10, 10])  # c0, c1, c2 active
    table = customer_distribution(customers, orders, Q, "region")
    # active: North 2 (c0, c1), South 1 (c2); on record: North 2, South 2, Unknown 1
    assert table["region"].tolist() == ["North", "South", "Unknown"]
    assert table["active_customers"].tolist() == [2, 1, 0]
    assert table["customers"].tolist() == [2, 2, 1]
    assert table["share_of_active"].tolist() == pytest.approx([2 / 3, 1 / 3, 0])
    assert table["share_of_customers"].tolist() == pytest.approx([0.4, 0.4, 0.2])
    assert distribution_finding(table, "region").startswith("The largest region among active customers is North with 2")
    # a placeholder group is passed over when naming the largest, and reported on its own
    text = distribution_finding(table, "region", not_applicable=("North",))
    assert text.startswith("The largest region among active customers is South with 1 customer (33.3%).")
    assert "North (no region) accounts for 66.7%." in text
    unknown = customer_distribution(customers.assign(region=None), orders, Q, "region")
    assert distribution_finding(unknown, "region") == \
        "No region is recorded for the active customers, so their mix cannot be described."
    ax = plot_distribution(table, "region")
    assert ax.get_title() == "Customers by region" and ax.get_xlabel()
    plt.close("all")
    with pytest.raises(ValueError, match="no column 'industry'"):
        customer_distribution(customers, orders, Q, "industry")


def test_customers_on_record_at_the_quarter_end():
    # 2026Q3 ends on 2026-09-30.
    #   a  North  signed up 2026-03-01, buys 08-01           on record, active
    #   b  North  signs up 2026-10-05, never buys            not yet on record at the quarter end
    #   c  South  no sign-up date, first buys 09-30 23:00    on record (first purchase on the last day), active
    #   d  South  no sign-up date, first buys 10-01          not yet on record
    #   e  South  signed up 2026-09-30, never buys           on record (sign-up on the last day)
    #   f  West   signs up 2026-11-01 but bought 08-15       on record (bought before signing up), active
    #   g  West   no sign-up date, no purchase               cannot be placed in time: not counted
    #   h  West   signed up 2026-02-01, only a cancelled order 2026-07-10: on record by the sign-up
    customers = pd.DataFrame({
        "customer_id": list("abcdefgh"),
        "region": ["North", "North", "South", "South", "South", "West", "West", "West"],
        "signup_date": pd.to_datetime(["2026-03-01", "2026-10-05", None, None, "2026-09-30", "2026-11-01", None,
                                       "2026-02-01"]),
    })
    orders = make_orders([("o1", "a", "2026-08-01", 10), ("o2", "c", "2026-09-30 23:00", 10),
                          ("o3", "d", "2026-10-01", 10), ("o4", "f", "2026-08-15", 10),
                          ("o5", "h", "2026-07-10", 10, "cancelled")])
    assert sorted(customers_on_record(customers, orders, "2026-09-30")) == ["a", "c", "e", "f", "h"]
    assert sorted(customers_on_record(customers, orders, "2026-12-31")) == list("abcdefh")
    table = customer_distribution(customers, orders, Q, "region").set_index("region")
    # on record: North 1 (a), South 2 (c, e), West 2 (f, h) of 5; active: a, c, f, one in each region
    assert table["customers"].to_dict() == {"South": 2, "West": 2, "North": 1}
    assert table["share_of_customers"].to_dict() == pytest.approx({"South": 0.4, "West": 0.4, "North": 0.2})
    assert table["active_customers"].to_dict() == {"South": 1, "West": 1, "North": 1}
    # without a sign-up column the first purchase alone decides: a, c, f
    assert sorted(customers_on_record(customers.drop(columns="signup_date"), orders, "2026-09-30")) == ["a", "c", "f"]


def test_cross_table_suppresses_small_cells():
    # North/Individual: 5 customers (c0..c4), South/Individual: 2 customers (c5, c6),
    # East/Individual: 5 customers (c7..c11, 10 each)
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(12)],
                              "region": ["North"] * 5 + ["South"] * 2 + ["East"] * 5, "segment": "Individual"})
    orders = _orders([10, 20, 30, 40, 50, 60, 70] + [10] * 5)
    # c0 buys a second order of 50: North orders 6, purchase amount 200, repeat 1/5
    orders.loc[len(orders)] = ["o99", "c0", pd.Timestamp("2026-09-01"), 50.0, True, 50.0]
    surveys = pd.DataFrame({"customer_id": ["c0", "c1", "c2", "c3", "c4", "c5"],
                            "response_date": pd.Timestamp("2026-08-15"),
                            "nps_score": [10, 9, 8, 0, np.nan, 10], "csat_score": [5, 4, 4, 1, 3, 5]})
    table = cross_table(orders, customers, surveys, Q, ["region", "segment"], min_group_size=5)
    assert table["region"].tolist() == ["East", "North", "South"]
    north = table.iloc[1]
    assert (north["region"], north["customers"], north["orders"]) == ("North", 5, 6)
    assert north["average_order_value"] == pytest.approx(200 / 6)
    assert north["repeat_purchase_rate"] == pytest.approx(0.2)
    assert north["share_of_customers"] == pytest.approx(5 / 12)
    # NPS over 4 answers [10, 9, 8, 0]: (2 - 1) / 4 = 25 points; CSAT mean (5+4+4+1+3)/5 = 3.4
    assert north["nps"] == pytest.approx(25.0) and north["mean_csat_score"] == pytest.approx(3.4)
    assert not north["suppressed"] and north["suppression"] == ""
    south = table.iloc[2]
    assert south["suppressed"] and south["suppression"] == "primary"
    assert south[["customers", "average_order_value", "nps", "share_of_customers"]].isna().all()
    # South alone hidden in the Individual column would be 12 - 5 - 5 = 2: the smallest other cell
    # is hidden too, East and North both 5, the tie going to East (first in order)
    east = table.iloc[0]
    assert east["suppressed"] and east["suppression"] == "secondary" and np.isnan(east["customers"])
    assert cross_table_finding(table, min_group_size=5) == (
        "Among the cells shown, each of at least 5 customers, the largest group is North / Individual with 5 active "
        "customers (41.7%) and the highest average order value is in North / Individual (¥33). 2 cells are "
        "suppressed: 1 with fewer than 5 customers, and 1 more so that no hidden count can be worked out from the "
        "row and column totals.")


def test_cross_table_without_surveys_and_bad_dimensions():
    customers = pd.DataFrame({"customer_id": ["c0"], "region": ["North"], "segment": ["Individual"]})
    table = cross_table(_orders([10]), customers, None, Q, ["region", "segment"], min_group_size=1)
    assert np.isnan(table.loc[0, "nps"]) and table.loc[0, "customers"] == 1
    with pytest.raises(ValueError, match="two different"):
        cross_table(_orders([10]), customers, None, Q, ["region", "region"])


def test_plot_pareto_has_labels():
    ax = plot_pareto(pareto_curve(_orders([40, 20, 10, 10, 5, 5, 4, 3, 2, 1]), Q))
    assert ax.get_title() == "Revenue concentration (Pareto curve)"
    assert "(%)" in ax.get_xlabel() and "(%)" in ax.get_ylabel()
    plt.close("all")


def test_growth_trend_and_forecast():
    # c0 first buys 2026Q1 and again 2026Q3; c1 first buys 2026Q3. The data run from 2026-02-01
    # (2026Q1 partial) to 2026-09-28 (within a week of the quarter's end: 2026Q3 full).
    orders = pd.concat([_orders([100], "2026-02-01"), _orders([50, 70], "2026-08-01"), _orders([10], "2026-09-28")],
                       ignore_index=True)
    orders["order_id"] = ["a", "b", "c", "d"]
    orders.loc[3, "customer_id"] = "c0"
    trend = growth_trend(orders, Q, n_quarters=4)
    assert trend["quarter"].tolist() == ["2026Q1", "2026Q2", "2026Q3"]   # 2025Q4 is before the data
    assert trend["coverage"].tolist() == ["partial", "full", "full"]
    assert trend["new_customers"].isna().tolist() == [True, False, False]  # 2026Q1 starts before the data
    assert trend["new_customers"].tolist()[1:] == [0.0, 1.0]
    assert trend["active_customers"].tolist() == [1, 0, 2]
    assert trend["revenue"].tolist() == [100.0, 0.0, 130.0]
    forecast = growth_forecast(trend, min_quarters=2)
    ahead = forecast.loc[forecast["kind"] == "forecast"].set_index("metric")
    assert set(ahead["quarter"]) == {"2026Q4"}
    # 2 full quarters: last-value method, so forecast = last value
    assert ahead.loc["active_customers", "value"] == 2.0
    assert ahead.loc["active_customers", "lower"] >= 0
    assert len(forecast) == 3 * 4
    table = growth_table(forecast)
    assert table["quarter"].tolist() == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert table["kind"].tolist() == ["actual"] * 3 + ["forecast"]
    assert table["coverage"].tolist() == ["partial", "full", "full", "forecast"]
    assert table["revenue"].tolist()[:3] == [100.0, 0.0, 130.0]
    assert pd.isna(table["new_customers"].iloc[0])
    text = growth_finding(forecast)
    assert text.startswith("Active customers went from 0 in 2026Q2 to 2 in 2026Q3. 2026Q1 is only partly covered")
    ax = plot_growth(forecast)
    assert ax.get_ylabel() == "Customers" and "forecast" in ax.get_title()
    assert any("partly covered" in t.get_text() for t in ax.get_legend().get_texts())
    plt.close("all")
