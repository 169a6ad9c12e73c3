"""What a chapter notebook sees: its parameters, the prepared tables, and ways to show results.

A notebook calls ``open_chapter`` once in its setup cell. Run by ``run_all.py`` it reads the
run's folder; opened on its own in JupyterLab it prepares the data into ``data/work/<quarter>``
first (making the demo data if it is missing), so every notebook runs top to bottom on defaults.
"""
from __future__ import annotations

import hashlib
import html
import json
import subprocess
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import HTML, display

from helpers import paths
from helpers.data.prepare import load_log, load_prepared, prepare
from helpers.errors import NotAvailable
from helpers.facts import customer_facts
from helpers.facts.kpis import DataSpans
from helpers.params import Params, load_params
from helpers.paths import RunLayout
from helpers.quarters import Quarter
from helpers.report import display as html_parts
from helpers.report import export
from helpers.report.fmt import fmt_date, fmt_quarter
from helpers.report.i18n import set_language, t, translate_chart_words, translate_values
from helpers.report.plotting import chart_figure_html, setup_style
from helpers.report.progress import record_section, section_file
from helpers.report.registry import ARTIFACT_COLUMNS, SectionSpec, chapter_spec, section_spec, writer_of

RESOLVED_PARAMS = "params.json"
RUN_INFO = "run.json"  # written by run_all: where this run's report folders live
SECTIONS_FILE = "sections_{chapter}.json"  # in artifacts: each section's status, read by the runner
PLACEHOLDERS = {"Unknown", "Uncategorised"}  # what the preparation writes where a value is missing
PACKAGES = ("pandas", "numpy", "scipy", "statsmodels", "scikit-learn", "lifetimes", "seaborn", "matplotlib",
            "papermill", "nbconvert", "pydantic", "pyarrow")


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.PROJECT_ROOT, capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_resolved_params(params: Params, layout: RunLayout) -> None:
    layout.root.mkdir(parents=True, exist_ok=True)
    (layout.root / RESOLVED_PARAMS).write_text(params.model_dump_json(indent=2), encoding="utf-8")


def read_resolved_params(layout: RunLayout) -> Params:
    return Params.model_validate_json((layout.root / RESOLVED_PARAMS).read_text(encoding="utf-8"))


def ensure_demo_data(params: Params) -> None:
    """Generate the bundled demo data when the default data folder is empty."""
    if params.data_path == paths.DEMO_DATA_DIR and not (paths.DEMO_DATA_DIR / "orders.csv").exists():
        from helpers.demo.generator import generate, write

        write(generate(customers=5000, seed=params.random_seed, end="2026-09-30"), paths.DEMO_DATA_DIR)


def work_layout(params: Params) -> RunLayout:
    """A notebook's own prepared data, redone whenever the parameters change."""
    layout = RunLayout(paths.WORK_DIR / params.quarter)
    fingerprint = hashlib.sha256(params.model_dump_json().encode()).hexdigest()
    marker = layout.root / "params.sha256"
    prepared = [layout.prepared / "orders.parquet", layout.prepared / customer_facts.FACTS_FILE]
    if not marker.exists() or marker.read_text() != fingerprint or not all(p.exists() for p in prepared):
        ensure_demo_data(params)
        layout.make()
        write_resolved_params(params, layout)
        prepare(params, layout, progress=_print_step)
        marker.write_text(fingerprint)
    return layout


def _print_step(message: str, done: int | None = None, total: int | None = None, unit: str = "") -> None:
    """The preparation's steps, printed in the notebook as they start (their counts are not)."""
    if done is None:
        print(f"preparing data: {message}", flush=True)


