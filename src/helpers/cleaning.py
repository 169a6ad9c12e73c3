"""Cleaning and integration rules (REPORT_SPEC chapter 00).

Each rule takes a canonical frame, sets rows aside in a ``Quarantine`` with the rule's name and
a reason, and returns what is kept. Nothing is dropped silently: for every source, rows read =
rows kept + rows quarantined as removed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .schema import SOURCES

RULE_DESCRIPTIONS = {
    "unreadable_value": "a value could not be read as its type (the raw value is in the detail)",
    "excluded_by_parameter": "the value is on an exclusion list in the parameters (e.g. postage codes)",
    "missing_required_value": "a required field (id, date, amount) is empty",
    "exact_duplicate": "an exact copy of an earlier row (e.g. a sync duplicate)",
    "duplicate_key": "same primary key as an earlier row with different content; the first is kept",
    "future_date": "dated after the data's as-of date (e.g. a year typed 2062)",
    "merged_duplicate_customer": "the same person in two systems (same e-mail or phone); merged into one id",
    "customer_id_remapped": "row re-keyed to the merged customer's id",
    "non_positive_amount": "a completed sale with zero or negative amount that is not a return",
    "orphan_customer_id": "the customer id is not in the customer table",
    "birth_year_missing": "birth year missing; age band set to 'Unknown'",
}


@dataclass
class Quarantine:
    """Collects set-aside rows per source and a log line per rule."""

    frames: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    log: list[dict] = field(default_factory=list)

    def set_aside(self, source: str, frame: pd.DataFrame, mask: pd.Series, rule: str,
                  detail: pd.Series | str | Callable[[pd.DataFrame], pd.Series] = "",
                  action: str = "removed") -> pd.DataFrame:
        """Move the rows under ``mask`` to quarantine; return the remaining rows (or all, if ``action`` is not removed).

        ``detail`` is a reason for every row, one per row, or a function of the rows set aside
        (which spares building text for millions of rows that stay)."""
        mask = pd.Series(mask, index=frame.index).fillna(False).astype(bool)
        n = int(mask.sum())
        if n:
            rows = frame.loc[mask].copy()
            if callable(detail):
                detail = detail(rows)
            elif isinstance(detail, pd.Series):
                detail = detail.loc[mask]
            rows.insert(0, "detail", detail)
            rows.insert(0, "action", action)
            rows.insert(0, "rule", rule)
            self.frames.setdefault(source, []).append(rows)
            self._record(source, rule, action, n, rows)
        return frame.loc[~mask] if n and action == "removed" else frame

    def note(self, source: str, rule: str, action: str, rows: pd.DataFrame) -> None:
        """Log a rule that filled or flagged values without removing rows."""
        if len(rows):
            self._record(source, rule, action, len(rows), rows)

    def _record(self, source: str, rule: str, action: str, n: int, rows: pd.DataFrame) -> None:
        key = SOURCES[source].key[0] if SOURCES[source].key else "customer_id"
        examples = rows[key].astype("string").dropna().head(5).tolist() if key in rows else []
        if not examples and "_source_row" in rows:
            examples = [f"row {r}" for r in rows["_source_row"].head(5)]
        self.log.append({"source": source, "rule": rule, "action": action, "rows": n,
                         "examples": ", ".join(map(str, examples)),
                         "description": RULE_DESCRIPTIONS.get(rule.split(":")[0], RULE_DESCRIPTIONS.get(
                             "unreadable_value" if rule.startswith("unreadable_") else rule, ""))})

    def removed(self, source: str) -> int:
        return int(sum(e["rows"] for e in self.log if e["source"] == source and e["action"] == "removed"))

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for source, parts in self.frames.items():
            path = folder / f"{source}.csv"
            pd.concat(parts, ignore_index=True).to_csv(path, index=False)
            written.append(path)
        return written

    def log_frame(self) -> pd.DataFrame:
        columns = ["source", "rule", "action", "rows", "examples", "description"]
        return pd.DataFrame(self.log, columns=columns)


def drop_missing_required(frame: pd.DataFrame, source: str, q: Quarantine) -> pd.DataFrame:
    """Rows whose required canonical fields are empty (e.g. order lines with no customer id)."""
    for column in SOURCES[source].required_columns:
        missing = frame[column].isna()
        frame = q.set_aside(source, frame, missing, f"missing_required_value:{column}", f"{column} is empty")
    return frame


def drop_exact_duplicates(frame: pd.DataFrame, source: str, q: Quarantine) -> pd.DataFrame:
    """Rows identical in every canonical column to an earlier row; the first copy is kept."""
    columns = SOURCES[source].names
    duplicated = frame.duplicated(subset=columns, keep="first")
    return q.set_aside(source, frame, duplicated, "exact_duplicate", "copy of an earlier row")


def drop_duplicate_keys(frame: pd.DataFrame, source: str, q: Quarantine) -> pd.DataFrame:
    """Rows whose primary key repeats an earlier row's; the first is kept."""
    key = [c for c in SOURCES[source].key if frame[c].notna().any()]
    if not key:
        return frame
    duplicated = frame.duplicated(subset=key, keep="first")
    return q.set_aside(source, frame, duplicated, "duplicate_key",
                       lambda rows: "key " + rows[key].astype("string").agg("/".join, axis=1))


