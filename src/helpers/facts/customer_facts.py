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

Rows: every customer with an order line on or before ``as_of``, sorted by ``customer_id``.
Sums are rounded to 6 decimals (``SUM_DECIMALS``): each engine adds in its own order, and
unrounded sums differ in the last bits (a purchase and its return leave 1e-14 on one engine
and 0 on another). With amounts of up to 6 decimals and sums below about 1e9 the three engines
give identical frames; beyond that they agree to ``rtol=1e-9``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "FACTS_FILE", "ORDER_COLUMNS", "SUM_DECIMALS", "TABLE", "WINDOWS", "as_of_day", "customer_aggregates_sql",
    "output_columns", "report_days", "run_duckdb", "run_pandas", "run_spark", "write_customer_facts",
    "write_orders_parquet",
]

WINDOWS = (90, 180, 365)  # trailing windows in days, those of churn_model.WINDOWS
ORDER_COLUMNS = ("order_id", "customer_id", "order_date", "amount", "net_amount", "is_return", "is_purchase")
TABLE = "orders"  # the name the SQL reads the prepared order lines from
SUM_DECIMALS = 6  # sums are rounded to a millionth of the currency unit
FACTS_FILE = "customer_facts.parquet"  # in the run's prepared folder: one row per customer and as-of day


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


# ----------------------------------------------------------------------------- output columns
def _column_kinds(windows: tuple[int, ...]) -> dict[str, list[str]]:
    columns = output_columns(windows)
    return {
        "dates": ["first_purchase", "last_purchase"],
        "counts": [c for c in columns if c.startswith("purchase_orders")] + ["purchase_days", "return_lines"],
        "money": [c for c in columns if c.startswith(("purchase_value", "net_revenue"))],
        "days": ["days_since_last_purchase", "tenure_days"],
    }


def output_columns(windows: Iterable[int] = WINDOWS) -> list[str]:
    """The columns of the per-customer frame, in order."""
    windows = _windows(windows)

    def each(name: str) -> list[str]:
        return [name] + [f"{name}_{w}d" for w in windows]

    return ["customer_id", "first_purchase", "last_purchase", *each("purchase_orders"), *each("purchase_value"),
            *each("net_revenue"), "purchase_days", "return_lines", "days_since_last_purchase", "tenure_days"]


