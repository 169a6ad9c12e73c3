"""helpers.facts.customer_facts: one SQL text on DuckDB and Spark, a pandas reference, values by hand."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import skip_without_spark

from helpers import facts
from helpers.demo.generator import iter_sources
from helpers.facts import customer_facts as aggregation

AS_OF = "2026-09-30"
# Window starts (a window of w days holds the days with as_of - day < w):
#   90 days:  2026-07-03 .. 2026-09-30  (2026-07-02 is 90 days before: outside)
#   180 days: 2026-04-04 .. 2026-09-30
#   365 days: 2025-10-01 .. 2026-09-30  (2025-09-30 .. 2026-09-30 has no 29 February)
ROWS = [
    # order, line, customer, order_date, amount, status, is_return
    ("o1", "1", "A", "2025-08-15 10:00:00", 100.0, "completed", False),  # 411 days before: only in totals
    ("o2", "1", "A", "2025-10-01 09:00:00", 35.0, "completed", False),   # 364 days: first day of the 365-day window
    ("o3", "1", "A", "2026-07-02 09:30:00", 40.0, "completed", False),   # 90 days: just outside the 90-day window
    ("o3", "2", "A", "2026-07-02 09:30:00", 10.0, "completed", False),   # second line of the same order
    ("o4", "1", "A", "2026-09-30 23:59:59", 25.0, "completed", False),   # last second of the as-of day: counts
    ("o5", "1", "B", "2026-07-03 08:00:00", 60.0, "completed", False),   # 89 days: first day of the 90-day window
    ("o6", "1", "B", "2026-07-03 17:00:00", 15.0, "completed", False),   # second order on the same day
    ("o7", "1", "B", "2026-08-10 12:00:00", -20.0, "completed", True),   # a return, 51 days before
    ("o8", "1", "B", "2026-10-01 00:00:00", 500.0, "completed", False),  # after the as-of day: ignored
    ("o9", "1", "C", "2026-09-01 11:00:00", 70.0, "cancelled", False),   # cancelled: no purchase, net 0
]


def _prepare(orders: pd.DataFrame) -> pd.DataFrame:
    """The derived columns the preparation adds, from their one definition."""
    orders = orders.copy()
    orders["net_amount"] = facts.net_amount(orders)
    orders["is_purchase"] = facts.is_purchase(orders)
    orders["category"] = "x"
    return orders


@pytest.fixture
def orders() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=["order_id", "line_id", "customer_id", "order_date", "amount", "status", "is_return"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return _prepare(frame)


def expected_by_hand() -> pd.DataFrame:
    nat, na = pd.NaT, pd.NA
    frame = pd.DataFrame({
        "customer_id": ["A", "B", "C"],
        "first_purchase": [pd.Timestamp("2025-08-15 10:00:00"), pd.Timestamp("2026-07-03 08:00:00"), nat],
        "last_purchase": [pd.Timestamp("2026-09-30 23:59:59"), pd.Timestamp("2026-07-03 17:00:00"), nat],  # B: o8 ignored
        # A: o1 o2 o3 o4; B: o5 o6 (o7 is a return, o8 after the as-of day); C: cancelled only
        "purchase_orders": [4, 2, 0],
        "purchase_orders_90d": [1, 2, 0],   # A: o4; B: o5 o6 (89 days)
        "purchase_orders_180d": [2, 2, 0],  # A: o3 (90 days) o4
        "purchase_orders_365d": [3, 2, 0],  # A: o2 (364 days) o3 o4
        "purchase_value": [210.0, 75.0, 0.0],       # A: 100 + 35 + 40 + 10 + 25; B: 60 + 15
        "purchase_value_90d": [25.0, 75.0, 0.0],
        "purchase_value_180d": [75.0, 75.0, 0.0],   # A: 40 + 10 + 25
        "purchase_value_365d": [110.0, 75.0, 0.0],  # A: 35 + 75
        "net_revenue": [210.0, 55.0, 0.0],          # B: 75 - 20 (return); C: cancelled counts 0
        "net_revenue_90d": [25.0, 55.0, 0.0],
        "net_revenue_180d": [75.0, 55.0, 0.0],
        "net_revenue_365d": [110.0, 55.0, 0.0],
        "purchase_days": [4, 1, 0],   # A: 2025-08-15, 2025-10-01, 2026-07-02, 2026-09-30; B: 2026-07-03
        "return_lines": [0, 1, 0],
        "days_since_last_purchase": [0, 89, na],
        "tenure_days": [411, 89, na],  # A: 2025-08-15 -> 2026-08-15 is 365 days, + 16 + 30 to 09-30
        # No channel column, every line of category "x"; no tickets, surveys or events given.
        "main_channel": [na, na, na],
        "main_category": ["x", "x", na],  # C: no purchase in the 365 days
        "complaints_90d": [na, na, na],
        "last_nps": [np.nan, np.nan, np.nan],
        "last_csat": [np.nan, np.nan, np.nan],
        "sessions_90d": [na, na, na],
    })
    for column in ("customer_id", "main_channel", "main_category"):
        frame[column] = frame[column].astype("string")
    for column in ("first_purchase", "last_purchase"):
        frame[column] = frame[column].astype("datetime64[ns]")
    for column in ("days_since_last_purchase", "tenure_days", "complaints_90d", "sessions_90d"):
        frame[column] = frame[column].astype("Int64")
    return frame


def assert_same(result: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Identical frames: ids, counts, dates and sums (sums are rounded to 6 decimals by every
    engine, so the engines' different orders of addition leave no trace on amounts in cents)."""
    pd.testing.assert_frame_equal(result, expected, check_exact=True)


