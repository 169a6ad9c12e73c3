"""Satisfaction: NPS and CSAT with intervals, their trend and split by customer group; how
satisfied and dissatisfied customers differ; and which attributes drive the score.

- NPS (Reichheld 2003): promoters answer 9-10, passives 7-8, detractors 0-6 on the 0-10
  "would you recommend" question; NPS = % promoters - % detractors, in points (-100..100).
  Its interval is the normal (Wald) interval of a difference of two multinomial shares,
  Var = (p+ + p- - (p+ - p-)^2) / n (Rocks 2016, "Interval estimation for the net promoter score").
- CSAT: share of answers of 4 or 5 on the 1-5 scale, with a Wilson score interval.
- Effect sizes: Cohen's d with the pooled standard deviation (Cohen 1988) for numbers; the
  difference in proportions per level and Cramer's V (Cramer 1946) for categories.
- Key drivers: ordinary least squares with heteroscedasticity-robust HC3 standard errors
  (MacKinnon and White 1985), statsmodels.

Everything is vectorised (groupby / merge) and linear in survey answers, orders and tickets.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from helpers.chapters.behaviour import dimension_name
from helpers.facts import purchase_lines
from helpers.facts.kpis import nps_points
from helpers.quarters import Quarter, quarter_labels
from helpers.report.fmt import fmt_int, fmt_num, fmt_pct, fmt_pp, fmt_quarter
from helpers.report.i18n import t
from helpers.report.plotting import label, new_axes
from helpers.validation import require_columns

GROUP_ORDER = ("high", "medium", "low")
# The profile's attributes compared between groups (their names for readers: ``attribute_names``).
NUMERIC_ATTRIBUTES = ("orders", "revenue", "complaints", "mean_resolution_hours", "tenure_days")
CATEGORICAL_ATTRIBUTES = ("segment", "region", "main_category")


def attribute_names() -> dict[str, str]:
    """The profile's attributes named for readers in the report's language."""
    return {
        "orders": t("Orders (last 4 quarters)"),
        "revenue": t("Net revenue (last 4 quarters)"),
        "complaints": t("Complaints (last 4 quarters)"),
        "mean_resolution_hours": t("Mean time to resolve complaints (hours)"),
        "tenure_days": t("Tenure (days since first purchase)"),
        "segment": t("Segment"), "region": t("Region"), "main_category": t("Main product category"),
    }


def group_names() -> dict[str, str]:
    """The satisfaction groups (``GROUP_ORDER``) named for readers in the report's language."""
    return {"high": t("high"), "medium": t("medium"), "low": t("low")}




def _attribute(customers: pd.DataFrame, dimension: str) -> pd.Series:
    require_columns(customers, ["customer_id", dimension], "customers")
    values = customers.drop_duplicates("customer_id").set_index("customer_id")[dimension]
    return values.astype("object").where(values.notna(), "Unknown").astype(str).replace("", "Unknown")


# ----------------------------------------------------------------------------- NPS and CSAT
def nps_category(scores: pd.Series) -> pd.Series:
    """promoter (9-10), passive (7-8), detractor (0-6); missing answers stay missing."""
    scores = pd.Series(scores, dtype="float64")
    if ((scores < 0) | (scores > 10)).any():
        raise ValueError("NPS scores must lie between 0 and 10")
    category = np.select([scores >= 9, scores >= 7, scores >= 0], ["promoter", "passive", "detractor"], default="")
    return pd.Series(category, index=scores.index).replace("", np.nan)


def net_promoter_score(scores) -> float:
    """% promoters minus % detractors, in points; NaN without answers. ``[10, 9, 8, 0, 6]`` -> 0."""
    points = nps_points(scores)
    return float(points.mean()) if len(points) else float("nan")


def _nps_interval(promoters: pd.Series, detractors: pd.Series, n: pd.Series, alpha: float):
    """Wald interval of 100 (p+ - p-) for arrays of shares and answer counts."""
    z = stats.norm.ppf(1 - alpha / 2)
    nps = promoters - detractors
    se = np.sqrt((promoters + detractors - nps**2) / n.where(n > 0))
    return 100 * (nps - z * se).clip(lower=-1), 100 * (nps + z * se).clip(upper=1)


def _wilson(successes: pd.Series, n: pd.Series, alpha: float):
    """Vectorised Wilson score interval (Wilson 1927)."""
    z = stats.norm.ppf(1 - alpha / 2)
    n = n.where(n > 0)
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return (centre - half).clip(lower=0), (centre + half).clip(upper=1)


def _score_table(answers: pd.DataFrame, keys, alpha: float) -> pd.DataFrame:
    """NPS and CSAT with intervals per group of ``keys`` (a column name or an aligned Series)."""
    nps_answered = answers["nps_score"].notna()
    csat_answered = answers["csat_score"].notna()
    flags = pd.DataFrame({
        "nps_responses": nps_answered.astype("int64"),
        "promoter_answers": (answers["nps_score"] >= 9).astype("int64"),
        "passive_answers": ((answers["nps_score"] >= 7) & (answers["nps_score"] < 9)).astype("int64"),
        "detractor_answers": (answers["nps_score"] <= 6).astype("int64"),
        "csat_responses": csat_answered.astype("int64"),
        "satisfied_answers": (answers["csat_score"] >= 4).astype("int64"),
        "csat_sum": answers["csat_score"].fillna(0.0),
    }, index=answers.index)
    table = flags.groupby(keys).sum()
    n = table["nps_responses"].where(table["nps_responses"] > 0)
    table["promoters"] = table["promoter_answers"] / n
    table["passives"] = table["passive_answers"] / n
    table["detractors"] = table["detractor_answers"] / n
    table["nps"] = 100 * (table["promoters"] - table["detractors"])
    table["nps_low"], table["nps_high"] = _nps_interval(table["promoters"], table["detractors"], n, alpha)
    m = table["csat_responses"].where(table["csat_responses"] > 0)
    table["csat"] = table["satisfied_answers"] / m
    table["csat_low"], table["csat_high"] = _wilson(table["satisfied_answers"], table["csat_responses"], alpha)
    table["mean_csat_score"] = table["csat_sum"] / m
    return table[["nps_responses", "promoters", "passives", "detractors", "nps", "nps_low", "nps_high",
                  "csat_responses", "csat", "csat_low", "csat_high", "mean_csat_score"]]


