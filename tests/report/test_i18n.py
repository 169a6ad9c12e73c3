"""The report's language: catalogs, templates and the Chinese reporting conventions of numbers and dates."""
import json

import pandas as pd
import pytest

from helpers.params import load_params
from helpers.report import catalog, i18n
from helpers.report.fmt import fmt_date, fmt_int, fmt_money, fmt_num, fmt_pct, fmt_pp, fmt_quarter, top_of


@pytest.fixture
def chinese():
    i18n.set_language("zh-CN")
    yield
    i18n.set_language("en")


def test_language_names_are_normalised_and_unknown_ones_name_the_catalogs():
    assert i18n.normalise_language("English") == "en"
    assert i18n.normalise_language("zh_cn") == "zh-CN"
    assert i18n.available_languages() == ["en", "zh-CN"]
    with pytest.raises(ValueError, match="'fr' has no message catalog; offered: en, zh-CN"):
        i18n.normalise_language("fr")


def test_the_parameter_accepts_the_old_english_spelling_and_a_cli_override():
    assert load_params(quarter="2026Q3").report_language == "en"
    assert load_params(quarter="2026Q3", report_language="zh-CN").report_language == "zh-CN"


def test_english_formats_are_unchanged_by_the_catalogs():
    assert i18n.current_language() == "en"
    assert fmt_money(18_825_102) == "¥18,825,102" and fmt_money(-1234.5) == "-¥1,234"
    assert fmt_pp(0.012) == "+1.2 pp" and fmt_quarter("2026Q3") == "2026Q3" and fmt_date("2026-11-14") == "2026-11-14"
    assert top_of(15, 1488, "lapsed customers") == "Top 15 of 1,488 lapsed customers"
    assert fmt_date(pd.Timestamp("2026-11-14 13:45")) == "2026-11-14"  # a timestamp is shown as its day


def test_chinese_conventions(chinese):
    # 18,825,102 = 1,882.5102 万 -> two decimals; below 10,000 the amount is written in full.
    assert fmt_money(18_825_102) == "1882.51万元"
    assert fmt_money(123_456_789) == "1.23亿元"
    assert fmt_money(-1234.5) == "-1,234元"
    assert fmt_money(2500, "$", decimals=2) == "$2,500.00"  # other currencies keep their symbol
    assert fmt_pp(0.012) == "+1.2个百分点"
    assert fmt_quarter("2026Q3") == "2026年第3季度"
    assert fmt_date("2026-11-14") == "2026年11月14日"
    assert fmt_int(1_234_567) == "1,234,567" and fmt_num(1234.56) == "1,234.6" and fmt_pct(0.123) == "12.3%"


def test_large_money_units_can_be_turned_off():
    i18n.set_language("zh-CN", large_money_units=False)
    try:
        assert fmt_money(18_825_102) == "18,825,102元"
    finally:
        i18n.set_language("en")


def test_a_template_puts_its_placeholders_in_the_catalogs_order(chinese):
    # "Top {shown} of {total} {noun}" -> "{noun}共{total}个，显示前{shown}个": the parts move, none is lost.
    assert top_of(15, 1488, "customers") == "客户共1,488个，显示前15个"  # the noun from the catalog too


def test_every_message_the_code_uses_is_in_every_catalog_and_no_entry_is_unused():
    used = catalog.used_messages()
    assert "{points} pp" in used and "report/fmt.py" in used["{points} pp"][0]
    for language in i18n.available_languages()[1:]:
        result = catalog.check(language, used)
        assert result.ok, json.dumps(result.__dict__, ensure_ascii=False, indent=1)[:3000]


def test_the_check_finds_missing_unused_and_misplaced_entries(tmp_path, monkeypatch):
    po = tmp_path / "xx" / "LC_MESSAGES" / "report.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Language: xx\\n"\n\n'
                  'msgid "{n} customers"\nmsgstr "{count} клиентов"\n\n'
                  'msgid "Old sentence"\nmsgstr "Старое"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    result = catalog.check("xx", {"{n} customers": ["a.py:1"], "New sentence": ["b.py:2"]})
    assert result.missing == ["New sentence"]
    assert result.unused == ["Old sentence"]
    assert result.bad_placeholders == ["{n} customers"]
    assert not result.ok


