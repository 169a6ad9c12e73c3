"""Run the whole report: validate and prepare the data, execute each chapter with papermill,
render HTML, write the index page and the manifest, print ``report.pdf``, all into a dated
folder that appears only when the run is complete: the folder to share, with the analyst's files
(notebooks, prepared and quarantined data, customer-level tables, manifest) in ``analyst/``.

Every way a run can end has its own exit code (``EXIT_CODES``, shown by ``run_all.py --help``).
Faults outside the data end in a short message, never a traceback: SIGINT and SIGTERM only raise
``Interrupted`` in the main thread, and ``main`` alone stops the chapter kernels, removes the
build folder and prints the one line that says so.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import errno
import gc
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import traceback
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow
from jupyter_client.manager import AsyncKernelManager, KernelManager

from helpers import paths
from helpers.data.prepare import prepare
from helpers.errors import DataError
from helpers.params import ParameterError, Params, load_params
from helpers.paths import RunLayout
from helpers.quarters import Quarter
from helpers.report import executive, export, pdf
from helpers.report.chapter import (
    RESOLVED_PARAMS,
    RUN_INFO,
    SECTIONS_FILE,
    git_commit,
    package_versions,
    write_resolved_params,
)
from helpers.report.fmt import fmt_date, fmt_int, fmt_quarter
from helpers.report.i18n import set_language, t
from helpers.report.kernels import (
    KernelPool,
    WarmKernel,
    available_memory,
    chapter_memory,
    kernel_environment,
    kernels_that_fit,
    warm_up_code,
)
from helpers.report.progress import Progress
from helpers.report.registry import CHAPTER_SPECS, CHAPTERS, TITLES
from helpers.report.render import render_chapter, render_error_page, render_index

# Reports are built here and renamed into outputs/<quarter>/ when complete (same file system,
# so the rename is atomic); a killed run leaves at most a scratch folder here, never a half report.
BUILD_DIR = ".building"
# Tracebacks of runner bugs go here, outside any report folder.
LOG_DIR = ".logs"

EXIT_OK = 0
EXIT_CHAPTER_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERNAL_ERROR = 4
EXIT_SIGNAL_BASE = 128  # the shell's convention: 128 + the signal number

EXIT_CODES = (
    (EXIT_OK, "complete: the report was written and every chapter ran"),
    (EXIT_CHAPTER_FAILED, "the report was written, but a chapter or a section failed (its page shows the error)"),
    (EXIT_BAD_INPUT, "bad parameters, options or input data; nothing was written"),
    (EXIT_ENVIRONMENT, "the environment failed (output folder not writable, disk full, any other OS error); "
                       "nothing was written"),
    (EXIT_INTERNAL_ERROR, "a bug in the runner or a helper it calls; the message names a log file with "
                          "the traceback; nothing was written"),
    (EXIT_SIGNAL_BASE + signal.SIGINT, "interrupted by SIGINT (Ctrl-C); nothing was written"),
    (EXIT_SIGNAL_BASE + signal.SIGTERM, "stopped by SIGTERM; nothing was written"),
)

# Write failures that no rerun fixes until someone frees space or fixes the folder's permissions:
# they end the run (exit 3) even when they happen while a chapter runs.
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. A ``BaseException``, like ``KeyboardInterrupt``, so that no
    ``except Exception`` on its way up swallows it; ``main`` handles it once."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class RunState:
    """What ``main`` needs to end a run cleanly, whatever stops it."""

    out_root: Path | None = None
    quarter_dir: Path | None = None
    build: Path | None = None
    step: str = "checking the parameters"
    workers: list[threading.Thread] = field(default_factory=list)
    committing: bool = False  # the report is being (or has been) renamed into place: signals are ignored
    ending: bool = False      # the run is already ending: further signals are ignored


def exit_codes_text() -> str:
    """The exit codes as a table for ``--help``."""
    width = max(len(str(code)) for code, _ in EXIT_CODES)
    lines = ["exit codes:"]
    for code, meaning in EXIT_CODES:
        lines.extend(textwrap.wrap(meaning, 78, initial_indent=f"  {code:>{width}}  ",
                                   subsequent_indent=" " * (width + 4)))
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Produce the quarterly customer analysis report.",
                                     epilog=exit_codes_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quarter", help="quarter to report, e.g. 2026Q3 (default: from the parameters)")
    parser.add_argument("--params", help="parameters file merged over params/default.yaml")
    parser.add_argument("--data", help="folder with the raw data files (overrides data_dir)")
    parser.add_argument("--language", help="language of the report: en or zh-CN (overrides report_language)")
    parser.add_argument("--out", help="output folder (default: outputs/)")
    parser.add_argument("--chapters", help="comma-separated chapter numbers or names, e.g. 01,04 (default: all)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="run chapters 00-04 side by side in N kernels (they read only the prepared data); "
                             "default: the number of cores this process may use (1: one chapter after another)")
    parser.add_argument("--notebooks", help=argparse.SUPPRESS)  # another notebooks folder, for tests
    return parser.parse_args(argv)


def select_chapters(spec: str | None) -> list[str]:
    if not spec:
        return list(CHAPTERS)
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    chosen = []
    for item in wanted:
        matches = [c for c in CHAPTERS if c == item or c.split("_")[0] == item.zfill(2)]
        if not matches:
            raise ParameterError(f"unknown chapter {item!r}; choose from {', '.join(CHAPTERS)}")
        chosen.extend(m for m in matches if m not in chosen)
    return [c for c in CHAPTERS if c in chosen]


def final_folder(quarter_dir: Path, today: dt.date) -> Path:
    """``<date>``, or ``<date>-2``, ``-3``... when a run of the same day exists."""
    candidate, n = quarter_dir / today.isoformat(), 1
    while candidate.exists():
        n += 1
        candidate = quarter_dir / f"{today.isoformat()}-{n}"
    return candidate


def _process_gone(pid: str) -> bool:
    """Whether no process has the id ``pid`` (False when it is not a number, or not ours to ask)."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, PermissionError):
        return False
    except ProcessLookupError:
        return True
    return False


