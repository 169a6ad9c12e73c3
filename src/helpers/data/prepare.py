"""Validate, clean and integrate the raw sources once per run into prepared Parquet tables.

Every chapter reads the prepared tables, never the raw files. The log written beside them
(``prepare_log.json``) feeds the data-quality chapter: source inventory, cleaning rules with
counts and example ids, the reconciliation of rows in and out, and the personal fields read.
"""
from __future__ import annotations

import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import pandas as pd

from helpers import facts
from helpers.data import cleaning, privacy
from helpers.data.profile import profile_tables
from helpers.data.schema import FREE_TEXT_COLUMNS, PERSONAL_FIELDS, SOURCES
from helpers.data.sources import ROW_COLUMNS, RawSource, read_source
from helpers.errors import DataError
from helpers.facts import customer_facts
from helpers.params import Params
from helpers.paths import RunLayout

PREPARE_LOG = "prepare_log.json"
SEGMENTS = {"large": "Large enterprise", "medium": "Medium enterprise", "small": "Small enterprise"}
AGE_BANDS = [(0, 25, "under 25"), (25, 35, "25-34"), (35, 45, "35-44"), (45, 55, "45-54"), (55, 200, "55 and over")]
# The values the preparation writes in words (the report translates them where it shows them).
VALUE_NAMES = (*SEGMENTS.values(), "Individual", "Unknown", "Uncategorised", *(label for _, _, label in AGE_BANDS))


def as_of_date(params: Params) -> pd.Timestamp:
    """The day after which a date is in the future: ``data_as_of`` or today."""
    return pd.Timestamp(params.data_as_of) if params.data_as_of else pd.Timestamp.today().normalize()


def _inventory_entry(source: RawSource) -> dict:
    """What was read from a source: files, rows, columns mapped and the dates covered."""
    frame, column = source.frame, SOURCES[source.name].date_column
    first = last = None
    if column and column in frame and frame[column].notna().any():
        first, last = str(frame[column].min().date()), str(frame[column].max().date())
    return {"source": source.name, "status": "read", "files": source.files, "rows": source.rows_read,
            "raw_records": int(sum(f.get("raw_records", f["rows"]) for f in source.files)),
            "columns_mapped": int(frame.drop(columns=ROW_COLUMNS).notna().any().sum()),
            "date_from": first, "date_to": last}


ProgressCallback = Callable[..., None]  # (message) when a step starts, (message, done, total, unit) as it advances


def _counter(progress: ProgressCallback, label: str, total: int, unit: str) -> Callable[[], None]:
    """Reports ``label`` as 0 of ``total`` done now, and one more at each call."""
    done = itertools.count(1)
    progress(label, 0, total, unit)
    return lambda: progress(label, next(done), total, unit)


def _clean_generic(raw: RawSource, params: Params, as_of: pd.Timestamp, q: cleaning.Quarantine,
                   progress: ProgressCallback = lambda *args: None) -> pd.DataFrame:
    """The rules every source obeys, in order: unreadable values, required fields, vocabularies,
    value domains, exact copies, conflicting keys."""
    name, label, limit = raw.name, source_label(raw), params.max_parse_failure_share

    def unreadable(frame: pd.DataFrame) -> pd.DataFrame:
        for mask, rule, detail in raw.rejected:
            frame = q.set_aside(name, frame, mask.reindex(frame.index, fill_value=False), rule, detail)
        return frame

    rules = (unreadable,
             lambda frame: cleaning.drop_missing_required(frame, name, q),
             lambda frame: cleaning.normalise_vocabularies(frame, name, q, value_map=params.sources[name].value_map,
                                                           max_share=limit, label=label),
             lambda frame: cleaning.check_domains(frame, name, q, earliest=pd.Timestamp(params.earliest_date),
                                                  as_of=as_of, amount_ceiling=params.amount_ceiling,
                                                  max_share=limit, label=label),
             lambda frame: cleaning.drop_exact_duplicates(frame, name, q),
             lambda frame: cleaning.drop_duplicate_keys(frame, name, q))
    rule_done = _counter(progress, f"cleaning {name}", len(rules), "rules")
    frame = raw.frame
    for rule in rules:
        frame = rule(frame)
        rule_done()
    return frame


