"""helpers.report.kernels: chapter kernels started ahead with their imports done, and reused."""
from __future__ import annotations

import os
import signal

import nbformat
import papermill

from helpers.report import kernels
from helpers.report.runner import IpcKernelManager


def notebook(path, *cells, parameters: str = 'quarter = "2026Q3"'):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter"),
                nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
                *(nbformat.v4.new_code_cell(cell) for cell in cells)]
    nbformat.write(nb, path)
    return path


def test_the_setup_cells_imports_are_what_runs_ahead(tmp_path):
    first = notebook(tmp_path / "a.ipynb", "import os\nfrom pathlib import Path as P\nch = open('missing')",
                     "%%section one\nimport json")
    second = notebook(tmp_path / "b.ipynb", "x = 1", "import os\nimport csv, decimal")
    assert kernels.setup_imports(first) == ["import os", "from pathlib import Path as P"]
    # A cell without imports before the setup cell is skipped; the section cell's import is not setup.
    assert kernels.setup_imports(second) == ["import os", "import csv, decimal"]
    assert kernels.warm_up_code([first, second]) == "\n".join([
        "import os", "from pathlib import Path as P", "import csv, decimal", kernels.LIBRARY_WARM_UP, kernels.RESET_CODE])
    assert kernels.warm_up_code([notebook(tmp_path / "c.ipynb", "%%section one\nimport json")]) == ""


def test_the_environment_sets_threads_the_user_left_unset(monkeypatch):
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    env = kernels.kernel_environment(2, ("OMP_NUM_THREADS", "MKL_NUM_THREADS"))
    assert (env["OMP_NUM_THREADS"], env["MKL_NUM_THREADS"]) == ("2", "3")
    assert "OMP_NUM_THREADS" not in kernels.kernel_environment(None, ("OMP_NUM_THREADS",))


def test_kernels_map_large_blocks_on_their_own_unless_the_user_says_otherwise(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert kernels.kernel_environment(None, ())["MALLOC_MMAP_THRESHOLD_"] == "4194304"  # 4 MiB
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert kernels.kernel_environment(2, ())["MALLOC_MMAP_THRESHOLD_"] == "65536"


def outputs(executed) -> list[str]:
    return [output.get("text", "") for cell in executed.cells if cell.cell_type == "code" for output in cell.outputs]


def test_a_reused_kernel_starts_each_chapter_empty_and_numbered_from_one(tmp_path):
    first = notebook(tmp_path / "first.ipynb", "import json\nsecret = 41", "print(secret + 1)")
    second = notebook(tmp_path / "second.ipynb", "import sys",
                      "print('secret' in globals(), 'json' in dir(), 'json' in sys.modules)")
    code = kernels.warm_up_code([first, second])
    pool = kernels.KernelPool(lambda: kernels.WarmKernel(IpcKernelManager, code, tmp_path, dict(os.environ)), 1)
    try:
        kernel = pool.acquire()
        assert kernel is not None
        pid = kernel.manager.provisioner.process.pid
        one = papermill.execute_notebook(str(first), str(tmp_path / "out1.ipynb"), km=kernel.manager,
                                         progress_bar=False, kernel_name="python3")
        pool.release(kernel)
        kernel = pool.acquire()
        assert kernel.manager.provisioner.process.pid == pid  # the same process serves the second chapter
        two = papermill.execute_notebook(str(second), str(tmp_path / "out2.ipynb"), km=kernel.manager,
                                         progress_bar=False, kernel_name="python3")
        assert outputs(one) == ["42\n"]
        # The first chapter's variables and imported names are gone; its modules stay loaded.
        assert outputs(two) == ["False False True\n"]
        third = notebook(tmp_path / "third.ipynb", "import sys",
                         "print(sys.modules['jieba'].dt.initialized, '_segmenter' in dir(),\n"
                         "      sys.modules['helpers.chapters.needs']._detector.cache_info().currsize)")
        warmed = papermill.execute_notebook(str(third), str(tmp_path / "out3.ipynb"), km=kernel.manager,
                                            progress_bar=False, kernel_name="python3")
        # the library warm-up ran (jieba's dictionary, a lingua detector used), and its names are gone too
        assert outputs(warmed) == ["True False 1\n"]
        counts = [cell.execution_count for cell in two.cells if cell.cell_type == "code"]
        assert counts == list(range(1, len(counts) + 1))  # as in a new kernel (papermill adds a cell)
        # A kernel that died is replaced by a new one, which still has the imports done.
        os.kill(pid, signal.SIGKILL)
        kernel.manager.provisioner.process.wait(timeout=10)
        pool.release(kernel)
        kernel = pool.acquire()
        assert kernel is not None and kernel.manager.provisioner.process.pid != pid
        three = papermill.execute_notebook(str(second), str(tmp_path / "out3.ipynb"), km=kernel.manager,
                                           progress_bar=False, kernel_name="python3")
        assert outputs(three) == ["False False True\n"]
        last = kernel.manager.provisioner.process
        pool.release(kernel)
    finally:
        pool.close()
    assert last.poll() is not None  # closing the pool stopped its kernel


class FakeKernel:
    """Stands for a started kernel: ready, with a manager that ``stop`` cannot shut down."""
    manager = None

    def ready(self) -> bool:
        return True


def test_a_closed_pool_starts_no_kernel_and_hands_out_none():
    started = []
    pool = kernels.KernelPool(lambda: started.append(FakeKernel()) or started[-1], 2)
    first, second = pool.acquire(), pool.acquire()
    assert (first, second) == (started[0], started[1])
    pool.release(first)  # its kernel is not alive: stopped and replaced
    assert len(started) == 3
    pool.close()
    pool.release(second)  # after the close (a run ending on a signal): stopped, not replaced
    assert len(started) == 3
    assert pool.acquire() is None and pool.acquire() is None  # each chapter asking after the close


def test_a_kernel_that_cannot_start_leaves_the_chapter_to_start_its_own(tmp_path):
    broken = kernels.WarmKernel(IpcKernelManager, "import a_module_that_does_not_exist", tmp_path, dict(os.environ))
    assert broken.ready() is False and "imports failed" in str(broken.error)


def test_chapter_memory_counts_the_values_of_the_prepared_tables(tmp_path):
    import pandas as pd

    pd.DataFrame({"a": range(1000), "b": 0.5, "c": "x"}).to_parquet(tmp_path / "orders.parquet")
    pd.DataFrame({"a": range(10)}).to_parquet(tmp_path / "events.parquet", index=False)
    (tmp_path / "prepare_log.json").write_text("{}")
    # 1,000 x 3 + 10 x 1 = 3,010 values, 12 bytes each, 3.5 times, over a 600 MiB kernel.
    assert kernels.chapter_memory(tmp_path) == 600 * 2**20 + int(3.5 * 12 * 3010)


def test_kernels_that_fit_in_the_memory_available(tmp_path):
    gib = 2**30
    assert kernels.kernels_that_fit(2, need=15 * gib, available=22 * gib) == 1
    assert kernels.kernels_that_fit(2, need=2 * gib, available=22 * gib) == 2
    assert kernels.kernels_that_fit(4, need=7 * gib, available=22 * gib) == 3
    assert kernels.kernels_that_fit(2, need=30 * gib, available=22 * gib) == 1  # never fewer than one
    assert kernels.kernels_that_fit(2, need=30 * gib, available=None) == 2  # unknown: as asked
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24576000 kB\nMemFree:         1000 kB\nMemAvailable:   20000000 kB\n")
    assert kernels.available_memory(meminfo) == 20_000_000 * 1024
    assert kernels.available_memory(tmp_path / "absent") is None