def satisfaction_trend(surveys: pd.DataFrame, period: Quarter | str, n_quarters: int = 8,
                       alpha: float = 0.05) -> pd.DataFrame:
    """NPS (promoters / passives / detractors) and CSAT with ``1 - alpha`` intervals per quarter.

    Returns one row per quarter of the last ``n_quarters`` (oldest first, the report quarter
    last): ``quarter, nps_responses, promoters, passives, detractors, nps, nps_low, nps_high,
    csat_responses, csat, csat_low, csat_high, mean_csat_score``. Quarters without answers have
    zero responses and NaN scores.
    """
    require_columns(surveys, ["response_date", "nps_score", "csat_score"], "surveys")
    quarters = [str(q) for q in Quarter.parse(period).trailing(n_quarters)]
    labels = quarter_labels(surveys["response_date"])
    answers = surveys.loc[labels.isin(quarters)]
    table = _score_table(answers, labels.loc[answers.index].rename("quarter"), alpha).reindex(quarters)
    for column in ("nps_responses", "csat_responses"):
        table[column] = table[column].fillna(0).astype("int64")
    table.index.name = "quarter"
    return table.reset_index()


def satisfaction_by(surveys: pd.DataFrame, customers: pd.DataFrame, period: Quarter | str, dimension: str = "segment",
                    min_group_size: int = 5, alpha: float = 0.05) -> pd.DataFrame:
    """NPS and CSAT of the quarter per customer group, with the previous quarter for comparison.

    Returns ``<dimension>, nps_responses, promoters, passives, detractors, nps, nps_low,
    nps_high, csat_responses, csat, csat_low, csat_high, mean_csat_score, nps_previous,
    detractors_previous, nps_change, detractors_change, suppressed``. Groups with fewer than
    ``min_group_size`` NPS and CSAT answers have their scores blanked (``suppressed``).
    """
    require_columns(surveys, ["customer_id", "response_date", "nps_score", "csat_score"], "surveys")
    period = Quarter.parse(period)
    attribute = _attribute(customers, dimension)
    groups = surveys["customer_id"].map(attribute).fillna("Unknown").rename(dimension)
    now = surveys.loc[period.contains(surveys["response_date"])]
    before = surveys.loc[period.previous().contains(surveys["response_date"])]
    table = _score_table(now, groups.loc[now.index], alpha)
    previous = _score_table(before, groups.loc[before.index], alpha).reindex(table.index)
    table["nps_previous"] = previous["nps"]
    table["detractors_previous"] = previous["detractors"]
    table["nps_change"] = table["nps"] - table["nps_previous"]
    table["detractors_change"] = table["detractors"] - table["detractors_previous"]
    table["suppressed"] = (table["nps_responses"] < min_group_size) & (table["csat_responses"] < min_group_size)
    scores = [c for c in table.columns if c not in ("nps_responses", "csat_responses", "suppressed")]
    table.loc[table["suppressed"], scores] = np.nan
    table.loc[table["nps_responses"] < min_group_size, ["promoters", "passives", "detractors", "nps", "nps_low",
                                                        "nps_high", "nps_change", "detractors_change"]] = np.nan
    table.loc[table["csat_responses"] < min_group_size, ["csat", "csat_low", "csat_high", "mean_csat_score"]] = np.nan
    table.index.name = dimension
    return table.reset_index().sort_values(["nps_responses", dimension], ascending=[False, True]).reset_index(drop=True)


def nps_finding(trend: pd.DataFrame, nps_target: float | None = None, csat_target: float | None = None) -> str:
    """E.g. "NPS fell 6 points on the previous quarter to 31, below the target of 50 (...). CSAT was
    78.0% ...", from the trend table the section shows (where groups moved is said under the
    tables by group, :func:`satisfaction_by_finding`)."""
    require_columns(trend, ["quarter", "nps", "nps_low", "nps_high", "nps_responses", "csat"], "trend")
    now = trend.iloc[-1]
    if now["nps_responses"] == 0 and np.isnan(now["csat"]):
        return t("No survey answers were received in {quarter}.", quarter=fmt_quarter(now["quarter"]))
    previous = trend.iloc[-2] if len(trend) > 1 else None
    sentences = []
    if not np.isnan(now["nps"]):
        change = now["nps"] - previous["nps"] if previous is not None else np.nan
        values = {"nps": fmt_num(now["nps"], 0), "change": fmt_num(abs(change), 0), "low": fmt_num(now["nps_low"], 0),
                  "high": fmt_num(now["nps_high"], 0), "answers": fmt_int(now["nps_responses"]),
                  "target": "" if nps_target is None else fmt_num(nps_target, 0)}
        sentences.append(_nps_sentence(change, None if nps_target is None else now["nps"] >= nps_target, values))
    if not np.isnan(now["csat"]):
        values = {"csat": fmt_pct(now["csat"]), "target": "" if csat_target is None else fmt_pct(csat_target)}
        if previous is not None and not np.isnan(previous["csat"]):
            values["change"] = fmt_pp(now["csat"] - previous["csat"])
            if csat_target is not None:
                sentences.append(t("CSAT was {csat} against a target of {target} ({change} on the previous quarter).",
                                   **values))
            else:
                sentences.append(t("CSAT was {csat} ({change} on the previous quarter).", **values))
        elif csat_target is not None:
            sentences.append(t("CSAT was {csat} against a target of {target}.", **values))
        else:
            sentences.append(t("CSAT was {csat}.", **values))
    return " ".join(sentences)