def remove_stale_builds(out_root: Path) -> None:
    """Delete build folders left by runs that were killed (their process no longer exists)."""
    for build in (out_root / BUILD_DIR).glob("*"):
        pid = build.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or _process_gone(pid):
            shutil.rmtree(build, ignore_errors=True)


KERNEL_FILES = "ci-kernel"  # <temporary folder>/ci-kernel-<runner's process id>-<id>[-<port> | .json]


def remove_stale_scratch(folder: Path | None = None) -> None:
    """Delete the kernel sockets, connection files and browser scratch folders that runs killed
    with SIGKILL left in the temporary folder (their runner's process no longer exists); a
    killed run cannot remove them itself."""
    for prefix in (KERNEL_FILES, pdf.SCRATCH_PREFIX):
        for path in Path(folder or tempfile.gettempdir()).glob(f"{prefix}-*-*"):
            if _process_gone(path.name[len(prefix) + 1:].split("-")[0]):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        path.unlink()


def return_freed_memory() -> None:
    """Hand memory freed after the preparation back to the system: Arrow's pool and the C heap
    keep it otherwise (at 100,000 customers the runner went from 1,029 MiB to 249 MiB), and the
    runner would sit on it while the chapter kernels need it."""
    gc.collect()
    pyarrow.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # malloc_trim is glibc's
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# --- chapter kernels ---------------------------------------------------------------------------

