"""Action lists for the teams (customer ids only), the follow-up plan, and the closed loop that
checks last quarter's lists against this quarter's outcomes.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import facts
from helpers.chapters import basket
from helpers.chapters.rfm import segment_name
from helpers.data.codes import is_in
from helpers.errors import NotAvailable
from helpers.facts import purchase_lines
from helpers.facts.kpis import KPIS, format_kpi_target, format_kpi_value, previous_quarter_kpis
from helpers.params import BehaviourOptions
from helpers.quarters import Quarter
from helpers.report import export
from helpers.report.fmt import fmt_date, fmt_int, fmt_money, fmt_pct, fmt_quarter
from helpers.report.i18n import t

# KPIs checked monthly between reports; the rest quarterly.
MONTHLY_KPIS = {"active_customers", "churn_rate", "nps", "csat", "new_customers"}


def reason_codes(frame: pd.DataFrame) -> pd.Series:
    """';'-joined codes from the columns present: model score, recency, complaints, survey answers, p_alive."""
    checks = {
        "MODEL_SCORE_HIGH": frame.get("churn_probability", pd.Series(np.nan, index=frame.index)) >= 0.7,
        "MODEL_SCORE_ELEVATED": frame.get("churn_probability", pd.Series(np.nan, index=frame.index)).between(0.5, 0.7,
                                                                                                           inclusive="left"),
        "INACTIVE_60D": frame.get("days_since_last_purchase", pd.Series(np.nan, index=frame.index)) >= 60,
        "COMPLAINT_90D": frame.get("complaints_90d", pd.Series(0, index=frame.index)) >= 1,
        "DETRACTOR": frame.get("last_nps", pd.Series(np.nan, index=frame.index)) <= 6,
        "LOW_CSAT": frame.get("last_csat", pd.Series(np.nan, index=frame.index)) <= 2,
        "LOW_P_ALIVE": frame.get("p_alive", pd.Series(np.nan, index=frame.index)) < 0.5,
    }
    codes = pd.Series("", index=frame.index, dtype="string")
    for code, mask in checks.items():
        codes = codes.where(~mask.fillna(False).astype(bool), codes + ";" + code)
    return codes.str.lstrip(";")


def at_risk_high_value_list(clv: pd.DataFrame, scores: pd.DataFrame, customer_facts: pd.DataFrame,
                            threshold: float) -> pd.DataFrame:
    """The at-risk high-value customers (``facts.at_risk_high_value``) with what the teams need to call them.

    ``customer_facts`` are the facts as of the quarter's last day (``Chapter.customer_facts``).
    Columns: customer_id, clv, churn_probability, p_alive, days_since_last_purchase, complaints_90d,
    last_nps, last_csat, reason_codes, top_reasons; highest expected loss (CLV x probability) first.
    """
    frame = facts.at_risk_high_value(clv, scores, threshold).rename(columns={"clv_12m": "clv"})
    context = ["days_since_last_purchase", "complaints_90d", "last_nps", "last_csat"]
    frame = frame.merge(customer_facts[["customer_id", *context]], on="customer_id", how="left")
    frame["reason_codes"] = reason_codes(frame)
    frame["expected_loss"] = frame["clv"] * frame["churn_probability"]
    columns = ["customer_id", "clv", "churn_probability", "p_alive", *context, "reason_codes"] + (
        ["top_reasons"] if "top_reasons" in frame else [])
    return frame.sort_values(["expected_loss", "customer_id"], ascending=[False, True])[columns].reset_index(drop=True)


# The finding's numbers, one per row of ``risk_groups``.
RISK_GROUP_KEYS = ("at_risk_by_model", "rfm_at_risk", "high_value_tier", "at_risk_high_value", "model_and_rfm",
                   "rfm_and_high_value")


def risk_groups(scores: pd.DataFrame, segments: pd.DataFrame, clv: pd.DataFrame, threshold: float,
                rfm_at_risk: str = "At risk") -> pd.DataFrame:
    """How the report's three notions of risk relate: customers in each group and in each overlap.

    The churn model's at-risk (chapter 03, scored customers not yet churned), the RFM segment
    ``rfm_at_risk`` (chapter 04, high past value but a last purchase long ago) and the high CLV
    tier (chapter 04); the at-risk high-value list is the overlap of the first and the third.
    """
    model = set(scores.loc[facts.is_at_risk(scores["churn_probability"], threshold), "customer_id"])
    rfm = set(segments.loc[segments["segment"] == rfm_at_risk, "customer_id"])
    high = set(clv.loc[clv["value_tier"] == "high", "customer_id"])
    segment = segment_name(rfm_at_risk)
    rows = [
        (t("Churn model: probability of churn at or above the threshold (chapter 03)"), model),
        (t("RFM segment '{segment}' (chapter 04)", segment=segment), rfm),
        (t("High CLV tier (chapter 04)"), high),
        (t("Churn model and high CLV tier: the at-risk high-value list"), model & high),
        (t("Churn model and RFM '{segment}'", segment=segment), model & rfm),
        (t("RFM '{segment}' and high CLV tier", segment=segment), rfm & high),
    ]
    return pd.DataFrame({"group": [name for name, _ in rows], "customers": [len(ids) for _, ids in rows]})


def risk_groups_finding(groups: pd.DataFrame, threshold: float) -> str:
    counts = groups.set_index("group")["customers"].tolist()
    model, rfm, high, listed, model_rfm = counts[:5]
    return t("{model} customers are at risk by the churn model (probability {threshold} or more) and {rfm} are in the "
             "RFM segment '{segment}'; {both} are in both, because the model scores only customers not yet churned while "
             "RFM '{segment}' are mostly lapsed already. The at-risk high-value list is the {listed} of the model's "
             "at-risk who are also among the {high} customers of the high CLV tier.", model=fmt_int(model),
             threshold=fmt_pct(threshold, 0), rfm=fmt_int(rfm), segment=segment_name("At risk"),
             both=fmt_int(model_rfm), listed=fmt_int(listed), high=fmt_int(high))


def win_back(customer_facts: pd.DataFrame, orders: pd.DataFrame, churn_days: int, lookback_days: int = 365,
             clv: pd.DataFrame | None = None) -> pd.DataFrame:
    """Recently lapsed customers worth winning back: churned (``facts.is_churned``) with a last
    purchase fewer than ``churn_days + lookback_days`` days ago, ranked by what they spent in the
    365 days up to their last purchase. ``customer_facts`` as of the quarter's last day; the
    order lines are read for the lapsed customers only.
    """
    days = customer_facts["days_since_last_purchase"]
    lapsed = customer_facts.loc[(facts.is_churned(days, churn_days) & (days < churn_days + lookback_days)).fillna(False)]
    last = lapsed.set_index("customer_id")["last_purchase"]
    if last.empty:  # nobody has lapsed yet
        columns = ["customer_id", "last_purchase_date", "days_since_last_purchase", "revenue_year_before_lapse",
                   "orders_year_before_lapse"] + (["p_alive"] if clv is not None and "p_alive" in clv else [])
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("revenue_year_before_lapse", "p_alive") else "object")
                             for c in columns})
    purchases = purchase_lines(orders, end=last.max(), columns=["customer_id", "order_id", "amount"])
    window = purchases.loc[is_in(purchases["customer_id"], last.index), ["customer_id", "order_id", "order_date", "amount"]]
    window = window.loc[window["order_date"] > window["customer_id"].map(last) - pd.Timedelta(days=365)]
    spend = window.groupby("customer_id").agg(revenue_year_before_lapse=("amount", "sum"),
                                              orders_year_before_lapse=("order_id", "nunique"))
    table = pd.DataFrame({"customer_id": last.index, "last_purchase_date": last.dt.strftime("%Y-%m-%d").to_numpy(),
                          "days_since_last_purchase": lapsed["days_since_last_purchase"].astype("int64").to_numpy()}
                         ).join(spend, on="customer_id")
    if clv is not None and "p_alive" in clv:
        table["p_alive"] = table["customer_id"].map(clv.set_index("customer_id")["p_alive"])
    return table.sort_values(["revenue_year_before_lapse", "customer_id"], ascending=[False, True]).reset_index(drop=True)


def onboarding(customer_facts: pd.DataFrame, period: Quarter) -> pd.DataFrame:
    """New customers of the quarter (first purchase in it) who have not yet placed a second
    order, largest first order first; ``customer_facts`` as of the quarter's last day."""
    new = customer_facts.loc[period.contains(customer_facts["first_purchase"])
                             & (customer_facts["purchase_orders"] == 1)]
    table = pd.DataFrame({"customer_id": new["customer_id"].to_numpy(),
                          "first_order_date": new["first_purchase"].dt.strftime("%Y-%m-%d").to_numpy(),
                          "days_since_first_order": new["tenure_days"].astype("int64").to_numpy(),
                          "first_order_value": new["purchase_value"].to_numpy()})
    return table.sort_values(["first_order_value", "customer_id"], ascending=[False, True]).reset_index(drop=True)


