"""helpers.facts.customer_facts: one SQL text on DuckDB and Spark, a pandas reference, values by hand."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

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
    })
    frame["customer_id"] = frame["customer_id"].astype("string")
    for column in ("first_purchase", "last_purchase"):
        frame[column] = frame[column].astype("datetime64[ns]")
    for column in ("days_since_last_purchase", "tenure_days"):
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


# ----------------------------------------------------------------------------- Spark, local mode
def _spark_unavailable() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (optional: pip install '.[spark]')"
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else shutil.which("java")
    if not java or not os.path.exists(java):
        return "no Java runtime (pyspark needs Java 17 or later on PATH or in JAVA_HOME)"
    version = subprocess.run([java, "-version"], check=False, capture_output=True, text=True).stderr
    major = re.search(r'version "(\d+)', version)
    if not major or int(major.group(1)) < 17:
        return f"pyspark 4 needs Java 17 or later; found: {version.splitlines()[0] if version else 'nothing'}"
    return None


@pytest.fixture(scope="module")
def spark():
    reason = _spark_unavailable()
    if reason:
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # the driver listens on loopback only
        session = (
            SparkSession.builder.master("local[1]")
            .appName("customer-insights-test")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "1")
            # Not UTC: an order's day must not depend on the session's time zone.
            .config("spark.sql.session.timeZone", "Asia/Shanghai")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_runs_the_same_sql_and_gives_the_same_frame(spark, orders, tmp_path):
    path = aggregation.write_orders_parquet(orders, tmp_path / "hand.parquet")
    pd.testing.assert_frame_equal(aggregation.run_spark(spark, path, AS_OF), expected_by_hand(), check_exact=True)

    generated = generated_orders()
    path = aggregation.write_orders_parquet(generated, tmp_path / "generated.parquet")
    assert_same(aggregation.run_spark(spark, path, "2026-06-30"), aggregation.run_pandas(generated, "2026-06-30"))
