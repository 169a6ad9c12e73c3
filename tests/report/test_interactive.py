"""helpers.report.interactive on a small hand-made frame: traces, the menu, what an option
shows, the words, the static twin, and the HTML and script the report folder gets."""
import matplotlib

matplotlib.use("Agg")

import json  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402
from plotly.offline import get_plotlyjs  # noqa: E402

from helpers.paths import RunLayout  # noqa: E402
from helpers.report import interactive  # noqa: E402
from helpers.report.render import render_chapter  # noqa: E402

LABELS = {"title": "Net revenue by region per quarter", "x_title": "Quarter", "y_title": "Net revenue (¥)"}


@pytest.fixture
def revenue():
    # Three regions over two quarters; North's second quarter is suppressed (missing).
    return pd.DataFrame({
        "quarter": ["2026Q1", "2026Q1", "2026Q1", "2026Q2", "2026Q2", "2026Q2"],
        "region": ["East", "North", "West", "East", "North", "West"],
        "revenue": [1200.0, 300.0, 800.0, 1500.0, None, 700.0],
    })


def figure(frame, **kwargs):
    return interactive.group_figure(frame, "quarter", "revenue", "region", **{**LABELS, **kwargs})


def test_one_trace_per_group_with_its_values(revenue):
    fig = figure(revenue)
    assert [t.name for t in fig.data] == ["East", "North", "West"]
    assert list(fig.data[0].x) == ["2026Q1", "2026Q2"] and list(fig.data[0].y) == [1200.0, 1500.0]
    assert list(fig.data[1].y) == [300.0, None]  # the suppressed quarter is a gap, not a zero
    assert fig.layout.xaxis.type == "category" and list(fig.layout.xaxis.categoryarray) == ["2026Q1", "2026Q2"]
    assert fig.layout.title.text == "<b>Net revenue by region per quarter</b>"
    assert fig.layout.xaxis.title.text == "Quarter" and fig.layout.yaxis.title.text == "Net revenue (¥)"
    assert fig.layout.yaxis.exponentformat == "none"  # 1,500 not 1.5k or 1.5e3


def test_the_menu_has_all_and_each_group(revenue):
    (menu,) = figure(revenue).layout.updatemenus
    assert menu.type == "dropdown" and menu.active == 0
    assert [b.label for b in menu.buttons] == ["All", "East", "North", "West"]
    assert {b.method for b in menu.buttons} == {"restyle"}


def test_choosing_a_group_shows_exactly_its_trace(revenue):
    fig = figure(revenue)
    assert interactive.visible_groups(interactive.select(fig, "North")) == ["North"]
    assert interactive.visible_groups(interactive.select(fig, "West")) == ["West"]
    assert interactive.visible_groups(interactive.select(fig, "All")) == ["East", "North", "West"]
    (north,) = [b for b in fig.layout.updatemenus[0].buttons if b.label == "North"]
    assert north.args == ({"visible": [False, True, False]},)  # what Plotly.restyle receives in the browser
    assert interactive.visible_groups(fig) == ["East", "North", "West"]  # choosing left the figure as it was
    with pytest.raises(ValueError, match="no option 'South'"):
        interactive.select(fig, "South")


def test_shares_are_drawn_in_percent_and_empty_groups_left_out():
    rates = pd.DataFrame({"quarter": ["2026Q1", "2026Q2"] * 2, "segment": ["Large", "Large", "Small", "Small"],
                          "churn_rate": [0.25, 0.125, None, None]})
    fig = interactive.group_figure(rates, "quarter", "churn_rate", "segment", title="Churn", x_title="Quarter",
                                   y_title="Churned (%)", percent=True, decimals=1)
    assert [t.name for t in fig.data] == ["Large"]  # Small has no value in any quarter
    assert list(fig.data[0].y) == [25.0, 12.5]
    assert fig.layout.yaxis.ticksuffix == "%" and "%{y:,.1f}%" in fig.data[0].hovertemplate


def test_names_from_the_data_stay_text_and_bad_input_is_refused(revenue):
    hostile = revenue.replace({"North": "<a href='https://x.example'>North</a>"})
    fig = figure(hostile)
    assert fig.data[1].name == "&lt;a href='https://x.example'&gt;North&lt;/a&gt;"  # Plotly shows it as typed
    assert interactive.visible_groups(interactive.select(fig, "<a href='https://x.example'>North</a>")) == [
        "<a href='https://x.example'>North</a>"]
    with pytest.raises(ValueError, match="called 'All'"):
        figure(revenue.replace({"West": "All"}))
    with pytest.raises(ValueError, match="revenue"):
        figure(revenue.drop(columns="revenue"))
    with pytest.raises(ValueError, match="no group"):
        figure(revenue.assign(revenue=None))


