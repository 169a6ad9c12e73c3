"""``report.pdf``: the whole report in one paginated PDF, printed by headless Chromium.

Each page (the index, then every chapter in order) is printed on its own with
``chromium --headless --print-to-pdf``, the way a reviewer's browser prints it, from a copy that
carries a print style sheet: A4, backgrounds kept, the navigation bar and the table filter boxes
hidden (they do nothing on paper), charts and table rows kept whole. A first page states the run:
the parameters, the data's as-of day and cut-off, the run date, the git commit and the contents
with page numbers. pypdf joins the parts, numbers every page ("Page 3 of 41"), adds a bookmark per
page of the report, and turns links between pages into links inside the PDF; links to the files
beside it (the teams' CSVs) stay relative, so they open from the shared folder.

The browser is ``$CHROME_BIN`` when set (a path, or a name on PATH), else the first of
``chromium``, ``chromium-browser`` and ``google-chrome`` on PATH. Without one no PDF is written
and the caller says so; the HTML pages do not depend on it.
"""
from __future__ import annotations

import datetime as dt
import html
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, TextStringObject

from helpers.params import Params
from helpers.paths import RunLayout
from helpers.report.fmt import fmt_date, fmt_quarter
from helpers.report.i18n import ENGLISH, current_language, t
from helpers.report.registry import chapter_title
from helpers.report.render import REPORT_CSS

__all__ = ["CHROMIUM_ENV", "CHROMIUM_NAMES", "NO_CHROMIUM", "PdfNotWritten", "PrintedPdf", "find_chromium",
           "run_details", "cover_html", "print_copy", "PagePrinter", "Part", "join_parts", "write_report_pdf"]

CHROMIUM_ENV = "CHROME_BIN"  # the usual variable for a browser binary (Karma and many CI images set it)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
NO_CHROMIUM = "no Chromium found: report.pdf not written; install chromium"
PAGE_TIMEOUT = 180  # seconds to print one page; the largest demo chapter takes about 2 s
PRINT_WORKERS = 2  # browsers printing at once: a third gains nothing on the usual 2-4 cores
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--disable-breakpad",
    "--disable-crash-reporter", "--mute-audio", "--lang=en-US",
    # The pages load nothing remote; should one try, the request goes to a closed local port.
    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    # No date, title or file URL in the margins (the second spelling is older Chromium's).
    "--no-pdf-header-footer", "--print-to-pdf-no-header",
)

PRINT_CSS = """
<style>
@page { size: A4; margin: 14mm 12mm 18mm 12mm; }
/* The pages are laid out for a screen about 1,000 px wide; at 80% the 186 mm of an A4 line hold
   880 px, so the wide tables keep their columns instead of being cut at the paper's edge. */
html { zoom: 0.8; -webkit-print-color-adjust: exact; print-color-adjust: exact;
  font-variant-ligatures: none; }  /* no "ff" ligature: the PDF's text is searched and copied */
.ci-nav, .ci-filter, .anchor-link { display: none !important; }
body { max-width: none !important; margin: 0 !important; }
.jp-Notebook, .jp-OutputArea, .jp-OutputArea-child, .jp-OutputArea-output, .jp-MarkdownOutput {
  overflow: visible !important; }
img { max-width: 100% !important; height: auto !important; break-inside: avoid; }
tr, .ci-finding, .ci-na, .ci-note, .ci-error, dt, dd { break-inside: avoid; }
h1, h2, h3, h4, caption { break-after: avoid; }
a { color: inherit; text-decoration: none; }
</style>
"""

# Helvetica's advance widths (1/1000 em) of the characters of "Page 12 of 40", to centre it.
_HELVETICA_WIDTHS = {**dict.fromkeys("0123456789aego", 556), " ": 278, "f": 278, "P": 667}
FOOTER_FONT_SIZE = 8
FOOTER_BASELINE = 22  # points above the bottom edge, inside the 18 mm bottom margin