def _nps_sentence(change: float, on_target: bool | None, values: dict) -> str:
    """The NPS sentence of :func:`nps_finding`: its move on the previous quarter (``change``, NaN
    without one), whether it is at or above the target (None without a target), its interval."""
    if np.isnan(change):
        if on_target is None:
            return t("NPS was {nps} (95% interval {low} to {high}, {answers} answers).", **values)
        if on_target:
            return t("NPS was {nps}, at or above the target of {target} (95% interval {low} to {high}, {answers} "
                     "answers).", **values)
        return t("NPS was {nps}, below the target of {target} (95% interval {low} to {high}, {answers} answers).",
                 **values)
    if round(change) == 0:
        if on_target is None:
            return t("NPS held at {nps} (95% interval {low} to {high}, {answers} answers).", **values)
        if on_target:
            return t("NPS held at {nps}, at or above the target of {target} (95% interval {low} to {high}, {answers} "
                     "answers).", **values)
        return t("NPS held at {nps}, below the target of {target} (95% interval {low} to {high}, {answers} answers).",
                 **values)
    if change > 0:
        if on_target is None:
            return t("NPS rose {change} points on the previous quarter to {nps} (95% interval {low} to {high}, "
                     "{answers} answers).", **values)
        if on_target:
            return t("NPS rose {change} points on the previous quarter to {nps}, at or above the target of {target} "
                     "(95% interval {low} to {high}, {answers} answers).", **values)
        return t("NPS rose {change} points on the previous quarter to {nps}, below the target of {target} (95% "
                 "interval {low} to {high}, {answers} answers).", **values)
    if on_target is None:
        return t("NPS fell {change} points on the previous quarter to {nps} (95% interval {low} to {high}, {answers} "
                 "answers).", **values)
    if on_target:
        return t("NPS fell {change} points on the previous quarter to {nps}, at or above the target of {target} (95% "
                 "interval {low} to {high}, {answers} answers).", **values)
    return t("NPS fell {change} points on the previous quarter to {nps}, below the target of {target} (95% interval "
             "{low} to {high}, {answers} answers).", **values)


def satisfaction_by_finding(table: pd.DataFrame, min_answers: int = 30, min_group_size: int = 5) -> str:
    """Highest and lowest NPS group and where detractors rose most, from the table of
    :func:`satisfaction_by` as it is shown.

    The table shows the NPS of groups with at least ``min_group_size`` NPS answers, so the extremes
    are picked among those and the sentence says so. When the highest or the lowest rests on fewer
    than ``min_answers`` answers (small groups swing widely), a second sentence names the extremes
    among the groups with at least ``min_answers`` answers, or says that there are too few of them.
    """
    require_columns(table, ["nps_responses", "nps"], "table")
    dimension = table.columns[0]
    words = dimension_name(dimension)
    shown = table.loc[table["nps"].notna() & (table["nps_responses"] >= min_group_size)]
    if len(shown) < 2:
        return t("Fewer than two {dimension} groups have at least {min_answers} NPS answers, so NPS cannot be "
                 "compared across them.", dimension=words, min_answers=fmt_int(min_group_size))

    def extremes(rows: pd.DataFrame) -> dict:
        best, worst = rows.loc[rows["nps"].idxmax()], rows.loc[rows["nps"].idxmin()]
        return {"best": best[dimension], "best_nps": fmt_num(best["nps"], 0),
                "best_answers": fmt_int(best["nps_responses"]), "worst": worst[dimension],
                "worst_nps": fmt_num(worst["nps"], 0), "worst_answers": fmt_int(worst["nps_responses"]),
                "thin": min(best["nps_responses"], worst["nps_responses"]) < min_answers}

    found = extremes(shown)
    text = t("By {dimension}, among the groups with at least {min_answers} NPS answers (the table blanks the NPS of "
             "smaller ones), NPS is highest for {best} ({best_nps}, {best_answers} answers) and lowest for {worst} "
             "({worst_nps}, {worst_answers} answers).", dimension=words, min_answers=fmt_int(min_group_size),
             **{k: v for k, v in found.items() if k != "thin"})
    if found["thin"]:
        large = shown.loc[shown["nps_responses"] >= min_answers]
        if len(large) >= 2:
            robust = extremes(large)
            text += " " + t("Counting only the groups with at least {min_answers} answers, as smaller ones swing widely, "
                            "NPS is highest for {best} ({best_nps}, {best_answers} answers) and lowest for {worst} "
                            "({worst_nps}, {worst_answers} answers).", min_answers=fmt_int(min_answers),
                            **{k: v for k, v in robust.items() if k != "thin"})
        else:
            text += " " + t("Fewer than two of these groups have at least {min_answers} answers, and smaller groups "
                            "swing widely, so the gap may be chance.", min_answers=fmt_int(min_answers))
    if "detractors_change" in shown:
        rising = shown.loc[shown["detractors_change"] > 0]
        if len(rising):
            worst = rising.loc[rising["detractors_change"].idxmax()]
            text += " " + t("Of the same groups, the share of detractors rose most in {group} ({change} on the "
                            "previous quarter).", group=worst[dimension], change=fmt_pp(worst["detractors_change"]))
    return text


def plot_satisfaction_trend(trend: pd.DataFrame, ax=None):
    """NPS per quarter with its 95% interval as a band; CSAT on the right axis."""
    require_columns(trend, ["quarter", "nps", "nps_low", "nps_high", "csat"], "trend")
    ax = new_axes(ax)
    x = np.arange(len(trend))
    ax.plot(x, trend["nps"], marker="o", color="C0", label=t("NPS"))
    ax.fill_between(x, trend["nps_low"], trend["nps_high"], color="C0", alpha=0.15, label=t("NPS 95% interval"))
    ax.set_xticks(x, [fmt_quarter(q) for q in trend["quarter"]], rotation=45)
    right = ax.twinx()
    right.plot(x, 100 * trend["csat"], marker="s", color="C1", label=t("CSAT"))
    right.set_ylabel(t("CSAT (% answering 4-5)"))
    right.grid(False)
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], loc="best", fontsize=9)
    return label(ax, t("NPS and CSAT by quarter"), t("Quarter"), t("NPS (points, -100 to 100)"))


