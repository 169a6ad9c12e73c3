"""Complaints and consultations from the service tickets.

- Handling: resolution rate (resolved / complaints opened in the quarter), time to resolve in
  hours (median and 90th percentile of ``resolution_hours`` of resolved complaints, linear
  interpolation between order statistics as in ``numpy.quantile``), reopened rate (reopened /
  resolved).
- Complaint rate per 1,000 orders: complaints opened in the period / distinct valid orders.
  Per product the denominator is the orders that contain the product; the benchmark for
  products is pooled over products (complaints naming a product per 1,000 product-orders), so
  an order with several products counts once for each.
- Persistence: products whose monthly complaint rate is above the benchmark in at least ``k``
  consecutive months (run lengths from a grouped cumulative count, no loops).
- Consultations: volume and time to first answer (``first_response_hours``).

A metric is shown only when its column was mapped: without any ``resolution_hours`` value in
the tickets (``tickets.resolved_at`` not mapped or empty) there is no resolution rate, time to
resolve or reopened rate, and without any ``first_response_hours`` value
(``tickets.first_response_at``) no answered rate or time to first answer; a table without a
``reopened`` column has no reopened rate. :func:`unmapped_note` says what is left out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from helpers.chapters.behaviour import dimension_name
from helpers.facts import purchase_lines
from helpers.quarters import Quarter
from helpers.report.fmt import fmt_change, fmt_int, fmt_num, fmt_pct, fmt_quarter
from helpers.report.i18n import t
from helpers.report.plotting import label, new_axes
from helpers.validation import require_columns

BREAKDOWNS = ("complaint_type", "product", "category", "region", "channel", "department")
RESOLUTION_COLUMNS = ("resolved", "resolution_rate", "median_resolution_hours", "p90_resolution_hours",
                      "reopened_rate")
# How the chapter shows each column of these tables (helpers.report.display formats).
TABLE_FORMATS = {"complaints": "int", "share": "pct", "resolved": "int", "resolution_rate": "pct",
                 "median_resolution_hours": "float1", "p90_resolution_hours": "float1", "reopened_rate": "pct",
                 "orders": "int", "complaints_per_1000_orders": "float1", "consultations": "int",
                 "answered_rate": "pct", "median_first_response_hours": "float1", "p90_first_response_hours": "float1"}


def has_values(tickets: pd.DataFrame, column: str) -> bool:
    """True when ``tickets`` has ``column`` with at least one value: the column was mapped."""
    return column in tickets.columns and bool(tickets[column].notna().any())


def table_formats(table: pd.DataFrame) -> dict[str, str]:
    """The display formats of :data:`TABLE_FORMATS` for the columns ``table`` has."""
    return {column: kind for column, kind in TABLE_FORMATS.items() if column in table.columns}


def unmapped_note(tickets: pd.DataFrame, about: str = "complaints") -> str:
    """What the ``about`` ("complaints" or "consultations") tables leave out for want of a
    mapped column ("" when nothing)."""
    if about not in ("complaints", "consultations"):
        raise ValueError(f"about must be 'complaints' or 'consultations', got {about!r}")
    if about == "consultations":
        if has_values(tickets, "first_response_hours"):
            return ""
        return t("Answered rate and time to first answer are not shown: no ticket has a first response time "
                 "(map a column to tickets.first_response_at).")
    if not has_values(tickets, "resolution_hours"):
        return t("Resolution rate, time to resolve and reopened rate are not shown: no ticket has a resolution "
                 "time (map a column to tickets.resolved_at).")
    if not has_values(tickets, "reopened"):
        return t("Reopened rate is not shown: the tickets have no reopened column (map a column to tickets.reopened).")
    return ""


def _tickets_in(tickets: pd.DataFrame, period: Quarter, ticket_type: str) -> pd.DataFrame:
    require_columns(tickets, ["ticket_id", "customer_id", "created_at", "ticket_type"], "tickets")
    return tickets.loc[(tickets["ticket_type"] == ticket_type) & period.contains(tickets["created_at"])]


def _label(tickets: pd.DataFrame, by: str, customers: pd.DataFrame | None, products: pd.DataFrame | None) -> pd.Series:
    """The grouping value of each ticket for ``by`` ("Unknown" when missing)."""
    if by not in BREAKDOWNS:
        raise ValueError(f"by must be one of {BREAKDOWNS}, got {by!r}")
    if by == "region":
        if customers is None:
            raise ValueError("complaints by region need the customers table")
        require_columns(customers, ["customer_id", "region"], "customers")
        values = tickets["customer_id"].map(customers.drop_duplicates("customer_id").set_index("customer_id")["region"])
    elif by in ("product", "category"):
        require_columns(tickets, ["product_id"], "tickets")
        values = tickets["product_id"]
        if products is not None:
            require_columns(products, ["product_id", "product_name", "category"], "products")
            column = "product_name" if by == "product" else "category"
            names = products.drop_duplicates("product_id").set_index("product_id")[column]
            values = values.map(names).where(values.notna())
        elif by == "category":
            raise ValueError("complaints by category need the products table")
    else:
        require_columns(tickets, [by], "tickets")
        values = tickets[by]
    return values.astype("object").where(values.notna(), "Unknown").astype(str).rename(by)


def handling_stats(complaints: pd.DataFrame, keys=None, resolution: bool = True, reopened: bool = True) -> pd.DataFrame:
    """Complaints, and with ``resolution`` their resolution rate, median and p90 hours to resolve
    and (with ``reopened``) reopened rate, per group of ``keys`` (or overall when ``keys`` is None)."""
    require_columns(complaints, ["ticket_id"], "complaints")
    if not resolution:
        counts = complaints.groupby(keys if keys is not None else np.zeros(len(complaints), dtype=int)).size()
        return counts.rename("complaints").to_frame()
    require_columns(complaints, ["resolution_hours"], "complaints")
    resolved = complaints["resolution_hours"].notna()
    was_reopened = (complaints["reopened"].fillna(False).astype(bool) if "reopened" in complaints
                    else pd.Series(False, index=complaints.index))
    frame = pd.DataFrame({"resolved": resolved, "reopened": was_reopened & resolved,
                          "hours": complaints["resolution_hours"]}, index=complaints.index)
    grouped = frame.groupby(keys if keys is not None else np.zeros(len(frame), dtype=int))
    table = grouped.agg(complaints=("resolved", "size"), resolved=("resolved", "sum"), reopened=("reopened", "sum"),
                        median_resolution_hours=("hours", "median"))
    table["p90_resolution_hours"] = grouped["hours"].quantile(0.9)
    table["resolution_rate"] = table["resolved"] / table["complaints"]
    table["reopened_rate"] = table["reopened"] / table["resolved"].where(table["resolved"] > 0)
    columns = ["complaints", *RESOLUTION_COLUMNS]
    return table[columns if reopened else columns[:-1]]


def _handling_flags(tickets: pd.DataFrame) -> dict[str, bool]:
    """Which handling metrics the tickets support (see the module docstring)."""
    resolution = has_values(tickets, "resolution_hours")
    return {"resolution": resolution, "reopened": resolution and has_values(tickets, "reopened")}


def complaints_by(tickets: pd.DataFrame, period: Quarter | str, by: str = "complaint_type",
                  customers: pd.DataFrame | None = None, products: pd.DataFrame | None = None) -> pd.DataFrame:
    """Complaints of the quarter by ``by`` (complaint_type, product, category, region, channel,
    department) with their handling.

    Returns ``<by>, complaints, share, resolved, resolution_rate, median_resolution_hours,
    p90_resolution_hours, reopened_rate``, most complaints first; the handling columns only
    when the tickets have resolution times (reopened rate: and a reopened column).
    """
    complaints = _tickets_in(tickets, Quarter.parse(period), "complaint")
    table = handling_stats(complaints, _label(complaints, by, customers, products), **_handling_flags(tickets))
    table["share"] = table["complaints"] / max(table["complaints"].sum(), 1)
    table.index.name = by
    table = table.reset_index().sort_values(["complaints", by], ascending=[False, True]).reset_index(drop=True)
    return table[[by, "complaints", "share", *[c for c in RESOLUTION_COLUMNS if c in table.columns]]]


def complaint_breakdown(tickets: pd.DataFrame, period: Quarter | str, customers: pd.DataFrame | None = None,
                        products: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every breakdown of ``complaints_by`` that the available tables allow, in long form:
    ``dimension, value, complaints, share, ...`` (the chapter's complaints.csv)."""
    parts = []
    for by in BREAKDOWNS:
        needs_column = "product_id" if by in ("product", "category") else "customer_id" if by == "region" else by
        needs_table = {"region": customers, "category": products}.get(by, tickets)
        if needs_column not in tickets.columns or needs_table is None:
            continue
        table = complaints_by(tickets, period, by, customers, products).rename(columns={by: "value"})
        table.insert(0, "dimension", by)
        parts.append(table)
    if not parts:
        raise ValueError("tickets have none of the columns to break complaints down by")
    return pd.concat(parts, ignore_index=True)


