"""What a person waiting for a run sees: step lines, bars on a terminal, a chapter's sections."""
import io
import json
import re
import threading
import time

import pytest

from helpers.data.prepare import prepare
from helpers.data.sources import read_source
from helpers.demo.generator import generate, write
from helpers.params import SourceSpec, load_params
from helpers.paths import RunLayout
from helpers.report import chapter as chapter_module
from helpers.report.chapter import Chapter, open_chapter, register_section_magic, write_resolved_params
from helpers.report.progress import Progress, record_section, section_file


class Clock:
    """A clock the test sets."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    """Status lines are cut to the terminal's width: a fixed one here, whatever runs the tests."""
    monkeypatch.setenv("COLUMNS", "200")


def test_off_a_terminal_each_step_and_each_section_is_one_line(tmp_path):
    clock, out = Clock(), io.StringIO()
    progress = Progress(total=2, stream=out, clock=clock)
    path = section_file(tmp_path, "00_data_quality")
    clock.now = 1.0
    progress.step("chapter 00 Data quality")
    with progress.watch("00_data_quality", 3, path, interval=3600) as watcher:  # polled by the test only
        record_section(path, "inventory", "ok", 0.5)
        clock.now = 2.0
        watcher.poll()
        record_section(path, "drift", "not available", 0.3)
        record_section(path, "glossary", "failed", 1.44)
        clock.now = 4.5
        watcher.poll()
        clock.now = 5.0
    assert out.getvalue() == (
        "[1/2] chapter 00 Data quality (elapsed 1.0 s)\n"
        "      00_data_quality 1/3 sections: inventory ok, 0.5 s (elapsed 2.0 s)\n"
        "      00_data_quality 2/3 sections: drift not available, 0.3 s (elapsed 4.5 s)\n"
        "      00_data_quality 3/3 sections: glossary failed, 1.4 s (elapsed 4.5 s)\n")
    assert "\r" not in out.getvalue()
    assert not path.exists() and not path.parent.exists()  # nothing left in the run folder


def test_off_a_terminal_a_counted_substep_is_one_line_when_it_ends():
    clock, out = Clock(), io.StringIO()
    progress = Progress(total=1, stream=out, clock=clock)
    with progress.substeps() as substep:
        substep("reading orders")
        substep("reading orders", 0, 3, "rows")
        clock.now = 1.5
        substep("reading orders", 3, 3, "rows")
        for done in range(7):
            substep("cleaning orders", done, 6, "rules")
        clock.now = 2.0
        substep("deriving prepared tables")
        clock.now = 3.0
    assert out.getvalue() == ("      reading orders\n"
                              "      reading orders 3/3 rows (elapsed 1.5 s)\n"
                              "      cleaning orders 6/6 rules (elapsed 2.0 s)\n"
                              "      deriving prepared tables\n")


def test_on_a_terminal_the_bar_is_redrawn_in_place_with_the_time_left(tmp_path):
    clock, out = Clock(), Terminal()
    progress = Progress(total=1, stream=out, clock=clock)
    path = tmp_path / "01_overview.jsonl"
    with progress.watch("01_overview", 3, path, interval=3600) as watcher:
        record_section(path, "kpis", "ok", 4.0)
        record_section(path, "growth", "ok", 6.0)
        clock.now = 10.0
        watcher.poll()
        status = out.getvalue().rsplit("\r", 1)[-1]
        # 2 of 3 in 10 s: 67%, 13 of 20 marks, 5 s left at that pace
        assert status == "      01_overview  [#############-------] 2/3 sections  67%  0:10 elapsed, 0:05 left"
    text = out.getvalue()
    assert "\r" in text and "2/3" in text
    # the chapter's last bar stays as a line of its own, without an estimate
    assert text.endswith("\r      01_overview  [#############-------] 2/3 sections  67%  0:10 elapsed\n")


