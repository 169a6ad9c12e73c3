"""Words for readers: the one map of column names to labels, codes in words, numbers without exponents.

Tables, findings, notes, captions and glossaries all pass through here, so a column such as
``p_alive`` reads "Probability alive" in every chapter, a funnel step ``add_to_cart`` reads
"add to cart", a reason code ``INACTIVE_60D`` reads "no purchase for 60+ days" and ``1.304e+04``
reads "13,040". Names a reader may have to type (parameters, files) stay as written, in ``<code>``.
"""
from __future__ import annotations

import html
import math
import re
from functools import lru_cache

import pandas as pd

from helpers.report.i18n import t

# Words of a snake_case name that are written otherwise: acronyms and units.
WORD_LABELS = {
    "auc": "AUC", "nps": "NPS", "csat": "CSAT", "kpi": "KPI", "id": "ID", "clv": "CLV", "cac": "CAC", "crv": "CRV",
    "rfm": "RFM", "mae": "MAE", "rmse": "RMSE", "aov": "AOV", "ci": "CI", "sha256": "SHA-256", "n": "N",
    "p10": "P10", "p25": "P25", "p50": "P50", "p75": "P75", "p90": "P90", "qoq": "QoQ", "yoy": "YoY",
    "url": "URL", "ip": "IP",
}

# Column name -> label, where the words of the name alone would not say it (one map for every chapter).
COLUMN_LABELS = {
    "p_alive": "Probability alive",
    "p_alive_mean": "Mean probability alive",
    "expected_purchases_12m": "Expected purchases, 12 months",
    "clv": "CLV, 12 months",
    "clv_12m": "CLV, 12 months",
    "clv_total": "CLV total",
    "clv_mean": "CLV mean",
    "clv_min": "CLV min",
    "clv_max": "CLV max",
    "share_of_clv": "Share of CLV",
    "median_clv_12m": "Median CLV, 12 months",
    "clv_cac_ratio": "CLV / CAC",
    "cac_quarter": "CAC, quarter",
    "cac_trailing": "CAC, trailing",
    "mae_naive": "MAE, naive forecast",
    "n_customers": "Customers",
    "n_train": "Customers in training",
    "n_holdout": "Customers in holdout",
    "customers_without_cac": "Customers without CAC",
    "n_unique_rows": "Unique histories fitted",
    "revenue_in_window": "Purchase value before returns, last 365 days",
    "median_revenue_in_window": "Median purchase value before returns, last 365 days",
    "median_orders_in_window": "Median orders, last 365 days",
    "median_complaints_in_window": "Median complaints, last 365 days",
    "p_value": "p-value",
    "excess_p_value": "Excess p-value",
    "ci_low": "Interval low",
    "ci_high": "Interval high",
    "r_squared": "R²",
    "chi2": "Chi-square",
    "complaints_90d": "Complaints, last 90 days",
    "sessions_90d": "Sessions, last 90 days",
    "retention_30d": "30-day retention",
    "last_nps": "Last NPS answer",
    "last_csat": "Last CSAT answer",
    "reason_codes": "Reasons",
    "top_reasons": "Model's top reasons",
    "sha256": "SHA-256",
    "complaints_per_1000_orders": "Complaints per 1,000 orders",
    "benchmark_per_1000_orders": "Benchmark per 1,000 orders",
    "complaints_per_100_orders": "Complaints per 100 orders",
    "params": "Estimates",
}

# The at-risk list's reason codes (helpers.chapters.actions.reason_codes) in words.
CODE_LABELS = {
    "MODEL_SCORE_HIGH": "churn probability 70% or more",
    "MODEL_SCORE_ELEVATED": "churn probability 50-70%",
    "INACTIVE_60D": "no purchase for 60+ days",
    "COMPLAINT_90D": "a complaint in the last 90 days",
    "DETRACTOR": "detractor (last NPS answer 0-6)",
    "LOW_CSAT": "low CSAT (last answer 1-2)",
    "LOW_P_ALIVE": "probability alive below 50%",
}


