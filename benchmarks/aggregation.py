"""Time and peak memory of the per-customer aggregation (helpers.facts.customer_facts) on pandas and DuckDB.

    PYTHONPATH=src .venv/bin/python benchmarks/aggregation.py --customers 100000 1000000 [--spark]
    PYTHONPATH=src .venv/bin/python benchmarks/aggregation.py --customers 3000000 --engines pandas "duckdb (parquet)"

For each size: the demo generator's orders (seed 2026, history ending 2026-09-30) with the
prepared columns derived as ``helpers.data.prepare`` does (``net_amount``, ``is_purchase``), written
once to Parquet; then each engine runs in a fresh process, as of 2026-09-30:

* ``pandas``          run_pandas on the orders frame read from the Parquet file
* ``duckdb (frame)``  run_duckdb on that same frame
* ``duckdb (parquet)`` run_duckdb on the Parquet file, which DuckDB scans itself
* ``spark local``     (with ``--spark``) run_spark in local mode on all cores; seconds include
                      the session start, memory is not measured (it is in the JVM)

``load s`` / ``load MiB`` are reading the Parquet file into pandas and the resident memory
after it; ``run s`` is the aggregation; ``peak MiB`` the largest resident set of the process
during the aggregation (VmHWM, reset after the load), so ``peak - load`` is what the
aggregation itself adds. Every engine's frame is compared with the first engine's (pandas by
default): ids, counts and dates exactly, sums by their largest relative difference. The per-customer frame's size
(what a cluster sends back) is given as Parquet bytes and pandas bytes per customer.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np
import pandas as pd

from helpers.demo.generator import iter_sources
from helpers.facts import customer_facts as aggregation

AS_OF = "2026-09-30"
ENGINES = ("pandas", "duckdb (frame)", "duckdb (parquet)")


def _memory_mib() -> tuple[float, float]:
    """Resident set and its peak (VmRSS, VmHWM) of this process in MiB."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux 4.0+)


def prepared_orders(customers: int) -> pd.DataFrame:
    """The demo orders with the prepared columns the aggregation reads."""
    for name, orders in iter_sources(customers, 2026, end=AS_OF):
        if name == "orders":
            break
    completed = orders["status"].eq("completed")
    orders["net_amount"] = orders["amount"].where(completed, 0.0)
    orders["is_purchase"] = completed & ~orders["is_return"] & (orders["amount"] > 0)
    orders["category"] = "x"
    return orders


def worker(engine: str, source: Path, output: Path) -> dict:
    """Run one engine in this (fresh) process and return its measurements."""
    started = time.perf_counter()
    orders = None
    if engine in ("pandas", "duckdb (frame)"):
        orders = pd.read_parquet(source)
    load_seconds = time.perf_counter() - started
    load_mib, _ = _memory_mib()
    _reset_peak()
    started = time.perf_counter()
    if engine == "pandas":
        result = aggregation.run_pandas(orders, AS_OF)
    elif engine == "duckdb (frame)":
        result = aggregation.run_duckdb(orders, AS_OF)
    elif engine == "duckdb (parquet)":
        result = aggregation.run_duckdb(source, AS_OF)
    elif engine == "spark local":
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        from pyspark.sql import SparkSession

        spark = (SparkSession.builder.master("local[*]").config("spark.ui.enabled", "false")
                 .config("spark.ui.showConsoleProgress", "false").config("spark.driver.memory", "8g")
                 .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                 .getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        result = aggregation.run_spark(spark, source, AS_OF)
        spark.stop()
    else:
        raise ValueError(f"unknown engine {engine!r}")
    run_seconds = time.perf_counter() - started
    _, peak_mib = _memory_mib()
    result.to_parquet(output, index=False)
    measured = {"engine": engine, "load_s": load_seconds, "load_mib": load_mib, "run_s": run_seconds, "peak_mib": peak_mib}
    if engine == "spark local":
        measured.update(load_mib=np.nan, peak_mib=np.nan)
    return measured


def compare(result: pd.DataFrame, reference: pd.DataFrame) -> tuple[bool, float]:
    """(ids, counts and dates identical, largest relative difference of the sums)."""
    money = [c for c in reference.columns if c.startswith(("purchase_value", "net_revenue"))]
    exact = [c for c in reference.columns if c not in money]
    try:
        pd.testing.assert_frame_equal(result[exact], reference[exact], check_exact=True)
        identical = True
    except AssertionError:
        identical = False
    a, b = result[money].to_numpy(), reference[money].to_numpy()
    scale = np.maximum(np.abs(b), np.finfo(float).tiny)
    return identical, float(np.max(np.abs(a - b) / scale)) if len(b) else 0.0


def bench(customers: int, engines: list[str], work: Path) -> None:
    started = time.perf_counter()
    orders = prepared_orders(customers)
    source = aggregation.write_orders_parquet(orders, work / f"orders_{customers}.parquet")
    lines, buyers = len(orders), orders["customer_id"].nunique()
    del orders
    print(f"\n{customers:,} customers: {lines:,} order lines of {buyers:,} customers, "
          f"Parquet {source.stat().st_size / 2**20:,.0f} MiB, generated in {time.perf_counter() - started:.0f} s",
          flush=True)
    print(f"{'engine':<17} {'load s':>7} {'load MiB':>9} {'run s':>7} {'peak MiB':>9} {'peak-load':>9}  same as the first engine")
    reference = None
    for engine in engines:
        output = work / f"result_{customers}_{engine.replace(' ', '_').strip('()')}.parquet"
        done = subprocess.run([sys.executable, __file__, "--worker", engine, "--source", str(source),
                               "--output", str(output)], check=False, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{engine:<17} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
            continue
        m = json.loads(done.stdout.strip().splitlines()[-1])
        result = pd.read_parquet(output)
        if reference is None:
            reference = result
            same = "(reference)"
            size = output.stat().st_size
            memory = result.memory_usage(deep=True, index=False).sum()
            per_customer = (f"per-customer frame: {len(result):,} rows x {result.shape[1]} columns, "
                            f"{size / len(result):.0f} B/customer as Parquet, {memory / len(result):.0f} B/customer in pandas")
        else:
            identical, relative = compare(result, reference)
            same = f"{'ids, counts, dates identical' if identical else 'COUNTS OR DATES DIFFER'}; sums max rel. diff {relative:.1e}"
        print(f"{engine:<17} {m['load_s']:7.1f} {m['load_mib']:9,.0f} {m['run_s']:7.1f} {m['peak_mib']:9,.0f} "
              f"{m['peak_mib'] - m['load_mib']:9,.0f}  {same}", flush=True)
    if reference is not None:
        print(per_customer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000])
    parser.add_argument("--spark", action="store_true", help="also time Spark in local mode (needs pyspark, Java 17)")
    parser.add_argument("--engines", nargs="+", choices=ENGINES + ("spark local",), default=None,
                        help="only these engines (the first is the reference)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the Parquet files (default: a temporary one)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.source, args.output)))
        return 0
    engines = args.engines or list(ENGINES) + (["spark local"] if args.spark else [])
    import duckdb

    print(f"{os.cpu_count()} cores; pandas {pd.__version__}, duckdb {duckdb.__version__}; as of {AS_OF}")
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for customers in args.customers:
            bench(customers, engines, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