class KernelRegistry:
    """The chapter kernels this process started, so that an interrupted run can stop them all.

    A kernel launched after ``stop_all`` (a chapter that was just starting) is stopped at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._managers: list[KernelManager] = []
        self.stopping = False

    def reset(self) -> None:
        with self._lock:
            self._managers, self.stopping = [], False

    def launched(self, manager: KernelManager) -> None:
        with self._lock:
            self._managers.append(manager)
            stopping = self.stopping
        if stopping:
            kill_kernel(manager)

    def end_run(self) -> None:
        """The run is ending: the chapters running stop at their current one, without a page, and
        a kernel launched from now on is stopped at once."""
        with self._lock:
            self.stopping = True

    def stop_all(self) -> None:
        self.end_run()
        with self._lock:
            managers = list(self._managers)
        for manager in managers:
            kill_kernel(manager)

    def remove_connection_files(self) -> None:
        """Connection and socket files of kernels whose client had no time to clean up."""
        with self._lock:
            managers = list(self._managers)
        for manager in managers:
            remove_kernel_files(manager)


def kill_kernel(manager: KernelManager) -> None:
    """SIGKILL a kernel's process group (the kernel and anything it started), reap it, and remove
    the socket and connection files it leaves in the temporary folder (no client will)."""
    provisioner = getattr(manager, "provisioner", None)
    process = getattr(provisioner, "process", None)
    if process is not None and process.poll() is None:  # not if already gone: its group id may be another's by now
        try:
            os.killpg(provisioner.pgid, signal.SIGKILL)
        except (OSError, TypeError):  # TypeError: no group id recorded
            with contextlib.suppress(OSError):
                process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            process.wait(timeout=5)
    if process is not None:
        remove_kernel_files(manager)


def remove_kernel_files(manager: KernelManager) -> None:
    with contextlib.suppress(Exception):
        manager.cleanup_connection_file()
        manager.cleanup_ipc_files()


KERNELS = KernelRegistry()


class IpcKernelManager(AsyncKernelManager):
    """Kernels talk to the runner over local IPC sockets rather than TCP (nothing listens on a port).

    Asynchronous, as papermill's default: its client waits for a kernel's messages without blocking
    the event loop, so the check that the kernel is still alive keeps running and a killed kernel
    ends its chapter within a second instead of leaving the client waiting for ever.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"
        # A socket path of its own, so kernels started side by side (--jobs) never share one, and
        # the runner's process id in it and in the connection file's name, for the next run to
        # remove them when this one is killed (remove_stale_scratch).
        self.ip = os.path.join(tempfile.gettempdir(), f"{KERNEL_FILES}-{os.getpid()}-{uuid.uuid4().hex}")
        self.connection_file = f"{self.ip}.json"

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        await super()._async_launch_kernel(kernel_cmd, **kw)
        KERNELS.launched(self)


def execute_chapter(chapter: str, layout: RunLayout, params: Params, notebooks_dir: Path,
                    kernel: KernelManager | None = None) -> tuple[str, str]:
    """Run one chapter notebook with papermill, in ``kernel`` (a started kernel's manager, left
    running) or in a kernel of its own; returns (status, error message).

    A full disk or a read-only folder is raised (it ends the run); any other error fails only this chapter.
    """
    import papermill

    start = {"km": kernel} if kernel is not None else {"kernel_manager_class": IpcKernelManager}
    try:
        papermill.execute_notebook(
            str(notebooks_dir / f"{chapter}.ipynb"), str(layout.notebooks / f"{chapter}.ipynb"),
            parameters={"quarter": params.quarter, "run_dir": str(layout.root), "params_file": ""},
            progress_bar=False, cwd=str(notebooks_dir), kernel_name="python3", **start)
        return "ok", ""
    except OSError as exc:
        if exc.errno in ENVIRONMENT_ERRNOS:
            raise
        return "failed", short_error(exc)
    except Exception as exc:  # a failing chapter must not stop the others
        return "failed", short_error(exc)


def short_error(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[-1] if text else ''}"


# Chapters that read only the prepared data (not each other's artifacts) and may run side by side.
INDEPENDENT_CHAPTERS = tuple(spec.name for spec in CHAPTER_SPECS if spec.side_by_side)


