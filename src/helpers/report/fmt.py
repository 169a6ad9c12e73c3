"""Numbers, money, dates and quarters formatted for readers in the report's language.

English keeps its own forms (``1,234``, ``¥1,235``, ``+1.2 pp``, ``2026Q3``). Other languages take
their forms from Babel (CLDR) and their words from the message catalog: in Simplified Chinese
``+1.2个百分点``, ``2026年第3季度``, ``2026年11月14日``, and money in 元 with 万 / 亿 for large
amounts (``1882.51万元``) unless ``large_money_units`` is off.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from helpers.report import i18n
from helpers.report.i18n import t

YUAN_SYMBOLS = {"¥", "￥", "元", "CNY", "RMB"}


def _missing(value) -> bool:
    """None, NaN, NaT and pd.NA are missing (shown as a dash)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-likes are not a single missing value
        return False


def _english() -> bool:
    return i18n.current_language() == i18n.ENGLISH


def _decimal(value: float, decimals: int) -> str:
    """A number with grouping in the report's locale."""
    if _english():
        return f"{value:,.{decimals}f}"
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=i18n.babel_locale(), decimal_quantization=True)


def fmt_int(value) -> str:
    """``1234.4`` -> ``'1,234'``."""
    return "–" if _missing(value) else _decimal(round(float(value)), 0)


def fmt_num(value, decimals: int = 1) -> str:
    """``1234.56, 1`` -> ``'1,234.6'``."""
    return "–" if _missing(value) else _decimal(float(value), decimals)


def fmt_money(value, symbol: str = "¥", decimals: int = 0) -> str:
    """``-1234.5`` -> ``'-¥1,235'``; in Chinese ``'-1,235元'``, and ``'1882.51万元'`` for 18,825,102."""
    if _missing(value):
        return "–"
    sign = "-" if float(value) < 0 else ""
    amount = abs(float(value))
    if _english():
        return f"{sign}{symbol}{amount:,.{decimals}f}"
    if symbol in YUAN_SYMBOLS:
        if i18n.large_money_units() and amount >= 10_000:
            from babel.numbers import format_compact_decimal

            return sign + t("{amount} yuan", amount=format_compact_decimal(
                amount, locale=i18n.babel_locale(), fraction_digits=2))
        return sign + t("{amount} yuan", amount=_decimal(amount, decimals))
    return f"{sign}{symbol}{_decimal(amount, decimals)}"


def fmt_pct(value, decimals: int = 1) -> str:
    """A share: ``0.1234`` -> ``'12.3%'``."""
    return "–" if _missing(value) else f"{100 * float(value):.{decimals}f}%"


def fmt_change(value, decimals: int = 1) -> str:
    """A relative change with its sign: ``0.05`` -> ``'+5.0%'``."""
    return "–" if _missing(value) else f"{100 * float(value):+.{decimals}f}%"


def fmt_pp(value, decimals: int = 1) -> str:
    """A change of a share in percentage points: ``0.012`` -> ``'+1.2 pp'``."""
    if _missing(value):
        return "–"
    return t("{points} pp", points=f"{100 * float(value):+.{decimals}f}")


def fmt_p(value, decimals: int = 3) -> str:
    """A p-value: ``0.0123`` -> ``'0.012'``; below the last decimal ``'< 0.001'``, never ``'0.000'``."""
    if _missing(value):
        return "–"
    floor = 10.0 ** -decimals
    return f"< {floor:.{decimals}f}" if float(value) < floor else f"{float(value):.{decimals}f}"


def top_of(shown: int, total: int, noun: str) -> str:
    """A caption's count that stays true: ``(15, 1488, "lapsed customers")`` -> ``'Top 15 of 1,488
    lapsed customers'``; when the table holds them all, ``(15, 10, ...)`` -> ``'All 10 ...'``
    (one: ``'The one lapsed customer'``, none: ``'No lapsed customers'``)."""
    if shown < 0 or total < 0:
        raise ValueError(f"counts must not be negative, got shown={shown}, total={total}")
    if not _english():
        noun = t(noun)
        if total == 0:
            return t("No {noun}", noun=noun)
        if total <= shown:
            return t("All {total} {noun}", total=fmt_int(total), noun=noun)
        return t("Top {shown} of {total} {noun}", shown=fmt_int(shown), total=fmt_int(total), noun=noun)
    if total == 0:
        return f"No {noun}"
    if total <= shown:
        return f"All {total:,} {noun}" if total != 1 else f"The one {_singular(noun)}"
    return f"Top {shown:,} of {total:,} {noun}"


def _singular(noun: str) -> str:
    """``'lapsed customers'`` -> ``'lapsed customer'`` (the last word without its plural s)."""
    head, _, last = noun.rpartition(" ")
    last = last[:-1] if last.endswith("s") and not last.endswith("ss") else last
    return f"{head} {last}".strip()


def fmt_quarter(quarter) -> str:
    """``2026Q3`` in English; ``2026年第3季度`` in Chinese (the catalog's form of a quarter)."""
    from helpers.quarters import Quarter

    quarter = Quarter.parse(quarter)
    return str(quarter) if _english() else t("{year}Q{quarter}", year=quarter.year, quarter=quarter.q)


def fmt_date(value) -> str:
    """``2026-11-14`` in English (ISO, as the report has always shown dates); ``2026年11月14日`` in Chinese."""
    if _missing(value):
        return "–"
    day = value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else pd.Timestamp(value).date()
    if _english():
        return day.isoformat()
    from babel.dates import format_date

    return format_date(day, "long", locale=i18n.babel_locale())