class Chapter:
    """A chapter's parameters, data and output helpers. Create it with ``open_chapter``."""

    def __init__(self, name: str, params: Params, layout: RunLayout):
        self.name, self.params, self.layout = name, params, layout
        self.period: Quarter = params.period
        self.seed: int = params.random_seed
        self.log: dict = load_log(layout)
        self.findings: list[dict] = []
        self._tables: dict[str, pd.DataFrame | None] = {}
        self.sections: dict[str, dict] = {}
        self.progress_file: Path | None = None  # run by run_all: each finished section is appended to it
        layout.artifacts.mkdir(parents=True, exist_ok=True)

    # data
    def has(self, source: str) -> bool:
        return source in self.log["available"]

    def table(self, source: str) -> pd.DataFrame | None:
        if source not in self._tables:
            self._tables[source] = load_prepared(self.layout, source) if self.has(source) else None
        return self._tables[source]

    @property
    def spans(self) -> DataSpans:
        """What the data cover (first and last day per source) and the new-customer warm-up."""
        return DataSpans(self.log.get("coverage", {}), self.params.new_customer_warmup_days)

    def customer_facts(self, as_of) -> pd.DataFrame:
        """Each customer's facts as of the day ``as_of`` (one of ``customer_facts.report_days``),
        computed once by the preparation: one row per customer with an order line by then."""
        day, days = customer_facts.as_of_day(as_of), customer_facts.report_days(self.period)
        if day not in days:
            raise ValueError(f"no customer facts as of {day.date()}; the preparation computes them for "
                             f"{', '.join(str(d.date()) for d in days)}")
        facts = pd.read_parquet(self.layout.prepared / customer_facts.FACTS_FILE, filters=[("as_of", "==", day)])
        return facts.drop(columns="as_of").reset_index(drop=True)  # no rows before the first order line

    @property
    def outputs_root(self) -> Path:
        """The folder holding ``<quarter>/<date>/`` report folders (for earlier runs)."""
        run_info = self.layout.root / RUN_INFO
        if run_info.exists():
            return Path(json.loads(run_info.read_text(encoding="utf-8"))["outputs_root"])
        return paths.OUTPUTS_DIR

    def previous_report(self, quarters_back: int = 1) -> Path | None:
        """The newest complete report of an earlier quarter in the output folder, if there is one."""
        return paths.latest_report(self.outputs_root, str(self.period.shift(-quarters_back)))

    def artifact(self, name: str) -> pd.DataFrame | None:
        """An artifact an earlier chapter of this run saved (None if it did not), its values as
        saved and the columns of ``registry.ARTIFACT_COLUMNS`` in their types."""
        path = self.layout.artifacts / name
        if not path.exists():
            return None
        columns = ARTIFACT_COLUMNS.get(name, {})
        frame = export.read_csv(path, dtype={c: str for c, kind in columns.items() if kind == "string"})
        missing = [c for c in columns if c not in frame]
        if missing:
            raise ValueError(f"{name} lacks the column(s) {missing} that {self.name} reads; "
                             f"{writer_of(name).title} writes it, run that chapter again")
        for column, kind in columns.items():
            if kind.startswith("category:"):
                frame[column] = pd.Categorical(frame[column], categories=kind.split(":", 1)[1].split(","), ordered=True)
            else:
                frame[column] = frame[column].astype(kind)
        return frame

    # sections
    def unmet_need(self, spec: SectionSpec) -> NotAvailable | None:
        """What the data lacks for the section ``spec``, checked before it runs (None: nothing)."""
        for key in spec.after:
            earlier = self.sections.get(key)
            if earlier is None:
                return NotAvailable(t("it builds on the section '{key}', which has not run", key=key))
            if earlier["status"] == "not available":
                return NotAvailable(t("it builds on the section '{key}', which is not available ({reason})",
                                      key=key, reason=earlier["reason"]))
            if earlier["status"] != "ok":
                return NotAvailable(t("it builds on the section '{key}', which failed", key=key))
        missing = [s for s in spec.sources if not self.has(s)]
        if spec.any_source and not any(self.has(s) for s in spec.any_source):
            missing.append(_joined(spec.any_source, either=True))
        if missing:
            sources = _joined(missing)
            return NotAvailable(t("no {sources} data", sources=sources),
                                t("add the {sources} export to the data folder (sources in the parameters file)",
                                  sources=sources))
        for source, columns in spec.columns.items():
            profile = self.log["profile"].get(source)
            for column in columns:
                if profile is None or not _has_values(profile, column):
                    return NotAvailable(t("the {source} data has no {column} values", source=source, column=column),
                                        t("map a column to {source}.{column} (sources.{source}.columns in the "
                                          "parameters file)", source=source, column=column))
        for source, columns in spec.breakdown.items():
            profile = self.log["profile"].get(source)
            for column in columns:
                values = _values(profile, column) if profile is not None else set()
                if values is not None and len(values) < 2:
                    if values:
                        missing_text = t("the {source} data has only the value {value} in {column}, so there is "
                                         "nothing to compare", source=source, value=repr(next(iter(values))),
                                         column=column)
                    else:
                        missing_text = t("the {source} data has no values in {column}, so there is nothing to "
                                         "compare", source=source, column=column)
                    return NotAvailable(missing_text,
                                        t("map a column with two values or more to {source}.{column} "
                                          "(sources.{source}.columns in the parameters file)",
                                          source=source, column=column))
        if spec.history_days:
            held = self.history_days()
            if held < spec.history_days:
                return NotAvailable(t("{held} days of order history up to {day}, this section needs {needed}",
                                      held=held, day=fmt_date(self.period.last_day.date()),
                                      needed=spec.history_days),
                                    t("an export that starts earlier"))
        missing = [n for n in spec.artifacts if not (self.layout.artifacts / n).exists()]
        if missing:
            writers = list(dict.fromkeys(t(writer_of(n).title) for n in missing))  # the registry's titles
            files, by = _joined(missing), _joined(writers)
            if len(missing) == 1:
                written = t("{files} was not written in this run", files=files)
                enable = t("{writers} writes it: run it first, or see its 'Not available' lines for what the data "
                           "lack", writers=by)
            else:
                written = t("{files} were not written in this run", files=files)
                enable = (t("{writers} writes them: run it first, or see its 'Not available' lines for what the "
                            "data lack", writers=by) if len(writers) == 1 else
                          t("{writers} write them: run them first, or see their 'Not available' lines for what the "
                            "data lack", writers=by))
            return NotAvailable(written, enable)
        return None

    def history_days(self, source: str = "orders") -> int:
        """Days from the first day of ``source`` data to the quarter's last day (0 without data)."""
        first = self.log.get("coverage", {}).get(source, {}).get("first_day")
        if not first:
            return 0
        return max(0, (self.period.last_day - pd.Timestamp(first)).days + 1)

    def run_section(self, key: str, code: str, namespace: dict) -> str:
        """Run one section's code unless a need is unmet; returns its status.

        A ``NotAvailable`` (from the check or from a helper) shows one line; any other error
        shows the section's error box; in both cases the chapter goes on.
        """
        spec = section_spec(self.name, key)
        if key in self.sections and self.sections[key]["status"] != "ok":
            return self.sections[key]["status"]  # a later cell of a section that did not run
        unmet = self.unmet_need(spec)
        status, reason = "ok", ""
        try:
            if unmet is not None:
                raise unmet
            exec(compile(code, f"<section {key}>", "exec"), namespace)  # noqa: S102 - the notebook's own cell
        except NotAvailable as exc:
            status, reason = "not available", exc.missing
            display(HTML(html_parts.note_html(exc.line(), "na")))
        except Exception as exc:  # one section's error never takes its chapter down
            status, reason = "failed", f"{type(exc).__name__}: {exc}"
            plt.close("all")
            display(HTML(html_parts.section_error_html(key, reason, _traceback_lines(exc))))
        self.sections[key] = {"section": key, "status": status, "reason": reason}
        return status

    # output
    def show(self, frame: pd.DataFrame, formats: dict[str, str] | None = None, caption: str | None = None,
             max_rows: int = 50, sortable: bool = False, index: bool = False, full_table: str | None = None) -> None:
        """The table for readers (``display.table_html``); ``full_table``: the CSV this chapter saves
        with all its rows, named under a table cut at ``max_rows``."""
        display(HTML(html_parts.table_html(translate_values(frame), formats, caption, self.params.currency_symbol,
                                           max_rows, sortable, index, full_table)))

    def finding(self, text: str, **numbers) -> None:
        self.findings.append({"chapter": self.name, "text": text,
                              "numbers": {k: _plain(v) for k, v in numbers.items()}})
        display(HTML(html_parts.finding_html(text)))

    def note(self, text: str) -> None:
        display(HTML(html_parts.note_html(text)))

    def chart(self, ax_or_fig, summary: str | None = None) -> None:
        """The figure as an embedded PNG whose alt text says what it shows (``plotting.describe_chart``:
        kind, title, axis labels, bars or series and their extremes), ``summary`` after it if given.

        Shown as an ``<img>`` of our own, not as the figure: nbconvert's page template reads no
        alt text from an image output and writes "No description has been provided" instead."""
        figure = getattr(ax_or_fig, "figure", ax_or_fig)
        translate_chart_words(figure)
        image, alt = chart_figure_html(figure, summary=summary or "")
        display({"text/html": image, "text/plain": alt}, raw=True)

    def save(self, frame: pd.DataFrame, name: str) -> Path:
        """Write a table for the teams as ``artifacts/<name>``, safe to open in Excel or WPS, its
        headers in the report's language unless ``team_csv_headers`` is ``en`` (``export.write_csv``)."""
        params = getattr(self, "params", None)  # a chapter made only to save and read has no parameters
        headers = params.team_csv_headers if params is not None else "en"
        return export.write_csv(frame, self.layout.artifacts / name, headers=headers)

    def glossary(self, entries: dict[str, str]) -> None:
        display(HTML(html_parts.glossary_html(entries)))

    def finish(self) -> None:
        """Write the chapter's findings for the index page and show the provenance of its numbers."""
        (self.layout.artifacts / f"findings_{self.name}.json").write_text(
            json.dumps(self.findings, indent=2, ensure_ascii=False), encoding="utf-8")
        (self.layout.artifacts / SECTIONS_FILE.format(chapter=self.name)).write_text(
            json.dumps(list(self.sections.values()), indent=2, ensure_ascii=False), encoding="utf-8")
        headings = {"source": t("Source"), "file": t("File"), "rows": t("Rows"), "sha256": t("SHA-256")}
        inputs = pd.DataFrame([
            {"source": item["source"], "file": Path(f["file"]).name, "rows": f["rows"], "sha256": f["sha256"][:16]}
            for item in self.log["inventory"] for f in item.get("files", [])
        ]).rename(columns=headings)
        versions = package_versions()
        summary = t("Quarter {quarter}; data as of {as_of}; git commit {commit}.", quarter=fmt_quarter(self.params.quarter),
                    as_of=fmt_date(self.log["as_of"]), commit=git_commit()[:12])
        title, folder = html.escape(t("Provenance of these numbers")), html.escape(t("Data folder:"))
        display(HTML(
            f"<details class='ci-provenance'><summary>{title}</summary>"
            f"<p>{html.escape(summary)}</p>"
            + html_parts.table_html(translate_values(inputs), caption=t("Input files (SHA-256, first 16 hex digits)"),
                                    max_rows=100)
            + html_parts.table_html(pd.DataFrame({t("Package"): list(versions), t("Version"): list(versions.values())}),
                                    caption=t("Software versions"), max_rows=100)
            # The data folder by its name only: the machine's folders are nobody's business.
            + f"<p>{folder} <code>{html.escape(Path(self.params.data_dir).name)}</code></p>"
            + "<pre>" + html.escape(self.params.model_dump_json(indent=1, exclude={"sources", "data_dir"}))
            + "</pre></details>"))


