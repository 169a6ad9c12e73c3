"""Words for readers: the one label map, codes in words, numbers without exponents."""
import pandas as pd

from helpers.chapters import behaviour, value
from helpers.report.labels import (
    COLUMN_LABELS,
    for_readers,
    plain_number,
    prose_html,
    reader_label,
    reader_text,
    reader_value,
    without_exponents,
    words,
)


def test_column_names_read_as_words_with_acronyms_and_the_map_first():
    assert reader_label("share_of_customers") == "Share of customers"
    assert reader_label("auc") == "AUC" and reader_label("mean_csat_score") == "Mean CSAT score"
    assert reader_label("p_alive") == COLUMN_LABELS["p_alive"] == "Probability alive"
    assert reader_label("rate_2026-07") == "Rate 2026-07" and reader_label("re-analyse when") == "Re-analyse when"
    # labels and words from the data stay as they are, so labelling twice changes nothing
    for label in ("Churn rate", "East China", "iPhone", "KPI", "CLV, 12 months"):
        assert reader_label(label) == label
        assert reader_label(reader_label(label)) == label


def test_the_chapters_use_the_one_map():
    frame, formats = for_readers(pd.DataFrame({"p_alive": [0.5], "churn_rate": [0.1], "n_customers": [3]}),
                                 {"p_alive": "pct", "missing": "int"})
    assert list(frame.columns) == ["Probability alive", "Churn rate", "Customers"]
    assert formats == {"Probability alive": "pct"}  # a format of a column not in the frame is dropped
    assert behaviour.for_readers is for_readers and value.for_readers is for_readers


def test_codes_in_words():
    assert words("add_to_cart") == "add to cart"
    assert words("INACTIVE_60D") == "no purchase for 60+ days"
    assert words("NEW_REASON_CODE") == "new reason code"
    assert words("nps_low") == "NPS low"
    assert reader_value("MODEL_SCORE_ELEVATED;INACTIVE_60D;DETRACTOR") == (
        "churn probability 50-70%; no purchase for 60+ days; detractor (last NPS answer 0-6)")
    assert reader_value("theme: product_quality") == "theme: product quality"
    assert reader_value("VADER") == "VADER"  # an acronym is not a code list
    files = "see params/need_themes.yaml or churn_scores.csv"
    assert reader_value(files) == files


def test_numbers_without_exponents():
    assert plain_number(13040.0) == "13,040"
    assert plain_number(1.81e-06) == "0.00000181"
    assert plain_number(0.38979) == "0.3898"
    assert plain_number(123456789.0) == "123,456,789"
    assert plain_number(float("inf")) == "–"
    assert without_exponents("v = 1.304e+04, x = -3.5e-05") == "v = 13,040, x = -0.000035"
    assert without_exponents("log-rank p = 1.81e-06") == "log-rank p < 0.001"
    assert without_exponents("p = 2e-03") == "p = 0.002"
    no_sign = "hash 1aad98e9b57c, 2026-09-30"  # no sign after the e: not a number
    assert without_exponents(no_sign) == no_sign


def test_prose_keeps_what_a_reader_types_as_code():
    assert prose_html("N = churn_inactivity_days; map tickets.resolved_at (sources.tickets.columns); <b>") == (
        "N = <code>churn_inactivity_days</code>; map <code>tickets.resolved_at</code> "
        "(<code>sources.tickets.columns</code>); &lt;b&gt;")
    assert prose_html("rule exact_duplicate in params/rfm_segments.yaml") == (
        "rule exact duplicate in <code>params/rfm_segments.yaml</code>")
    assert reader_text("rule exact_duplicate, N = churn_inactivity_days, p = 1.81e-06") == (
        "rule exact duplicate, N = churn_inactivity_days, p < 0.001")