def plot_nps_mix(table: pd.DataFrame, ax=None):
    """Stacked bars of promoters / passives / detractors per group of a ``satisfaction_by`` table."""
    dimension = table.columns[0]
    shown = table.dropna(subset=["nps"]).iloc[::-1]
    ax = new_axes(ax, figsize=(8, max(2.5, 0.4 * len(shown) + 1.2)))
    y = np.arange(len(shown))
    left = np.zeros(len(shown))
    names = {"detractors": t("Detractors"), "passives": t("Passives"), "promoters": t("Promoters")}
    for column, colour in (("detractors", "C3"), ("passives", "C7"), ("promoters", "C2")):
        ax.barh(y, 100 * shown[column], left=left, color=colour, label=names[column])
        left += 100 * shown[column].to_numpy()
    ax.set_yticks(y, [t("{group} (NPS {nps})", group=group, nps=fmt_num(nps, 0))
                      for group, nps in zip(shown[dimension], shown["nps"])])
    ax.set_xlim(0, 100)
    ax.legend(loc="upper left", fontsize=9, bbox_to_anchor=(1.0, 1.0))
    return label(ax, t("NPS answers by {dimension}", dimension=dimension_name(dimension)), t("Share of NPS answers (%)"),
                 dimension_name(dimension, capital=True))


# ----------------------------------------------------------------------------- customer level
def customer_satisfaction(surveys: pd.DataFrame, period: Quarter | str, lookback_quarters: int = 1) -> pd.DataFrame:
    """One row per customer who answered a survey in the last ``lookback_quarters`` quarters.

    ``satisfaction_score`` puts both questions on the 0-10 NPS scale: the mean of the NPS answers
    and of CSAT rescaled as ``2.5 * (csat - 1)`` (5 -> 10, 4 -> 7.5, 3 -> 5). ``satisfaction_group``
    uses the NPS bands: high >= 9, medium 7 to < 9, low < 7.
    Returns ``customer_id, responses, mean_nps, mean_csat_score, satisfaction_score, satisfaction_group``.
    """
    require_columns(surveys, ["customer_id", "response_date", "nps_score", "csat_score"], "surveys")
    if lookback_quarters < 1:
        raise ValueError(f"lookback_quarters must be at least 1, got {lookback_quarters}")
    period = Quarter.parse(period)
    start = period.shift(1 - lookback_quarters).start
    answers = surveys.loc[(surveys["response_date"] >= start) & (surveys["response_date"] <= period.end)]
    answers = answers.loc[answers["nps_score"].notna() | answers["csat_score"].notna()]
    scaled = pd.concat([answers["nps_score"], 2.5 * (answers["csat_score"] - 1)], axis=1).mean(axis=1)
    table = answers.assign(scaled=scaled).groupby("customer_id").agg(
        responses=("customer_id", "size"), mean_nps=("nps_score", "mean"), mean_csat_score=("csat_score", "mean"),
        satisfaction_score=("scaled", "mean"))
    table["satisfaction_group"] = np.select(
        [table["satisfaction_score"] >= 9, table["satisfaction_score"] >= 7], ["high", "medium"], default="low")
    return table.reset_index()


def customer_profile(customers: pd.DataFrame, orders: pd.DataFrame, tickets: pd.DataFrame | None,
                     period: Quarter | str, lookback_quarters: int = 4) -> pd.DataFrame:
    """Attributes of every customer at the end of the quarter, for comparing groups and drivers.

    Returns ``customer_id, segment, region, main_category, orders, revenue, complaints,
    mean_resolution_hours, tenure_days``. Orders, revenue and complaints cover the last
    ``lookback_quarters`` quarters; ``main_category`` is the category of the customer's largest
    purchase amount there ("None" without purchases); ``mean_resolution_hours`` is NaN without
    resolved complaints; tenure counts from the first purchase (else the signup date).
    """
    require_columns(customers, ["customer_id"], "customers")
    require_columns(orders, ["order_id", "customer_id", "order_date", "amount", "net_amount", "is_purchase"], "orders")
    period = Quarter.parse(period)
    start, end = period.shift(1 - lookback_quarters).start, period.end
    profile = customers.drop_duplicates("customer_id")[["customer_id"]].set_index("customer_id")
    for dimension in ("segment", "region"):
        profile[dimension] = _attribute(customers, dimension) if dimension in customers.columns else "Unknown"
    window = orders.loc[(orders["order_date"] >= start) & (orders["order_date"] <= end)]
    purchases = purchase_lines(window, columns=["order_id", "customer_id", "category", "amount"])
    profile["orders"] = purchases.groupby("customer_id")["order_id"].nunique().reindex(profile.index).fillna(0)
    profile["revenue"] = window.groupby("customer_id")["net_amount"].sum().reindex(profile.index).fillna(0.0)
    if "category" in purchases.columns and len(purchases):
        spend = purchases.groupby(["customer_id", "category"], observed=True)["amount"].sum().reset_index()
        top = spend.sort_values(["customer_id", "amount", "category"], ascending=[True, False, True]) \
                   .drop_duplicates("customer_id").set_index("customer_id")["category"]
        profile["main_category"] = top.reindex(profile.index).astype("object").fillna("None").astype(str)
    else:
        profile["main_category"] = "None"
    profile["complaints"] = 0.0
    profile["mean_resolution_hours"] = np.nan
    if tickets is not None and len(tickets):
        require_columns(tickets, ["customer_id", "created_at", "ticket_type", "resolution_hours"], "tickets")
        complaints = tickets.loc[(tickets["ticket_type"] == "complaint") & (tickets["created_at"] >= start)
                                 & (tickets["created_at"] <= end)]
        grouped = complaints.groupby("customer_id")
        profile["complaints"] = grouped.size().reindex(profile.index).fillna(0).astype(float)
        profile["mean_resolution_hours"] = grouped["resolution_hours"].mean().reindex(profile.index)
    first = customers.drop_duplicates("customer_id").set_index("customer_id")
    since = first["first_order_date"] if "first_order_date" in first else pd.Series(pd.NaT, index=first.index)
    if "signup_date" in first:
        since = since.fillna(first["signup_date"])
    tenure = (period.last_day - pd.to_datetime(since)).dt.days.astype("float64")
    profile["tenure_days"] = tenure.where(tenure >= 0).reindex(profile.index)
    return profile.reset_index()


