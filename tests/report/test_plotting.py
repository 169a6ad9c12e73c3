import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers.report.plotting import available_cjk_fonts, label, new_axes, setup_style  # noqa: E402


def test_style_sets_cjk_fallback_after_the_default_font():
    setup_style()
    families = plt.rcParams["font.family"]
    assert families[0] == "DejaVu Sans"
    assert families[1:] == available_cjk_fonts()


def test_chinese_label_renders_without_missing_glyphs(recwarn):
    if not available_cjk_fonts():
        pytest.skip("no CJK font on this machine (make fonts installs one on Debian)")
    setup_style()
    ax = label(new_axes(), "华东 客户数", "月份", "客户数 (人)")
    ax.figure.canvas.draw()
    assert not [w for w in recwarn if "missing from font" in str(w.message)]
    plt.close(ax.figure)


def test_labels_from_data_are_never_parsed_as_mathtext(tmp_path):
    setup_style()
    labels = [r"$\alert{x}$", "50% $ off"]
    ax = new_axes()
    ax.bar(labels, [3, 5])
    ax.set_title(r"$\alert{x}$")
    ax.set_xlabel("50% $ off")
    ax.figure.savefig(tmp_path / "chart.png")   # with mathtext on, \alert raises a ValueError here
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
    texts = [*ax.get_xticklabels(), ax.title, ax.xaxis.label]
    assert [t.get_text() for t in texts] == [*labels, r"$\alert{x}$", "50% $ off"]
    assert not any(t.get_parse_math() for t in texts)   # drawn as written, dollar signs included
    plt.close(ax.figure)


# --- alt text: what a chart shows, read from what was drawn ------------------------------------
import base64  # noqa: E402
import html  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from helpers.report.chapter import Chapter  # noqa: E402
from helpers.report.plotting import describe_chart  # noqa: E402


def _described(ax) -> str:
    text = describe_chart(ax.figure)
    plt.close(ax.figure)
    return text


def test_a_bar_chart_is_told_with_its_title_axes_count_and_extremes():
    setup_style()
    ax = new_axes()
    ax.bar(["North", "South", "East"], [10, 30, 20])
    label(ax, "Customers by region", "Region", "Customers")
    assert _described(ax) == ("Bar chart: Customers by region. x axis Region; y axis Customers. "
                              "3 bars; highest South (30), lowest North (10).")


def test_grouped_bars_name_their_series_and_a_percent_axis_its_unit():
    setup_style()
    ax = new_axes()
    rows = np.arange(2)
    ax.barh(rows - 0.2, [50.0, 25.0], height=0.4, label="On record")
    ax.barh(rows + 0.2, [40.0, 35.5], height=0.4, label="Active")
    ax.set_yticks(rows, ["East China", "add_to_cart"])  # a code among the categories reads as words
    label(ax, "Share by region", "Share of customers (%)", "Region")
    assert _described(ax) == ("Horizontal bar chart: Share by region. x axis Share of customers (%); y axis Region. "
                              "4 bars in 2 series (On record, Active); highest On record, East China (50.0%), "
                              "lowest On record, add to cart (25.0%).")


def test_a_line_chart_tells_start_end_and_peak_and_leaves_out_guides_and_connectors():
    setup_style()
    ax = new_axes()
    ax.plot([0, 1, 2], [100, 150, 120], marker="o", label="Actual")
    ax.plot([2, 3], [120, 130], linestyle=":")  # unlabelled connector to the forecast
    ax.errorbar([3], [130], yerr=[[10], [20]], fmt="D", label="Forecast, 95% interval")
    ax.axhline(110, color="grey")  # a guide across the axes, not data
    ax.set_xticks(range(4), ["2026Q1", "2026Q2", "2026Q3", "2026Q4"])
    ax.legend()
    label(ax, "Revenue", "Quarter", "Revenue (¥)")
    assert _described(ax) == ("Line chart: Revenue. x axis Quarter; y axis Revenue (¥). 1 line (Actual); Actual from "
                              "100 at 2026Q1 to 120 at 2026Q3, peak 150 at 2026Q2. 1 estimate with intervals "
                              "(Forecast, 95% interval); 2026Q4 (130).")