def chapter_groups(chapters: list[str], jobs: int) -> list[list[str]]:
    """Run order: one chapter per group, or with ``jobs > 1`` chapters 00-04 as one group."""
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


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and ``taskset`` set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_per_kernel(jobs: int) -> int:
    return max(1, usable_cores() // jobs)


def jobs_that_fit(jobs: int, layout: RunLayout) -> int:
    """``jobs``, or fewer when that many chapter kernels would not fit in the memory available
    for the prepared data (``kernels.chapter_memory``); says so when it lowers them."""
    need, available = chapter_memory(layout.prepared), available_memory()
    fit = kernels_that_fit(jobs, need, available)
    if fit < jobs:
        print(f"      chapters run {'one after another' if fit == 1 else f'{fit} side by side'}: {jobs} side by "
              f"side would need about {jobs * need / 2**30:.1f} GiB, {available / 2**30:.1f} GiB available",
              flush=True)
    return fit


def warm_kernels(chapters: list[str], jobs: int, notebooks_dir: Path) -> KernelPool:
    """As many kernels as chapters will run side by side, started now with every chapter's
    imports; with chapters side by side, each has the thread settings of ``shared_cores``."""
    size = min(jobs, max(len(group) for group in chapter_groups(chapters, jobs)))
    threads = threads_per_kernel(jobs) if size > 1 else None
    code = warm_up_code(notebooks_dir / f"{chapter}.ipynb" for chapter in chapters)
    env = kernel_environment(threads, THREAD_VARIABLES)
    return KernelPool(lambda: WarmKernel(IpcKernelManager, code, notebooks_dir, env), size)


@contextlib.contextmanager
def shared_cores(jobs: int):
    """Kernels started inside share the machine's cores: each gets ``cores // jobs`` threads for
    its numerical libraries (unless set by the user), instead of all of them fighting for every
    core. The end-to-end test checks that such a run's artifacts are byte-identical to a
    sequential run's."""
    threads = str(threads_per_kernel(jobs))
    unset = [name for name in THREAD_VARIABLES if name not in os.environ]
    os.environ.update({name: threads for name in unset})
    try:
        yield
    finally:
        for name in unset:
            os.environ.pop(name, None)


def starting_order(group: list[str]) -> list[str]:
    """The chapters of ``group`` costliest first (``ChapterSpec.seconds_at_100k``): the longest
    chapter is not left to start last, when the other kernel has nothing more to run."""
    seconds = {spec.name: spec.seconds_at_100k for spec in CHAPTER_SPECS}
    return sorted(group, key=lambda chapter: -seconds[chapter])


def execute_in_workers(group: list[str], jobs: int, execute: Callable[[str], dict], state: RunState) -> list[dict]:
    """``execute`` each chapter of ``group`` in worker threads, at most ``jobs`` at a time, while
    the main thread waits: signals reach only the main thread, which must stay free to handle them
    rather than be inside papermill's event loop. The first error raised by a worker is re-raised
    here, after the other kernels were stopped."""
    pending: queue.SimpleQueue[str] = queue.SimpleQueue()
    for chapter in starting_order(group):
        pending.put(chapter)
    results: dict[str, dict] = {}
    errors: list[BaseException] = []

    def work() -> None:
        while not KERNELS.stopping:
            try:
                chapter = pending.get_nowait()
            except queue.Empty:
                return
            try:
                results[chapter] = execute(chapter)
            except BaseException as exc:  # handed to the main thread, which ends the run
                errors.append(exc)
                KERNELS.stop_all()
                return

    # Daemon threads: a worker stuck in a dead kernel's client never keeps the process alive.
    state.workers = [threading.Thread(target=work, name=f"chapter-worker-{n}", daemon=True)
                     for n in range(min(jobs, len(group)))]
    for worker in state.workers:
        worker.start()
    for worker in state.workers:
        worker.join()
    state.workers = []
    if errors:
        raise errors[0]
    return [results[chapter] for chapter in group]


def run_chapters(group: list[str], jobs: int, layout: RunLayout, params: Params, notebooks_dir: Path,
                 chapters: list[str], progress: Progress, state: RunState, kernels: KernelPool,
                 printer: pdf.PagePrinter) -> list[dict]:
    """Execute a group of chapters (side by side when ``jobs > 1``), each rendered as soon as it
    has run and handed to ``printer``; returns their steps in the group's order."""

    def execute(chapter: str) -> dict:
        progress.step(f"chapter {TITLES[chapter]}")
        start, stamp = time.perf_counter(), dt.datetime.now().isoformat(timespec="seconds")
        kernel = kernels.acquire()
        try:
            with progress.chapter(chapter, layout.root):
                status, error = execute_chapter(chapter, layout, params, notebooks_dir, kernel and kernel.manager)
        finally:
            kernels.release(kernel)
        step = {"name": chapter, "started": stamp, "status": status, "error": error,
                "execute_seconds": round(time.perf_counter() - start, 2)}
        if not KERNELS.stopping:  # else the run is ending: no page
            render_page(step, layout, params, chapters)
            printer.add_chapter(chapter)
        return step

    state.step = f"running {'chapters ' if len(group) > 1 else 'chapter '}{', '.join(group)}"
    with shared_cores(jobs) if len(group) > 1 else contextlib.nullcontext():
        return execute_in_workers(group, jobs, execute, state)


def render_page(step: dict, layout: RunLayout, params: Params, chapters: list[str]) -> None:
    """The HTML page of the chapter of ``step`` (its error page if it failed); adds the render
    time and the sections' status to ``step``."""
    start = time.perf_counter()
    chapter = step["name"]
    html_path, nb_path = layout.chapter_html(chapter), layout.notebooks / f"{chapter}.ipynb"
    if step["status"] == "ok":
        try:
            render_chapter(nb_path, html_path, chapter, chapters, params.report_title)
        except OSError:
            raise
        except Exception as exc:  # a page that cannot be rendered is a failed chapter, not a failed run
            step.update(status="failed", error=f"rendering failed: {short_error(exc)}")
    if step["status"] == "ok":
        step.update(section_status(layout, chapter))
    if step["status"] != "ok":
        print(f"      chapter {chapter} failed: {step['error']}", file=sys.stderr)
        render_error_page(html_path, chapter, chapters, params.report_title, step["error"], nb_path)
    step["render_seconds"] = round(time.perf_counter() - start, 2)
    step["seconds"] = round(step["execute_seconds"] + step["render_seconds"], 2)


def section_status(layout: RunLayout, chapter: str) -> dict:
    """The sections a chapter could not show: ``sections_not_available``, ``sections_failed``
    (counts and keys) and ``sections_summary`` ("ok", "ok, 2 sections not available", "1 section
    failed") from the file the chapter wrote."""
    path = layout.artifacts / SECTIONS_FILE.format(chapter=chapter)
    sections = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    unavailable = [s["section"] for s in sections if s["status"] == "not available"]
    failed = [s["section"] for s in sections if s["status"] == "failed"]

    not_shown = (t("1 section not available") if len(unavailable) == 1 else
                 t("{count} sections not available", count=len(unavailable)))
    if failed:
        broken = t("1 section failed") if len(failed) == 1 else t("{count} sections failed", count=len(failed))
        summary = t("{failed}, {not_available}", failed=broken, not_available=not_shown) if unavailable else broken
    elif unavailable:
        summary = t("ok, {not_available}", not_available=not_shown)
    else:
        summary = t("ok")
    return {"sections_failed": failed, "sections_not_available": unavailable, "sections_summary": summary}


# --- one run -------------------------------------------------------------------------------------

@dataclass
class Settings:
    """The checked command line and parameters of a run."""

    params: Params
    chapters: list[str]
    jobs: int
    jobs_given: bool  # --jobs was given: kept whatever the memory
    out_root: Path
    notebooks_dir: Path


def check_settings(args: argparse.Namespace) -> Settings:
    """Every option and the parameters, checked before anything is written; raises ``ParameterError``."""
    if args.quarter is not None:
        try:
            Quarter.parse(args.quarter)
        except ValueError as exc:
            raise ParameterError(f"--quarter: {exc}") from None
    jobs = usable_cores() if args.jobs is None else args.jobs
    if jobs < 1:
        raise ParameterError(f"--jobs must be at least 1, got {args.jobs}")
    chapters = select_chapters(args.chapters)
    if args.params and paths.resolve(args.params).is_dir():
        raise ParameterError(f"parameters file {paths.resolve(args.params)} is a folder; give a YAML file")
    if args.data and not paths.resolve(args.data).is_dir():
        problem = "is not a folder" if paths.resolve(args.data).exists() else "does not exist"
        raise ParameterError(f"--data: the data folder {paths.resolve(args.data)} {problem}")
    notebooks_dir = Path(args.notebooks) if args.notebooks else paths.NOTEBOOKS_DIR
    if not notebooks_dir.is_dir():
        raise ParameterError(f"the notebooks folder {notebooks_dir} does not exist")
    params = load_params(quarter=args.quarter, params_file=args.params, data_dir=args.data,
                         report_language=getattr(args, "language", None))
    out_root = paths.resolve(args.out) if args.out else paths.OUTPUTS_DIR
    if out_root.exists() and not out_root.is_dir():
        raise ParameterError(f"--out: {out_root} is a file, not a folder")
    return Settings(params, chapters, jobs, args.jobs is not None, out_root, notebooks_dir)


def report_heading(params: Params) -> str:
    """The report's title with its quarter, in the report's language ("Quarterly customer analysis · 2026Q3")."""
    return f"{t(params.report_title)} · {fmt_quarter(params.quarter)}"


def run(args: argparse.Namespace, state: RunState | None = None) -> int:
    """Build the report and move it into place; returns 0, or 1 when a chapter failed.

    Everything else that stops a run is raised, to be handled once by ``main``.
    """
    state = state or RunState()
    started = time.perf_counter()
    KERNELS.reset()
    settings = check_settings(args)
    params, chapters = settings.params, settings.chapters
    set_language(params.report_language, params.large_money_units)
    state.out_root = settings.out_root
    state.quarter_dir = settings.out_root / params.quarter
    state.step = "creating the build folder"
    remove_stale_builds(settings.out_root)
    remove_stale_scratch()
    state.build = settings.out_root / BUILD_DIR / f"{params.quarter}-{os.getpid()}"
    layout = RunLayout(state.build).make()

    progress = Progress(total=1 + len(chapters) + 2)  # the preparation, each chapter, the index, the PDF
    progress.step(f"validating and preparing data from {params.data_path}")
    state.step = "preparing the data"
    step_start, stamp = time.perf_counter(), dt.datetime.now().isoformat(timespec="seconds")
    write_resolved_params(params, layout)
    (state.build / RUN_INFO).write_text(json.dumps({"outputs_root": str(settings.out_root)}), encoding="utf-8")
    # The chapters' kernels start and import their libraries while the data is prepared.
    kernels = warm_kernels(chapters, settings.jobs, settings.notebooks_dir)
    printer = pdf.PagePrinter(layout)  # prints each chapter's page as soon as it is rendered
    try:
        with progress.substeps() as substep:
            log = prepare(params, layout, progress=substep)
        return_freed_memory()
        steps = [{"name": "prepare", "started": stamp, "seconds": round(time.perf_counter() - step_start, 2),
                  "status": "ok", "error": "", **log["timings"]}]
        jobs = settings.jobs if settings.jobs_given else jobs_that_fit(settings.jobs, layout)
        if jobs < settings.jobs:  # fewer side by side: kernels with more threads each
            kernels.close()
            kernels = warm_kernels(chapters, jobs, settings.notebooks_dir)
        for group in chapter_groups(chapters, jobs):
            steps.extend(run_chapters(group, jobs, layout, params, settings.notebooks_dir, chapters,
                                      progress, state, kernels, printer))
        kernels.close()

        state.step = "setting the analyst's files apart"
        set_apart_for_the_analyst(layout)
        progress.step("writing the index page and manifest")
        state.step = "writing the index page and manifest"
        render_index(state.build, report_heading(params), params.company_name,
                     report_scope(params, log), steps, chapters, top_actions(layout), quarter=params.quarter,
                     currency=params.currency_symbol, kpi_trend=executive.run_kpi_trend(layout, params, log))
        write_manifest(layout, params, log, steps, time.perf_counter() - started)
        progress.step(f"printing {paths.REPORT_PDF}")
        state.step = f"printing {paths.REPORT_PDF}"
        print_report_pdf(layout, params, log, chapters, printer)
    finally:
        if state.ending:  # a signal: the workers learn that the run is ending before their kernels stop,
            # so that no chapter takes its kernel's death for a failure of its own and says so
            with quiet_libraries():
                KERNELS.end_run()
                kernels.close()
        else:
            kernels.close()
        printer.close()

    state.step = f"moving the report into {state.quarter_dir}"
    final = commit(state)
    print(f"\nReport: {final / 'index.html'}  ({time.perf_counter() - started:.1f} s)")
    failed = [s["name"] for s in steps if s["status"] != "ok"]
    if failed:
        print(f"{len(failed)} chapter(s) failed: {', '.join(failed)}", file=sys.stderr)
        return EXIT_CHAPTER_FAILED
    sections = [f"{s['name']}: {', '.join(s['sections_failed'])}" for s in steps if s.get("sections_failed")]
    if sections:
        print(f"sections failed ({'; '.join(sections)}); their pages show the error", file=sys.stderr)
        return EXIT_CHAPTER_FAILED
    return EXIT_OK


def commit(state: RunState) -> Path:
    """Rename the finished build folder to ``<quarter>/<date>[-n]``, never over an existing report.

    From here on a signal is ignored: the rename takes milliseconds, the run ends right after it,
    and a report that is in place must not be reported as "nothing was written".
    """
    state.committing = True
    created = not state.quarter_dir.exists()
    state.quarter_dir.mkdir(parents=True, exist_ok=True)
    try:
        for _ in range(1000):
            final = final_folder(state.quarter_dir, dt.date.today())
            try:
                os.rename(state.build, final)
                return final
            except OSError as exc:
                # Another run of the same quarter took this name between the check and the rename.
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not final.exists():
                    raise
        raise FileExistsError(errno.EEXIST, "no free report folder name", str(state.quarter_dir))
    except OSError:
        if created:  # leave no empty quarter folder behind
            with contextlib.suppress(OSError):
                state.quarter_dir.rmdir()
        raise


def report_scope(params: Params, log: dict) -> list[tuple[str, str]]:
    period = params.period
    rows = [(t("Quarter"), t("{quarter} ({first_day} to {last_day})", quarter=fmt_quarter(period),
                             first_day=fmt_date(period.start.date()), last_day=fmt_date(period.last_day.date()))),
            (t("Compared with"), t("{previous} (previous quarter) and {year_ago} (a year ago)",
                                   previous=fmt_quarter(period.previous()), year_ago=fmt_quarter(period.year_ago()))),
            (t("Data as of"), fmt_date(log["as_of"])),
            (t("Sources used"), t(", ").join(log["available"])),
            (t("Sources absent"), t(", ").join(log["absent"]) or t("none"))]
    removed = sum(r["rows_quarantined"] for r in log["reconciliation"])
    read = sum(r["rows_in"] for r in log["reconciliation"])
    rows.append((t("Rows read / set aside"), f"{fmt_int(read)} / {fmt_int(removed)}"))
    return rows


def top_actions(layout: RunLayout, n: int = 5) -> list[str]:
    path = layout.artifacts / "actions.csv"
    if not path.exists():
        return []
    actions = export.read_csv(path)
    column = "summary" if "summary" in actions else actions.columns[0]
    return actions[column].astype(str).head(n).tolist()


def is_customer_level(csv_path: Path) -> bool:
    """A CSV with one row per customer (or per customer and something else): its header names
    ``customer_id`` (a header in the report's language read back as its name). Only the header
    line is read."""
    return "customer_id" in export.column_names(csv_path)


def set_apart_for_the_analyst(layout: RunLayout) -> list[str]:
    """Before the index is written: move the chapters' customer-level tables other than the
    teams' lists (``paths.TEAM_LISTS``) from ``artifacts/`` to the analyst's, and the run's
    parameters and run info into the analyst's folder, so that the report folder shares only the
    pages, the PDF and tables for the teams. Returns the names of the tables moved."""
    layout.analyst_artifacts.mkdir(parents=True, exist_ok=True)
    moved = []
    for path in sorted(layout.artifacts.glob("*.csv")):
        if path.name not in paths.TEAM_LISTS and is_customer_level(path):
            export.move_csv(path, layout.analyst_artifacts)
            moved.append(path.name)
    for name in (RESOLVED_PARAMS, RUN_INFO):  # read by the chapters from the run folder, so moved only now
        if (layout.root / name).exists():
            os.replace(layout.root / name, layout.analyst / name)
    return moved


def print_report_pdf(layout: RunLayout, params: Params, log: dict, chapters: list[str],
                     printer: pdf.PagePrinter) -> pdf.PrintedPdf:
    """``report.pdf`` of the index and ``chapters`` (``printer`` has the chapters' pages started),
    recorded in the manifest under "pdf". A
    missing Chromium, or a page it cannot print, costs the PDF only: one line says so and the exit
    code is what the chapters make it."""
    details = pdf.run_details(params, log, dt.date.today(), git_commit())
    printed = printer.finish(chapters, report_heading(params), details)
    if printed.status == "written":
        print(f"      {paths.REPORT_PDF}: {printed.pages} pages, {_size(printed.bytes)} in {printed.seconds:.1f} s",
              flush=True)
    elif printed.status == "no chromium":  # a machine without a browser: the HTML is the report
        print(printed.reason, flush=True)
    else:
        print(printed.reason, file=sys.stderr, flush=True)
    manifest = json.loads(layout.manifest.read_text(encoding="utf-8"))
    manifest["pdf"] = printed.as_dict()
    layout.manifest.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    return printed


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


# --- how a run ends ------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """Run the report and return its exit code (``EXIT_CODES``); the only place a run is cleaned up."""
    state = RunState()

    def on_signal(signum, _frame):
        if state.committing or state.ending:
            return
        state.ending = True
        raise Interrupted(signum)

    previous_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return run(parse_args(argv), state)
    except SystemExit:  # argparse: --help (0) or a malformed option (2), before anything was written
        discard(state)
        raise
    except BaseException as exc:  # every other way out: one message and an exit code, never a traceback
        return end_abnormally(exc, state)
    finally:
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)


