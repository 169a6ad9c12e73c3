"""Numbers formatted for readers: thousands separators, one-decimal percentages, currency."""
from __future__ import annotations

import pandas as pd


def _missing(value) -> bool:
    """None, NaN, NaT and pd.NA are missing (shown as a dash)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-likes are not a single missing value
        return False


def fmt_int(value) -> str:
    """``1234.4`` -> ``'1,234'``."""
    return "–" if _missing(value) else f"{round(float(value)):,}"


def fmt_num(value, decimals: int = 1) -> str:
    """``1234.56, 1`` -> ``'1,234.6'``."""
    return "–" if _missing(value) else f"{float(value):,.{decimals}f}"


def fmt_money(value, symbol: str = "¥", decimals: int = 0) -> str:
    """``-1234.5`` -> ``'-¥1,235'``."""
    if _missing(value):
        return "–"
    sign = "-" if float(value) < 0 else ""
    return f"{sign}{symbol}{abs(float(value)):,.{decimals}f}"


def fmt_pct(value, decimals: int = 1) -> str:
    """A share: ``0.1234`` -> ``'12.3%'``."""
    return "–" if _missing(value) else f"{100 * float(value):.{decimals}f}%"


def fmt_change(value, decimals: int = 1) -> str:
    """A relative change with its sign: ``0.05`` -> ``'+5.0%'``."""
    return "–" if _missing(value) else f"{100 * float(value):+.{decimals}f}%"


def fmt_pp(value, decimals: int = 1) -> str:
    """A change of a share in percentage points: ``0.012`` -> ``'+1.2 pp'``."""
    return "–" if _missing(value) else f"{100 * float(value):+.{decimals}f} pp"


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
