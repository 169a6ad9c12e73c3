"""Action lists for the teams (customer ids only), the follow-up plan, and the closed loop that
checks last quarter's lists against this quarter's outcomes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import facts
from helpers.chapters import basket
from helpers.errors import NotAvailable
from helpers.facts import purchase_lines
from helpers.facts.kpis import KPIS, compute_kpis, format_kpi_target, format_kpi_value
from helpers.params import BehaviourOptions
from helpers.quarters import Quarter
from helpers.report import export
from helpers.report.fmt import fmt_int, fmt_money, fmt_pct

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
    rows = [
        ("Churn model: probability of churn at or above the threshold (chapter 03)", model),
        (f"RFM segment '{rfm_at_risk}' (chapter 04)", rfm),
        ("High CLV tier (chapter 04)", high),
        ("Churn model and high CLV tier: the at-risk high-value list", model & high),
        (f"Churn model and RFM '{rfm_at_risk}'", model & rfm),
        (f"RFM '{rfm_at_risk}' and high CLV tier", rfm & high),
    ]
    return pd.DataFrame({"group": [name for name, _ in rows], "customers": [len(ids) for _, ids in rows]})


def risk_groups_finding(groups: pd.DataFrame, threshold: float) -> str:
    counts = groups.set_index("group")["customers"].tolist()
    model, rfm, high, listed, model_rfm = counts[:5]
    return (f"{fmt_int(model)} customers are at risk by the churn model (probability {fmt_pct(threshold, 0)} or more) "
            f"and {fmt_int(rfm)} are in the RFM segment 'At risk'; {fmt_int(model_rfm)} are in both, because the model "
            f"scores only customers not yet churned while RFM 'At risk' are mostly lapsed already. The at-risk "
            f"high-value list is the {fmt_int(listed)} of the model's at-risk who are also among the "
            f"{fmt_int(high)} customers of the high CLV tier.")


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
    purchases = purchase_lines(orders, end=last.max())
    window = purchases.loc[purchases["customer_id"].isin(last.index), ["customer_id", "order_id", "order_date", "amount"]]
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
                "in an action this quarter"]


def follow_up_plan(kpis: pd.DataFrame, actions: pd.DataFrame, currency: str) -> pd.DataFrame:
    """Every KPI with how often to check it, its target ("no target" when none is set), and the
    condition that triggers a new analysis.

    With a target, the trigger is the target less a margin in the KPI's bad direction: 2 points
    for a share, 5 points for NPS, 5% of the target otherwise. ``breached`` is "yes" when this
    quarter's value is already past it (strictly below, or above for a KPI where lower is better);
    a KPI without a target triggers on a move of more than 10% from this quarter's value, which
    this quarter's value cannot breach. Breached triggers first, then KPIs in an action, monthly
    checks before quarterly ones. ``trigger`` is the condition alone (``"below 1,900"``).
    """
    rows = []
    flagged = set(actions["tracking_kpi"]) if len(actions) else set()
    for _, row in kpis.iterrows():
        kpi = KPIS[row["metric"]]
        target, value = row["target"], row["value"]
        breached = False
        if pd.notna(target):
            margin = 0.02 if kpi.unit == "share" else (5.0 if kpi.unit == "points" else 0.05 * abs(target))
            trigger_value = target - margin if kpi.higher_is_better else target + margin
            word = "below" if kpi.higher_is_better else "above"
            trigger = f"{word} {format_kpi_value(trigger_value, kpi.unit, currency)}"
            if pd.notna(value):
                breached = bool(value < trigger_value) if kpi.higher_is_better else bool(value > trigger_value)
            when = f"{trigger} at a check"
        else:
            trigger = when = "moves more than 10% from this quarter's value"
        rows.append({"metric": row["metric"], "kpi": kpi.label,
                     "frequency": "monthly" if row["metric"] in MONTHLY_KPIS else "quarterly",
                     "current": format_kpi_value(value, kpi.unit, currency),
                     "target": format_kpi_target(target, kpi.unit, currency),
                     "re-analyse when": when, "trigger": trigger, "breached": "yes" if breached else "no",
                     "in an action this quarter": "yes" if kpi.label in flagged else "no"})
    plan = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    return plan.sort_values(["breached", "in an action this quarter", "frequency"], ascending=[False, False, True],
                            kind="stable").reset_index(drop=True)


def breached_finding(plan: pd.DataFrame) -> str:
    """One sentence naming the triggers this quarter's values already breach, in the plan's order."""
    breached = plan.loc[plan["breached"] == "yes"]
    if breached.empty:
        return "No re-analysis trigger is breached by this quarter's values."
    named = "; ".join(f"{row['kpi']} {row['current']} against {row['trigger']}" for _, row in breached.iterrows())
    return f"Already breached: {named}."


LIST_OUTCOMES = {
    "at_risk_high_value.csv": "retained (bought this quarter)",
    "win_back.csv": "won back (bought this quarter)",
    "onboarding.csv": "placed a further order this quarter",
    "cross_sell.csv": "bought the suggested category this quarter",
}


def read_action_lists(artifacts: Path) -> dict[str, pd.DataFrame]:
    """The action lists (``LIST_OUTCOMES``) an earlier report's artifacts folder holds, by file name."""
    return {name: export.read_csv(Path(artifacts) / name, dtype={"customer_id": str})
            for name in LIST_OUTCOMES if (Path(artifacts) / name).exists()}