def end_abnormally(exc: BaseException, state: RunState) -> int:
    """Stop the kernels, remove the build folder, print what happened; returns the exit code."""
    state.ending = True
    with quiet_libraries():
        discard(state)
    if isinstance(exc, (Interrupted, KeyboardInterrupt)):
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        where = f" to {state.quarter_dir}" if state.quarter_dir else ""
        print(f"interrupted: nothing was written{where}", file=sys.stderr, flush=True)
        return EXIT_SIGNAL_BASE + signum
    if isinstance(exc, DataError):
        print(f"\nerror: the input data cannot be used; no report was written.\n{exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(exc, ParameterError):
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(exc, (OSError, MemoryError)):
        print(environment_message(exc, state), file=sys.stderr)
        return EXIT_ENVIRONMENT
    log_path = write_crash_log(exc, state)
    print(f"error: internal error while {state.step}: {short_error(exc)}\n"
          f"The full traceback is in {log_path}\n"
          "Nothing was written. This is a bug in the runner or a helper it calls: report it with that file.",
          file=sys.stderr)
    return EXIT_INTERNAL_ERROR


@contextlib.contextmanager
def quiet_libraries():
    """Silence library logging and warnings: the clients of killed kernels complain on their way
    out, and the runner's own message must be all that a stopped run prints."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def discard(state: RunState) -> None:
    """Stop every chapter kernel and worker, then remove the build folder (once they are gone, so
    nothing writes into it while it is removed)."""
    KERNELS.stop_all()
    deadline = time.monotonic() + 20
    for worker in state.workers:
        worker.join(timeout=max(0.0, deadline - time.monotonic()))
    KERNELS.remove_connection_files()
    if state.build is None:
        return
    for _ in range(3):  # a worker that outlived the wait may still have been closing a file
        shutil.rmtree(state.build, ignore_errors=True)
        if not state.build.exists():
            return
        time.sleep(0.5)


def environment_message(exc: BaseException, state: RunState) -> str:
    """What failed, on which path, and how much space is left on that path's file system."""
    if isinstance(exc, MemoryError):
        return f"error: the environment failed while {state.step}: out of memory\nNothing was written."
    path = Path(exc.filename) if getattr(exc, "filename", None) else (state.build or state.out_root)
    target = f" -> {exc.filename2}" if getattr(exc, "filename2", None) else ""
    reason = exc.strerror or str(exc) or type(exc).__name__
    code = f" ({errno.errorcode[exc.errno]})" if exc.errno in errno.errorcode else ""
    lines = [f"error: the environment failed while {state.step}: {reason}{code}"]
    if path is not None:
        lines.append(f"  path: {path}{target}")
        lines.append(f"  free space on that file system: {free_space(path)}")
    lines.append("Nothing was written; the build folder was removed." if state.build else "Nothing was written.")
    return "\n".join(lines)


def free_space(path: Path) -> str:
    """``shutil.disk_usage`` of the nearest existing folder above ``path``, in words."""
    for folder in (Path(path), *Path(path).parents):
        try:
            usage = shutil.disk_usage(folder)
        except OSError:
            continue
        return f"{_size(usage.free)} free of {_size(usage.total)} (measured at {folder})"
    return "unknown"


def _size(n_bytes: float) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    power = 0
    while n_bytes >= 1024 and power < len(units) - 1:
        n_bytes, power = n_bytes / 1024, power + 1
    return f"{n_bytes:.0f} B" if power == 0 else f"{n_bytes:.1f} {units[power]}"


def write_crash_log(exc: BaseException, state: RunState) -> Path:
    """The full traceback in ``<outputs>/.logs/`` (else the temporary folder), never in a report folder."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = (f"run_all.py crashed at {dt.datetime.now().isoformat(timespec='seconds')} while {state.step}\n"
            f"command line: {' '.join(sys.argv)}\npython {sys.version.split()[0]}, pid {os.getpid()}\n\n"
            + "".join(traceback.format_exception(exc)))
    folders = [state.out_root / LOG_DIR] if state.out_root else []
    for folder in [*folders, Path(tempfile.gettempdir())]:
        path = folder / f"run_all-crash-{stamp}-{os.getpid()}.log"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return Path("(no log could be written)")
