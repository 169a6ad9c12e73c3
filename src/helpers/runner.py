"""Run the whole report: validate and prepare the data, execute each chapter with papermill,
render HTML, write the index page and the manifest, all into a dated folder that appears
only when the run is complete.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import gc
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pyarrow
from jupyter_client.manager import KernelManager

from . import paths
from .chapter import RUN_INFO, git_commit, package_versions, write_resolved_params
from .errors import DataError
from .params import ParameterError, Params, load_params
from .paths import RunLayout
from .prepare import prepare
from .render import CHAPTER_TITLES, render_chapter, render_error_page, render_index

# Reports are built here and renamed into outputs/<quarter>/ when complete (same file system,
# so the rename is atomic); a killed run leaves at most a scratch folder here, never a half report.
BUILD_DIR = ".building"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Produce the quarterly customer analysis report.")
    parser.add_argument("--quarter", help="quarter to report, e.g. 2026Q3 (default: from the parameters)")
    parser.add_argument("--params", help="parameters file merged over params/default.yaml")
    parser.add_argument("--data", help="folder with the raw data files (overrides data_dir)")
    parser.add_argument("--out", help="output folder (default: outputs/)")
    parser.add_argument("--chapters", help="comma-separated chapter numbers or names, e.g. 01,04 (default: all)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="run chapters 01-04 side by side in N kernels (they read only the prepared data); "
                             "default 1: one chapter after another")
    parser.add_argument("--notebooks", help=argparse.SUPPRESS)  # another notebooks folder, for tests
    return parser.parse_args(argv)


def select_chapters(spec: str | None) -> list[str]:
    if not spec:
        return list(paths.CHAPTERS)
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    chosen = []
    for item in wanted:
        matches = [c for c in paths.CHAPTERS if c == item or c.split("_")[0] == item.zfill(2)]
        if not matches:
            raise ParameterError(f"unknown chapter {item!r}; choose from {', '.join(paths.CHAPTERS)}")
        chosen.extend(m for m in matches if m not in chosen)
    return [c for c in paths.CHAPTERS if c in chosen]


def final_folder(quarter_dir: Path, today: dt.date) -> Path:
    """``<date>``, or ``<date>-2``, ``-3``... when a run of the same day exists."""
    candidate, n = quarter_dir / today.isoformat(), 1
    while candidate.exists():
        n += 1
        candidate = quarter_dir / f"{today.isoformat()}-{n}"
    return candidate


def remove_stale_builds(out_root: Path) -> None:
    """Delete build folders left by runs that were killed (their process no longer exists)."""
    for build in (out_root / BUILD_DIR).glob("*"):
        try:
            pid = int(build.name.rsplit("-", 1)[-1])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            shutil.rmtree(build, ignore_errors=True)
        except PermissionError:
            pass


def return_freed_memory() -> None:
    """Hand memory freed after the preparation back to the system: Arrow's pool and the C heap
    keep it otherwise (at 100,000 customers the runner went from 1,029 MiB to 249 MiB), and the
    runner would sit on it while the chapter kernels need it."""
    gc.collect()
    pyarrow.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # malloc_trim is glibc's
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Progress:
    def __init__(self, total: int):
        self.total, self.n, self.started = total, 0, time.perf_counter()

    def step(self, label: str) -> None:
        self.n += 1
        print(f"[{self.n}/{self.total}] {label} (elapsed {time.perf_counter() - self.started:.1f} s)", flush=True)


class IpcKernelManager(KernelManager):
    """Kernels talk to the runner over local IPC sockets rather than TCP (nothing listens on a port)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"
        # A socket path of its own, so kernels started side by side (--jobs) never share one.
        self.ip = os.path.join(tempfile.gettempdir(), f"ci-kernel-{uuid.uuid4().hex}")