def test_on_a_terminal_a_counted_substep_is_a_bar_that_stays_as_a_line_when_it_ends():
    clock, out = Clock(), Terminal()
    progress = Progress(total=1, stream=out, clock=clock)
    with progress.substeps() as substep:
        substep("reading orders", 0, 4, "rows")
        clock.now = 2.0
        substep("reading orders", 2, 4, "rows")
        assert out.getvalue().endswith("\r      reading orders  [##########----------] 2/4 rows  50%  0:02 elapsed, "
                                       "0:02 left")
        clock.now = 3.0
        substep("reading orders", 4, 4, "rows")
        substep("deriving prepared tables")
    lines = out.getvalue().split("\n")
    assert lines[0].endswith("\r      reading orders  [####################] 4/4 rows  100%  0:03 elapsed")
    assert lines[1].endswith("\r      deriving prepared tables  0:00 elapsed") and lines[2] == ""


def test_on_a_terminal_chapters_side_by_side_share_one_status_line(tmp_path):
    clock, out = Clock(), Terminal()
    progress = Progress(total=3, stream=out, clock=clock)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with progress.watch("01_overview", 11, first, interval=3600) as one, \
            progress.watch("02_needs", 13, second, interval=3600):
        record_section(first, "kpis", "ok", 2.0)
        clock.now = 4.0
        one.poll()
        # 1 of 11 in 4 s: 9%, 40 s left at that pace; nothing done yet of the other
        status = "      01_overview 1/11 9% 0:40 left | 02_needs 0/13 0% ? left"
        assert out.getvalue().endswith("\r" + status)
        progress.step("chapter 02 Needs")  # a line of its own: the status line is cleared, then drawn again
        assert out.getvalue().endswith(
            "\r" + " " * len(status) + "\r[1/3] chapter 02 Needs (elapsed 4.0 s)\n\r" + status)


def test_two_chapters_reporting_from_two_threads_never_share_a_line(tmp_path):
    out = io.StringIO()
    progress = Progress(total=2, stream=out)
    paths = {name: tmp_path / f"{name}.jsonl" for name in ("01_overview", "02_needs")}

    def chapter(name):
        with progress.watch(name, 40, paths[name], interval=0.01):
            for n in range(40):
                record_section(paths[name], f"s{n}", "ok", 0.0)
                time.sleep(0.001)

    threads = [threading.Thread(target=chapter, args=(name,)) for name in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 80
    pattern = re.compile(r"      (01_overview|02_needs) (\d+)/40 sections: s\d+ ok, 0\.0 s \(elapsed \d+\.\d s\)")
    assert all(pattern.fullmatch(line) for line in lines)
    for name in paths:  # each chapter counted 1 to 40 in order
        counts = [int(pattern.fullmatch(line)[2]) for line in lines if line.startswith(f"      {name} ")]
        assert counts == list(range(1, 41))


def test_the_watcher_reports_sections_another_thread_writes(tmp_path):
    out = io.StringIO()
    progress = Progress(total=1, stream=out)
    path = section_file(tmp_path, "04_value")
    with progress.watch("04_value", 2, path, interval=0.02):
        writer = threading.Thread(target=lambda: [record_section(path, key, "ok", 0.1) for key in ("rfm", "clv")])
        writer.start()
        writer.join()
        deadline = time.monotonic() + 5
        while "2/2" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "04_value 1/2 sections: rfm ok" in out.getvalue()
        assert "04_value 2/2 sections: clv ok" in out.getvalue()  # seen while the chapter still runs
    assert out.getvalue().count("\n") == 2


def test_a_section_written_in_two_cells_counts_once(tmp_path):
    out = io.StringIO()
    progress = Progress(total=1, stream=out)
    path = tmp_path / "p.jsonl"
    with progress.watch("03_behaviour", 20, path, interval=3600) as watcher:
        for key in ("churn_model", "churn_model", "at_risk"):
            record_section(path, key, "ok", 0.0)
        with path.open("a") as handle:
            handle.write('{"section": "half a li')  # being written: read next time
        watcher.poll()
    assert [line.split(": ")[0] for line in out.getvalue().splitlines()] == [
        "      03_behaviour 1/20 sections", "      03_behaviour 1/20 sections", "      03_behaviour 2/20 sections"]


# --- the %%section magic writes the progress file -------------------------------------------------

class FakeShell:
    """What ``register_section_magic`` uses of IPython's shell."""

    def __init__(self):
        self.user_ns, self.magics = {}, {}

    def transform_cell(self, cell):
        return cell

    def register_magic_function(self, function, kind, name):
        self.magics[name] = function


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    """A run folder as run_all leaves it for a chapter: its parameters and a prepare log."""
    layout = RunLayout(tmp_path / "run").make()
    write_resolved_params(load_params(quarter="2026Q3"), layout)
    (layout.prepared / "prepare_log.json").write_text(json.dumps({"available": []}), encoding="utf-8")
    monkeypatch.setattr(chapter_module, "display", lambda obj: None)
    return layout


def test_the_section_magic_appends_one_json_line_per_section_with_its_status(run_dir, monkeypatch):
    shell = FakeShell()
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    open_chapter("00_data_quality", run_dir=str(run_dir.root))
    section = shell.magics["section"]
    section("inventory", "x = 6 * 7")
    section("scope", "from helpers.errors import NotAvailable\nraise NotAvailable('no orders in the quarter')")
    section("drift ", "1 / 0")
    assert shell.user_ns["x"] == 42
    path = run_dir.root / ".progress" / "00_data_quality.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(r["section"], r["status"]) for r in records] == [
        ("inventory", "ok"), ("scope", "not available"), ("drift", "failed")]
    assert all(isinstance(r["seconds"], float) and 0 <= r["seconds"] < 5 for r in records)