def closed_loop_lists(lists: dict[str, pd.DataFrame], orders: pd.DataFrame, period: Quarter) -> pd.DataFrame:
    """Last quarter's action lists (by file name, as ``read_action_lists`` or ``recomputed_lists``
    give them) checked against this quarter's purchases: on each list, the customers with the
    outcome of ``LIST_OUTCOMES`` in ``period``."""
    purchases = purchase_lines(orders)
    in_quarter = purchases.loc[period.contains(purchases["order_date"])]
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
            achieved = int(listed["customer_id"].isin(buyers).sum())
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
    notes = [f"The at-risk high-value list is left out: it needs the churn scores and CLV tiers as of "
             f"{day:%Y-%m-%d}, which only the {period} report computes."]
    days = customer_facts["days_since_last_purchase"]
    not_churned = customer_facts.loc[days.notna() & ~facts.is_churned(days, churn_days), ["customer_id"]]
    try:
        rules = basket.association_rules(orders, period, behaviour.basket_quarters, behaviour.min_support,
                                         behaviour.min_confidence, behaviour.max_products)
    except NotAvailable as exc:
        notes.append(f"The cross-sell list is left out: {exc.missing}.")
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
    def from_chapter(cls, ch) -> "LastQuarter":
        """The previous quarter's newest report in the output folder; without one, the lists
        (``recomputed_lists``) and the KPIs (``compute_kpis``) of the previous quarter from the
        data as of its last day. ``NotAvailable`` when the orders start after that day."""
        previous = ch.period.previous()
        params, orders = ch.params, ch.table("orders")

        def kpis_then() -> pd.DataFrame:
            return compute_kpis(orders, ch.table("surveys"), previous, params.churn_inactivity_days,
                                params.kpi_targets.model_dump(), ch.spans)

        report = ch.previous_report()
        if report is not None:
            source = f"the {previous} report of {report.name}"
            if (report / "artifacts" / "kpi_overview.csv").exists():
                return cls(previous, read_action_lists(report / "artifacts"), previous_kpis(report), source)
            # a report run without the overview chapter: its lists, and the KPIs from the data
            return cls(previous, read_action_lists(report / "artifacts"), kpis_then(), source,
                       ["That report holds no KPI table; last quarter's KPIs are recomputed from the data."])
        first = ch.log.get("coverage", {}).get("orders", {}).get("first_day")
        if first is None or pd.Timestamp(first) > previous.last_day:
            raise NotAvailable(f"no report for {previous} was found and the orders start on {first or 'no day'}, "
                               f"after its end ({previous.last_day:%Y-%m-%d})", "an orders export that starts earlier")
        lists, notes = recomputed_lists(ch.customer_facts(previous.last_day), orders, previous,
                                        params.churn_inactivity_days, params.chapter_options.behaviour)
        return cls(previous, lists, kpis_then(),
                   f"{previous} (recomputed from the data as of {previous.last_day:%Y-%m-%d}; no earlier report found)",
                   notes)


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
        rows.append({"kpi": kpi.label, "last quarter": format_kpi_value(row["value_then"], kpi.unit, currency),
                     "this quarter": format_kpi_value(row["value_now"], kpi.unit, currency),
                     "target": format_kpi_target(target, kpi.unit, currency),
                     "moved the right way": "–" if pd.isna(moved) else ("yes" if moved > 0 else "no"),
                     "target met now": "no target" if met is None else ("yes" if met else "no")})
    return pd.DataFrame(rows)


def closed_loop_finding(lists: pd.DataFrame, kpi_moves: pd.DataFrame, against: str) -> str:
    """The retention of last quarter's at-risk high-value list (when it is at hand) and how many
    KPIs moved the right way, against ``against`` (``LastQuarter.source``)."""
    text = f"Against {against}: "
    at_risk = lists.loc[lists["list"] == "at_risk_high_value.csv"]
    if len(at_risk):
        row = at_risk.iloc[0]
        text += (f"{fmt_pct(row['share'])} of the {fmt_int(row['customers on it'])} at-risk high-value customers "
                 f"were retained; ")
    improved = int((kpi_moves["moved the right way"] == "yes").sum())
    return text + f"{improved} of {len(kpi_moves)} KPIs moved the right way."


def at_risk_finding(at_risk: pd.DataFrame, currency: str) -> str:
    if at_risk.empty:
        return "No high-value customer has a churn probability of 50% or more this quarter."
    codes = at_risk["reason_codes"].str.split(";").explode()
    codes = codes.loc[codes.astype(bool)].value_counts()
    common = f"; the most common reason is {codes.index[0]} ({fmt_int(codes.iloc[0])} customers)" if len(codes) else ""
    return (f"{fmt_int(len(at_risk))} high-value customers are at risk, carrying {fmt_money(at_risk['clv'].sum(), currency)}"
            f" of 12-month CLV{common}.")


def win_back_finding(win_back_list: pd.DataFrame, currency: str, top: int = 100) -> str:
    if win_back_list.empty:
        return "No customer lapsed within the last year."
    spent = win_back_list["revenue_year_before_lapse"].head(top).sum()
    return (f"{fmt_int(len(win_back_list))} customers lapsed within the last year; the top {min(top, len(win_back_list))} "
            f"spent {fmt_money(spent, currency)} in the year before they stopped buying.")


def onboarding_finding(onboard: pd.DataFrame, new_customers: float) -> str:
    share = f" ({fmt_pct(len(onboard) / new_customers)} of them)" if new_customers else ""
    return f"{fmt_int(len(onboard))} of this quarter's new customers have not ordered a second time yet{share}."
