"""What a run prints while it works: one line per big step, and the progress of each long one.

On a terminal a long step (reading a source, cleaning it, a chapter's sections) is a bar redrawn
in place with what is done of how much, the share, the time taken and an estimate of the time
left; chapters running side by side share one status line. Anywhere else (a log file, CI) every
line is printed once, never redrawn: a counted step when it ends, a chapter once per section.

A chapter runs in its own kernel process: ``%%section`` appends each finished section to
``<run folder>/.progress/<chapter>.jsonl`` (``record_section``), which ``Progress.chapter`` reads
while the chapter runs and removes when it ends, so the report folder never holds it.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TextIO

from helpers.report.registry import SECTIONS

PROGRESS_DIR = ".progress"  # in the run folder, only while a chapter runs
INDENT = " " * 6
BAR_WIDTH = 20


def section_file(run_dir: str | Path, chapter: str) -> Path:
    return Path(run_dir) / PROGRESS_DIR / f"{chapter}.jsonl"


def record_section(path: Path, key: str, status: str, seconds: float) -> None:
    """Append one finished section as a line of JSON, written and closed at once so that the
    runner sees it. Never raises: showing progress must not cost a section its result."""
    line = json.dumps({"section": key, "status": status, "seconds": round(seconds, 2)}) + "\n"
    for _ in range(2):  # a chapter that ended beside this one may just have removed the empty folder
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line)
            return
        except OSError:
            continue


class SectionFile:
    """The sections appended to a progress file since the last ``new()``."""

    def __init__(self, path: Path):
        self.path, self.offset = Path(path), 0

    def new(self) -> list[dict]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:  # not written yet
            return []
        complete = data[:data.rfind(b"\n") + 1]  # a line being written is read next time
        self.offset += len(complete)
        sections = []
        for line in complete.splitlines():
            with contextlib.suppress(ValueError):
                sections.append(json.loads(line))
        return sections


def duration(seconds: float) -> str:
    """``0:07``, ``12:40``, ``1:02:05``."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class Task:
    """A long step being shown: ``done`` of ``total`` (None: not counted) ``unit``. Off a
    terminal a counted one is printed when it ends, or with ``each`` as each item is done."""

    label: str
    started: float
    total: int | None = None
    done: int = 0
    unit: str = ""
    each: bool = False

    def share(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    def left(self, now: float) -> str:
        """The time left at the pace so far: "?" before the first item is done, "" once all are."""
        if not self.total or self.done >= self.total:
            return ""
        if self.done == 0:
            return "?"
        return duration((now - self.started) * (self.total - self.done) / self.done)

    def bar(self, now: float, final: bool = False) -> str:
        elapsed = duration(now - self.started)
        if self.total is None:
            return f"{INDENT}{self.label}  {elapsed} elapsed"
        filled = round(self.share() * BAR_WIDTH)
        text = (f"{INDENT}{self.label}  [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] "
                f"{self.done:,}/{self.total:,} {self.unit}  {self.share():.0%}  {elapsed} elapsed")
        left = "" if final else self.left(now)
        return f"{text}, {left} left" if left else text

    def brief(self, now: float) -> str:
        if self.total is None:
            return f"{self.label} {duration(now - self.started)}"
        left = self.left(now)
        return f"{self.label} {self.done:,}/{self.total:,} {self.share():.0%}" + (f" {left} left" if left else "")


class Progress:
    """The run's progress on ``stream`` (standard output): ``step`` for each of ``total`` big
    steps, ``substeps`` for the preparation's, ``chapter`` while a chapter runs. Thread-safe:
    chapters side by side report from several threads."""

    def __init__(self, total: int, stream: TextIO | None = None, clock: Callable[[], float] = time.perf_counter,
                 terminal: bool | None = None):
        self.total, self.n = total, 0
        self.stream = stream if stream is not None else sys.stdout
        self.clock, self.started = clock, clock()
        if terminal is None:
            try:
                terminal = self.stream.isatty()
            except (AttributeError, ValueError):
                terminal = False
        self.terminal = terminal
        self._lock = threading.RLock()
        self._tasks: list[Task] = []
        self._shown = 0  # characters of the status line now on the terminal

    def elapsed(self) -> str:
        return f"(elapsed {self.clock() - self.started:.1f} s)"

    def step(self, label: str) -> None:
        with self._lock:
            self.n += 1
            self._line(f"[{self.n}/{self.total}] {label} {self.elapsed()}")

    # --- the preparation's steps ---

    @contextlib.contextmanager
    def substeps(self) -> Iterator[Callable[..., None]]:
        """A ``progress`` function for ``prepare``: ``(message)`` starts a step, ``(message, done,
        total, unit)`` counts it. A new message ends the step before; leaving the block the last."""
        current: list[Task] = []

        def substep(message: str, done: int | None = None, total: int | None = None, unit: str = "") -> None:
            with self._lock:
                if current and current[0].label != message:
                    self._end(current.pop())
                if not current:
                    current.append(self._begin(message, total, unit))
                    if done is None and not self.terminal:
                        self._line(INDENT + message)
                if done is not None:
                    self._count(current[0], done, total, unit)

        with self._ticking():
            try:
                yield substep
            finally:
                with self._lock:
                    if current:
                        self._end(current.pop())

    # --- a chapter's sections ---

    def chapter(self, name: str, run_dir: str | Path,
                interval: float = 0.5) -> contextlib.AbstractContextManager[Watcher]:
        """While a chapter runs: its sections as they finish (``watch`` on its progress file)."""
        return self.watch(name, len(SECTIONS[name]), section_file(run_dir, name), interval)

    @contextlib.contextmanager
    def watch(self, label: str, total: int, path: Path, interval: float = 0.5) -> Iterator["Watcher"]:
        """Show the sections appended to ``path`` (of ``total``), read every ``interval`` seconds
        by a thread, once more at the end; the file (and its folder, once empty) is removed then."""
        watcher = Watcher(self, self._begin(label, total, "sections", each=True), SectionFile(path))
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(interval):
                watcher.poll()

        thread = threading.Thread(target=poll, name=f"progress-{label}", daemon=True)
        thread.start()
        try:
            yield watcher
        finally:
            stop.set()
            thread.join()
            watcher.poll()
            with self._lock:
                self._end(watcher.task)
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
                path.parent.rmdir()  # fails while another chapter's file is in it

    # --- drawing ---

    @contextlib.contextmanager
    def _ticking(self, interval: float = 1.0) -> Iterator[None]:
        """On a terminal, the status line redrawn every ``interval`` seconds: the time moves on
        while one long call (a file parsed in one go) reports nothing."""
        if not self.terminal:
            yield
            return
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(interval):
                with self._lock:
                    self._draw()

        thread = threading.Thread(target=tick, name="progress-clock", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _begin(self, label: str, total: int | None = None, unit: str = "", each: bool = False) -> Task:
        with self._lock:
            task = Task(label, self.clock(), total, 0, unit, each)
            self._tasks.append(task)
            self._draw()
            return task

    def _count(self, task: Task, done: int, total: int | None, unit: str = "") -> None:
        with self._lock:
            task.done, task.total, task.unit = done, total, unit or task.unit
            self._draw()

    def _end(self, task: Task) -> None:
        """A task done: on a terminal its last bar stays as a line; elsewhere a counted one gets
        its line, unless it had one per item."""
        with self._lock:
            self._tasks.remove(task)
            if self.terminal:
                self._line(task.bar(self.clock(), final=True))
            elif task.total is not None and not task.each:
                self._line(f"{INDENT}{task.label} {task.done:,}/{task.total:,} {task.unit} {self.elapsed()}")

    def _sections(self, task: Task, seen: set[str], sections: list[dict]) -> None:
        with self._lock:
            for section in sections:
                seen.add(section["section"])
                task.done = len(seen)
                if not self.terminal:
                    self._line(f"{INDENT}{task.label} {task.done}/{task.total} sections: {section['section']} "
                               f"{section['status']}, {section['seconds']:.1f} s {self.elapsed()}")
            self._draw()  # on a terminal: the new count, or at least the time moving on

    def _line(self, text: str) -> None:
        """A line of its own, above the status line."""
        with self._lock:
            self._clear()
            self.stream.write(text + "\n")
            self._draw()

    def _clear(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def _draw(self) -> None:
        """The status line of the tasks under way (terminal only), redrawn in place."""
        if not self.terminal or not (self._tasks or self._shown):
            self.stream.flush()
            return
        now = self.clock()
        if not self._tasks:
            text = ""
        elif len(self._tasks) == 1:
            text = self._tasks[0].bar(now)
        else:
            text = INDENT + " | ".join(task.brief(now) for task in self._tasks)
        text = text[:shutil.get_terminal_size((100, 24)).columns - 1]
        self.stream.write("\r" + text + " " * max(0, self._shown - len(text)) + ("\r" if not text else ""))
        self._shown = len(text)
        self.stream.flush()


class Watcher:
    """A chapter's sections as read from its progress file; ``poll`` shows the new ones."""

    def __init__(self, progress: Progress, task: Task, source: SectionFile):
        self.progress, self.task, self.source = progress, task, source
        self.seen: set[str] = set()  # a section in several cells counts once
        self._lock = threading.Lock()

    def poll(self) -> None:
        with self._lock:
            self.progress._sections(self.task, self.seen, self.source.new())
