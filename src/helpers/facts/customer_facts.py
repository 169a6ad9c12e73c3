"""Per-customer aggregates of the order lines as of a day: one row per customer.

The step that turns the prepared order lines into one row per customer, so that what comes
after it can work on customers, whose number grows far more slowly than the lines (see
``docs/scaling.md``). It is written once as SQL that DuckDB (embedded, the default) and Spark
SQL (a cluster) both run unchanged, and once more as vectorised pandas, the reference the SQL
is tested against.

Columns (``output_columns``), as of the day ``as_of`` (order lines dated on or before it; a
window of ``w`` days is the ``w`` days ending on ``as_of``, i.e. ``as_of - order day < w``):

* ``first_purchase``, ``last_purchase``: earliest and latest ``order_date`` of a valid purchase
  line (``is_purchase``); NaT without one.
* ``purchase_orders[_<w>d]``: distinct ``order_id`` with a purchase line (in the window).
* ``purchase_value[_<w>d]``: sum of ``amount`` over the purchase lines (in the window).
* ``net_revenue[_<w>d]``: sum of ``net_amount`` over all lines (in the window): completed lines
  with returns subtracted, cancelled and refunded lines zero (the KPI "Revenue (net)").
* ``purchase_days``: distinct days with a purchase line. The CLV frequency of BG/NBD (Fader,
  Hardie and Lee 2005) is ``purchase_days - 1`` repeat purchase days (``clv.repeat_purchase_summary``).
* ``return_lines``: lines flagged ``is_return``.
* ``days_since_last_purchase``, ``tenure_days``: days from the last and the first purchase day
  to ``as_of``; missing without a purchase.

Then the columns from the other prepared tables (``AvailableTables`` says which the query reads;
a table or column that is not there gives the column missing for every customer). Rows dated
after ``as_of`` (by their day) are ignored, as are rows of customers without an order line:

* ``main_channel``, ``main_category``: the order ``channel`` (``category``) with the largest
  purchase value (``amount`` of the purchase lines, rounded like the sums) in the 365 days
  ending on ``as_of`` (``MAIN_WINDOW``; ``as_of - order day < 365``); a tie goes to the first
  label in code-point order (as both engines compare text: ``"Offline" < "app"``). Lines
  without a label are left out. Missing when the customer has no purchase line in the window
  or the orders have no such column. The prepared orders label a missing channel
  ``"Unknown"`` and every line ``"Uncategorised"`` without a product master.
* ``complaints_90d``: tickets with ``ticket_type = 'complaint'`` whose ``created_at`` day is in
  the 90 days ending on ``as_of`` (``RECENT_WINDOW``). 0 with a tickets table and none;
  missing for everyone without a tickets table.
* ``last_nps``, ``last_csat``: ``nps_score`` (``csat_score``) of the customer's latest survey
  response on or before ``as_of`` among the responses where that score is present (so the two
  may come from different responses): latest by the full ``response_date`` timestamp, a tie
  by the largest ``survey_id`` (then the higher score, for repeated ids). Missing without
  such a response or without a surveys table.
* ``sessions_90d``: distinct ``session_id`` among the customer's events whose ``event_time``
  day is in the 90 days ending on ``as_of`` (events without a session id are not counted);
  when the events carry no session ids (no ``session_id`` column, or one without a single
  value, as the preparation writes it for an export without sessions), distinct days with an
  event. 0 with an events table and none; missing without an events table.

Rows: every customer with an order line on or before ``as_of``, sorted by ``customer_id``.
Sums are rounded to 6 decimals (``SUM_DECIMALS``): each engine adds in its own order, and
unrounded sums differ in the last bits (a purchase and its return leave 1e-14 on one engine
and 0 on another). With amounts of up to 6 decimals and sums below about 1e9 the three engines
give identical frames; beyond that they agree to ``rtol=1e-9``.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "ENGINES", "FACTS_FILE", "MAIN_WINDOW", "ORDER_COLUMNS", "RECENT_WINDOW", "SPARK_TIME_ZONE", "SUM_DECIMALS", "TABLE",
    "WINDOWS", "AvailableTables", "as_of_day", "check_engine", "customer_aggregates_sql", "local_threads", "output_columns",
    "report_days", "run_duckdb", "run_pandas", "run_spark", "spark_session", "spark_unavailable",
    "write_customer_facts", "write_input_parquet", "write_orders_parquet",
]

WINDOWS = (90, 180, 365)  # trailing windows in days, those of churn_model.WINDOWS
ORDER_COLUMNS = ("order_id", "customer_id", "order_date", "amount", "net_amount", "is_return", "is_purchase")
TABLE = "orders"  # the name the SQL reads the prepared order lines from
SUM_DECIMALS = 6  # sums are rounded to a millionth of the currency unit
FACTS_FILE = "customer_facts.parquet"  # in the run's prepared folder: one row per customer and as-of day
MAIN_WINDOW = 365  # days of purchases behind main_channel and main_category
RECENT_WINDOW = 90  # days of tickets and events behind complaints_90d and sessions_90d
COMPLAINT = "complaint"  # the ticket_type of a complaint (the prepared tickets' vocabulary)
ENGINES = ("duckdb", "spark")  # the engines write_customer_facts runs the SQL on (Params.facts_engine)
# Spark's session time zone. The inputs' timestamps carry none (TIMESTAMP_NTZ), so no result
# depends on it; it is fixed so that nothing of a run depends on the machine's zone either.
SPARK_TIME_ZONE = "UTC"

# The column of the orders behind each "main" column (optional: missing without it).
MAIN_LABELS = {"main_channel": "channel", "main_category": "category"}
# The score of the surveys behind each "last" column.
LAST_SCORES = {"last_nps": "nps_score", "last_csat": "csat_score"}
# Each table the SQL reads under its own name: the columns it needs, the optional ones it reads
# when present, its date column and the columns that must be filled in.
INPUT_COLUMNS = {
    TABLE: ORDER_COLUMNS,
    "tickets": ("customer_id", "created_at", "ticket_type"),
    "surveys": ("survey_id", "customer_id", "response_date", *LAST_SCORES.values()),
    "events": ("customer_id", "event_time"),
}
OPTIONAL_COLUMNS = {TABLE: tuple(MAIN_LABELS.values()), "tickets": (), "surveys": (), "events": ("session_id",)}
TIME_COLUMNS = {TABLE: "order_date", "tickets": "created_at", "surveys": "response_date", "events": "event_time"}
FILLED_COLUMNS = {
    TABLE: ("customer_id", "order_id", "order_date", "amount", "net_amount"),
    "tickets": ("customer_id", "created_at"),
    "surveys": ("survey_id", "customer_id", "response_date"),
    "events": ("customer_id", "event_time"),
}
OTHER_TABLES = ("tickets", "surveys", "events")


# ----------------------------------------------------------------------------- parameters
def as_of_day(as_of) -> pd.Timestamp:
    """``as_of`` as a day (a time of day is dropped); ``ValueError`` for anything else."""
    try:
        day = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"as_of must be a date such as 2026-09-30, got {as_of!r}") from exc
    if pd.isna(day):
        raise ValueError(f"as_of must be a date such as 2026-09-30, got {as_of!r}")
    if day.tzinfo is not None:
        raise ValueError(f"as_of must be a day without a time zone, got {as_of!r}")
    day = day.normalize()
    if not 1900 <= day.year <= 2200:
        raise ValueError(f"as_of must fall between the years 1900 and 2200, got {day.date()}")
    return day


def _windows(windows: Iterable[int]) -> tuple[int, ...]:
    checked = []
    for window in windows:
        if isinstance(window, (bool, np.bool_)) or not isinstance(window, (int, np.integer)) or not 0 < window <= 36_500:
            raise ValueError(f"windows must be whole numbers of days between 1 and 36500, got {window!r}")
        checked.append(int(window))
    if not checked or len(set(checked)) != len(checked):
        raise ValueError(f"windows must be distinct numbers of days, at least one, got {list(windows)!r}")
    return tuple(checked)


def _date_literal(day: pd.Timestamp) -> str:
    text = day.strftime("%Y-%m-%d")
    # Only digits and dashes of a validated Timestamp ever reach the SQL text.
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"cannot write {day!r} as a SQL date")
    return f"DATE '{text}'"


@dataclass(frozen=True)
class AvailableTables:
    """Which optional tables and columns ``customer_aggregates_sql`` reads besides the orders.

    ``order_labels``: the columns of ``MAIN_LABELS`` (``"channel"``, ``"category"``) the orders
    carry; ``tickets``, ``surveys``, ``events``: the table is there (as a view of that name);
    ``event_sessions``: the events carry session ids (a ``session_id`` column with a value).
    The runners work this out from the tables they are given; the default is orders only.
    """

    order_labels: tuple[str, ...] = ()
    tickets: bool = False
    surveys: bool = False
    events: bool = False
    event_sessions: bool = False

    def __post_init__(self) -> None:
        labels = tuple(self.order_labels) if not isinstance(self.order_labels, str) else (self.order_labels,)
        unknown = [label for label in labels if label not in MAIN_LABELS.values()]
        if unknown or len(set(labels)) != len(labels):
            raise ValueError(f"order_labels must be distinct names among {list(MAIN_LABELS.values())}, "
                             f"got {list(labels)!r}")
        # Canonical order, so that equal descriptions write equal SQL.
        object.__setattr__(self, "order_labels", tuple(c for c in MAIN_LABELS.values() if c in labels))
        for name in ("tickets", "surveys", "events", "event_sessions"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.event_sessions and not self.events:
            raise ValueError("event_sessions needs events: session ids are a column of the events table")


# ----------------------------------------------------------------------------- output columns
def _column_kinds(windows: tuple[int, ...]) -> dict[str, list[str]]:
    columns = output_columns(windows)
    return {
        "dates": ["first_purchase", "last_purchase"],
        "counts": [c for c in columns if c.startswith("purchase_orders")] + ["purchase_days", "return_lines"],
        "money": [c for c in columns if c.startswith(("purchase_value", "net_revenue"))],
        "days": ["days_since_last_purchase", "tenure_days"],
        "labels": list(MAIN_LABELS),
        "optional_counts": ["complaints_90d", "sessions_90d"],
        "scores": list(LAST_SCORES),
    }


def output_columns(windows: Iterable[int] = WINDOWS) -> list[str]:
    """The columns of the per-customer frame, in order (the same whatever tables are given)."""
    windows = _windows(windows)

    def each(name: str) -> list[str]:
        return [name] + [f"{name}_{w}d" for w in windows]

    return ["customer_id", "first_purchase", "last_purchase", *each("purchase_orders"), *each("purchase_value"),
            *each("net_revenue"), "purchase_days", "return_lines", "days_since_last_purchase", "tenure_days",
            *MAIN_LABELS, "complaints_90d", *LAST_SCORES, "sessions_90d"]


def _normalise(frame: pd.DataFrame, windows: tuple[int, ...]) -> pd.DataFrame:
    """One dtype per column whatever the engine, rows sorted by ``customer_id``."""
    kinds = _column_kinds(windows)
    frame = frame.reset_index(drop=True)
    out = {"customer_id": frame["customer_id"].astype("string")}
    for column in kinds["dates"]:
        out[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    for column in kinds["counts"]:
        out[column] = frame[column].astype("int64")
    for column in kinds["money"] + kinds["scores"]:
        out[column] = frame[column].astype("float64")
    for column in kinds["days"] + kinds["optional_counts"]:
        out[column] = frame[column].astype("Int64")
    for column in kinds["labels"]:
        out[column] = frame[column].astype("string")
    result = pd.DataFrame(out)[output_columns(windows)]
    return result.sort_values("customer_id", kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------- the SQL
def _other_tables_sql(day: pd.Timestamp, available: AvailableTables) -> tuple[list[str], list[str], dict[str, str]]:
    """The common table expressions, LEFT JOINs on ``d.customer_id`` and final select items of
    the columns after ``tenure_days``; a typed NULL for each one whose table or column is absent."""
    as_of_sql = _date_literal(day)
    main_start = _date_literal(day - pd.Timedelta(days=MAIN_WINDOW - 1))
    recent = f"BETWEEN {_date_literal(day - pd.Timedelta(days=RECENT_WINDOW - 1))} AND {as_of_sql}"
    ctes, joins, items = [], [], {}

    def join(alias: str, cte: str) -> None:
        ctes.append(cte)
        joins.append(f"LEFT JOIN {alias} ON {alias}.customer_id = d.customer_id")

    for column, label in MAIN_LABELS.items():
        if label not in available.order_labels:
            items[column] = f"CAST(NULL AS STRING) AS {column}"
            continue
        # Rounded sums, so that a tie is a tie on every engine; the first label wins it.
        join(f"{column}_pick", f"""{column}_pick AS (
    SELECT customer_id, {label} AS {column}
    FROM (
        SELECT customer_id, {label},
            ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY label_value DESC, {label}) AS value_rank
        FROM (
            SELECT customer_id, {label}, ROUND(SUM(amount), {SUM_DECIMALS}) AS label_value
            FROM lines
            WHERE is_purchase AND order_day >= {main_start} AND {label} IS NOT NULL
            GROUP BY customer_id, {label}
        ) label_values
    ) ranked
    WHERE value_rank = 1
)""")
        items[column] = f"{column}_pick.{column}"

    if available.tickets:
        join("complaints", f"""complaints AS (
    SELECT customer_id, COUNT(*) AS complaints_90d
    FROM tickets
    WHERE ticket_type = '{COMPLAINT}' AND CAST(created_at AS DATE) {recent}
    GROUP BY customer_id
)""")
        items["complaints_90d"] = "CAST(COALESCE(complaints.complaints_90d, 0) AS BIGINT) AS complaints_90d"
    else:
        items["complaints_90d"] = "CAST(NULL AS BIGINT) AS complaints_90d"

    for column, score in LAST_SCORES.items():
        if not available.surveys:
            items[column] = f"CAST(NULL AS DOUBLE) AS {column}"
            continue
        join(f"{column}_pick", f"""{column}_pick AS (
    SELECT customer_id, {score} AS {column}
    FROM (
        SELECT customer_id, {score},
            ROW_NUMBER() OVER (PARTITION BY customer_id
                               ORDER BY response_date DESC, survey_id DESC, {score} DESC) AS recency_rank
        FROM surveys
        WHERE CAST(response_date AS DATE) <= {as_of_sql} AND {score} IS NOT NULL AND NOT isnan({score})
    ) ranked
    WHERE recency_rank = 1
)""")
        items[column] = f"CAST({column}_pick.{column} AS DOUBLE) AS {column}"

    if available.events:
        # One row per customer and session (or day), then a count: no COUNT(DISTINCT ...).
        key = "session_id" if available.event_sessions else "CAST(event_time AS DATE)"
        join("sessions", f"""sessions AS (
    SELECT customer_id, COUNT(*) AS sessions_90d
    FROM (
        SELECT DISTINCT customer_id, {key} AS session_key
        FROM events
        WHERE CAST(event_time AS DATE) {recent}
    ) customer_sessions
    WHERE session_key IS NOT NULL
    GROUP BY customer_id
)""")
        items["sessions_90d"] = "CAST(COALESCE(sessions.sessions_90d, 0) AS BIGINT) AS sessions_90d"
    else:
        items["sessions_90d"] = "CAST(NULL AS BIGINT) AS sessions_90d"
    return ctes, joins, items


def customer_aggregates_sql(as_of, windows: Iterable[int] = WINDOWS, available: AvailableTables | None = None) -> str:
    """The query over the table ``orders`` (prepared order lines), and the other tables
    ``available`` names, that gives one row per customer.

    The same text runs on DuckDB and on Spark SQL: only ``WITH``, ``CAST``, ``CASE``, ``MIN`` /
    ``MAX`` / ``SUM`` / ``COUNT``, ``ROUND``, ``COALESCE``, ``isnan``, ``ROW_NUMBER() OVER``,
    inner and left joins and ``DATE`` literals; a day difference is ``DATE - DATE`` cast to an
    integer (a number in DuckDB, a day interval in Spark). ``as_of`` and ``windows`` are
    validated and written as literals by this function; no caller text enters the query. A
    table or column ``available`` does not name is not read: its columns are typed NULLs.
    Rows are not sorted (the runners sort).

    Two groupings of the lines replace ``COUNT(DISTINCT ...)`` (which Spark runs by copying every
    line once per distinct column): one row per order (is it a purchase, on which day is its
    latest purchase line) and one row per customer and day (purchase flag and sums). Sums are
    rounded to 6 decimals so that the order of additions, which differs between engines and
    runs, leaves no trace: amounts in cents give the same sums on every engine.
    """
    day = as_of_day(as_of)
    windows = _windows(windows)
    if available is None:
        available = AvailableTables()
    if not isinstance(available, AvailableTables):
        raise ValueError(f"available must be an AvailableTables, got {type(available).__name__}")
    as_of_sql = _date_literal(day)
    # First day of each window: as_of - order_day < w  <=>  order_day >= as_of - (w - 1).
    starts = {w: _date_literal(day - pd.Timedelta(days=w - 1)) for w in windows}

    order_counts = ["COUNT(last_purchase_day) AS purchase_orders"] + [
        f"COUNT(CASE WHEN last_purchase_day >= {starts[w]} THEN 1 END) AS purchase_orders_{w}d" for w in windows]
    sums = []
    for name, value in (("purchase_value", "purchase_value"), ("net_revenue", "net_revenue")):
        sums.append(f"ROUND(SUM({value}), {SUM_DECIMALS}) AS {name}")
        sums += [f"ROUND(SUM(CASE WHEN order_day >= {starts[w]} THEN {value} ELSE 0 END), {SUM_DECIMALS}) AS {name}_{w}d"
                 for w in windows]
    customer_days = [
        "MIN(first_purchase) AS first_purchase",
        "MAX(last_purchase) AS last_purchase",
        *sums,
        "CAST(SUM(bought) AS BIGINT) AS purchase_days",
        "CAST(SUM(return_lines) AS BIGINT) AS return_lines",
        f"CAST({as_of_sql} - MAX(CASE WHEN bought = 1 THEN order_day END) AS INTEGER) AS days_since_last_purchase",
        f"CAST({as_of_sql} - MIN(CASE WHEN bought = 1 THEN order_day END) AS INTEGER) AS tenure_days",
    ]
    other_ctes, other_joins, other_items = _other_tables_sql(day, available)
    from_orders = {c.rsplit(" AS ", 1)[1] for c in order_counts}
    final = ",\n    ".join(other_items[c] if c in other_items else f"{'o' if c in from_orders else 'd'}.{c}"
                           for c in output_columns(windows))
    line_columns = "".join(f", {label}" for label in available.order_labels)
    more_ctes = "".join(f",\n{cte}" for cte in other_ctes)
    more_joins = "".join(f"\n{j}" for j in other_joins)

    def listing(items: list[str]) -> str:
        return ",\n        ".join(items)

    return f"""WITH lines AS (
    SELECT customer_id, order_id, order_date, CAST(order_date AS DATE) AS order_day,
           amount, net_amount, is_return, is_purchase{line_columns}
    FROM {TABLE}
    WHERE CAST(order_date AS DATE) <= {as_of_sql}
),
per_order AS (
    SELECT customer_id, MAX(CASE WHEN is_purchase THEN order_day END) AS last_purchase_day
    FROM lines
    GROUP BY customer_id, order_id
),
order_counts AS (
    SELECT customer_id,
        {listing(order_counts)}
    FROM per_order
    GROUP BY customer_id
),
per_day AS (
    SELECT customer_id, order_day,
        MAX(CASE WHEN is_purchase THEN 1 ELSE 0 END) AS bought,
        MIN(CASE WHEN is_purchase THEN order_date END) AS first_purchase,
        MAX(CASE WHEN is_purchase THEN order_date END) AS last_purchase,
        SUM(CASE WHEN is_purchase THEN amount ELSE 0 END) AS purchase_value,
        SUM(net_amount) AS net_revenue,
        COUNT(CASE WHEN is_return THEN 1 END) AS return_lines
    FROM lines
    GROUP BY customer_id, order_day
),
day_totals AS (
    SELECT customer_id,
        {listing(customer_days)}
    FROM per_day
    GROUP BY customer_id
){more_ctes}
SELECT
    {final}
