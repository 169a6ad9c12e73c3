"""The KPI overview: each KPI this quarter, its change on the previous quarter and a year ago,
its target and whether the target is met.

Definitions (also shown in the report's glossary) are in ``KPI_DEFINITIONS``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers import facts
from helpers.facts import purchase_lines
from helpers.quarters import Quarter
from helpers.report.fmt import fmt_change, fmt_date, fmt_int, fmt_money, fmt_num, fmt_pct, fmt_pp, fmt_quarter
from helpers.report.i18n import t


@dataclass(frozen=True)
class Kpi:
    """A KPI: its unit (count, money, share, points) and good direction; its ``label`` and
    ``definition`` are read in the report's language when used (:func:`kpi_words`)."""

    metric: str
    unit: str  # count, money, share, points
    higher_is_better: bool

    @property
    def label(self) -> str:
        return kpi_words(self.metric)[0]

    @property
    def definition(self) -> str:
        return kpi_words(self.metric)[1]


def kpi_words(metric: str) -> tuple[str, str]:
    """The label and the definition of the KPI ``metric`` in the report's language."""
    return {
        "new_customers": (t("New customers"), t("Customers whose first valid purchase falls in the quarter.")),
        "active_customers": (t("Active customers"), t("Customers with at least one valid purchase in the quarter.")),
        "revenue": (t("Revenue (net)"), t("Completed order lines in the quarter, returns subtracted; cancelled and "
                                          "refunded orders count zero.")),
        "average_order_value": (t("Average order value"),
                                t("Value of valid purchase lines divided by the number of distinct orders.")),
        "retention_30d": (t("30-day retention of new customers"),
                          t("Share of new customers (first purchase at least 30 days before quarter end) who bought "
                            "again within 30 days of their first purchase.")),
        "repeat_purchase_rate": (t("Repeat-purchase rate"),
                                 t("Share of active customers with two or more orders in the quarter.")),
        "churn_rate": (t("Churn rate"), t("Share of customers active at the start of the quarter (a purchase in the "
                                          "previous N days) with no purchase in the last N days at its end; N = "
                                          "churn_inactivity_days.")),
        "nps": (t("Net Promoter Score"), t("Share of promoters (9-10) minus share of detractors (0-6) among NPS "
                                           "answers in the quarter, in points.")),
        "csat": (t("Customer satisfaction (CSAT)"),
                 t("Share of satisfaction answers of 4 or 5 on the 1-5 scale in the quarter.")),
    }[metric]


KPIS: dict[str, Kpi] = {
    "new_customers": Kpi("new_customers", "count", True),
    "active_customers": Kpi("active_customers", "count", True),
    "revenue": Kpi("revenue", "money", True),
    "average_order_value": Kpi("average_order_value", "money", True),
    "retention_30d": Kpi("retention_30d", "share", True),
    "repeat_purchase_rate": Kpi("repeat_purchase_rate", "share", True),
    "churn_rate": Kpi("churn_rate", "share", False),
    "nps": Kpi("nps", "points", True),
    "csat": Kpi("csat", "share", True),
}


class KpiDefinitions(Mapping):
    """Label -> definition of every KPI (the report's glossary), in the language of the report
    when read: a mapping made at import would keep the language of that moment."""

    def _items(self) -> dict[str, str]:
        return {kpi.label: kpi.definition for kpi in KPIS.values()}

    def __getitem__(self, label: str) -> str:
        return self._items()[label]

    def __iter__(self):
        return iter(self._items())

    def __len__(self) -> int:
        return len(KPIS)


KPI_DEFINITIONS = KpiDefinitions()


RETENTION_DAYS = 30  # the window of "30-day retention"


def first_purchases(orders: pd.DataFrame, days: int = RETENTION_DAYS) -> pd.DataFrame:
    """Each customer with a valid purchase (index ``customer_id``, sorted): ``first_purchase``,
    the time of the first one, and ``bought_again``: another valid purchase after it and at most
    ``days`` days after it. The ids are coded once for both (at millions of lines, grouping text
    ids is the cost)."""
    purchases = purchase_lines(orders, columns=["customer_id"])
    codes, ids = pd.factorize(purchases["customer_id"], sort=True)
    dates = purchases["order_date"].to_numpy()
    known = codes >= 0
    codes, dates = codes[known], dates[known]
    first = pd.Series(dates).groupby(codes).min().reindex(range(len(ids))).to_numpy()
    start = first[codes]
    again = (dates > start) & (dates <= start + np.timedelta64(days, "D"))
    return pd.DataFrame({"first_purchase": first, "bought_again": np.bincount(codes[again], minlength=len(ids)) > 0},
                        index=pd.Index(ids, name="customer_id"))


