"""Shared test fixtures: small hand-made frames in the prepared-table shape."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from helpers import facts  # noqa: E402
from helpers.demo.generator import generate, write  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"


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
    orders["net_amount"] = facts.net_amount(orders)
    orders["is_purchase"] = facts.is_purchase(orders)
    return orders


def skip_without_spark() -> None:
    """Skip the calling test, saying why, where pyspark or Java 17 is missing (``make test`` installs pyspark)."""
    from helpers.facts.customer_facts import spark_unavailable

    reason = spark_unavailable()
    if reason:
        pytest.skip(f"{reason} (optional: pip install -r requirements-spark.lock, with Java 17)")


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


# --- the whole report on a small generated data set, shared by the end-to-end and browser tests ---

def run_report(*args: str, timeout: int = 600, pdf: bool = True) -> subprocess.CompletedProcess:
    """run_all.py with ``args``; ``pdf=False`` for tests that read only the pages: the run finds no
    browser (CHROME_BIN names none), says so and writes the HTML report without report.pdf."""
    env = None if pdf else {**os.environ, "CHROME_BIN": "no-browser-for-this-test"}
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "run_all.py"), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    write(generate(customers=600, seed=7, end="2026-09-30"), data)
    return data


@pytest.fixture(scope="session")
def report(demo, tmp_path_factory):
    """The previous quarter first (the chapters that make action lists), then the full 2026Q3 report."""
    out = tmp_path_factory.mktemp("out")
    previous = run_report("--quarter", "2026Q2", "--data", str(demo), "--out", str(out), "--chapters", "00,01,03,04,05")
    assert previous.returncode == 0, previous.stdout[-3000:] + previous.stderr[-3000:]
    result = run_report("--quarter", "2026Q3", "--data", str(demo), "--out", str(out))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    folders = [p for p in (out / "2026Q3").iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1
    return folders[0], result




@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``make test`` runs ``-n 2 --dist loadgroup``), tests that share an
    expensive fixture run on one worker, so the fixture is built once: the demo report, each
    export shape's report, and otherwise each test file's module fixtures."""
    for item in items:
        if "report" in item.fixturenames:
            group = "demo_report"
        elif "shaped" in item.fixturenames and hasattr(item, "callspec"):
            group = f"shape_{item.callspec.params.get('shaped')}"
        else:
            group = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