FROM day_totals d
JOIN order_counts o ON o.customer_id = d.customer_id{more_joins}
"""


# ----------------------------------------------------------------------------- inputs
def _check_table(frame: pd.DataFrame, name: str) -> None:
    """The columns the SQL reads from the table ``name`` are there, typed and filled in."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in INPUT_COLUMNS[name] if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(frame.columns)}")
    time_column = TIME_COLUMNS[name]
    if not pd.api.types.is_datetime64_dtype(frame[time_column]):
        # A time zone would make the day of a row depend on the engine's session zone.
        raise ValueError(f"{name}.{time_column} must be datetime64 without a time zone, got {frame[time_column].dtype}")
    for column in FILLED_COLUMNS[name]:
        if frame[column].isna().any():
            raise ValueError(f"{name}.{column} has missing values; the prepared {name} have none "
                             "(see helpers.data.prepare)")
    if name == "surveys":
        for column in LAST_SCORES.values():
            if not pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]):
                raise ValueError(f"surveys.{column} must be numbers (NaN where missing), got {frame[column].dtype}")


def _check_orders(orders: pd.DataFrame) -> None:
    _check_table(orders, TABLE)


def _has_sessions(events: pd.DataFrame) -> bool:
    return "session_id" in events.columns and bool(events["session_id"].notna().any())


