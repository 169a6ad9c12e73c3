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

from helpers.facts import purchase_lines
from helpers.facts.kpis import nps_points
from helpers.quarters import Quarter, quarter_labels
from helpers.report.fmt import fmt_int, fmt_num, fmt_pct, fmt_pp
from helpers.report.plotting import label, new_axes
from helpers.validation import require_columns

GROUP_ORDER = ("high", "medium", "low")
NUMERIC_ATTRIBUTES = {
    "orders": "Orders (last 4 quarters)",
    "revenue": "Net revenue (last 4 quarters)",
    "complaints": "Complaints (last 4 quarters)",
    "mean_resolution_hours": "Mean time to resolve complaints (hours)",
    "tenure_days": "Tenure (days since first purchase)",
}
CATEGORICAL_ATTRIBUTES = {"segment": "Segment", "region": "Region", "main_category": "Main product category"}




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


def nps_finding(trend: pd.DataFrame, by_region: pd.DataFrame | None = None, nps_target: float | None = None,
                csat_target: float | None = None) -> str:
    """E.g. "NPS fell 6 points on the previous quarter to 31, below the target of 50 (...);
    detractors rose most in South China (+4.0 pp). CSAT was 78.0% ..."."""
    require_columns(trend, ["quarter", "nps", "nps_low", "nps_high", "nps_responses", "csat"], "trend")
    now = trend.iloc[-1]
    if now["nps_responses"] == 0 and np.isnan(now["csat"]):
        return f"No survey answers were received in {now['quarter']}."
    previous = trend.iloc[-2] if len(trend) > 1 else None
    text = ""
    if not np.isnan(now["nps"]):
        change = now["nps"] - previous["nps"] if previous is not None else np.nan
        if np.isnan(change):
            text = f"NPS was {fmt_num(now['nps'], 0)}"
        elif round(change) == 0:
            text = f"NPS held at {fmt_num(now['nps'], 0)}"
        else:
            verb = "rose" if change > 0 else "fell"
            text = f"NPS {verb} {fmt_num(abs(change), 0)} points on the previous quarter to {fmt_num(now['nps'], 0)}"
        if nps_target is not None:
            text += f", {'at or above' if now['nps'] >= nps_target else 'below'} the target of {fmt_num(nps_target, 0)}"
        text += (f" (95% interval {fmt_num(now['nps_low'], 0)} to {fmt_num(now['nps_high'], 0)}, "
                 f"{fmt_int(now['nps_responses'])} answers)")
        if by_region is not None and "detractors_change" in by_region and by_region["detractors_change"].notna().any():
            region_column = by_region.columns[0]
            worst = by_region.loc[by_region["detractors_change"].idxmax()]
            if worst["detractors_change"] > 0:
                text += f"; detractors rose most in {worst[region_column]} ({fmt_pp(worst['detractors_change'])})"
        text += "."
    if not np.isnan(now["csat"]):
        text += f" CSAT was {fmt_pct(now['csat'])}"
        if csat_target is not None:
            text += f" against a target of {fmt_pct(csat_target)}"
        if previous is not None and not np.isnan(previous["csat"]):
            text += f" ({fmt_pp(now['csat'] - previous['csat'])} on the previous quarter)"
        text += "."
    return text.strip()


def satisfaction_by_finding(table: pd.DataFrame, min_answers: int = 30) -> str:
    """Highest and lowest NPS group, among groups with at least ``min_answers`` NPS answers when
    there are two such groups (small groups swing widely)."""
    dimension = table.columns[0]
    shown = table.dropna(subset=["nps"])
    if (shown["nps_responses"] >= min_answers).sum() >= 2:
        shown = shown.loc[shown["nps_responses"] >= min_answers]
    if len(shown) < 2:
        return f"Too few answers to compare NPS across {dimension.replace('_', ' ')} groups."
    best, worst = shown.loc[shown["nps"].idxmax()], shown.loc[shown["nps"].idxmin()]
    return (f"By {dimension.replace('_', ' ')}, NPS is highest for {best[dimension]} ({fmt_num(best['nps'], 0)}, "
            f"{fmt_int(best['nps_responses'])} answers) and lowest for {worst[dimension]} "
            f"({fmt_num(worst['nps'], 0)}, {fmt_int(worst['nps_responses'])} answers).")


