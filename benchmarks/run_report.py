"""Time every step of the report at a given size and print a table (and optionally append it to a file).

    python benchmarks/run_report.py --customers 100000 [--chapters 01,04] [--results benchmarks/RESULTS.md]

Steps: demo data generation, loading (reading and typing the raw files), cleaning, writing the
prepared tables, kernel start-up (an empty notebook through papermill), each chapter's execution
and rendering, and the whole run. Peak memory is the largest resident set of any process of
the run (the runner or a notebook kernel), from getrusage.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from helpers.demo_data import generate, write  # noqa: E402
from helpers.runner import IpcKernelManager  # noqa: E402


def kernel_startup_seconds(work: Path) -> float:
    import nbformat
    import papermill

    empty = work / "empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")],
                                            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                     "language": "python"}}), empty)
    started = time.perf_counter()
    papermill.execute_notebook(str(empty), str(work / "empty_out.ipynb"), progress_bar=False, kernel_name="python3",
                               kernel_manager_class=IpcKernelManager)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quarter", default="2026Q3")
    parser.add_argument("--chapters", default="")
    parser.add_argument("--work", default="", help="folder for data and outputs (default: a temporary folder)")
    parser.add_argument("--results", default="", help="append the table to this Markdown file")
    args = parser.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="ci-bench-"))
    data, out = work / "data", work / "out"
    rows = []
    started = time.perf_counter()
    frames = generate(customers=args.customers, seed=args.seed, end="2026-09-30")
    write(frames, data)
    order_lines = len(frames["orders"])
    del frames
    rows.append(("demo data (generate and write CSV)", time.perf_counter() - started))
    rows.append(("kernel start-up (one empty notebook)", kernel_startup_seconds(work)))

    command = [sys.executable, str(ROOT / "run_all.py"), "--quarter", args.quarter, "--data", str(data), "--out", str(out)]
    if args.chapters:
        command += ["--chapters", args.chapters]
    run_started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    run_seconds = time.perf_counter() - run_started
    if result.returncode not in (0, 1):
        sys.exit(f"the report run failed:\n{result.stderr[-3000:]}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    manifest_path = next((out / args.quarter).glob("*/manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    for step in manifest["steps"]:
        if step["name"] == "prepare":
            rows += [("loading (read and type raw files)", step["read_seconds"]),
                     ("cleaning and integration", step["clean_seconds"]),
                     ("writing prepared Parquet", step["write_seconds"])]
        else:
            rows.append((f"chapter {step['name']} ({step['status']}): execute", step["execute_seconds"]))
            rows.append((f"chapter {step['name']}: render HTML", step["render_seconds"]))
    rows.append(("whole run_all.py", run_seconds))

    header = (f"### {args.customers:,} customers ({order_lines:,} order lines), {os.cpu_count()} cores, "
              f"{time.strftime('%Y-%m-%d')}\n\n| step | seconds |\n| --- | ---: |\n")
    table = header + "".join(f"| {name} | {seconds:.1f} |\n" for name, seconds in rows)
    table += f"| peak memory of any process (MiB) | {peak_mb:,.0f} |\n"
    print(table)
    if args.results:
        with open(args.results, "a", encoding="utf-8") as handle:
            handle.write(table + "\n")


if __name__ == "__main__":
    main()