def _is_url(path: str | Path) -> bool:
    return isinstance(path, str) and "://" in path


def _child(folder: str | Path, name: str) -> str | Path:
    """``name`` inside ``folder``, a path or a URL."""
    return f"{folder.rstrip('/')}/{name}" if _is_url(folder) else Path(folder) / name


def write_input_parquet(frame: pd.DataFrame, table: str, path: str | Path) -> str | Path:
    """Write the columns the aggregation reads from ``table`` (``"orders"``, ``"tickets"``,
    ``"surveys"`` or ``"events"``: its needed columns and the optional ones ``frame`` has) as
    Parquet that both DuckDB and Spark read.

    Timestamps are stored in microseconds (Spark reads no nanosecond Parquet timestamps); a
    timestamp with nanoseconds raises rather than being truncated, so no number changes.
    ``path`` is a file path (its folder is created) or a URL such as ``hdfs://...``.
    """
    if table not in INPUT_COLUMNS:
        raise ValueError(f"table must be one of {list(INPUT_COLUMNS)}, got {table!r}")
    _check_table(frame, table)
    if not _is_url(path):  # a URL (hdfs://, s3://) is written by pyarrow's file system of that scheme
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(INPUT_COLUMNS[table]) + [c for c in OPTIONAL_COLUMNS[table] if c in frame.columns]
    frame[columns].reset_index(drop=True).to_parquet(path, index=False, coerce_timestamps="us",
                                                    allow_truncated_timestamps=False)
    return path


