"""The chapter kernels of a run: started ahead, with the chapters' imports already done, and
reused from one chapter to the next.

A chapter kernel costs seconds before it computes anything: the process starts, then the setup
cell imports pandas, scikit-learn, the plotting libraries and the project's helpers. The pool
starts its kernels in background threads while the data is prepared, runs the setup cells'
``import`` statements in them (nothing that reads data or parameters), and hands each chapter a
kernel whose namespace was emptied after the previous chapter (IPython's ``reset`` with a new
session: the chapter's variables go, the imported modules stay loaded, cells are numbered from
1 again), so a chapter computes and shows exactly what it would in a new kernel. A kernel
that died is replaced by a new one.
"""
from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import os
import queue
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pyarrow.parquet as pq

START_TIMEOUT = 120  # seconds for a kernel to start and finish its imports
# What a chapter kernel holds at its peak, for deciding how many fit side by side (measured with
# benchmarks/run_report.py): a kernel with the libraries loaded and no data, about 600 MiB; pandas
# holds about 12 bytes per value of the prepared tables (orders at 100,000 customers: 1,576,611
# rows of 16 columns in 269 MiB); and the largest chapter peaks at about 3.5 times the tables it
# reads (chapter 03 at 1,000,000 customers: 14.5 GiB over 4.25 GiB of orders and events).
KERNEL_BASE_BYTES = 600 * 2**20
BYTES_PER_VALUE = 12
PEAK_OVER_TABLES = 3.5
# Run between two chapters: the previous chapter's variables and outputs go, and the next
# chapter's cells are numbered from 1 as in a new kernel.
# The memory the chapter freed goes back to the system (glibc keeps it otherwise), so that a
# kernel waiting for its next chapter does not hold the last one's peak.
RESET_CODE = """get_ipython().reset(new_session=True)
import gc as _gc, ctypes as _ctypes
_gc.collect()
try:
    _ctypes.CDLL("libc.so.6").malloc_trim(0)
except (OSError, AttributeError):
    pass
del _gc, _ctypes"""


# Libraries the chapters import only where they are first used, with their start-up work, done
# while a kernel waits for the data (measured in a new process: statsmodels.api 0.35 s; jieba
# 0.25 s, then 0.8 s to load its dictionary, which the topics of chapter 02 segment Chinese with;
# lingua's models of the default comment languages 0.8-0.9 s, which chapter 02 detects them with).
LIBRARY_WARM_UP = """import statsmodels.api
from helpers.chapters.needs import load_language_models as _load_language_models, segmenter as _segmenter
_segmenter().initialize()
_load_language_models()"""