def churn_as_of_days(quarters) -> list[pd.Timestamp]:
    """The days whose last purchases the churn of ``quarters`` (one or several) looks at: the day
    before each quarter and its last day (``facts.last_purchases`` of them, for ``churn_base``)."""
    quarters = [quarters] if isinstance(quarters, Quarter) else list(quarters)
    return sorted({day for q in quarters for day in (q.start - pd.Timedelta(days=1), q.last_day)})


@dataclass(frozen=True)
class KpiBasis:
    """What the KPIs of several quarters share, computed once from the orders: each customer's
    first purchase and repeat within the retention window (``first_purchases``) and the last
    purchases as of the days their churn looks at (``facts.last_purchases`` of ``churn_as_of_days``)."""

    firsts: pd.DataFrame
    last: Mapping[pd.Timestamp, pd.Series]


def kpi_basis(orders: pd.DataFrame, quarters) -> KpiBasis:
    """The ``KpiBasis`` for the KPIs of ``quarters`` (one or several)."""
    return KpiBasis(first_purchases(orders), facts.last_purchases(orders, churn_as_of_days(quarters)))


def churn_base(orders: pd.DataFrame, quarter: Quarter, churn_days: int,
               last: Mapping[pd.Timestamp, pd.Series] | None = None) -> pd.Series:
    """Customers active at the quarter start (not churned as of the day before it), flagged True
    when churned as of its last day (``facts.is_churned``). ``last``: the last purchases as of
    ``churn_as_of_days`` of this quarter and maybe others, when the caller has them already."""
    day_before = quarter.start - pd.Timedelta(days=1)
    last = facts.last_purchases(orders, churn_as_of_days(quarter)) if last is None else last
    before = last[day_before]
    base = before.index[~facts.is_churned(facts.days_since(before, day_before), churn_days)]
    at_end = last[quarter.last_day].reindex(base)
    return pd.Series(facts.is_churned(facts.days_since(at_end, quarter.last_day), churn_days).to_numpy(), index=base)


ADDITIVE_KPIS = ("new_customers", "active_customers", "revenue")


def kpi_units(orders: pd.DataFrame, surveys: pd.DataFrame | None, quarter: Quarter, churn_days: int,
              basis: KpiBasis | None = None) -> dict[str, pd.DataFrame]:
    """The observations behind each KPI of ``quarter``: a frame (customer_id, value) per metric.

    Additive KPIs (``ADDITIVE_KPIS``) are the sum of ``value``; every other KPI is its mean:
    one row per new / active customer (value 1), net revenue per customer, amount per order,
    one 0/1 per eligible customer for the rates, NPS points (+100 promoter, 0 passive, -100
    detractor) per answer and 0/1 (4-5) per CSAT answer. The KPI table, the significance of its
    changes and the search for the group behind a change all start from these units. ``basis``:
    the ``kpi_basis`` of this quarter and maybe others, when the caller has it already.
    """
    basis = kpi_basis(orders, quarter) if basis is None else basis
    in_quarter = quarter.contains(orders["order_date"])
    purchases = purchase_lines(orders, quarter.start, quarter.end, columns=["customer_id", "order_id", "amount"])
    first = basis.firsts["first_purchase"]
    new = first.index[quarter.contains(first)]
    eligible = first.loc[new]
    eligible = eligible.index[eligible <= quarter.shift(1).start - pd.Timedelta(days=RETENTION_DAYS)]
    orders_per_customer = purchases.groupby("customer_id")["order_id"].nunique()
    per_order = purchases.groupby("order_id", sort=False).agg(customer_id=("customer_id", "first"),
                                                             value=("amount", "sum"))

    def frame(values: pd.Series) -> pd.DataFrame:
        return pd.DataFrame({"customer_id": values.index.astype("string"), "value": values.to_numpy(dtype=float)})

    units = {
        "new_customers": frame(pd.Series(1.0, index=new)),
        "active_customers": frame(pd.Series(1.0, index=orders_per_customer.index)),
        "revenue": frame(orders.loc[in_quarter, ["customer_id", "net_amount"]].groupby("customer_id")["net_amount"]
                         .sum()),
        "average_order_value": per_order.reset_index(drop=True).astype({"value": float}),
        "retention_30d": frame(basis.firsts.loc[eligible, "bought_again"]),
        "repeat_purchase_rate": frame(orders_per_customer >= 2),
        "churn_rate": frame(churn_base(orders, quarter, churn_days, basis.last)),
        "nps": frame(pd.Series(dtype=float)),
        "csat": frame(pd.Series(dtype=float)),
    }
    if surveys is not None:
        answered = surveys.loc[quarter.contains(surveys["response_date"])]
        nps = answered.loc[answered["nps_score"].notna()]
        units["nps"] = pd.DataFrame({"customer_id": nps["customer_id"].to_numpy(), "value": nps_points(nps["nps_score"])})
        csat = answered.loc[answered["csat_score"].notna()]
        units["csat"] = pd.DataFrame({"customer_id": csat["customer_id"].to_numpy(),
                                      "value": (csat["csat_score"] >= 4).to_numpy(dtype=float)})
    return units