def satisfaction_groups(satisfaction: pd.DataFrame, profile: pd.DataFrame) -> pd.DataFrame:
    """Size and characteristics of the high / medium / low satisfaction groups.

    Returns ``satisfaction_group, customers, share, mean_score, orders, revenue, complaints,
    mean_resolution_hours, tenure_days`` (means per customer), plus the most common ``segment``,
    ``region`` and ``main_category`` of each group with its share.
    """
    require_columns(satisfaction, ["customer_id", "satisfaction_score", "satisfaction_group"], "satisfaction")
    data = satisfaction.merge(profile, on="customer_id", how="left")
    table = data.groupby("satisfaction_group").agg(
        customers=("customer_id", "size"), mean_score=("satisfaction_score", "mean"),
        **{column: (column, "mean") for column in NUMERIC_ATTRIBUTES})
    table["share"] = table["customers"] / table["customers"].sum()
    for column in CATEGORICAL_ATTRIBUTES:
        shares = data.groupby("satisfaction_group")[column].value_counts(normalize=True).rename("share").reset_index()
        top = shares.sort_values(["satisfaction_group", "share", column], ascending=[True, False, True]) \
                    .drop_duplicates("satisfaction_group").set_index("satisfaction_group")
        table[f"top_{column}"] = top[column]
        table[f"top_{column}_share"] = top["share"]
    table = table.reindex([g for g in GROUP_ORDER if g in table.index])
    table.index = table.index.map(group_names())  # the groups in the report's language
    table.index.name = "satisfaction_group"
    columns = ["customers", "share", "mean_score", *NUMERIC_ATTRIBUTES] + \
        [c for col in CATEGORICAL_ATTRIBUTES for c in (f"top_{col}", f"top_{col}_share")]
    return table[columns].reset_index()


def satisfaction_groups_finding(groups: pd.DataFrame) -> str:
    """The highly and the poorly satisfied compared, from the table of :func:`satisfaction_groups`."""
    table = groups.set_index("satisfaction_group")
    names = group_names()
    if not {names["high"], names["low"]} <= set(table.index):
        return t("There are not both highly and poorly satisfied customers to compare this quarter.")
    high, low = table.loc[names["high"]], table.loc[names["low"]]
    return t("{high_share} of surveyed customers are highly satisfied and {low_share} poorly; the poorly satisfied filed "
             "{low_complaints} complaints each against {high_complaints} and placed {low_orders} orders against "
             "{high_orders} in the last four quarters.", high_share=fmt_pct(high["share"]), low_share=fmt_pct(low["share"]),
             low_complaints=fmt_num(low["complaints"], 2), high_complaints=fmt_num(high["complaints"], 2),
             low_orders=fmt_num(low["orders"], 1), high_orders=fmt_num(high["orders"], 1))


def _extreme_labels(satisfaction: pd.DataFrame, fraction: float) -> pd.Series:
    """"most satisfied" / "least satisfied" / NaN per customer: the top and bottom ``fraction``
    by satisfaction score (ties broken by customer id so the split is reproducible)."""
    if not 0 < fraction <= 0.5:
        raise ValueError(f"fraction must be in (0, 0.5], got {fraction}")
    ordered = satisfaction.sort_values(["satisfaction_score", "customer_id"], ascending=[False, True])
    k = int(np.ceil(fraction * len(ordered)))
    labels = pd.Series(np.nan, index=ordered.index, dtype="object")
    labels.iloc[:k] = "most satisfied"
    labels.iloc[len(ordered) - k:] = "least satisfied"
    return labels.reindex(satisfaction.index)


def cohens_d(a, b) -> float:
    """Cohen's d: difference of means over the pooled standard deviation (Cohen 1988)."""
    a, b = pd.Series(a, dtype=float).dropna(), pd.Series(b, dtype=float).dropna()
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    pooled = np.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(a) + len(b) - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else float("nan")


def cramers_v(groups: pd.Series, values: pd.Series) -> float:
    """Cramer's V of a contingency table (no continuity correction); NaN for a 1-level table."""
    table = pd.crosstab(groups, values)
    if min(table.shape) < 2:
        return float("nan")
    chi2 = stats.chi2_contingency(table, correction=False)[0]
    return float(np.sqrt(chi2 / (table.to_numpy().sum() * (min(table.shape) - 1))))


def effect_measures() -> dict[str, str]:
    """The effect sizes of :func:`satisfaction_extremes` named for readers in the report's language."""
    return {"cohen": t("Cohen's d"), "cramer": t("Cramer's V"), "proportions": t("difference in proportions")}


