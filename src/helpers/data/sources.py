"""Read raw sources (CSV, Parquet, Excel) and map them onto the canonical columns.

Everything about a real export is set in its parameters (``params.SourceSpec``): file names or
globs, format, encoding, separator, sheet, column mapping, derived columns, date and number
formats. Values that cannot be read are either an error (a column that is mostly wrong is a
mapping mistake) or, when they are a few, rows set aside with their reason.

No row is lost without an error: the rows read from each file are compared with the records
counted in the file itself (CSV bytes scanned by ``rawcsv``, Excel rows, Parquet metadata). Dates
never have day and month swapped silently, and timestamps with a UTC offset are converted to the
report's time zone.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.tseries.api import guess_datetime_format

from helpers.data import rawcsv
from helpers.data.schema import SOURCES, Source
from helpers.errors import DataError
from helpers.params import SourceSpec

ROW_COLUMNS = ["_source_file", "_source_row"]
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".gz": "csv", ".parquet": "parquet", ".pq": "parquet",
               ".xlsx": "excel", ".xls": "excel", ".xlsm": "excel"}
_TRUE = {"true", "t", "yes", "y", "1", "1.0", "是"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "否"}
_FLOAT_ID = re.compile(r"^(-?\d+)\.0+$")


@dataclass
class RawSource:
    """One source after reading and mapping: canonical columns plus where each row came from."""

    name: str
    frame: pd.DataFrame
    files: list[dict] = field(default_factory=list)
    rejected: list[tuple[pd.DataFrame, str, pd.Series | str]] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return int(sum(f["rows"] for f in self.files))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_files(spec: SourceSpec, data_dir: Path) -> list[Path]:
    found: list[Path] = []
    for pattern in spec.files:
        candidate = Path(pattern)
        if not candidate.is_absolute():
            candidate = data_dir / pattern
        matches = sorted(candidate.parent.glob(candidate.name)) if any(ch in pattern for ch in "*?[") else (
            [candidate] if candidate.exists() else [])
        found.extend(m for m in matches if m not in found)
    return found


def _format_of(path: Path, spec: SourceSpec) -> str:
    if spec.format:
        return spec.format
    suffix = path.suffix.lower()
    if suffix == ".gz":
        suffix = Path(path.stem).suffix.lower() or ".csv"
    if suffix not in _EXTENSIONS:
        raise DataError(f"cannot tell the file format from the extension '{path.suffix}'", file=path,
                        fix="set format: csv, parquet or excel for this source in the parameters file")
    return _EXTENSIONS[suffix]


@dataclass
class _FileRead:
    """One file as read: its rows, the records counted in the file itself and where each row starts."""

    frame: pd.DataFrame
    raw_records: int
    origins: np.ndarray


def _read_csv(path: Path, spec: SourceSpec) -> pd.DataFrame:
    """Every column as text. The multi-threaded Arrow reader (about 4x faster) for UTF-8 files;
    pandas' own reader, whose errors name the problem precisely, for other encodings and for any
    file the Arrow reader rejects."""
    options = dict(dtype=str, keep_default_na=False, na_values=[""], sep=spec.sep)
    if spec.encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig") and len(spec.sep) == 1:
        try:
            return pd.read_csv(path, engine="pyarrow", encoding="utf-8", **options)
        except Exception:  # fall through to the reader with precise error messages
            pass
    frame = pd.read_csv(path, encoding=spec.encoding, encoding_errors="strict", skipinitialspace=True, **options)
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas takes the extra leading fields of rows longer than the header as an index.
        extra = frame.index.nlevels
        raise DataError(
            f"the rows have {extra} more field(s) than the header names ({len(frame.columns)} names, "
            f"{len(frame.columns) + extra} fields from line 2 on), so every value would shift by {extra} column(s)",
            file=path, examples=frame.reset_index().head(5).set_axis(pd.RangeIndex(2, 2 + min(5, len(frame)), name="line")),
            fix="remove the separator at the end of every row, or export with every field quoted (a separator inside "
                "a value), or add the missing names to the header")
    return frame


def _sep_setting(sep: str) -> str:
    return {"\t": '"\\t"'}.get(sep, f'"{sep}"')


def _header_names(fields: list[str]) -> list[str]:
    return [str(f).strip().lstrip("\ufeff").strip() for f in fields]


def _unique_names(names: list[str]) -> list[str]:
    """``names`` with repeats made unique as pandas does: the second 'amount' is 'amount.1'."""
    seen: set[str] = set()
    unique = []
    for name in names:
        candidate, n = name, 0
        while candidate in seen:
            n += 1
            candidate = f"{name}.{n}"
        seen.add(candidate)
        unique.append(candidate)
    return unique


def _labels(header: list[str], read: pd.Index) -> list[str]:
    """Column labels from the file's own header (repeats made unique), or the reader's labels
    where a header cell is blank or the header does not line up with the columns read."""
    if len(header) != len(read):
        return list(read)
    return _unique_names([name or str(label) for name, label in zip(header, read)])


def _names_read(source: Source, spec: SourceSpec) -> set[str]:
    """The raw column names the source's mapping reads (explicitly, by canonical name or in a derivation)."""
    names = set(spec.columns.values())
    names |= {c for c in source.names if c not in spec.columns and c not in spec.derive}
    return names