def _valid_orders(orders: pd.DataFrame) -> pd.DataFrame:
    require_columns(orders, ["order_id", "order_date", "is_purchase"], "orders")
    return purchase_lines(orders)


def complaint_summary(tickets: pd.DataFrame, orders: pd.DataFrame, period: Quarter | str) -> pd.DataFrame:
    """Complaint handling and complaints per 1,000 orders, this quarter and the previous one.

    Returns ``quarter, complaints, resolved, resolution_rate, median_resolution_hours,
    p90_resolution_hours, reopened_rate, orders, complaints_per_1000_orders`` (previous quarter
    first); the handling columns only when the tickets have resolution times (see
    :func:`complaints_by`).
    """
    period = Quarter.parse(period)
    purchases = _valid_orders(orders)
    flags = _handling_flags(tickets)
    handling = [c for c in RESOLUTION_COLUMNS if flags["resolution"] and (c != "reopened_rate" or flags["reopened"])]
    rows = []
    for quarter in (period.previous(), period):
        complaints = _tickets_in(tickets, quarter, "complaint")
        row = handling_stats(complaints, **flags).iloc[0].to_dict() if len(complaints) else \
            {"complaints": 0, **{c: 0 if c == "resolved" else np.nan for c in handling}}
        row["quarter"] = str(quarter)
        row["orders"] = purchases.loc[quarter.contains(purchases["order_date"]), "order_id"].nunique()
        row["complaints_per_1000_orders"] = 1000 * row["complaints"] / row["orders"] if row["orders"] else np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    for column in ("complaints", "resolved", "orders"):
        if column in table:
            table[column] = table[column].astype("int64")
    return table[["quarter", "complaints", *handling, "orders", "complaints_per_1000_orders"]]