def test_pandas_reference_gives_the_hand_values(orders):
    result = aggregation.run_pandas(orders, AS_OF)
    assert list(result.columns) == aggregation.output_columns()
    pd.testing.assert_frame_equal(result, expected_by_hand(), check_exact=True)


def test_duckdb_gives_the_hand_values_from_a_frame_and_from_parquet(orders, tmp_path):
    pd.testing.assert_frame_equal(aggregation.run_duckdb(orders, AS_OF), expected_by_hand(), check_exact=True)
    path = aggregation.write_orders_parquet(orders, tmp_path / "orders.parquet")
    pd.testing.assert_frame_equal(aggregation.run_duckdb(path, AS_OF), expected_by_hand(), check_exact=True)


def test_the_as_of_day_includes_its_whole_day_and_nothing_after(orders):
    # One day earlier: A's o4 (30 September) drops out and every age shrinks by one day.
    result = aggregation.run_duckdb(orders, "2026-09-29").set_index("customer_id")
    assert result.loc["A", "purchase_orders"] == 3
    assert result.loc["A", "days_since_last_purchase"] == 89  # 2026-07-02
    assert result.loc["A", "purchase_orders_90d"] == 1  # o3 (2026-07-02) is now inside the 90 days
    assert result.loc["B", "tenure_days"] == 88
    # A time of day is dropped: the whole as-of day counts.
    pd.testing.assert_frame_equal(aggregation.run_duckdb(orders, "2026-09-30 08:00"), expected_by_hand(), check_exact=True)


def test_sums_keep_no_residue_of_the_order_of_additions():
    # 0.1 + 0.2 - 0.3 is 5.6e-17 in floating point, 0.1 - 0.3 + 0.2 is 2.8e-17: rounded to 6
    # decimals both are 0, so no engine reports a customer's purchase and return as revenue.
    frame = pd.DataFrame({
        "order_id": ["p1", "p2", "r1"], "line_id": "1", "customer_id": "D",
        "order_date": pd.to_datetime(["2026-09-01", "2026-09-02", "2026-09-03"]),
        "amount": [0.1, 0.2, -0.3], "status": "completed", "is_return": [False, False, True],
    })
    frame = _prepare(frame)
    assert 0.1 + 0.2 - 0.3 != 0
    for result in (aggregation.run_pandas(frame, AS_OF), aggregation.run_duckdb(frame, AS_OF)):
        assert result.loc[0, "net_revenue"] == 0.0 and result.loc[0, "net_revenue_90d"] == 0.0
        assert result.loc[0, "purchase_value"] == 0.3


