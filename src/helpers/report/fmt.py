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