def write_orders_parquet(orders: pd.DataFrame, path: str | Path) -> str | Path:
    """Write the columns the aggregation reads from the orders (``ORDER_COLUMNS`` and
    ``channel`` / ``category`` when present) as Parquet that both DuckDB and Spark read;
    see ``write_input_parquet``."""
    return write_input_parquet(orders, TABLE, path)


# ----------------------------------------------------------------------------- engines
def _duckdb_connect(threads: int | None):
    import duckdb

    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive whole number, got {threads!r}")
    connection = duckdb.connect()
    if threads is not None:
        connection.execute(f"SET threads = {threads}")
    return connection


def _duckdb_view(connection, name: str, source: str | Path | pd.DataFrame) -> tuple[str, ...]:
    """Make ``source`` (a frame, or a Parquet file or folder of them) the view ``name`` of the
    columns the SQL reads; returns the optional columns it has."""
    if isinstance(source, pd.DataFrame):
        _check_table(source, name)
        present = tuple(c for c in OPTIONAL_COLUMNS[name] if c in source.columns)
        connection.register(name, source[list(INPUT_COLUMNS[name]) + list(present)])
        return present
    path = Path(source)
    if not path.exists():
        raise ValueError(f"{name} Parquet {path} does not exist")
    relation = connection.read_parquet(str(path / "*.parquet") if path.is_dir() else str(path))
    missing = [c for c in INPUT_COLUMNS[name] if c not in relation.columns]
    if missing:
        raise ValueError(f"{name} Parquet {path} lacks column(s) {missing}; it has {relation.columns}")
    present = tuple(c for c in OPTIONAL_COLUMNS[name] if c in relation.columns)
    relation.select(", ".join(INPUT_COLUMNS[name] + present)).create_view(name)
    return present


