"""Data-quality tables for chapter 00: inventory, cleaning log, reconciliation, scope and drift."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pandas as pd

from helpers.data.prepare import PREPARE_LOG
from helpers.data.profile import profile_as_of
from helpers.errors import NotAvailable
from helpers.facts import purchase_lines
from helpers.paths import RunLayout
from helpers.quarters import Quarter


def inventory_table(log: dict) -> pd.DataFrame:
    rows = []
    for item in log["inventory"]:
        files = item.get("files", [])
        rows.append({
            "source": item["source"],
            "status": item["status"],
            "files": ", ".join(Path(f["file"]).name for f in files) or "–",
            "rows": item["rows"],
            "columns mapped": item.get("columns_mapped"),
            "from": item.get("date_from") or "–",
            "to": item.get("date_to") or "–",
            "sha256 (first 12)": ", ".join(f["sha256"][:12] for f in files) or "–",
        })
    return pd.DataFrame(rows)


def cleaning_table(log: dict) -> pd.DataFrame:
    frame = pd.DataFrame(log["cleaning"], columns=["source", "rule", "action", "rows", "examples", "description"])
    return frame.sort_values(["source", "rows"], ascending=[True, False], kind="stable").reset_index(drop=True)


def reconciliation_table(log: dict) -> pd.DataFrame:
    frame = pd.DataFrame(log["reconciliation"])
    frame["balanced"] = frame["balanced"].map({True: "yes", False: "NO"})
    return frame.rename(columns={"raw_records": "records in the raw files", "rows_in": "rows read",
                                 "rows_kept": "rows kept", "rows_quarantined": "rows set aside"})


def cleaning_finding(log: dict) -> str:
    removed = sum(r["rows_quarantined"] for r in log["reconciliation"])
    read = sum(r["rows_in"] for r in log["reconciliation"])
    balanced = all(r["balanced"] for r in log["reconciliation"])
    removals = [e for e in log["cleaning"] if e["action"] == "removed"]
    text = f"{removed:,} of {read:,} rows read ({removed / read:.1%}) were set aside with their reason"
    if removals:
        top = max(removals, key=lambda e: e["rows"])
        text += f"; the largest rule is {top['rule']} on {top['source']} ({top['rows']:,} rows)"
    text += ". Every source reconciles (rows read = kept + set aside)." if balanced else \
        ". WARNING: a source does not reconcile; see the table."
    if log.get("customers_merged"):
        text += f" {log['customers_merged']:,} duplicate customer accounts were merged across systems."
    return text


def scope_table(orders: pd.DataFrame, customers: pd.DataFrame, period: Quarter) -> pd.DataFrame:
    """Customers and orders in scope for the quarter and its comparison periods."""
    rows = []
    for label, quarter in (("This quarter", period), ("Previous quarter", period.previous()),
                           ("Same quarter last year", period.year_ago())):
        in_quarter = purchase_lines(orders, quarter.start, quarter.end)
        rows.append({
            "period": f"{label} ({quarter})",
            "from": quarter.start.strftime("%Y-%m-%d"),
            "to": quarter.last_day.strftime("%Y-%m-%d"),
            "order lines": int((quarter.contains(orders["order_date"])).sum()),
            "orders": int(in_quarter["order_id"].nunique()),
            "active customers": int(in_quarter["customer_id"].nunique()),
        })
    rows.append({"period": "All history", "from": orders["order_date"].min().strftime("%Y-%m-%d"),
                 "to": orders["order_date"].max().strftime("%Y-%m-%d"), "order lines": len(orders),
                 "orders": int(purchase_lines(orders)["order_id"].nunique()),
                 "active customers": int(customers["first_order_date"].notna().sum())})
    return pd.DataFrame(rows)


def drift_table(current: dict, previous: dict, null_change: float = 0.05) -> pd.DataFrame:
    """Row counts, null-rate changes over ``null_change`` and new category values against the previous run."""
    rows = []
    for table, now in current.items():
        before = previous.get(table)
        if before is None:
            rows.append({"table": table, "check": "table", "previous": "absent", "now": f"{now['rows']:,} rows",
                         "change": "new source"})
            continue
        change = now["rows"] / before["rows"] - 1 if before["rows"] else float("nan")
        rows.append({"table": table, "check": "rows", "previous": f"{before['rows']:,}", "now": f"{now['rows']:,}",
                     "change": f"{change:+.1%}"})
        for column, rate in now["null_rate"].items():
            old = before["null_rate"].get(column)
            if old is not None and abs(rate - old) >= null_change:
                rows.append({"table": table, "check": f"missing values in {column}", "previous": f"{old:.1%}",
                             "now": f"{rate:.1%}", "change": f"{100 * (rate - old):+.1f} pp"})
        for column, values in now["categories"].items():
            new_values = sorted(set(values) - set(before["categories"].get(column, values)))
            if new_values:
                shown = ", ".join(new_values[:8]) + (" ..." if len(new_values) > 8 else "")
                rows.append({"table": table, "check": f"new values in {column}", "previous": "–", "now": shown,
                             "change": f"{len(new_values)} new"})
    return pd.DataFrame(rows, columns=["table", "check", "previous", "now", "change"])


def load_profile(report: Path) -> dict | None:
    """The profile kept in the prepare log of the report folder ``report`` (None without one)."""
    path = RunLayout(report).prepared / PREPARE_LOG
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("profile")


def drift_baseline(previous_report: Path | None, table: Callable[[str], pd.DataFrame | None], log: dict,
                   period: Quarter) -> tuple[dict, str]:
    """The profile to compare this run's with, and what it is, for the caption ("Changes since ...").

    The profile kept by the previous quarter's report when there is one; otherwise the profile
    of this run's prepared tables (each of ``log["available"]`` read by ``table``, only then) as
    they stood at the end of the previous quarter (``profile.profile_as_of``). ``log`` is the
    prepare log: a previous quarter that ends before the orders start has nothing to compare
    with (``NotAvailable``).
    """
    previous = period.previous()
    if previous_report is not None:
        kept = load_profile(previous_report)
        if kept is not None:
            return kept, f"the {previous} report of {previous_report.name}"
        why = f"the {previous} report of {previous_report.name} kept no profile"
    else:
        why = "no earlier report found"
    first = log.get("coverage", {}).get("orders", {}).get("first_day")
    if first is None or pd.Timestamp(first) > previous.last_day:
        raise NotAvailable(f"{why} and the orders start on {first or 'no day'}, after the end of {previous} "
                           f"({previous.last_day:%Y-%m-%d})", "an orders export that starts earlier")
    tables = {name: table(name) for name in log["available"]}
    return (profile_as_of(tables, previous.last_day),
            f"{previous} (recomputed from the data as of {previous.last_day:%Y-%m-%d}; {why})")


MASKED_KINDS = {"email": "e-mail addresses", "phone": "phone numbers", "id_number": "ID numbers",
                "card_number": "card numbers", "name": "the customer's own name"}


def personal_data_table(log: dict) -> pd.DataFrame:
    """What the run did with each personal field and with personal data inside free text, with
    counts: the personal columns never reach a prepared table, a quarantine file or a page."""
    from helpers.data.schema import PERSONAL_FIELDS

    read = set(log.get("personal_fields_read", []))
    rows = [
        {"field": field, "read from the input": "yes" if field in read else "no",
         "how it was handled": ("used only to merge duplicate accounts, then dropped before anything was written"
                                if field in ("email", "phone") else "dropped before anything was written")
         if field in read else "–"}
        for field in PERSONAL_FIELDS
    ]
    for column, counts in log.get("free_text_masked", {}).items():
        found = [f"{MASKED_KINDS.get(kind, kind)} in {n:,}" for kind, n in counts.items() if n]
        rows.append({"field": f"{column} (free text)", "read from the input": "yes",
                     "how it was handled": ("masked before it was stored: " + "; ".join(found) + " comments")
                     if found else "checked; no personal data found"})
    return pd.DataFrame(rows)


def drift_finding(drift: pd.DataFrame, against: str) -> str:
    """What drifted against ``against`` (as ``drift_baseline`` names it): the column-level changes
    flagged and the largest change in row count."""
    rows = drift.loc[drift["check"] == "rows"]
    flagged = drift.loc[drift["check"] != "rows"]
    biggest = ""
    if len(rows):
        change = rows["change"].str.rstrip("%").astype(float).abs()
        top = rows.loc[change.idxmax()]
        biggest = f" The largest change in row count is {top['table']} ({top['change']})."
    return (f"Compared with {against}, {len(flagged)} column-level "
            f"changes were flagged (missing values moving by 5 points or more, or new category values).{biggest}")


def scope_finding(scope: pd.DataFrame) -> str:
    now, before = scope.iloc[0], scope.iloc[1]
    return (f"{now['period']} has {now['orders']:,} orders from {now['active customers']:,} active customers, "
            f"against {before['orders']:,} orders from {before['active customers']:,} in the previous quarter.")


def plot_monthly_coverage(orders: pd.DataFrame, ax=None):
    """Order lines per month over the whole history: gaps and spikes in the data show at a glance."""
    from helpers.report.plotting import label, new_axes

    ax = new_axes(ax, figsize=(9, 3.6))
    monthly = orders.groupby(orders["order_date"].dt.to_period("M")).size()
    ax.bar(monthly.index.to_timestamp(), monthly.to_numpy(), width=20, color="#1f3a5f")
    ax.yaxis.set_major_formatter(lambda value, _: f"{value:,.0f}")
    return label(ax, "Order lines per month (after cleaning)", "Month", "Order lines (count)")