def execute_chapter(chapter: str, layout: RunLayout, params: Params, notebooks_dir: Path) -> tuple[str, str]:
    """Run one chapter notebook with papermill; returns (status, error message)."""
    import papermill

    try:
        papermill.execute_notebook(
            str(notebooks_dir / f"{chapter}.ipynb"), str(layout.notebooks / f"{chapter}.ipynb"),
            parameters={"quarter": params.quarter, "run_dir": str(layout.root), "params_file": ""},
            progress_bar=False, cwd=str(notebooks_dir), kernel_name="python3", kernel_manager_class=IpcKernelManager)
        return "ok", ""
    except Exception as exc:  # a failing chapter must not stop the others
        return "failed", f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"


# Chapters that read only the prepared data (not each other's artifacts) and may run side by side.
INDEPENDENT_CHAPTERS = ("01_overview", "02_needs", "03_behaviour", "04_value")


def chapter_groups(chapters: list[str], jobs: int) -> list[list[str]]:
    """Run order: one chapter per group, or with ``jobs > 1`` chapters 01-04 as one group."""
    if jobs <= 1:
        return [[c] for c in chapters]
    groups: list[list[str]] = []
    for chapter in chapters:
        if chapter in INDEPENDENT_CHAPTERS and groups and groups[-1][0] in INDEPENDENT_CHAPTERS:
            groups[-1].append(chapter)
        else:
            groups.append([chapter])
    return groups


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def shared_cores(jobs: int):
    """Kernels started inside share the machine's cores: each gets ``cores // jobs`` threads for
    its numerical libraries (unless set by the user), instead of all of them fighting for every
    core. The end-to-end test checks that such a run's artifacts are byte-identical to a
    sequential run's."""
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    unset = [name for name in THREAD_VARIABLES if name not in os.environ]
    os.environ.update({name: threads for name in unset})
    try:
        yield
    finally:
        for name in unset:
            os.environ.pop(name, None)


