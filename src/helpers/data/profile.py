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
