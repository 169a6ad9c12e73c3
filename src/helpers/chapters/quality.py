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
from helpers.report.fmt import fmt_date, fmt_int, fmt_pct, fmt_pp, fmt_quarter
from helpers.report.i18n import t

OUT_OF_RANGE_DATE_RULES = ("future_date", "date_before_earliest")  # cleaning rules on a date outside the data's span


def _dates_set_aside(log: dict, source: str) -> dict[str, dict[str, int]]:
    """Rows of ``source`` whose date lay after the as-of day or before ``earliest_date``, per rule
    (``future_date``, ``date_before_earliest``) and action (``removed``; ``changed`` for customer
    attributes, which are cleared instead), from the cleaning log."""
    counts: dict[str, dict[str, int]] = {}
    for entry in log.get("cleaning", []):
        rule = entry["rule"].split(":")[0]
        if entry["source"] == source and rule in OUT_OF_RANGE_DATE_RULES:
            by_action = counts.setdefault(rule, {})
            by_action[entry["action"]] = by_action.get(entry["action"], 0) + int(entry["rows"])
    return counts


def _dates_note(counts: dict[str, dict[str, int]], as_of: str | None) -> str:
    """"12 rows dated after the data cut-off (2026-09-30) were set aside" and the like, joined."""
    cut_off = fmt_date(as_of) if as_of else "–"
    notes = []
    after = counts.get("future_date", {})
    before = counts.get("date_before_earliest", {})
    if after.get("removed") == 1:
        notes.append(t("1 row dated after the data cut-off ({cut_off}) was set aside", cut_off=cut_off))
    elif after.get("removed"):
        notes.append(t("{count} rows dated after the data cut-off ({cut_off}) were set aside",
                       count=fmt_int(after["removed"]), cut_off=cut_off))
    if after.get("changed"):
        notes.append(t("{count} dates after the data cut-off ({cut_off}) were cleared",
                       count=fmt_int(after["changed"]), cut_off=cut_off))
    if before.get("removed") == 1:
        notes.append(t("1 row dated before the earliest date was set aside"))
    elif before.get("removed"):
        notes.append(t("{count} rows dated before the earliest date were set aside", count=fmt_int(before["removed"])))
    if before.get("changed"):
        notes.append(t("{count} dates before the earliest date were cleared", count=fmt_int(before["changed"])))
    return t("; ").join(notes)


def inventory_table(log: dict) -> pd.DataFrame:
    """One row per source: files, rows read, columns mapped, the first and last date of the rows
    kept (``log["coverage"]``, the prepared tables; a row set aside for a date after the data
    cut-off, e.g. 2026 typed as 2062, does not stretch the range) and a note of the rows set
    aside for their date (from the cleaning log), and the files' hashes."""
    coverage = log.get("coverage", {})
    rows = []
    for item in log["inventory"]:
        files = item.get("files", [])
        span = coverage.get(item["source"], {})
        rows.append({
            "source": item["source"],
            "status": item["status"],
            "files": ", ".join(Path(f["file"]).name for f in files) or "–",
            "rows": item["rows"],
            "columns mapped": item.get("columns_mapped"),
            t("first date kept"): fmt_date(span["first_day"]) if span.get("first_day") else "–",
            t("last date kept"): fmt_date(span["last_day"]) if span.get("last_day") else "–",
            t("dates set aside"): _dates_note(_dates_set_aside(log, item["source"]), log.get("as_of")) or "–",
            t("sha256 (first 12)"): ", ".join(f["sha256"][:12] for f in files) or "–",
        })
    return pd.DataFrame(rows)


def inventory_finding(log: dict) -> str:
    """The sources used and absent, and the rows set aside for dates after the data cut-off."""
    available, absent = log["available"], log["absent"]
    values = {"count": fmt_int(len(available)), "sources": t(", ").join(available)}
    if absent:
        text = t("Sources used ({count}): {sources}. Absent: {absent}.", absent=t(", ").join(absent), **values)
    else:
        text = t("Sources used ({count}): {sources}. No source is absent.", **values)
    future = {item["source"]: _dates_set_aside(log, item["source"]).get("future_date", {}).get("removed", 0)
              for item in log["inventory"]}
    by_source = t(", ").join(t("{source} {rows}", source=source, rows=fmt_int(n)) for source, n in future.items() if n)
    if by_source:
        text += " " + t("The date ranges are those of the rows kept; rows dated after the data cut-off ({cut_off}) "
                        "were set aside: {by_source}.", cut_off=fmt_date(log.get("as_of")), by_source=by_source)
    return text


