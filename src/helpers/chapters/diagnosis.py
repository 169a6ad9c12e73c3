"""Problem diagnosis for chapter 05, generated from rules over the chapters' artifacts.

The rules live in ``params/diagnosis_rules.yaml`` (threshold and text templates each). A check
below turns the evidence into zero or more facts; each fact fills the rule's templates and
becomes one row of ``actions.csv``: problem dimension, description with the numbers, likely
cause found in the data, action, owner, deadline, tracking KPI and target.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict

from helpers import paths
from helpers.chapters.behaviour import dimension_name
from helpers.facts import at_risk_high_value
from helpers.facts.kpis import (
    KPIS,
    compute_kpis,
    format_kpi_change,
    format_kpi_target,
    format_kpi_value,
    kpi_basis,
    kpi_units,
)
from helpers.models.attribution import attribute_change, main_contributor
from helpers.quarters import Quarter
from helpers.report.fmt import fmt_date, fmt_int, fmt_money, fmt_num, fmt_pct
from helpers.report.i18n import t

RULES_FILE = paths.PARAMS_DIR / "diagnosis_rules.yaml"
EVIDENCE_ARTIFACTS = ("clv.csv", "churn_scores.csv", "rfm_segments.csv", "cac_crv.csv", "complaint_products.csv",
                      "satisfaction_by_region.csv", "satisfaction_by_segment.csv", "cross_sell_candidates.csv")
EVIDENCE_TABLES = ("customers", "orders", "surveys")  # prepared tables the rules read to find causes
ACTION_COLUMNS = ["priority", "rule", "problem", "description", "likely_cause", "action", "owner", "deadline",
                  "tracking_kpi", "target", "severity", "summary"]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    check: str
    threshold: float | None = None  # required by every check except high_value_at_risk
    min_count: int = 1
    max_p_value: float | None = None
    dimension: str
    description: str
    action: str
    owner: str
    tracking_kpi: str
    target: str
    deadline_days: int | None = None
    enabled: bool = True


class RuleBook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deadline_days_default: int = 45
    cause_dimensions: list[str]
    owners: dict[str, str]
    kpi_actions: dict[str, str]
    rules: list[Rule]


def load_rules(path: Path = RULES_FILE) -> RuleBook:
    book = RuleBook(**yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    unknown = sorted({r.check for r in book.rules} - set(CHECKS))
    if unknown:
        raise ValueError(f"{path}: unknown check(s) {unknown}; available: {sorted(CHECKS)}")
    unset = [r.id for r in book.rules if r.threshold is None and r.check not in THRESHOLD_FROM_PARAMETERS]
    if unset:
        raise ValueError(f"{path}: rule(s) {unset} need a threshold")
    return book


@dataclass
class Evidence:
    """What the rules look at: this run's artifacts plus the prepared tables for finding causes.

    ``report_day`` is the day the report is produced (the preparation's as-of day: ``data_as_of``
    or the run day); deadlines count from it, not from the quarter's end, which may lie months
    before the report is read.
    """

    period: Quarter
    report_day: pd.Timestamp
    currency: str
    churn_days: int
    kpis: pd.DataFrame
    orders: pd.DataFrame
    customers: pd.DataFrame
    surveys: pd.DataFrame | None
    artifacts: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    risk_threshold: float = 0.5  # chapter 03's high_risk_threshold: the one definition of "at risk"

    def __post_init__(self) -> None:
        day = pd.Timestamp(self.report_day) if self.report_day is not None else pd.NaT
        if pd.isna(day):
            raise ValueError(f"report_day must be a day such as 2026-12-01, got {self.report_day!r}")
        self.report_day = day.normalize()

    def artifact(self, name: str) -> pd.DataFrame | None:
        return self.artifacts.get(name)

    @cached_property
    def units_by_quarter(self) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
        """``kpis.kpi_units`` of the quarter and of the one before, computed once for every rule
        that explains a KPI's change."""
        compared = [self.period, self.period.previous()]
        basis = kpi_basis(self.orders, compared)
        now, previous = (kpi_units(self.orders, self.surveys, q, self.churn_days, basis) for q in compared)
        return now, previous

    @classmethod
    def from_chapter(cls, ch) -> "Evidence":
        """Collect this run's artifacts; the KPI table is recomputed if the overview chapter did not run.
        The report day is the preparation's as-of day (``prepare.as_of_date``, kept as ``log["as_of"]``)."""
        params = ch.params
        kpis = ch.artifact("kpi_overview.csv")
        if kpis is None:
            kpis = compute_kpis(ch.table("orders"), ch.table("surveys"), ch.period, params.churn_inactivity_days,
                                params.kpi_targets.model_dump(), ch.spans)
        artifacts = {name: ch.artifact(name) for name in EVIDENCE_ARTIFACTS}  # typed by the registry
        return cls(ch.period, pd.Timestamp(ch.log["as_of"]), params.currency_symbol, params.churn_inactivity_days, kpis,
                   ch.table("orders"), ch.table("customers"), ch.table("surveys"), artifacts,
                   params.chapter_options.behaviour.high_risk_threshold)