SCRATCH_PREFIX = "report-pdf"  # <temporary folder>/report-pdf-<runner's process id>-<id>: the browsers' scratch


class PdfNotWritten(Exception):
    """Chromium could not print a page, or the parts could not be joined; the message says which."""


@dataclass
class PrintedPdf:
    """What the PDF step did, for the manifest and the run's output."""

    status: str  # "written", "no chromium" or "failed"
    reason: str = ""
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    chromium: str = ""

    def as_dict(self) -> dict:
        return {"status": self.status, "reason": self.reason, "pages": self.pages, "bytes": self.bytes,
                "seconds": self.seconds, "chromium": self.chromium}


def find_chromium(environ: Mapping[str, str] | None = None) -> str | None:
    """The browser to print with: ``$CHROME_BIN`` if set and runnable, else the first of
    ``CHROMIUM_NAMES`` on PATH; None when there is none. A ``CHROME_BIN`` that names no program
    is not replaced by a guess: it is None, so the setting is noticed."""
    environ = os.environ if environ is None else environ
    path = environ.get("PATH")
    wanted = environ.get(CHROMIUM_ENV, "").strip()
    if wanted:
        return shutil.which(wanted, path=path)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name, path=path)
        if found:
            return found
    return None


def run_details(params: Params, log: Mapping, run_date: dt.date, commit: str) -> list[tuple[str, str]]:
    """The run as the PDF's first page states it: quarter, company, the data folder's name (never
    its path), the as-of day, the cut-off (the last day any source has a record), run date, commit.

    ``log`` is the prepare log (``as_of``, and ``coverage``: per source its ``first_day`` and
    ``last_day``).
    """
    if "as_of" not in log:
        raise ValueError("the prepare log has no 'as_of' day")
    period = params.period
    coverage = log.get("coverage") or {}
    last_days = [span["last_day"] for span in coverage.values() if span.get("last_day")]
    if last_days:
        cut_off = max(last_days)
        orders = coverage.get("orders", {})
        if orders.get("first_day") and orders.get("last_day"):
            cut_off = t("{day} (orders from {first} to {last})", day=fmt_date(cut_off),
                        first=fmt_date(orders["first_day"]), last=fmt_date(orders["last_day"]))
        else:
            cut_off = fmt_date(cut_off)
        cut_off = t("{cut_off}: the last day with a record", cut_off=cut_off)
    else:
        cut_off = t("not recorded")
    return [
        (t("Quarter"), t("{quarter} ({start} to {end})", quarter=fmt_quarter(period), start=fmt_date(period.start),
                         end=fmt_date(period.last_day))),
        (t("Company"), t(params.company_name)),
        (t("Data folder"), params.data_path.name),
        (t("Data as of"), t("{day} (dates after it are set aside as errors)", day=fmt_date(log["as_of"]))),
        (t("Data cut-off"), cut_off),
        (t("Run date"), fmt_date(run_date)),
        (t("Git commit"), commit),
    ]


def cover_html(title: str, details: Sequence[tuple[str, str]], contents: Sequence[tuple[str, str, int]]) -> str:
    """The first page: the title, the run's details and the contents (title, page file, first page)."""
    esc = html.escape
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in details)
    toc = "".join(f"<tr><td><a href='{esc(page)}'>{esc(name)}</a></td><td class='num'>{number}</td></tr>"
                  for name, page, number in contents)
    run, contents_heading = esc(t("The run")), esc(t("Contents"))
    page_heading, pdf_page = esc(t("Page of the report")), esc(t("PDF page"))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)}</title>{REPORT_CSS}"
            f"<style>.ci-cover{{padding-top:30mm}}.ci-cover h1{{font-size:26px;margin-bottom:18mm}}"
            f".ci-cover .ci-table{{font-size:14px;min-width:60%}}</style></head><body><div class='ci-cover'>"
            f"<h1>{esc(title)}</h1><h2>{run}</h2><table class='ci-table'>{rows}</table>"
            f"<h2>{contents_heading}</h2><table class='ci-table'><thead><tr><th>{page_heading}</th>"
            f"<th class='num'>{pdf_page}</th></tr></thead><tbody>{toc}</tbody></table></div></body></html>")