def complaint_numbers(summary: pd.DataFrame) -> dict[str, float]:
    """The quarter's headline numbers of :func:`complaint_summary` for the findings: complaints
    per 1,000 orders, and the resolution rate when it is shown."""
    now = summary.iloc[-1]
    return {column: now[column] for column in ("complaints_per_1000_orders", "resolution_rate") if column in summary}


def _product_names(products: pd.DataFrame | None) -> pd.Series | None:
    if products is None:
        return None
    require_columns(products, ["product_id", "product_name"], "products")
    return products.drop_duplicates("product_id").set_index("product_id")["product_name"]


def complaint_rate_by_product(tickets: pd.DataFrame, orders: pd.DataFrame, period: Quarter | str,
                              products: pd.DataFrame | None = None) -> pd.DataFrame:
    """Complaints per 1,000 orders containing each product in the quarter.

    Returns ``product_id, product_name, complaints, orders, complaints_per_1000_orders,
    benchmark_per_1000_orders, above_benchmark``; the benchmark is pooled over products.
    """
    period = Quarter.parse(period)
    require_columns(tickets, ["product_id"], "tickets")
    require_columns(orders, ["product_id"], "orders")
    complaints = _tickets_in(tickets, period, "complaint").dropna(subset=["product_id"])
    purchases = _valid_orders(orders)
    purchases = purchases.loc[period.contains(purchases["order_date"])].dropna(subset=["product_id"])
    table = pd.concat([complaints.groupby("product_id").size().rename("complaints"),
                       purchases.groupby("product_id")["order_id"].nunique().rename("orders")], axis=1).fillna(0)
    table = table.astype("int64")
    table["complaints_per_1000_orders"] = 1000 * table["complaints"] / table["orders"].where(table["orders"] > 0)
    benchmark = 1000 * table["complaints"].sum() / table["orders"].sum() if table["orders"].sum() else np.nan
    table["benchmark_per_1000_orders"] = benchmark
    table["above_benchmark"] = table["complaints_per_1000_orders"] > benchmark
    names = _product_names(products)
    table["product_name"] = table.index.map(names) if names is not None else table.index
    table.index.name = "product_id"
    table = table.reset_index().sort_values(["complaints_per_1000_orders", "product_id"], ascending=[False, True])
    return table[["product_id", "product_name", "complaints", "orders", "complaints_per_1000_orders",
                  "benchmark_per_1000_orders", "above_benchmark"]].reset_index(drop=True)