# Labels made from column names (``reader_label``: the words of the name) that the report's tables
# show; listed so that the message catalogs translate them too (``catalog_messages``).
TABLE_LABELS = (
    "Rate", "Benchmark",
    "Above benchmark", "Above in last month", "Active at start", "Active customers lower", "Active customers upper",
    "Actual mean", "Actual purchases", "Added value per year", "All comments", "Amount", "Answered rate",
    "Antecedent", "Antecedent support", "Attribute", "Balanced", "Base rate", "Baskets", "Baskets with both",
    "Breached", "Brier score", "CSAT high", "CSAT low", "CSAT responses", "Calibration end", "Change in customers",
    "Check", "Chosen", "Churned", "Churner share", "Churners", "Churners with feedback", "Churners with reason",
    "Closest theme", "Cluster name", "Coefficient", "Columns mapped", "Comments", "Consequent", "Consequent support",
    "Consultations", "Converged", "Conversion", "Conversion from visit", "Counts as", "Coverage", "Cumulative share",
    "Current", "Current price", "Current product", "Customer ID", "Customers on it", "Customers previous",
    "Customers with the outcome", "Days since first order", "Deadline", "Decile", "Degrees of freedom", "Description",
    "Detractor share", "Detractors change", "Detractors previous", "Difference", "Dimension", "Direction",
    "Discounts", "Driver", "Effect measure", "Effect size", "Example", "Examples", "Expected complaints",
    "Expected order value", "Expected value", "Feedback share", "Field", "Files", "First order date",
    "First order value", "Frequency", "From", "Group", "Groups", "Holdout actual", "Holdout cutoff", "Holdout end",
    "Holdout error", "Holdout predicted", "Importance", "Inactivity days", "Inertia", "Kind", "Label", "Language",
    "Language name", "Last purchase date", "Least satisfied", "Level", "Lift", "Lift top decile", "List",
    "Longest run months", "Main category", "Main reason", "Margin", "Mean", "Mean CSAT score", "Mean orders",
    "Mean profit", "Mean resolution hours", "Mean revenue", "Mean score", "Median", "Median days",
    "Median days since first purchase", "Median days since last purchase", "Median days to churn",
    "Median first response hours", "Median profit", "Median resolution hours", "Method", "Metric", "Model",
    "Most satisfied", "NPS answers", "NPS change", "NPS high", "NPS low", "NPS previous", "NPS responses",
    "Net sentiment", "New customers lower", "New customers quarter", "New customers trailing", "New customers upper",
    "Not churned after 365 days", "Note", "Now", "Offer price", "Offer product", "Order lines", "Order pairs",
    "Order share", "Order value band", "Orders per customer", "Orders year before lapse", "Outcome", "P25 days",
    "P75 days", "P90 first response hours", "P90 resolution hours", "Penalizer", "Per customer", "Period", "Position",
    "Precision", "Precision top decile", "Predicted mean", "Predicted purchases", "Previous", "Previous comments",
    "Previous share", "Priority", "Product ID", "Product name", "Profit", "Profit per customer", "Purity", "Rank",
    "Ratio", "Reached", "Reading", "Reason", "Records in the raw files", "Relative error", "Repeat purchase rate",
    "Resolved", "Retained", "Retention", "Returns", "Revenue", "Revenue lower", "Revenue share", "Revenue upper",
    "Revenue year before lapse", "Rows kept", "Rows read", "Rows set aside", "Rule", "Rules", "Score", "Seconds",
    "Service cost", "Share", "Share change", "Share of active", "Share of customers", "Share of least",
    "Share of most", "Share of purchase value", "Share of revenue", "Share of similar", "Share reproduced",
    "Share unprofitable", "Significant", "Similar buyers", "Similar category buyers", "Spend", "Spend quarter",
    "Spend trailing", "Stayer share", "Stayers", "Stayers with feedback", "Suppressed", "Suppression",
    "Survey responses", "Table", "Tenure days", "Theme", "Theme agreement", "Tickets", "Top main category",
    "Top main category share", "Top region", "Top region share", "Top segment", "Top segment share", "Top terms",
    "Topic", "Tracking KPI", "Train cutoff", "Units in window", "Unprofitable customers", "Used", "User share",
    "Users", "Uses", "Uses per user", "Value", "Why", "Window days",
)