def _check_duplicate_names(header: list[str], source: Source, spec: SourceSpec, name: str, path: Path) -> None:
    """A header naming a column twice is an error when the mapping reads that name: which of
    the two was meant cannot be known (pandas would silently take the first)."""
    positions: dict[str, list[int]] = {}
    for position, column in enumerate(header, start=1):
        if column:
            positions.setdefault(column, []).append(position)
    read = _names_read(source, spec)
    unique = _unique_names(header)
    for column, where in positions.items():
        if len(where) < 2:
            continue
        in_derive = any(re.search(rf"(?<![\w.]){re.escape(column)}(?![\w.])", e) for e in spec.derive.values())
        if column not in read and not in_derive:
            continue
        times = "twice" if len(where) == 2 else f"{len(where)} times"
        listed = ", ".join(str(w) for w in where[:-1]) + f" and {where[-1]}"
        canonical = next((c for c, raw in spec.columns.items() if raw == column), column)
        examples = pd.DataFrame({"column": where, "header": [header[w - 1] for w in where],
                                 "read as": [unique[w - 1] for w in where]})
        raise DataError(
            f"the header names '{column}' {times} (columns {listed}); which one to read cannot be told",
            file=path, column=column, examples=examples,
            fix=f"rename or drop one of them in the export, or map the one you mean, e.g. "
                f"sources.{name}.columns.{canonical}: \"{unique[where[1] - 1]}\" reads column {where[1]}")


def _scan_csv(path: Path, spec: SourceSpec) -> rawcsv.CsvScan:
    try:
        return rawcsv.scan_csv(path, sep=spec.sep, encoding=spec.encoding)
    except LookupError:
        raise DataError(f"unknown encoding '{spec.encoding}'", file=path,
                        fix="set encoding to a Python codec name, e.g. utf-8, utf-8-sig, gb18030 or latin-1") from None
    except (EOFError, OSError, zlib.error) as exc:  # a truncated or corrupt .gz
        raise DataError(f"the file cannot be read as csv: {type(exc).__name__}: {exc}", file=path,
                        fix="check that the file is complete and of the format given, or export it again") from None


def _quoting_error(scan: rawcsv.CsvScan, path: Path, sep: str) -> DataError:
    """The first quoted field of ``scan`` that would lose rows, explained."""
    problem = scan.problems[0]
    header = _header_names(rawcsv.split_fields(scan.header, sep)) if scan.header else []
    column = None
    if problem.field_index is not None and problem.field_index < len(header):
        column = header[problem.field_index]
    rows = [(problem.line, problem.excerpt, "the quoted field opens here")]
    if problem.record_like_line is not None:
        rows.append((problem.record_like_line, problem.record_like_excerpt, "looks like a whole record"))
    examples = pd.DataFrame(rows, columns=["line", "text", "note"])
    more = len(scan.problems) - 1 + scan.more_problems
    others = f" ({more} more such field{'s' if more > 1 else ''} further on)" if more else ""
    quote_fix = ('double the quote ("") inside the value or remove it in the export, or export with all fields '
                 'quoted (RFC 4180: a quote inside a value is written twice)')
    if problem.kind == "stray_quote":
        return DataError(
            f"a stray quote: the quote on line {problem.line:,} opens a quoted field that only closes on line "
            f"{problem.close_line:,}, swallowing {problem.record_like_lines:,} line(s) that look like whole records "
            f"(the first on line {problem.record_like_line:,}); the parser would read them as one value and lose "
            f"their rows{others}", file=path, column=column, examples=examples, fix=quote_fix)
    if problem.record_like_lines:
        return DataError(
            f"a stray quote: the quote on line {problem.line:,} opens a quoted field that never closes, so the "
            f"{problem.record_like_lines:,} line(s) after it that look like whole records would be read as one "
            f"value and their rows lost", file=path, column=column, examples=examples, fix=quote_fix)
    return DataError(
        f"the file ends inside a quoted field that opens on line {problem.line:,} (of {scan.lines:,}): the file "
        f"was probably cut off, and its last row is incomplete", file=path, column=column, examples=examples,
        fix="export the file again, or copy it again completely (a download or copy stopped early); if the "
            "quote on that line belongs to the value, " + quote_fix)


def _count_error(frame: pd.DataFrame, scan: rawcsv.CsvScan, path: Path, spec: SourceSpec) -> DataError:
    """The parser returned a different number of rows than the file holds records."""
    lines = scan.data_lines()
    index = _first_difference(frame, scan, path, spec)
    rows = []
    if index is not None:
        for i in range(max(index - 1, 0), min(index + 2, len(lines))):
            rows.append({"line": int(lines[i]), "record in the file": "", "row as read":
                         str(frame.iat[i, 0]) if i < len(frame) else "(none)"})
        raw = _line_texts(path, spec, {r["line"] for r in rows})
        for r in rows:
            r["record in the file"] = raw.get(r["line"], "")
    where = f"; rows stop matching the file at line {int(lines[index]):,}" if index is not None else ""
    return DataError(
        f"the parser read {len(frame):,} rows but the file holds {scan.data_records:,} records (counted from its "
        f"bytes){where}: rows were merged, split or skipped", file=path,
        examples=pd.DataFrame(rows) if rows else None,
        fix="look at that line for a stray quote, an unusual line ending (a lone carriage return) or a control "
            "character; export the file again with all fields quoted (RFC 4180)")