def aggregate_units(metric: str, values: pd.Series) -> float:
    if metric in ADDITIVE_KPIS:
        return float(values.sum())
    return float(values.mean()) if len(values) else np.nan


SURVEY_KPIS = ("nps", "csat")  # from the surveys; every other KPI from the orders
NEW_CUSTOMER_KPIS = ("new_customers", "retention_30d")  # need to know who is new (``facts.can_tell_new``)


@dataclass(frozen=True)
class DataSpans:
    """What the data cover: the first and last day of each source (the preparation log's
    ``coverage``) and the warm-up before a first purchase counts as a new customer."""

    days: dict[str, dict[str, str]]
    new_customer_warmup_days: int = 0

    def source_of(self, metric: str) -> str:
        return "surveys" if metric in SURVEY_KPIS else "orders"

    def coverage(self, metric: str, quarter: Quarter) -> str:
        """"full", "partial" or "none" (``facts.quarter_coverage``) of the source behind ``metric``."""
        span = self.days.get(self.source_of(metric))
        return "none" if not span else facts.quarter_coverage(quarter, span["first_day"], span["last_day"])

    def can_tell(self, metric: str, quarter: Quarter) -> bool:
        """Whether ``metric`` means something in ``quarter``: new customers only after the warm-up."""
        if metric not in NEW_CUSTOMER_KPIS or "orders" not in self.days:
            return True
        return facts.can_tell_new(quarter.start, self.days["orders"]["first_day"], self.new_customer_warmup_days)

    def comparable(self, metric: str, quarter: Quarter, reference: Quarter) -> str:
        """"" when ``metric`` may be compared between the two quarters, else why not."""
        for q in (quarter, reference):
            if not self.can_tell(metric, q):
                return t("new customers cannot be told in {quarter} (the data start {day})", quarter=fmt_quarter(q),
                         day=fmt_date(self.days["orders"]["first_day"]))
            coverage, surveys = self.coverage(metric, q), self.source_of(metric) == "surveys"
            if coverage == "none":
                return (t("{quarter} is not in the surveys data", quarter=fmt_quarter(q)) if surveys else
                        t("{quarter} is not in the orders data", quarter=fmt_quarter(q)))
            if coverage == "partial":
                return (t("{quarter} is only partly covered by the surveys data", quarter=fmt_quarter(q)) if surveys
                        else t("{quarter} is only partly covered by the orders data", quarter=fmt_quarter(q)))
        return ""


def quarter_kpis(orders: pd.DataFrame, surveys: pd.DataFrame | None, quarter: Quarter, churn_days: int,
                 spans: DataSpans | None = None, basis: KpiBasis | None = None) -> dict:
    """Every KPI of ``quarter`` as a number (NaN when it cannot be computed, or, with ``spans``,
    when new customers cannot be told yet); ``basis`` as for ``kpi_units``."""
    units = kpi_units(orders, surveys, quarter, churn_days, basis)
    values = {metric: aggregate_units(metric, units[metric]["value"]) for metric in KPIS}
    if not quarter.contains(orders["order_date"]).any():
        # A quarter outside the data has no order-based KPIs (not zeros).
        values.update({m: np.nan for m in KPIS if m not in SURVEY_KPIS})
    if spans is not None:
        values.update({m: np.nan for m in KPIS if not spans.can_tell(m, quarter)})
    return values