def test_a_chapter_opened_outside_a_run_writes_no_progress_file(run_dir, monkeypatch):
    shell = FakeShell()
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    chapter = Chapter("00_data_quality", load_params(quarter="2026Q3"), run_dir)
    register_section_magic(chapter)
    shell.magics["section"]("inventory", "x = 1")
    assert chapter.sections["inventory"]["status"] == "ok"
    assert not (run_dir.root / ".progress").exists()


# --- the preparation counts rows, rules and steps ----------------------------------------------------

def test_rows_are_counted_per_file_before_and_after_parsing(tmp_path):
    (tmp_path / "orders_2026_07.csv").write_text("order_id,customer_id,order_date,amount\n1,a,2026-07-01,5\n"
                                                 "2,b,2026-07-02,6\n")
    (tmp_path / "orders_2026_08.csv").write_text("order_id,customer_id,order_date,amount\n3,a,2026-08-01,5\n"
                                                 "4,c,2026-08-02,7\n5,d,2026-08-03,8\n")
    calls = []
    read_source("orders", SourceSpec(files="orders_2026_*.csv"), tmp_path, 0.2,
                on_rows=lambda done, total: calls.append((done, total)))
    # counted in the first file, read; counted in the second, read and typed
    assert calls == [(0, 2), (2, 2), (2, 5), (5, 5)]


def test_the_preparation_reports_rows_rules_and_integration_steps(tmp_path):
    data = tmp_path / "data"
    write(generate(customers=60, seed=5, end="2026-09-30"), data)
    params = load_params(quarter="2026Q3", data_dir=str(data), data_as_of="2026-09-30")
    calls = []
    log = prepare(params, RunLayout(tmp_path / "run").make(), progress=lambda *args: calls.append(args))
    orders_lines = len((data / "orders.csv").read_text(encoding="utf-8").splitlines()) - 1
    assert log["inventory"][1]["source"] == "orders" and log["inventory"][1]["raw_records"] == orders_lines
    reading = [c for c in calls if c[0] == "reading orders"]
    assert reading == [("reading orders",), ("reading orders", 0, orders_lines, "rows"),
                       ("reading orders", orders_lines, orders_lines, "rows")]
    assert [c[1:] for c in calls if c[0] == "cleaning orders"] == [(n, 6, "rules") for n in range(7)]
    # customers merged, then orders, tickets, surveys and events linked, then the two order rules
    steps = [c[1:] for c in calls if c[0] == "integrating the sources"]
    assert set(log["available"]) >= {"customers", "orders", "tickets", "surveys", "events"}
    assert steps == [(n, 7, "steps") for n in range(8)]
    after = calls[calls.index(("integrating the sources", 7, 7, "steps")) + 1:]
    assert after[:2] == [("deriving prepared tables",), ("writing prepared tables and quarantine",)]