def run_chapters(group: list[str], jobs: int, layout: RunLayout, params: Params, notebooks_dir: Path,
                 chapters: list[str], progress: "Progress") -> list[dict]:
    """Execute a group of chapters (side by side when ``jobs > 1``), then render each page in order."""
    from concurrent.futures import ThreadPoolExecutor

    def execute(chapter: str) -> dict:
        progress.step(f"chapter {CHAPTER_TITLES[chapter]}")
        start, stamp = time.perf_counter(), dt.datetime.now().isoformat(timespec="seconds")
        status, error = execute_chapter(chapter, layout, params, notebooks_dir)
        return {"name": chapter, "started": stamp, "status": status, "error": error,
                "execute_seconds": round(time.perf_counter() - start, 2)}

    if len(group) > 1:
        with ThreadPoolExecutor(max_workers=jobs) as pool, shared_cores(jobs):
            steps = list(pool.map(execute, group))
    else:
        steps = [execute(group[0])]
    for step in steps:
        start = time.perf_counter()
        chapter = step["name"]
        html_path, nb_path = layout.chapter_html(chapter), layout.notebooks / f"{chapter}.ipynb"
        if step["status"] == "ok":
            render_chapter(nb_path, html_path, chapter, chapters, params.report_title)
        else:
            print(f"      chapter {chapter} failed: {step['error']}", file=sys.stderr)
            render_error_page(html_path, chapter, chapters, params.report_title, step["error"], nb_path)
        step["render_seconds"] = round(time.perf_counter() - start, 2)
        step["seconds"] = round(step["execute_seconds"] + step["render_seconds"], 2)
    return steps


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    out_root = paths.resolve(args.out) if args.out else paths.OUTPUTS_DIR
    try:
        params = load_params(quarter=args.quarter, params_file=args.params, data_dir=args.data)
        chapters = select_chapters(args.chapters)
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print(f"error: --jobs must be at least 1, got {args.jobs}", file=sys.stderr)
        return 2
    notebooks_dir = Path(args.notebooks) if args.notebooks else paths.NOTEBOOKS_DIR
    quarter_dir = out_root / params.quarter
    remove_stale_builds(out_root)
    build = out_root / BUILD_DIR / f"{params.quarter}-{os.getpid()}"
    layout = RunLayout(build).make()

    def abandon(signum, _frame):
        shutil.rmtree(build, ignore_errors=True)
        print(f"interrupted: nothing was written to {quarter_dir}", file=sys.stderr)
        sys.exit(128 + signum)

    previous_handlers = {s: signal.signal(s, abandon) for s in (signal.SIGINT, signal.SIGTERM)}
    progress = Progress(total=1 + len(chapters) + 1)
    steps: list[dict] = []
    try:
        progress.step(f"validating and preparing data from {params.data_path}")
        step_start, stamp = time.perf_counter(), dt.datetime.now().isoformat(timespec="seconds")
        try:
            write_resolved_params(params, layout)
            (build / RUN_INFO).write_text(json.dumps({"outputs_root": str(out_root)}), encoding="utf-8")
            log = prepare(params, layout, progress=lambda m: print(f"      {m}", flush=True))
            return_freed_memory()
        except (DataError, ParameterError) as exc:
            print(f"\nerror: the input data cannot be used; no report was written.\n{exc}", file=sys.stderr)
            shutil.rmtree(build, ignore_errors=True)
            return 2
        steps.append({"name": "prepare", "started": stamp, "seconds": round(time.perf_counter() - step_start, 2),
                      "status": "ok", "error": "", **log["timings"]})
        for group in chapter_groups(chapters, args.jobs):
            steps.extend(run_chapters(group, args.jobs, layout, params, notebooks_dir, chapters, progress))
        progress.step("writing the index page and manifest")
        render_index(build, f"{params.report_title} · {params.quarter}", params.company_name,
                     report_scope(params, log), steps, chapters, top_actions(layout))
        write_manifest(layout, params, log, steps, time.perf_counter() - started)
        quarter_dir.mkdir(parents=True, exist_ok=True)
        final = final_folder(quarter_dir, dt.date.today())
        os.rename(build, final)
    finally:
        shutil.rmtree(build, ignore_errors=True)
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)
    failed = [s["name"] for s in steps if s["status"] != "ok"]
    print(f"\nReport: {final / 'index.html'}  ({time.perf_counter() - started:.1f} s)")
    if failed:
        print(f"{len(failed)} chapter(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def report_scope(params: Params, log: dict) -> list[tuple[str, str]]:
    period = params.period
    rows = [("Quarter", f"{period} ({period.start:%Y-%m-%d} to {period.last_day:%Y-%m-%d})"),
            ("Compared with", f"{period.previous()} (previous quarter) and {period.year_ago()} (a year ago)"),
            ("Data as of", log["as_of"]),
            ("Sources used", ", ".join(log["available"])),
            ("Sources absent", ", ".join(log["absent"]) or "none")]
    removed = sum(r["rows_quarantined"] for r in log["reconciliation"])
    read = sum(r["rows_in"] for r in log["reconciliation"])
    rows.append(("Rows read / set aside", f"{read:,} / {removed:,}"))
    return rows


def top_actions(layout: RunLayout, n: int = 5) -> list[str]:
    path = layout.artifacts / "actions.csv"
    if not path.exists():
        return []
    import pandas as pd

    actions = pd.read_csv(path)
    column = "summary" if "summary" in actions else actions.columns[0]
    return actions[column].astype(str).head(n).tolist()


def write_manifest(layout: RunLayout, params: Params, log: dict, steps: list[dict], seconds: float) -> None:
    manifest = {
        "quarter": params.quarter,
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "seconds": round(seconds, 2),
        "parameters": json.loads(params.model_dump_json()),
        "inputs": [{"source": item["source"], **f} for item in log["inventory"] for f in item.get("files", [])],
        "absent_sources": log["absent"],
        "reconciliation": log["reconciliation"],
        "packages": package_versions(),
        "git_commit": git_commit(),
        "steps": steps,
    }
    layout.manifest.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))