# Codes and words the report's tables show as values (forecast kinds, coverage, cleaning rules in
# words, funnel steps, ticket types, suppression); listed so that the catalogs translate them.
TABLE_VALUES = (
    "email", "name", "product view", "add to cart", "visit", "purchase", "price", "feature request",
    "product quality", "ease of use", "support responsiveness", "returns refunds", "trust", "respect",
    "complaint type", "survey", "complaint", "consultation", "secondary", "primary", "actual", "full", "partial",
    "forecast", "strategic", "important", "general", "read", "birth year missing", "merged duplicate customer",
    "exact duplicate", "non positive amount", "future date", "customer ID remapped",
)

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*")
# A snake_case word on its own: not part of a path, a file name or a dotted parameter name.
_SNAKE = re.compile(r"(?<![\w/.\-])([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+)(?![\w\-]|\.[A-Za-z0-9])")
_CODE_LIST = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*(?:\s*;\s*[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)*")
_FILE = re.compile(r"(?<![\w/.\-])((?:[\w.\-]+/)*[\w.\-]*[A-Za-z][\w.\-]*"
                   r"\.(?:csv|json|ya?ml|parquet|html|ipynb|txt|xlsx))\b")
_DOTTED = re.compile(r"(?<![\w/.\-])([a-z][a-z0-9_]*(?:\.[A-Za-z0-9_]+)+)(?![\w\-]|\.[A-Za-z0-9])")
_MONTH_SUFFIX = re.compile(r"([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*)_(\d{4}-\d{2})")
_SCIENTIFIC = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)[eE]([+-]\d+)\b")
_P_SCIENTIFIC = re.compile(r"\b(p\s*=\s*)(\d+(?:\.\d+)?[eE]-\d+)\b")


def words(token: str) -> str:
    """A code in words: ``"add_to_cart"`` -> ``"add to cart"``, ``"INACTIVE_60D"`` -> its label,
    an unknown ``"NEW_CODE"`` -> ``"new code"``; acronyms of ``WORD_LABELS`` in capitals."""
    if token in CODE_LABELS:
        return t(CODE_LABELS[token])
    if token.isupper():
        token = token.lower()
    return " ".join(WORD_LABELS.get(part.lower(), part) if part.islower() or part.isupper() else part
                    for part in token.split("_") if part)


def reader_label(name) -> str:
    """A column name for readers: ``COLUMN_LABELS``, else its words with the first letter in
    capitals (``"share_of_customers"`` -> ``"Share of customers"``, ``"rate_2026-07"`` -> ``"Rate
    2026-07"``). Words are kept as they are but for a lower-case first word (``"iPhone"`` stays), so
    labelling a label again changes nothing."""
    text = str(name)
    if text in COLUMN_LABELS:
        return t(COLUMN_LABELS[text])
    if _IDENTIFIER.fullmatch(text):
        label = words(text)
    elif _MONTH_SUFFIX.fullmatch(text):  # "rate_2026-07": a label and a month
        name, month = _MONTH_SUFFIX.fullmatch(text).groups()
        return f"{reader_label(name)} {month}"
    else:
        label = text.replace("_", " ")
    first = label.split(" ", 1)[0]
    if first.isascii() and first[:1].isalpha() and first == first.lower():  # "re-analyse", not "iPhone"
        label = label[:1].upper() + label[1:]
    return t(label)


def catalog_messages() -> list[str]:
    """The labels of this module's maps, for the message catalogs (``helpers.report.catalog``)."""
    return [*COLUMN_LABELS.values(), *CODE_LABELS.values(), *TABLE_LABELS, *TABLE_VALUES]