def _joined(items, either: bool = False) -> str:
    """``["orders", "surveys"]`` -> "orders and surveys"; with ``either``, "orders or surveys" (in the
    report's language)."""
    items = list(items)
    text = items[0]
    for item in items[1:]:
        text = (t("{first} or {second}", first=text, second=item) if either
                else t("{first} and {second}", first=text, second=item))
    return text


def _values(profile: dict, column: str) -> set[str] | None:
    """The values of a prepared column other than placeholders (None: too many to list)."""
    if profile["null_rate"].get(column, 1.0) >= 1.0:
        return set()
    values = profile["categories"].get(column)
    return None if values is None else set(values) - PLACEHOLDERS


def _has_values(profile: dict, column: str) -> bool:
    """A prepared column with at least one value other than a placeholder."""
    values = _values(profile, column)
    return values is None or bool(values)


def _traceback_lines(exc: BaseException, limit: int = 8) -> str:
    """The last frames of the error, with this machine's folders left out."""
    frames = exc.__traceback__.tb_next if exc.__traceback__ is not None else None  # not run_section's own
    text = "".join(traceback.format_exception(type(exc), exc, frames, limit=-limit))
    for folder in (str(paths.PROJECT_ROOT), str(Path.home())):
        text = text.replace(folder, "…")
    return text