def test_the_description_tells_the_lines_and_the_menu(revenue):
    fig = figure(revenue)
    assert interactive.describe_figure(fig) == (
        "Interactive line chart: Net revenue by region per quarter. X axis Quarter; y axis Net revenue (¥). "
        "3 lines (East, North, West); East from 1,200 at 2026Q1 to 1,500 at 2026Q2; North 300 at 2026Q1; "
        "West from 800 at 2026Q1 to 700 at 2026Q2; a menu above the chart shows all lines or the line of one region.")


def test_the_static_twin_draws_the_same_lines(revenue):
    ax = interactive.plot_groups(revenue, "quarter", "revenue", "region", **LABELS)
    assert [line.get_label() for line in ax.get_lines()] == ["East", "North", "West"]
    assert list(ax.get_lines()[0].get_ydata()) == [1200.0, 1500.0]
    assert ax.get_title() == LABELS["title"] and ax.get_ylabel() == "Net revenue (¥)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2026Q1", "2026Q2"]
    plt.close(ax.figure)


def test_chart_html_holds_both_charts_and_no_script_source(revenue):
    fig = figure(revenue.replace({"North": "<script>alert(1)</script>"}))
    page = interactive.chart_html(fig, interactive.plot_groups(revenue, "quarter", "revenue", "region", **LABELS))
    soup = BeautifulSoup(page, "html.parser")
    box = soup.select_one("div.ci-dual")
    assert box.has_attr(interactive.MARKER)
    assert box.select_one("figure.ci-static img")["src"].startswith("data:image/png;base64,")
    assert "3 lines (East, North, West)" in box.select_one("figure.ci-static img")["alt"]
    live = box.select_one("figure.ci-interactive")
    assert live["style"] == "display:none"  # shown by the script once Plotly has drawn it
    assert live["aria-label"].startswith("Interactive line chart: Net revenue by region per quarter.")
    spec = json.loads(live.select_one(".ci-plotly")["data-figure"])
    assert [t["name"] for t in spec["data"]] == ["East", "&lt;script&gt;alert(1)&lt;/script&gt;", "West"]
    assert spec["config"]["displaylogo"] is False and spec["config"]["showSendToCloud"] is False  # nothing uploads
    (script,) = soup.find_all("script")
    assert not script.get("src") and "alert" not in script.string  # the data is in an attribute, not in code
    assert box["id"] in script.string


def test_a_rendered_chapter_links_the_one_local_script(revenue, tmp_path):
    chart = interactive.chart_html(figure(revenue),
                                   interactive.plot_groups(revenue, "quarter", "revenue", "region", **LABELS))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "interactive.show(...)", outputs=[nbformat.v4.new_output("display_data", data={"text/html": chart,
                                                                                      "text/plain": "chart"})])])
    source = tmp_path / "01_overview.ipynb"
    nbformat.write(notebook, source)
    report = tmp_path / "report"
    report.mkdir()
    for page in ("01_overview.html", "02_needs.html"):  # two pages with charts, one script
        render_chapter(source, report / page, "01_overview", ["01_overview", "02_needs"], "Report")
        soup = BeautifulSoup((report / page).read_text(encoding="utf-8"), "html.parser")
        sources = [s["src"] for s in soup.find_all("script") if s.get("src")]
        assert sources == ["assets/plotly.min.js"], sources
        assert not [s for s in sources if "cdn" in s or "https://" in s or "http://" in s]
        assert "@media print{.ci-dual .ci-interactive{display:none!important}" in str(soup.head)
    script = interactive.script_path(RunLayout(report))
    assert script == report / "assets" / "plotly.min.js"
    assert script.read_text(encoding="utf-8") == get_plotlyjs()
    assert [p.name for p in (report / "assets").iterdir()] == ["plotly.min.js"]  # no partial file left


def test_a_page_without_an_interactive_chart_gets_no_script(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## A table only")])
    nbformat.write(notebook, tmp_path / "00_data_quality.ipynb")
    render_chapter(tmp_path / "00_data_quality.ipynb", tmp_path / "00_data_quality.html", "00_data_quality",
                   ["00_data_quality"], "Report")
    assert interactive.SCRIPT_SRC not in (tmp_path / "00_data_quality.html").read_text(encoding="utf-8")
    assert not (tmp_path / "assets").exists()


def test_the_script_is_written_once_and_a_broken_copy_replaced(tmp_path):
    layout = RunLayout(tmp_path)
    target = interactive.write_script(layout)
    first = target.stat().st_mtime_ns
    assert interactive.write_script(layout) == target and target.stat().st_mtime_ns == first  # left as it is
    target.write_text("truncated", encoding="utf-8")
    interactive.write_script(layout)
    assert target.stat().st_size == len(get_plotlyjs().encode("utf-8"))


def test_link_script_needs_a_head():
    assert interactive.link_script("<html><head></head><body></body></html>").count(interactive.SCRIPT_SRC) == 1
    with pytest.raises(ValueError, match="</head>"):
        interactive.link_script("<body></body>")
