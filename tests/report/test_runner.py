import datetime as dt
import errno
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, run_report

from helpers import paths
from helpers.demo.generator import generate, write
from helpers.errors import DataError
from helpers.params import ParameterError
from helpers.paths import RunLayout
from helpers.report import pdf, runner
from helpers.report.kernels import WarmKernel

ORIGINAL_EXECUTE_CHAPTER = runner.execute_chapter  # before any test replaces it

def test_chapter_selection_by_number_or_name_in_report_order():
    assert runner.select_chapters("04,1") == ["01_overview", "04_value"]
    assert runner.select_chapters("05_crm_recommendations,00") == ["00_data_quality", "05_crm_recommendations"]
    assert len(runner.select_chapters(None)) == 6
    with pytest.raises(ParameterError, match="unknown chapter '9'"):
        runner.select_chapters("9")


def test_groups_run_00_to_04_side_by_side_only_when_asked():
    chapters = runner.select_chapters(None)
    assert runner.chapter_groups(chapters, 1) == [[c] for c in chapters]
    assert runner.chapter_groups(chapters, 2) == [["00_data_quality", "01_overview", "02_needs", "03_behaviour", "04_value"],
                                                  ["05_crm_recommendations"]]
    assert runner.chapter_groups(["02_needs", "05_crm_recommendations"], 4) == [["02_needs"], ["05_crm_recommendations"]]


def test_side_by_side_the_costliest_chapter_starts_first():
    # 100,000 customers: 01 24 s, 02 24 s, 03 74 s, 04 22 s on two kernels. In the report's order
    # 03 starts at 24 s, when 01 ends, and the run of the group lasts 24 + 74 = 98 s; started first,
    # 03 ends at 74 s while 01, 02 and 04 (70 s together) run on the other kernel.
    group = ["00_data_quality", "01_overview", "02_needs", "03_behaviour", "04_value"]
    assert runner.starting_order(group) == ["03_behaviour", "01_overview", "02_needs", "04_value", "00_data_quality"]
    assert runner.starting_order(["02_needs", "01_overview"]) == ["02_needs", "01_overview"]


def test_final_folder_never_reuses_a_name(tmp_path):
    day = dt.date(2026, 11, 23)
    assert runner.final_folder(tmp_path, day).name == "2026-11-23"
    (tmp_path / "2026-11-23").mkdir()
    (tmp_path / "2026-11-23-2").mkdir()
    assert runner.final_folder(tmp_path, day).name == "2026-11-23-3"


