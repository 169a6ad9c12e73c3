"""Time every step of the report at a given size and print a table (and optionally append it to a file).

    python benchmarks/run_report.py --customers 100000 [--jobs 2] [--chapters 01,04] [--results benchmarks/RESULTS.md]

Steps: demo data generation, loading (reading and typing the raw files), cleaning, writing the
prepared tables, kernel start-up (an empty notebook through papermill), each chapter's execution
and rendering, and the whole run. Memory is sampled twice a second over the run's processes
(the runner and its notebook kernels): for each step the largest resident set of one process
and of all of them together (they differ when chapters run side by side with --jobs).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from helpers.demo.generator import generate, write  # noqa: E402
from helpers.report.runner import IpcKernelManager  # noqa: E402


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


class MemorySampler(threading.Thread):
    """Resident memory of a process and its descendants, sampled every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.5):
        super().__init__(daemon=True)
        self.root, self.interval = psutil.Process(pid), interval
        self.samples: list[tuple[float, float, float]] = []  # (epoch seconds, one process MiB, all MiB)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            sizes = []
            for process in [self.root, *self._children()]:
                try:
                    sizes.append(process.memory_info().rss / 2**20)
                except psutil.Error:
                    pass
            if sizes:
                self.samples.append((time.time(), max(sizes), sum(sizes)))
            self.done.wait(self.interval)

    def _children(self) -> list:
        try:
            return self.root.children(recursive=True)
        except psutil.Error:
            return []

    def peak(self, start: float = 0.0, stop: float = float("inf")) -> tuple[float, float]:
        """(largest one process, largest total) in MiB between ``start`` and ``stop`` (epoch seconds)."""
        inside = [(one, total) for at, one, total in self.samples if start <= at <= stop]
        return (max(o for o, _ in inside), max(t for _, t in inside)) if inside else (float("nan"), float("nan"))


def closing_seconds(stdout: str) -> float:
    """Seconds from the runner's "writing the index page" step to the end of the run, read off
    its progress lines ("[8/9] writing the index page and manifest (elapsed 41.2 s)") and its
    last line ("Report: .../index.html  (52.5 s)")."""
    start = end = float("nan")
    for line in stdout.splitlines():
        if "writing the index page" in line and "(elapsed " in line:
            start = float(line.rsplit("(elapsed ", 1)[1].split()[0])
        elif line.startswith("Report: ") and line.endswith(" s)"):
            end = float(line.rsplit("(", 1)[1].split()[0])
    return end - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quarter", default="2026Q3")
    parser.add_argument("--chapters", default="")
    parser.add_argument("--jobs", type=int, default=None,
                        help="run_all.py --jobs (chapters 01-04 side by side; default: run_all.py's own default)")
    parser.add_argument("--data", default="", help="reuse demo data already written to this folder (its "
                                                   "--customers must match) instead of generating it")
    parser.add_argument("--work", default="", help="folder for data and outputs (default: a temporary folder)")
    parser.add_argument("--results", default="", help="append the table to this Markdown file")
    args = parser.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="ci-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    out = work / "out"
    rows: list[tuple[str, float, tuple[float, float] | None]] = []  # (step, seconds, memory peaks)
    started = time.perf_counter()
    if args.data:
        data = Path(args.data)
        with open(data / "orders.csv", "rb") as handle:
            order_lines = sum(1 for _ in handle) - 1
        rows.append((f"demo data (reused from {data})", 0.0, None))
    else:
        data = work / "data"
        frames = generate(customers=args.customers, seed=args.seed, end="2026-09-30")
        write(frames, data)
        order_lines = len(frames["orders"])
        del frames
        rows.append(("demo data (generate and write CSV)", time.perf_counter() - started, None))
    rows.append(("kernel start-up (one empty notebook)", kernel_startup_seconds(work), None))

    command = [sys.executable, str(ROOT / "run_all.py"), "--quarter", args.quarter, "--data", str(data),
               "--out", str(out)] + (["--jobs", str(args.jobs)] if args.jobs else [])
    if args.chapters:
        command += ["--chapters", args.chapters]
    run_started = time.perf_counter()
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = MemorySampler(run.pid)
    sampler.start()
    stdout, stderr = run.communicate()
    sampler.done.set()
    sampler.join()
    run_seconds = time.perf_counter() - run_started
    if run.returncode not in (0, 1):
        sys.exit(f"the report run failed:\n{stderr[-3000:]}")
    manifest_path = max((out / args.quarter).glob("*/analyst/manifest.json"), key=lambda path: path.stat().st_mtime)
    manifest = json.loads(manifest_path.read_text())
    for step in manifest["steps"]:
        begin = dt.datetime.fromisoformat(step["started"]).timestamp()
        if step["name"] == "prepare":
            peaks = sampler.peak(begin, begin + step["seconds"] + 1)
            rows += [("loading (read and type raw files)", step["read_seconds"], None),
                     ("cleaning and integration", step["clean_seconds"], None),
                     ("writing prepared Parquet", step["write_seconds"], peaks)]
        else:
            peaks = sampler.peak(begin, begin + step["execute_seconds"] + 1)
            rows.append((f"chapter {step['name']} ({step['status']}): execute", step["execute_seconds"], peaks))
            rows.append((f"chapter {step['name']}: render HTML", step["render_seconds"], None))
    rows.append(("index page, manifest and report.pdf", closing_seconds(stdout), None))
    rows.append(("whole run_all.py", run_seconds, sampler.peak()))

    jobs = f", --jobs {args.jobs}" if args.jobs else ", default --jobs"
    header = (f"### {args.customers:,} customers ({order_lines:,} order lines), {os.cpu_count()} cores{jobs}, "
              f"{time.strftime('%Y-%m-%d')}\n\n"
              "| step | seconds | peak MiB, one process | peak MiB, all processes |\n| --- | ---: | ---: | ---: |\n")
    table = header + "".join(
        f"| {name} | {seconds:,.1f} | " + (f"{peaks[0]:,.0f} | {peaks[1]:,.0f} |" if peaks else "| |") + "\n"
        for name, seconds, peaks in rows)
    table += ("\nMemory of the prepare step is shown on its last row (reading, cleaning and writing together); "
              "chapters run side by side show the same overlapping peaks.\n" if args.jobs != 1 else
              "\nMemory of the prepare step is shown on its last row (reading, cleaning and writing together).\n")
    print(table)
    if args.results:
        with open(args.results, "a", encoding="utf-8") as handle:
            handle.write(table + "\n")


if __name__ == "__main__":
    main()