def reason_labels() -> dict[str, str]:
    """The cleaning rules' reasons (the English of ``helpers.data.cleaning.RULE_DESCRIPTIONS``, as the
    cleaning log holds them) in the report's language. The log and the quarantine files keep the English."""
    return {
        "a value could not be read as its type (the raw value is in the detail)":
            t("a value could not be read as its type (the raw value is in the detail)"),
        "the value is on an exclusion list in the parameters (e.g. postage codes)":
            t("the value is on an exclusion list in the parameters (e.g. postage codes)"),
        "a required field (id, date, amount) is empty": t("a required field (id, date, amount) is empty"),
        "a category value outside the column's vocabulary (translate it with value_map)":
            t("a category value outside the column's vocabulary (translate it with value_map)"),
        "an exact copy of an earlier row (e.g. a sync duplicate)":
            t("an exact copy of an earlier row (e.g. a sync duplicate)"),
        "same primary key as an earlier row with other values; the first row in file order is kept":
            t("same primary key as an earlier row with other values; the first row in file order is kept"),
        "an order id carried by more than one customer; every line of it is set aside":
            t("an order id carried by more than one customer; every line of it is set aside"),
        "dated after the data's as-of date (e.g. a year typed 2062)":
            t("dated after the data's as-of date (e.g. a year typed 2062)"),
        "dated before earliest_date (e.g. a 1900-01-01 placeholder)":
            t("dated before earliest_date (e.g. a 1900-01-01 placeholder)"),
        "a time before the one it must follow (e.g. resolved before the ticket was opened)":
            t("a time before the one it must follow (e.g. resolved before the ticket was opened)"),
        "a number that is infinite": t("a number that is infinite"),
        "a number outside the column's valid range (e.g. NPS 11 on the 0-10 scale)":
            t("a number outside the column's valid range (e.g. NPS 11 on the 0-10 scale)"),
        "an amount above amount_ceiling in the parameters": t("an amount above amount_ceiling in the parameters"),
        "the same person in two systems (same e-mail or phone); merged into one id":
            t("the same person in two systems (same e-mail or phone); merged into one id"),
        "row re-keyed to the merged customer's id": t("row re-keyed to the merged customer's id"),
        "a completed sale with zero or negative amount that is not a return":
            t("a completed sale with zero or negative amount that is not a return"),
        "the customer id is not in the customer table": t("the customer id is not in the customer table"),
        "birth year missing; age band set to 'Unknown'": t("birth year missing; age band set to 'Unknown'"),
        "the sign-up date is after the first purchase (kept; check the CRM export)":
            t("the sign-up date is after the first purchase (kept; check the CRM export)"),
    }


def cleaning_table(log: dict) -> pd.DataFrame:
    """The cleaning log for readers: per source and rule what it did, to how many rows, example ids and
    the reason, actions and reasons in the report's language (:func:`reason_labels`)."""
    frame = pd.DataFrame(log["cleaning"], columns=["source", "rule", "action", "rows", "examples", "description"])
    actions = {"removed": t("removed"), "changed": t("changed"), "flagged": t("flagged"), "filled": t("filled")}
    reasons = reason_labels()
    frame["action"] = frame["action"].map(lambda action: actions.get(action, action))
    frame["description"] = frame["description"].map(lambda reason: reasons.get(reason, reason))
    return frame.sort_values(["source", "rows"], ascending=[True, False], kind="stable").reset_index(drop=True)


def reconciliation_table(log: dict) -> pd.DataFrame:
    frame = pd.DataFrame(log["reconciliation"])
    frame["balanced"] = frame["balanced"].map({True: t("yes"), False: t("NO")})
    return frame.rename(columns={"raw_records": "records in the raw files", "rows_in": "rows read",
                                 "rows_kept": "rows kept", "rows_quarantined": "rows set aside"})