def _kpi_facts(evidence: Evidence, book: RuleBook, metrics: list[str]) -> list[dict]:
    """Template fields for each KPI, with the group that explains most of its change."""
    if not metrics:
        return []
    units_now, units_prev = evidence.units_by_quarter
    dimensions = [d for d in book.cause_dimensions if d in evidence.customers
                  and evidence.customers[d].nunique() > 1]
    table = evidence.kpis.set_index("metric")
    facts = []
    for metric in metrics:
        row, kpi = table.loc[metric], KPIS[metric]
        adverse = -1 if kpi.higher_is_better else 1
        cause, cause_group = t("no single group stands out"), t("every region and segment")
        if dimensions:
            attribution = attribute_change(units_now[metric], units_prev[metric], evidence.customers, metric, dimensions)
            top = main_contributor(attribution, adverse)
            if top is not None:
                cause_group = str(top["group"])
                cause = t("{group} ({dimension}) accounts for {contribution} of the change", group=top["group"],
                          dimension=dimension_name(top["dimension"]),
                          contribution=_signed(top["contribution"], kpi.unit, evidence.currency))
        facts.append({
            "metric": metric, "kpi": kpi.label, "value": format_kpi_value(row["value"], kpi.unit, evidence.currency),
            "target": format_kpi_target(row["target"], kpi.unit, evidence.currency),
            "previous": format_kpi_value(row["previous"], kpi.unit, evidence.currency),
            "change": format_kpi_change(row["qoq_change"], kpi.unit),
            "cause": cause, "cause_group": cause_group,
            # the owner in the report's language (an analyst's own owners stay as written)
            "kpi_owner": t(book.owners[metric]) if metric in book.owners else t("Management"),
        })
    return facts


def _signed(value: float, unit: str, currency: str) -> str:
    """A contribution with its sign in the KPI's own unit: +12, -¥3,400, -1.5 pp, +2.0 pts."""
    if unit in ("share", "points"):
        return format_kpi_change(value, unit)
    sign = "+" if value >= 0 else "-"
    return sign + (fmt_money(abs(value), currency) if unit == "money" else fmt_int(abs(value)))


def _relative_gap(row: pd.Series) -> float:
    return abs(row["value"] - row["target"]) / abs(row["target"]) if row["target"] else np.inf


