"""The rendered report in headless Chromium, checked the way a reviewer's browser opens it.

For index.html and every chapter page: the page renders with no JavaScript error and nothing on
the console at level error, no request leaves the machine (every URL is file:, data:, about: or
chrome-internal), every relative link resolves to a file in the report folder, and a screenshot
of index.html is kept in the test's tmp_path for inspection.

Chromium is driven over the Chrome DevTools Protocol on --remote-debugging-pipe: the browser
reads commands on its fd 3 and writes answers and events on its fd 4, each message one JSON
text ended by a NUL byte. No package is needed. Every read is bounded by a deadline.
"""
from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from helpers.report.registry import CHAPTERS

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium, chromium-browser or google-chrome on PATH "
                                                "(.ci/run installs Debian's chromium; apt-get install chromium)"),
]

PAGES = ["index.html", *(f"{chapter}.html" for chapter in CHAPTERS)]
LOCAL_SCHEMES = {"file", "data", "about", "chrome", "blob"}
START_TIMEOUT = 30.0  # the browser's first answer
PAGE_TIMEOUT = 10.0  # navigation and load of one page
COMMAND_TIMEOUT = 10.0  # any other single command
MAX_SCREENSHOT_HEIGHT = 8000  # css pixels of the index page kept in the screenshot
WINDOW_HEIGHT = 900  # css pixels, as --window-size
SCREEN_WIDTH = 1400  # a reviewer's desktop browser
A4_WIDTH = 794  # css pixels of an A4 sheet's 210 mm at 96 per inch

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
    "--dns-prefetch-disable", "--no-pings", "--disable-breakpad", "--disable-crash-reporter", "--metrics-recording-only", "--mute-audio", "--hide-scrollbars",
    "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=en-US",
    # A request that slipped past the check below still could not leave: the proxy is a closed local port.
    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--remote-debugging-pipe",
]


class BrowserError(RuntimeError):
    pass


@dataclass
class Visit:
    """What one page did in the browser."""
    url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    title: str = ""
    text_length: int = 0
    screenshot: bytes | None = None
    seconds: float = 0.0