def test_the_scorecard_reads_in_chinese_with_the_executive_translations(tmp_path, monkeypatch):
    import shutil

    import pandas as pd

    from helpers.report.executive import scorecard_html

    # A copy of the catalogs with the executive page's translations merged (as from the translators' JSON).
    shutil.copytree(i18n.LOCALE_DIR, tmp_path / "locale")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    i18n.messages.cache_clear()
    assert catalog.merge("zh-CN", {"This quarter": "本季度", "Status": "状态", "✓ met": "✓ 达标", "✗ not met": "✗ 未达标",
                                   "KPIs, {quarter}, against {previous} and {year_ago}":
                                       "KPI：{quarter}，对比{previous}和{year_ago}"}) == 5
    kpis = pd.DataFrame({"metric": ["revenue", "active_customers"], "label": ["收入", "活跃客户数"],
                         "value": [18_825_102.0, 1859.0], "unit": ["money", "count"], "qoq_change": [0.067, 0.06],
                         "yoy_change": [0.468, 0.452], "target": [18_000_000.0, 2000.0], "met": [True, False]})
    i18n.set_language("zh-CN")
    try:
        page = scorecard_html(kpis, "¥", "2026Q3")
    finally:
        i18n.set_language("en")
        i18n.messages.cache_clear()  # the real catalog again for the tests after this one
    assert "<th class='num'>本季度</th>" in page and "<th>状态</th>" in page
    assert "<caption>KPI：2026年第3季度，对比2026年第2季度和2025年第3季度</caption>" in page
    # 18,825,102 yuan = 1,882.5102 万 -> "1882.51万元"; met -> "✓ 达标", 1,859 below 2,000 -> "✗ 未达标".
    assert "<td class='num'>1882.51万元</td>" in page and "<td class='ci-met'>✓ 达标</td>" in page
    assert "<td class='ci-missed'>✗ 未达标</td>" in page


def _t_calls_inside_fstrings(source: str) -> list[str]:
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            for inner in ast.walk(node):
                if (isinstance(inner, ast.Call) and getattr(inner.func, "id", "") == "t" and inner.args
                        and isinstance(inner.args[0], ast.Constant)):  # t(variable) looks up a value, not a template
                    found.append(ast.unparse(inner)[:80])
    return found


def test_no_template_hides_inside_an_f_string_where_the_extractor_cannot_see_it():
    # Babel's extractor reads t("...") calls, but not those inside an f-string's {...}: such a
    # sentence would never reach the catalogs, and the check above would not notice.
    import nbformat

    from helpers import paths

    hidden = {}
    for module in catalog.SOURCE_DIR.rglob("*.py"):
        hidden.update({f"{module.name}: {call}": 1 for call in _t_calls_inside_fstrings(module.read_text("utf-8"))})
    for notebook in paths.NOTEBOOKS_DIR.glob("*.ipynb"):
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type == "code":
                code = "\n".join("" if line.startswith("%") else line for line in cell.source.splitlines())
                hidden.update({f"{notebook.name}: {call}": 1 for call in _t_calls_inside_fstrings(code)})
    assert not hidden, list(hidden)
    assert _t_calls_inside_fstrings('x = f"a {t(\'b\')}"') == ["t('b')"]


def test_chart_categories_and_legends_from_the_catalog(chinese):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    ax.bar(["Large enterprise", "Individual", "East China"], [1, 2, 3])
    ax.plot([0, 1], [1, 2], label="Unknown")
    ax.legend()
    figure.tight_layout()  # draws the figure: the tick labels exist
    i18n.translate_chart_words(figure)
    # segment names and "Unknown" are catalog entries; a region from the data is not
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["大型企业", "个人客户", "East China"]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["未知"]
    plt.close(figure)