def nps_points(scores) -> np.ndarray:
    """Each 0-10 answer as its NPS contribution: promoter (9-10) +100, passive 0, detractor (0-6) -100.

    The mean of the points is the Net Promoter Score.
    """
    data = pd.Series(scores, dtype="float64").dropna().to_numpy()
    if ((data < 0) | (data > 10)).any():
        raise ValueError("NPS scores must lie between 0 and 10")
    return np.where(data >= 9, 100.0, np.where(data <= 6, -100.0, 0.0))


RELATIVE_CHANGE_UNITS = ("count", "money")
"""Units whose changes are relative (+6.7%); shares and NPS points change by a difference."""


def _change(current: float, reference: float, unit: str) -> float:
    if np.isnan(current) or np.isnan(reference):
        return np.nan
    if unit not in RELATIVE_CHANGE_UNITS:
        return current - reference
    return current / reference - 1 if reference else np.nan


def compute_kpis(orders: pd.DataFrame, surveys: pd.DataFrame | None, quarter: Quarter, churn_days: int,
                 targets: dict[str, float | None], spans: DataSpans | None = None) -> pd.DataFrame:
    """The KPI overview table.

    Columns: metric, label, value, unit, previous, year_ago, qoq_change, yoy_change, target, met,
    coverage ("full" or "partial": how much of the quarter the KPI's source covers) and
    not_compared (why a change is not given). Changes are relative for counts and money, and
    differences (points / shares) for rates and NPS. With ``spans``, a change involving a partly
    covered quarter, or new customers before they can be told, is not computed.
    ``met`` compares with the target in the KPI's good direction (lower is better for churn); a
    KPI without a target (None or NaN in ``targets``, or absent) has target NaN and ``met`` None,
    and so has a KPI whose value cannot be computed.
    """
    compared = [quarter, quarter.previous(), quarter.year_ago()]
    basis = kpi_basis(orders, compared)
    now, previous, year_ago = (quarter_kpis(orders, surveys, q, churn_days, spans, basis) for q in compared)
    rows = []
    for metric, kpi in KPIS.items():
        why = {"qoq": "", "yoy": ""} if spans is None else {
            "qoq": spans.comparable(metric, quarter, quarter.previous()),
            "yoy": spans.comparable(metric, quarter, quarter.year_ago())}
        target = targets.get(metric)
        target = None if target is None or pd.isna(target) else float(target)
        value = now[metric]
        met = None
        if target is not None and not np.isnan(value):
            met = bool(value >= target) if kpi.higher_is_better else bool(value <= target)
        rows.append({
            "metric": metric, "label": kpi.label, "value": value, "unit": kpi.unit,
            "previous": previous[metric], "year_ago": year_ago[metric],
            "qoq_change": np.nan if why["qoq"] else _change(value, previous[metric], kpi.unit),
            "yoy_change": np.nan if why["yoy"] else _change(value, year_ago[metric], kpi.unit),
            "target": np.nan if target is None else target, "met": met,
            "coverage": "full" if spans is None else spans.coverage(metric, quarter),
            "not_compared": t("; ").join(dict.fromkeys(w for w in why.values() if w)),
        })
    return pd.DataFrame(rows)


def previous_quarter_kpis(table: pd.DataFrame) -> pd.DataFrame:
    """The quarter before's ``metric, value, target`` from the table ``compute_kpis`` made for a
    quarter: its ``previous`` column holds what ``compute_kpis`` gives as ``value`` for the quarter
    before (each quarter's numbers come from ``quarter_kpis`` alone), under the same targets."""
    return table[["metric", "previous", "target"]].rename(columns={"previous": "value"}).reset_index(drop=True)


def format_kpi_value(value: float, unit: str, currency: str) -> str:
    return {"count": fmt_int, "money": lambda v: fmt_money(v, currency), "share": fmt_pct,
            "points": lambda v: fmt_num(v, 1)}[unit](value)