def _duckdb_tables(connection, orders, others: dict) -> AvailableTables:
    """Register the orders and each given table of ``others``; what the SQL may read."""
    labels = _duckdb_view(connection, TABLE, orders)
    given = {name: source for name, source in others.items() if source is not None}
    optional = {name: _duckdb_view(connection, name, source) for name, source in given.items()}
    sessions = "session_id" in optional.get("events", ()) and \
        connection.sql("SELECT COUNT(session_id) FROM events").fetchall()[0][0] > 0
    return AvailableTables(order_labels=labels, tickets="tickets" in given, surveys="surveys" in given,
                           events="events" in given, event_sessions=bool(sessions))


def run_duckdb(orders: str | Path | pd.DataFrame, as_of, windows: Iterable[int] = WINDOWS,
               threads: int | None = None, *, tickets: str | Path | pd.DataFrame | None = None,
               surveys: str | Path | pd.DataFrame | None = None,
               events: str | Path | pd.DataFrame | None = None) -> pd.DataFrame:
    """The per-customer frame computed by DuckDB, in process.

    ``orders`` is the prepared orders frame, or a Parquet file (or a folder of them) with at
    least ``ORDER_COLUMNS``, which DuckDB scans without loading it whole; ``channel`` and
    ``category`` are read when present. ``tickets``, ``surveys`` and ``events`` are the optional
    prepared tables, each a frame or Parquet in the same way (``None``: absent, its columns
    missing).
    """
    day, windows = as_of_day(as_of), _windows(windows)
    connection = _duckdb_connect(threads)
    try:
        available = _duckdb_tables(connection, orders, {"tickets": tickets, "surveys": surveys, "events": events})
        result = connection.sql(customer_aggregates_sql(day, windows, available)).df()
    finally:
        connection.close()
    return _normalise(result, windows)


def _spark_view(spark, name: str, parquet_path: str | Path) -> tuple[str, ...]:
    table = spark.read.parquet(str(parquet_path))
    missing = [c for c in INPUT_COLUMNS[name] if c not in table.columns]
    if missing:
        raise ValueError(f"{name} Parquet {parquet_path} lacks column(s) {missing}; it has {table.columns}")
    present = tuple(c for c in OPTIONAL_COLUMNS[name] if c in table.columns)
    table.select(*INPUT_COLUMNS[name], *present).createOrReplaceTempView(name)
    return present