def _text_stream(path: Path, spec: SourceSpec) -> io.TextIOWrapper:
    return io.TextIOWrapper(rawcsv.open_raw(path), encoding=spec.encoding, errors="replace", newline="")


def _first_difference(frame: pd.DataFrame, scan: rawcsv.CsvScan, path: Path, spec: SourceSpec) -> int | None:
    """Index of the first row whose first value differs from the file's record at that index.

    Read with Python's csv module, record by record: only when the counts already disagree.
    """
    if len(spec.sep) != 1 or not len(frame.columns):
        return None
    first = frame.iloc[:, 0].astype("string").fillna("").str.strip().to_numpy()
    with _text_stream(path, spec) as text:
        reader = csv.reader(text, delimiter=spec.sep, skipinitialspace=True)
        records = (r for r in reader if r and not (len(r) == 1 and not r[0].strip()))  # blank lines are no records
        next(records, None)
        for i, record in enumerate(records):
            if i >= len(first) or (record[0].strip() if record else "") != first[i]:
                return min(i, scan.data_records - 1) if scan.data_records else None
    return len(first) if len(first) < scan.data_records else None


def _line_texts(path: Path, spec: SourceSpec, lines: set[int]) -> dict[int, str]:
    """Text of the given physical lines (for examples)."""
    found: dict[int, str] = {}
    with _text_stream(path, spec) as text:
        for number, line in enumerate(text, start=1):
            if number in lines:
                found[number] = line.rstrip("\r\n")[:200]
            if number >= max(lines, default=0):
                break
    return found


_ENCODING_CANDIDATES = ("utf-8", "gb18030", "cp1252", "latin-1")


def _plausible_share(text: str, encoding: str) -> float:
    """Share of the non-ASCII characters of ``text`` that are usual in exports in ``encoding``."""
    wide = [ch for ch in text if ord(ch) > 127]
    if not wide:
        return 0.0
    if encoding == "gb18030":
        usual = sum("\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"
                    for ch in wide)
    elif encoding == "utf-8":
        usual = sum(ch != "\ufffd" for ch in wide)
    else:
        usual = sum(ch.isalpha() or ch in "€’‘“”–—…°£§©®±µ·" for ch in wide)
    return usual / len(wide)


def _encoding_error(path: Path, spec: SourceSpec, name: str, exc: UnicodeDecodeError,
                    scan: rawcsv.CsvScan | None = None) -> DataError:
    """Where the file first stops being ``spec.encoding`` text, and which encoding reads it."""
    declared = spec.encoding
    failure = rawcsv.first_undecodable(path, declared)
    if failure is None:
        return DataError(f"the file is not valid {declared} text ({exc.reason})", file=path,
                         fix=f"set encoding for this source (sources.{name}.encoding), for example gb18030 for "
                             f"Chinese Windows exports, utf-8-sig for UTF-8 with a byte-order mark, latin-1 or cp1252 "
                             f"for Western European")
    with rawcsv.open_raw(path) as handle:
        head = handle.read(4)
    candidates = []
    for encoding in _ENCODING_CANDIDATES:
        if codecs.lookup(encoding).name == codecs.lookup(declared).name:
            continue
        try:
            text = failure.line_bytes.decode(encoding)
        except UnicodeDecodeError:
            continue
        candidates.append((_plausible_share(text, encoding), encoding))
    best = max(candidates, key=lambda c: c[0])[1] if candidates else None
    if best == "utf-8" and head.startswith(b"\xef\xbb\xbf"):
        best = "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        best = "utf-16"
    column = None
    if scan is not None and len(spec.sep) == 1 and np.any(scan.record_lines() == failure.line):
        # The field of the bad byte, on a line that starts a record.
        prefix = failure.line_bytes[:failure.column].decode(declared, errors="replace")
        header = _header_names(rawcsv.split_fields(scan.header, spec.sep))
        index = len(rawcsv.split_fields(prefix, spec.sep)) - 1
        column = header[index] if index < len(header) else None
    window = failure.line_bytes[max(failure.column - 24, 0):failure.column + 24]
    shown = [declared] + [e for e in _ENCODING_CANDIDATES if e != declared]
    examples = pd.DataFrame({"line": failure.line, "byte": failure.offset,
                             "bytes there": failure.line_bytes[failure.column:failure.column + 4].hex(" "),
                             "read as": shown, "text": [window.decode(e, errors="replace") for e in shown]})
    usual = {"gb18030": "gb18030 for Chinese Windows exports",
             "utf-8-sig": "utf-8-sig for UTF-8 with a byte-order mark",
             "latin-1": "latin-1 or cp1252 for Western European exports"}
    others = "; ".join(text for encoding, text in usual.items() if encoding != best and not
                       (best == "cp1252" and encoding == "latin-1"))
    fix = (f"set encoding: {best} for this source (sources.{name}.encoding; the line reads as text in {best}). "
           f"Other usual choices: {others}" if best else
           f"set encoding for this source (sources.{name}.encoding): {others}") + "; or export the file again as UTF-8"
    return DataError(
        f"the file is not valid {declared} text: {failure.reason} at byte {failure.offset:,} "
        f"(line {failure.line:,}, byte {failure.column + 1} of the line)", file=path, column=column,
        examples=examples, fix=fix)