def format_kpi_change(change: float, unit: str) -> str:
    if unit == "share":
        return fmt_pp(change)
    if unit == "points":
        return "–" if pd.isna(change) else t("{points} pts", points=f"{change:+.1f}")
    return fmt_change(change)


NO_TARGET = "no target"
"""What readers see where a KPI has no target (no met / not met is claimed for it), in English;
:func:`format_kpi_target` gives it in the report's language."""


def format_kpi_target(target: float, unit: str, currency: str) -> str:
    """A KPI's target for readers, or "no target" when none is set."""
    return t("no target") if pd.isna(target) else format_kpi_value(target, unit, currency)


def kpi_table_for_readers(kpis: pd.DataFrame, currency: str) -> pd.DataFrame:
    """The KPI table with every number formatted for the report. "Met" is "met" / "not met" only
    for a KPI with a target and a value; "–" otherwise (the Target column then says "no target"
    or the value is missing). A value of a partly covered quarter says so."""
    met = kpis["met"].astype("object").where(kpis["target"].notna())  # no target: nothing to meet
    partial = kpis["coverage"].eq("partial") if "coverage" in kpis else pd.Series(False, index=kpis.index)
    return pd.DataFrame({
        t("KPI"): kpis["label"],
        t("This quarter"): [t("{value} (partial quarter)", value=format_kpi_value(v, u, currency)) if p
                            else format_kpi_value(v, u, currency)
                            for v, u, p in zip(kpis["value"], kpis["unit"], partial)],
        t("vs previous quarter"): [format_kpi_change(c, u) for c, u in zip(kpis["qoq_change"], kpis["unit"])],
        t("vs a year ago"): [format_kpi_change(c, u) for c, u in zip(kpis["yoy_change"], kpis["unit"])],
        t("Target"): [format_kpi_target(v, u, currency) for v, u in zip(kpis["target"], kpis["unit"])],
        t("Met"): [_met_word(m) for m in met],
    })


def comparison_note(kpis: pd.DataFrame) -> str:
    """One sentence on the changes the table leaves out and why ("" when every change is given)."""
    if "not_compared" not in kpis:
        return ""
    left_out = kpis.loc[kpis["not_compared"].fillna("").astype(str) != ""]
    if left_out.empty:
        return ""
    reasons = t("; ").join(dict.fromkeys(left_out["not_compared"].astype(str)))
    return t("Not compared with other quarters: {kpis} ({reasons}). A part of a quarter is not set against a "
             "whole one.", kpis=t(", ").join(left_out["label"]), reasons=reasons)


def _met_word(met) -> str:
    """"met" / "not met" for a flag True / False (also as read back from a CSV); "–" for None / NaN."""
    return {"True": t("met"), "False": t("not met")}.get(str(met), "–")


def kpi_finding(kpis: pd.DataFrame, currency: str) -> str:
    """One or two sentences: how many targets were met, and the biggest miss; without any target,
    that no KPI is judged against one."""
    with_target = kpis.loc[kpis["target"].notna() & kpis["met"].notna()]
    met = int(with_target["met"].astype(bool).sum())
    if kpis["target"].notna().any():
        text = t("{met} of {total} KPIs with a target met it this quarter.", met=fmt_int(met),
                 total=fmt_int(len(with_target)))
    else:
        text = t("No KPI has a target (kpi_targets in the parameters), so none is judged met or not met.")
    revenue = kpis.set_index("metric").loc["revenue"]
    text += " " + t("Net revenue was {revenue}, {qoq} on the previous quarter and {yoy} on a year ago.",
                    revenue=format_kpi_value(revenue["value"], "money", currency),
                    qoq=format_kpi_change(revenue["qoq_change"], "money"),
                    yoy=format_kpi_change(revenue["yoy_change"], "money"))
    missed = with_target.loc[~with_target["met"].astype(bool)]
    if len(missed):
        gap = (missed["value"] - missed["target"]).abs() / missed["target"].abs().replace(0, np.nan)
        worst = missed.loc[gap.fillna(0).idxmax()]
        text += " " + t("Furthest from target: {kpi} at {value} against {target}.", kpi=worst["label"],
                        value=format_kpi_value(worst["value"], worst["unit"], currency),
                        target=format_kpi_value(worst["target"], worst["unit"], currency))
    return text