def check_kpi_below_target(evidence: Evidence, rule: Rule, book: RuleBook) -> list[dict]:
    """KPIs that missed their target by at least the threshold; a KPI without a target never fires."""
    kpis = evidence.kpis
    missed = kpis.loc[kpis["target"].notna() & (kpis["met"].eq(False) | kpis["met"].astype(str).eq("False"))]
    missed = missed.loc[missed.apply(_relative_gap, axis=1) >= rule.threshold]
    facts = _kpi_facts(evidence, book, missed["metric"].tolist())
    for fact, (_, row) in zip(facts, missed.iterrows()):
        unit = KPIS[row["metric"]].unit
        gap = row["value"] - row["target"]
        fact["gap"] = (format_kpi_change(gap, unit) if unit in ("share", "points")
                       else fmt_pct(_relative_gap(row)))
        fact["severity"] = _relative_gap(row)
    return facts


def _is_significant(row: pd.Series, threshold: float) -> bool:
    if "significant" in row and pd.notna(row["significant"]):
        return str(row["significant"]).lower() in ("true", "1", "yes")
    unit = KPIS[row["metric"]].unit
    change = row["qoq_change"]
    if pd.isna(change):
        return False
    return abs(change) >= (threshold * 100 if unit == "points" else threshold)


def check_kpi_fell_significantly(evidence: Evidence, rule: Rule, book: RuleBook) -> list[dict]:
    rows = []
    for _, row in evidence.kpis.iterrows():
        kpi = KPIS[row["metric"]]
        adverse = (row["qoq_change"] < 0) if kpi.higher_is_better else (row["qoq_change"] > 0)
        if pd.notna(row["qoq_change"]) and adverse and _is_significant(row, rule.threshold):
            rows.append(row)
    facts = _kpi_facts(evidence, book, [r["metric"] for r in rows])
    for fact, row in zip(facts, rows):
        fact["severity"] = abs(row["qoq_change"]) * (0.01 if KPIS[row["metric"]].unit == "points" else 1)
    return facts


def check_high_value_at_risk(evidence: Evidence, rule: Rule, book: RuleBook) -> list[dict]:
    clv, scores = evidence.artifact("clv.csv"), evidence.artifact("churn_scores.csv")
    if clv is None or scores is None:
        return []
    at_risk = at_risk_high_value(clv, scores, evidence.risk_threshold)
    if len(at_risk) < rule.min_count:
        return []
    top_region = ""
    if "region" in evidence.customers:
        regions = at_risk["customer_id"].map(evidence.customers.set_index("customer_id")["region"])
        top_region = largest_share_words(regions, len(at_risk))
    return [{"count": fmt_int(len(at_risk)), "threshold": fmt_pct(evidence.risk_threshold, 0),
             "clv": fmt_money(at_risk["clv_12m"].sum(), evidence.currency),
             "cause": top_region or t("spread across regions"), "severity": float(at_risk["clv_12m"].sum())}]


def largest_share_words(groups: pd.Series, total: int) -> str:
    """Where most of ``total`` items are, by their group (``groups``, one per item; missing ones
    count in ``total`` only): "most are in South China (6 of 10)" for a strict majority (more than
    half), else "the largest share is in South China (3 of 10)", or with a tie at the top "the
    largest shares are in East China and South China (3 of 10 each)"; "" when no group is known."""
    counts = groups.dropna().astype(str).value_counts()
    if counts.empty or total < 1:
        return ""
    top = counts.loc[counts == counts.max()].sort_index()
    count, of = fmt_int(top.iloc[0]), fmt_int(total)
    if len(top) > 1:
        regions = t("{first} and {second}", first=t(", ").join(top.index[:-1]), second=top.index[-1])
        return t("the largest shares are in {regions} ({count} of {total} each)", regions=regions, count=count, total=of)
    if 2 * top.iloc[0] > total:
        return t("most are in {region} ({count} of {total})", region=top.index[0], count=count, total=of)
    return t("the largest share is in {region} ({count} of {total})", region=top.index[0], count=count, total=of)