def cross_sell_list(candidates: pd.DataFrame, per_customer: int = 1) -> pd.DataFrame:
    """The best ``per_customer`` suggestions of each customer from the behaviour chapter's candidates."""
    ranked = candidates.sort_values(["score", "customer_id"], ascending=[False, True])
    return ranked.groupby("customer_id", sort=False).head(per_customer).reset_index(drop=True)


PLAN_COLUMNS = ["metric", "kpi", "frequency", "current", "target", "re-analyse when", "trigger", "breached",
                "in an action this quarter"]  # in English; the headers with spaces are read in the report's language


def plan_columns() -> list[str]:
    """``PLAN_COLUMNS`` as the plan names them: its headers with spaces in the report's language."""
    return ["metric", "kpi", "frequency", "current", "target", t("re-analyse when"), "trigger", "breached",
            t("in an action this quarter")]


def follow_up_plan(kpis: pd.DataFrame, actions: pd.DataFrame, currency: str) -> pd.DataFrame:
    """Every KPI with how often to check it, its target ("no target" when none is set), and the
    condition that triggers a new analysis.

    With a target, the trigger is the target less a margin in the KPI's bad direction: 2 points
    for a share, 5 points for NPS, 5% of the target otherwise. ``breached`` is "yes" when this
    quarter's value is already past it (strictly below, or above for a KPI where lower is better);
    a KPI without a target triggers on a move of more than 10% from this quarter's value, which
    this quarter's value cannot breach. Breached triggers first, then KPIs in an action, monthly
    checks before quarterly ones. ``trigger`` is the condition alone (``"below 1,900"``). Words and
    the headers with spaces are in the report's language (:func:`plan_columns`).
    """
    rows = []
    flagged = set(actions["tracking_kpi"]) if len(actions) else set()
    columns = plan_columns()
    when_column, action_column = columns[5], columns[8]
    yes, no = t("yes"), t("no")
    for _, row in kpis.iterrows():
        kpi = KPIS[row["metric"]]
        target, value = row["target"], row["value"]
        breached = False
        if pd.notna(target):
            margin = 0.02 if kpi.unit == "share" else (5.0 if kpi.unit == "points" else 0.05 * abs(target))
            trigger_value = target - margin if kpi.higher_is_better else target + margin
            limit = format_kpi_value(trigger_value, kpi.unit, currency)
            trigger = t("below {value}", value=limit) if kpi.higher_is_better else t("above {value}", value=limit)
            if pd.notna(value):
                breached = bool(value < trigger_value) if kpi.higher_is_better else bool(value > trigger_value)
            when = t("{trigger} at a check", trigger=trigger)
        else:
            trigger = when = t("moves more than 10% from this quarter's value")
        monthly, in_action = row["metric"] in MONTHLY_KPIS, kpi.label in flagged
        rows.append({"metric": row["metric"], "kpi": kpi.label,
                     "frequency": t("monthly") if monthly else t("quarterly"),
                     "current": format_kpi_value(value, kpi.unit, currency),
                     "target": format_kpi_target(target, kpi.unit, currency),
                     when_column: when, "trigger": trigger, "breached": yes if breached else no,
                     action_column: yes if in_action else no,
                     # the order, whatever the language of the words: breached, in an action, monthly first
                     "_order": (not breached, not in_action, not monthly)})
    plan = pd.DataFrame(rows, columns=[*columns, "_order"])
    return plan.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)


