"""Shared test fixtures: small hand-made frames in the prepared-table shape."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

SHARED = Path(__file__).resolve().parents[2] / "shared"


def make_orders(rows: list[tuple]) -> pd.DataFrame:
    """Prepared orders from (order_id, customer_id, date, amount[, status[, is_return]]) tuples."""
    records = []
    for row in rows:
        order_id, customer_id, date, amount = row[:4]
        status = row[4] if len(row) > 4 else "completed"
        is_return = row[5] if len(row) > 5 else False
        records.append({"order_id": order_id, "line_id": "1", "customer_id": customer_id,
                        "order_date": pd.Timestamp(date), "amount": float(amount), "status": status,
                        "is_return": is_return})
    orders = pd.DataFrame(records)
    orders["net_amount"] = orders["amount"].where(orders["status"].eq("completed"), 0.0)
    orders["is_purchase"] = orders["status"].eq("completed") & ~orders["is_return"] & (orders["amount"] > 0)
    return orders


@pytest.fixture
def tiny_orders() -> pd.DataFrame:
    return make_orders([
        ("o1", "a", "2026-07-05", 100.0),
        ("o2", "a", "2026-07-20", 50.0),
        ("o3", "b", "2026-08-01", 200.0),
        ("o4", "c", "2026-04-10", 80.0),
        ("o5", "c", "2026-09-15", 20.0, "cancelled"),
        ("o6", "b", "2026-08-03", -40.0, "completed", True),
    ])
