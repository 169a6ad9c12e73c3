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
from importlib import metadata
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import HTML, display

from helpers import paths
from helpers.data.prepare import load_log, load_prepared, prepare
from helpers.facts import customer_facts
from helpers.params import Params, load_params
from helpers.paths import RunLayout
from helpers.quarters import Quarter
from helpers.report import display as html_parts
from helpers.report import export
from helpers.report.plotting import setup_style
from helpers.report.registry import chapter_spec

RESOLVED_PARAMS = "params.json"
RUN_INFO = "run.json"  # written by run_all: where this run's report folders live
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
        prepare(params, layout, progress=lambda message: print(f"preparing data: {message}", flush=True))
        marker.write_text(fingerprint)
    return layout


class Chapter:
    """A chapter's parameters, data and output helpers. Create it with ``open_chapter``."""

    def __init__(self, name: str, params: Params, layout: RunLayout):
        self.name, self.params, self.layout = name, params, layout
        self.period: Quarter = params.period
        self.seed: int = params.random_seed
        self.log: dict = load_log(layout)
        self.findings: list[dict] = []
        self._tables: dict[str, pd.DataFrame | None] = {}
        self._announced: set[str] = set()
        layout.artifacts.mkdir(parents=True, exist_ok=True)

    # data
    def has(self, source: str) -> bool:
        return source in self.log["available"]

    def table(self, source: str) -> pd.DataFrame | None:
        if source not in self._tables:
            self._tables[source] = load_prepared(self.layout, source) if self.has(source) else None
        return self._tables[source]

    def customer_facts(self, as_of) -> pd.DataFrame:
        """Each customer's facts as of the day ``as_of`` (one of ``customer_facts.report_days``),
        computed once by the preparation: one row per customer with an order line by then."""
        day, days = customer_facts.as_of_day(as_of), customer_facts.report_days(self.period)
        if day not in days:
            raise ValueError(f"no customer facts as of {day.date()}; the preparation computes them for "
                             f"{', '.join(str(d.date()) for d in days)}")
        facts = pd.read_parquet(self.layout.prepared / customer_facts.FACTS_FILE, filters=[("as_of", "==", day)])
        return facts.drop(columns="as_of").reset_index(drop=True)  # no rows before the first order line

    def available(self, *sources: str) -> bool:
        """True when every source is present; otherwise shows a one-line note and returns False."""
        missing = [s for s in sources if not self.has(s)]
        if missing:
            display(HTML(html_parts.note_html(f"Not available: needs {' and '.join(missing)} data.", "na")))
        return not missing

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
        """An artifact an earlier chapter of this run saved, with its values as saved (or None)."""
        path = self.layout.artifacts / name
        return export.read_csv(path) if path.exists() else None

    def artifacts_available(self, *names: str) -> bool:
        """True when earlier chapters of this run wrote every artifact; otherwise a one-line note."""
        missing = [n for n in names if not (self.layout.artifacts / n).exists()]
        if missing:
            display(HTML(html_parts.note_html(
                f"Not available: needs {', '.join(missing)} from an earlier chapter of this run.", "na")))
        return not missing

    # output
    def show(self, frame: pd.DataFrame, formats: dict[str, str] | None = None, caption: str | None = None,
             max_rows: int = 50, sortable: bool = False, index: bool = False) -> None:
        display(HTML(html_parts.table_html(frame, formats, caption, self.params.currency_symbol, max_rows,
                                           sortable, index)))

    def finding(self, text: str, **numbers) -> None:
        self.findings.append({"chapter": self.name, "text": text,
                              "numbers": {k: _plain(v) for k, v in numbers.items()}})
        display(HTML(html_parts.finding_html(text)))

    def note(self, text: str) -> None:
        display(HTML(html_parts.note_html(text)))

    def chart(self, ax_or_fig) -> None:
        figure = getattr(ax_or_fig, "figure", ax_or_fig)
        figure.tight_layout()
        display(figure)
        plt.close(figure)

    def save(self, frame: pd.DataFrame, name: str) -> Path:
        """Write a table for the teams as ``artifacts/<name>``, safe to open in Excel or WPS."""
        return export.write_csv(frame, self.layout.artifacts / name)

    def glossary(self, entries: dict[str, str]) -> None:
        display(HTML(html_parts.glossary_html(entries)))

    def finish(self) -> None:
        """Write the chapter's findings for the index page and show the provenance of its numbers."""
        (self.layout.artifacts / f"findings_{self.name}.json").write_text(
            json.dumps(self.findings, indent=2, ensure_ascii=False), encoding="utf-8")
        inputs = pd.DataFrame([
            {"source": item["source"], "file": Path(f["file"]).name, "rows": f["rows"], "sha256": f["sha256"][:16]}
            for item in self.log["inventory"] for f in item.get("files", [])
        ])
        versions = package_versions()
        display(HTML(
            "<details class='ci-provenance'><summary>Provenance of these numbers</summary>"
            f"<p>Quarter {self.params.quarter}; data as of {self.log['as_of']}; git commit {git_commit()[:12]}.</p>"
            + html_parts.table_html(inputs, caption="Input files (SHA-256, first 16 hex digits)", max_rows=100)
            + html_parts.table_html(pd.DataFrame({"package": list(versions), "version": list(versions.values())}),
                                    caption="Software versions", max_rows=100)
            + "<pre>" + html.escape(self.params.model_dump_json(indent=1, exclude={"sources"})) + "</pre></details>"))


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
    setup_style()
    pd.set_option("display.max_columns", 50)
    return Chapter(name, params, layout)
