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
    assert "<td>–</td>" in table