def satisfaction_extremes(satisfaction: pd.DataFrame, profile: pd.DataFrame, fraction: float = 0.2,
                          min_level_share: float = 0.02) -> pd.DataFrame:
    """How the ``fraction`` most satisfied customers differ from the ``fraction`` least satisfied.

    Returns ``attribute, level, most_satisfied, least_satisfied, difference, effect_size,
    effect_measure``: means and Cohen's d for the numeric attributes; per category level the two
    shares and their difference (levels under ``min_level_share`` in both groups are left out),
    with one row per categorical attribute (level "all") holding Cramer's V.
    """
    require_columns(satisfaction, ["customer_id", "satisfaction_score"], "satisfaction")
    data = satisfaction.merge(profile, on="customer_id", how="left")
    data["extreme"] = _extreme_labels(data, fraction)
    most, least = data.loc[data["extreme"] == "most satisfied"], data.loc[data["extreme"] == "least satisfied"]
    names, measures = attribute_names(), effect_measures()
    rows = [{"attribute": t("Satisfaction score (0-10)"), "level": "", "most_satisfied": most["satisfaction_score"].mean(),
             "least_satisfied": least["satisfaction_score"].mean(),
             "effect_size": cohens_d(most["satisfaction_score"], least["satisfaction_score"]),
             "effect_measure": measures["cohen"]}]
    for column in NUMERIC_ATTRIBUTES:
        rows.append({"attribute": names[column], "level": "", "most_satisfied": most[column].mean(),
                     "least_satisfied": least[column].mean(), "effect_size": cohens_d(most[column], least[column]),
                     "effect_measure": measures["cohen"]})
    both = data.loc[data["extreme"].notna()]
    for column in CATEGORICAL_ATTRIBUTES:
        name = names[column]
        rows.append({"attribute": name, "level": t("all"), "most_satisfied": np.nan, "least_satisfied": np.nan,
                     "effect_size": cramers_v(both["extreme"], both[column]), "effect_measure": measures["cramer"]})
        shares = pd.crosstab(both[column], both["extreme"], normalize="columns") \
                   .reindex(columns=["most satisfied", "least satisfied"], fill_value=0.0)
        shares = shares.loc[shares.max(axis=1) >= min_level_share]
        gap = (shares["most satisfied"] - shares["least satisfied"]).abs()
        shares = shares.reindex(gap.sort_values(ascending=False).index)
        for level, row in shares.iterrows():
            rows.append({"attribute": name, "level": str(level), "most_satisfied": row["most satisfied"],
                         "least_satisfied": row["least satisfied"],
                         "effect_size": row["most satisfied"] - row["least satisfied"],
                         "effect_measure": measures["proportions"]})
    table = pd.DataFrame(rows)
    table["difference"] = table["most_satisfied"] - table["least_satisfied"]
    table = table[["attribute", "level", "most_satisfied", "least_satisfied", "difference", "effect_size",
                   "effect_measure"]]
    table.attrs["group_size"] = int(len(most))
    return table


def extremes_by(satisfaction: pd.DataFrame, profile: pd.DataFrame, dimension: str = "region",
                fraction: float = 0.2) -> pd.DataFrame:
    """Where the most and least satisfied customers are: counts and shares per ``dimension`` level
    (``region``, ``segment`` or ``main_category``).

    Returns ``<dimension>, most_satisfied, least_satisfied, share_of_most, share_of_least,
    difference`` (share of most - share of least), largest difference first.
    """
    require_columns(profile, ["customer_id", dimension], "profile")
    data = satisfaction.merge(profile[["customer_id", dimension]], on="customer_id", how="left")
    data["extreme"] = _extreme_labels(data, fraction)
    counts = pd.crosstab(data[dimension].fillna("Unknown"), data["extreme"]) \
               .reindex(columns=["most satisfied", "least satisfied"], fill_value=0)
    table = pd.DataFrame({"most_satisfied": counts["most satisfied"], "least_satisfied": counts["least satisfied"]})
    table["share_of_most"] = table["most_satisfied"] / max(table["most_satisfied"].sum(), 1)
    table["share_of_least"] = table["least_satisfied"] / max(table["least_satisfied"].sum(), 1)
    table["difference"] = table["share_of_most"] - table["share_of_least"]
    table.index.name = dimension
    return table.reset_index().sort_values("difference", ascending=False).reset_index(drop=True)


def extremes_finding(comparison: pd.DataFrame, fraction: float = 0.2) -> str:
    """The numeric attribute and the category level that separate the two groups most."""
    measures = effect_measures()
    numeric = comparison.loc[(comparison["effect_measure"] == measures["cohen"])
                             & (comparison["attribute"] != t("Satisfaction score (0-10)"))].dropna(subset=["effect_size"])
    levels = comparison.loc[comparison["effect_measure"] == measures["proportions"]]
    if numeric.empty and levels.empty:
        return t("Too few surveyed customers to compare the most and least satisfied.")
    size = comparison.attrs.get("group_size")
    values = {"share": fmt_pct(fraction, 0), "customers": fmt_int(size) if size else ""}
    if len(numeric):
        top = numeric.loc[numeric["effect_size"].abs().idxmax()]
        decimals = 2 if max(abs(top["most_satisfied"]), abs(top["least_satisfied"])) < 10 else 0
        values.update(attribute=top["attribute"][0].lower() + top["attribute"][1:],
                      most=fmt_num(top["most_satisfied"], decimals), least=fmt_num(top["least_satisfied"], decimals),
                      effect=fmt_num(top["effect_size"], 2))
    if len(levels):
        top = levels.loc[levels["effect_size"].abs().idxmax()]
        values.update(group_attribute=top["attribute"].lower(), level=top["level"],
                      most_share=fmt_pct(top["most_satisfied"]), least_share=fmt_pct(top["least_satisfied"]))
    if len(numeric) and len(levels):
        if size:
            return t("Between the {share} most and the {share} least satisfied customers ({customers} each), the largest "
                     "numeric difference is in {attribute}: {most} against {least} (Cohen's d {effect}); "
                     "{group_attribute} {level} makes up {most_share} of the most and {least_share} of the least "
                     "satisfied.", **values)
        return t("Between the {share} most and the {share} least satisfied customers, the largest numeric difference is "
                 "in {attribute}: {most} against {least} (Cohen's d {effect}); {group_attribute} {level} makes up "
                 "{most_share} of the most and {least_share} of the least satisfied.", **values)
    if len(numeric):
        if size:
            return t("Between the {share} most and the {share} least satisfied customers ({customers} each), the largest "
                     "numeric difference is in {attribute}: {most} against {least} (Cohen's d {effect}).", **values)
        return t("Between the {share} most and the {share} least satisfied customers, the largest numeric difference is "
                 "in {attribute}: {most} against {least} (Cohen's d {effect}).", **values)
    if size:
        return t("Between the {share} most and the {share} least satisfied customers ({customers} each), "
                 "{group_attribute} {level} makes up {most_share} of the most and {least_share} of the least "
                 "satisfied.", **values)
    return t("Between the {share} most and the {share} least satisfied customers, {group_attribute} {level} makes up "
             "{most_share} of the most and {least_share} of the least satisfied.", **values)


