"""Every CSV the report writes for people to open, and reading them back for the report's own use.

Spreadsheets evaluate a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some a tab or a
carriage return) as a formula, so a product or industry name such as ``=HYPERLINK("http://x")``
taken from a customer's export would run when a team opens the file in Excel or WPS (CSV, or
formula, injection). ``write_csv`` applies the OWASP rule: such a text cell, and a column name,
is written with a leading single quote, which the spreadsheet shows as text.

- Only text is touched: numeric, boolean and date columns are written as pandas writes them, so
  a negative amount in a numeric column stays a number. A number held as text (``"-12.5"`` in a
  text column) is prefixed like any other text: whether a cell is safe is decided by its first
  character, as OWASP says, not by guessing how a spreadsheet would parse the rest.
- The quote is added to a cell that starts with any number of quotes followed by one of the
  characters, so that ``read_csv`` can remove exactly one quote where it precedes them and a
  round trip gives back every value, including one that itself began with a quote.
- Encoding: UTF-8 with a byte-order mark (``utf-8-sig``). Excel for Windows opens a CSV by
  double-click in the system's ANSI code page (GBK on Chinese Windows) unless the file starts
  with a BOM, and Chinese names then come out garbled; pandas, DuckDB, WPS and LibreOffice read
  the BOM as UTF-8. ``read_csv`` reads files with and without it.
- Lines end in CRLF, as RFC 4180 and Excel itself write them. With a bare LF the CSV writer
  leaves a cell holding a carriage return unquoted, and every reader then splits the row there.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

__all__ = ["ENCODING", "LINE_END", "FORMULA_START", "escape_formulas", "unescape_formulas", "write_csv", "read_csv"]

ENCODING = "utf-8-sig"
LINE_END = "\r\n"
FORMULA_START = "=+-@\t\r"
_FORMULA_CHARACTERS = frozenset(FORMULA_START)
# Any quotes, then a character a spreadsheet reads as the start of a formula. RE2 and Python's
# re read these patterns alike (no lookarounds), so Arrow text is handled in C++.
_ESCAPE_PATTERN = r"^('*[=+\-@\t\r])"
_UNESCAPE_PATTERN = r"^'('*[=+\-@\t\r])"


def _escape_one(value: str) -> str:
    return "'" + value if value.lstrip("'")[:1] in _FORMULA_CHARACTERS else value


def _unescape_one(value: str) -> str:
    return value[1:] if value[:1] == "'" and value.lstrip("'")[:1] in _FORMULA_CHARACTERS else value


def _map_text(values: pd.Series, pattern: str, replacement: str, one: Callable[[str], str]) -> pd.Series:
    """Apply the quote rule to the text cells of one column; other cells and columns as they are."""
    if isinstance(values.dtype, pd.StringDtype):
        return values.str.replace(pattern, replacement, regex=True)
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = values.cat.categories
        if categories.dtype == object or isinstance(categories.dtype, pd.StringDtype):
            return values.cat.rename_categories([one(c) if isinstance(c, str) else c for c in categories])
        return values
    if values.dtype == object:
        return values.map(lambda v: one(v) if isinstance(v, str) else v)
    return values


def _map_labels(labels: pd.Index, one: Callable[[str], str]) -> pd.Index:
    if isinstance(labels, pd.MultiIndex):
        return labels.map(lambda names: tuple(one(n) if isinstance(n, str) else n for n in names))
    return labels.map(lambda n: one(n) if isinstance(n, str) else n)


def _map_frame(frame: pd.DataFrame, pattern: str, replacement: str, one: Callable[[str], str]) -> pd.DataFrame:
    """The quote rule applied to every text cell, column name and (when not a range) index label."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"expected a DataFrame, got {type(frame).__name__}")
    mapped = frame.copy(deep=False)
    for position in range(frame.shape[1]):
        mapped.isetitem(position, _map_text(frame.iloc[:, position], pattern, replacement, one))
    mapped.columns = _map_labels(frame.columns, one)
    if not isinstance(frame.index, pd.RangeIndex):  # e.g. a column read with index_col=
        mapped.index = _map_labels(frame.index, one)
    return mapped


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a single quote before every text cell and column name that a spreadsheet
    would read as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return first)."""
    return _map_frame(frame, _ESCAPE_PATTERN, r"'\1", _escape_one)


def unescape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The inverse of ``escape_formulas``: one leading quote removed where it precedes any
    quotes and a formula character; every other value as it is."""
    return _map_frame(frame, _UNESCAPE_PATTERN, r"\1", _unescape_one)


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` (without its index) as a CSV safe to open in a spreadsheet.

    Parameters
    ----------
    frame : pd.DataFrame
        The table; reset the index first to keep it.
    path : str or Path
        The file to write.

    Returns
    -------
    Path
        The file written (UTF-8 with BOM, CRLF line ends, text cells and column names
        escaped as in ``escape_formulas``).
    """
    path = Path(path)
    escape_formulas(frame).to_csv(path, index=False, encoding=ENCODING, lineterminator=LINE_END)
    return path


def read_csv(path: str | Path, **options) -> pd.DataFrame:
    """Read a CSV written by ``write_csv`` (or an earlier, unescaped one) with its original values.

    ``options`` go to ``pandas.read_csv`` (``dtype={"customer_id": str}``, ``usecols``, ...).
    """
    return unescape_formulas(pd.read_csv(Path(path), encoding=options.pop("encoding", ENCODING), **options))