def source_label(raw: RawSource) -> str:
    """The file a source was read from, or how many files, for messages."""
    files = [f["file"] for f in raw.files]
    return files[0] if len(files) == 1 else f"{len(files)} {raw.name} files ({', '.join(Path(f).name for f in files[:3])}" \
        + (", ...)" if len(files) > 3 else ")")


def _scrub_free_text(raw: RawSource, names: pd.Series, masked: dict[str, dict[str, int]]) -> None:
    """Phone numbers, e-mail addresses, ID and card numbers and the customer's own name are
    replaced in free text before anything is stored or shown; counts go to ``masked``."""
    for column in FREE_TEXT_COLUMNS[raw.name]:
        text = raw.frame[column]
        if not text.notna().any():
            continue
        own_names = raw.frame["customer_id"].map(names) if len(names) else None
        raw.frame[column], counts = privacy.scrub_text(text, own_names)
        masked[f"{raw.name}.{column}"] = {kind: int(n) for kind, n in counts.items()}


def _age_band(birth_year: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    age = as_of.year - birth_year.astype("Float64")
    band = pd.Series("Unknown", index=birth_year.index, dtype="string")
    for low, high, label in AGE_BANDS:
        band[((age >= low) & (age < high)).fillna(False)] = label
    return band


def _finish_customers(customers: pd.DataFrame | None, orders: pd.DataFrame, as_of: pd.Timestamp,
                      q: cleaning.Quarantine) -> pd.DataFrame:
    first_order = facts.purchase_lines(orders, columns=["customer_id"]).groupby("customer_id")["order_date"].min()
    if customers is None:
        # No customer table: one row per customer seen in the orders, with the region and country
        # of their latest order line where the export carries them.
        latest = orders.sort_values("order_date", kind="stable").groupby("customer_id")[["region", "country"]].last()
        customers = pd.DataFrame({"customer_id": pd.Index(orders["customer_id"].unique(), dtype="string")})
        for column in SOURCES["customers"].names[1:]:
            customers[column] = latest[column].reindex(customers["customer_id"]).to_numpy() \
                if column in latest else pd.NA
    customers = customers.drop(columns=[c for c in PERSONAL_FIELDS if c in customers], errors="ignore")
    customers = customers.drop(columns=ROW_COLUMNS, errors="ignore").copy()
    size = customers["company_size"].astype("string").str.lower()
    ctype = customers["customer_type"].astype("string").str.lower()
    segment = size.map(SEGMENTS).astype("string")
    segment = segment.mask(segment.isna() & ctype.eq("individual").fillna(False), "Individual")
    segment = segment.mask(segment.isna() & ctype.eq("enterprise").fillna(False), "Enterprise (size unknown)")
    customers["segment"] = segment.fillna("Unknown")
    for column in ("region", "country", "industry", "acquisition_channel", "customer_type"):
        customers[column] = customers[column].astype("string").fillna("Unknown")
    customers["industry"] = customers["industry"].mask(ctype.eq("individual").fillna(False), "Individual")
    customers["age_band"] = _age_band(customers["birth_year"], as_of)
    individuals_missing = ctype.eq("individual").fillna(False) & customers["birth_year"].isna()
    q.note("customers", "birth_year_missing", "filled", customers.loc[individuals_missing])
    customers["first_order_date"] = customers["customer_id"].map(first_order).astype("datetime64[ns]")
    cleaning.flag_signup_after_first_order(customers, q)
    return customers.reset_index(drop=True)


def _finish_orders(orders: pd.DataFrame, products: pd.DataFrame | None) -> pd.DataFrame:
    orders = orders.drop(columns=ROW_COLUMNS)
    orders["region"] = orders["region"].fillna(orders["country"])
    orders["status"] = orders["status"].astype("string").fillna("completed")
    orders["is_return"] = orders["is_return"].fillna(False).astype(bool)
    orders["channel"] = orders["channel"].astype("string").fillna("Unknown")
    if orders["line_id"].isna().any():
        orders["line_id"] = (orders.groupby("order_id").cumcount() + 1).astype("string")
    orders["net_amount"] = facts.net_amount(orders)
    orders["is_purchase"] = facts.is_purchase(orders)
    if products is not None and products["category"].notna().any():
        category = products.drop_duplicates("product_id").set_index("product_id")["category"]
        orders["category"] = orders["product_id"].map(category).astype("string").fillna("Uncategorised")
    else:
        orders["category"] = pd.Series("Uncategorised", index=orders.index, dtype="string")
    return orders.sort_values(["order_date", "order_id", "line_id"], kind="stable").reset_index(drop=True)


def _finish_tickets(tickets: pd.DataFrame) -> pd.DataFrame:
    tickets = tickets.drop(columns=ROW_COLUMNS)
    if tickets["reopened"].notna().any():  # an unmapped column stays empty, so no reopened rate is claimed
        tickets["reopened"] = tickets["reopened"].fillna(False).astype(bool)
    hours = pd.Timedelta(hours=1)
    tickets["first_response_hours"] = (tickets["first_response_at"] - tickets["created_at"]) / hours
    tickets["resolution_hours"] = (tickets["resolved_at"] - tickets["created_at"]) / hours
    return tickets


def _check_scope(orders: pd.DataFrame, params: Params, files: list[dict]) -> None:
    period = params.period
    purchases = facts.purchase_lines(orders, columns=[])["order_date"]
    if purchases.empty:
        raise DataError("no valid purchases are left after cleaning", file=files[0]["file"],
                        fix="check the orders mapping (amount, status, is_return) and the quarantine files")
    in_quarter = period.contains(purchases).sum()
    if in_quarter == 0:
        first, last = purchases.min().date(), purchases.max().date()
        raise DataError(
            f"the quarter {period} has no valid orders; the orders cover {first} to {last}",
            file=files[0]["file"], column="order_date",
            fix=f"choose a quarter between {first:%Y}Q{(first.month - 1) // 3 + 1} and "
                f"{last:%Y}Q{(last.month - 1) // 3 + 1} (--quarter), or check the date format (dayfirst / date_format)")


def prepare(params: Params, layout: RunLayout, progress: ProgressCallback = lambda *args: None) -> dict:
    """Read every source of ``params``, clean and integrate them, and write the prepared tables.

    ``progress(message)`` is called as each step starts, ``progress(message, done, total, unit)``
    as a counted one advances: rows read of a source's records, cleaning rules, integration steps.

    Returns the prepare log (also written as ``prepare_log.json``); the tables themselves are
    left to the chapters to read, so the caller holds no copy of them while chapters run.

    Raises ``DataError`` (naming file, column, example rows and the fix) before anything is written
    when the input cannot be used.
    """
    started = time.perf_counter()
    customer_facts.check_engine(params.facts_engine)  # before the sources are read: pyspark and Java are there
    as_of = as_of_date(params)
    q = cleaning.Quarantine()
    inventory: dict[str, dict] = {}
    frames: dict[str, pd.DataFrame] = {}
    personal_read: list[str] = []
    read_seconds = 0.0
    names = pd.Series(dtype="string")
    masked: dict[str, dict[str, int]] = {}
    # In schema order: the customer table comes first, so comments can be scrubbed of the
    # customer's own name before they are kept or set aside.
    for name in (n for n in SOURCES if n in params.sources):
        progress(f"reading {name}")
        step = time.perf_counter()
        source = read_source(name, params.sources[name], params.data_path, params.max_parse_failure_share,
                             timezone=params.report_timezone,
                             on_rows=lambda done, total: progress(f"reading {name}", done, total, "rows"))
        read_seconds += time.perf_counter() - step
        if source is None:
            continue
        inventory[name] = _inventory_entry(source)
        if name == "customers":
            personal_read = sorted(c for c in PERSONAL_FIELDS if source.frame[c].notna().any())
            named = source.frame.dropna(subset=["customer_id", "name"]).drop_duplicates("customer_id")
            names = pd.Series(named["name"].to_numpy(), index=named["customer_id"].to_numpy(), dtype="string")
        _scrub_free_text(source, names, masked)
        # Each source is cleaned as soon as it is read, so only one raw source is in memory at a time.
        frames[name] = _clean_generic(source, params, as_of, q, progress)
    del names
    read_done = started + read_seconds

    id_map = pd.Series(dtype="string")
    linked = [name for name in ("orders", "tickets", "surveys", "events") if name in frames]
    step_done = _counter(progress, "integrating the sources", ("customers" in frames) + len(linked) + 2, "steps")
    if "customers" in frames:
        frames["customers"], id_map = cleaning.merge_duplicate_customers(frames["customers"], q)
        step_done()
    for name in linked:
        frames[name] = cleaning.remap_customer_ids(frames[name], name, id_map, q)
        if "customers" in frames:
            frames[name] = cleaning.drop_orphans(frames[name], name, pd.Index(frames["customers"]["customer_id"]), q)
        step_done()
    frames["orders"] = cleaning.drop_orders_with_several_customers(frames["orders"], q)
    step_done()
    frames["orders"] = cleaning.drop_non_positive_amounts(frames["orders"], q)
    step_done()

    progress("deriving prepared tables")
    kept_rows = {name: len(frame) for name, frame in frames.items()}
    tables: dict[str, pd.DataFrame] = {}
    # Each cleaned frame is released once its prepared table is made.
    tables["orders"] = _finish_orders(frames.pop("orders"), frames.get("products"))
    _check_scope(tables["orders"], params, inventory["orders"]["files"])
    tables["customers"] = _finish_customers(frames.pop("customers", None), tables["orders"], as_of, q)
    if "tickets" in frames:
        tables["tickets"] = _finish_tickets(frames.pop("tickets"))
    for name in ("products", "surveys", "events", "campaigns"):
        if name in frames:
            tables[name] = frames.pop(name).drop(columns=ROW_COLUMNS).reset_index(drop=True)

    clean_done = time.perf_counter()
    progress("writing prepared tables and quarantine")
    layout.prepared.mkdir(parents=True, exist_ok=True)
    windows = sorted(set(customer_facts.WINDOWS) | {params.chapter_options.value.rfm_window_days})
    # The quarantine files are written in a thread beside the prepared tables and the customer
    # facts, whose work is done outside Python (Arrow, DuckDB or Spark).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="quarantine") as writer:
        quarantine_written = writer.submit(q.write, layout.quarantine)
        for name, table in tables.items():
            table.to_parquet(layout.prepared / f"{name}.parquet", index=False)
        # Each customer's facts, computed once for every as-of day the chapters read.
        customer_facts.write_customer_facts(
            layout.prepared / "orders.parquet", customer_facts.report_days(params.period), windows,
            layout.prepared / customer_facts.FACTS_FILE,
            **{f"{name}_parquet": layout.prepared / f"{name}.parquet" for name in ("tickets", "surveys", "events")
               if name in tables},
            engine=params.facts_engine, spark_master=params.spark_master, spark_input_dir=params.spark_input_path,
            progress=progress)
        quarantine_written.result()

    reconciliation = []
    for name in (name for name in SOURCES if name in inventory):
        raw_records, rows_in, kept = inventory[name]["raw_records"], inventory[name]["rows"], kept_rows[name]
        reconciliation.append({"source": name, "raw_records": raw_records, "rows_in": rows_in, "rows_kept": kept,
                               "rows_quarantined": q.removed(name),
                               "balanced": raw_records == rows_in == kept + q.removed(name)})
    log = {
        "quarter": params.quarter,
        "as_of": str(as_of.date()),
        "data_dir": str(params.data_path),
        "available": sorted(tables),
        "absent": sorted(set(SOURCES) - set(inventory)),
        "inventory": [inventory.get(name, {"source": name, "status": "absent", "files": [], "rows": 0})
                      for name in SOURCES],
        "cleaning": q.log,
        "reconciliation": reconciliation,
        "customers_merged": int(len(id_map)),
        "personal_fields_read": personal_read,
        "free_text_masked": masked,
        "profile": profile_tables(tables),
        "coverage": coverage(tables),
        "seconds": round(time.perf_counter() - started, 2),
        "timings": {"read_seconds": round(read_done - started, 2), "clean_seconds": round(clean_done - read_done, 2),
                    "write_seconds": round(time.perf_counter() - clean_done, 2)},
    }
    (layout.prepared / PREPARE_LOG).write_text(json.dumps(log, indent=2, default=str), encoding="utf-8")
    return log


def coverage(tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, str | None]]:
    """First and last day of each dated prepared table (its schema's date column)."""
    spans = {}
    for name, table in tables.items():
        column = SOURCES[name].date_column if name in SOURCES else None
        if column is None or column not in table or table[column].notna().sum() == 0:
            continue
        days = table[column].dropna()
        spans[name] = {"first_day": str(days.min().date()), "last_day": str(days.max().date())}
    return spans


def load_prepared(layout: RunLayout, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
    path = layout.prepared / f"{name}.parquet"
    return pd.read_parquet(path, columns=columns) if path.exists() else None


def load_log(layout: RunLayout) -> dict:
    return json.loads((layout.prepared / PREPARE_LOG).read_text(encoding="utf-8"))