def plot_satisfaction_trend(trend: pd.DataFrame, ax=None):
    """NPS per quarter with its 95% interval as a band; CSAT on the right axis."""
    require_columns(trend, ["quarter", "nps", "nps_low", "nps_high", "csat"], "trend")
    ax = new_axes(ax)
    x = np.arange(len(trend))
    ax.plot(x, trend["nps"], marker="o", color="C0", label="NPS")
    ax.fill_between(x, trend["nps_low"], trend["nps_high"], color="C0", alpha=0.15, label="NPS 95% interval")
    ax.set_xticks(x, trend["quarter"], rotation=45)
    right = ax.twinx()
    right.plot(x, 100 * trend["csat"], marker="s", color="C1", label="CSAT")
    right.set_ylabel("CSAT (% answering 4-5)")
    right.grid(False)
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], loc="best", fontsize=9)
    return label(ax, "NPS and CSAT by quarter", "Quarter", "NPS (points, -100 to 100)")


def plot_nps_mix(table: pd.DataFrame, ax=None):
    """Stacked bars of promoters / passives / detractors per group of a ``satisfaction_by`` table."""
    dimension = table.columns[0]
    shown = table.dropna(subset=["nps"]).iloc[::-1]
    ax = new_axes(ax, figsize=(8, max(2.5, 0.4 * len(shown) + 1.2)))
    y = np.arange(len(shown))
    left = np.zeros(len(shown))
    for column, colour in (("detractors", "C3"), ("passives", "C7"), ("promoters", "C2")):
        ax.barh(y, 100 * shown[column], left=left, color=colour, label=column.capitalize())
        left += 100 * shown[column].to_numpy()
    ax.set_yticks(y, [f"{g} (NPS {v:.0f})" for g, v in zip(shown[dimension], shown["nps"])])
    ax.set_xlim(0, 100)
    ax.legend(loc="upper left", fontsize=9, bbox_to_anchor=(1.0, 1.0))
    return label(ax, f"NPS answers by {dimension.replace('_', ' ')}", "Share of NPS answers (%)",
                 dimension.replace("_", " ").capitalize())


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
    purchases = purchase_lines(window)
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
    table.index.name = "satisfaction_group"
    columns = ["customers", "share", "mean_score", *NUMERIC_ATTRIBUTES] + \
        [c for col in CATEGORICAL_ATTRIBUTES for c in (f"top_{col}", f"top_{col}_share")]
    return table[columns].reset_index()


def satisfaction_groups_finding(groups: pd.DataFrame) -> str:
    table = groups.set_index("satisfaction_group")
    if not {"high", "low"} <= set(table.index):
        return "There are not both highly and poorly satisfied customers to compare this quarter."
    high, low = table.loc["high"], table.loc["low"]
    return (f"{fmt_pct(high['share'])} of surveyed customers are highly satisfied and {fmt_pct(low['share'])} poorly; "
            f"the poorly satisfied filed {fmt_num(low['complaints'], 2)} complaints each against "
            f"{fmt_num(high['complaints'], 2)} and placed {fmt_num(low['orders'], 1)} orders against "
            f"{fmt_num(high['orders'], 1)} in the last four quarters.")


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
    rows = [{"attribute": "Satisfaction score (0-10)", "level": "", "most_satisfied": most["satisfaction_score"].mean(),
             "least_satisfied": least["satisfaction_score"].mean(),
             "effect_size": cohens_d(most["satisfaction_score"], least["satisfaction_score"]),
             "effect_measure": "Cohen's d"}]
    for column, name in NUMERIC_ATTRIBUTES.items():
        rows.append({"attribute": name, "level": "", "most_satisfied": most[column].mean(),
                     "least_satisfied": least[column].mean(), "effect_size": cohens_d(most[column], least[column]),
                     "effect_measure": "Cohen's d"})
    both = data.loc[data["extreme"].notna()]
    for column, name in CATEGORICAL_ATTRIBUTES.items():
        rows.append({"attribute": name, "level": "all", "most_satisfied": np.nan, "least_satisfied": np.nan,
                     "effect_size": cramers_v(both["extreme"], both[column]), "effect_measure": "Cramer's V"})
        shares = pd.crosstab(both[column], both["extreme"], normalize="columns") \
                   .reindex(columns=["most satisfied", "least satisfied"], fill_value=0.0)
        shares = shares.loc[shares.max(axis=1) >= min_level_share]
        gap = (shares["most satisfied"] - shares["least satisfied"]).abs()
        shares = shares.reindex(gap.sort_values(ascending=False).index)
        for level, row in shares.iterrows():
            rows.append({"attribute": name, "level": str(level), "most_satisfied": row["most satisfied"],
                         "least_satisfied": row["least satisfied"],
                         "effect_size": row["most satisfied"] - row["least satisfied"],
                         "effect_measure": "difference in proportions"})
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
    numeric = comparison.loc[(comparison["effect_measure"] == "Cohen's d")
                             & (comparison["attribute"] != "Satisfaction score (0-10)")].dropna(subset=["effect_size"])
    levels = comparison.loc[comparison["effect_measure"] == "difference in proportions"]
    if numeric.empty and levels.empty:
        return "Too few surveyed customers to compare the most and least satisfied."
    parts = []
    if len(numeric):
        top = numeric.loc[numeric["effect_size"].abs().idxmax()]
        decimals = 2 if max(abs(top["most_satisfied"]), abs(top["least_satisfied"])) < 10 else 0
        parts.append(f"the largest numeric difference is in {top['attribute'][0].lower() + top['attribute'][1:]}: "
                     f"{fmt_num(top['most_satisfied'], decimals)} against {fmt_num(top['least_satisfied'], decimals)} "
                     f"(Cohen's d {fmt_num(top['effect_size'], 2)})")
    if len(levels):
        top = levels.loc[levels["effect_size"].abs().idxmax()]
        parts.append(f"{top['attribute'].lower()} {top['level']} makes up {fmt_pct(top['most_satisfied'])} of the most "
                     f"and {fmt_pct(top['least_satisfied'])} of the least satisfied")
    pct = fmt_pct(fraction, 0)
    size = comparison.attrs.get("group_size")
    each = f" ({fmt_int(size)} each)" if size else ""
    return f"Between the {pct} most and the {pct} least satisfied customers{each}, " + "; ".join(parts) + "."


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