def test_a_heatmap_is_told_by_its_rows_columns_and_value_range():
    setup_style()
    _, ax = plt.subplots()
    matrix = pd.DataFrame([[0.0, 12.5, 50.0], [5.0, np.nan, 25.0]], index=["2026-01", "2026-02"], columns=[1, 2, 3])
    sns.heatmap(matrix, cbar_kws={"label": "Share (%)"}, ax=ax)
    label(ax, "Retention", "Month", "Cohort")
    assert _described(ax) == ("Heatmap: Retention. Rows: 2 Cohort, 2026-01 to 2026-02; columns: 3 Month, 1 to 3; "
                              "values (Share (%)) from 0.0% to 50.0%.")


def test_estimates_with_intervals_and_a_twin_axis():
    setup_style()
    ax = new_axes()
    ax.errorbar([0.5, -1.2, 0.1], [0, 1, 2], xerr=[[0.1] * 3, [0.2] * 3], fmt="o")
    ax.set_yticks([0, 1, 2], ["Orders", "Complaints", "Region: North"])
    ax.axvline(0)
    label(ax, "Drivers", "Effect", "Term")
    assert _described(ax) == ("Dot chart: Drivers. x axis Effect; y axis Term. 3 estimates with intervals; "
                              "highest Orders (0.5), lowest Complaints (-1.2).")
    ax = new_axes()
    ax.bar(["a", "b"], [1, 2])
    right = ax.twinx()
    right.plot(["a", "b"], [5, 3], label="Hours")
    right.set_ylabel("Hours")
    label(ax, "Both", "Type", "Count")
    assert _described(ax) == ("Bar and line chart: Both. x axis Type; y axis Count; right axis Hours. 2 bars; "
                              "highest b (2), lowest a (1). 1 line (Hours); Hours from 5 at a to 3 at b.")


def test_numbers_in_a_description_have_no_exponent():
    setup_style()
    ax = new_axes()
    ax.plot([0, 1], [1.5e-5, 12345678.0], label="Revenue")
    ax.legend()
    label(ax, "Growth", "Step", "Revenue")
    assert _described(ax) == ("Line chart: Growth. x axis Step; y axis Revenue. 1 line (Revenue); Revenue from about 0 "
                              "at 0 to 12,345,678 at 1.")


def test_a_histogram_tells_its_bins():
    setup_style()
    ax = new_axes()
    ax.hist([1, 2, 2, 3, 3, 3], bins=[0.5, 1.5, 2.5, 3.5])
    label(ax, "Orders per customer", "Orders", "Customers")
    assert _described(ax) == ("Bar chart: Orders per customer. x axis Orders; y axis Customers. 3 bars; "
                              "highest 2.5 to 3.5 (3), lowest 0.5 to 1.5 (1).")


def test_a_chapter_chart_is_an_embedded_png_whose_alt_text_is_the_description(monkeypatch):
    shown = []
    monkeypatch.setattr("helpers.report.chapter.display", lambda obj, raw=False: shown.append(obj))
    setup_style()
    ax = new_axes()
    ax.bar(["North", "South"], [10, 30])
    label(ax, "Customers by region", "Region", "Customers")
    figure = ax.figure
    Chapter.chart(None, ax, summary="South has three times North's customers.")  # uses nothing of the chapter
    assert not plt.fignum_exists(figure.number)  # closed, so it is not shown a second time
    [bundle] = shown
    alt = ("Bar chart: Customers by region. x axis Region; y axis Customers. 2 bars; highest South (30), "
           "lowest North (10). South has three times North's customers.")
    assert bundle["text/plain"] == alt
    page = bundle["text/html"]
    assert f'alt="{html.escape(alt)}"' in page and "No description" not in page
    png = base64.b64decode(page.split('src="data:image/png;base64,')[1].split('"')[0])
    assert png.startswith(b"\x89PNG")


def test_a_heatmap_drawn_once_for_its_png_is_told_as_when_drawn_for_its_description():
    from helpers.report.plotting import chart_figure_html
    setup_style()
    _, ax = plt.subplots()
    sns.heatmap(pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], index=["2026-01", "2026-02"], columns=[1, 2]), ax=ax)
    label(ax, "Retention", "Month", "Cohort")
    image, alt = chart_figure_html(ax.figure, "ci-chart ci-static")
    assert alt == "Heatmap: Retention. Rows: 2 Cohort, 2026-01 to 2026-02; columns: 2 Month, 1 to 2; values from 1 to 4."
    assert image.startswith('<figure class="ci-chart ci-static"><img src="data:image/png;base64,')
    assert not plt.fignum_exists(ax.figure.number)