def check_persistent_complaint_product(evidence: Evidence, rule: Rule, book: RuleBook) -> list[dict]:
    persistent = evidence.artifact("complaint_products.csv")
    if persistent is None or persistent.empty:
        return []
    persistent = persistent.loc[persistent["longest_run_months"] >= rule.threshold]
    if rule.max_p_value is not None and "excess_p_value" in persistent:
        # Only products whose excess of complaints is beyond chance, not every product that was above the rate.
        persistent = persistent.loc[persistent["excess_p_value"] <= rule.max_p_value]
    facts = []
    for _, row in persistent.iterrows():
        name = str(row.get("product_name", row["product_id"]))
        facts.append({"product": f"{name} ({row['product_id']})", "months": fmt_int(row["longest_run_months"]),
                      "complaints": fmt_int(row["complaints"]), "orders": fmt_int(row["orders"]),
                      "cause": t("complaints concentrate on {product}", product=name),
                      "severity": float(row["complaints"]) / max(float(row["orders"]), 1.0)})
    return facts


def check_channel_clv_below_cac(evidence: Evidence, rule: Rule, book: RuleBook) -> list[dict]:
    table = evidence.artifact("cac_crv.csv")
    if table is None:
        return []
    channels = table.loc[(table["level"] == "channel") & (table["clv_cac_ratio"] < rule.threshold)
                         & (table["new_customers"] >= rule.min_count)]
    return [{"channel": row["group"], "clv": fmt_money(row["clv_12m"], evidence.currency),
             "cac": fmt_money(row["cac"], evidence.currency), "ratio": fmt_num(row["clv_cac_ratio"], 2),
             "cause": t("acquisition cost of {channel} is above the value of the customers it brings",
                        channel=row["group"]),
             "severity": float(row["cac"] - row["clv_12m"]) * float(row["new_customers"])}
            for _, row in channels.iterrows()]


def check_new_customer_retention_falling(evidence: Evidence, rule: Rule, book: RuleBook) -> list[dict]:
    row = evidence.kpis.set_index("metric").loc["retention_30d"]
    if pd.isna(row["qoq_change"]) or row["qoq_change"] > -rule.threshold:
        return []
    fact = _kpi_facts(evidence, book, ["retention_30d"])[0]
    fact["severity"] = -float(row["qoq_change"])
    return [fact]


def check_nps_trailing_group(evidence: Evidence, rule: Rule, book: RuleBook) -> list[dict]:
    overall = evidence.kpis.set_index("metric").loc["nps", "value"]
    if pd.isna(overall):
        return []
    facts = []
    for dimension in ("region", "segment"):
        table = evidence.artifact(f"satisfaction_by_{dimension}.csv")
        if table is None or dimension not in table:
            continue
        trailing = table.loc[(overall - table["nps"] >= rule.threshold) & (table["nps_responses"] >= rule.min_count)]
        for _, row in trailing.iterrows():
            facts.append({"group": row[dimension], "dimension_name": dimension_name(dimension),
                          "group_nps": fmt_num(row["nps"], 1),
                          "responses": fmt_int(row["nps_responses"]), "overall_nps": fmt_num(overall, 1),
                          "gap": fmt_num(overall - row["nps"], 1),
                          "cause": t("NPS in {group} moved {change} points on the previous quarter", group=row[dimension],
                                     change=fmt_num(row["nps_change"], 1))
                          if pd.notna(row.get("nps_change")) else t("lowest NPS is in {group}", group=row[dimension]),
                          "severity": float(overall - row["nps"]) / 100})
    return facts


# Checks whose threshold is a report parameter, so that the rule and the chapters agree.
THRESHOLD_FROM_PARAMETERS = {"high_value_at_risk": "chapter_options.03_behaviour.high_risk_threshold"}

CHECKS: dict[str, Callable[[Evidence, Rule, RuleBook], list[dict]]] = {
    "kpi_below_target": check_kpi_below_target,
    "kpi_fell_significantly": check_kpi_fell_significantly,
    "high_value_at_risk": check_high_value_at_risk,
    "persistent_complaint_product": check_persistent_complaint_product,
    "channel_clv_below_cac": check_channel_clv_below_cac,
    "new_customer_retention_falling": check_new_customer_retention_falling,
    "nps_trailing_group": check_nps_trailing_group,
}