# ----------------------------------------------------------------------------- key drivers
def driver_data(surveys: pd.DataFrame, customers: pd.DataFrame, orders: pd.DataFrame, tickets: pd.DataFrame | None,
                period: Quarter | str, outcome: str = "nps_score", lookback_quarters: int = 4,
                profile: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per customer who answered ``outcome`` in the quarter: the mean answer as ``score``
    with the customer's ``segment``, ``region``, ``complaints``, ``mean_resolution_hours`` and
    ``orders`` over the last ``lookback_quarters`` quarters (``customer_profile``, or the given
    ``profile`` to save recomputing it)."""
    if outcome not in ("nps_score", "csat_score"):
        raise ValueError(f"outcome must be 'nps_score' or 'csat_score', got {outcome!r}")
    require_columns(surveys, ["customer_id", "response_date", outcome], "surveys")
    period = Quarter.parse(period)
    answers = surveys.loc[period.contains(surveys["response_date"]) & surveys[outcome].notna()]
    score = answers.groupby("customer_id")[outcome].mean().rename("score").reset_index()
    if profile is None:
        profile = customer_profile(customers, orders, tickets, period, lookback_quarters)
    return score.merge(profile, on="customer_id", how="left")


def service_terms() -> dict[str, str]:
    """The service-experience terms of the driver model, named for readers in the report's language."""
    return {
        "complaints": t("Complaints (last 4 quarters)"),
        "has_complaint": t("Complained at all"),
        "mean_resolution_days": t("Mean days to resolve complaints"),
        "orders": t("Orders (last 4 quarters)"),
    }


def _reading(term: str, coefficient: float, reference: str | None, outcome_unit: str) -> str:
    """A significant term in words; ``term`` is a key of :func:`service_terms` or, for a level of
    segment or region, ``"<dimension>: <level>"`` of the data (``reference`` is its reference level)."""
    values = {"size": fmt_num(abs(coefficient), 2), "unit": outcome_unit}
    higher = coefficient > 0
    if term == "complaints":
        return (t("Each extra complaint goes with a score {size} {unit} higher.", **values) if higher
                else t("Each extra complaint goes with a score {size} {unit} lower.", **values))
    if term == "mean_resolution_days":
        return (t("Each extra day taken to resolve complaints goes with a score {size} {unit} higher.", **values)
                if higher else t("Each extra day taken to resolve complaints goes with a score {size} {unit} lower.",
                                 **values))
    if term == "orders":
        return (t("Each extra order in the last four quarters goes with a score {size} {unit} higher.", **values)
                if higher else t("Each extra order in the last four quarters goes with a score {size} {unit} lower.",
                                 **values))
    if term == "has_complaint":
        return (t("Customers who complained score {size} {unit} higher, before counting how many times.", **values)
                if higher else t("Customers who complained score {size} {unit} lower, before counting how many times.",
                                 **values))
    dimension, level = term.split(": ", 1)
    values.update(dimension=dimension_name(dimension), level=level,
                  reference=reference if reference is not None else t("the reference group"))
    if higher:
        return t("Customers in {dimension} {level} score {size} {unit} higher than those in {reference}.", **values)
    return t("Customers in {dimension} {level} score {size} {unit} lower than those in {reference}.", **values)


def satisfaction_drivers(data: pd.DataFrame, alpha: float = 0.05, min_group_size: int = 5,
                         outcome_unit: str | None = None) -> pd.DataFrame:
    """Key drivers of satisfaction: OLS of ``score`` on customer attributes and service experience.

    Terms (named for readers, see :func:`service_terms`): segment and region dummies ("Segment: ...",
    "Region: ..."; reference = the most common level; levels with fewer than ``min_group_size``
    customers pooled as "Other"), complaints, whether the customer complained at all, mean days to
    resolve complaints (``mean_resolution_hours`` / 24; 0 for customers without complaints, so it
    measures the extra effect of slow resolution among those who complained), and orders.
    Constant columns are dropped. HC3 robust standard errors (MacKinnon and White 1985).

    Returns ``term, coefficient, ci_low, ci_high, p_value, significant, reading`` with the model's
    ``n`` and ``r_squared`` in ``.attrs``; the reading is plain words for significant terms, the
    score's unit ``outcome_unit`` ("points" in the report's language by default).
    With fewer than (terms + 10) customers the frame is empty and ``.attrs["note"]`` says why.
    """
    import statsmodels.api as sm

    require_columns(data, ["score", "segment", "region", "complaints", "mean_resolution_hours", "orders"], "data")
    data = data.dropna(subset=["score"])
    if len(data) < 10:
        empty = pd.DataFrame(columns=["term", "coefficient", "ci_low", "ci_high", "p_value", "significant", "reading"])
        empty.attrs.update({"n": int(len(data)), "note": t("{customers} customers with a score are too few for a "
                                                            "regression", customers=fmt_int(len(data)))})
        return empty
    # The model's columns are the data's terms ("segment: Individual", a service_terms key); the
    # table names them for readers once the model is fitted.
    design = pd.DataFrame(index=data.index)
    reference, term_names, term_references = {}, {}, {}
    for dimension in ("segment", "region"):
        values = data[dimension].fillna("Unknown").astype(str)
        counts = values.value_counts()
        values = values.where(values.map(counts) >= min_group_size, "Other")
        counts = values.value_counts()
        reference[dimension.capitalize()] = counts.index[0]
        for level in sorted(counts.index[1:]):
            term = f"{dimension}: {level}"
            design[term] = (values == level).astype(float)
            term_names[term] = t("{dimension}: {level}", dimension=dimension_name(dimension, capital=True), level=level)
            term_references[term] = counts.index[0]
    complaints = data["complaints"].fillna(0).astype(float)
    design["complaints"] = complaints
    design["has_complaint"] = (complaints > 0).astype(float)
    design["mean_resolution_days"] = data["mean_resolution_hours"].fillna(0).astype(float) / 24
    design["orders"] = data["orders"].fillna(0).astype(float)
    term_names.update(service_terms())
    design = design.loc[:, design.std() > 0]
    if len(data) < design.shape[1] + 10:
        empty = pd.DataFrame(columns=["term", "coefficient", "ci_low", "ci_high", "p_value", "significant", "reading"])
        empty.attrs.update({"n": int(len(data)), "note": t(
            "{customers} customers with a score are too few for {terms} driver terms (need at least {needed})",
            customers=fmt_int(len(data)), terms=fmt_int(design.shape[1]), needed=fmt_int(design.shape[1] + 10))})
        return empty
    model = sm.OLS(data["score"].astype(float), sm.add_constant(design, has_constant="add")).fit(cov_type="HC3")
    intervals = model.conf_int(alpha)
    table = pd.DataFrame({
        "term": model.params.index, "coefficient": model.params.to_numpy(),
        "ci_low": intervals[0].to_numpy(), "ci_high": intervals[1].to_numpy(), "p_value": model.pvalues.to_numpy(),
    })
    table = table.loc[table["term"] != "const"].reset_index(drop=True)
    table["significant"] = table["p_value"] < alpha
    unit = t("points") if outcome_unit is None else outcome_unit
    table["reading"] = [
        _reading(term, coefficient, term_references.get(term), unit) if significant else t("No clear effect.")
        for term, coefficient, significant in zip(table["term"], table["coefficient"], table["significant"])
    ]
    table["term"] = table["term"].map(term_names)
    table.attrs.update({"n": int(model.nobs), "r_squared": float(model.rsquared), "reference": reference})
    return table


def key_drivers(surveys: pd.DataFrame, customers: pd.DataFrame, orders: pd.DataFrame, tickets: pd.DataFrame | None,
                period: Quarter | str, alpha: float = 0.05, min_group_size: int = 5) -> pd.DataFrame:
    """``satisfaction_drivers`` for both outcomes, NPS answers (0-10) and CSAT answers (1-5), in one
    table with an ``outcome`` column first; each model's ``n`` and ``r_squared`` are columns too."""
    parts = []
    profile = customer_profile(customers, orders, tickets, period)
    for outcome, name in (("nps_score", t("NPS answer (0-10)")), ("csat_score", t("CSAT answer (1-5)"))):
        data = driver_data(surveys, customers, orders, tickets, period, outcome, profile=profile)
        table = satisfaction_drivers(data, alpha, min_group_size)
        if table.empty:
            continue
        table.insert(0, "outcome", name)
        table["n"], table["r_squared"] = table.attrs["n"], table.attrs["r_squared"]
        parts.append(table)
    columns = ["outcome", "term", "coefficient", "ci_low", "ci_high", "p_value", "significant", "reading", "n",
               "r_squared"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def drivers_finding(drivers: pd.DataFrame) -> str:
    """The strongest significant drivers in words (of the first outcome when there are several)."""
    if drivers.empty:
        return t("Too few surveyed customers to estimate the drivers of satisfaction this quarter.")
    if "outcome" in drivers:
        first = drivers["outcome"].iloc[0]
        attrs = {"n": int(drivers["n"].iloc[0]), "r_squared": float(drivers["r_squared"].iloc[0])}
        drivers = drivers.loc[drivers["outcome"] == first]
        drivers.attrs.update(attrs)
    significant = drivers.loc[drivers["significant"].astype(bool)]
    n = drivers.attrs.get("n")
    model = {"customers": fmt_int(n), "r_squared": fmt_num(drivers.attrs.get("r_squared"), 2)} if n else {}
    if significant.empty:
        if n:
            return t("No attribute or service measure has a clear effect on the score (OLS on {customers} customers, "
                     "R² {r_squared}).", **model)
        return t("No attribute or service measure has a clear effect on the score.")
    standardised = significant.assign(size=significant["coefficient"].abs()).sort_values("size", ascending=False)
    readings = " ".join(standardised["reading"].head(2))
    counts = {"significant": fmt_int(len(significant)), "terms": fmt_int(len(drivers))}
    if n:
        text = t("{significant} of {terms} terms are significant drivers (OLS on {customers} customers, R² {r_squared}).",
                 **counts, **model)
    else:
        text = t("{significant} of {terms} terms are significant drivers.", **counts)
    return f"{text} {readings}"


def plot_drivers(drivers: pd.DataFrame, outcome: str | None = None, ax=None):
    """Coefficients with their confidence intervals; significant terms in colour. With an
    ``outcome`` column, the first outcome is drawn unless ``outcome`` names another."""
    require_columns(drivers, ["term", "coefficient", "ci_low", "ci_high", "significant"], "drivers")
    if "outcome" in drivers:
        outcome = outcome or drivers["outcome"].iloc[0]
        drivers = drivers.loc[drivers["outcome"] == outcome]
    shown = drivers.iloc[::-1]
    ax = new_axes(ax, figsize=(8, max(3, 0.35 * len(shown) + 1.2)))
    y = np.arange(len(shown))
    significant = shown["significant"].astype(bool).to_numpy()
    for mask, colour, name in ((significant, "C0", t("significant")), (~significant, "C7", t("not significant"))):
        if mask.any():
            rows = shown.loc[mask]
            ax.errorbar(rows["coefficient"], y[mask], xerr=[rows["coefficient"] - rows["ci_low"],
                                                            rows["ci_high"] - rows["coefficient"]],
                        fmt="o", color=colour, capsize=3, label=name)
    ax.legend(loc="best", fontsize=9)
    ax.axvline(0, color="grey", linestyle="--")
    ax.set_yticks(y, shown["term"])
    scale = outcome or t("satisfaction score (points)")
    return label(ax, t("Drivers of satisfaction (coefficients, 95% intervals)"), t("Effect on the {scale}", scale=scale),
                 t("Term"))