def breached_finding(plan: pd.DataFrame) -> str:
    """One sentence naming the triggers this quarter's values already breach, in the plan's order."""
    breached = plan.loc[plan["breached"] == t("yes")]
    if breached.empty:
        return t("No re-analysis trigger is breached by this quarter's values.")
    named = t("; ").join(t("{kpi} {current} against {trigger}", kpi=row["kpi"], current=row["current"],
                           trigger=row["trigger"]) for _, row in breached.iterrows())
    return t("Already breached: {triggers}.", triggers=named)


class ListOutcomes(Mapping):
    """Action list (file name) -> the outcome checked for its customers, in the report's language
    when read (a mapping made at import would keep the language of that moment)."""

    def _items(self) -> dict[str, str]:
        return {
            "at_risk_high_value.csv": t("retained (bought this quarter)"),
            "win_back.csv": t("won back (bought this quarter)"),
            "onboarding.csv": t("placed a further order this quarter"),
            "cross_sell.csv": t("bought the suggested category this quarter"),
        }

    def __getitem__(self, name: str) -> str:
        return self._items()[name]

    def __iter__(self):
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())


LIST_OUTCOMES = ListOutcomes()


def read_action_lists(artifacts: Path) -> dict[str, pd.DataFrame]:
    """The action lists (``LIST_OUTCOMES``) an earlier report's artifacts folder holds, by file name."""
    return {name: export.read_csv(Path(artifacts) / name, dtype={"customer_id": str})
            for name in LIST_OUTCOMES if (Path(artifacts) / name).exists()}


