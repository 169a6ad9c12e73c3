"""report.pdf and the folder a reviewer receives.

The PDF's parts are checked with a stand-in browser (a script that writes blank pages with pypdf,
so the numbers are known by hand: the joined page count, where each part starts, the contents on
the first page, the links); the real Chromium prints the small whole report of the shared
``report`` fixture. The shared folder is checked on that report too: outside ``analyst/`` only
pages, the PDF and tables, no customer-level table but the teams' lists, and no link into
``analyst/``.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import Link

from helpers import paths
from helpers.chapters.actions import LIST_OUTCOMES
from helpers.params import load_params
from helpers.paths import RunLayout
from helpers.report import export, pdf
from helpers.report.registry import CHAPTERS, TITLES

A4 = (595, 842)


def executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# --- finding the browser ---------------------------------------------------------------------------

def test_chrome_bin_first_then_chromium_chromium_browser_google_chrome_on_path(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable(bin_dir / "google-chrome")
    executable(bin_dir / "chromium-browser")
    assert pdf.find_chromium({"PATH": str(bin_dir)}) == str(bin_dir / "chromium-browser")
    executable(bin_dir / "chromium")
    assert pdf.find_chromium({"PATH": str(bin_dir)}) == str(bin_dir / "chromium")
    own = executable(tmp_path / "my-chrome")
    assert pdf.find_chromium({"PATH": str(bin_dir), "CHROME_BIN": str(own)}) == str(own)
    # A CHROME_BIN that names no program is not replaced by a guess.
    assert pdf.find_chromium({"PATH": str(bin_dir), "CHROME_BIN": str(tmp_path / "missing")}) is None


def test_no_browser_when_none_is_on_path_or_it_cannot_run(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    assert pdf.find_chromium({"PATH": str(bin_dir)}) is None
    (bin_dir / "chromium").write_text("not executable", encoding="utf-8")  # mode 644
    assert pdf.find_chromium({"PATH": str(bin_dir)}) is None


def test_without_a_browser_no_pdf_and_the_one_line_to_say_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CHROME_BIN", raising=False)
    layout = RunLayout(tmp_path / "report")
    printed = pdf.write_report_pdf(layout, [], "Title", [])
    assert (printed.status, printed.reason) == ("no chromium", "no Chromium found: report.pdf not written; install chromium")
    monkeypatch.setenv("CHROME_BIN", "/nowhere/chrome")
    printed = pdf.write_report_pdf(layout, [], "Title", [])
    assert printed.status == "no chromium"
    assert printed.reason == ("no Chromium found (CHROME_BIN=/nowhere/chrome is not a program): report.pdf not "
                              "written; install chromium or correct CHROME_BIN")
    assert not layout.pdf.exists()


# --- what the first page says ----------------------------------------------------------------------

def test_run_details_name_the_data_folder_not_its_path_and_the_last_day_of_any_source(tmp_path):
    data = tmp_path / "exports" / "acme_2026"
    data.mkdir(parents=True)
    params = load_params(quarter="2026Q2", data_dir=str(data))
    log = {"as_of": "2026-07-15",
           "coverage": {"orders": {"first_day": "2024-01-03", "last_day": "2026-06-30"},
                        "surveys": {"first_day": "2024-02-01", "last_day": "2026-07-02"}}}
    details = dict(pdf.run_details(params, log, dt.date(2026, 7, 16), "0123abc"))
    assert details == {
        "Quarter": "2026Q2 (2026-04-01 to 2026-06-30)",
        "Company": params.company_name,
        "Data folder": "acme_2026",
        "Data as of": "2026-07-15 (dates after it are set aside as errors)",
        # the surveys end two days after the orders: the cut-off is the later day
        "Data cut-off": "2026-07-02 (orders from 2024-01-03 to 2026-06-30): the last day with a record",
        "Run date": "2026-07-16",
        "Git commit": "0123abc",
    }
    assert not [v for v in details.values() if str(tmp_path) in v]
    with pytest.raises(ValueError, match="no 'as_of' day"):
        pdf.run_details(params, {"coverage": {}}, dt.date(2026, 7, 16), "0123abc")


def test_the_print_sheet_comes_last_in_the_head():
    page = "<html><head><style>.ci-nav{display:block}</style></head><body>x</body></html>"
    printed = pdf.print_copy(page)
    assert printed.count("@page") == 1
    assert printed.index(".ci-nav{display:block}") < printed.index("@page") < printed.index("</head>")
    assert pdf.print_copy("<p>no head</p>").startswith(pdf.PRINT_CSS)


# --- joining the parts -----------------------------------------------------------------------------

def blank_pdf(path: Path, pages: int, links: list[str] = ()) -> Path:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(*A4)
    for n, url in enumerate(links):
        writer.add_annotation(0, Link(rect=(10, 10 + 20 * n, 100, 25 + 20 * n), url=url))
    writer.write(path)
    return path


def actions_of(page) -> list[dict]:
    return [annotation.get_object()["/A"] for annotation in page.get("/Annots") or []]


def test_join_numbers_every_page_bookmarks_each_part_and_relinks(tmp_path):
    printed = tmp_path / "printed"
    printed.mkdir()
    cover = pdf.Part("The run and contents", "cover.html", blank_pdf(tmp_path / "cover.pdf", 1))
    index = pdf.Part("Summary", "index.html", blank_pdf(tmp_path / "index.pdf", 1, [
        (printed / "01_overview.html").as_uri() + "#KPI-overview",  # another page: its first page here
        (printed / "artifacts" / "actions.csv").as_uri(),           # a file beside the PDF: relative
        (tmp_path / "elsewhere" / "secret.html").as_uri(),          # outside the report: removed
        "https://example.org/",                                     # not a file: as it was
    ]))
    overview = pdf.Part("01 Overview", "01_overview.html", blank_pdf(tmp_path / "overview.pdf", 3))
    target = tmp_path / "report.pdf"
    assert pdf.join_parts(cover, [index, overview], target, printed, "Report · 2026Q3") == 5
    assert (cover.first, index.first, overview.first) == (0, 1, 2)
    reader = PdfReader(target)
    assert [page.extract_text().strip() for page in reader.pages] == [f"Page {n} of 5" for n in range(1, 6)]
    assert [(item.title, reader.get_destination_page_number(item)) for item in reader.outline] == [
        ("The run and contents", 0), ("Summary", 1), ("01 Overview", 2)]
    goto, relative, web = actions_of(reader.pages[1])
    assert goto["/S"] == "/GoTo" and reader.get_page_number(goto["/D"][0].get_object()) == 2
    assert (relative["/S"], relative["/URI"]) == ("/URI", "artifacts/actions.csv")
    assert web["/URI"] == "https://example.org/"
    assert reader.metadata.title == "Report · 2026Q3"
    assert not list(tmp_path.glob(".report.pdf.part"))


# --- printing with a stand-in browser --------------------------------------------------------------

STAND_IN = '''#!{python}
"""Chromium's --print-to-pdf as far as the report uses it: one blank A4 page per page, or as many
as the page's data-pages attribute says, and one link per href; a copy of each page it was given."""
import os, re, sys, time
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from pypdf import PdfWriter
from pypdf.annotations import Link