def run_spark(spark, orders_parquet_path: str | Path, as_of, windows: Iterable[int] = WINDOWS, *,
              tickets_parquet_path: str | Path | None = None, surveys_parquet_path: str | Path | None = None,
              events_parquet_path: str | Path | None = None) -> pd.DataFrame:
    """The per-customer frame computed by Spark SQL with the same query text as DuckDB.

    ``spark`` is a ``pyspark.sql.SparkSession`` (local or on a cluster); ``orders_parquet_path``
    a path Spark can read (a file or folder, local or on distributed storage) written with
    microsecond timestamps (``write_orders_parquet``); the optional tables likewise
    (``write_input_parquet``; ``None``: absent). Registers temporary views named after the
    tables (``orders``, ``tickets``, ...) in that session. The result (one row per customer)
    is collected to the driver.
    """
    day, windows = as_of_day(as_of), _windows(windows)
    available = _spark_tables(spark, orders_parquet_path, {"tickets": tickets_parquet_path,
                                                           "surveys": surveys_parquet_path, "events": events_parquet_path})
    return _normalise(_spark_frame(spark, customer_aggregates_sql(day, windows, available)), windows)


def _spark_tables(spark, orders_path: str | Path, others: dict) -> AvailableTables:
    """Register the orders and each given table of ``others`` (Parquet paths) as temporary views;
    what the SQL may read."""
    labels = _spark_view(spark, TABLE, orders_path)
    given = {name: path for name, path in others.items() if path is not None}
    optional = {name: _spark_view(spark, name, path) for name, path in given.items()}
    sessions = "session_id" in optional.get("events", ()) and \
        spark.sql("SELECT COUNT(session_id) FROM events").first()[0] > 0
    return AvailableTables(order_labels=labels, tickets="tickets" in given, surveys="surveys" in given,
                           events="events" in given, event_sessions=bool(sessions))


@contextlib.contextmanager
def _pandas_3_accepted() -> Iterator[None]:
    """pyspark 4.3 warns, as a session starts and as it converts, that it does not fully support
    pandas 3; the one conversion used here (``toPandas`` of a flat frame of numbers, text and
    timestamps) is tested to give identical frames."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
        yield


def _spark_frame(spark, sql: str) -> pd.DataFrame:
    """The query's rows on the driver, as pandas."""
    with _pandas_3_accepted():
        return spark.sql(sql).toPandas()