def for_readers(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """The frame with reader labels as column names and ``formats`` renamed to match; use as
    ``ch.show(*for_readers(frame, formats), caption=...)``."""
    names = {c: reader_label(c) for c in frame.columns}
    renamed = {names[c]: kind for c, kind in (formats or {}).items() if c in names}
    return frame.rename(columns=names), renamed


def plain_number(value: float) -> str:
    """A float in positional notation: from 1,000 up to the unit (``13040.0`` -> ``"13,040"``),
    below it to four significant digits (``1.81e-06`` -> ``"0.00000181"``, ``0.38979`` -> ``"0.3898"``)."""
    if not math.isfinite(value):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    rounded = float(f"{value:.4g}")
    if rounded == 0:
        return "0"
    decimals = max(0, 3 - math.floor(math.log10(abs(rounded))))
    text = f"{rounded:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def without_exponents(text: str) -> str:
    """Numbers in scientific notation rewritten: ``"v = 1.304e+04"`` -> ``"v = 13,040"``; a
    p-value ``"p = 1.81e-06"`` -> ``"p < 0.001"`` (smaller p-values are not told apart)."""
    text = _P_SCIENTIFIC.sub(lambda m: "p < 0.001" if float(m[2]) < 0.001 else m[1] + plain_number(float(m[2])), text)
    return _SCIENTIFIC.sub(lambda m: plain_number(float(m[0])), text)


def reader_value(text: str) -> str:
    """A table cell's text for readers: a code list ``"INACTIVE_60D;DETRACTOR"`` in words joined by
    "; ", snake_case values in words, numbers without exponents; file names stay as written."""
    stripped = text.strip()
    if _CODE_LIST.fullmatch(stripped) and ("_" in stripped or stripped in CODE_LABELS):
        return "; ".join(words(code.strip()) for code in stripped.split(";"))
    return _SNAKE.sub(lambda m: words(m[1]), without_exponents(text))


@lru_cache(maxsize=1)
def typed_names() -> frozenset[str]:
    """Names a reader types as they are: those of the parameters file (top level, chapter option
    keys and their fields), the canonical sources and their columns (``sources.<source>.columns``
    maps an export's columns to them)."""
    from helpers.data.schema import SOURCES
    from helpers.params import ChapterOptions, Params

    names = set(Params.model_fields) | set(SOURCES) | {c for source in SOURCES.values() for c in source.names}
    for name, spec in ChapterOptions.model_fields.items():
        names |= {name, spec.alias or name, *getattr(spec.annotation, "model_fields", {})}
    return frozenset(names)


def prose_html(text: str) -> str:
    """Escaped HTML of a sentence for readers. Names a reader types (``typed_names``: parameters
    such as ``churn_inactivity_days``, paths such as ``chapter_options.04_value.clv_holdout_max_error``
    or ``tickets.resolved_at``, canonical columns) and file names (``params/need_themes.yaml``) in
    ``<code>``; other codes in words (``exact_duplicate`` -> "exact duplicate"); numbers without exponents."""
    parameters = typed_names()
    pieces: list[str] = []
    position = 0
    spans = []
    for pattern in (_FILE, _DOTTED):
        for match in pattern.finditer(text):
            if pattern is _DOTTED and match[1].split(".", 1)[0] not in parameters:
                continue
            spans.append(match.span(1))
    for match in _SNAKE.finditer(text):
        if match[1] in parameters:
            spans.append(match.span(1))
    spans = _disjoint(spans)
    for start, end in spans:
        pieces.append(html.escape(reader_value(text[position:start]), quote=False))
        pieces.append(f"<code>{html.escape(text[start:end], quote=False)}</code>")
        position = end
    pieces.append(html.escape(reader_value(text[position:]), quote=False))
    return "".join(pieces)


def reader_text(text: str) -> str:
    """Plain text for readers (where no HTML can be used): codes in words except the names of
    ``typed_names`` and file names, numbers without exponents."""
    parameters = typed_names()
    return _SNAKE.sub(lambda m: m[1] if m[1] in parameters else words(m[1]), without_exponents(text))


def _disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans in order, each dropped that overlaps an earlier (longer first at the same start)."""
    kept: list[tuple[int, int]] = []
    for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept
