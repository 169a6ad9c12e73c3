import pandas as pd
import pytest

from helpers.report.display import finding_html, table_html
from helpers.report.fmt import fmt_change, fmt_int, fmt_money, fmt_pct, fmt_pp


def test_formatters():
    assert fmt_int(1234567.4) == "1,234,567"
    assert fmt_money(-1234.4, "¥") == "-¥1,234"
    assert fmt_money(2500, "$", decimals=2) == "$2,500.00"
    assert fmt_pct(0.1234) == "12.3%"
    assert fmt_pp(-0.012) == "-1.2 pp"
    assert fmt_change(0.05) == "+5.0%"
    assert fmt_int(float("nan")) == "–"


def test_table_escapes_data_and_formats_numbers():
    frame = pd.DataFrame({"product": ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"],
                          "revenue": [1234.5, 99.0], "share": [0.5, 0.25]})
    html = table_html(frame, formats={"revenue": "money", "share": "pct"})
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html
    assert ">¥1,234<" in html
    assert "50.0%" in html and 'data-value="0.25"' in html


def test_unknown_format_and_column_are_errors():
    with pytest.raises(ValueError, match="not in the table"):
        table_html(pd.DataFrame({"a": [1]}), formats={"b": "int"})
    with pytest.raises(ValueError, match="unknown format"):
        table_html(pd.DataFrame({"a": [1]}), formats={"a": "percent"})


def test_finding_is_escaped():
    assert finding_html("<b>x</b>") == '<p class="ci-finding"><strong>Finding.</strong> &lt;b&gt;x&lt;/b&gt;</p>'


def test_missing_values_of_every_kind_show_as_a_dash():
    import numpy as np

    for missing in (None, float("nan"), np.nan, pd.NA, pd.NaT):
        assert fmt_int(missing) == "–" and fmt_pct(missing) == "–" and fmt_money(missing) == "–"
    table = table_html(pd.DataFrame({"n": pd.array([1, None], dtype="Int64")}), formats={"n": "int"})
    assert '<td class="num">–</td>' in table  # a dash aligned with the numbers, no data-value to sort by


# --- what a reader sees: words, yes / no, no exponents, tables that fit ------------------------
from helpers.report.display import glossary_html, note_html  # noqa: E402
from helpers.report.fmt import fmt_p, top_of  # noqa: E402


def _cells(table: str) -> list[str]:
    import re

    return re.findall(r"<td[^>]*>(.*?)</td>", table)


def _heads(table: str) -> list[str]:
    import re

    return re.findall(r"<th(?: [^>]*)?>(.*?)</th>", table)


def test_booleans_read_yes_or_no_even_in_a_column_with_gaps():
    frame = pd.DataFrame({"suppressed": [True, False], "significant": pd.Series([True, None], dtype=object)})
    assert _cells(table_html(frame)) == ["yes", "yes", "no", "–"]


def test_headers_come_from_the_one_label_map_and_a_label_stays_as_it_is():
    frame = pd.DataFrame({"share_of_customers": [0.5], "p_alive": [0.9], "Churn rate": [0.1], "nps": [20.0],
                          "customer_id": ["C1"]})
    assert _heads(table_html(frame)) == ["Share of customers", "Probability alive", "Churn rate", "NPS", "Customer ID"]


def test_codes_read_as_words_but_ids_and_file_names_as_written():
    frame = pd.DataFrame({"customer_id": ["C_0001"], "product id": [1234567], "step": ["add_to_cart"],
                          "reason_codes": ["MODEL_SCORE_HIGH;INACTIVE_60D"], "source": ["see win_back.csv"]})
    assert _cells(table_html(frame)) == ["C_0001", "1234567", "add to cart",
                                         "churn probability 70% or more; no purchase for 60+ days", "see win_back.csv"]


def test_no_number_is_shown_in_scientific_notation():
    frame = pd.DataFrame({"params": ["r = 0.3898, v = 1.304e+04"], "mixed": pd.Series([1.304e4], dtype=object),
                          "tiny": [1.81e-06], "p_value": [1.81e-06]})
    cells = _cells(table_html(frame, formats={"p_value": "pvalue"}))
    assert cells == ["r = 0.3898, v = 13,040", "13,040", "0.00", "&lt; 0.001"]