def test_the_sql_holds_only_validated_literals():
    sql = aggregation.customer_aggregates_sql(pd.Timestamp(AS_OF), windows=(30,))
    assert re.findall(r"DATE '[^']*'", sql) == ["DATE '2026-09-30'", "DATE '2026-09-01'", "DATE '2026-09-01'",
                                                "DATE '2026-09-01'", "DATE '2026-09-30'", "DATE '2026-09-30'"]
    assert aggregation.output_columns((30,))[3:9] == ["purchase_orders", "purchase_orders_30d", "purchase_value",
                                                      "purchase_value_30d", "net_revenue", "net_revenue_30d"]
    for bad in ("2026-09-30'; DROP TABLE orders; --", "not a date", None, pd.Timestamp("2026-09-30", tz="UTC")):
        with pytest.raises(ValueError, match="as_of"):
            aggregation.customer_aggregates_sql(bad)
    for bad in ((0,), (90, 90), ("90",), (True,), (2.5,), ()):
        with pytest.raises(ValueError, match="windows"):
            aggregation.customer_aggregates_sql(AS_OF, windows=bad)


def test_inputs_are_checked(orders):
    with pytest.raises(ValueError, match="lacks column"):
        aggregation.run_pandas(orders.drop(columns="net_amount"), AS_OF)
    with pytest.raises(ValueError, match="time zone"):
        aggregation.run_duckdb(orders.assign(order_date=orders["order_date"].dt.tz_localize("UTC")), AS_OF)
    with pytest.raises(ValueError, match="missing values"):
        aggregation.run_pandas(orders.assign(customer_id=orders["customer_id"].where(orders.index > 0)), AS_OF)


# ----------------------------------------------------------------------------- the other prepared tables
# As of 2026-09-30: the 90 days are 2026-07-03 .. 2026-09-30, the 365 days 2025-10-01 .. 2026-09-30.
CONTEXT_ORDERS = [
    # order, line, customer, order_date, amount, status, is_return, channel, category
    ("a1", "1", "A", "2026-09-01 10:00", 50.0, "completed", False, "online", "Tools"),
    ("a2", "1", "A", "2026-08-01 10:00", 30.0, "completed", False, "app", "Parts"),
    ("a2", "2", "A", "2026-08-01 10:00", 20.0, "completed", False, "app", "Tools"),    # app 50 = online 50: app
    ("a3", "1", "A", "2025-09-30 12:00", 1000.0, "completed", False, "offline", "Parts"),  # 365 days: outside
    ("a4", "1", "A", "2026-09-20 12:00", 500.0, "cancelled", False, "offline", "Parts"),   # no purchase
    ("b1", "1", "B", "2025-10-01 00:00", 10.0, "completed", False, "online", "Parts"),  # 364 days: inside
    ("b3", "1", "B", "2026-09-01 09:00", 10.0, "completed", False, "online", "Tools"),  # Parts 10 = Tools 10: Parts
    ("b2", "1", "B", "2026-10-01 00:00", 80.0, "completed", False, "offline", "Tools"),  # after the as-of day
    ("c1", "1", "C", "2025-06-01 12:00", 40.0, "completed", False, "app", "Tools"),     # no purchase in 365 days
]
TICKETS = [
    # ticket, customer, created_at, ticket_type
    ("t1", "A", "2026-07-03 10:00:00", "complaint"),     # 89 days before: in
    ("t2", "A", "2026-07-02 23:59:59", "complaint"),     # 90 days before: out
    ("t3", "A", "2026-09-10 09:00:00", "consultation"),  # not a complaint
    ("t4", "A", "2026-09-30 23:59:59", "complaint"),     # the as-of day: in
    ("t5", "A", "2026-10-01 00:00:00", "complaint"),     # after the as-of day
    ("t6", "B", "2026-09-01 09:00:00", "consultation"),
    ("t7", "D", "2026-09-01 09:00:00", "complaint"),     # D has no orders: no row
]
SURVEYS = [
    # survey, customer, response_date, nps_score, csat_score
    ("s01", "A", "2026-09-01 12:00", 9.0, 4.0),
    ("s02", "A", "2026-09-01 12:00", 3.0, np.nan),  # the same time as s01, the larger id: its NPS wins
    ("s99", "A", "2026-09-01 08:00", 1.0, 1.0),     # the largest id but earlier that day
    ("s05", "A", "2026-10-01 00:00", 10.0, 5.0),    # after the as-of day
    ("s03", "B", "2026-05-01 10:00", 7.0, 5.0),     # the only NPS of B
    ("s04", "B", "2026-08-01 10:00", np.nan, 2.0),
    ("s06", "D", "2026-09-01 10:00", 0.0, 1.0),
]
EVENTS = [
    # customer, event_time, event_type, session_id
    ("A", "2026-09-01 10:00", "visit", "x1"),
    ("A", "2026-09-01 18:00", "visit", "x5"),         # a second session that day
    ("A", "2026-09-01 18:05", "product_view", "x5"),
    ("A", "2026-07-03 00:00", "visit", "x2"),         # 89 days before: in
    ("A", "2026-07-02 23:59", "visit", "x3"),         # 90 days before: out
    ("A", "2026-10-01 00:00", "visit", "x4"),         # after the as-of day
    ("B", "2026-09-29 23:50", "visit", "y1"),         # one session over midnight: two days
    ("B", "2026-09-30 00:10", "product_view", "y1"),
    ("B", "2026-09-30 12:00", "visit", None),         # no session id: not a session
    ("D", "2026-09-01 10:00", "visit", "z1"),
]


