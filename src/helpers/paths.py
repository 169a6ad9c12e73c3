"""The one place that knows where things live. Nothing else builds paths from literals."""
from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
PARAMS_DIR = PROJECT_ROOT / "params"
DEFAULT_PARAMS_FILE = PARAMS_DIR / "default.yaml"
DEMO_PARAMS_FILE = PARAMS_DIR / "demo.yaml"  # the demo company's own parameters (its KPI targets)
DATA_DIR = PROJECT_ROOT / "data"
DEMO_DATA_DIR = DATA_DIR / "demo"
# Where a notebook opened on its own (not by run_all) keeps its prepared data.
WORK_DIR = DATA_DIR / "work"
OUTPUTS_DIR = PROJECT_ROOT / "outputs"


def quarter_params_file(quarter: str) -> Path:
    """The optional per-quarter parameters file merged over the defaults."""
    return PARAMS_DIR / f"{quarter}.yaml"


def notebook_path(chapter: str) -> Path:
    return NOTEBOOKS_DIR / f"{chapter}.ipynb"


def resolve(path: str | Path, base: Path = PROJECT_ROOT) -> Path:
    """A path from a parameters file: absolute as given, otherwise relative to the project."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else (base / path)


# A report folder is what a reviewer receives: the pages, report.pdf and artifacts/ (the
# teams' CSVs and the chapters' aggregate tables). Everything else of the run sits in this
# subfolder for the analyst, and no page links into it: the executed notebooks (they hold the
# code), the prepared tables and quarantine files (row-level data), customer-level tables other
# than the teams' lists, the manifest and the run's parameters.
ANALYST_DIR = "analyst"
# The customer lists meant for the teams (chapter 05's action lists: customer ids and reasons,
# no personal data). Every other table with a customer_id column is kept for the analyst.
TEAM_LISTS = ("at_risk_high_value.csv", "win_back.csv", "cross_sell.csv", "onboarding.csv")
REPORT_PDF = "report.pdf"


class RunLayout:
    """The folders of one report run (``outputs/<quarter>/<date>/`` or a notebook's work dir).

    ``root`` is the folder to share; ``analyst`` the subfolder kept for the analyst.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def analyst(self) -> Path:
        return self.root / ANALYST_DIR

    @property
    def prepared(self) -> Path:
        return self.analyst / "prepared"

    @property
    def artifacts(self) -> Path:
        """Where the chapters write their tables; the shared ones stay here when the run ends."""
        return self.root / "artifacts"

    @property
    def analyst_artifacts(self) -> Path:
        """Customer-level tables of the chapters other than ``TEAM_LISTS``, moved here when the run ends."""
        return self.analyst / "artifacts"

    @property
    def quarantine(self) -> Path:
        return self.analyst / "quarantine"

    @property
    def notebooks(self) -> Path:
        return self.analyst / "notebooks"

    @property
    def manifest(self) -> Path:
        return self.analyst / "manifest.json"

    @property
    def index_html(self) -> Path:
        return self.root / "index.html"

    @property
    def pdf(self) -> Path:
        return self.root / REPORT_PDF

    def chapter_html(self, chapter: str) -> Path:
        return self.root / f"{chapter}.html"

    def artifact(self, name: str) -> Path:
        """An artifact of a finished report: in ``artifacts/`` if shared, else in the analyst's."""
        shared = self.artifacts / name
        return shared if shared.exists() else self.analyst_artifacts / name

    def make(self) -> "RunLayout":
        for folder in (self.prepared, self.artifacts, self.quarantine, self.notebooks):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def latest_report(out_root: Path, quarter: str) -> Path | None:
    """The newest complete report folder of ``quarter`` (``<date>`` or ``<date>-<n>``), if any."""
    quarter_dir = Path(out_root) / quarter
    if not quarter_dir.is_dir():
        return None
    reports = [p for p in quarter_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "index.html").exists()]
    if not reports:
        return None

    def key(folder: Path) -> tuple[str, int]:
        day = folder.name[:10]
        suffix = folder.name[11:]
        return day, int(suffix) if suffix.isdigit() else 1

    return max(reports, key=key)