class Chromium:
    """A headless Chromium on a DevTools pipe; one tab per visited page."""

    def __init__(self, binary: str, profile: Path, log: Path):
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # The browser's ends, moved above fd 10 so that placing them at 3 and 4 cannot overwrite one with the other.
        child_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
        for fd in (to_browser_r, from_browser_w):
            os.close(fd)
        self._write_fd, self._read_fd = to_browser_w, from_browser_r
        self._buffer = bytearray()
        self._next_id = 0
        self._events: list[dict] = []
        self.log = log
        self._log_file = log.open("wb")

        def pipe_at_3_and_4() -> None:  # in the child, before exec: dup2 leaves 3 and 4 open across exec
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        try:
            # close_fds=False: subprocess would otherwise close 3 and 4 after this hook; Python's own descriptors
            # are not inheritable (PEP 446), so nothing else reaches the browser.
            self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                         stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=self._log_file,
                                         preexec_fn=pipe_at_3_and_4, close_fds=False, start_new_session=True)
        finally:
            os.close(child_in)
            os.close(child_out)
        try:
            self.version = self.send("Browser.getVersion", timeout=START_TIMEOUT)
        except Exception:
            self.close()
            raise

    # --- the protocol ---

    def _read_message(self, deadline: float) -> dict:
        while (end := self._buffer.find(b"\0")) < 0:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read_fd], [], [], left)[0]:
                raise TimeoutError("no answer from Chromium in time")
            chunk = os.read(self._read_fd, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium closed the DevTools pipe (exit code {self.proc.poll()}); "
                                   f"its log: {self.log_tail()}")
            self._buffer += chunk
        message = bytes(self._buffer[:end])
        del self._buffer[:end + 1]
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = COMMAND_TIMEOUT) -> dict:
        """Send one command and return its result; events read meanwhile are kept for wait_event."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = memoryview(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while data:
            if not select.select([], [self._write_fd], [], max(0.0, deadline - time.monotonic()))[1]:
                raise TimeoutError(f"Chromium did not read {method} in time")
            data = data[os.write(self._write_fd, data):]
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def wait_event(self, method: str, session: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in self._events:
                if event["method"] == method and event.get("sessionId") == session:
                    self._events.remove(event)
                    return event
            try:
                event = self._read_message(deadline)
            except TimeoutError:
                raise TimeoutError(f"no {method} within {timeout:.0f} s") from None
            if "method" in event:
                self._events.append(event)

    def take_events(self, session: str) -> list[dict]:
        mine = [e for e in self._events if e.get("sessionId") == session]
        self._events = [e for e in self._events if e.get("sessionId") != session]
        return mine

    def evaluate(self, expression: str, session: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True, "timeout": COMMAND_TIMEOUT * 1000}, session)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    # --- one page ---

    @contextlib.contextmanager
    def tab(self, path: Path, width: int | None = None, media: str = ""):
        """Open ``path`` in a new tab, ``width`` css pixels wide (the window's width if None), with
        the CSS media type ``media`` emulated ("print": the page as printed, but laid out on one
        long sheet); yields (visit, session) once loaded, and fills in what the page did on leaving."""
        started = time.monotonic()
        visit = Visit(url=path.resolve().as_uri())
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable", session=session)
            if width:
                self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": WINDOW_HEIGHT,
                                                                 "deviceScaleFactor": 1, "mobile": False}, session)
            if media:
                self.send("Emulation.setEmulatedMedia", {"media": media}, session)
            self.take_events(session)  # what about:blank did is not the page's
            navigation = self.send("Page.navigate", {"url": visit.url}, session, timeout=PAGE_TIMEOUT)
            if navigation.get("errorText"):
                visit.errors.append(f"navigation failed: {navigation['errorText']}")
            else:
                self.wait_event("Page.loadEventFired", session, PAGE_TIMEOUT - (time.monotonic() - started))
                # Let the scripts the page runs after load (table sort and filter, charts) run their timers.
                self.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 250)))", session)
                facts = self.evaluate("({title: document.title, text: document.body ? document.body.innerText.length : 0,"
                                      " links: Array.from(document.querySelectorAll('a[href]'),"
                                      " a => a.getAttribute('href'))})", session)
                visit.title, visit.text_length, visit.links = facts["title"], facts["text"], facts["links"]
            yield visit, session
            for event in self.take_events(session):
                self._record(event, visit)
        finally:
            try:
                self.send("Target.closeTarget", {"targetId": target})
            except (BrowserError, TimeoutError):
                pass
            self.take_events(session)
            visit.seconds = time.monotonic() - started

    def visit(self, path: Path, screenshot: bool = False) -> Visit:
        with self.tab(path) as (visit, session):
            if screenshot and not visit.errors:
                visit.screenshot = self._screenshot(session)
        return visit

    def click(self, session: str, x: float, y: float) -> None:
        """A left click at (x, y) css pixels of the viewport, as the mouse makes it."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                                   "buttons": 1 if kind == "mousePressed" else 0,
                                                   "clickCount": 0 if kind == "mouseMoved" else 1}, session)

    def _screenshot(self, session: str) -> bytes:
        size = self.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], MAX_SCREENSHOT_HEIGHT),
                "scale": 1}
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip},
                         session, timeout=PAGE_TIMEOUT)
        return base64.b64decode(shot["data"])

    @staticmethod
    def _record(event: dict, visit: Visit) -> None:
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            visit.requests.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text", "")
            visit.errors.append(f"JavaScript exception: {text} at {details.get('url', '')}:{details.get('lineNumber')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            visit.errors.append(f"console.{params['type']}: {args}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            visit.errors.append(f"{entry.get('source')} error: {entry.get('text')} {entry.get('url', '')}".rstrip())

    # --- the process ---

    def log_tail(self, chars: int = 2000) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-chars:]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("Browser.close", timeout=5)
            except (BrowserError, TimeoutError, OSError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the browser's own process group (start_new_session)
                self.proc.wait(timeout=10)
        for fd in (self._write_fd, self._read_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log_file.close()


def broken_links(folder: Path, page: str, hrefs: list[str]) -> list[str]:
    """Relative links that do not resolve to a file inside the report folder (anchors are fine)."""
    root = folder.resolve()
    broken = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme == "file":
            broken.append(f"{href} (an absolute file link breaks when the folder moves)")
            continue
        if parts.scheme or parts.netloc or not parts.path:  # http(s), mailto, ..., or "#anchor"
            continue
        target = ((folder / page).parent / unquote(parts.path)).resolve()
        if not target.is_relative_to(root):
            broken.append(f"{href} (outside the report folder)")
        elif not target.exists():
            broken.append(f"{href} (no such file)")
    return broken


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    work = tmp_path_factory.mktemp("chromium")
    profile = work / "profile"
    profile.mkdir()
    chromium = Chromium(CHROMIUM, profile, work / "chromium.log")
    yield chromium
    chromium.close()


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_offline_without_errors_and_its_links_resolve(page, report, browser, tmp_path):
    folder, _ = report
    assert (folder / page).is_file(), f"{page} missing from {folder}"
    visit = browser.visit(folder / page, screenshot=page == "index.html")

    problems = [f"error: {e}" for e in visit.errors]
    problems += [f"request leaves the machine: {u}" for u in visit.requests if urlsplit(u).scheme not in LOCAL_SCHEMES]
    problems += [f"broken link: {b}" for b in broken_links(folder, page, visit.links)]
    if visit.text_length < 200:
        problems.append(f"the page shows almost nothing ({visit.text_length} characters of text)")
    if not visit.title:
        problems.append("the page has no title")
    assert not problems, f"{page} ({visit.url}):\n  " + "\n  ".join(problems)
    assert visit.seconds < 3 * PAGE_TIMEOUT, f"{page} took {visit.seconds:.1f} s"

    if page == "index.html":
        assert any(link.endswith(".csv") for link in visit.links), "the index links no CSV artifact"
        assert {f"{c}.html" for c in CHAPTERS} <= {urlsplit(h).path for h in visit.links}, \
            "the index does not link every chapter"
        shot = tmp_path / "index.png"
        shot.write_bytes(visit.screenshot or b"")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
        assert shot.stat().st_size > 10_000, f"the screenshot {shot} is nearly empty ({shot.stat().st_size} bytes)"


# --- layout at a desktop's width and on A4 paper, and the charts' filter ---

LAYOUTS = {"screen 1400 px": (SCREEN_WIDTH, ""), "A4 print": (A4_WIDTH, "print")}

# The problems of a page's width: the page wider than the window; a table (or the box it scrolls
# in) past the page's right edge; in print a table cut by its box or any scrolling box that hides
# part of its content (paper does not scroll). Tables not laid out (in a closed <details>) are
# not shown, on screen or on paper.
TABLES_FIT_JS = r"""(print) => {
  const problems = [], root = document.documentElement, page = root.clientWidth;
  if (root.scrollWidth > page + 1) problems.push(`the page is ${root.scrollWidth} px wide in a ${page} px window`);
  if (document.body.scrollWidth > document.body.clientWidth + 1)
    problems.push(`the body holds ${document.body.scrollWidth} px in ${document.body.clientWidth} px`);
  document.querySelectorAll('table').forEach((table, i) => {
    if (!table.getClientRects().length) return;
    const name = ((table.caption && table.caption.textContent.trim()) || `table ${i + 1}`).slice(0, 70);
    const wrap = table.closest('.ci-table-wrap');
    const box = (wrap || table).getBoundingClientRect();
    if (box.right > page + 1) problems.push(`${name}: ends at ${Math.round(box.right)} px, the page at ${page} px`);
    if (print && wrap && wrap.scrollWidth > wrap.clientWidth + 1)
      problems.push(`${name}: cut in print (${wrap.scrollWidth} px of table in a ${wrap.clientWidth} px box)`);
    if (print && table.getBoundingClientRect().right > page + 1)
      problems.push(`${name}: ${Math.round(table.getBoundingClientRect().width)} px wide on a ${page} px page`);
  });
  if (print) document.querySelectorAll('.jp-OutputArea-output, .jp-RenderedHTMLCommon, .ci-table-wrap').forEach((el) => {
    const overflow = getComputedStyle(el).overflowX;
    if (overflow !== 'visible' && el.getClientRects().length && el.scrollWidth > el.clientWidth + 1)
      problems.push(`a ${el.className} box hides ${el.scrollWidth - el.clientWidth} px of its content in print`);
  });
  return problems;
}"""

# Each interactive chart of the page: whether Plotly drew it, which of its two forms shows, its
# menu's options, the traces it shows (by their data and by what is drawn).
CHARTS_JS = r"""Array.from(document.querySelectorAll('.ci-dual'), (box) => {
  const plot = box.querySelector('.ci-plotly'), drawn = !!(plot && plot._fullData);
  const shown = drawn ? plot._fullData.filter((t) => t.visible === true) : [];
  return {id: box.id, drawn: drawn,
          interactive_shown: getComputedStyle(box.querySelector('.ci-interactive')).display !== 'none',
          static_shown: getComputedStyle(box.querySelector('.ci-static')).display !== 'none',
          options: drawn ? plot._fullLayout.updatemenus[0].buttons.map((b) => b.label) : [],
          shown: shown.map((t) => t.name), data: shown.map((t) => Array.from(t.y, (v) => v === null ? null : +v)),
          lines_drawn: drawn ? plot.querySelectorAll('.scatterlayer .trace').length : 0,
          buttons: Array.from(box.querySelectorAll('.modebar-btn'), (e) => e.getAttribute('data-title'))};
})"""

# Where to click: the centre of the menu's header (``option`` null) or of its option number
# ``option``; null when that is not what a click there would hit.
MENU_POINT_JS = r"""(id, option) => {
  const box = document.getElementById(id);
  if (option === null) box.scrollIntoView({block: 'center'});
  const target = option === null ? box.querySelector('.updatemenu-header')
                                 : box.querySelectorAll('.updatemenu-dropdown-button')[option];
  if (!target) return null;
  const r = target.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
  return target.contains(document.elementFromPoint(x, y)) ? {x: x, y: y} : null;  // null: not there, or hidden
}"""
SETTLE_JS = "new Promise(r => requestAnimationFrame(() => setTimeout(r, 300)))"


def chart_script_requests(folder: Path, requests: list[str]) -> list[str]:
    """The requests of a page for Plotly's script in the report folder."""
    script = (folder / "assets" / "plotly.min.js").resolve().as_uri()
    return [u for u in requests if u == script]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("page", PAGES)
def test_no_table_is_wider_than_its_page_and_print_shows_the_static_charts(page, layout, report, browser):
    folder, _ = report
    width, media = LAYOUTS[layout]
    with browser.tab(folder / page, width, media) as (visit, session):
        problems = [] if visit.errors else browser.evaluate(f"({TABLES_FIT_JS})({json.dumps(media == 'print')})",
                                                            session)
        charts = [] if visit.errors else browser.evaluate(CHARTS_JS, session)
    problems += [f"error: {e}" for e in visit.errors]
    problems += [f"request leaves the machine: {u}" for u in visit.requests if urlsplit(u).scheme not in LOCAL_SCHEMES]
    for chart in charts:
        if media == "print":  # paper gets the PNG, never the drawn chart
            if chart["interactive_shown"] or not chart["static_shown"]:
                problems.append(f"chart {chart['id']} prints its interactive form, not its static one")
        elif not (chart["drawn"] and chart["interactive_shown"] and not chart["static_shown"]):
            problems.append(f"chart {chart['id']} does not show its interactive form on screen: {chart}")
        elif any(re.search(r"share|cloud|edit in", title, re.I) for title in chart["buttons"]):
            problems.append(f"chart {chart['id']} has a button that sends it away: {chart['buttons']}")
    if charts:
        requested = chart_script_requests(folder, visit.requests)
        if len(requested) != 1:
            problems.append(f"Plotly's script from the report folder requested {len(requested)} times: {visit.requests}")
    assert not problems, f"{page} at {layout} ({visit.url}):\n  " + "\n  ".join(problems)


def test_choosing_an_option_in_a_charts_menu_changes_what_it_shows(report, browser):
    folder, _ = report
    with_charts, problems = set(), []
    for page in PAGES:
        with browser.tab(folder / page, SCREEN_WIDTH) as (visit, session):
            if visit.errors:
                problems.append(f"{page}: {visit.errors}")
                continue
            for before in browser.evaluate(CHARTS_JS, session):
                with_charts.add(page)
                where = f"{page}, chart {before['id']}"
                if not before["drawn"] or len(before["options"]) < 3 or before["options"][0] != "All":
                    problems.append(f"{where}: not drawn, or its menu is not All and two groups or more: {before}")
                    continue
                if before["shown"] != before["options"][1:] or before["lines_drawn"] != len(before["shown"]):
                    problems.append(f"{where}: 'All' does not show every group: {before['shown']}")
                for option in (1, len(before["options"]) - 1, 0):  # the first group, the last, All again
                    header = browser.evaluate(f"({MENU_POINT_JS})({json.dumps(before['id'])}, null)", session)
                    browser.click(session, header["x"], header["y"])  # opens the menu
                    browser.evaluate(SETTLE_JS, session)
                    point = browser.evaluate(f"({MENU_POINT_JS})({json.dumps(before['id'])}, {option})", session)
                    if point is None:
                        problems.append(f"{where}: the menu did not open, or its option {option} is out of sight")
                        break
                    browser.click(session, point["x"], point["y"])
                    browser.evaluate(SETTLE_JS, session)
                    (after,) = [c for c in browser.evaluate(CHARTS_JS, session) if c["id"] == before["id"]]
                    label = before["options"][option]
                    wanted = before["shown"] if option == 0 else [label]
                    if after["shown"] != wanted or after["lines_drawn"] != len(wanted):
                        problems.append(f"{where}: choosing {label!r} shows {after['shown']} "
                                        f"({after['lines_drawn']} lines drawn), not {wanted}")
                    elif option and after["data"] == before["data"]:
                        problems.append(f"{where}: choosing {label!r} left the chart's data as it was")
                    elif option and after["data"] != [before["data"][before["shown"].index(label)]]:
                        problems.append(f"{where}: choosing {label!r} shows other values than its line under 'All'")
        problems += [f"{page}: error: {e}" for e in visit.errors]
        problems += [f"{page}: request leaves the machine: {u}" for u in visit.requests
                     if urlsplit(u).scheme not in LOCAL_SCHEMES]
    assert {"01_overview.html", "02_needs.html", "03_behaviour.html"} <= with_charts, \
        f"interactive charts only on {sorted(with_charts)}"
    assert not problems, "\n  ".join(problems)