def context_tables() -> dict[str, pd.DataFrame]:
    """Orders with channel and category, and the tickets, surveys and events of ``TICKETS`` ...
    with the prepared tables' columns."""
    columns = ["order_id", "line_id", "customer_id", "order_date", "amount", "status", "is_return", "channel", "category"]
    orders = pd.DataFrame(CONTEXT_ORDERS, columns=columns).astype({"channel": "string", "category": "string"})
    orders = _prepare(orders.assign(order_date=pd.to_datetime(orders["order_date"]))).assign(category=orders["category"])
    tickets = pd.DataFrame(TICKETS, columns=["ticket_id", "customer_id", "created_at", "ticket_type"])
    surveys = pd.DataFrame(SURVEYS, columns=["survey_id", "customer_id", "response_date", "nps_score", "csat_score"])
    events = pd.DataFrame(EVENTS, columns=["customer_id", "event_time", "event_type", "session_id"])
    tickets["created_at"] = pd.to_datetime(tickets["created_at"])
    surveys["response_date"] = pd.to_datetime(surveys["response_date"])
    events["event_time"] = pd.to_datetime(events["event_time"])
    return {"orders": orders, "tickets": tickets, "surveys": surveys, "events": events}


def expected_context_by_hand() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": pd.array(["A", "B", "C"], dtype="string"),
        "main_channel": pd.array(["app", "online", pd.NA], dtype="string"),  # A: a tie; C: nothing in 365 days
        "main_category": pd.array(["Tools", "Parts", pd.NA], dtype="string"),  # A: 70 against 30; B: a tie
        "complaints_90d": pd.array([2, 0, 0], dtype="Int64"),  # A: t1 and t4
        "last_nps": [3.0, 7.0, np.nan],   # A: s02 (larger id); B: s03 (s04 has none)
        "last_csat": [4.0, 2.0, np.nan],  # A: s01 (s02 has none)
        "sessions_90d": pd.array([3, 1, 0], dtype="Int64"),  # A: x1 x5 x2; B: y1
    })


OTHER_COLUMNS = list(expected_context_by_hand().columns[1:])
ENGINES = ("pandas", "duckdb frame", "duckdb parquet")


def run_engine(engine: str, folder, orders: pd.DataFrame, as_of=AS_OF, **tables: pd.DataFrame | None) -> pd.DataFrame:
    """The per-customer frame of one engine; ``duckdb parquet`` reads the tables from Parquet."""
    if engine == "pandas":
        return aggregation.run_pandas(orders, as_of, **tables)
    if engine == "duckdb frame":
        return aggregation.run_duckdb(orders, as_of, **tables)
    paths = {name: None if table is None else aggregation.write_input_parquet(table, name, folder / f"{name}.parquet")
             for name, table in tables.items()}
    return aggregation.run_duckdb(aggregation.write_orders_parquet(orders, folder / "orders.parquet"), as_of, **paths)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_other_tables_give_the_hand_values(engine, tmp_path):
    tables = context_tables()
    result = run_engine(engine, tmp_path, tables.pop("orders"), **tables)
    assert list(result.columns) == aggregation.output_columns()
    pd.testing.assert_frame_equal(result[["customer_id", *OTHER_COLUMNS]], expected_context_by_hand(), check_exact=True)


