"""The index page: the executive block first, then the chapters, the data scope and the files."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from bs4 import BeautifulSoup

from helpers.paths import RunLayout
from helpers.report import export
from helpers.report.render import render_index


def test_index_opens_with_the_executive_block(tmp_path):
    layout = RunLayout(tmp_path).make()
    kpis = pd.DataFrame({"metric": ["revenue", "nps"], "label": ["Revenue (net)", "Net Promoter Score"],
                         "value": [1200.0, 20.0], "unit": ["money", "points"], "qoq_change": [0.2, np.nan],
                         "yoy_change": [np.nan, np.nan], "target": [1000.0, np.nan], "met": [True, None],
                         "coverage": ["full", "full"], "not_compared": ["", "2026Q2 is not in the surveys data"]})
    export.write_csv(kpis, layout.artifacts / "kpi_overview.csv")
    export.write_csv(pd.DataFrame({"priority": [1], "problem": ["KPI below target: NPS"], "action": ["Call back"],
                                   "owner": ["Customer service"], "deadline": ["2026-11-14"]}),
                     layout.artifacts / "actions.csv")
    (layout.artifacts / "findings_01_overview.json").write_text(json.dumps([{"text": "Revenue rose."}]), encoding="utf-8")
    # Revenue 1,000 then 1,200: the sparkline runs from the bottom left to the top right.
    trend = pd.DataFrame({"revenue": [1000.0, 1200.0], "nps": [np.nan, 20.0]}, index=["2026Q2", "2026Q3"])
    steps = [{"name": "01_overview", "status": "ok", "seconds": 1.0, "sections_summary": "ok"}]
    path = render_index(tmp_path, "Report · 2026Q3", "Demo", [("Quarter", "2026Q3")], steps, ["01_overview"], [],
                        quarter="2026Q3", currency="¥", kpi_trend=trend)
    page = path.read_text(encoding="utf-8")
    text = BeautifulSoup(page, "html.parser").get_text(" ")
    headings = [h.get_text() for h in BeautifulSoup(page, "html.parser").find_all("h2")]
    assert headings[:4] == ["The quarter at a glance", "Main stories of the quarter", "Top actions", "Chapters"]
    assert headings.index("Data scope") > headings.index("Chapters")
    assert "▲ +20.0%" in text and "✓ met" in text and "not compared" in text and "– no target" in text
    assert "points='3.0,25.0 117.0,3.0'" in page   # default 120 x 28 with 3 px padding
    assert "Revenue rose." in text and "<a href='artifacts/actions.csv'><code>actions.csv</code></a>" in page
