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
- Headers: the chapters' tables for the teams (``Chapter.save``) are written with the column
  labels of the report's language (``labels.reader_label``: ``客户ID`` for ``customer_id``) when
  the parameter ``team_csv_headers`` is ``report_language`` and the language is not English;
  with ``en`` (and always in English) the column names stay as they are. The names a translated
  file's headers stand for are kept beside it (``.column_names/<file>.json``), and ``read_csv``
  gives the frame its column names back, so that the report and next quarter's report read the
  file by its names whatever its language.
"""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from helpers.report import i18n
from helpers.report.labels import reader_label

__all__ = ["ENCODING", "LINE_END", "FORMULA_START", "HEADER_CHOICES", "escape_formulas", "unescape_formulas",
           "team_headers", "write_csv", "read_csv", "column_names", "move_csv"]

ENCODING = "utf-8-sig"
LINE_END = "\r\n"
FORMULA_START = "=+-@\t\r"
_FORMULA_CHARACTERS = frozenset(FORMULA_START)
# Any quotes, then a character a spreadsheet reads as the start of a formula. RE2 and Python's
# re read these patterns alike (no lookarounds), so Arrow text is handled in C++.
_ESCAPE_PATTERN = r"^('*[=+\-@\t\r])"
_UNESCAPE_PATTERN = r"^'('*[=+\-@\t\r])"
HEADER_CHOICES = ("en", "report_language")  # the values of the parameter team_csv_headers
NAMES_DIR = ".column_names"  # beside a CSV with translated headers: the column names they stand for


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


def team_headers(columns: Sequence, headers: str = "en") -> dict[str, str]:
    """Column name -> header for the teams' CSVs: with ``headers="report_language"`` in a language
    other than English, each text column's ``labels.reader_label`` (``customer_id`` -> ``客户ID``);
    ``{}`` (every name as it is) with ``"en"`` or in English. A label that two columns would share,
    or that is another column's name, is left out: those columns keep their names."""
    if headers not in HEADER_CHOICES:
        raise ValueError(f"team_csv_headers must be one of {', '.join(HEADER_CHOICES)}, got {headers!r}")
    if headers == "en" or i18n.current_language() == i18n.ENGLISH or isinstance(columns, pd.MultiIndex):
        return {}
    names = [c for c in columns if isinstance(c, str)]
    renamed = {c: label for c in names if (label := reader_label(c)) != c}
    while True:
        shown = [renamed.get(c, c) for c in columns]
        shared = {h for h in shown if shown.count(h) > 1}
        if not shared.intersection(renamed.values()):
            return renamed
        renamed = {c: h for c, h in renamed.items() if h not in shared}


def _names_file(path: Path) -> Path:
    return path.parent / NAMES_DIR / f"{path.name}.json"


def write_csv(frame: pd.DataFrame, path: str | Path, headers: str = "en") -> Path:
    """Write ``frame`` (without its index) as a CSV safe to open in a spreadsheet.

    Parameters
    ----------
    frame : pd.DataFrame
        The table; reset the index first to keep it.
    path : str or Path
        The file to write.
    headers : {"en", "report_language"}
        Column names as they are, or the teams' headers in the report's language
        (:func:`team_headers`; the names they stand for are kept in ``.column_names/``).

    Returns
    -------
    Path
        The file written (UTF-8 with BOM, CRLF line ends, text cells and column names
        escaped as in ``escape_formulas``).
    """
    path = Path(path)
    renamed = team_headers(frame.columns, headers) if isinstance(frame, pd.DataFrame) else {}
    table = frame.rename(columns=renamed) if renamed else frame
    escape_formulas(table).to_csv(path, index=False, encoding=ENCODING, lineterminator=LINE_END)
    names = _names_file(path)
    if renamed:
        names.parent.mkdir(exist_ok=True)
        names.write_text(json.dumps({"file": path.name, "columns": [[h, c] for c, h in renamed.items()]},
                                    ensure_ascii=False, indent=1), encoding="utf-8")
    elif names.exists():  # written again with its names: an earlier file's headers no longer apply
        names.unlink()
    return path


def _written_names(path: Path) -> dict[str, str]:
    """Header -> column name of a CSV written with translated headers; {} for one written with its names."""
    names = _names_file(path)
    if not names.exists():
        return {}
    return {header: name for header, name in json.loads(names.read_text(encoding="utf-8"))["columns"]}


def _header_row(path: Path) -> list[str]:
    with path.open(encoding=ENCODING, newline="") as handle:
        return next(csv.reader(handle), [])


def column_names(path: str | Path) -> list[str]:
    """The column names of a CSV written by ``write_csv`` (translated headers read back as the
    names they stand for), from its header line only."""
    path = Path(path)
    names = _written_names(path)
    return [names.get(_unescape_one(h), _unescape_one(h)) for h in _header_row(path)]


def read_csv(path: str | Path, **options) -> pd.DataFrame:
    """Read a CSV written by ``write_csv`` (or an earlier, unescaped one) with its original values
    and column names (also when its headers were written in the report's language).

    ``options`` go to ``pandas.read_csv`` (``dtype={"customer_id": str}``, ``usecols``, ...) and
    name the columns by their names.
    """
    path = Path(path)
    encoding = options.pop("encoding", ENCODING)
    names = _written_names(path)
    if names and "names" not in options and "header" not in options:
        # The names, escaped as the file's headers are, so that unescape_formulas restores both alike.
        options.update(header=0, names=[_escape_one(names.get(_unescape_one(h), _unescape_one(h)))
                                        for h in _header_row(path)])
    return unescape_formulas(pd.read_csv(path, encoding=encoding, **options))


def move_csv(path: str | Path, folder: str | Path) -> Path:
    """Move a CSV written by ``write_csv`` into ``folder``, with the column names of its headers."""
    path, folder = Path(path), Path(folder)
    target = folder / path.name
    os.replace(path, target)
    names = _names_file(path)
    if names.exists():
        _names_file(target).parent.mkdir(exist_ok=True)
        os.replace(names, _names_file(target))
    elif _names_file(target).exists():
        _names_file(target).unlink()
    return target