class _Fields(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def _fill(template: str, fields: dict) -> str:
    """A text of the rules filled with ``fields``: the bundled texts in the report's language
    (the catalog holds them, ``helpers.report.catalog.PARAM_TEXTS``), an analyst's own as written."""
    return t(template).format_map(_Fields(fields))


def diagnose(evidence: Evidence, book: RuleBook) -> pd.DataFrame:
    """Run every enabled rule; one row per problem found, in priority order (see below). A deadline
    is the report day plus the rule's ``deadline_days`` (else ``deadline_days_default``)."""
    rows = []
    deadline_base = evidence.report_day  # counted from the quarter's end, every deadline could be past on arrival
    for order, rule in enumerate(r for r in book.rules if r.enabled):
        for fact in CHECKS[rule.check](evidence, rule, book):
            fields = dict(fact)
            metric = fact.get("metric")
            if not metric:
                fields["kpi_action"] = ""
            elif metric in book.kpi_actions:
                fields["kpi_action"] = _fill(book.kpi_actions[metric], fields)
            else:
                fields["kpi_action"] = t("Investigate {kpi} with its owner.").format_map(_Fields(fields))
            days = rule.deadline_days or book.deadline_days_default
            rows.append({
                "rule": rule.id, "problem": _fill(rule.dimension, fields), "description": _fill(rule.description, fields),
                "likely_cause": fact.get("cause", ""), "action": _fill(rule.action, fields),
                "owner": _fill(rule.owner, fields),
                "deadline": (deadline_base + pd.Timedelta(days=days)).strftime("%Y-%m-%d"),
                "tracking_kpi": _fill(rule.tracking_kpi, fields), "target": _fill(rule.target, fields),
                "severity": float(fact.get("severity", 0.0)), "_order": order,
            })
    table = pd.DataFrame(rows, columns=[c for c in ACTION_COLUMNS if c not in ("priority", "summary")] + ["_order"])
    # Priority takes the most severe problem of each rule first (in the file's rule order), then the
    # second of each, and so on, so that the top actions cover different kinds of problem.
    table = table.sort_values(["_order", "severity"], ascending=[True, False], kind="stable")
    table["_rank"] = table.groupby("_order").cumcount()
    table = table.sort_values(["_rank", "_order"], kind="stable").drop(columns=["_order", "_rank"])
    table.insert(0, "priority", np.arange(1, len(table) + 1))
    table["summary"] = pd.Series([t("{problem}: {action} ({owner}, by {deadline})", problem=problem, action=action,
                                    owner=owner, deadline=fmt_date(deadline))
                                  for problem, action, owner, deadline in zip(table["problem"], table["action"],
                                                                              table["owner"], table["deadline"])],
                                 index=table.index)
    return table.reset_index(drop=True)


def diagnosis_finding(actions: pd.DataFrame) -> str:
    if actions.empty:
        return t("No rule found a problem this quarter: no KPI missed a target set for it and no risk crossed its "
                 "threshold.")
    owners = actions["owner"].value_counts()
    rules = actions["rule"].nunique()
    values = {"problems": fmt_int(len(actions)), "rules": fmt_int(rules), "owner": owners.index[0],
              "owned": fmt_int(owners.iloc[0]), "first": actions.iloc[0]["problem"]}
    if len(actions) == 1:
        return t("{problems} problem was found by {rules} rule; {owner} owns the most ({owned}). "
                 "First priority: {first}.", **values)
    if rules == 1:
        return t("{problems} problems were found by {rules} rule; {owner} owns the most ({owned}). "
                 "First priority: {first}.", **values)
    return t("{problems} problems were found by {rules} rules; {owner} owns the most ({owned}). "
             "First priority: {first}.", **values)