def _normalise(frame: pd.DataFrame, windows: tuple[int, ...]) -> pd.DataFrame:
    """One dtype per column whatever the engine, rows sorted by ``customer_id``."""
    kinds = _column_kinds(windows)
    frame = frame.reset_index(drop=True)
    out = {"customer_id": frame["customer_id"].astype("string")}
    for column in kinds["dates"]:
        out[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    for column in kinds["counts"]:
        out[column] = frame[column].astype("int64")
    for column in kinds["money"]:
        out[column] = frame[column].astype("float64")
    for column in kinds["days"]:
        out[column] = frame[column].astype("Int64")
    result = pd.DataFrame(out)[output_columns(windows)]
    return result.sort_values("customer_id", kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------- the SQL
def customer_aggregates_sql(as_of, windows: Iterable[int] = WINDOWS) -> str:
    """The query over the table ``orders`` (prepared order lines) that gives one row per customer.

    The same text runs on DuckDB and on Spark SQL: only ``WITH``, ``CAST``, ``CASE``, ``MIN`` /
    ``MAX`` / ``SUM`` / ``COUNT``, ``ROUND``, an inner join and ``DATE`` literals; a day
    difference is ``DATE - DATE`` cast to an integer (a number in DuckDB, a day interval in
    Spark). ``as_of`` and ``windows`` are validated and written as literals by this function;
    no caller text enters the query. Rows are not sorted (the runners sort).

    Two groupings of the lines replace ``COUNT(DISTINCT ...)`` (which Spark runs by copying every
    line once per distinct column): one row per order (is it a purchase, on which day is its
    latest purchase line) and one row per customer and day (purchase flag and sums). Sums are
    rounded to 6 decimals so that the order of additions, which differs between engines and
    runs, leaves no trace: amounts in cents give the same sums on every engine.
    """
    day = as_of_day(as_of)
    windows = _windows(windows)
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
    columns = output_columns(windows)
    from_orders = {c.rsplit(" AS ", 1)[1] for c in order_counts}
    final = ",\n    ".join(f"{'o' if c in from_orders else 'd'}.{c}" for c in columns)

    def listing(items: list[str]) -> str:
        return ",\n        ".join(items)

    return f"""WITH lines AS (
    SELECT customer_id, order_id, order_date, CAST(order_date AS DATE) AS order_day,
           amount, net_amount, is_return, is_purchase
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
)
SELECT
    {final}
FROM day_totals d
JOIN order_counts o ON o.customer_id = d.customer_id
"""


# ----------------------------------------------------------------------------- inputs
def _check_orders(orders: pd.DataFrame) -> None:
    if not isinstance(orders, pd.DataFrame):
        raise ValueError(f"orders must be a pandas DataFrame, got {type(orders).__name__}")
    missing = [c for c in ORDER_COLUMNS if c not in orders.columns]
    if missing:
        raise ValueError(f"orders lacks column(s) {missing}; it has {list(orders.columns)}")
    if not pd.api.types.is_datetime64_dtype(orders["order_date"]):
        # A time zone would make the day of an order depend on the engine's session zone.
        raise ValueError(f"orders.order_date must be datetime64 without a time zone, got {orders['order_date'].dtype}")
    for column in ("customer_id", "order_id", "order_date", "amount", "net_amount"):
        if orders[column].isna().any():
            raise ValueError(f"orders.{column} has missing values; the prepared orders have none (see helpers.data.prepare)")


def write_orders_parquet(orders: pd.DataFrame, path: str | Path) -> Path:
    """Write the columns the aggregation reads as Parquet that both DuckDB and Spark read.

    Timestamps are stored in microseconds (Spark reads no nanosecond Parquet timestamps); a
    timestamp with nanoseconds raises rather than being truncated, so no number changes.
    """
    _check_orders(orders)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = orders[list(ORDER_COLUMNS)].reset_index(drop=True)
    table.to_parquet(path, index=False, coerce_timestamps="us", allow_truncated_timestamps=False)
    return path


# ----------------------------------------------------------------------------- engines
def run_duckdb(orders: str | Path | pd.DataFrame, as_of, windows: Iterable[int] = WINDOWS,
               threads: int | None = None) -> pd.DataFrame:
    """The per-customer frame computed by DuckDB, in process.

    ``orders`` is the prepared orders frame, or a Parquet file (or a folder of them) with at
    least ``ORDER_COLUMNS``, which DuckDB scans without loading it whole.
    """
    import duckdb

    windows = _windows(windows)
    sql = customer_aggregates_sql(as_of, windows)
    connection = duckdb.connect()
    try:
        if threads is not None:
            if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
                raise ValueError(f"threads must be a positive whole number, got {threads!r}")
            connection.execute(f"SET threads = {threads}")
        if isinstance(orders, pd.DataFrame):
            _check_orders(orders)
            connection.register(TABLE, orders[list(ORDER_COLUMNS)])
        else:
            path = Path(orders)
            if not path.exists():
                raise ValueError(f"orders Parquet {path} does not exist")
            files = str(path / "*.parquet") if path.is_dir() else str(path)
            connection.read_parquet(files).select(", ".join(ORDER_COLUMNS)).create_view(TABLE)
        result = connection.sql(sql).df()
    finally:
        connection.close()
    return _normalise(result, windows)


def run_spark(spark, orders_parquet_path: str | Path, as_of, windows: Iterable[int] = WINDOWS) -> pd.DataFrame:
    """The per-customer frame computed by Spark SQL with the same query text as DuckDB.

    ``spark`` is a ``pyspark.sql.SparkSession`` (local or on a cluster); ``orders_parquet_path``
    a path Spark can read (a file or folder, local or on distributed storage) written with
    microsecond timestamps (``write_orders_parquet``). Registers the temporary view ``orders``
    in that session. The result (one row per customer) is collected to the driver.
    """
    windows = _windows(windows)
    sql = customer_aggregates_sql(as_of, windows)
    spark.read.parquet(str(orders_parquet_path)).select(*ORDER_COLUMNS).createOrReplaceTempView(TABLE)
    return _normalise(spark.sql(sql).toPandas(), windows)


def run_pandas(orders: pd.DataFrame, as_of, windows: Iterable[int] = WINDOWS) -> pd.DataFrame:
    """The per-customer frame computed with vectorised pandas / numpy: the reference.

    Written from the definitions in the module docstring, independently of the SQL: line-level
    masks, ``np.bincount`` sums and counts, ``ufunc.at`` minima and maxima, and distinct
    (customer, order) and (customer, day) pairs as integer keys.
    """
    day = as_of_day(as_of)
    windows = _windows(windows)
    _check_orders(orders)
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
    return _normalise(pd.DataFrame(out), windows)


# ----------------------------------------------------------------------------- once per run
def report_days(period) -> list[pd.Timestamp]:
    """The as-of days a report's chapters read customer facts for: the last days of the
    quarter, of the previous quarter and of the same quarter a year before."""
    return [period.last_day, period.previous().last_day, period.year_ago().last_day]


def write_customer_facts(orders_parquet: str | Path, days: Iterable, windows: Iterable[int], path: str | Path) -> int:
    """The per-customer facts as of each of ``days`` (DuckDB over the prepared orders), one
    file with an ``as_of`` column; returns the rows written."""
    frames = [run_duckdb(orders_parquet, day, windows).assign(as_of=as_of_day(day)) for day in days]
    table = pd.concat(frames, ignore_index=True)
    table.to_parquet(path, index=False)
    return len(table)