def closed_loop_lists(lists: dict[str, pd.DataFrame], orders: pd.DataFrame, period: Quarter) -> pd.DataFrame:
    """Last quarter's action lists (by file name, as ``read_action_lists`` or ``recomputed_lists``
    give them) checked against this quarter's purchases: on each list, the customers with the
    outcome of ``LIST_OUTCOMES`` in ``period``."""
    in_quarter = purchase_lines(orders, period.start, period.end, columns=["customer_id", "category"])
    buyers = set(in_quarter["customer_id"])
    rows = []
    for name, outcome in LIST_OUTCOMES.items():
        listed = lists.get(name)
        if listed is None:
            continue
        if name == "cross_sell.csv" and "consequent" in listed and "category" in in_quarter:
            bought = in_quarter[["customer_id", "category"]].drop_duplicates()
            hits = listed.merge(bought, left_on=["customer_id", "consequent"], right_on=["customer_id", "category"])
            achieved = hits["customer_id"].nunique()
        else:
            achieved = int(is_in(listed["customer_id"], buyers).sum())
        customers = int(listed["customer_id"].nunique())
        rows.append({"list": name, "customers on it": customers, "outcome": outcome, "customers with the outcome": achieved,
                     "share": achieved / customers if customers else np.nan})
    return pd.DataFrame(rows, columns=["list", "customers on it", "outcome", "customers with the outcome", "share"])