def test_side_by_side_kernels_share_the_cores(monkeypatch):
    monkeypatch.setattr(runner, "usable_cores", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # set by the user: kept
    with runner.shared_cores(jobs=3):
        assert runner.os.environ["OMP_NUM_THREADS"] == "2"  # 8 cores // 3 jobs
        assert runner.os.environ["MKL_NUM_THREADS"] == "3"
    assert "OMP_NUM_THREADS" not in runner.os.environ and runner.os.environ["MKL_NUM_THREADS"] == "3"


def test_help_lists_every_exit_code(capsys):
    with pytest.raises(SystemExit) as stopped:
        runner.parse_args(["--help"])
    assert stopped.value.code == 0
    text = capsys.readouterr().out
    assert "exit codes:" in text
    for code, _ in runner.EXIT_CODES:
        assert f"  {code}  " in text, code
    assert [code for code, _ in runner.EXIT_CODES] == [0, 1, 2, 3, 4, 130, 143]


def test_readme_documents_the_same_exit_codes():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code, _ in runner.EXIT_CODES:
        assert f"| {code} |" in section, code


# --- the runner in this process, with the data preparation and the chapters replaced by stubs ---

FAKE_LOG = {"as_of": "2026-09-30", "available": ["orders"], "absent": [], "inventory": [], "reconciliation": [],
            "timings": {}}


class NoKernels:
    """A kernel pool that starts nothing: the stub chapters need no kernel."""

    def acquire(self):
        return None

    def release(self, kernel):
        assert kernel is None

    def close(self):
        pass


@pytest.fixture
def stub_run(tmp_path, monkeypatch):
    """A run whose preparation writes one file and whose chapters succeed at once; returns a
    function that runs ``main`` with extra options and returns its exit code."""
    data = tmp_path / "data"
    data.mkdir()
    out = tmp_path / "out"

    def fake_prepare(params, layout, progress):
        (layout.prepared / "orders.parquet").write_bytes(b"prepared")
        return dict(FAKE_LOG)

    def fake_render(nb_path, html_path, chapter, chapters, title):
        html_path.write_text(f"<html>{chapter}</html>", encoding="utf-8")

    monkeypatch.setattr(runner, "prepare", fake_prepare)
    monkeypatch.setattr(runner, "execute_chapter", lambda chapter, *args: ("ok", ""))
    monkeypatch.setattr(runner, "warm_kernels", lambda *args: NoKernels())
    monkeypatch.setattr(runner, "jobs_that_fit", lambda jobs, layout: jobs)  # the stub's Parquet is not one
    monkeypatch.setattr(runner, "render_chapter", fake_render)
    # No browser, unless a test gives one: printing the stub pages would cost seconds per run.
    monkeypatch.setattr(pdf, "find_chromium", lambda: None)

    def run(*options: str) -> int:
        return runner.main(["--quarter", "2026Q3", "--data", str(data), "--out", str(out), "--chapters", "00,01",
                            *options])

    run.out = out
    return run


def reports(out: Path) -> list[Path]:
    quarter = out / "2026Q3"
    return sorted(quarter.iterdir()) if quarter.exists() else []


def builds(out: Path) -> list[Path]:
    return list((out / runner.BUILD_DIR).iterdir()) if (out / runner.BUILD_DIR).exists() else []


def test_complete_run_exits_0_and_moves_the_report_into_place(stub_run, capsys):
    assert stub_run() == 0
    (folder,) = reports(stub_run.out)
    layout = RunLayout(folder)
    assert layout.index_html.exists() and layout.manifest.exists()
    assert (layout.prepared / "orders.parquet").read_bytes() == b"prepared"
    assert not builds(stub_run.out)
    assert capsys.readouterr().err == ""
    assert stub_run() == 0  # a second run gets its own folder
    assert [p.name for p in reports(stub_run.out)] == [folder.name, f"{folder.name}-2"]


def test_failed_chapter_exits_1_with_the_report_written(stub_run, monkeypatch, capsys):
    def overview_fails(chapter, *args):
        return ("failed", "RuntimeError: boom") if chapter == "01_overview" else ("ok", "")

    monkeypatch.setattr(runner, "execute_chapter", overview_fails)
    assert stub_run() == 1
    (folder,) = reports(stub_run.out)
    assert "This chapter failed" in (folder / "01_overview.html").read_text(encoding="utf-8")
    steps = {s["name"]: s["status"] for s in json.loads(RunLayout(folder).manifest.read_text())["steps"]}
    assert steps == {"prepare": "ok", "00_data_quality": "ok", "01_overview": "failed"}
    err = capsys.readouterr().err
    assert "chapter 01_overview failed: RuntimeError: boom" in err and "1 chapter(s) failed: 01_overview" in err


def chapter_writes_sections(sections: dict[str, list[tuple[str, str]]]):
    """An ``execute_chapter`` whose chapters leave the given (section, status) lists."""
    def execute(chapter, layout, *args):
        rows = [{"section": key, "status": status, "reason": "x"} for key, status in sections.get(chapter, [])]
        (layout.artifacts / f"sections_{chapter}.json").write_text(json.dumps(rows), encoding="utf-8")
        return "ok", ""
    return execute


def test_sections_not_available_keep_exit_0_and_the_index_says_how_many(stub_run, monkeypatch, capsys):
    monkeypatch.setattr(runner, "execute_chapter", chapter_writes_sections(
        {"01_overview": [("kpis", "ok"), ("growth", "not available"), ("cross_table", "not available")]}))
    assert stub_run() == 0
    (folder,) = reports(stub_run.out)
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "<td class='ci-status-ok'>ok</td>" in index  # 00
    assert "<td class='ci-status-partial'>ok, 2 sections not available</td>" in index
    steps = {s["name"]: s for s in json.loads(RunLayout(folder).manifest.read_text())["steps"]}
    assert steps["01_overview"]["sections_not_available"] == ["growth", "cross_table"]


def test_a_failed_section_exits_1_and_is_named_on_the_index(stub_run, monkeypatch, capsys):
    monkeypatch.setattr(runner, "execute_chapter", chapter_writes_sections(
        {"00_data_quality": [("drift", "failed"), ("scope", "not available")], "01_overview": [("kpis", "ok")]}))
    assert stub_run() == 1
    (folder,) = reports(stub_run.out)
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "<td class='ci-status-failed'>1 section failed, 1 section not available</td>" in index
    assert "<td class='ci-status-ok'>ok</td>" in index
    assert "sections failed (00_data_quality: drift); their pages show the error" in capsys.readouterr().err


def test_a_page_that_cannot_be_rendered_fails_its_chapter_only(stub_run, monkeypatch, capsys):
    def broken_render(nb_path, html_path, chapter, *args):
        if chapter == "01_overview":
            raise ValueError("no cells")
        html_path.write_text("<html></html>", encoding="utf-8")

    monkeypatch.setattr(runner, "render_chapter", broken_render)
    assert stub_run() == 1
    (folder,) = reports(stub_run.out)
    assert "rendering failed: ValueError: no cells" in (folder / "01_overview.html").read_text(encoding="utf-8")


def test_without_chromium_one_line_says_so_the_html_is_written_and_the_exit_code_is_the_chapters(
        stub_run, capsys):
    assert stub_run() == 0
    (folder,) = reports(stub_run.out)
    layout = RunLayout(folder)
    out, err = capsys.readouterr()
    assert out.count("report.pdf") == 2  # the progress line and the one line that says why there is none
    assert "[5/5] printing report.pdf" in out
    assert "\nno Chromium found: report.pdf not written; install chromium\n" in out and err == ""
    assert layout.index_html.exists() and not layout.pdf.exists()
    manifest = json.loads(layout.manifest.read_text())
    assert manifest["pdf"]["status"] == "no chromium" and manifest["steps"][0]["name"] == "prepare"


def test_a_browser_that_cannot_print_costs_the_pdf_not_the_report(stub_run, monkeypatch, tmp_path, capsys):
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 1\n", encoding="utf-8")
    broken.chmod(0o755)
    monkeypatch.setattr(pdf, "find_chromium", lambda: str(broken))
    assert stub_run() == 0
    (folder,) = reports(stub_run.out)
    err = capsys.readouterr().err
    assert err == ("report.pdf not written: Chromium could not print index.html "
                   "(exit code 1: cannot open display)\n")
    assert not RunLayout(folder).pdf.exists()
    assert json.loads(RunLayout(folder).manifest.read_text())["pdf"]["status"] == "failed"


def running(pid: int) -> bool:
    """The process exists and has not ended: an ended helper whose parent was killed stays a zombie
    until the system's init reaps it, which some containers' init never does."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "\tZ" not in status.read_text().split("State:")[1].split("\n")[0]
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_a_signal_while_the_pdf_prints_stops_every_browser_and_exits_143(stub_run, monkeypatch, tmp_path, capsys):
    import threading

    started = tmp_path / "started"
    started.mkdir()
    browser = tmp_path / "chromium"  # a browser that never finishes, with a helper process of its own
    browser.write_text(f"#!/bin/sh\nsleep 60 &\necho \"$$ $!\" > {started}/$$\nwait\n", encoding="utf-8")
    browser.chmod(0o755)
    monkeypatch.setattr(pdf, "find_chromium", lambda: str(browser))

    def terminate_once_printing():
        deadline = time.time() + 30
        while time.time() < deadline and not [p for p in started.iterdir() if p.read_text().strip()]:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_once_printing, daemon=True).start()
    began = time.time()
    assert stub_run() == 143
    assert time.time() - began < 20
    assert capsys.readouterr().err == f"interrupted: nothing was written to {stub_run.out / '2026Q3'}\n"
    assert not reports(stub_run.out) and not builds(stub_run.out)
    pids = [int(pid) for path in started.iterdir() for pid in path.read_text().split()]
    assert len(pids) >= 2
    time.sleep(0.2)
    assert not [pid for pid in pids if running(pid)], "a browser process outlived the run"


def test_customer_tables_other_than_the_team_lists_and_the_run_files_go_to_the_analyst(stub_run, monkeypatch):
    def chapter_writes_tables(chapter, layout, *args):
        if chapter == "01_overview":
            (layout.artifacts / "clv.csv").write_text("\ufeffcustomer_id,clv_12m\r\nC1,10.5\r\n", encoding="utf-8")
            (layout.artifacts / "win_back.csv").write_text("\ufeffcustomer_id,days\r\nC2,200\r\n", encoding="utf-8")
            (layout.artifacts / "segment_sizes.csv").write_text("\ufeffsegment,customers\r\nNew,20\r\n",
                                                                encoding="utf-8")
        return "ok", ""

    monkeypatch.setattr(runner, "execute_chapter", chapter_writes_tables)
    assert stub_run() == 0
    (folder,) = reports(stub_run.out)
    layout = RunLayout(folder)
    assert sorted(p.name for p in layout.artifacts.glob("*.csv")) == ["segment_sizes.csv", "win_back.csv"]
    assert [p.name for p in layout.analyst_artifacts.iterdir()] == ["clv.csv"]
    assert layout.artifact("clv.csv") == layout.analyst_artifacts / "clv.csv"
    assert layout.artifact("win_back.csv") == layout.artifacts / "win_back.csv"
    assert sorted(p.name for p in folder.iterdir()) == ["00_data_quality.html", "01_overview.html", "analyst",
                                                        "artifacts", "index.html"]
    assert sorted(p.name for p in layout.analyst.iterdir()) == ["artifacts", "manifest.json", "notebooks",
                                                                "params.json", "prepared", "quarantine", "run.json"]
    index = layout.index_html.read_text(encoding="utf-8")
    assert "artifacts/win_back.csv" in index and "clv.csv" not in index


def test_a_table_is_customer_level_when_its_header_names_customer_id(tmp_path):
    (tmp_path / "a.csv").write_text("\ufeffsegment,customer_id\r\nx,C1\r\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("\ufeffsegment,customers\r\nx,1\r\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("", encoding="utf-8")
    assert [runner.is_customer_level(tmp_path / n) for n in ("a.csv", "b.csv", "c.csv")] == [True, False, False]


QUARTER_MESSAGE = "quarter '2026Q5' is not of the form YYYYQn, for example 2026Q3"


@pytest.mark.parametrize("options, message", [
    (["--quarter", "2026Q5"], f"error: --quarter: {QUARTER_MESSAGE}"),
    (["--quarter", "banana"], "error: --quarter: quarter 'banana' is not of the form YYYYQn"),
    (["--jobs", "0"], "error: --jobs must be at least 1, got 0"),
    (["--jobs", "-3"], "error: --jobs must be at least 1, got -3"),
    (["--chapters", "9"], "error: unknown chapter '9'; choose from 00_data_quality"),
    (["--params", "{tmp}/missing.yaml"], "error: parameters file {tmp}/missing.yaml does not exist"),
    (["--params", "{tmp}"], "error: parameters file {tmp} is a folder"),
    (["--data", "{tmp}/missing"], "error: --data: the data folder {tmp}/missing does not exist"),
    (["--out", "{tmp}/q5.yaml"], "error: --out: {tmp}/q5.yaml is a file, not a folder"),
    (["--params", "{tmp}/q5.yaml"], f"- quarter: Value error, {QUARTER_MESSAGE}"),
])
def test_bad_options_exit_2_with_one_message_and_write_nothing(options, message, tmp_path, capsys):
    (tmp_path / "q5.yaml").write_text("quarter: 2026Q5\n", encoding="utf-8")
    out = tmp_path / "out"
    options = [o.replace("{tmp}", str(tmp_path)) for o in options]
    assert runner.main(["--out", str(out), *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message.replace("{tmp}", str(tmp_path)) in err
    assert "Traceback" not in err
    assert not out.exists()


def test_bad_quarter_on_the_command_line_is_the_same_clean_error_as_in_a_file(tmp_path):
    """At the real entry point, not only through ``main``: no traceback, exit code 2."""
    (tmp_path / "q5.yaml").write_text("quarter: 2026Q5\n", encoding="utf-8")
    from_option = run_report("--quarter", "2026Q5", "--out", str(tmp_path / "out"), timeout=120)
    from_file = run_report("--params", str(tmp_path / "q5.yaml"), "--out", str(tmp_path / "out"), timeout=120)
    for result in (from_option, from_file):
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error: ") and QUARTER_MESSAGE in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_unusable_data_exits_2_and_removes_the_build_folder(stub_run, monkeypatch, capsys):
    def bad_prepare(params, layout, progress):
        (layout.prepared / "orders.parquet").write_bytes(b"half")
        raise DataError("amount is not a number", file="orders.csv", column="amount", fix="fix the export")

    monkeypatch.setattr(runner, "prepare", bad_prepare)
    assert stub_run() == 2
    err = capsys.readouterr().err
    assert "error: the input data cannot be used; no report was written." in err and "Fix: fix the export" in err
    assert not reports(stub_run.out) and not builds(stub_run.out)


def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(args[0]) if args else None)


def test_full_disk_at_the_final_rename_exits_3_naming_the_path_and_the_free_space(stub_run, monkeypatch, capsys):
    monkeypatch.setattr(runner.os, "rename", enospc)
    assert stub_run() == 3
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0].startswith(f"error: the environment failed while moving the report into {stub_run.out / '2026Q3'}")
    assert "No space left on device (ENOSPC)" in lines[0]
    assert f"  path: {stub_run.out / runner.BUILD_DIR}" in err
    assert "free space on that file system: " in err and " free of " in err
    assert "Nothing was written; the build folder was removed." in err and "Traceback" not in err
    assert not builds(stub_run.out)
    assert not (stub_run.out / "2026Q3").exists()  # not even an empty quarter folder


def test_read_only_output_folder_exits_3_before_anything_is_written(stub_run, monkeypatch, capsys):
    real_mkdir = Path.mkdir

    def read_only(path, *args, **kwargs):
        if stub_run.out in (path, *path.parents):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert stub_run() == 3
    err = capsys.readouterr().err
    assert "error: the environment failed while creating the build folder: Read-only file system (EROFS)" in err
    assert f"  path: {stub_run.out / runner.BUILD_DIR}" in err and "free space on that file system" in err
    assert not stub_run.out.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_really_read_only_output_folder_exits_3(stub_run, capsys):
    stub_run.out.mkdir()
    stub_run.out.chmod(0o500)
    try:
        assert stub_run() == 3
    finally:
        stub_run.out.chmod(0o700)
    assert "Permission denied" in capsys.readouterr().err


def test_full_disk_while_a_chapter_runs_ends_the_run_with_3(stub_run, monkeypatch, capsys):
    """papermill writing the executed notebook runs in a worker thread: its error still ends the run."""
    import papermill

    def write_fails(source, target, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), target)

    monkeypatch.setattr(runner, "execute_chapter", ORIGINAL_EXECUTE_CHAPTER)
    monkeypatch.setattr(papermill, "execute_notebook", write_fails)
    assert stub_run() == 3
    err = capsys.readouterr().err
    assert "error: the environment failed while running chapters 00_data_quality, 01_overview: No space left on device" in err
    # Side by side, whichever kernel's write fails first is the one named.
    assert "notebooks/00_data_quality.ipynb" in err or "notebooks/01_overview.ipynb" in err
    assert not reports(stub_run.out) and not builds(stub_run.out)


def test_a_bug_in_the_runner_exits_4_with_a_log_outside_the_report(stub_run, monkeypatch, capsys):
    def broken_manifest(*args, **kwargs):
        raise KeyError("steps")

    monkeypatch.setattr(runner, "write_manifest", broken_manifest)
    assert stub_run() == 4
    err = capsys.readouterr().err
    assert err.startswith("error: internal error while writing the index page and manifest: KeyError: 'steps'")
    assert "Traceback" not in err
    logs = list((stub_run.out / runner.LOG_DIR).glob("run_all-crash-*.log"))
    assert len(logs) == 1 and f"The full traceback is in {logs[0]}" in err
    log = logs[0].read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in log and "broken_manifest" in log and "KeyError: 'steps'" in log
    assert not reports(stub_run.out) and not builds(stub_run.out)


def test_signal_while_the_preparation_writes_exits_143_and_cleans_up_once(stub_run, monkeypatch, capsys):
    """The handler only raises; the preparation's own ``finally`` still finds its folder."""
    seen = {}

    def prepare_then_killed(params, layout, progress):
        target = layout.prepared / "orders.parquet"
        try:
            with target.open("wb") as handle:
                handle.write(b"half")
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
                seen["continued"] = True
        finally:
            seen["folder_in_finally"] = layout.prepared.exists()
        return dict(FAKE_LOG)

    monkeypatch.setattr(runner, "prepare", prepare_then_killed)
    previous = signal.getsignal(signal.SIGTERM)
    assert stub_run() == 143
    assert signal.getsignal(signal.SIGTERM) is previous  # handlers restored
    assert seen == {"folder_in_finally": True}
    assert capsys.readouterr().err == f"interrupted: nothing was written to {stub_run.out / '2026Q3'}\n"
    assert not reports(stub_run.out) and not builds(stub_run.out)


def test_interrupt_while_chapters_run_side_by_side_stops_them_and_exits_130(stub_run, monkeypatch, capsys):
    started = []

    def chapter_that_runs_until_stopped(chapter, *args):
        started.append(chapter)
        if len(started) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        deadline = time.time() + 30
        while not runner.KERNELS.stopping and time.time() < deadline:
            time.sleep(0.02)
        return "failed", "DeadKernelError: Kernel died"

    monkeypatch.setattr(runner, "execute_chapter", chapter_that_runs_until_stopped)
    logging_before = logging.root.manager.disable
    began = time.time()
    assert stub_run("--chapters", "01,02,03", "--jobs", "2") == 130
    assert logging.root.manager.disable == logging_before  # silenced only while the run ended
    assert time.time() - began < 20
    assert sorted(started) == ["01_overview", "03_behaviour"]  # 02, third to start, never did
    assert capsys.readouterr().err == f"interrupted: nothing was written to {stub_run.out / '2026Q3'}\n"
    assert not reports(stub_run.out) and not builds(stub_run.out)


def test_build_folders_of_killed_runs_are_removed_by_the_next_run(stub_run):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = stub_run.out / runner.BUILD_DIR / f"2026Q3-{dead.pid}"
    RunLayout(stale).prepared.mkdir(parents=True)
    alive = stub_run.out / runner.BUILD_DIR / f"2026Q2-{os.getpid()}"  # a run still going: kept
    alive.mkdir()
    assert stub_run() == 0
    assert builds(stub_run.out) == [alive]


def test_scratch_of_killed_runs_in_the_temporary_folder_is_removed_by_the_next_run(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [f"ci-kernel-{dead.pid}-0a1b-{port}" for port in range(1, 6)] + [f"ci-kernel-{dead.pid}-0a1b.json"]
    kept = [f"ci-kernel-{os.getpid()}-2c3d-1", f"ci-kernel-{os.getpid()}-2c3d.json",  # a run still going
            "ci-kernel-not-a-run", "tmp1234.json"]
    for name in stale + kept:
        (tmp_path / name).write_text("")
    (tmp_path / f"report-pdf-{dead.pid}-x9y8" / "profile").mkdir(parents=True)  # the browsers' scratch
    (tmp_path / f"report-pdf-{os.getpid()}-z7w6").mkdir()
    runner.remove_stale_scratch(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, f"report-pdf-{os.getpid()}-z7w6"])
    # the files of a kernel this runner starts carry its process id
    manager = runner.IpcKernelManager()
    assert Path(manager.ip).name.startswith(f"ci-kernel-{os.getpid()}-")
    assert manager.connection_file == f"{manager.ip}.json"


def test_a_signal_after_the_report_is_in_place_is_ignored(stub_run, monkeypatch, capsys):
    real_rename = os.rename

    def rename_then_signal(source, target):
        real_rename(source, target)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(runner.os, "rename", rename_then_signal)
    assert stub_run() == 0
    assert len(reports(stub_run.out)) == 1 and "interrupted" not in capsys.readouterr().err


# --- real runs of run_all.py, stopped by a signal while a chapter kernel runs ---

@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo")
    write(generate(customers=300, seed=7, end="2026-09-30"), data)
    return data


def child_pids(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the kernels through /proc")
@pytest.mark.parametrize("signum, options, kernels", [(signal.SIGTERM, [], 1), (signal.SIGINT, ["--jobs", "2"], 2)])
def test_signal_during_a_real_run_exits_128_plus_signal_with_one_line(signum, options, kernels, small_demo, tmp_path):
    out = tmp_path / "out"
    earlier = out / "2026Q3" / "2026-01-01"
    earlier.mkdir(parents=True)
    (earlier / "index.html").write_text("an earlier report", encoding="utf-8")
    sockets = Path(tempfile.mkdtemp(prefix="k", dir="/tmp"))  # the kernels' sockets; a socket path has 107 bytes at most
    process = subprocess.Popen([sys.executable, str(paths.PROJECT_ROOT / "run_all.py"), "--quarter", "2026Q3",
                                "--data", str(small_demo), "--out", str(out), *options],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "TMPDIR": str(sockets)})
    try:
        deadline = time.time() + 120
        wanted = "*.ipynb" if kernels == 1 else "01_overview.ipynb"  # side by side, the second to start
        while time.time() < deadline and not [notebook for build in out.glob(f"{runner.BUILD_DIR}/2026Q3-*")
                                              for notebook in RunLayout(build).notebooks.glob(wanted)]:
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
        time.sleep(0.5)  # well inside the chapter
        children = child_pids(process.pid)
        assert len(children) >= kernels, "the chapter kernels should be running"
        process.send_signal(signum)
        signalled = time.time()
        stdout, stderr = process.communicate(timeout=60)
        stopping_seconds = time.time() - signalled
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signum, stderr
    assert stderr == f"interrupted: nothing was written to {out / '2026Q3'}\n"
    assert stopping_seconds < 15, "the killed kernels' clients should give up at once"
    assert "Traceback" not in stdout
    assert [p.name for p in (out / "2026Q3").iterdir()] == ["2026-01-01"]  # no new folder, the old one untouched
    assert (earlier / "index.html").read_text(encoding="utf-8") == "an earlier report"
    assert not list((out / runner.BUILD_DIR).iterdir())
    time.sleep(0.5)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()], "a kernel outlived the run"
    # no kernel sockets or connection files left, and no kernel started after the signal (jieba's
    # dictionary cache is the library's own, kept for the next run)
    assert [p.name for p in sockets.iterdir() if p.name != "jieba.cache"] == []
    shutil.rmtree(sockets)