def monthly_product_rates(tickets: pd.DataFrame, orders: pd.DataFrame, period: Quarter | str,
                          window_months: int = 3) -> pd.DataFrame:
    """Complaints per 1,000 orders per product and month, the ``window_months`` months ending
    with the quarter, with the pooled benchmark of each month and whether the product is above.

    Returns ``product_id, month, complaints, orders, rate, benchmark, above`` (rate NaN and
    above False in a month without orders of the product).
    """
    if window_months < 1:
        raise ValueError(f"window_months must be at least 1, got {window_months}")
    period = Quarter.parse(period)
    last = period.end.to_period("M")
    months = pd.period_range(end=last, periods=window_months, freq="M")
    start = months[0].start_time
    require_columns(tickets, ["product_id", "created_at", "ticket_type"], "tickets")
    require_columns(orders, ["product_id"], "orders")
    complaints = tickets.loc[(tickets["ticket_type"] == "complaint") & (tickets["created_at"] >= start)
                             & (tickets["created_at"] <= period.end)].dropna(subset=["product_id"])
    purchases = _valid_orders(orders)
    purchases = purchases.loc[(purchases["order_date"] >= start) & (purchases["order_date"] <= period.end)] \
        .dropna(subset=["product_id"])
    counts = complaints.groupby(["product_id", complaints["created_at"].dt.to_period("M").rename("month")]).size()
    order_month = purchases["order_date"].dt.to_period("M").rename("month")
    volume = purchases.groupby(["product_id", order_month])["order_id"].nunique()
    products = pd.Index(counts.index.get_level_values(0)).union(volume.index.get_level_values(0)).unique()
    grid = pd.MultiIndex.from_product([products, months], names=["product_id", "month"])
    table = pd.DataFrame({"complaints": counts.reindex(grid, fill_value=0),
                          "orders": volume.reindex(grid, fill_value=0)}).astype("int64")
    table["rate"] = 1000 * table["complaints"] / table["orders"].where(table["orders"] > 0)
    monthly = table.groupby(level="month")[["complaints", "orders"]].sum()
    benchmark = 1000 * monthly["complaints"] / monthly["orders"].where(monthly["orders"] > 0)
    table["benchmark"] = table.index.get_level_values("month").map(benchmark)
    table["above"] = (table["rate"] > table["benchmark"]).fillna(False).astype(bool)
    table = table.reset_index()
    table["month"] = table["month"].astype(str)
    return table