@pytest.mark.parametrize("engine", ENGINES)
def test_events_without_session_ids_count_days_with_an_event(engine, tmp_path):
    tables = context_tables()
    orders, events = tables["orders"], tables["events"]
    expected = pd.array([2, 2, 0], dtype="Int64")  # A: 09-01 and 07-03; B: 09-29 and 09-30
    for without_sessions in (events.drop(columns="session_id"),
                             # how the preparation writes events of an export without session ids
                             events.assign(session_id=pd.Series(pd.NA, index=events.index, dtype="string"))):
        result = run_engine(engine, tmp_path, orders, events=without_sessions)
        pd.testing.assert_extension_array_equal(result["sessions_90d"].array, expected)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_other_tables_add_no_rows_and_change_no_order_fact(engine, tmp_path):
    tables = context_tables()
    orders = tables.pop("orders")
    with_tables = run_engine(engine, tmp_path, orders, **tables)
    orders_only = run_engine(engine, tmp_path, orders)
    assert with_tables["customer_id"].tolist() == ["A", "B", "C"]  # D has tickets, a survey and events, no orders
    order_facts = [c for c in aggregation.output_columns() if c not in OTHER_COLUMNS]
    pd.testing.assert_frame_equal(with_tables[order_facts], orders_only[order_facts], check_exact=True)
    # One day earlier (90 days 2026-07-02 .. 2026-09-29): A's t4 falls after the as-of day and
    # t2 and session x3 (2 July) come in; B keeps y1 (23:50 on the 29th).
    earlier = run_engine(engine, tmp_path, orders, "2026-09-29", **tables).set_index("customer_id")
    assert earlier.loc["A", "complaints_90d"] == 2 and earlier.loc["A", "sessions_90d"] == 4
    assert earlier.loc["B", "sessions_90d"] == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_without_the_other_tables_their_columns_are_missing_with_the_same_dtypes(engine, tmp_path):
    tables = context_tables()
    full = run_engine(engine, tmp_path, tables["orders"], tickets=tables["tickets"], surveys=tables["surveys"],
                      events=tables["events"])
    bare_orders = tables["orders"].drop(columns=["channel", "category"])
    for orders in (tables["orders"], bare_orders):
        result = run_engine(engine, tmp_path, orders)
        assert list(result.columns) == list(full.columns)
        pd.testing.assert_series_equal(result.dtypes, full.dtypes)
        assert result[["complaints_90d", "last_nps", "last_csat", "sessions_90d"]].isna().all().all()
    assert result[["main_channel", "main_category"]].isna().all().all()  # no channel or category column
    # A tickets table with none of a customer's tickets gives 0, not missing.
    none_of_theirs = run_engine(engine, tmp_path, tables["orders"], tickets=tables["tickets"].iloc[[6]],
                                events=tables["events"].iloc[[9]])
    assert none_of_theirs["complaints_90d"].tolist() == [0, 0, 0] and none_of_theirs["sessions_90d"].tolist() == [0, 0, 0]
    assert none_of_theirs["last_nps"].isna().all()


def test_the_sql_reads_only_the_tables_it_is_told_of():
    bare = aggregation.customer_aggregates_sql(AS_OF, windows=(30,))
    assert bare.count("CAST(NULL AS") == 6 and not re.search(r"\b(tickets|surveys|events)\b", bare)
    every = aggregation.AvailableTables(order_labels=("category", "channel"), tickets=True, surveys=True, events=True,
                                        event_sessions=True)
    sql = aggregation.customer_aggregates_sql(AS_OF, (30,), every)
    assert "CAST(NULL AS" not in sql and "ticket_type = 'complaint'" in sql and "session_id AS session_key" in sql
    assert every.order_labels == ("channel", "category")
    # Only validated day literals: the window starts of 30, 365 (main labels) and 90 days.
    assert sorted(set(re.findall(r"DATE '[^']*'", sql))) == ["DATE '2025-10-01'", "DATE '2026-07-03'",
                                                             "DATE '2026-09-01'", "DATE '2026-09-30'"]
    days = aggregation.customer_aggregates_sql(AS_OF, (30,), aggregation.AvailableTables(events=True))
    assert "CAST(event_time AS DATE) AS session_key" in days
    for bad in ({"order_labels": ("channel; DROP TABLE orders",)}, {"order_labels": ("channel", "channel")},
                {"tickets": "yes"}, {"event_sessions": True}):
        with pytest.raises(ValueError):
            aggregation.AvailableTables(**bad)
    with pytest.raises(ValueError, match="available"):
        aggregation.customer_aggregates_sql(AS_OF, (30,), {"tickets": True})