def setup_imports(notebook: Path) -> list[str]:
    """The top-level ``import`` statements of the notebook's setup cell (the first code cell
    after the parameters cell that imports anything, before its first ``%%section`` cell)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] != "code" or "parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        source = "".join(cell["source"])
        if source.lstrip().startswith("%%"):
            break
        try:
            tree = ast.parse(source)
        except SyntaxError:
            break
        imports = [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        if imports:
            return imports
    return []


def warm_up_code(notebooks: Iterable[Path]) -> str:
    """The setup imports of all ``notebooks``, each statement once, in order, then
    ``LIBRARY_WARM_UP``; the names they bind are deleted again (``RESET_CODE``), so that only
    ``sys.modules`` keeps them."""
    statements = list(dict.fromkeys(s for notebook in notebooks for s in setup_imports(notebook)))
    return "\n".join([*statements, LIBRARY_WARM_UP, RESET_CODE]) if statements else ""


async def _run(manager, code: str, what: str) -> None:
    """``code`` in the kernel of ``manager``, silently (no execution count, no history)."""
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=START_TIMEOUT)
        reply = await client.execute_interactive(code, silent=True, store_history=False, timeout=START_TIMEOUT,
                                                 output_hook=lambda message: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{what} failed in a chapter kernel: {reply['content'].get('ename')}")
    finally:
        client.stop_channels()


class WarmKernel:
    """A kernel started, and warmed with ``code``, in a background thread as soon as it is made."""

    def __init__(self, make_manager: Callable[[], object], code: str, cwd: Path, env: dict[str, str]):
        self.manager = make_manager()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, args=(code, str(cwd), env), name="warm-kernel",
                                        daemon=True)
        self._thread.start()

    def _start(self, code: str, cwd: str, env: dict[str, str]) -> None:
        async def start() -> None:
            # the kernel's own log lines (such as its note that the runner has exited after a
            # signal) are not the reader's business; what a cell prints reaches the notebook
            await self.manager.start_kernel(cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
            if code:
                await _run(self.manager, code, "the imports")

        try:
            asyncio.run(start())
        except BaseException as exc:  # kept for ``ready``: the pool then starts another kernel
            self.error = exc

    def ready(self) -> bool:
        """Wait until the kernel is warm; False if it could not start (it is then stopped)."""
        self._thread.join()
        if self.error is None and self.manager.has_kernel:
            return True
        stop(self.manager)
        return False


def stop(manager) -> None:
    """Shut a kernel down at once and remove its connection files."""
    async def shutdown() -> None:
        try:
            if manager.has_kernel:
                await manager.shutdown_kernel(now=True)
        finally:
            await manager.cleanup_resources()

    with contextlib.suppress(Exception):
        asyncio.run(shutdown())


def _alive(manager) -> bool:
    process = getattr(getattr(manager, "provisioner", None), "process", None)
    return process is not None and process.poll() is None


class KernelPool:
    """``size`` warm kernels shared by the chapters of a run: ``acquire`` one for a chapter and
    ``release`` it after; ``close`` stops them all, and no kernel is started after it (a run
    ending on a signal would otherwise start replacements for the kernels it just stopped)."""

    def __init__(self, start: Callable[[], WarmKernel], size: int):
        self._start = start
        self._idle: queue.SimpleQueue[WarmKernel | None] = queue.SimpleQueue()
        self._all: list[WarmKernel] = []
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(max(1, size)):
            self._add()

    def _add(self) -> None:
        with self._lock:
            if self._closed:
                return
            kernel = self._start()
            self._all.append(kernel)
        self._idle.put(kernel)

    def acquire(self) -> WarmKernel | None:
        """An idle kernel, warm (waiting for it if it is still starting); None if it failed to
        start, in which case the chapter starts a kernel of its own, or if the pool is closed."""
        kernel = None if self._closed else self._idle.get()
        if kernel is None or self._closed:  # its kernels are stopped; the close's mark wakes a chapter waiting
            self._idle.put(None)
            return None
        if kernel.ready():
            return kernel
        self._add()  # keep the pool's size for the chapters after this one
        return None

    def release(self, kernel: WarmKernel | None) -> None:
        """Back to the pool, emptied for the next chapter; a kernel that died or cannot be reset
        is stopped and replaced."""
        if kernel is None:
            return
        try:
            if self._closed or not _alive(kernel.manager):
                raise RuntimeError("the pool is closed" if self._closed else "the kernel died")
            asyncio.run(_run(kernel.manager, RESET_CODE, "the reset"))
        except Exception:
            stop(kernel.manager)
            self._add()
            return
        self._idle.put(kernel)

    def close(self) -> None:
        with self._lock:
            kernels, self._all, self._closed = self._all, [], True
        self._idle.put(None)
        for kernel in kernels:
            if kernel.ready():
                stop(kernel.manager)


# glibc hands a freed block back to the system only when it was mapped on its own, and after the
# first large free it raises the size from which it maps blocks so, up to 32 MiB: a chapter's
# large temporary arrays then stay in the heap after they are freed, and the kernel's memory
# grows with each section. A fixed threshold keeps arrays of 4 MiB and more mapped. Chapter 03 at
# 100,000 customers (one process, two runs each): peak 1,711-1,732 MiB -> 1,550-1,562 MiB, time
# 36.7-41.4 s -> 37.6-38.5 s (128 KiB, glibc's starting value: 1,532-1,547 MiB but 42.2-42.4 s).
MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": str(4 * 2**20)}


def kernel_environment(threads: int | None, variables: Sequence[str]) -> dict[str, str]:
    """The runner's environment for a kernel, with ``threads`` set in each of ``variables``
    that the user has not set (None: unchanged), and ``MALLOC_SETTINGS`` unless set."""
    env = dict(os.environ)
    env.update({name: value for name, value in MALLOC_SETTINGS.items() if name not in os.environ})
    if threads is not None:
        env.update({name: str(threads) for name in variables if name not in os.environ})
    return env


def chapter_memory(prepared: Path) -> int:
    """Bytes one chapter kernel may need at its peak for the prepared tables in ``prepared``."""
    values = 0
    for table in prepared.glob("*.parquet"):
        metadata = pq.ParquetFile(table).metadata
        values += metadata.num_rows * metadata.num_columns
    return int(KERNEL_BASE_BYTES + PEAK_OVER_TABLES * BYTES_PER_VALUE * values)


def available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Bytes of memory available to new processes (Linux's MemAvailable); None where unknown."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def kernels_that_fit(jobs: int, need: int, available: int | None) -> int:
    """How many of ``jobs`` kernels needing ``need`` bytes each fit in ``available`` (at least one)."""
    if available is None:
        return jobs
    return max(1, min(jobs, available // max(1, need)))