MODE = {mode!r}
seen = Path({seen!r})
target = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--print-to-pdf="))
url = sys.argv[-1]
source = Path(unquote(urlsplit(url).path))
(seen / f"{{source.name}}.pid").write_text(str(os.getpid()))
if MODE == "fail":
    print("[1:2] Failed to load the page: boom", file=sys.stderr)
    sys.exit(1)
if MODE == "hang":
    time.sleep(60)
page = source.read_text(encoding="utf-8")
(seen / source.name).write_text(page, encoding="utf-8")
count = re.search(r'data-pages="(\\d+)"', page)
writer = PdfWriter()
for _ in range(int(count.group(1)) if count else 1):
    writer.add_blank_page(595, 842)
for n, href in enumerate(re.findall(r"href='([^']+)'", page)):
    writer.add_annotation(0, Link(rect=(10, 10 + 20 * n, 100, 25 + 20 * n), url=urljoin(url, href)))
writer.write(target)
'''


@pytest.fixture
def small_report(tmp_path) -> RunLayout:
    """Index (1 page) and two chapters of 2 and 3 pages, as the stand-in browser prints them."""
    layout = RunLayout(tmp_path / "report")
    layout.root.mkdir()
    layout.index_html.write_text("<html><head></head><body data-pages=\"1\">"
                                 "<a href='01_overview.html'>01</a></body></html>", encoding="utf-8")
    layout.chapter_html("00_data_quality").write_text('<html><head></head><body data-pages="2"></body></html>',
                                                      encoding="utf-8")
    layout.chapter_html("01_overview").write_text('<html><head></head><body data-pages="3"></body></html>',
                                                  encoding="utf-8")
    return layout


def stand_in(tmp_path: Path, mode: str = "print") -> tuple[Path, Path]:
    seen = tmp_path / "seen"
    seen.mkdir(exist_ok=True)
    script = executable(tmp_path / f"chromium-{mode}", STAND_IN.format(python=sys.executable, mode=mode, seen=str(seen)))
    return script, seen


def test_pages_are_printed_from_copies_with_the_print_sheet_and_the_contents_give_their_pages(small_report, tmp_path):
    chromium, seen = stand_in(tmp_path)
    details = [("Quarter", "2026Q3 (2026-07-01 to 2026-09-30)"), ("Data as of", "2026-12-01")]
    printed = pdf.write_report_pdf(small_report, ["00_data_quality", "01_overview"], "Report · 2026Q3", details,
                                   chromium=str(chromium))
    assert printed.status == "written", printed.reason
    # cover 1 + index 1 + 00 2 + 01 3
    assert printed.pages == 7 and len(PdfReader(small_report.pdf).pages) == 7
    assert printed.bytes == small_report.pdf.stat().st_size
    cover = BeautifulSoup((seen / "cover.html").read_text(encoding="utf-8"), "html.parser")
    rows = [[cell.get_text() for cell in row.find_all("td")] for row in cover.select("table")[1].tbody.find_all("tr")]
    assert rows == [["Summary", "2"], ["00 Data quality and integration", "3"], ["01 Overview", "5"]]
    assert "Data as of" in cover.get_text() and "2026Q3" in cover.get_text()
    assert "@page" in (seen / "index.html").read_text(encoding="utf-8")
    assert "@page" not in small_report.index_html.read_text(encoding="utf-8")  # the page itself is untouched
    # The index's link to chapter 01 leads to chapter 01's first page in the PDF (page 5).
    reader = PdfReader(small_report.pdf)
    (goto,) = actions_of(reader.pages[1])
    assert reader.get_page_number(goto["/D"][0].get_object()) == 4


def test_a_page_the_browser_cannot_print_costs_the_pdf_only(small_report, tmp_path):
    chromium, _ = stand_in(tmp_path, "fail")
    printed = pdf.write_report_pdf(small_report, ["00_data_quality"], "Report", [], chromium=str(chromium))
    assert printed.status == "failed"
    assert re.fullmatch(r"report\.pdf not written: Chromium could not print (index|00_data_quality)\.html "
                        r"\(exit code 1: \[1:2\] Failed to load the page: boom\)", printed.reason), printed.reason
    assert not small_report.pdf.exists()


def test_a_browser_that_hangs_is_killed_at_the_timeout(small_report, tmp_path, monkeypatch):
    chromium, seen = stand_in(tmp_path, "hang")
    monkeypatch.setattr(pdf, "PAGE_TIMEOUT", 1)
    began = time.monotonic()
    printed = pdf.write_report_pdf(small_report, ["00_data_quality"], "Report", [], chromium=str(chromium))
    assert time.monotonic() - began < 10
    assert printed.status == "failed" and "did not print" in printed.reason and "within 1 s" in printed.reason
    pids = [int(p.read_text()) for p in seen.glob("*.pid")]
    assert pids
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not small_report.pdf.exists()


# --- the real browser on the whole report ----------------------------------------------------------

CHROMIUM = pdf.find_chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: set CHROME_BIN or put chromium, "
                                    "chromium-browser or google-chrome on PATH (.ci/run installs Debian's chromium)")
# Pages of report.pdf on the fixture's report (600 customers), as measured: 59 (cover 1, index 2,
# chapters 3, 8, 13, 17, 11 and 4). Fewer would mean pages or sections lost in printing.
FIXTURE_PAGES_AT_LEAST = 59


@pytest.mark.slow
@needs_chromium
def test_report_pdf_of_the_whole_report(report, demo):
    folder, result = report
    layout = RunLayout(folder)
    reader = PdfReader(layout.pdf)
    pages = len(reader.pages)
    assert pages >= FIXTURE_PAGES_AT_LEAST
    # One bookmark per part, in the report's order, each starting on a later page than the one before.
    outline = [(item.title, reader.get_destination_page_number(item)) for item in reader.outline]
    assert [title for title, _ in outline] == ["The run and contents", "Summary", *(TITLES[c] for c in CHAPTERS)]
    starts = [page for _, page in outline]
    assert starts == sorted(set(starts)) and starts[0] == 0
    first = reader.pages[0].extract_text()
    assert "2026Q3" in first and "data as of" in first.lower() and "Data cut-off" in first
    assert demo.name in first and str(demo) not in first  # the data folder by its name only
    assert f"Page 1 of {pages}" in first
    manifest = json.loads(layout.manifest.read_text(encoding="utf-8"))
    assert manifest["pdf"]["status"] == "written" and manifest["pdf"]["pages"] == pages
    assert f"{paths.REPORT_PDF}: {pages} pages" in result.stdout


# --- the folder to share ---------------------------------------------------------------------------

def customer_level_columns(path: Path, customer_ids: set[str]) -> list[str]:
    """The columns of a CSV of which more than half the values are customer ids: a table by customer,
    whatever its columns are called."""
    frame = export.read_csv(path, dtype=str)
    return [c for c in frame.columns
            if frame[c].notna().any() and frame[c].dropna().isin(customer_ids).mean() > 0.5]


def keys_anywhere(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


def test_the_team_lists_are_chapter_05s_action_lists():
    assert set(paths.TEAM_LISTS) == set(LIST_OUTCOMES)


@pytest.mark.slow
def test_outside_analyst_only_pages_the_pdf_and_tables_and_no_customer_table_but_the_teams(report):
    folder, _ = report
    layout = RunLayout(folder)
    import pandas as pd

    customer_ids = set(pd.read_parquet(layout.prepared / "customers.parquet", columns=["customer_id"])["customer_id"])
    shared = [p for p in folder.rglob("*") if p.is_file() and layout.analyst not in p.parents]
    assert {p.suffix for p in shared} <= {".html", ".pdf", ".csv", ".json", ".js"}, sorted({p.suffix for p in shared})
    assert [p for p in shared if p.suffix == ".js"] == [folder / "assets" / "plotly.min.js"]  # the charts' one script
    tables = [p for p in shared if p.suffix == ".csv"]
    assert len(tables) > 20
    by_customer = {p.name: customer_level_columns(p, customer_ids) for p in tables}
    assert {name for name, columns in by_customer.items() if columns} <= set(paths.TEAM_LISTS)
    # The check finds a table by customer when there is one: the teams' lists are such tables.
    assert all(by_customer[name] == ["customer_id"] for name in paths.TEAM_LISTS if name in by_customer)
    assert {"win_back.csv", "at_risk_high_value.csv"} <= set(by_customer)
    for path in shared:
        if path.suffix == ".json":
            assert "customer_id" not in keys_anywhere(json.loads(path.read_text(encoding="utf-8"))), path.name
    # What the analyst keeps.
    assert sorted(p.stem for p in layout.notebooks.glob("*.ipynb")) == sorted(CHAPTERS)
    assert (layout.prepared / "orders.parquet").exists() and list(layout.quarantine.glob("*.csv"))
    assert layout.manifest.exists() and (layout.analyst / "params.json").exists()
    assert (layout.analyst / "run.json").exists()
    assert {"clv.csv", "churn_scores.csv", "rfm_segments.csv"} <= {p.name for p in layout.analyst_artifacts.glob("*.csv")}


@pytest.mark.slow
def test_no_page_and_no_pdf_link_leads_into_the_analyst_folder(report):
    folder, _ = report
    layout = RunLayout(folder)
    pages = sorted(folder.glob("*.html"))
    assert len(pages) == 1 + len(CHAPTERS)
    links = []
    for page in pages:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for tag in soup.find_all(href=True) + soup.find_all(src=True):
            target = tag.get("href") or tag.get("src")
            parts = urlsplit(target)
            if parts.scheme or target.startswith("#"):
                continue  # data: images and in-page anchors
            links.append((page.name, (folder / parts.path).resolve()))
    assert any(path.name == "actions.csv" for _, path in links)  # the check sees the links there are
    into = [(page, path) for page, path in links if layout.analyst.resolve() in (path, *path.parents)]
    assert not into, into
    if layout.pdf.exists():
        uris = [str(action["/URI"]) for page in PdfReader(layout.pdf).pages for action in actions_of(page)
                if action.get("/S") == "/URI"]
        assert "artifacts/actions.csv" in uris
        assert not [u for u in uris if u.startswith((paths.ANALYST_DIR, "file:"))], uris