def test_the_other_tables_are_checked(tmp_path):
    tables = context_tables()
    orders = tables["orders"]
    with pytest.raises(ValueError, match="tickets lacks column"):
        aggregation.run_pandas(orders, AS_OF, tickets=tables["tickets"].drop(columns="ticket_type"))
    with pytest.raises(ValueError, match="surveys.response_date must be datetime64 without a time zone"):
        aggregation.run_duckdb(orders, AS_OF, surveys=tables["surveys"].assign(
            response_date=tables["surveys"]["response_date"].dt.tz_localize("UTC")))
    with pytest.raises(ValueError, match="events.customer_id has missing values"):
        aggregation.run_duckdb(orders, AS_OF, events=tables["events"].assign(customer_id=None))
    with pytest.raises(ValueError, match="surveys.nps_score must be numbers"):
        aggregation.run_pandas(orders, AS_OF, surveys=tables["surveys"].astype({"nps_score": "string"}))
    with pytest.raises(ValueError, match="events Parquet .* does not exist"):
        aggregation.run_duckdb(orders, AS_OF, events=tmp_path / "no_events.parquet")
    path = tmp_path / "tickets.parquet"
    tables["tickets"].drop(columns="created_at").to_parquet(path)
    with pytest.raises(ValueError, match=r"tickets Parquet .* lacks column\(s\) \['created_at'\]"):
        aggregation.run_duckdb(orders, AS_OF, tickets=path)
    with pytest.raises(ValueError, match="table must be one of"):
        aggregation.write_input_parquet(tables["tickets"], "campaigns", tmp_path / "x.parquet")


def test_customer_facts_of_several_days_read_the_tables_that_exist(tmp_path):
    tables = context_tables()
    paths = {name: aggregation.write_input_parquet(table, name, tmp_path / f"{name}.parquet")
             for name, table in tables.items()}
    days = ["2026-09-30", "2026-06-30"]
    rows = aggregation.write_customer_facts(paths["orders"], days, aggregation.WINDOWS, tmp_path / "facts.parquet",
                                            tickets_parquet=paths["tickets"], surveys_parquet=paths["surveys"])
    written = pd.read_parquet(tmp_path / "facts.parquet")
    assert rows == len(written) == 6
    for day in days:
        expected = aggregation.run_pandas(tables["orders"], day, tickets=tables["tickets"], surveys=tables["surveys"])
        got = written.loc[written["as_of"] == pd.Timestamp(day)].drop(columns="as_of").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert written["sessions_90d"].isna().all()  # no events given


def generated_orders(customers: int = 1500, seed: int = 3) -> pd.DataFrame:
    """Prepared-order columns of the demo generator's orders (future dates, returns, cancellations)."""
    for name, frame in iter_sources(customers, seed, end="2026-09-30"):
        if name == "orders":
            return _prepare(frame)
    raise AssertionError("the demo generator yields orders")


def test_engines_agree_on_generated_orders_and_match_the_churn_features():
    orders = generated_orders()
    reference = aggregation.run_pandas(orders, "2026-06-30")
    assert reference["purchase_orders"].sum() > 5000 and reference["return_lines"].sum() > 0
    assert_same(aggregation.run_duckdb(orders, "2026-06-30", threads=2), reference)

    # The same numbers as the churn model's own feature code (which works per order).
    from helpers.models.churn_model import WINDOWS, churn_features

    assert aggregation.WINDOWS == WINDOWS
    features = churn_features(orders, "2026-06-30", active_only=False)
    bought = reference.loc[reference["purchase_orders"] > 0].set_index("customer_id")
    features = features.reindex(bought.index)
    np.testing.assert_array_equal(bought["purchase_orders"], features["orders_total"])
    np.testing.assert_array_equal(bought["days_since_last_purchase"].astype(int), features["days_since_last_purchase"])
    np.testing.assert_array_equal(bought["tenure_days"].astype(int), features["tenure_days"])
    for w in WINDOWS:
        np.testing.assert_array_equal(bought[f"purchase_orders_{w}d"], features[f"orders_{w}d"])
        np.testing.assert_allclose(bought[f"purchase_value_{w}d"], features[f"revenue_{w}d"], rtol=1e-9)