def cleaning_finding(log: dict) -> str:
    removed = sum(r["rows_quarantined"] for r in log["reconciliation"])
    read = sum(r["rows_in"] for r in log["reconciliation"])
    balanced = all(r["balanced"] for r in log["reconciliation"])
    removals = [e for e in log["cleaning"] if e["action"] == "removed"]
    values = dict(removed=fmt_int(removed), read=fmt_int(read), share=fmt_pct(removed / read))
    if removals:
        top = max(removals, key=lambda e: e["rows"])
        sentences = [t("{removed} of {read} rows read ({share}) were set aside with their reason; the largest rule is "
                       "{rule} on {source} ({rows} rows).", rule=top["rule"], source=top["source"],
                       rows=fmt_int(top["rows"]), **values)]
    else:
        sentences = [t("{removed} of {read} rows read ({share}) were set aside with their reason.", **values)]
    sentences.append(t("Every source reconciles (rows read = kept + set aside).") if balanced else
                     t("WARNING: a source does not reconcile; see the table."))
    if log.get("customers_merged"):
        sentences.append(t("{count} duplicate customer accounts were merged across systems.",
                           count=fmt_int(log["customers_merged"])))
    return " ".join(sentences)


def scope_table(orders: pd.DataFrame, customers: pd.DataFrame, period: Quarter) -> pd.DataFrame:
    """Customers and orders in scope for the quarter and its comparison periods."""
    rows = []
    previous, year_ago = period.previous(), period.year_ago()
    for label, quarter in ((t("This quarter ({quarter})", quarter=fmt_quarter(period)), period),
                           (t("Previous quarter ({quarter})", quarter=fmt_quarter(previous)), previous),
                           (t("Same quarter last year ({quarter})", quarter=fmt_quarter(year_ago)), year_ago)):
        in_quarter = purchase_lines(orders, quarter.start, quarter.end, columns=["order_id", "customer_id"])
        rows.append({
            "period": label,
            "from": fmt_date(quarter.start),
            "to": fmt_date(quarter.last_day),
            "order lines": int((quarter.contains(orders["order_date"])).sum()),
            "orders": int(in_quarter["order_id"].nunique()),
            "active customers": int(in_quarter["customer_id"].nunique()),
        })
    rows.append({"period": t("All history"), "from": fmt_date(orders["order_date"].min()),
                 "to": fmt_date(orders["order_date"].max()), "order lines": len(orders),
                 "orders": int(purchase_lines(orders, columns=["order_id"])["order_id"].nunique()),
                 "active customers": int(customers["first_order_date"].notna().sum())})
    return pd.DataFrame(rows)


def drift_table(current: dict, previous: dict, null_change: float = 0.05) -> pd.DataFrame:
    """Row counts, null-rate changes over ``null_change`` and new category values against the previous run."""
    rows = []
    for table, now in current.items():
        before = previous.get(table)
        if before is None:
            rows.append({"table": table, "check": t("table"), "previous": t("absent"),
                         "now": t("{rows} rows", rows=fmt_int(now["rows"])), "change": t("new source")})
            continue
        change = now["rows"] / before["rows"] - 1 if before["rows"] else float("nan")
        # The row-count change stays "+12.3%" (drift_finding reads it back as a number).
        rows.append({"table": table, "check": t("rows"), "previous": fmt_int(before["rows"]), "now": fmt_int(now["rows"]),
                     "change": f"{change:+.1%}"})
        for column, rate in now["null_rate"].items():
            old = before["null_rate"].get(column)
            if old is not None and abs(rate - old) >= null_change:
                rows.append({"table": table, "check": t("missing values in {column}", column=column),
                             "previous": fmt_pct(old), "now": fmt_pct(rate), "change": fmt_pp(rate - old)})
        for column, values in now["categories"].items():
            new_values = sorted(set(values) - set(before["categories"].get(column, values)))
            if new_values:
                shown = ", ".join(new_values[:8]) + (" ..." if len(new_values) > 8 else "")
                rows.append({"table": table, "check": t("new values in {column}", column=column), "previous": "–",
                             "now": shown, "change": t("{count} new", count=fmt_int(len(new_values)))})
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
            return kept, t("the {quarter} report of {report}", quarter=fmt_quarter(previous), report=previous_report.name)
        why = t("the {quarter} report of {report} kept no profile", quarter=fmt_quarter(previous),
                report=previous_report.name)
    else:
        why = t("no earlier report found")
    first = log.get("coverage", {}).get("orders", {}).get("first_day")
    if first is None or pd.Timestamp(first) > previous.last_day:
        raise NotAvailable(t("{why} and the orders start on {first}, after the end of {quarter} ({last_day})", why=why,
                             first=fmt_date(first) if first else t("no day"), quarter=fmt_quarter(previous),
                             last_day=fmt_date(previous.last_day)),
                           t("an orders export that starts earlier"))
    tables = {name: table(name) for name in log["available"]}
    return (profile_as_of(tables, previous.last_day),
            t("{quarter} (recomputed from the data as of {day}; {why})", quarter=fmt_quarter(previous),
              day=fmt_date(previous.last_day), why=why))