def persistent_complaint_products(tickets: pd.DataFrame, orders: pd.DataFrame, period: Quarter | str,
                                  consecutive_months: int = 2, window_months: int = 3,
                                  products: pd.DataFrame | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Products whose monthly complaint rate was above the benchmark for at least
    ``consecutive_months`` months in a row within the window (see ``monthly_product_rates``).

    With a few complaints per product and month, a product can be above the benchmark by
    chance; ``expected_complaints`` (orders x benchmark, summed over the months) and
    ``excess_p_value`` (one-sided Poisson test of the window's complaints against that
    expectation) say how surprising the excess is, ``significant`` when below ``alpha``.

    Returns ``product_id, product_name, longest_run_months, above_in_last_month, complaints,
    orders, expected_complaints, excess_p_value, significant``, one ``rate_<month>`` column per
    month and ``benchmark_<month>`` columns; only the persistent products: longest run first,
    then those still above.
    """
    if consecutive_months < 1:
        raise ValueError(f"consecutive_months must be at least 1, got {consecutive_months}")
    rates = monthly_product_rates(tickets, orders, period, window_months).sort_values(["product_id", "month"])
    run_id = (rates["above"] != rates.groupby("product_id")["above"].shift()).cumsum()
    rates["run_length"] = np.where(rates["above"], rates.groupby(["product_id", run_id]).cumcount() + 1, 0)
    rates["expected"] = rates["orders"] * rates["benchmark"].fillna(0) / 1000
    per_product = rates.groupby("product_id").agg(
        longest_run_months=("run_length", "max"), above_in_last_month=("above", "last"),
        complaints=("complaints", "sum"), orders=("orders", "sum"), expected_complaints=("expected", "sum"))
    per_product["excess_p_value"] = stats.poisson.sf(per_product["complaints"] - 1, per_product["expected_complaints"])
    per_product["significant"] = per_product["excess_p_value"] < alpha
    wide = rates.pivot(index="product_id", columns="month", values="rate")
    wide.columns = [f"rate_{m}" for m in wide.columns]
    benchmark = rates.drop_duplicates("month").set_index("month")["benchmark"]
    table = per_product.join(wide)
    for month, value in benchmark.items():
        table[f"benchmark_{month}"] = value
    table = table.loc[table["longest_run_months"] >= consecutive_months]
    names = _product_names(products)
    table.insert(0, "product_name", table.index.map(names) if names is not None else table.index)
    table.index.name = "product_id"
    table = table.reset_index().sort_values(["longest_run_months", "above_in_last_month", "complaints", "product_id"],
                                            ascending=[False, False, False, True])
    return table.reset_index(drop=True)


def consultations_by(tickets: pd.DataFrame, period: Quarter | str, by: str = "department",
                     products: pd.DataFrame | None = None) -> pd.DataFrame:
    """Consultations of the quarter by ``by`` (department, product, category, channel).

    Returns ``<by>, consultations, share, answered_rate, median_first_response_hours,
    p90_first_response_hours``; the answer columns only when the tickets have first response
    times (``tickets.first_response_at`` mapped).
    """
    consultations = _tickets_in(tickets, Quarter.parse(period), "consultation")
    keys = _label(consultations, by, None, products)
    if not has_values(tickets, "first_response_hours"):
        table = consultations.groupby(keys).size().rename("consultations").to_frame()
        table["share"] = table["consultations"] / max(table["consultations"].sum(), 1)
        table.index.name = by
        return table.reset_index().sort_values(["consultations", by], ascending=[False, True]).reset_index(drop=True)
    hours = consultations["first_response_hours"]
    grouped = pd.DataFrame({"answered": hours.notna(), "hours": hours}).groupby(keys)
    table = grouped.agg(consultations=("answered", "size"), answered_rate=("answered", "mean"),
                        median_first_response_hours=("hours", "median"))
    table["p90_first_response_hours"] = grouped["hours"].quantile(0.9)
    table["share"] = table["consultations"] / max(table["consultations"].sum(), 1)
    table.index.name = by
    table = table.reset_index().sort_values(["consultations", by], ascending=[False, True]).reset_index(drop=True)
    return table[[by, "consultations", "share", "answered_rate", "median_first_response_hours",
                  "p90_first_response_hours"]]


def consultation_summary(tickets: pd.DataFrame, period: Quarter | str) -> pd.DataFrame:
    """Consultations this quarter and the previous one: ``quarter, consultations, answered_rate,
    median_first_response_hours, p90_first_response_hours`` (the answer columns only when the
    tickets have first response times)."""
    period = Quarter.parse(period)
    answered = has_values(tickets, "first_response_hours")
    rows = []
    for quarter in (period.previous(), period):
        in_quarter = _tickets_in(tickets, quarter, "consultation")
        row = {"quarter": str(quarter), "consultations": int(len(in_quarter))}
        if answered:
            hours = in_quarter["first_response_hours"]
            row.update({"answered_rate": hours.notna().mean() if len(hours) else np.nan,
                        "median_first_response_hours": hours.median(), "p90_first_response_hours": hours.quantile(0.9)})
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- findings and plots
def complaints_finding(summary: pd.DataFrame, by_type: pd.DataFrame | None = None) -> str:
    """Complaint rate and its change, handling times, and the main complaint type."""
    now = summary.iloc[-1]
    if now["complaints"] == 0:
        return t("No complaints were opened in {quarter}.", quarter=fmt_quarter(now["quarter"]))
    values = {"complaints": fmt_int(now["complaints"]), "quarter": fmt_quarter(now["quarter"]),
              "rate": fmt_num(now["complaints_per_1000_orders"], 1)}
    if len(summary) > 1 and summary.iloc[0]["complaints_per_1000_orders"] > 0:
        change = now["complaints_per_1000_orders"] / summary.iloc[0]["complaints_per_1000_orders"] - 1
        values["change"] = fmt_change(change)
    if "resolution_rate" in summary:  # only when resolution times were mapped
        values.update(resolved=fmt_pct(now["resolution_rate"]), median=fmt_num(now["median_resolution_hours"], 0),
                      p90=fmt_num(now["p90_resolution_hours"], 0))
        if "reopened_rate" in summary:
            values["reopened"] = fmt_pct(now["reopened_rate"])
    text = _complaints_sentence(values)
    if by_type is not None and len(by_type):
        top = by_type.iloc[0]
        text += " " + t("The most common type is {kind} ({share}).", kind=top.iloc[0], share=fmt_pct(top["share"]))
    return text


def _complaints_sentence(values: dict[str, str]) -> str:
    """The sentence on the quarter's complaints: with the change on the previous quarter when
    there is one, the handling when resolution times were mapped, the reopened rate when mapped."""
    change, handling, reopened = "change" in values, "resolved" in values, "reopened" in values
    if change and reopened:
        return t("{complaints} complaints were opened in {quarter}, {rate} per 1,000 orders ({change} on the previous "
                 "quarter); {resolved} are resolved, in a median of {median} hours (90% within {p90} hours), and "
                 "{reopened} of resolved complaints were reopened.", **values)
    if change and handling:
        return t("{complaints} complaints were opened in {quarter}, {rate} per 1,000 orders ({change} on the previous "
                 "quarter); {resolved} are resolved, in a median of {median} hours (90% within {p90} hours).", **values)
    if change:
        return t("{complaints} complaints were opened in {quarter}, {rate} per 1,000 orders ({change} on the previous "
                 "quarter).", **values)
    if reopened:
        return t("{complaints} complaints were opened in {quarter}, {rate} per 1,000 orders; {resolved} are resolved, "
                 "in a median of {median} hours (90% within {p90} hours), and {reopened} of resolved complaints were "
                 "reopened.", **values)
    if handling:
        return t("{complaints} complaints were opened in {quarter}, {rate} per 1,000 orders; {resolved} are resolved, "
                 "in a median of {median} hours (90% within {p90} hours).", **values)
    return t("{complaints} complaints were opened in {quarter}, {rate} per 1,000 orders.", **values)


def persistence_finding(persistent: pd.DataFrame, consecutive_months: int = 2) -> str:
    if persistent.empty:
        return t("No product's complaint rate stayed above the product benchmark for {months} months in a row.",
                 months=consecutive_months)
    separator = t(", ")  # between the names of a list
    names = separator.join(persistent["product_name"].astype(str).head(3))
    values = {"count": len(persistent), "months": consecutive_months, "names": names,
              "ongoing": int(persistent["above_in_last_month"].sum())}
    if len(persistent) > 3:
        text = t("{count} product(s) had a complaint rate above the benchmark for {months}+ months in a row ({names}, "
                 "...); {ongoing} of them are still above it in the latest month.", **values)
    else:
        text = t("{count} product(s) had a complaint rate above the benchmark for {months}+ months in a row ({names}); "
                 "{ongoing} of them are still above it in the latest month.", **values)
    if "significant" in persistent:
        clear = persistent.loc[persistent["significant"].astype(bool)]
        if len(clear):
            products = separator.join(
                t("{product} ({complaints} complaints against {expected} expected)", product=name,
                  complaints=fmt_int(c), expected=fmt_num(e, 1))
                for name, c, e in zip(clear["product_name"].head(3), clear["complaints"], clear["expected_complaints"]))
            text += " " + t("The excess is beyond chance for {count}: {products}.", count=len(clear), products=products)
        else:
            text += " " + t("None of these excesses is beyond chance (Poisson test), so watch rather than act.")
    return text


def consultations_finding(summary: pd.DataFrame, by_department: pd.DataFrame | None = None) -> str:
    now = summary.iloc[-1]
    if now["consultations"] == 0:
        return t("No consultations were opened in {quarter}.", quarter=fmt_quarter(now["quarter"]))
    values = {"consultations": fmt_int(now["consultations"]), "quarter": fmt_quarter(now["quarter"])}
    if "median_first_response_hours" in summary:  # only when first response times were mapped
        text = t("{consultations} consultations in {quarter}; the first answer came in a median of {median} hours (90% "
                 "within {p90} hours).", median=fmt_num(now["median_first_response_hours"], 1),
                 p90=fmt_num(now["p90_first_response_hours"], 1), **values)
    else:
        text = t("{consultations} consultations in {quarter}.", **values)
    if by_department is not None and len(by_department):
        top = by_department.iloc[0]
        text += " " + t("{department} handles the most ({share}).", department=top.iloc[0], share=fmt_pct(top["share"]))
    return text


def plot_complaints_by(table: pd.DataFrame, max_groups: int = 12, ax=None):
    """Complaints per group with the median hours to resolve on the right axis (when the table
    has them)."""
    by = table.columns[0]
    shown = table.head(max_groups)
    ax = new_axes(ax)
    x = np.arange(len(shown))
    ax.bar(x, shown["complaints"], color="C0", label=t("Complaints"))
    ax.set_xticks(x, shown[by].astype(str), rotation=30, ha="right")
    handles = ax.get_legend_handles_labels()[0]
    if "median_resolution_hours" in shown:
        right = ax.twinx()
        right.plot(x, shown["median_resolution_hours"], color="C3", marker="o", label=t("Median hours to resolve"))
        right.set_ylabel(t("Median time to resolve (hours)"))
        right.grid(False)
        handles += right.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], loc="upper right", fontsize=9)
    return label(ax, t("Complaints by {dimension} this quarter", dimension=dimension_name(by)),
                 dimension_name(by, capital=True), t("Complaints (count)"))


def plot_monthly_product_rates(rates: pd.DataFrame, persistent: pd.DataFrame, max_products: int = 6, ax=None):
    """Monthly complaint rate of the first ``max_products`` persistent products (named by
    ``product_name`` when the table has it) against the pooled benchmark."""
    require_columns(rates, ["product_id", "month", "rate", "benchmark"], "rates")
    require_columns(persistent, ["product_id"], "persistent")
    ax = new_axes(ax)
    benchmark = rates.drop_duplicates("month").sort_values("month")
    ax.plot(benchmark["month"], benchmark["benchmark"], color="black", linestyle="--",
            label=t("All products (benchmark)"))
    names = persistent["product_name"] if "product_name" in persistent else persistent["product_id"]
    for product_id, name in list(zip(persistent["product_id"], names))[:max_products]:
        rows = rates.loc[rates["product_id"] == product_id].sort_values("month")
        ax.plot(rows["month"], rows["rate"], marker="o", label=str(name))
    ax.legend(loc="upper left", fontsize=8, bbox_to_anchor=(1.0, 1.0))
    return label(ax, t("Monthly complaint rate of persistent products"), t("Month"), t("Complaints per 1,000 orders"))
