"""Churn: who stopped buying, how fast customers churn, and what churners said before leaving.

Definition (``params.churn_inactivity_days`` = N, default 90): a customer is churned at the end
of day d when they made no valid purchase in the N days ending on d (days d-N+1 .. d), that is
when d is N or more days after their last purchase. Their churn date is the last purchase + N
days. With d = the quarter's last day this is the churn rate of the KPI table (chapter 01):
customers with a purchase in the N days before the quarter starts and none in its last N days.
All dates are taken at day granularity.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml

from helpers import facts, paths
from helpers.chapters.behaviour import all_customers, attach_customers, dimension_name
from helpers.chapters.needs import NEED_THEMES_FILE, theme_keywords, theme_pattern
from helpers.facts import purchase_lines
from helpers.facts.kpis import churn_as_of_days, churn_base
from helpers.quarters import Quarter
from helpers.report.fmt import fmt_int, fmt_num, fmt_pct
from helpers.report.i18n import t
from helpers.validation import require_columns

ALL = "All customers"  # the row of all customers in English; ``behaviour.all_customers()`` in the report's language

def load_churn_reason_themes(path: str | Path | None = None) -> pd.DataFrame:
    """The comment themes of churn reasons: the ``churn_reasons`` section of the need-theme
    lexicon (``params/need_themes.yaml``), as ``theme, en, zh`` (keyword lists). Keywords match
    as the need themes' do (:func:`helpers.chapters.needs.theme_pattern`).

    Raises ``ValueError`` naming the theme when the section is missing or malformed.
    """
    path = paths.resolve(path) if path else NEED_THEMES_FILE
    if not path.exists():
        raise ValueError(f"churn-reason themes file {path} does not exist")
    themes = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("churn_reasons")
    if not isinstance(themes, dict) or not themes:
        raise ValueError(f"{path} must hold a mapping 'churn_reasons: {{name: {{en: [...], zh: [...]}}}}'")
    rows = []
    for theme, spec in themes.items():
        if not isinstance(spec, dict) or set(spec) - {"en", "zh"}:
            raise ValueError(f"{path}: churn reason {theme!r} must be a mapping with 'en' and / or 'zh' keyword lists")
        rows.append({"theme": str(theme), **theme_keywords(spec, f"{path}: churn reason {theme!r}")})
    return pd.DataFrame(rows)


def churn_status(customer_facts: pd.DataFrame, inactivity_days: int = 90) -> pd.DataFrame:
    """Per customer with a valid purchase by the facts' as-of day: first / last purchase day,
    days since the last purchase and ``churned`` (``facts.is_churned``: ``inactivity_days`` days
    or more without a purchase). ``customer_facts`` as the preparation computes them
    (``Chapter.customer_facts``).
    """
    inactivity_days = facts.churn_window(inactivity_days, "inactivity_days")
    require_columns(customer_facts, ["customer_id", "first_purchase", "last_purchase", "days_since_last_purchase"],
                    "customer_facts")
    buyers = customer_facts.loc[customer_facts["days_since_last_purchase"].notna()]
    status = pd.DataFrame({"customer_id": buyers["customer_id"].to_numpy(),
                           "first_purchase": buyers["first_purchase"].dt.normalize().to_numpy(),
                           "last_purchase": buyers["last_purchase"].dt.normalize().to_numpy(),
                           "days_since_last_purchase": buyers["days_since_last_purchase"].astype("int64").to_numpy()})
    status["churned"] = facts.is_churned(status["days_since_last_purchase"], inactivity_days)
    return status


def quarter_churn(orders: pd.DataFrame, period: Quarter | str, inactivity_days: int = 90,
                  last: Mapping[pd.Timestamp, pd.Series] | None = None) -> pd.DataFrame:
    """Customers active at the start of the quarter (a purchase in the N days before it) and
    whether they are churned at its end (no purchase in its last N days); ``churn_date`` = last
    purchase + N for churners. ``last`` as for ``kpis.churn_base``.
    """
    period = Quarter.parse(period)
    last = facts.last_purchases(orders, churn_as_of_days(period)) if last is None else last
    churned = churn_base(orders, period, facts.churn_window(inactivity_days, "inactivity_days"), last)  # as the KPI
    at_end = last[period.last_day].dt.normalize()
    frame = pd.DataFrame({"customer_id": churned.index, "last_purchase": churned.index.map(at_end),
                          "churned": churned.to_numpy()})
    frame["churn_date"] = (frame["last_purchase"] + pd.Timedelta(days=inactivity_days)).where(frame["churned"])
    return frame.reset_index(drop=True)


def churn_rate(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    period: Quarter | str,
    inactivity_days: int = 90,
    by: str = "segment",
    min_group_size: int = 1,
    last: Mapping[pd.Timestamp, pd.Series] | None = None,
) -> pd.DataFrame:
    """Churn rate of the quarter: share of customers active at the quarter start who are
    churned at its end, per customer group ``by`` and for all customers. Groups with fewer
    than ``min_group_size`` customers keep their row but not their counts (suppressed).
    ``last`` as for ``kpis.churn_base``.

    Returns ``<by>, active_at_start, churned, churn_rate``.
    """
    frame = attach_customers(quarter_churn(orders, period, inactivity_days, last), customers, by)
    table = frame.groupby(by).agg(active_at_start=("churned", "size"), churned=("churned", "sum")).reset_index()
    total = pd.DataFrame({by: [all_customers()], "active_at_start": [len(frame)],
                          "churned": [int(frame["churned"].sum())]})
    table = pd.concat([table.sort_values("active_at_start", ascending=False), total], ignore_index=True)
    table["churned"] = table["churned"].astype(int)
    table["churn_rate"] = table["churned"] / table["active_at_start"].replace(0, np.nan)
    small = table["active_at_start"] < min_group_size
    table["churned"] = table["churned"].astype("Int64").mask(small)
    table["churn_rate"] = table["churn_rate"].mask(small)
    return table


def plot_churn_rates(rates: pd.DataFrame, by: str = "segment", ax=None):
    """Horizontal bars of the churn rate per group with the overall rate as a line."""
    groups = rates[(rates[by] != all_customers()) & rates["churn_rate"].notna()].sort_values("churn_rate")
    ax = ax or plt.subplots(figsize=(7, 0.8 + 0.4 * max(len(groups), 1)))[1]
    ax.barh(groups[by].astype(str), groups["churn_rate"] * 100, color="#C44E52")
    overall = rates.loc[rates[by] == all_customers(), "churn_rate"]
    if not overall.empty and pd.notna(overall.iloc[0]):
        ax.axvline(overall.iloc[0] * 100, color="black", linestyle="--", linewidth=0.8, label=all_customers())
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(t("Churn rate this quarter by {dimension}", dimension=dimension_name(by)))
    ax.set_xlabel(t("Customers active at the start who churned (%)"))
    ax.set_ylabel(dimension_name(by, capital=True))
    return ax


def churn_rate_finding(rates: pd.DataFrame, by: str = "segment", inactivity_days: int = 90) -> str:
    """The overall churn rate and the group that churns most."""
    overall = rates[rates[by] == all_customers()].iloc[0]
    if overall["active_at_start"] == 0:
        return t("No customer was active at the start of the quarter.")
    text = t("{share} of the {customers} customers active at the start of the quarter made no purchase in its last "
             "{days} days.", share=fmt_pct(overall["churn_rate"]), customers=fmt_int(overall["active_at_start"]),
             days=inactivity_days)
    groups = rates[(rates[by] != all_customers()) & rates["churn_rate"].notna()]
    if len(groups) >= 2:
        worst, best = groups.loc[groups["churn_rate"].idxmax()], groups.loc[groups["churn_rate"].idxmin()]
        text += " " + t("{worst} churns most ({worst_rate}), {best} least ({best_rate}).", worst=worst[by],
                        worst_rate=fmt_pct(worst["churn_rate"]), best=best[by], best_rate=fmt_pct(best["churn_rate"]))
    return text


# ----------------------------------------------------------------------------- time to churn
def churn_durations(
    customer_facts: pd.DataFrame, customers: pd.DataFrame, as_of, inactivity_days: int = 90, by: str = "segment"
) -> pd.DataFrame:
    """Days from the first purchase to churn (last purchase + N) for churned customers, or to
    ``as_of`` for customers not churned (censored); ``customer_facts`` as of ``as_of``.
    Returns ``customer_id, <by>, duration_days, churned``.
    """
    status = churn_status(customer_facts, inactivity_days)
    end = (status["last_purchase"] + pd.Timedelta(days=inactivity_days)).where(
        status["churned"], pd.Timestamp(as_of).normalize()
    )
    frame = pd.DataFrame(
        {
            "customer_id": status["customer_id"],
            "duration_days": (end - status["first_purchase"]).dt.days.astype(float),
            "churned": status["churned"].astype(int),
        }
    )
    return attach_customers(frame, customers, by)[["customer_id", by, "duration_days", "churned"]]


def _groups(durations: pd.DataFrame, by: str, min_customers: int) -> list[str]:
    sizes = durations[by].value_counts()
    return sorted(sizes[sizes >= min_customers].index)


def km_curves(durations: pd.DataFrame, by: str = "segment", min_customers: int = 5) -> pd.DataFrame:
    """Kaplan-Meier survival (still not churned) by group, statsmodels ``SurvfuncRight``.

    Pointwise 95% intervals use the log(-log) transform of Kalbfleisch and Prentice.
    Returns ``<by>, days, survival, lower, upper, at_risk`` with a first row at day 0.
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    require_columns(durations, [by, "duration_days", "churned"], "durations")
    parts = []
    for group in _groups(durations, by, min_customers):  # one fit per group, not per customer
        rows = durations[durations[by] == group]
        fit = SurvfuncRight(rows["duration_days"].to_numpy(float), rows["churned"].to_numpy(float))
        survival, se = fit.surv_prob, fit.surv_prob_se
        with np.errstate(divide="ignore", invalid="ignore"):
            log_log_se = se / (survival * np.abs(np.log(survival)))
            lower = survival ** np.exp(1.96 * log_log_se)
            upper = survival ** np.exp(-1.96 * log_log_se)
        parts.append(
            pd.DataFrame(
                {
                    by: group,
                    "days": np.r_[0, fit.surv_times],
                    "survival": np.r_[1, survival],
                    "lower": np.r_[1, np.where(np.isfinite(lower), lower, survival)],
                    "upper": np.r_[1, np.where(np.isfinite(upper), upper, survival)],
                    "at_risk": np.r_[len(rows), fit.n_risk],
                }
            )
        )
    columns = [by, "days", "survival", "lower", "upper", "at_risk"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def survival_at(curves: pd.DataFrame, days: float, by: str = "segment") -> pd.Series:
    """The step-function survival of each group at ``days``."""
    before = curves[curves["days"] <= days]
    return before.groupby(by)["survival"].last()


def km_summary(durations: pd.DataFrame, by: str = "segment", min_customers: int = 5, horizon_days: int = 365) -> pd.DataFrame:
    """Per group: customers, churned, median days to churn (NaN while more than half remain)
    and the Kaplan-Meier share not churned after ``horizon_days``.
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    rows = []
    for group in _groups(durations, by, min_customers):
        part = durations[durations[by] == group]
        fit = SurvfuncRight(part["duration_days"].to_numpy(float), part["churned"].to_numpy(float))
        median = fit.quantile(0.5) if (fit.surv_prob <= 0.5).any() else np.nan
        before = fit.surv_times <= horizon_days
        rows.append(
            {
                by: group,
                "customers": len(part),
                "churned": int(part["churned"].sum()),
                "median_days_to_churn": float(median),
                f"not_churned_after_{horizon_days}_days": float(fit.surv_prob[before][-1]) if before.any() else 1.0,
            }
        )
    return pd.DataFrame(rows)


def logrank_test(durations: pd.DataFrame, by: str = "segment", min_customers: int = 5) -> pd.DataFrame:
    """Log-rank test that the groups churn at the same pace (statsmodels ``survdiff``).

    Returns one row: ``groups, chi2, degrees_of_freedom, p_value``.
    """
    from statsmodels.duration.survfunc import survdiff

    part = durations[durations[by].isin(_groups(durations, by, min_customers))]
    groups = part[by].nunique()
    if groups < 2:
        return pd.DataFrame({"groups": [groups], "chi2": [np.nan], "degrees_of_freedom": [0], "p_value": [np.nan]})
    chi2, p_value = survdiff(part["duration_days"].to_numpy(float), part["churned"].to_numpy(float), part[by].to_numpy())
    return pd.DataFrame(
        {"groups": [groups], "chi2": [float(chi2)], "degrees_of_freedom": [groups - 1], "p_value": [float(p_value)]}
    )


def survival_finding(summary: pd.DataFrame, test: pd.DataFrame, by: str = "segment", alpha: float = 0.05) -> str:
    """Median time to churn per group and whether the groups differ (log-rank)."""
    if summary.empty:
        return t("Too few customers to estimate time to churn.")
    horizon = [c for c in summary.columns if c.startswith("not_churned_after_")][0]
    days = horizon.split("_")[-2]
    best, worst = summary.loc[summary[horizon].idxmax()], summary.loc[summary[horizon].idxmin()]
    values = {"days": days, "best_share": fmt_pct(best[horizon]), "best": best[by],
              "worst_share": fmt_pct(worst[horizon]), "worst": worst[by]}
    median = worst["median_days_to_churn"]
    if pd.notna(median):
        text = t("After {days} days {best_share} of {best} customers are still buying against {worst_share} of {worst} "
                 "customers (median time to churn {median} days).", median=fmt_num(median, 0), **values)
    else:
        text = t("After {days} days {best_share} of {best} customers are still buying against {worst_share} of {worst} "
                 "customers.", **values)
    p_value = test["p_value"].iloc[0]
    if pd.notna(p_value):
        text += " " + (t("The curves differ significantly (log-rank p = {p}).", p=f"{p_value:.3g}") if p_value < alpha
                       else t("The curves do not differ significantly (log-rank p = {p}).", p=f"{p_value:.3g}"))
    return text


def plot_survival(curves: pd.DataFrame, by: str = "segment", ax=None):
    """Kaplan-Meier step curves with 95% bands, one per group."""
    ax = ax or plt.subplots(figsize=(8, 4.5))[1]
    for group, part in curves.groupby(by):
        line = ax.step(part["days"], part["survival"] * 100, where="post", label=str(group))[0]
        ax.fill_between(part["days"], part["lower"] * 100, part["upper"] * 100, step="post", alpha=0.15, color=line.get_color())
    ax.set_title(t("Time to churn by {dimension} (Kaplan-Meier)", dimension=dimension_name(by)))
    ax.set_xlabel(t("Days since first purchase"))
    ax.set_ylabel(t("Customers not churned (%)"))
    ax.set_ylim(0, 102)
    ax.legend(title=dimension_name(by, capital=True))
    return ax


# ----------------------------------------------------------------------------- reasons
def _theme_flags(texts: pd.Series, themes: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per theme of ``themes`` (see :func:`load_churn_reason_themes`)."""
    texts = texts.astype("object").fillna("").astype(str)
    return pd.DataFrame(
        {
            theme: texts.str.contains(theme_pattern(english, chinese))
            for theme, english, chinese in zip(themes["theme"], themes["en"], themes["zh"])
        },
        index=texts.index,
    )


def _reason_windows(orders: pd.DataFrame, period: Quarter, inactivity_days: int) -> pd.DataFrame:
    """Customers active at the quarter start with ``churned`` and the exclusive end ``until`` of
    their look-back window: the day after the churn date, or after the quarter's last day."""
    base = quarter_churn(orders, period, inactivity_days)
    until = base["churn_date"].fillna(period.last_day).dt.normalize() + pd.Timedelta(days=1)
    return pd.DataFrame({"customer_id": base["customer_id"], "churned": base["churned"], "until": until})


def _in_window(frame: pd.DataFrame, date_column: str, base: pd.DataFrame, lookback_days: int) -> pd.DataFrame:
    frame = frame.merge(base[["customer_id", "churned", "until"]], on="customer_id")
    start = frame["until"] - pd.Timedelta(days=lookback_days)
    return frame[(frame[date_column] < frame["until"]) & (frame[date_column] >= start)]


def churn_feedback_summary(
    orders: pd.DataFrame,
    period: Quarter | str,
    inactivity_days: int = 90,
    tickets: pd.DataFrame | None = None,
    surveys: pd.DataFrame | None = None,
    lookback_days: int = 180,
) -> pd.DataFrame:
    """Churners of the quarter against customers who stayed, over the ``lookback_days`` before
    churn (stayers: before the quarter's last day): orders, complaints per 100 orders, share
    with any ticket or survey answer, share of NPS answers from detractors (0-6).
    """
    period = Quarter.parse(period)
    base = _reason_windows(orders, period, inactivity_days)
    lines = purchase_lines(orders, columns=["order_id", "customer_id"])[["order_id", "customer_id", "order_date"]]
    lines = _in_window(lines, "order_date", base, lookback_days)
    table = pd.DataFrame(
        {
            "customers": base.groupby("churned").size(),
            "orders": lines.groupby("churned")["order_id"].nunique(),
        }
    )
    contacted = []
    if tickets is not None:
        window = _in_window(tickets, "created_at", base, lookback_days)
        contacted.append(window[["customer_id", "churned"]])
        table["complaints"] = window[window["ticket_type"] == "complaint"].groupby("churned").size()
        table["complaints"] = table["complaints"].fillna(0).astype(int)
        table["complaints_per_100_orders"] = 100 * table["complaints"] / table["orders"].replace(0, np.nan)
    if surveys is not None:
        window = _in_window(surveys, "response_date", base, lookback_days)
        contacted.append(window[["customer_id", "churned"]])
        if "nps_score" in window.columns:
            answers = window[window["nps_score"].notna()]
            table["nps_answers"] = answers.groupby("churned").size()
            table["detractor_share"] = (answers["nps_score"] <= 6).groupby(answers["churned"]).mean()
    if contacted:
        people = pd.concat(contacted).drop_duplicates("customer_id")
        table["feedback_share"] = people.groupby("churned").size() / table["customers"]
    table = table.reindex([True, False]).fillna({"customers": 0, "orders": 0})
    table.index = [t("Churned this quarter"), t("Stayed")]
    return table.rename_axis("group").reset_index()


def churn_feedback_finding(summary: pd.DataFrame, lookback_days: int = 180) -> str:
    """Complaint rates and feedback of churners against stayers."""
    rows = summary.set_index("group")
    if rows.loc[t("Churned this quarter"), "customers"] == 0:
        return t("Nobody churned this quarter.")
    churned, stayed = rows.loc[t("Churned this quarter")], rows.loc[t("Stayed")]
    complaints = "complaints_per_100_orders" in rows.columns and pd.notna(churned["complaints_per_100_orders"])
    detractors = "detractor_share" in rows.columns and pd.notna(churned["detractor_share"])
    values = {}
    if complaints:
        values.update(churners=fmt_num(churned["complaints_per_100_orders"], 1), days=lookback_days,
                      stayers=fmt_num(stayed["complaints_per_100_orders"], 1))
    if detractors:
        values.update(churner_share=fmt_pct(churned["detractor_share"]),
                      stayer_share=fmt_pct(stayed["detractor_share"]))
    if complaints and detractors:
        return t("Churners filed {churners} complaints per 100 orders in the {days} days before churning against "
                 "{stayers} for customers who stayed; {churner_share} of their NPS answers were detractors (0-6) "
                 "against {stayer_share}.", **values)
    if complaints:
        return t("Churners filed {churners} complaints per 100 orders in the {days} days before churning against "
                 "{stayers} for customers who stayed.", **values)
    if detractors:
        return t("{churner_share} of their NPS answers were detractors (0-6) against {stayer_share}.", **values)
    return t("No ticket or survey in the look-back window to compare.")


def churn_reasons(
    orders: pd.DataFrame,
    period: Quarter | str,
    inactivity_days: int = 90,
    tickets: pd.DataFrame | None = None,
    surveys: pd.DataFrame | None = None,
    lookback_days: int = 180,
    themes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """What churners of the quarter raised in the ``lookback_days`` before churning, against
    customers who stayed (looked back from the quarter's last day).

    Reasons are complaint types (tickets), comment themes (ticket and survey text, the keyword
    lists of ``themes``, by default :func:`load_churn_reason_themes`) and low scores (NPS
    detractor 0-6, CSAT 1-2). Customers who buy less also contact service less, so shares are
    taken among the customers of each group with any ticket or survey answer in their window
    (the mix of what they raised), and the groups' feedback rates are given alongside.

    Returns ``reason, source, churners_with_reason, churner_share, stayer_share, ratio`` (how
    many times more common among churners) and the group sizes ``churners_with_feedback,
    stayers_with_feedback, churners, stayers``, sorted by ratio.
    """
    if tickets is None and surveys is None:
        raise ValueError("churn_reasons needs tickets or surveys (or both)")
    period = Quarter.parse(period)
    base = _reason_windows(orders, period, inactivity_days)
    flags = []  # (customer_id, reason, source) rows

    def in_window(frame: pd.DataFrame, date_column: str) -> pd.DataFrame:
        return _in_window(frame, date_column, base, lookback_days).drop(columns=["churned", "until"])

    texts, contacted = [], []
    if tickets is not None:
        require_columns(tickets, ["customer_id", "created_at", "ticket_type"], "tickets")
        window = in_window(tickets, "created_at")
        contacted.append(window["customer_id"])
        complaints = window[window["ticket_type"] == "complaint"]
        if "complaint_type" in complaints.columns:
            kind = complaints["complaint_type"].astype("object").fillna("unspecified").astype(str)
        else:
            kind = pd.Series("unspecified", index=complaints.index)
        who = complaints["customer_id"]
        flags.append(pd.DataFrame({"customer_id": who, "reason": kind.map(lambda k: t("complaint: {kind}", kind=k)),
                                   "source": t("tickets")}))
        flags.append(pd.DataFrame({"customer_id": who, "reason": t("any complaint"), "source": t("tickets")}))
        if "comment" in window.columns:
            texts.append(window[["customer_id", "comment"]])
    if surveys is not None:
        require_columns(surveys, ["customer_id", "response_date"], "surveys")
        window = in_window(surveys, "response_date")
        contacted.append(window["customer_id"])
        if "nps_score" in window.columns:
            low = window[window["nps_score"] <= 6]
            flags.append(pd.DataFrame({"customer_id": low["customer_id"], "reason": t("NPS detractor (0-6)"),
                                       "source": t("surveys")}))
        if "csat_score" in window.columns:
            low = window[window["csat_score"] <= 2]
            flags.append(pd.DataFrame({"customer_id": low["customer_id"], "reason": t("CSAT 1-2"),
                                       "source": t("surveys")}))
        if "comment" in window.columns:
            texts.append(window[["customer_id", "comment"]])
    if texts:
        text = pd.concat(texts, ignore_index=True)
        mentions = _theme_flags(text["comment"], load_churn_reason_themes() if themes is None else themes)
        hits = mentions.stack()
        hits = hits[hits]
        flags.append(
            pd.DataFrame(
                {
                    "customer_id": text["customer_id"].to_numpy()[hits.index.get_level_values(0)],
                    "reason": [t("theme: {theme}", theme=theme)
                               for theme in hits.index.get_level_values(1).astype(str)],
                    "source": t("comments"),
                }
            )
        )
    flagged = pd.concat(flags, ignore_index=True).drop_duplicates()
    flagged = flagged.merge(base[["customer_id", "churned"]], on="customer_id")
    with_feedback = base[base["customer_id"].isin(pd.concat(contacted).unique())]
    churners_fb, stayers_fb = int(with_feedback["churned"].sum()), int((~with_feedback["churned"]).sum())
    counts = flagged.groupby(["reason", "source", "churned"]).size().unstack("churned", fill_value=0)
    counts = counts.reindex(columns=[True, False], fill_value=0)
    table = pd.DataFrame(
        {
            "churners_with_reason": counts[True],
            "churner_share": counts[True] / churners_fb if churners_fb else np.nan,
            "stayer_share": counts[False] / stayers_fb if stayers_fb else np.nan,
        }
    ).reset_index()
    table["ratio"] = table["churner_share"] / table["stayer_share"].replace(0, np.nan)
    table["churners_with_feedback"], table["stayers_with_feedback"] = churners_fb, stayers_fb
    table["churners"], table["stayers"] = int(base["churned"].sum()), int((~base["churned"]).sum())
    return table.sort_values(["ratio", "churner_share"], ascending=False, ignore_index=True)


def churn_reasons_finding(reasons: pd.DataFrame, min_churners: int = 5, lookback_days: int = 180) -> str:
    """How often churners gave feedback and the reason most over-represented among them."""
    if reasons.empty:
        return t("No churner or stayer left a ticket or survey answer to compare.")
    first = reasons.iloc[0]
    text = t("{churners} of churners left a ticket or survey answer in the {days} days before churning against "
             "{stayers} of customers who stayed.",
             churners=fmt_pct(first["churners_with_feedback"] / max(first["churners"], 1)), days=lookback_days,
             stayers=fmt_pct(first["stayers_with_feedback"] / max(first["stayers"], 1)))
    usable = reasons[(reasons["churners_with_reason"] >= min_churners) & (reasons["ratio"] >= 1.2)]
    if usable.empty:
        return text + " " + t("No complaint type or theme is clearly more common among churners who did.")
    top = usable.iloc[0]
    return text + " " + t("Among those, '{reason}' is {ratio} times as common for churners ({churner_share} against "
                          "{stayer_share}).", reason=top["reason"], ratio=fmt_num(top["ratio"], 1),
                          churner_share=fmt_pct(top["churner_share"]), stayer_share=fmt_pct(top["stayer_share"]))