def masked_kinds() -> dict[str, str]:
    """The kinds of personal data masked in free text (``helpers.data.privacy``), in the report's language."""
    return {"email": t("e-mail addresses"), "phone": t("phone numbers"), "id_number": t("ID numbers"),
            "card_number": t("card numbers"), "name": t("the customer's own name")}


def personal_data_table(log: dict) -> pd.DataFrame:
    """What the run did with each personal field and with personal data inside free text, with
    counts: the personal columns never reach a prepared table, a quarantine file or a page."""
    from helpers.data.schema import PERSONAL_FIELDS

    read = set(log.get("personal_fields_read", []))
    was_read, handled = t("read from the input"), t("how it was handled")
    rows = [
        {"field": field, was_read: t("yes") if field in read else t("no"),
         handled: (t("used only to merge duplicate accounts, then dropped before anything was written")
                   if field in ("email", "phone") else t("dropped before anything was written"))
         if field in read else "–"}
        for field in PERSONAL_FIELDS
    ]
    kinds = masked_kinds()
    for column, counts in log.get("free_text_masked", {}).items():
        found = [t("{kind} in {count}", kind=kinds.get(kind, kind), count=fmt_int(n)) for kind, n in counts.items() if n]
        rows.append({"field": t("{column} (free text)", column=column), was_read: t("yes"),
                     handled: t("masked before it was stored: {found} comments", found=t("; ").join(found))
                     if found else t("checked; no personal data found")})
    return pd.DataFrame(rows)


def drift_finding(drift: pd.DataFrame, against: str) -> str:
    """What drifted against ``against`` (as ``drift_baseline`` names it): the column-level changes
    flagged and the largest change in row count."""
    rows = drift.loc[drift["check"] == t("rows")]
    flagged = drift.loc[drift["check"] != t("rows")]
    if len(rows):
        change = rows["change"].str.rstrip("%").astype(float).abs()
        top = rows.loc[change.idxmax()]
        return t("Compared with {against}, {count} column-level changes were flagged (missing values moving by 5 points "
                 "or more, or new category values). The largest change in row count is {table} ({change}).",
                 against=against, count=fmt_int(len(flagged)), table=top["table"], change=top["change"])
    return t("Compared with {against}, {count} column-level changes were flagged (missing values moving by 5 points "
             "or more, or new category values).", against=against, count=fmt_int(len(flagged)))


def scope_finding(scope: pd.DataFrame) -> str:
    now, before = scope.iloc[0], scope.iloc[1]
    return t("{period} has {orders} orders from {customers} active customers, against {previous_orders} orders from "
             "{previous_customers} in the previous quarter.", period=now["period"], orders=fmt_int(now["orders"]),
             customers=fmt_int(now["active customers"]), previous_orders=fmt_int(before["orders"]),
             previous_customers=fmt_int(before["active customers"]))


def plot_monthly_coverage(orders: pd.DataFrame, ax=None):
    """Order lines per month over the whole history: gaps and spikes in the data show at a glance."""
    from helpers.report.plotting import label, new_axes

    ax = new_axes(ax, figsize=(9, 3.6))
    monthly = orders.groupby(orders["order_date"].dt.to_period("M")).size()
    ax.bar(monthly.index.to_timestamp(), monthly.to_numpy(), width=20, color="#1f3a5f")
    ax.yaxis.set_major_formatter(lambda value, _: f"{value:,.0f}")
    return label(ax, t("Order lines per month (after cleaning)"), t("Month"), t("Order lines (count)"))