@pytest.fixture(scope="module")
def generated_tables() -> dict[str, pd.DataFrame]:
    """The demo generator's orders (with the products' categories), tickets, surveys and events,
    with a few rows of a customer who has no orders and survey times coarsened to the year so
    that many of a customer's responses share one timestamp (the survey id decides)."""
    sources = dict(iter_sources(1500, 3, end="2026-09-30"))
    orders = _prepare(sources["orders"])
    category = sources["products"].set_index("product_id")["category"]
    orders["category"] = orders["product_id"].map(category).astype("string").fillna("Uncategorised")
    tickets, surveys, events = (sources[name].copy() for name in ("tickets", "surveys", "events"))
    tickets.loc[tickets.index[::40], "customer_id"] = "NO-ORDERS"
    events.loc[events.index[::400], "customer_id"] = "NO-ORDERS"
    surveys["response_date"] = surveys["response_date"].dt.to_period("Y").dt.start_time.astype("datetime64[ns]")
    return {"orders": orders, "tickets": tickets, "surveys": surveys, "events": events}


@pytest.mark.parametrize("without_session_ids", [False, True])
def test_engines_agree_on_the_generated_other_tables(generated_tables, without_session_ids, tmp_path):
    tables = dict(generated_tables)
    if without_session_ids:
        tables["events"] = tables["events"].drop(columns="session_id")
    orders = tables.pop("orders")
    reference = aggregation.run_pandas(orders, "2026-06-30", **tables)
    assert "NO-ORDERS" not in set(reference["customer_id"])
    assert reference["complaints_90d"].sum() > 20 and reference["sessions_90d"].sum() > 200
    assert reference["last_nps"].notna().sum() > 100 and reference["last_csat"].notna().sum() > 100
    assert reference["main_channel"].nunique() == 3 and reference["main_category"].nunique() > 3
    # Ties on the survey timestamp (the year) that the survey id breaks.
    surveys = tables["surveys"]
    assert surveys.loc[surveys["response_date"] <= "2026-06-30"].duplicated(["customer_id", "response_date"]).sum() > 20
    assert_same(aggregation.run_duckdb(orders, "2026-06-30", threads=2, **tables), reference)
    assert_same(run_engine("duckdb parquet", tmp_path, orders, "2026-06-30", **tables), reference)
    orders_only = aggregation.run_pandas(orders, "2026-06-30")
    order_facts = [c for c in aggregation.output_columns() if c not in OTHER_COLUMNS]
    assert_same(reference[order_facts], orders_only[order_facts])


# ----------------------------------------------------------------------------- Spark, local mode
@pytest.fixture(scope="module")
def spark():
    skip_without_spark()
    # Not UTC: an order's day must not depend on the session's time zone.
    with aggregation.spark_session("local[1]", time_zone="Asia/Shanghai", app_name="customer-insights-test") as session:
        yield session


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_runs_the_same_sql_and_gives_the_same_frame(spark, orders, tmp_path):
    path = aggregation.write_orders_parquet(orders, tmp_path / "hand.parquet")
    pd.testing.assert_frame_equal(aggregation.run_spark(spark, path, AS_OF), expected_by_hand(), check_exact=True)

    generated = generated_orders()
    path = aggregation.write_orders_parquet(generated, tmp_path / "generated.parquet")
    assert_same(aggregation.run_spark(spark, path, "2026-06-30"), aggregation.run_pandas(generated, "2026-06-30"))


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_gives_the_same_other_columns(spark, generated_tables, tmp_path):
    def parquet(tables: dict[str, pd.DataFrame], folder: str) -> dict[str, object]:
        return {f"{name}_parquet_path": aggregation.write_input_parquet(table, name, tmp_path / folder / f"{name}.parquet")
                for name, table in tables.items()}

    hand = context_tables()
    paths = parquet(hand, "hand")
    result = aggregation.run_spark(spark, paths.pop("orders_parquet_path"), AS_OF, **paths)
    pd.testing.assert_frame_equal(result[["customer_id", *OTHER_COLUMNS]], expected_context_by_hand(), check_exact=True)
    # Events without session ids, and no tickets or surveys: days, and missing columns.
    paths = parquet({"orders": hand["orders"], "events": hand["events"].drop(columns="session_id")}, "days")
    result = aggregation.run_spark(spark, paths.pop("orders_parquet_path"), AS_OF, **paths)
    assert result["sessions_90d"].tolist() == [2, 2, 0]
    pd.testing.assert_series_equal(result.dtypes, aggregation.run_pandas(hand["orders"], AS_OF).dtypes)
    assert result[["complaints_90d", "last_nps", "last_csat"]].isna().all().all()

    tables = dict(generated_tables)
    paths = parquet(tables, "generated")
    orders = tables.pop("orders")
    assert_same(aggregation.run_spark(spark, paths.pop("orders_parquet_path"), "2026-06-30", **paths),
                aggregation.run_pandas(orders, "2026-06-30", **tables))


