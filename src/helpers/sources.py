"""Read raw sources (CSV, Parquet, Excel) and map them onto the canonical columns.

Everything about a real export is set in its parameters (``params.SourceSpec``): file names or
globs, format, encoding, separator, sheet, column mapping, derived columns, date and number
formats. Values that cannot be read are either an error (a column that is mostly wrong is a
mapping mistake) or, when they are a few, rows set aside with their reason.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import DataError
from .params import SourceSpec
from .schema import SOURCES, Source

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
    return pd.read_csv(path, encoding=spec.encoding, encoding_errors="strict", skipinitialspace=True, **options)


def _read_file(path: Path, spec: SourceSpec) -> pd.DataFrame:
    fmt = _format_of(path, spec)
    try:
        if fmt == "csv":
            frame = _read_csv(path, spec)
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_excel(path, sheet_name=spec.sheet if spec.sheet is not None else 0, dtype=str)
    except UnicodeDecodeError as exc:
        raise DataError(f"the file is not valid {spec.encoding} text ({exc.reason} at byte {exc.start})", file=path,
                        fix="set encoding for this source in the parameters file (for example gb18030 for Chinese "
                            "Windows exports, utf-8-sig for UTF-8 with a byte-order mark, latin-1)") from None
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty (no header and no rows)", file=path,
                        fix="export the data again, or remove the file from this source's files") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"the file cannot be parsed as CSV: {exc}", file=path,
                        fix="check the separator (sep), quoting and that the file was not truncated") from None
    except Exception as exc:  # corrupt parquet / excel files raise library-specific errors
        raise DataError(f"the file cannot be read as {fmt}: {type(exc).__name__}: {exc}", file=path,
                        fix="check that the file is complete and of the format given, or export it again") from None
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    if frame.empty:
        raise DataError("the file has a header but no rows", file=path,
                        fix="export the data again, or remove the file from this source's files")
    return frame


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


def _parse_dates(raw: pd.Series, spec: SourceSpec) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(raw):
        return pd.to_datetime(raw).dt.tz_localize(None) if getattr(raw.dt, "tz", None) else raw.astype("datetime64[ns]")
    if spec.date_format == "excel" or pd.api.types.is_numeric_dtype(raw):
        serial = pd.to_numeric(raw, errors="coerce")
        return (pd.Timestamp("1899-12-30") + pd.to_timedelta(serial, unit="D")).astype("datetime64[ns]")
    if not spec.date_format and not spec.dayfirst:
        fast = _arrow_cast(raw, pa.timestamp("ns"))
        if fast is not None:
            return fast
    text = raw.astype("string").str.strip()
    if spec.date_format:
        parsed = pd.to_datetime(text, format=spec.date_format, errors="coerce")
    else:
        parsed = pd.to_datetime(text, errors="coerce", dayfirst=spec.dayfirst, format="mixed")
    return parsed.astype("datetime64[ns]")


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


def coerce_column(raw: pd.Series, kind: str, spec: SourceSpec) -> tuple[pd.Series, pd.Series]:
    """Convert ``raw`` to the canonical ``kind``; returns the values and a mask of unreadable ones."""
    if kind == "float":
        values = _parse_numbers(raw, spec)
    elif kind == "int":
        values = _parse_numbers(raw, spec).round().astype("Int64")
    elif kind == "datetime":
        values = _parse_dates(raw, spec)
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
        "bool": "map the right column or derive it, e.g. is_return: \"order_id.str.startswith('C')\"",
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


def read_source(name: str, spec: SourceSpec, data_dir: Path, max_failure_share: float) -> RawSource | None:
    """Read, map and type one source. ``None`` when none of its files exist (absent optional source).

    Raises
    ------
    DataError
        A required source or column is missing, a file cannot be read, or a column is mostly
        unreadable (which means the mapping or format settings are wrong).
    """
    source = SOURCES[name]
    files = find_files(spec, data_dir)
    if not files:
        if name == "orders":
            raise DataError(f"no file matches {spec.files} in {data_dir}", file=data_dir / spec.files[0],
                            fix="put the orders export there, or point data_dir / sources.orders.files at it "
                                "(pass --data DIR or a --params file)")
        return None
    parts, inventory = [], []
    for path in files:
        frame = _read_file(path, spec)
        inventory.append({"file": str(path), "rows": len(frame), "columns": len(frame.columns),
                          "sha256": file_sha256(path)})
        frame["_source_file"] = path.name
        frame["_source_row"] = np.arange(len(frame)) + 2 if _format_of(path, spec) != "parquet" else np.arange(len(frame))
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
        values, failed = coerce_column(values, column.kind, spec)
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
        canonical[column_name], _ = coerce_column(pd.Series(value, index=raw.index), source.column(column_name).kind, spec)
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
            canonical[column_name] = coerce_column(pd.Series(derived, index=raw.index), kind, spec)[0]
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
    return result


def _empty_dtype(kind: str) -> str:
    return {"float": "float64", "int": "Int64", "datetime": "datetime64[ns]", "bool": "boolean"}.get(kind, "string")