def test_a_killed_kernel_leaves_no_socket_files(tmp_path):
    kernel = WarmKernel(runner.IpcKernelManager, "x = 1", tmp_path, dict(os.environ))  # ready once it answers
    assert kernel.ready()
    pattern = f"{Path(kernel.manager.ip).name}-*"
    assert len(list(Path(kernel.manager.ip).parent.glob(pattern))) == 5  # shell, iopub, stdin, control, heartbeat
    process = kernel.manager.provisioner.process
    runner.kill_kernel(kernel.manager)
    assert process.poll() == -signal.SIGKILL
    assert not list(Path(kernel.manager.ip).parent.glob(pattern))


def test_signal_while_the_runner_starts_exits_143_with_one_line(tmp_path):
    """The imports take seconds; a signal then is handled by run_all.py itself."""
    process = subprocess.Popen([sys.executable, str(paths.PROJECT_ROOT / "run_all.py"), "--quarter", "2026Q3",
                                "--out", str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    time.sleep(0.6)  # inside the imports of pandas, pyarrow and jupyter_client
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert (process.returncode, stderr, stdout) == (143, "interrupted: nothing was written\n", "")
    assert not (tmp_path / "out").exists()


def test_the_runner_starts_without_the_grammar_jsonschema_would_build_and_still_checks_notebooks():
    code = ("import sys; sys.path.insert(0, '.'); import run_all; run_all.load_runner(); import nbformat\n"
            "notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
            "nbformat.validate(notebook)\n"
            "notebook.cells[0]['execution_count'] = 'one'\n"
            "try:\n    nbformat.validate(notebook)\nexcept nbformat.ValidationError:\n    print('invalid one caught')\n"
            "print(sys.modules['rfc3987_syntax'])")
    result = subprocess.run([sys.executable, "-c", code], cwd=paths.PROJECT_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.stdout == "invalid one caught\nNone\n", result.stderr