SERVICE_TERMS = {
    "complaints": "Complaints (last 4 quarters)",
    "has_complaint": "Complained at all",
    "mean_resolution_days": "Mean days to resolve complaints",
    "orders": "Orders (last 4 quarters)",
}


def _reading(term: str, coefficient: float, reference: dict, outcome_unit: str) -> str:
    direction = "higher" if coefficient > 0 else "lower"
    size = fmt_num(abs(coefficient), 2)
    if term == SERVICE_TERMS["complaints"]:
        return f"Each extra complaint goes with a score {size} {outcome_unit} {direction}."
    if term == SERVICE_TERMS["mean_resolution_days"]:
        return f"Each extra day taken to resolve complaints goes with a score {size} {outcome_unit} {direction}."
    if term == SERVICE_TERMS["orders"]:
        return f"Each extra order in the last four quarters goes with a score {size} {outcome_unit} {direction}."
    if term == SERVICE_TERMS["has_complaint"]:
        return f"Customers who complained score {size} {outcome_unit} {direction}, before counting how many times."
    dimension, level = term.split(": ", 1)
    return (f"Customers in {dimension.lower()} {level} score {size} {outcome_unit} {direction} than those in "
            f"{reference.get(dimension, 'the reference group')}.")


def satisfaction_drivers(data: pd.DataFrame, alpha: float = 0.05, min_group_size: int = 5,
                         outcome_unit: str = "points") -> pd.DataFrame:
    """Key drivers of satisfaction: OLS of ``score`` on customer attributes and service experience.

    Terms (named for readers, see ``SERVICE_TERMS``): segment and region dummies ("Segment: ...",
    "Region: ..."; reference = the most common level; levels with fewer than ``min_group_size``
    customers pooled as "Other"), complaints, whether the customer complained at all, mean days to
    resolve complaints (``mean_resolution_hours`` / 24; 0 for customers without complaints, so it
    measures the extra effect of slow resolution among those who complained), and orders.
    Constant columns are dropped. HC3 robust standard errors (MacKinnon and White 1985).

    Returns ``term, coefficient, ci_low, ci_high, p_value, significant, reading`` with the model's
    ``n`` and ``r_squared`` in ``.attrs``; the reading is plain words for significant terms.
    With fewer than (terms + 10) customers the frame is empty and ``.attrs["note"]`` says why.
    """
    import statsmodels.api as sm

    require_columns(data, ["score", "segment", "region", "complaints", "mean_resolution_hours", "orders"], "data")
    data = data.dropna(subset=["score"])
    if len(data) < 10:
        empty = pd.DataFrame(columns=["term", "coefficient", "ci_low", "ci_high", "p_value", "significant", "reading"])
        empty.attrs.update({"n": int(len(data)), "note": f"{len(data)} customers with a score are too few for a regression"})
        return empty
    design = pd.DataFrame(index=data.index)
    reference = {}
    for dimension in ("segment", "region"):
        values = data[dimension].fillna("Unknown").astype(str)
        counts = values.value_counts()
        values = values.where(values.map(counts) >= min_group_size, "Other")
        counts = values.value_counts()
        name = dimension.capitalize()
        reference[name] = counts.index[0]
        for level in sorted(counts.index[1:]):
            design[f"{name}: {level}"] = (values == level).astype(float)
    complaints = data["complaints"].fillna(0).astype(float)
    design[SERVICE_TERMS["complaints"]] = complaints
    design[SERVICE_TERMS["has_complaint"]] = (complaints > 0).astype(float)
    design[SERVICE_TERMS["mean_resolution_days"]] = data["mean_resolution_hours"].fillna(0).astype(float) / 24
    design[SERVICE_TERMS["orders"]] = data["orders"].fillna(0).astype(float)
    design = design.loc[:, design.std() > 0]
    if len(data) < design.shape[1] + 10:
        empty = pd.DataFrame(columns=["term", "coefficient", "ci_low", "ci_high", "p_value", "significant", "reading"])
        empty.attrs.update({"n": int(len(data)), "note": f"{len(data)} customers with a score are too few for "
                            f"{design.shape[1]} driver terms (need at least {design.shape[1] + 10})"})
        return empty
    model = sm.OLS(data["score"].astype(float), sm.add_constant(design, has_constant="add")).fit(cov_type="HC3")
    intervals = model.conf_int(alpha)
    table = pd.DataFrame({
        "term": model.params.index, "coefficient": model.params.to_numpy(),
        "ci_low": intervals[0].to_numpy(), "ci_high": intervals[1].to_numpy(), "p_value": model.pvalues.to_numpy(),
    })
    table = table.loc[table["term"] != "const"].reset_index(drop=True)
    table["significant"] = table["p_value"] < alpha
    table["reading"] = [
        _reading(term, coefficient, reference, outcome_unit) if significant else "No clear effect."
        for term, coefficient, significant in zip(table["term"], table["coefficient"], table["significant"])
    ]
    table.attrs.update({"n": int(model.nobs), "r_squared": float(model.rsquared), "reference": reference})
    return table