def spark_unavailable() -> str | None:
    """Why Spark cannot run here (pyspark not installed, no Java 17 or later), or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed"
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else shutil.which("java")
    if not java or not os.path.exists(java):
        return "no Java runtime (pyspark needs Java 17 or later on PATH or in JAVA_HOME)"
    version = subprocess.run([java, "-version"], check=False, capture_output=True, text=True).stderr
    major = re.search(r'version "(\d+)', version)
    if not major or int(major.group(1)) < 17:
        return f"pyspark 4 needs Java 17 or later; found: {version.splitlines()[0] if version else 'nothing'}"
    return None


def check_engine(engine: str) -> None:
    """``ParameterError`` naming the fix when ``engine`` is unknown or cannot run here."""
    from helpers.params import ParameterError

    if engine not in ENGINES:
        raise ParameterError(f"facts_engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    reason = spark_unavailable() if engine == "spark" else None
    if reason:
        raise ParameterError(f"facts_engine: spark cannot run: {reason}. It needs pyspark "
                             "(pip install -r requirements-spark.lock) and Java 17 (JAVA_HOME or java on PATH); "
                             "or set facts_engine: duckdb")


def local_threads(master: str) -> int | None:
    """The threads of a local master (``local``, ``local[4]``, ``local[*]``, ``local[4,2]``); None for a cluster."""
    found = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\s*\d+)?\])?", master.strip())
    if not found:
        return None
    return (os.cpu_count() or 1) if found[1] == "*" else int(found[1] or 1)


@contextlib.contextmanager
def spark_session(master: str = "local[1]", *, time_zone: str = SPARK_TIME_ZONE, app_name: str = "customer-facts"):
    """A new SparkSession at ``master``, stopped at the end; an active session (a notebook's, a
    test's) is used as it is instead, and left running.

    UI and console progress off, the session time zone fixed. A local master's driver listens on
    127.0.0.1 only and shuffles into one partition per thread.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", time_zone))
    threads = local_threads(master)
    local_ip = os.environ.get("SPARK_LOCAL_IP")
    if threads is not None:
        builder = (builder.config("spark.sql.shuffle.partitions", str(threads))
                   .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1"))
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # read by the JVM the first session launches
    try:
        with _pandas_3_accepted():
            session = builder.getOrCreate()
    finally:
        if threads is not None:
            if local_ip is None:
                os.environ.pop("SPARK_LOCAL_IP", None)
            else:
                os.environ["SPARK_LOCAL_IP"] = local_ip
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def _customer_positions(customers: pd.Index, frame: pd.DataFrame, time_column: str,
                        day: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """Each row's customer (0 .. n-1, or -1 for a customer without an order line up to the
    as-of day) and its age in whole days before the as-of day (negative: after it)."""
    position = customers.get_indexer(frame["customer_id"])
    times = frame[time_column].to_numpy()
    age = (np.datetime64(day.date(), "D") - times.astype("datetime64[D]")).astype(np.int64)
    return position, age


def _pandas_main_label(code: np.ndarray, labels: pd.Series, amount: np.ndarray, n: int) -> pd.Series:
    """Per customer the label of the largest rounded sum of ``amount``, a tie to the first label."""
    values = pd.DataFrame({"code": code, "label": labels.to_numpy(), "value": amount}).dropna(subset=["label"])
    sums = values.groupby(["code", "label"], sort=False)["value"].sum().round(SUM_DECIMALS).reset_index()
    best = sums.sort_values(["code", "value", "label"], ascending=[True, False, True], kind="stable")
    best = best.drop_duplicates("code")
    result = pd.Series(pd.NA, index=range(n), dtype="string")
    result.iloc[best["code"].to_numpy()] = best["label"].astype("string").to_numpy()
    return result


def _pandas_complaints(customers: pd.Index, tickets: pd.DataFrame, day: pd.Timestamp) -> np.ndarray:
    position, age = _customer_positions(customers, tickets, "created_at", day)
    complaint = tickets["ticket_type"].eq(COMPLAINT).fillna(False).to_numpy(dtype=bool)
    counted = complaint & (position >= 0) & (age >= 0) & (age < RECENT_WINDOW)
    return np.bincount(position[counted], minlength=len(customers))


def _pandas_last_score(customers: pd.Index, surveys: pd.DataFrame, score: str, day: pd.Timestamp) -> np.ndarray:
    position, age = _customer_positions(customers, surveys, "response_date", day)
    kept = (position >= 0) & (age >= 0) & surveys[score].notna().to_numpy()
    responses = pd.DataFrame({"code": position[kept], "at": surveys["response_date"].to_numpy()[kept],
                              "survey_id": surveys["survey_id"].to_numpy()[kept],
                              "score": surveys[score].to_numpy(dtype=float)[kept]})
    # Ascending, so the last row of a customer is the latest (then largest id, then higher score).
    latest = responses.sort_values(["code", "at", "survey_id", "score"], kind="stable").drop_duplicates("code", keep="last")
    result = np.full(len(customers), np.nan)
    result[latest["code"].to_numpy()] = latest["score"].to_numpy()
    return result


def _pandas_sessions(customers: pd.Index, events: pd.DataFrame, day: pd.Timestamp) -> np.ndarray:
    position, age = _customer_positions(customers, events, "event_time", day)
    kept = (position >= 0) & (age >= 0) & (age < RECENT_WINDOW)
    key = events["session_id"].to_numpy()[kept] if _has_sessions(events) else age[kept]
    pairs = pd.DataFrame({"code": position[kept], "key": key}).dropna(subset=["key"]).drop_duplicates()
    return np.bincount(pairs["code"].to_numpy(), minlength=len(customers))


def run_pandas(orders: pd.DataFrame, as_of, windows: Iterable[int] = WINDOWS, *, tickets: pd.DataFrame | None = None,
               surveys: pd.DataFrame | None = None, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """The per-customer frame computed with vectorised pandas / numpy: the reference.

    Written from the definitions in the module docstring, independently of the SQL: line-level
    masks, ``np.bincount`` sums and counts, ``ufunc.at`` minima and maxima, and distinct
    (customer, order) and (customer, day) pairs as integer keys; for the other tables, rows
    mapped to customers with ``Index.get_indexer`` and the latest or largest row per customer
    by sorting. ``tickets``, ``surveys``, ``events``: the optional prepared tables (``None``:
    absent, their columns missing).
    """
    day = as_of_day(as_of)
    windows = _windows(windows)
    _check_orders(orders)
    for name, table in (("tickets", tickets), ("surveys", surveys), ("events", events)):
        if table is not None:
            _check_table(table, name)
    dates = orders["order_date"].to_numpy()
    # Whole days before the as-of day (datetime64[D] floors to the day); later lines are dropped.
    age = (np.datetime64(day.date(), "D") - dates.astype("datetime64[D]")).astype(np.int64)
    kept = age >= 0
    all_codes, all_ids = pd.factorize(orders["customer_id"])
    present = np.bincount(all_codes[kept], minlength=len(all_ids)) > 0
    code = (np.cumsum(present) - 1)[all_codes[kept]]  # customers with a line up to as_of: 0 .. n-1
    customers = all_ids[present]
    n = len(customers)
    age, dates = age[kept], dates[kept]
    purchase = orders["is_purchase"].fillna(False).to_numpy(dtype=bool)[kept]
    is_return = orders["is_return"].fillna(False).to_numpy(dtype=bool)[kept]
    amount = orders["amount"].to_numpy(dtype=float)[kept]
    net = orders["net_amount"].to_numpy(dtype=float)[kept]

    def total(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        if mask is not None:
            return total(np.where(mask, values, 0.0))
        return np.round(np.bincount(code, weights=values, minlength=n), SUM_DECIMALS)

    def count(codes: np.ndarray) -> np.ndarray:
        return np.bincount(codes, minlength=n).astype(np.int64)

    buyer, bought_age = code[purchase], age[purchase]
    no_purchase = np.bincount(buyer, minlength=n) == 0

    def extreme(ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
        """Per customer minimum (np.minimum) or maximum (np.maximum) of purchase-line values."""
        bound = np.iinfo(np.int64).max if ufunc is np.minimum else np.iinfo(np.int64).min
        result = np.full(n, bound, dtype=np.int64)
        ufunc.at(result, buyer, values)
        return result

    out: dict[str, object] = {"customer_id": customers}
    stamps = dates[purchase].view(np.int64)
    not_a_time = np.datetime64("NaT", np.datetime_data(dates.dtype)[0])
    out["first_purchase"] = np.where(no_purchase, not_a_time, extreme(np.minimum, stamps).view(dates.dtype))
    out["last_purchase"] = np.where(no_purchase, not_a_time, extreme(np.maximum, stamps).view(dates.dtype))

    # Distinct (customer, order) pairs with a purchase line; a pair is in a window when its
    # youngest purchase line is.
    order_code = pd.factorize(orders["order_id"])[0][kept][purchase]
    order_span = np.int64(order_code.max(initial=0) + 1)
    pair, pairs = pd.factorize(buyer * order_span + order_code)
    pair_customer = pairs // order_span
    youngest = np.full(len(pairs), np.iinfo(np.int64).max)
    np.minimum.at(youngest, pair, bought_age)
    out["purchase_orders"] = count(pair_customer)
    for w in windows:
        out[f"purchase_orders_{w}d"] = count(pair_customer[youngest < w])
    out["purchase_value"] = total(amount, purchase)
    for w in windows:
        out[f"purchase_value_{w}d"] = total(amount, purchase & (age < w))
    out["net_revenue"] = total(net)
    for w in windows:
        out[f"net_revenue_{w}d"] = total(net, age < w)
    days = np.int64(age.max(initial=0) + 1)
    out["purchase_days"] = count(pd.unique(buyer * days + bought_age) // days)
    out["return_lines"] = count(code[is_return])
    out["days_since_last_purchase"] = pd.arrays.IntegerArray(extreme(np.minimum, bought_age), no_purchase)
    out["tenure_days"] = pd.arrays.IntegerArray(extreme(np.maximum, bought_age), no_purchase)

    customer_index = pd.Index(customers)
    in_main_window = purchase & (age < MAIN_WINDOW)
    missing_counts = pd.array(np.full(n, pd.NA), dtype="Int64")
    for column, label in MAIN_LABELS.items():
        out[column] = (_pandas_main_label(code[in_main_window], orders[label][kept][in_main_window],
                                          amount[in_main_window], n).to_numpy()
                       if label in orders.columns else pd.array(np.full(n, pd.NA), dtype="string"))
    out["complaints_90d"] = missing_counts if tickets is None else _pandas_complaints(customer_index, tickets, day)
    for column, score in LAST_SCORES.items():
        out[column] = np.full(n, np.nan) if surveys is None else _pandas_last_score(customer_index, surveys, score, day)
    out["sessions_90d"] = missing_counts if events is None else _pandas_sessions(customer_index, events, day)
    return _normalise(pd.DataFrame(out), windows)


# ----------------------------------------------------------------------------- once per run
def report_days(period) -> list[pd.Timestamp]:
    """The as-of days a report's chapters read customer facts for: the last days of the
    quarter, of the previous quarter and of the same quarter a year before."""
    return [period.last_day, period.previous().last_day, period.year_ago().last_day]


Query = Callable[[str], pd.DataFrame]  # SQL text -> its rows as pandas


@contextlib.contextmanager
def _duckdb_engine(orders: str | Path, others: dict) -> Iterator[tuple[Query, AvailableTables]]:
    connection = _duckdb_connect(None)
    try:
        yield (lambda sql: connection.sql(sql).df()), _duckdb_tables(connection, orders, others)
    finally:
        connection.close()


@contextlib.contextmanager
def _spark_engine(orders: str | Path, others: dict, master: str, input_dir: str | Path,
                  progress: Callable[[str], None]) -> Iterator[tuple[Query, AvailableTables]]:
    """Spark at ``master`` over copies of the prepared tables in ``input_dir`` (microsecond
    timestamps, only the columns the SQL reads), which its executors must be able to read."""
    import pyarrow.dataset

    progress(f"writing the Spark input to {input_dir}")
    inputs = {}
    for name, source in {TABLE: orders, **others}.items():
        if source is None:
            continue
        present = set(pyarrow.dataset.dataset(str(source)).schema.names)
        columns = [c for c in (*INPUT_COLUMNS[name], *OPTIONAL_COLUMNS[name]) if c in present]
        inputs[name] = write_input_parquet(pd.read_parquet(source, columns=columns), name,
                                           _child(input_dir, f"{name}.parquet"))
    with spark_session(master) as spark:
        available = _spark_tables(spark, inputs.pop(TABLE), inputs)
        yield (lambda sql: _spark_frame(spark, sql)), available


def write_customer_facts(orders_parquet: str | Path, days: Iterable, windows: Iterable[int], path: str | Path, *,
                         tickets_parquet: str | Path | None = None, surveys_parquet: str | Path | None = None,
                         events_parquet: str | Path | None = None, engine: str = "duckdb",
                         spark_master: str = "local[1]", spark_input_dir: str | Path | None = None,
                         progress: Callable[[str], None] = lambda message: None) -> int:
    """The per-customer facts as of each of ``days`` over the prepared orders and the prepared
    tickets, surveys and events that exist (``None`` for an absent one), one file with an
    ``as_of`` column; returns the rows written. The tables are registered once for all days.

    ``engine`` (``ENGINES``): ``"duckdb"`` in this process, or ``"spark"`` at ``spark_master``,
    which reads copies of the tables written for it (``write_input_parquet``) into a new
    subfolder of ``spark_input_dir`` (a path or URL every executor reads; default: the folder
    ``spark_input`` beside ``path``). Both run ``customer_aggregates_sql`` and give the same file.
    ``progress`` receives a line per as-of day.
    """
    days, windows = [as_of_day(day) for day in days], _windows(windows)
    check_engine(engine)
    others = {"tickets": tickets_parquet, "surveys": surveys_parquet, "events": events_parquet}
    if engine == "spark":
        input_dir = Path(path).parent / "spark_input" if spark_input_dir is None \
            else _child(spark_input_dir, f"customer-facts-{uuid.uuid4().hex[:12]}")
        opened, where = _spark_engine(orders_parquet, others, spark_master, input_dir, progress), f"spark at {spark_master}"
    else:
        opened, where = _duckdb_engine(orders_parquet, others), "duckdb"
    frames = []
    with opened as (query, available):
        for day in days:
            progress(f"customer facts as of {day.date()} ({where})")
            frames.append(_normalise(query(customer_aggregates_sql(day, windows, available)), windows).assign(as_of=day))
    table = pd.concat(frames, ignore_index=True)
    table.to_parquet(path, index=False)
    return len(table)