def print_copy(page: str) -> str:
    """A page with the print style sheet added last in its head, so that it wins over the page's own."""
    if "</head>" in page:
        return page.replace("</head>", PRINT_CSS + "</head>", 1)
    return PRINT_CSS + page


class _Browsers:
    """The Chromium processes printing now, so that a stopped run kills every one of them (each
    runs in a process group of its own, with its helper processes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen] = set()
        self.stopping = False

    def start(self, command: list[str]) -> subprocess.Popen:
        with self._lock:
            if self.stopping:
                raise PdfNotWritten("printing was stopped")
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, start_new_session=True)
            self._running.add(process)
            return process

    def finished(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._running.discard(process)

    def stop_all(self) -> None:
        with self._lock:
            self.stopping = True
            running = list(self._running)
        for process in running:
            _stop(process)


BROWSERS = _Browsers()


def _print(chromium: str, source: Path, target: Path, scratch: Path) -> int:
    """Print ``source`` to ``target`` with Chromium within ``PAGE_TIMEOUT`` seconds; returns the
    page count. Each printing thread has a browser profile of its own in ``scratch`` (Chromium
    locks the profile it runs on)."""
    timeout = PAGE_TIMEOUT
    profile = scratch / f"profile-{threading.current_thread().name}"
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={target}", source.as_uri()]
    try:
        process = BROWSERS.start(command)
    except OSError as exc:
        raise PdfNotWritten(f"{chromium} could not be started: {exc.strerror or exc}") from None
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise PdfNotWritten(f"Chromium did not print {source.name} within {timeout:.0f} s") from None
    finally:
        BROWSERS.finished(process)
    if process.returncode != 0 or not target.exists() or target.stat().st_size == 0:
        last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise PdfNotWritten(f"Chromium could not print {source.name} (exit code {process.returncode}: {last[0]})")
    try:
        return len(PdfReader(target).pages)
    except PyPdfError as exc:
        raise PdfNotWritten(f"Chromium's PDF of {source.name} cannot be read: {exc}") from None


def _stop(process: subprocess.Popen) -> None:
    """Kill a Chromium started by ``_print`` and its helpers (its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


@dataclass
class Part:
    """One page of the report (an HTML file), printed, and where it starts in the joined PDF."""

    title: str
    page: str  # the HTML file name in the report folder ("index.html")
    pdf: Path
    pages: int = 0
    first: int = 0  # 0-based index of its first page in the joined PDF


def _footer(width: float, height: float, text: str) -> PageObject:
    """A transparent page holding ``text`` centred at the bottom, in Helvetica (no font to embed)."""
    overlay = PageObject.create_blank_page(width=width, height=height)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica"),
                             NameObject("/Encoding"): NameObject("/WinAnsiEncoding")})
    overlay[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/CiFooter"): font})})
    text_width = sum(_HELVETICA_WIDTHS.get(c, 556) for c in text) * FOOTER_FONT_SIZE / 1000
    content = DecodedStreamObject()
    content.set_data(f"BT /CiFooter {FOOTER_FONT_SIZE} Tf 0.4 0.4 0.4 rg {(width - text_width) / 2:.2f} "
                     f"{FOOTER_BASELINE} Td ({text}) Tj ET".encode("ascii"))
    overlay[NameObject("/Contents")] = content
    return overlay


def _local_target(uri: str, folder: Path) -> str | None:
    """The path relative to ``folder`` of a ``file:`` link into ``folder`` (its fragment dropped), else None."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    try:
        relative = Path(unquote(parts.path)).resolve().relative_to(folder.resolve())
    except ValueError:
        return None
    return relative.as_posix()


def _relink(writer: PdfWriter, parts: list[Part], folder: Path) -> None:
    """Links to a page of the report go to its first page in the PDF; links to other files of the
    report folder become relative; other ``file:`` links (no such file in a shared folder) are removed."""
    first_page = {part.page: writer.pages[part.first].indirect_reference for part in parts}
    for page in writer.pages:
        annotations = page.get("/Annots")
        if not annotations:
            continue
        kept = ArrayObject()
        for reference in annotations.get_object():
            annotation = reference.get_object()
            action = annotation.get("/A")
            uri = action.get_object().get("/URI") if action is not None else None
            if uri is None or not str(uri).startswith("file:"):
                kept.append(reference)
                continue
            path = _local_target(str(uri), folder)
            if path is None:
                continue
            if path in first_page:
                annotation[NameObject("/A")] = DictionaryObject({
                    NameObject("/S"): NameObject("/GoTo"),
                    NameObject("/D"): ArrayObject([first_page[path], NameObject("/Fit")])})
            else:
                action.get_object()[NameObject("/URI")] = TextStringObject(path)
            kept.append(reference)
        page[NameObject("/Annots")] = kept


def join_parts(cover: Part, parts: list[Part], target: Path, folder: Path, title: str) -> int:
    """Join the cover and the parts into ``target``: numbered pages, a bookmark per part, links
    inside the PDF. ``folder`` is where the printed pages were, so where their ``file:`` links
    point. Returns the page count."""
    writer = PdfWriter()
    for part in (cover, *parts):
        part.first = len(writer.pages)
        writer.append(part.pdf, import_outline=False)
    total = len(writer.pages)
    for number, page in enumerate(writer.pages, start=1):
        box = page.mediabox
        # The footer is drawn in Helvetica (WinAnsi): English words, else the language-neutral "3 / 41".
        footer = f"Page {number} of {total}" if current_language() == ENGLISH else f"{number} / {total}"
        page.merge_page(_footer(float(box.width), float(box.height), footer))
        page.compress_content_streams()  # merging left the page's drawing uncompressed (5.5 MB instead of 3)
    _relink(writer, [cover, *parts], folder)
    for part in (cover, *parts):
        writer.add_outline_item(title=part.title, page_number=part.first)
    writer.page_mode = "/UseOutlines"
    writer.add_metadata({"/Title": title, "/Creator": "Customer Insights report runner"})
    partial = target.with_name(f".{target.name}.part")
    with partial.open("wb") as handle:
        writer.write(handle)
    os.replace(partial, target)  # never a half-written report.pdf
    return total


class PagePrinter:
    """Prints the report's pages in the background as each is ready, then joins them.

    A run ``add``s each chapter page once it is rendered, so Chromium prints it while the next
    chapters run; ``finish`` adds the index and any page not added yet, waits for the prints,
    prints the cover and writes ``layout.pdf``. ``close`` stops every browser and removes the
    scratch files (a stopped run; ``finish`` does it too).
    """

    def __init__(self, layout: RunLayout, chromium: str | None = None):
        self.layout = layout
        self.chromium = chromium or find_chromium()
        self._parts: dict[str, tuple[Part, Future | PdfNotWritten]] = {}
        self._pool = self._scratch = None
        if self.chromium:
            BROWSERS.stopping = False
            # the runner's process id in the name, for the next run to remove it if this one is killed
            self._scratch = tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}-{os.getpid()}-")
            # The copies sit where the pages do (relative links resolve alike) in a folder of their own.
            (self.work / "report").mkdir()
            self._pool = ThreadPoolExecutor(max_workers=max(1, min(PRINT_WORKERS, os.cpu_count() or 1)),
                                            thread_name_prefix="pdf-print")

    @property
    def work(self) -> Path:
        return Path(self._scratch.name)

    def add(self, title: str, page: str) -> None:
        """Start printing ``page`` (an HTML file of the report folder) as the part ``title``."""
        if not self.chromium or page in self._parts:
            return
        source, copy = self.layout.root / page, self.work / "report" / page
        part = Part(title, page, self.work / f"{Path(page).stem}.pdf")
        if not source.exists():
            self._parts[page] = (part, PdfNotWritten(f"{page} is missing"))
            return
        copy.write_text(print_copy(source.read_text(encoding="utf-8")), encoding="utf-8")
        self._parts[page] = (part, self._pool.submit(_print, self.chromium, copy, part.pdf, self.work))

    def add_chapter(self, chapter: str) -> None:
        self.add(chapter_title(chapter), self.layout.chapter_html(chapter).name)

    def finish(self, chapters: Sequence[str], title: str, details: Sequence[tuple[str, str]]) -> PrintedPdf:
        """``layout.pdf`` of the index and the pages of ``chapters``, in that order. A page Chromium
        cannot print is a "failed" result with the reason, never an exception (the HTML report
        stands on its own). OS errors while writing (a full disk) are raised like everywhere in the run."""
        if not self.chromium:
            wanted = os.environ.get(CHROMIUM_ENV, "").strip()
            reason = (NO_CHROMIUM if not wanted else
                      f"no Chromium found ({CHROMIUM_ENV}={wanted} is not a program): report.pdf not written; "
                      f"install chromium or correct {CHROMIUM_ENV}")
            return PrintedPdf("no chromium", reason)
        started = time.perf_counter()  # the time the run waits for the PDF, after the pages printed so far
        try:
            self.add(t("Summary"), self.layout.index_html.name)
            for chapter in chapters:
                self.add_chapter(chapter)
            pages = [self.layout.index_html.name] + [self.layout.chapter_html(c).name for c in chapters]
            parts = []
            for page in pages:
                part, printing = self._parts[page]
                if isinstance(printing, PdfNotWritten):
                    raise printing
                part.pages = printing.result()
                parts.append(part)
            total = self._join(parts, title, details)
        except (PdfNotWritten, PyPdfError) as exc:
            self.close()
            return PrintedPdf("failed", f"report.pdf not written: {exc}", chromium=self.chromium,
                              seconds=round(time.perf_counter() - started, 2))
        except BaseException:
            self.close()
            raise
        self.close()
        return PrintedPdf("written", pages=total, bytes=self.layout.pdf.stat().st_size,
                          seconds=round(time.perf_counter() - started, 2), chromium=self.chromium)

    def _join(self, parts: list[Part], title: str, details: Sequence[tuple[str, str]]) -> int:
        copies = self.work / "report"
        cover = Part(t("The run and contents"), "cover.html", self.work / "cover.pdf", pages=1)
        for _ in range(3):  # the contents give page numbers that depend on the cover's own length
            first = cover.pages + 1
            contents = []
            for part in parts:
                contents.append((part.title, part.page, first))
                first += part.pages
            (copies / cover.page).write_text(print_copy(cover_html(title, details, contents)), encoding="utf-8")
            printed = self._pool.submit(_print, self.chromium, copies / cover.page, cover.pdf, self.work).result()
            if printed == cover.pages:
                break
            cover.pages = printed
        return join_parts(cover, parts, self.layout.pdf, copies, title)

    def close(self) -> None:
        """Stop printing: every browser is killed, the scratch files go."""
        if self._pool is None:
            return
        for _, printing in self._parts.values():
            if isinstance(printing, Future):
                printing.cancel()
        BROWSERS.stop_all()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._scratch.cleanup()
        self._pool = None


def write_report_pdf(layout: RunLayout, chapters: Sequence[str], title: str, details: Sequence[tuple[str, str]],
                     chromium: str | None = None) -> PrintedPdf:
    """Print ``index.html`` and the pages of ``chapters`` of ``layout`` into ``layout.pdf``
    (``PagePrinter.finish``); ``chromium`` defaults to ``find_chromium()``."""
    return PagePrinter(layout, chromium).finish(chapters, title, details)