def register_section_magic(chapter: Chapter) -> None:
    """``%%section <key>`` at the top of a notebook cell runs it as that section of ``chapter``."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the kernel
        return
    shell = get_ipython()
    if shell is None:
        return

    def section(line: str, cell: str) -> None:
        key, started = line.strip(), time.perf_counter()
        status = chapter.run_section(key, shell.transform_cell(cell), shell.user_ns)
        if chapter.progress_file is not None:
            record_section(chapter.progress_file, key, status, time.perf_counter() - started)

    shell.register_magic_function(section, "cell", "section")


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    return value


def open_chapter(name: str, quarter: str = "2026Q3", run_dir: str = "", params_file: str = "") -> Chapter:
    """Set up a chapter: parameters, prepared data (made on demand outside a report run), plot style."""
    chapter_spec(name)  # an unknown name is a ValueError listing the chapters
    if run_dir:
        layout = RunLayout(run_dir)
        params = read_resolved_params(layout)
    else:
        params = load_params(quarter=quarter, params_file=params_file or None)
        layout = work_layout(params)
    set_language(params.report_language, params.large_money_units)
    setup_style()
    pd.set_option("display.max_columns", 50)
    chapter = Chapter(name, params, layout)
    if run_dir:
        chapter.progress_file = section_file(run_dir, name)
    register_section_magic(chapter)
    return chapter
