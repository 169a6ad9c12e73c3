"""Cleaning and integration rules (REPORT_SPEC chapter 00).

Each rule takes a canonical frame, sets rows aside in a ``Quarantine`` with the rule's name and
a reason, and returns what is kept. Nothing is dropped silently: for every source, rows read =
rows kept + rows quarantined as removed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from helpers.data.schema import PERSONAL_FIELDS, SOURCES
from helpers.errors import DataError
from helpers.report import export

RULE_DESCRIPTIONS = {
    "unreadable_value": "a value could not be read as its type (the raw value is in the detail)",
    "excluded_by_parameter": "the value is on an exclusion list in the parameters (e.g. postage codes)",
    "missing_required_value": "a required field (id, date, amount) is empty",
    "unknown_value": "a category value outside the column's vocabulary (translate it with value_map)",
    "exact_duplicate": "an exact copy of an earlier row (e.g. a sync duplicate)",
    "duplicate_key": "same primary key as an earlier row with other values; the first row in file order is kept",
    "order_with_several_customers": "an order id carried by more than one customer; every line of it is set aside",
    "future_date": "dated after the data's as-of date (e.g. a year typed 2062)",
    "date_before_earliest": "dated before earliest_date (e.g. a 1900-01-01 placeholder)",
    "date_order": "a time before the one it must follow (e.g. resolved before the ticket was opened)",
    "non_finite_value": "a number that is infinite",
    "out_of_range": "a number outside the column's valid range (e.g. NPS 11 on the 0-10 scale)",
    "amount_above_ceiling": "an amount above amount_ceiling in the parameters",
    "merged_duplicate_customer": "the same person in two systems (same e-mail or phone); merged into one id",
    "customer_id_remapped": "row re-keyed to the merged customer's id",
    "non_positive_amount": "a completed sale with zero or negative amount that is not a return",
    "orphan_customer_id": "the customer id is not in the customer table",
    "birth_year_missing": "birth year missing; age band set to 'Unknown'",
    "signup_after_first_order": "the sign-up date is after the first purchase (kept; check the CRM export)",
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
            # Personal columns never reach a quarantine file.
            rows = frame.loc[mask].drop(columns=[c for c in PERSONAL_FIELDS if c in frame.columns])
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
        """One ``<source>.csv`` per source with rows set aside, safe to open in a spreadsheet
        (the raw values come from the customer's exports)."""
        folder.mkdir(parents=True, exist_ok=True)
        return [export.write_csv(pd.concat(parts, ignore_index=True), folder / f"{source}.csv")
                for source, parts in self.frames.items()]

    def log_frame(self) -> pd.DataFrame:
        columns = ["source", "rule", "action", "rows", "examples", "description"]
        return pd.DataFrame(self.log, columns=columns)


def drop_missing_required(frame: pd.DataFrame, source: str, q: Quarantine) -> pd.DataFrame:
    """Rows whose required canonical fields are empty (e.g. order lines with no customer id)."""
    for column in SOURCES[source].required_columns:
        missing = frame[column].isna()
        frame = q.set_aside(source, frame, missing, f"missing_required_value:{column}", f"{column} is empty")
    return frame


def repeated_rows(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """True for each row equal in ``columns`` to an earlier row (a missing value equals a missing
    value): ``frame.duplicated(subset=columns, keep="first")``, grouped by DuckDB instead, which
    at 16 million order lines of text columns takes 7 s where pandas takes 24 s."""
    import duckdb

    flags = np.zeros(len(frame), dtype=bool)
    if len(frame) < 2:
        return flags
    table = frame[columns].reset_index(drop=True).assign(__position=np.arange(len(frame)))
    names = [f'"{column}"' for column in columns]
    same = " AND ".join(f"t.{name} IS NOT DISTINCT FROM g.{name}" for name in names)
    connection = duckdb.connect()
    try:
        connection.register("t", table)
        later = connection.execute(
            f"WITH g AS (SELECT {', '.join(names)}, min(__position) AS first FROM t GROUP BY ALL HAVING count(*) > 1) "
            f"SELECT t.__position FROM t JOIN g ON {same} WHERE t.__position <> g.first").fetchnumpy()["__position"]
    finally:
        connection.close()
    flags[later] = True
    return flags


def drop_exact_duplicates(frame: pd.DataFrame, source: str, q: Quarantine) -> pd.DataFrame:
    """Rows identical in every canonical column to an earlier row; the first copy is kept."""
    duplicated = repeated_rows(frame, list(SOURCES[source].names))
    return q.set_aside(source, frame, duplicated, "exact_duplicate", "copy of an earlier row")


def drop_duplicate_keys(frame: pd.DataFrame, source: str, q: Quarantine) -> pd.DataFrame:
    """Rows whose primary key repeats an earlier row's with other values: the first row in file
    order is kept, the later ones are set aside with the columns in which they differ. Only rows
    with every key column filled take part (an export without line ids has no line key)."""
    key = list(SOURCES[source].key)
    if not key or not all(frame[c].notna().any() for c in key):
        return frame
    keyed = frame[key].notna().all(axis=1)
    duplicated = pd.Series(repeated_rows(frame, key), index=frame.index) & keyed
    if not duplicated.any():
        return frame
    # Personal fields are never named in a detail.
    compared = [c for c in SOURCES[source].names if c not in key and c in frame and c not in PERSONAL_FIELDS]

    def detail(rows: pd.DataFrame) -> pd.Series:
        first = rows[key].merge(frame.loc[keyed & ~duplicated, key + compared], on=key, how="left")
        first = first.set_axis(rows.index)
        text = "key " + rows[key].astype("string").agg("/".join, axis=1)
        for column in compared:
            later, kept_value = rows[column], first[column]
            differs = ~((later == kept_value).fillna(False) | (later.isna() & kept_value.isna()))
            if differs.any():
                text = text.mask(differs, text + f"; {column} " + kept_value.astype("string").fillna("empty")
                                 + " kept, " + later.astype("string").fillna("empty") + " set aside")
        return text

    return q.set_aside(source, frame, duplicated, "duplicate_key", detail)


def drop_orders_with_several_customers(orders: pd.DataFrame, q: Quarantine) -> pd.DataFrame:
    """Every line of an order id that more than one customer carries: whose order it is cannot be
    told, and counting it for either customer would be a guess."""
    if orders.empty:
        return orders
    order_codes, _ = pd.factorize(orders["order_id"])
    customer_codes, _ = pd.factorize(orders["customer_id"])  # a missing id (-1) counts as a customer of its own
    known = order_codes >= 0
    per_order = pd.Series(customer_codes[known]).groupby(order_codes[known]).agg(["min", "max"])
    several = np.zeros(len(orders), dtype=bool)
    several[known] = (per_order["min"] != per_order["max"]).to_numpy()[order_codes[known]]

    def detail(rows: pd.DataFrame) -> pd.Series:  # the count, for the few orders set aside only
        customers = rows[["order_id", "customer_id"]].drop_duplicates()["order_id"].value_counts()
        counts = rows["order_id"].map(customers)
        return "order " + rows["order_id"].astype("string") + " carries " + counts.astype("string") + " customers"

    return q.set_aside("orders", orders, several, "order_with_several_customers", detail)


# What a widespread violation of a rule most likely means, and how to fix it.
_DOMAIN_FIXES = {
    "out_of_range": "check that the column mapped is the right one and on the scale the report expects "
                    "(NPS 0-10, CSAT 1-5); convert another scale with derive, e.g. csat_score: \"csat_raw / 2\"",
    "non_finite_value": "export the numbers again; infinite values come from a division by zero in the export",
    "amount_above_ceiling": "check the amount column and its decimal setting, or raise amount_ceiling",
    "date_before_earliest": "check the date format (dayfirst / date_format) and placeholder dates such as "
                            "1900-01-01, or set earliest_date in the parameters",
    "future_date": "check the date format (dayfirst / date_format), or set data_as_of to the day of the export",
    "date_order": "check that the columns mapped to the two times are the right ones and in the same time zone",
}


def _widespread(frame: pd.DataFrame, source: str, column: str, mask: pd.Series, present: pd.Series, rule: str,
                max_share: float, label: str) -> pd.Series:
    """``mask`` as a boolean Series. Stops the run when it covers more than ``max_share`` of the
    values present: that is a mapping or format mistake, not a few bad rows."""
    mask = pd.Series(mask, index=frame.index).fillna(False).astype(bool)
    n, n_present = int(mask.sum()), int(present.sum())
    if n and n > max_share * max(n_present, 1):
        kind = rule.split(":")[0]
        raise DataError(
            f"{n:,} of {n_present:,} values of {source}.{column} break the rule {rule} "
            f"({RULE_DESCRIPTIONS[kind]})", file=label, column=column,
            examples=example_rows(frame, mask, column), fix=_DOMAIN_FIXES.get(kind, "check the mapping of this column"))
    return mask


def example_rows(frame: pd.DataFrame, mask: pd.Series, column: str) -> pd.DataFrame:
    """The first rows under ``mask``: the column with the file and line each row came from."""
    shown = [c for c in (column, "_source_file", "_source_row") if c in frame]
    return frame.loc[mask, shown].head(5).rename(columns={"_source_file": "file", "_source_row": "line"})


def _apply(frame: pd.DataFrame, source: str, column: str, mask: pd.Series, rule: str, detail, q: Quarantine
           ) -> pd.DataFrame:
    """Rows are set aside; a customer's attribute is cleared instead (the row is kept and a copy
    quarantined as changed), since dropping a customer would orphan every order of theirs."""
    if not mask.any():
        return frame
    if source == "customers":
        q.set_aside(source, frame, mask, rule, detail, action="changed")
        return frame.assign(**{column: frame[column].mask(mask)})
    return q.set_aside(source, frame, mask, rule, detail)


def check_domains(frame: pd.DataFrame, source: str, q: Quarantine, *, earliest: pd.Timestamp,
                  as_of: pd.Timestamp, amount_ceiling: float | None = None, max_share: float = 0.2,
                  label: str = "") -> pd.DataFrame:
    """The value rules declared in the schema, for every column of ``source``.

    Numbers are finite and within their ``valid`` range (order amounts also within
    ``amount_ceiling``); dates lie from ``earliest`` to the end of the ``as_of`` day; the source's
    ``date_order`` holds (a ticket is answered and resolved after it is opened). A violating row
    goes to quarantine with the rule's name (``out_of_range:nps_score``); a customer's attribute is
    cleared instead. A rule broken by more than ``max_share`` of a column's values stops the run.
    """
    spec = SOURCES[source]
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    earliest = pd.Timestamp(earliest)
    for column in spec.columns:
        name = column.name
        if name not in frame or column.kind not in ("float", "int", "datetime"):
            continue
        values, present = frame[name], frame[name].notna()
        if column.kind == "datetime":
            checks = [("date_before_earliest", values < earliest, f"before {earliest.date()}"),
                      ("future_date", values >= end, f"after {pd.Timestamp(as_of).date()}")]
        else:
            numbers = values.astype("Float64")
            infinite = pd.Series(np.isinf(numbers.fillna(0).to_numpy(dtype=float)), index=frame.index)
            checks = [("non_finite_value", infinite, "is infinite")]
            if column.valid:
                low, high = column.valid
                outside = pd.Series(False, index=frame.index)
                if low is not None:
                    outside |= (numbers < low).fillna(False)
                if high is not None:
                    outside |= (numbers > high).fillna(False)
                checks.append(("out_of_range", outside & ~infinite,
                               f"outside {low if low is not None else '-inf'} to {high if high is not None else 'inf'}"))
            if source == "orders" and name == "amount" and amount_ceiling:
                checks.append(("amount_above_ceiling", numbers.abs() > amount_ceiling, f"above {amount_ceiling:,g}"))
        for kind, mask, why in checks:
            rule = kind if (kind == "future_date" and name == spec.date_column) else f"{kind}:{name}"
            # Masks are aligned by row label, so rows set aside by an earlier check drop out.
            mask = _widespread(frame, source, name, mask, present, rule, max_share, label)
            frame = _apply(frame, source, name, mask, rule,
                           lambda rows, name=name, why=why: f"{name}=" + rows[name].astype("string") + f" {why}", q)
            present = frame[name].notna()
    for later, earlier in spec.date_order:
        if later not in frame or earlier not in frame:
            continue
        rule = f"date_order:{later}"
        before = _widespread(frame, source, later, (frame[later] < frame[earlier]).fillna(False),
                             frame[later].notna(), rule, max_share, label)
        frame = _apply(frame, source, later, before, rule,
                       lambda rows, a=later, b=earlier: f"{a}=" + rows[a].astype("string") + f" before {b}="
                       + rows[b].astype("string"), q)
    return frame


# Common names of vocabulary values in exports, offered in the fix (never applied unasked).
SYNONYMS = {
    "completed": ("已完成", "完成", "成功", "paid", "complete", "closed", "delivered", "shipped", "done"),
    "cancelled": ("已取消", "取消", "canceled", "void", "voided", "cancel"),
    "refunded": ("已退款", "退款", "refund", "returned", "已退货"),
    "complaint": ("投诉", "complaints", "claim"),
    "consultation": ("咨询", "inquiry", "enquiry", "question", "query", "support"),
    "visit": ("访问", "session_start", "page_view", "pageview", "landing"),
    "product_view": ("浏览商品", "商品浏览", "view_item", "item_view", "view_product"),
    "add_to_cart": ("加购", "加入购物车", "cart_add", "addtocart", "add_cart"),
    "purchase": ("购买", "下单", "checkout", "order"),
    "feature_use": ("功能使用", "feature", "use_feature"),
    "online": ("线上", "网店", "电商", "website", "ecommerce", "e-commerce", "webshop"),
    "offline": ("线下", "门店", "store", "retail", "shop", "branch"),
    "app": ("小程序", "mobile_app", "mobile"),
    "web": ("网页", "pc", "desktop", "mobile_web"),
}


def vocabulary_key(values: pd.Index) -> pd.Index:
    """Trimmed, case-folded, with runs of spaces and hyphens as one underscore:
    ``' Add to cart'`` -> ``'add_to_cart'``."""
    text = pd.Series(values, dtype="string").str.strip().str.casefold().str.replace(r"[\s\-]+", "_", regex=True)
    return pd.Index(text, dtype="string")


def _suggest(value: str, vocabulary: tuple[str, ...]) -> str:
    key = vocabulary_key(pd.Index([value]))[0]
    for target in vocabulary:
        if key in set(vocabulary_key(pd.Index(list(SYNONYMS.get(target, ()))))):
            return target
    return "<" + " | ".join(vocabulary) + ">"


def normalise_vocabularies(frame: pd.DataFrame, source: str, q: Quarantine, *,
                           value_map: dict[str, dict[str, str]] | None = None, max_share: float = 0.2,
                           label: str = "") -> pd.DataFrame:
    """Category columns with a known vocabulary (``schema.Column.vocabulary``), trimmed and case
    folded in this one place, so ``' VISIT '``, ``'Visit'`` and ``'visit'`` are one value; the
    parameters' ``value_map`` is matched the same way. Unknown values are set aside as
    ``unknown_value:<column>`` when rare (at most ``max_share`` of the values present); otherwise
    the run stops with the values, their counts and the ``value_map`` lines that fix them."""
    value_map = value_map or {}
    for column in SOURCES[source].columns:
        if not column.vocabulary or column.name not in frame or not frame[column.name].notna().any():
            continue
        # Work on the distinct values only: millions of rows carry a handful of them.
        codes, uniques = pd.factorize(frame[column.name])
        translate = value_map.get(column.name, {})
        mapped = dict(zip(vocabulary_key(pd.Index(list(translate))), translate.values()))
        canonical = vocabulary_key(pd.Index([mapped.get(k, k) for k in vocabulary_key(pd.Index(uniques))]))
        known = np.asarray(canonical.isin(column.vocabulary))
        values = pd.Series(pd.array(np.asarray(canonical, dtype=object)[np.maximum(codes, 0)], dtype="string"),
                           index=frame.index).mask(codes < 0)
        unknown = pd.Series((codes >= 0) & ~known[np.maximum(codes, 0)], index=frame.index)
        raw = frame[column.name]
        frame = frame.assign(**{column.name: values})
        if not unknown.any():
            continue
        n_present = int((codes >= 0).sum())
        if unknown.sum() > max_share * n_present:
            counts = pd.Series(np.bincount(codes[codes >= 0], minlength=len(uniques))[~known],
                               index=[str(v) for v in np.asarray(uniques, dtype=object)[~known]])
            counts = counts.sort_values(ascending=False, kind="stable").head(10)
            listed = ", ".join(f"'{value}' ({n:,} rows)" for value, n in counts.items())
            lines = ", ".join(f'"{value}": {_suggest(value, column.vocabulary)}' for value in counts.index)
            raise DataError(
                f"{int(unknown.sum()):,} of {n_present:,} values of {source}.{column.name} are not among "
                f"{', '.join(column.vocabulary)}: {listed}", file=label, column=column.name,
                examples=example_rows(frame.assign(**{column.name: raw}), unknown, column.name),
                fix=f"translate them in the parameters file, under sources.{source}:\n"
                    f"  value_map:\n    {column.name}: {{{lines}}}")
        frame = q.set_aside(source, frame, unknown, f"unknown_value:{column.name}",
                            lambda rows, raw=raw, name=column.name: f"{name}=" + raw[rows.index].astype("string"))
    return frame


def flag_signup_after_first_order(customers: pd.DataFrame, q: Quarantine) -> None:
    """Accounts whose sign-up day is after the day of their first purchase: kept as they are
    (the order is the fact) and listed for the CRM team."""
    signup = pd.to_datetime(customers["signup_date"])  # all empty when the customers come from the orders
    late = (signup.dt.normalize() > customers["first_order_date"].dt.normalize()).fillna(False)
    q.note("customers", "signup_after_first_order", "flagged", customers.loc[late])


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