def _read_csv_file(path: Path, spec: SourceSpec, name: str, counted: Callable[[int], None] | None = None) -> _FileRead:
    """A CSV file read and checked against the records counted in its bytes (``counted`` is told
    their number before the file is parsed)."""
    source = SOURCES[name]
    scan = _scan_csv(path, spec)
    if counted is not None:
        counted(scan.data_records)
    if scan.records == 0:
        raise DataError("the file is empty (no header and no rows)", file=path,
                        fix="export the data again, or remove the file from this source's files")
    sniffed = rawcsv.sniff_separator(scan.header, spec.sep)
    if sniffed is not None:
        shown = {"\t": "tab"}.get(sniffed, f"'{sniffed}'")
        raise DataError(
            f"this file looks {shown}-separated: its header line is read as the single column "
            f"'{scan.header[:80]}' with the separator '{spec.sep}'", file=path,
            examples=pd.DataFrame({"line": [scan.header_line], "header": [scan.header[:200]]}),
            fix=f"set sources.{name}.sep: {_sep_setting(sniffed)} in the parameters file")
    header = _header_names(rawcsv.split_fields(scan.header, spec.sep))
    _check_duplicate_names(header, source, spec, name, path)
    if scan.problems:
        raise _quoting_error(scan, path, spec.sep)
    try:
        frame = _read_csv(path, spec)
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, spec, name, exc, scan) from None
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty (no header and no rows)", file=path,
                        fix="export the data again, or remove the file from this source's files") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"the file cannot be parsed as CSV: {exc}", file=path,
                        fix="check the separator (sep), quoting and that the file was not truncated") from None
    frame.columns = _labels(header, frame.columns)
    if len(frame) != scan.data_records:
        raise _count_error(frame, scan, path, spec)
    return _FileRead(frame, scan.data_records, scan.data_lines())


def _excel_rows(path: Path, sheet: str | int | None) -> tuple[list[str], np.ndarray] | None:
    """The header and the sheet row numbers of the non-empty rows below it, through openpyxl
    (read-only), or ``None`` for workbooks openpyxl does not read (.xls)."""
    if path.suffix.lower() == ".xls":
        return None
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        worksheet = workbook[sheet] if isinstance(sheet, str) else workbook.worksheets[sheet or 0]
        rows = worksheet.iter_rows(values_only=True)
        header = next(rows, ())
        filled = [number for number, values in enumerate(rows, start=2)
                  if any(v is not None and v != "" for v in values)]
    finally:
        workbook.close()
    return _header_names(["" if v is None else str(v) for v in header]), np.asarray(filled, dtype=np.int64)


def _read_excel_file(path: Path, spec: SourceSpec, name: str) -> _FileRead:
    sheet = spec.sheet if spec.sheet is not None else 0
    frame = pd.read_excel(path, sheet_name=sheet, dtype=str)
    frame = frame.loc[frame.notna().any(axis=1)]  # blank rows (kept by pandas between data) hold nothing
    counted = _excel_rows(path, sheet)
    if counted is None:
        return _FileRead(frame.reset_index(drop=True), len(frame), frame.index.to_numpy() + 2)
    header, rows = counted
    _check_duplicate_names(header, SOURCES[name], spec, name, path)
    frame.columns = _labels(header, frame.columns)
    if len(frame) != len(rows):
        read_rows = frame.index.to_numpy() + 2
        common = min(len(rows), len(read_rows))
        differ = np.flatnonzero(rows[:common] != read_rows[:common])
        first = int(rows[differ[0]]) if len(differ) else int(rows[common]) if len(rows) > common else None
        raise DataError(
            f"{len(frame):,} rows were read but the sheet has {len(rows):,} non-empty rows below its header"
            + (f"; they stop matching at sheet row {first:,}" if first else ""), file=path,
            fix="check the sheet for merged cells or hidden rows, or save it again (or export it as CSV)")
    return _FileRead(frame.reset_index(drop=True), len(rows), rows)


def _read_parquet_file(path: Path) -> _FileRead:
    import pyarrow.parquet as pq

    frame = pd.read_parquet(path)
    stored = pq.ParquetFile(path).metadata.num_rows
    if len(frame) != stored:
        raise DataError(f"{len(frame):,} rows were read but the file's metadata records {stored:,}", file=path,
                        fix="write the Parquet file again; it may be incomplete")
    return _FileRead(frame, stored, np.arange(len(frame)))


def _read_file(path: Path, spec: SourceSpec, name: str, counted: Callable[[int], None] | None = None) -> _FileRead:
    fmt = _format_of(path, spec)
    try:
        if fmt == "csv":
            read = _read_csv_file(path, spec, name, counted)
        elif fmt == "parquet":
            read = _read_parquet_file(path)
        else:
            read = _read_excel_file(path, spec, name)
    except DataError:
        raise
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, spec, name, exc) from None
    except Exception as exc:  # corrupt parquet / excel files raise library-specific errors
        raise DataError(f"the file cannot be read as {fmt}: {type(exc).__name__}: {exc}", file=path,
                        fix="check that the file is complete and of the format given, or export it again") from None
    frame = read.frame
    frame.columns = _unique_names([str(c).strip().lstrip("\ufeff").strip() for c in frame.columns])
    if frame.empty:
        raise DataError("the file has a header but no rows", file=path,
                        fix="export the data again, or remove the file from this source's files")
    return read