def test_p_values_below_the_last_decimal_are_told_as_such():
    assert fmt_p(0.0123) == "0.012" and fmt_p(0.0004) == "< 0.001" and fmt_p(0.001) == "0.001"
    assert fmt_p(float("nan")) == "–"


def test_a_cut_table_says_how_many_rows_are_shown_and_names_the_csv_only_when_there_is_one():
    frame = pd.DataFrame({"n": range(12)})
    assert 'Showing the first 10 of 12 rows.</p>' in table_html(frame, max_rows=10)
    named = table_html(frame, max_rows=10, full_table="churn_scores.csv")
    assert "Showing the first 10 of 12 rows; all 12 are in <code>churn_scores.csv</code>.</p>" in named
    assert "Showing" not in table_html(frame, max_rows=12)
    with pytest.raises(ValueError, match="max_rows must be at least 1"):
        table_html(frame, max_rows=0)


def test_tables_scroll_in_their_own_box_and_long_text_columns_are_marked_wide():
    reasons = "one order every 13 months since the first purchase; no web/app session in 90 days"  # 82 characters
    frame = pd.DataFrame({"customer_id": ["C1"], "segment": ["Medium enterprise"], "reasons": [reasons],
                          "note": ["a short note but longer than 28"], "churn_probability": [0.91]})
    table = table_html(frame, formats={"churn_probability": "pct"})
    assert table.startswith('<div class="ci-table-wrap"><table class="ci-table">') and table.endswith("</div>")
    assert '<td class="ci-nowrap">Medium enterprise</td>' in table
    assert f'<td class="ci-wrap ci-long">{reasons}</td>' in table
    assert '<th class="ci-wrap ci-long">Reasons</th>' in table
    assert '<td class="ci-wrap">a short note but longer than 28</td>' in table
    assert '<td class="num" data-value="0.91">91.0%</td>' in table
    wide = table_html(pd.DataFrame({f"c{i}": [i] for i in range(10)}))
    assert 'class="ci-table ci-many-columns"' in wide  # ten columns: a smaller print font


def test_findings_notes_and_glossaries_show_parameters_as_code_and_codes_as_words():
    text = ("The largest rule is exact_duplicate; N = churn_inactivity_days; most common MODEL_SCORE_ELEVATED; "
            "p = 1.81e-06.")
    assert finding_html(text) == ('<p class="ci-finding"><strong>Finding.</strong> The largest rule is exact '
                                  'duplicate; N = <code>churn_inactivity_days</code>; most common churn probability '
                                  '50-70%; p &lt; 0.001.</p>')
    assert note_html("allowed (chapter_options.04_value.clv_holdout_max_error)") == (
        '<p class="ci-note">allowed (<code>chapter_options.04_value.clv_holdout_max_error</code>)</p>')
    glossary = glossary_html({"Need theme": "Keywords of params/need_themes.yaml.", "Target": "From kpi_targets."})
    assert glossary.count("Glossary") == 1
    assert "<dd>Keywords of <code>params/need_themes.yaml</code>.</dd>" in glossary
    assert "<dd>From <code>kpi_targets</code>.</dd>" in glossary


def test_a_caption_count_stays_true():
    assert top_of(15, 1488, "lapsed customers") == "Top 15 of 1,488 lapsed customers"
    assert top_of(15, 10, "at-risk high-value customers") == "All 10 at-risk high-value customers"
    assert top_of(15, 15, "customers") == "All 15 customers"
    assert top_of(15, 1, "lapsed customers") == "The one lapsed customer"
    assert top_of(15, 0, "lapsed customers") == "No lapsed customers"
    with pytest.raises(ValueError, match="must not be negative"):
        top_of(-1, 3, "customers")
    caption = table_html(pd.DataFrame({"n": [1]}), caption=top_of(15, 10, "customers"))
    assert "<caption>All 10 customers</caption>" in caption


def test_a_not_available_line_is_shown_word_for_word():
    line = "Not available: the tickets data has no product_id values; map a column to tickets.product_id."
    assert note_html(line, "na") == f'<p class="ci-na">{line}</p>'  # as in the run's section list
    assert note_html(line) == ('<p class="ci-note">Not available: the tickets data has no <code>product_id</code> '
                               'values; map a column to <code>tickets.product_id</code>.</p>')