def key_drivers(surveys: pd.DataFrame, customers: pd.DataFrame, orders: pd.DataFrame, tickets: pd.DataFrame | None,
                period: Quarter | str, alpha: float = 0.05, min_group_size: int = 5) -> pd.DataFrame:
    """``satisfaction_drivers`` for both outcomes, NPS answers (0-10) and CSAT answers (1-5), in one
    table with an ``outcome`` column first; each model's ``n`` and ``r_squared`` are columns too."""
    parts = []
    profile = customer_profile(customers, orders, tickets, period)
    for outcome, name in (("nps_score", "NPS answer (0-10)"), ("csat_score", "CSAT answer (1-5)")):
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
        return "Too few surveyed customers to estimate the drivers of satisfaction this quarter."
    if "outcome" in drivers:
        first = drivers["outcome"].iloc[0]
        attrs = {"n": int(drivers["n"].iloc[0]), "r_squared": float(drivers["r_squared"].iloc[0])}
        drivers = drivers.loc[drivers["outcome"] == first]
        drivers.attrs.update(attrs)
    significant = drivers.loc[drivers["significant"].astype(bool)]
    n = drivers.attrs.get("n")
    base = f" (OLS on {fmt_int(n)} customers, R² {fmt_num(drivers.attrs.get('r_squared'), 2)})" if n else ""
    if significant.empty:
        return f"No attribute or service measure has a clear effect on the score{base}."
    standardised = significant.assign(size=significant["coefficient"].abs()).sort_values("size", ascending=False)
    readings = " ".join(standardised["reading"].head(2))
    return f"{len(significant)} of {len(drivers)} terms are significant drivers{base}. {readings}"


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
    for mask, colour, name in ((significant, "C0", "significant"), (~significant, "C7", "not significant")):
        if mask.any():
            rows = shown.loc[mask]
            ax.errorbar(rows["coefficient"], y[mask], xerr=[rows["coefficient"] - rows["ci_low"],
                                                            rows["ci_high"] - rows["coefficient"]],
                        fmt="o", color=colour, capsize=3, label=name)
    ax.legend(loc="best", fontsize=9)
    ax.axvline(0, color="grey", linestyle="--")
    ax.set_yticks(y, shown["term"])
    scale = outcome or "satisfaction score (points)"
    return label(ax, "Drivers of satisfaction (coefficients, 95% intervals)", f"Effect on the {scale}", "Term")