@pytest.mark.parametrize("master, threads", [("local", 1), ("local[4]", 4), ("local[2,3]", 2), ("yarn", None),
                                             ("spark://host:7077", None), ("k8s://https://host:443", None)])
def test_a_local_master_shuffles_into_one_partition_per_thread(master, threads):
    assert aggregation.local_threads(master) == threads


def test_spark_that_cannot_run_is_a_parameter_error_with_the_fix(monkeypatch, tmp_path):
    from helpers.params import ParameterError

    monkeypatch.setattr(aggregation, "spark_unavailable", lambda: "pyspark is not installed")
    with pytest.raises(ParameterError, match=r"facts_engine: spark cannot run: pyspark is not installed\. "
                                             r"It needs pyspark \(pip install -r requirements-spark\.lock\) and Java 17"):
        aggregation.write_customer_facts(tmp_path / "orders.parquet", [AS_OF], aggregation.WINDOWS,
                                         tmp_path / "facts.parquet", engine="spark")
    with pytest.raises(ParameterError, match="facts_engine must be one of duckdb, spark, got 'flink'"):
        aggregation.check_engine("flink")
    aggregation.check_engine("duckdb")  # needs neither


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_writes_the_customer_facts_file_duckdb_writes(spark, tmp_path):
    # Prepared tables as the preparation writes them (nanosecond timestamps, every column).
    tables = context_tables()
    for name, table in tables.items():
        table.to_parquet(tmp_path / f"{name}.parquet", index=False)
    given = {f"{name}_parquet": tmp_path / f"{name}.parquet" for name in ("tickets", "surveys", "events")}
    days = [AS_OF, "2026-06-30"]
    facts = {}
    for engine in aggregation.ENGINES:
        path = tmp_path / engine / aggregation.FACTS_FILE
        path.parent.mkdir()
        lines = []
        rows = aggregation.write_customer_facts(tmp_path / "orders.parquet", days, aggregation.WINDOWS, path,
                                                engine=engine, progress=lines.append, **given)
        facts[engine] = pd.read_parquet(path)
        assert rows == len(facts[engine]) == 6  # customers A, B, C on each of the two days
    assert lines[-2:] == ["customer facts as of 2026-09-30 (spark at local[1])",
                          "customer facts as of 2026-06-30 (spark at local[1])"]
    pd.testing.assert_frame_equal(facts["spark"], facts["duckdb"], check_exact=True)
    on_the_day = facts["spark"].loc[facts["spark"]["as_of"] == AS_OF, ["customer_id", *OTHER_COLUMNS]]
    pd.testing.assert_frame_equal(on_the_day.reset_index(drop=True), expected_context_by_hand(), check_exact=True)
    # Spark read copies with microsecond timestamps, beside the facts file; the test's session was
    # used as it is (its time zone kept) and is still running.
    import pyarrow.parquet as pq

    copy = pq.read_schema(tmp_path / "spark" / "spark_input" / "orders.parquet")
    assert str(copy.field("order_date").type) == "timestamp[us]"
    assert spark.conf.get("spark.sql.session.timeZone") == "Asia/Shanghai"
    assert spark.range(1).count() == 1