def _clean_text(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _arrow_cast(raw: pd.Series, arrow_type: pa.DataType) -> pd.Series | None:
    """The whole text column cast by Arrow (about 50x faster than pandas' parsers), or ``None``
    when the column is not Arrow text or any value is not in Arrow's strict form (plain decimal
    numbers; ISO 8601 dates without a zone), which leaves it to the general parsers below."""
    if not (isinstance(raw.dtype, pd.StringDtype) and raw.dtype.storage == "pyarrow"):
        return None
    try:
        cast = pc.cast(pa.array(raw.array), arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return pd.Series(cast.to_numpy(zero_copy_only=False), index=raw.index)


def _parse_numbers(raw: pd.Series, spec: SourceSpec) -> pd.Series:
    fast = _arrow_cast(raw, pa.float64())
    if fast is not None:
        return fast
    numbers = pd.to_numeric(raw, errors="coerce") if not pd.api.types.is_numeric_dtype(raw) else raw.astype(float)
    if pd.api.types.is_numeric_dtype(raw) or numbers.notna().sum() == raw.notna().sum():
        return numbers.astype(float)
    text = raw.astype("string").str.strip()
    for symbol in spec.currency_symbols:
        text = text.str.replace(symbol, "", regex=False)
    text = text.str.replace(r"\s", "", regex=True)
    if spec.thousands:
        text = text.str.replace(spec.thousands, "", regex=False)
    if spec.decimal != ".":
        text = text.str.replace(spec.decimal, ".", regex=False)
    # Accounting negatives: (123.45)
    text = text.str.replace(r"^\((.*)\)$", r"-\1", regex=True)
    return pd.to_numeric(text, errors="coerce").astype(float)


class DateOrderError(ValueError):
    """Dates whose day and month order contradicts the settings or each other.

    ``day_first`` and ``month_first`` hold the distinct values that are valid only day-first
    (``13/01/2026``) and only month-first (``01/13/2026``).
    """

    def __init__(self, problem: str, fix: str, day_first: list[str], month_first: list[str]):
        self.problem, self.fix, self.day_first, self.month_first = problem, fix, day_first, month_first
        super().__init__(f"{problem}. Fix: {fix}")


# d/m/y or m/d/y: the first two numbers, a separator after each, the year last (RE2 syntax, for Arrow).
_DAY_MONTH = r"^\s*(?P<first>\d{1,2})(?P<sep1>[./-])(?P<second>\d{1,2})(?P<sep2>[./-])(?:\d{4}|\d{2})(?:\D|$)"
_YEAR_FIRST = r"^\s*\d{4}[-/.]"
# A time followed by a UTC offset: Z, UTC / GMT, +08:00, -0800, +08.
_OFFSET = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"


def _arrow_text(values: pd.Series) -> pa.Array:
    return pa.array(values.to_numpy(dtype=object), type=pa.string())


def _matches(values: pd.Series, pattern: str) -> np.ndarray:
    """Whether each text value matches ``pattern`` (Arrow's vectorised regular expressions)."""
    return pc.match_substring_regex(_arrow_text(values), pattern).fill_null(False).to_numpy(zero_copy_only=False)


def _check_day_month_order(distinct: pd.Series, dayfirst: bool) -> None:
    """Raise ``DateOrderError`` when a value is valid only in the order opposite to ``dayfirst``,
    or when the values need both orders. Ambiguous values (both numbers at most 12) follow the
    settings. Vectorised over the distinct values (the first two numbers of d/m/y-shaped text)."""
    parts = pc.extract_regex(_arrow_text(distinct), _DAY_MONTH)
    same_separator = pc.equal(pc.struct_field(parts, "sep1"), pc.struct_field(parts, "sep2"))
    shaped = pc.and_(parts.is_valid(), same_separator).fill_null(False).to_numpy(zero_copy_only=False)

    def number(name: str) -> np.ndarray:
        text = pc.struct_field(parts, name).to_numpy(zero_copy_only=False)
        return pd.to_numeric(pd.Series(text), errors="coerce").to_numpy()

    first, second = number("first"), number("second")
    day_first = shaped & (first > 12) & (first <= 31) & (second >= 1) & (second <= 12)
    month_first = shaped & (second > 12) & (second <= 31) & (first >= 1) & (first <= 12)
    if not day_first.any() and not month_first.any():
        return
    day_values, month_values = distinct[day_first].tolist(), distinct[month_first].tolist()
    if day_first.any() and month_first.any():
        raise DateOrderError(
            f"the dates mix day-first values (such as {day_values[0]!r}) and month-first values (such as "
            f"{month_values[0]!r}), so for days 1-12 day and month cannot be told apart",
            "export the column again in one order (ISO 2026-01-13 is safest); or set date_format to the order "
            "most rows use (e.g. date_format: \"%d/%m/%Y\"), which sets the other values aside as unreadable",
            day_values, month_values)
    if day_first.any() and not dayfirst:
        raise DateOrderError(
            f"dates such as {day_values[0]!r} are valid only day-first, but the settings read dates month-first "
            f"(dayfirst: false); ambiguous dates such as 01/02/2026 would be misread",
            "set dayfirst: true for this source, or date_format: \"%d/%m/%Y\" (with the separator and time "
            "of the export)", day_values, [])
    if month_first.any() and dayfirst:
        raise DateOrderError(
            f"dates such as {month_values[0]!r} are valid only month-first, but the settings read dates "
            f"day-first (dayfirst: true); ambiguous dates such as 01/02/2026 would be misread",
            "set dayfirst: false for this source, or date_format: \"%m/%d/%Y\" (with the separator and time "
            "of the export)", [], month_values)


def _naive_in_zone(parsed: pd.Series, timezone: str) -> pd.Series:
    """Timestamps with a zone as wall-clock time in ``timezone``, without the zone."""
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert(timezone).dt.tz_localize(None)
    return parsed.astype("datetime64[ns]")


def _one_date(value: str, dayfirst: bool, timezone: str) -> pd.Timestamp:
    try:
        stamp = pd.to_datetime(value, dayfirst=dayfirst)
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    if stamp is not pd.NaT and stamp.tzinfo is not None:
        stamp = stamp.tz_convert(timezone).tz_localize(None)
    return stamp


def _parse_date_group(values: pd.Series, dayfirst: bool, with_offset: bool, timezone: str,
                      date_format: str | None = None) -> pd.Series:
    """Dates of one shape: the format of the first values (vectorised), the rest value by value
    (pandas' mixed parser). Values with an offset are converted to ``timezone``."""
    fmt = date_format
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt is None:
            fmt = next((f for f in map(lambda v: guess_datetime_format(v, dayfirst=dayfirst), values.head(3))
                        if f), None)
        try:
            parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
            if fmt:
                parsed = _naive_in_zone(pd.to_datetime(values, format=fmt, errors="coerce", utc=with_offset), timezone)
            rest = parsed.isna()
            if rest.any() and date_format is None:
                parsed[rest] = _naive_in_zone(pd.to_datetime(values[rest], format="mixed", dayfirst=dayfirst,
                                                             errors="coerce", utc=with_offset), timezone)
        except (ValueError, TypeError, OverflowError):  # e.g. a zone the offset pattern did not recognise
            parsed = pd.Series([_one_date(v, dayfirst, timezone) for v in values], index=values.index,
                               dtype="datetime64[ns]")
    return parsed


def _parse_dates(raw: pd.Series, spec: SourceSpec, timezone: str = "UTC") -> pd.Series:
    """Dates and timestamps as naive ``datetime64[ns]`` in ``timezone``.

    Plain ISO 8601 text goes through Arrow's cast; anything else is parsed once per distinct
    value. Day and month are never swapped silently: see ``_check_day_month_order``. Values with
    a UTC offset are converted to ``timezone``; values without one are taken as already in it.
    Year-first values are always read year-month-day, whatever ``dayfirst`` says.
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        return _naive_in_zone(raw, timezone)
    if spec.date_format == "excel" or pd.api.types.is_numeric_dtype(raw):
        serial = pd.to_numeric(raw, errors="coerce")
        return (pd.Timestamp("1899-12-30") + pd.to_timedelta(serial, unit="D")).astype("datetime64[ns]")
    if not spec.date_format and not spec.dayfirst:
        fast = _arrow_cast(raw, pa.timestamp("ns"))
        if fast is not None:
            return fast
    text = raw.astype("string").str.strip()
    distinct = pd.Series(text.dropna().unique(), dtype="string")
    distinct = distinct[distinct != ""].reset_index(drop=True)
    parsed = pd.Series(pd.NaT, index=distinct.index, dtype="datetime64[ns]")
    if len(distinct):
        if spec.date_format:
            aware = "%z" in spec.date_format or "%Z" in spec.date_format
            parsed = _parse_date_group(distinct, spec.dayfirst, aware, timezone, spec.date_format)
        else:
            _check_day_month_order(distinct, spec.dayfirst)
            with_offset, year_first = _matches(distinct, _OFFSET), _matches(distinct, _YEAR_FIRST)
            for is_year_first in (True, False):
                for has_offset in (True, False):
                    group = (year_first == is_year_first) & (with_offset == has_offset)
                    if group.any():
                        parsed[group] = _parse_date_group(distinct[group], spec.dayfirst and not is_year_first,
                                                          has_offset, timezone)
    # Each row takes the value parsed for its text (blank and missing text stay NaT).
    codes = pd.Index(distinct).get_indexer(text)
    values = np.full(len(text), np.datetime64("NaT", "ns"))
    found = codes >= 0
    values[found] = parsed.to_numpy(dtype="datetime64[ns]")[codes[found]]
    return pd.Series(values, index=raw.index, dtype="datetime64[ns]")


def _parse_bool(raw: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype("boolean")
    text = raw.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False)] = True
    out[text.isin(_FALSE).fillna(False)] = False
    return out


def _parse_ids(raw: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(raw):
        whole = raw.notna() & (raw == np.floor(raw))
        text = raw.astype("string")
        text[whole] = raw[whole].astype("Int64").astype("string")
        return text
    text = _clean_text(raw)
    # Ids exported as floats ("17850.0") are the same id as "17850" (the regex only runs when needed).
    if text.str.endswith(".0").any():
        text = text.str.replace(_FLOAT_ID, r"\1", regex=True)
    return text


def coerce_column(raw: pd.Series, kind: str, spec: SourceSpec, timezone: str = "UTC") -> tuple[pd.Series, pd.Series]:
    """Convert ``raw`` to the canonical ``kind``; returns the values and a mask of unreadable ones.

    Dates are returned naive in ``timezone`` (see ``_parse_dates``), which raises
    ``DateOrderError`` when day and month could be swapped.
    """
    if kind == "float":
        values = _parse_numbers(raw, spec)
    elif kind == "int":
        values = _parse_numbers(raw, spec).round().astype("Int64")
    elif kind == "datetime":
        values = _parse_dates(raw, spec, timezone)
    elif kind == "bool":
        values = _parse_bool(raw)
    elif kind == "id":
        values = _parse_ids(raw)
    else:
        values = _clean_text(raw)
    # Unreadable: a value that is there (not blank) and did not convert; blanks are checked only
    # where the conversion gave nothing, which spares stripping millions of readable values.
    failed = values.isna() & raw.notna()
    if failed.any():
        failed[failed] = (raw[failed].astype("string").str.strip() != "").fillna(False)
    return values, failed.astype(bool)


def _fix_hint(kind: str) -> str:
    return {
        "float": "map the right column, or set decimal (',' for 1,5), thousands ('.' or ',') or currency_symbols",
        "int": "map the right column, or set decimal / thousands for this source",
        "datetime": "map the right column, or set dayfirst: true (31/12/2026), date_format (e.g. '%d.%m.%Y') "
                    "or date_format: excel for Excel serial numbers",
        "bool": "map the right column, translate its values with value_map (e.g. is_return: {\"退货\": \"true\", "
                "\"销售\": \"false\"}) or derive it, e.g. is_return: \"order_id.str.startswith('C')\"",
    }.get(kind, "map the right column")


def _map_columns(raw: pd.DataFrame, source: Source, spec: SourceSpec, label: str) -> pd.DataFrame:
    """The raw columns renamed to their canonical names (explicit mapping, else same name)."""
    mapped = pd.DataFrame(index=raw.index)
    for column in source.columns:
        name = column.name
        if name in spec.columns:
            raw_name = spec.columns[name]
            if raw_name not in raw.columns:
                raise DataError(
                    f"the column '{raw_name}' mapped to {source.name}.{name} is not in the file; "
                    f"columns present: {list(raw.columns)[:30]}",
                    file=label, column=raw_name, examples=raw.head(5),
                    fix=f"correct sources.{source.name}.columns.{name} in the parameters file")
            values = raw[raw_name]
        elif name in raw.columns and name not in spec.derive:
            values = raw[name]
        else:
            continue
        mapped[name] = values
    return mapped


def _check_timezone(timezone: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {timezone!r}; use an IANA name such as Asia/Shanghai or UTC") from None


def _date_order_error(exc: DateOrderError, raw: pd.DataFrame, values: pd.Series, label: str,
                      column: str) -> DataError:
    """``exc`` with the rows (file and line) holding the offending values, both orders shown."""
    text = values.astype("string").str.strip()
    kinds = [(v, order) for v, order in ((exc.day_first, "day-first only"), (exc.month_first, "month-first only")) if v]
    shown = [raw.loc[text.isin(offending).fillna(False).to_numpy(), [column] + ROW_COLUMNS]
             .head(5 // len(kinds) + 1).assign(reads=order) for offending, order in kinds]
    examples = pd.concat(shown).sort_values(ROW_COLUMNS, kind="stable") if shown else None
    return DataError(exc.problem, file=label, column=column, examples=examples, fix=exc.fix)


def read_source(name: str, spec: SourceSpec, data_dir: Path, max_failure_share: float, *,
                timezone: str = "UTC", on_rows: Callable[[int, int], None] | None = None) -> RawSource | None:
    """Read, map and type one source. ``None`` when none of its files exist (absent optional source).

    Every CSV file's rows are checked against the records counted in its bytes
    (``rawcsv.scan_csv``), Excel sheets against their non-empty rows and Parquet files against
    their metadata, so no row is lost without an error. ``_source_row`` is the physical line a
    CSV record starts on (the sheet row for Excel, the row index for Parquet).

    Parameters
    ----------
    timezone
        The report's time zone (IANA name): timestamps with a UTC offset are converted to it,
        timestamps without one are taken as already in it.
    on_rows
        Told ``(rows read, records counted)`` of the files met so far: once a CSV file's records
        are counted in its bytes, and once each file is read (the last once the source is typed).

    Raises
    ------
    DataError
        A required source or column is missing, a file cannot be read or loses rows, a column is
        mostly unreadable (which means the mapping or format settings are wrong), or dates could
        be read with day and month swapped.
    """
    _check_timezone(timezone)
    source = SOURCES[name]
    files = find_files(spec, data_dir)
    if not files:
        if name == "orders":
            needed = ", ".join(source.required_columns)
            raise DataError(f"no file matches {spec.files} in {data_dir}; every report needs an orders export "
                            f"(one row per order line with {needed}; amount may be derived from quantity and "
                            "unit_price)", file=data_dir / spec.files[0],
                            fix="put the orders export there, or point data_dir / sources.orders.files at it "
                                "(pass --data DIR or a --params file); README.md, 'Use your own data' and "
                                "'The canonical columns', explains the columns and how to map yours")
        return None
    parts, inventory = [], []
    rows_read = rows_counted = 0

    def counted(records: int) -> None:
        on_rows(rows_read, rows_counted + records)

    for path in files:
        read = _read_file(path, spec, name, counted if on_rows else None)
        frame = read.frame
        rows_read, rows_counted = rows_read + len(frame), rows_counted + int(read.raw_records)
        if on_rows and path != files[-1]:
            on_rows(rows_read, rows_counted)
        inventory.append({"file": str(path), "rows": len(frame), "raw_records": int(read.raw_records),
                          "columns": len(frame.columns), "sha256": file_sha256(path)})
        frame["_source_file"] = path.name
        frame["_source_row"] = read.origins
        parts.append(frame)
    raw = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    label = str(files[0]) if len(files) == 1 else f"{len(files)} files {spec.files} in {data_dir}"
    result = RawSource(name, pd.DataFrame(), inventory)

    mapped = _map_columns(raw, source, spec, label)
    canonical = pd.DataFrame(index=raw.index)
    bad_rows = pd.Series(False, index=raw.index)
    for column in source.columns:
        if column.name not in mapped:
            continue
        values = mapped[column.name]
        if column.name in spec.value_map:
            values = values.replace(spec.value_map[column.name])
        try:
            values, failed = coerce_column(values, column.kind, spec, timezone)
        except DateOrderError as exc:
            raise _date_order_error(exc, raw, values, label, spec.columns.get(column.name, column.name)) from None
        n_failed, n_present = int(failed.sum()), int((mapped[column.name].notna()).sum())
        if n_failed and (n_failed > max_failure_share * max(n_present, 1)):
            examples = raw.loc[failed, [spec.columns.get(column.name, column.name)] + ROW_COLUMNS]
            raise DataError(
                f"{n_failed:,} of {n_present:,} values cannot be read as {column.kind} "
                f"(canonical {name}.{column.name})",
                file=label, column=spec.columns.get(column.name, column.name), examples=examples,
                fix=_fix_hint(column.kind))
        newly_failed = failed & ~bad_rows
        if newly_failed.any():
            raw_values = mapped.loc[newly_failed, column.name].astype("string")
            result.rejected.append((newly_failed, f"unreadable_{column.name}",
                                    f"{column.name}=" + raw_values.fillna("")))
            bad_rows |= newly_failed
        canonical[column.name] = values
    for column_name, value in spec.constants.items():
        canonical[column_name], _ = coerce_column(pd.Series(value, index=raw.index), source.column(column_name).kind,
                                                  spec, timezone)
    if spec.derive:
        scope = raw.drop(columns=[c for c in canonical.columns if c in raw.columns]).join(canonical)
        for column_name, expression in spec.derive.items():
            try:
                derived = scope.eval(expression, engine="python")
            except Exception as exc:
                raise DataError(
                    f"cannot compute {name}.{column_name} = {expression!r}: {type(exc).__name__}: {exc}",
                    file=label, column=column_name, examples=raw.head(5),
                    fix="write the expression over the canonical or raw column names, e.g. "
                        "'quantity * unit_price' or \"order_id.str.startswith('C')\"") from None
            kind = source.column(column_name).kind
            try:
                canonical[column_name] = coerce_column(pd.Series(derived, index=raw.index), kind, spec, timezone)[0]
            except DateOrderError as exc:
                raise DataError(exc.problem, file=label, column=column_name, fix=exc.fix) from None
            scope[column_name] = canonical[column_name]
    for column in source.columns:
        if column.required and (column.name not in canonical or canonical[column.name].isna().all()):
            present = list(raw.columns.drop(ROW_COLUMNS))[:30]
            raise DataError(
                f"the required column {name}.{column.name} is missing or empty; columns present: {present}",
                file=label, column=column.name, examples=raw.head(5),
                fix=f"map it in the parameters file: sources.{name}.columns.{column.name}: <your column name>")
        if column.name not in canonical:
            canonical[column.name] = pd.Series(index=raw.index, dtype=_empty_dtype(column.kind))
    for column_name, values in spec.exclude.items():
        excluded = canonical[column_name].astype("string").isin([str(v) for v in values]).fillna(False) & ~bad_rows
        if excluded.any():
            result.rejected.append((excluded, "excluded_by_parameter",
                                    f"{column_name}=" + canonical.loc[excluded, column_name].astype("string")))
            bad_rows |= excluded
    canonical[ROW_COLUMNS] = raw[ROW_COLUMNS]
    result.frame = canonical[source.names + ROW_COLUMNS]
    if on_rows:
        on_rows(rows_read, rows_counted)
    return result


def _empty_dtype(kind: str) -> str:
    return {"float": "float64", "int": "Int64", "datetime": "datetime64[ns]", "bool": "boolean"}.get(kind, "string")
