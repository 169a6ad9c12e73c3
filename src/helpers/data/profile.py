"""A profile of the prepared tables (rows, missing values, category values), kept in the
prepare log so that the next quarter's chapter 00 can show what drifted."""
from __future__ import annotations

import pandas as pd

from helpers.data.schema import SOURCES

PROFILE_MAX_VALUES = 200
# Columns the preparation derives ("Unknown" segment, "Uncategorised" category where nothing is known).
DERIVED_CATEGORIES = {"customers": ("segment",), "orders": ("category",)}


def profile_tables(tables: dict[str, pd.DataFrame]) -> dict:
    """Rows, null rate per column and the values of category columns, for drift checks next quarter."""
    profile = {}
    for name, table in tables.items():
        kinds = {c.name: c.kind for c in SOURCES[name].columns} if name in SOURCES else {}
        kinds.update({column: "category" for column in DERIVED_CATEGORIES.get(name, ())})
        categories = {}
        for column, kind in kinds.items():
            if kind == "category" and column in table:
                values = table[column].dropna().astype(str).unique()
                if len(values) <= PROFILE_MAX_VALUES:
                    categories[column] = sorted(values)
        profile[name] = {
            "rows": int(len(table)),
            "null_rate": {c: round(float(table[c].isna().mean()), 4) for c in table.columns},
            "categories": categories,
        }
    return profile


# Where a customer has no signup date, the first purchase tells when they were known.
FIRST_KNOWN_FALLBACK = {"customers": "first_order_date"}


def tables_as_of(tables: dict[str, pd.DataFrame], day) -> dict[str, pd.DataFrame]:
    """The prepared tables cut at the end of ``day``: the rows whose date column (the schema's
    ``date_column``) falls on or before it. Customers without a signup date count from their
    first purchase; a customer with neither date is kept (nothing says they came later); a table
    without a date column (products) is kept whole. A table with no row by then is left out: it
    did not exist yet. Values recorded later on a row kept (a resolution time) stay as they are.
    """
    day = pd.Timestamp(day)
    if pd.isna(day):
        raise ValueError("day must be a date such as 2026-06-30")
    end = day.normalize() + pd.Timedelta(days=1)  # the first instant after the day
    cut = {}
    for name, table in tables.items():
        column = SOURCES[name].date_column if name in SOURCES else None
        if column is None or column not in table:
            cut[name] = table
            continue
        known = table[column]
        keep = known < end
        fallback = FIRST_KNOWN_FALLBACK.get(name)
        if fallback in table:
            known = known.fillna(table[fallback])
            keep = (known < end) | known.isna()
        rows = int(keep.sum())
        if not rows:
            continue
        # Tables sorted by their date (the prepared orders) keep a first part: cut as a slice, not copied.
        cut[name] = table.iloc[:rows] if keep.iloc[:rows].all() else table.loc[keep]
    return cut


def profile_as_of(tables: dict[str, pd.DataFrame], day) -> dict:
    """The profile (``profile_tables``) of the prepared tables as they stood at the end of ``day``
    (``tables_as_of``): what the report of the quarter ending that day would have kept, when
    that report is not at hand."""
    return profile_tables(tables_as_of(tables, day))