def recomputed_lists(customer_facts: pd.DataFrame, orders: pd.DataFrame, period: Quarter, churn_days: int,
                     behaviour: BehaviourOptions) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The action lists the report of ``period`` would have made, from the data as of its last
    day, for a closed loop without that report; returns the lists by file name and a note per
    list left out.

    ``customer_facts`` are the facts as of ``period``'s last day. Win-back and onboarding are
    the same functions on them. Cross-sell mines the rules of chapter 03 (``behaviour``'s basket
    options) up to that day and takes each not-churned customer's best rule: the churn score only
    scales all of one customer's rules alike, so it does not change which rule is best, and the
    not-churned are the customers the churn model scores. The at-risk high-value list needs that
    quarter's churn model and CLV tiers and is left out.
    """
    day = period.last_day
    lists = {"win_back.csv": win_back(customer_facts, orders, churn_days),
             "onboarding.csv": onboarding(customer_facts, period)}
    notes = [t("The at-risk high-value list is left out: it needs the churn scores and CLV tiers as of {day}, which "
               "only the {quarter} report computes.", day=fmt_date(day), quarter=fmt_quarter(period))]
    days = customer_facts["days_since_last_purchase"]
    not_churned = customer_facts.loc[days.notna() & ~facts.is_churned(days, churn_days), ["customer_id"]]
    try:
        rules = basket.association_rules(orders, period, behaviour.basket_quarters, behaviour.min_support,
                                         behaviour.min_confidence, behaviour.max_products)
    except NotAvailable as exc:
        notes.append(t("The cross-sell list is left out: {reason}.", reason=exc.missing))
        return lists, notes
    candidates = basket.cross_sell_candidates(orders, rules, not_churned.assign(churn_probability=0.0), period.end,
                                              max_rules=behaviour.cross_sell_max_rules)
    # Without the churn scores the value and score columns would not be the report's: only the rule is kept.
    lists["cross_sell.csv"] = cross_sell_list(candidates)[["customer_id", "antecedent", "consequent", "lift"]]
    return lists, notes


@dataclass
class LastQuarter:
    """Last quarter's action lists and KPIs, from its report or recomputed from this run's data.

    ``source`` says which ("the 2026Q2 report of 2026-07-03" or "2026Q2 (recomputed from the data
    as of 2026-06-30; no earlier report found)"); ``notes`` name the lists left out.
    """

    quarter: Quarter
    lists: dict[str, pd.DataFrame]
    kpis: pd.DataFrame
    source: str
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_chapter(cls, ch, kpis_now: pd.DataFrame) -> "LastQuarter":
        """The previous quarter's newest report in the output folder; without one, the lists
        (``recomputed_lists``) of the previous quarter from the data as of its last day and its
        KPIs from the data, as this quarter's KPI table ``kpis_now`` (``compute_kpis``) holds
        them. ``NotAvailable`` when the orders start after that day."""
        previous = ch.period.previous()
        params, orders = ch.params, ch.table("orders")
        report = ch.previous_report()
        if report is not None:
            source = t("the {quarter} report of {day}", quarter=fmt_quarter(previous), day=_report_day(report.name))
            if (report / "artifacts" / "kpi_overview.csv").exists():
                return cls(previous, read_action_lists(report / "artifacts"), previous_kpis(report), source)
            # a report run without the overview chapter: its lists, and the KPIs from the data
            return cls(previous, read_action_lists(report / "artifacts"), previous_quarter_kpis(kpis_now), source,
                       [t("That report holds no KPI table; last quarter's KPIs are recomputed from the data.")])
        first = ch.log.get("coverage", {}).get("orders", {}).get("first_day")
        if first is None or pd.Timestamp(first) > previous.last_day:
            raise NotAvailable(t("no report for {quarter} was found and the orders start on {first}, after its end "
                                 "({end})", quarter=fmt_quarter(previous), first=fmt_date(first) if first else t("no day"),
                                 end=fmt_date(previous.last_day)),
                               t("an orders export that starts earlier"))
        lists, notes = recomputed_lists(ch.customer_facts(previous.last_day), orders, previous,
                                        params.churn_inactivity_days, params.chapter_options.behaviour)
        return cls(previous, lists, previous_quarter_kpis(kpis_now),
                   t("{quarter} (recomputed from the data as of {day}; no earlier report found)",
                     quarter=fmt_quarter(previous), day=fmt_date(previous.last_day)),
                   notes)


def _report_day(folder: str) -> str:
    """The day of a report folder (``2026-07-03``) for readers; a folder of a second run that day
    (``2026-07-03-1``) as it is named."""
    return fmt_date(folder) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", folder) else folder


def previous_kpis(previous_report: Path) -> pd.DataFrame:
    """The KPI table of an earlier report folder."""
    return export.read_csv(Path(previous_report) / "artifacts" / "kpi_overview.csv")


def closed_loop_kpis(previous_kpis: pd.DataFrame, current_kpis: pd.DataFrame, currency: str) -> pd.DataFrame:
    """Each KPI last quarter and now against its target: did it move the right way, and is the
    target met now ("no target" for a KPI without one: it is not judged)?"""
    merged = previous_kpis[["metric", "value", "target"]].merge(current_kpis[["metric", "value", "target"]],
                                                                on="metric", suffixes=("_then", "_now"))
    rows = []
    for _, row in merged.iterrows():
        kpi = KPIS[row["metric"]]
        direction = 1 if kpi.higher_is_better else -1
        moved = (row["value_now"] - row["value_then"]) * direction
        target = row["target_now"]
        met = None if pd.isna(target) else (row["value_now"] - target) * direction >= 0
        rows.append({"kpi": kpi.label, t("last quarter"): format_kpi_value(row["value_then"], kpi.unit, currency),
                     t("this quarter"): format_kpi_value(row["value_now"], kpi.unit, currency),
                     "target": format_kpi_target(target, kpi.unit, currency),
                     t("moved the right way"): "–" if pd.isna(moved) else (t("yes") if moved > 0 else t("no")),
                     t("target met now"): t("no target") if met is None else (t("yes") if met else t("no"))})
    return pd.DataFrame(rows)


def closed_loop_finding(lists: pd.DataFrame, kpi_moves: pd.DataFrame, against: str) -> str:
    """The retention of last quarter's at-risk high-value list (when it is at hand) and how many
    KPIs moved the right way, against ``against`` (``LastQuarter.source``)."""
    at_risk = lists.loc[lists["list"] == "at_risk_high_value.csv"]
    moves = {"source": against, "improved": fmt_int((kpi_moves[t("moved the right way")] == t("yes")).sum()),
             "kpis": fmt_int(len(kpi_moves))}
    if len(at_risk):
        row = at_risk.iloc[0]
        return t("Against {source}: {share} of the {customers} at-risk high-value customers were retained; {improved} of "
                 "{kpis} KPIs moved the right way.", share=fmt_pct(row["share"]),
                 customers=fmt_int(row["customers on it"]), **moves)
    return t("Against {source}: {improved} of {kpis} KPIs moved the right way.", **moves)


def at_risk_finding(at_risk: pd.DataFrame, currency: str) -> str:
    if at_risk.empty:
        return t("No high-value customer has a churn probability of 50% or more this quarter.")
    codes = at_risk["reason_codes"].str.split(";").explode()
    codes = codes.loc[codes.astype(bool)].value_counts()
    values = {"customers": fmt_int(len(at_risk)), "clv": fmt_money(at_risk["clv"].sum(), currency)}
    if len(codes):  # the code as the list has it; the page shows it in words (helpers.report.labels)
        return t("{customers} high-value customers are at risk, carrying {clv} of 12-month CLV; the most common reason "
                 "is {reason} ({with_reason} customers).", reason=codes.index[0], with_reason=fmt_int(codes.iloc[0]),
                 **values)
    return t("{customers} high-value customers are at risk, carrying {clv} of 12-month CLV.", **values)


def win_back_finding(win_back_list: pd.DataFrame, currency: str, churn_days: int, lookback_days: int = 365,
                     top: int = 100) -> str:
    """The win-back list (:func:`win_back` with the same ``churn_days`` and ``lookback_days``) in
    words, with its rule: churned, and for fewer than ``lookback_days`` days, so a last purchase
    from ``churn_days`` to ``churn_days + lookback_days - 1`` days ago (90 to 454 with the defaults:
    a customer whose last purchase was 400 days ago is on it)."""
    if churn_days < 1 or lookback_days < 1:
        raise ValueError(f"churn_days and lookback_days must be at least 1, got {churn_days} and {lookback_days}")
    window = {"first_day": fmt_int(churn_days), "last_day": fmt_int(churn_days + lookback_days - 1),
              "churn_days": fmt_int(churn_days), "lookback_days": fmt_int(lookback_days)}
    if win_back_list.empty:
        return t("No customer is on the win-back list: none made a last purchase between {first_day} and {last_day} "
                 "days ago (churned, with no purchase for {churn_days} days or more, and churned for less than "
                 "{lookback_days} days).", **window)
    shown = min(top, len(win_back_list))
    spent = win_back_list["revenue_year_before_lapse"].head(top).sum()
    return t("{customers} customers made their last purchase between {first_day} and {last_day} days ago: they are "
             "churned (no purchase for {churn_days} days or more) and have been churned for less than {lookback_days} "
             "days. The top {top} spent {spent} in the year before their last purchase.",
             customers=fmt_int(len(win_back_list)),
             top=fmt_int(shown), spent=fmt_money(spent, currency), **window)


def onboarding_finding(onboard: pd.DataFrame, new_customers: float) -> str:
    if new_customers:
        return t("{customers} of this quarter's new customers have not ordered a second time yet ({share} of them).",
                 customers=fmt_int(len(onboard)), share=fmt_pct(len(onboard) / new_customers))
    return t("{customers} of this quarter's new customers have not ordered a second time yet.",
             customers=fmt_int(len(onboard)))