def drop_future_dates(frame: pd.DataFrame, source: str, as_of: pd.Timestamp, q: Quarantine) -> pd.DataFrame:
    """Rows dated after the as-of day, which cannot have happened yet."""
    date_column = SOURCES[source].date_column
    if not date_column:
        return frame
    limit = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    future = frame[date_column] >= limit
    return q.set_aside(source, frame, future, "future_date",
                       lambda rows: f"{date_column}=" + rows[date_column].astype("string"))


def is_in(values: pd.Series, keys: pd.Index) -> np.ndarray:
    """``values.isin(keys)`` as a boolean array (empty values are never in), by Arrow's hash
    lookup for Arrow text: pandas' own isin turns every key into a Python object on each call."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        key_set = pa.array(pd.Series(keys, dtype=values.dtype).dropna().array)
        found = pc.is_in(pa.array(values.array), value_set=key_set)
        return found.fill_null(False).to_numpy(zero_copy_only=False)
    return values.isin(keys).fillna(False).to_numpy(dtype=bool)


def normalise_email(email: pd.Series) -> pd.Series:
    """``' Li.Wei@Example.com '`` -> ``'li.wei@example.com'``; empty -> NA."""
    text = email.astype("string").str.strip().str.lower()
    return text.mask(~text.str.contains("@", regex=False).fillna(False))


def normalise_phone(phone: pd.Series) -> pd.Series:
    """Digits only, without a leading 86 / 0086 country code: ``'+86 138-0013-8000'`` -> ``'13800138000'``."""
    digits = phone.astype("string").str.replace(r"\D", "", regex=True)
    digits = digits.str.replace(r"^(0086|86)(?=1\d{10}$)", "", regex=True)
    return digits.mask(digits.str.len().fillna(0) < 7)


def merge_duplicate_customers(customers: pd.DataFrame, q: Quarantine) -> tuple[pd.DataFrame, pd.Series]:
    """Merge accounts of the same person across systems (same normalised e-mail or phone).

    The account kept is the CRM one, then the earliest signup, then the smallest id; its empty
    attributes are filled from the merged accounts. Linking is transitive (A~B by e-mail and B~C
    by phone puts A, B, C together), found by propagating the smallest rank within each e-mail
    and phone group until nothing changes.

    Returns
    -------
    (customers kept, id map) where the id map is a Series merged id -> kept id.
    """
    order = customers.assign(
        _crm=(customers["source_system"].astype("string").str.lower() != "crm").fillna(True),
    ).sort_values(["_crm", "signup_date", "customer_id"], na_position="last", kind="stable")
    rank = pd.Series(np.arange(len(order)), index=order.index)
    keys = [normalise_email(order["email"]), normalise_phone(order["phone"])]
    label = rank.copy()
    for _ in range(20):
        before = label.copy()
        for key in keys:
            has_key = key.notna()
            if has_key.any():
                group_min = label[has_key].groupby(key[has_key]).transform("min")
                label[has_key] = np.minimum(label[has_key], group_min)
        if label.equals(before):
            break
    master_id = pd.Series(order["customer_id"].to_numpy()[label.to_numpy()], index=order.index)
    merged = master_id != order["customer_id"]
    id_map = pd.Series(master_id[merged].to_numpy(), index=order.loc[merged, "customer_id"].to_numpy())
    if merged.any():
        # Fill the kept account's empty attributes from its duplicates (first non-empty in rank order).
        combined = order.drop(columns="_crm").assign(customer_id=master_id).groupby("customer_id", sort=False).first()
        combined["signup_date"] = order.assign(customer_id=master_id).groupby("customer_id", sort=False)["signup_date"].min()
        q.set_aside("customers", order.drop(columns="_crm"), merged, "merged_duplicate_customer",
                    "merged into " + master_id.astype("string"))
        kept = combined.reset_index()[customers.columns]
    else:
        kept = order.drop(columns="_crm")
    return kept.sort_values("customer_id", kind="stable").reset_index(drop=True), id_map


def remap_customer_ids(frame: pd.DataFrame, source: str, id_map: pd.Series, q: Quarantine) -> pd.DataFrame:
    """Re-key rows of merged customers to the kept id; the changed rows are logged (original id kept in quarantine)."""
    if id_map.empty:
        return frame
    remapped = pd.Series(is_in(frame["customer_id"], id_map.index), index=frame.index)
    if remapped.any():
        q.set_aside(source, frame, remapped, "customer_id_remapped",
                    "customer_id " + frame.loc[remapped, "customer_id"] + " -> "
                    + frame.loc[remapped, "customer_id"].map(id_map), action="changed")
        ids = frame["customer_id"].copy()
        ids[remapped] = ids[remapped].map(id_map)
        frame = frame.assign(customer_id=ids)
    return frame


def drop_non_positive_amounts(orders: pd.DataFrame, q: Quarantine) -> pd.DataFrame:
    """Completed sales lines with a zero or negative amount that are not returns are errors."""
    completed = orders["status"].fillna("completed").eq("completed")
    bad = completed & ~orders["is_return"].fillna(False).astype(bool) & (orders["amount"] <= 0)
    return q.set_aside("orders", orders, bad, "non_positive_amount",
                       lambda rows: "amount=" + rows["amount"].astype("string"))


def drop_orphans(frame: pd.DataFrame, source: str, known_ids: pd.Index, q: Quarantine) -> pd.DataFrame:
    """Rows whose customer id is not in the customer table."""
    orphan = ~is_in(frame["customer_id"], known_ids)
    return q.set_aside(source, frame, orphan, "orphan_customer_id",
                       lambda rows: "customer_id " + rows["customer_id"].astype("string") + " unknown")
