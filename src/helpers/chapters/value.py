"""Customer value beyond CLV itself: value tiers, relationship tiers (strategic / important /
general), acquisition cost (CAC) and customer relationship value (CRV = CLV - CAC) by channel and
segment, customer profitability after the cost to serve, and the revenue and customer forecast.

Chapter 04's options are :class:`helpers.params.ValueOptions` (``params.chapter_options.value``).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from helpers.params import ValueOptions
from helpers.quarters import Quarter
from helpers.report.fmt import fmt_int, fmt_money, fmt_num, fmt_pct
from helpers.report.labels import for_readers  # the report's one label map, for this chapter's tables
from helpers.validation import require_columns

__all__ = [
    "ValueOptions",
    "value_tiers",
    "tier_summary",
    "relationship_tiers",
    "relationship_summary",
    "cac_by_channel",
    "crv_table",
    "customer_profitability",
    "profitability_by_segment",
    "plot_tiers",
    "plot_cac_crv",
    "plot_profitability",
    "plot_growth_forecast",
    "tier_finding",
    "relationship_finding",
    "cac_finding",
    "profitability_finding",
    "forecast_finding",
    "forecast_table",
    "for_readers",
    "glossary",
]

VALUE_TIERS = ["high", "medium", "low"]
RELATIONSHIP_TIERS = ["strategic", "important", "general"]


# --- value and relationship tiers -------------------------------------------------------------

def value_tiers(clv: pd.DataFrame, quantiles: tuple[float, float] = (0.5, 0.8)) -> pd.DataFrame:
    """Value tier of each customer by 12-month CLV: ``low`` below the first quantile, ``high`` from
    the second, ``medium`` between (defaults: bottom 50%, middle 30%, top 20%).

    Returns ``clv`` with ``value_tier`` (ordered high, medium, low); the cut points are in ``attrs``.
    """
    require_columns(clv, ["customer_id", "clv_12m"], "clv")
    low_q, high_q = quantiles
    if not 0 < low_q < high_q < 1:
        raise ValueError(f"quantiles must be two increasing shares in (0, 1), got {quantiles}")
    low_cut, high_cut = clv["clv_12m"].quantile([low_q, high_q]).to_numpy()
    tier = np.where(clv["clv_12m"] >= high_cut, "high", np.where(clv["clv_12m"] >= low_cut, "medium", "low"))
    out = clv.copy()
    out["value_tier"] = pd.Categorical(tier, categories=VALUE_TIERS, ordered=True)
    out.attrs["cut_points"] = {"medium_from": float(low_cut), "high_from": float(high_cut)}
    return out


def tier_summary(tiers: pd.DataFrame) -> pd.DataFrame:
    """Customers, share, total and mean CLV, CLV range and mean probability alive per value tier."""
    require_columns(tiers, ["value_tier", "clv_12m"], "tiers")
    agg = {"customers": ("clv_12m", "size"), "clv_total": ("clv_12m", "sum"), "clv_mean": ("clv_12m", "mean"),
           "clv_min": ("clv_12m", "min"), "clv_max": ("clv_12m", "max")}
    if "p_alive" in tiers.columns:
        agg["p_alive_mean"] = ("p_alive", "mean")
    out = tiers.groupby("value_tier", observed=False).agg(**agg)
    out.insert(1, "share_of_customers", out["customers"] / max(len(tiers), 1))
    total = out["clv_total"].sum()
    out.insert(3, "share_of_clv", out["clv_total"] / total if total else np.nan)
    return out.reset_index().assign(value_tier=lambda d: d["value_tier"].astype(str))


def relationship_tiers(
    tiers: pd.DataFrame, customers: pd.DataFrame, strategic_segments=("Large enterprise", "Medium enterprise")
) -> pd.DataFrame:
    """Strategic / important / general tier from value tier and account size (``segment``).

    Rule: strategic = high value and a key-account segment (``strategic_segments``); important =
    high value in another segment, or medium value in a key-account segment; general = the rest.
    Customers without a customers row count as segment "Unknown".
    """
    require_columns(tiers, ["customer_id", "value_tier"], "tiers")
    require_columns(customers, ["customer_id", "segment"], "customers")
    out = tiers.merge(customers[["customer_id", "segment"]], on="customer_id", how="left")
    out["segment"] = out["segment"].fillna("Unknown").astype(str)
    key_account = out["segment"].isin(list(strategic_segments))
    value = out["value_tier"].astype(str)
    tier = np.where(
        (value == "high") & key_account,
        "strategic",
        np.where((value == "high") | ((value == "medium") & key_account), "important", "general"),
    )
    out["relationship_tier"] = pd.Categorical(tier, categories=RELATIONSHIP_TIERS, ordered=True)
    return out


def relationship_summary(relationships: pd.DataFrame) -> pd.DataFrame:
    """Customers, share and CLV per relationship tier."""
    require_columns(relationships, ["relationship_tier", "clv_12m"], "relationships")
    out = relationships.groupby("relationship_tier", observed=False).agg(
        customers=("clv_12m", "size"), clv_total=("clv_12m", "sum"), clv_mean=("clv_12m", "mean")
    )
    out.insert(1, "share_of_customers", out["customers"] / max(len(relationships), 1))
    total = out["clv_total"].sum()
    out.insert(3, "share_of_clv", out["clv_total"] / total if total else np.nan)
    return out.reset_index().assign(relationship_tier=lambda d: d["relationship_tier"].astype(str))


# --- acquisition cost and relationship value ---------------------------------------------------

def _window(period: Quarter, quarters: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the ``quarters`` quarters ending with ``period``."""
    return period.shift(-(quarters - 1)).start, period.shift(1).start


def _new_customers(customers: pd.DataFrame, start, end) -> pd.DataFrame:
    first = customers["first_order_date"]
    return customers.loc[(first >= start) & (first < end)]


def cac_by_channel(campaigns: pd.DataFrame, customers: pd.DataFrame, period, trailing_quarters: int = 4) -> pd.DataFrame:
    """Customer acquisition cost by channel: campaign spend / new customers acquired through it.

    New customers are those whose first valid purchase falls in the window, counted by
    ``acquisition_channel``. Computed for the quarter and the trailing ``trailing_quarters``
    quarters (steadier). CAC is missing where a channel acquired nobody.
    """
    require_columns(campaigns, ["month", "channel", "spend"], "campaigns")
    require_columns(customers, ["customer_id", "acquisition_channel", "first_order_date"], "customers")
    period = Quarter.parse(period)
    channels = sorted(set(campaigns["channel"].dropna().astype(str)))
    out = pd.DataFrame(index=pd.Index(channels, name="channel"))
    for label, quarters in (("quarter", 1), ("trailing", trailing_quarters)):
        start, end = _window(period, quarters)
        spend = campaigns.loc[(campaigns["month"] >= start) & (campaigns["month"] < end)].groupby("channel")["spend"].sum()
        new = _new_customers(customers, start, end)["acquisition_channel"].astype(str).value_counts()
        out[f"spend_{label}"] = spend.reindex(out.index).fillna(0.0)
        out[f"new_customers_{label}"] = new.reindex(out.index).fillna(0).astype(int)
        out[f"cac_{label}"] = out[f"spend_{label}"] / out[f"new_customers_{label}"].replace(0, np.nan)
    out.attrs["trailing_quarters"] = trailing_quarters
    return out.reset_index()


def crv_table(
    cac: pd.DataFrame, customers: pd.DataFrame, clv: pd.DataFrame, period, trailing_quarters: int = 4
) -> pd.DataFrame:
    """CLV, CAC, CLV / CAC and CRV = CLV - CAC by channel and by segment (the ``cac_crv.csv`` artifact).

    CLV here is the mean 12-month CLV of the customers acquired in the trailing window (the
    customers the spend bought). Each such customer carries its channel's trailing CAC; a
    segment's CAC is the mean over its customers whose channel had campaign spend (customers of
    channels without campaigns are counted in ``customers_without_cac``).
    """
    require_columns(cac, ["channel", "cac_trailing", "spend_trailing"], "cac")
    require_columns(clv, ["customer_id", "clv_12m"], "clv")
    period = Quarter.parse(period)
    start, end = _window(period, trailing_quarters)
    new = _new_customers(customers, start, end)[["customer_id", "acquisition_channel", "segment"]]
    new = new.merge(clv[["customer_id", "clv_12m"]], on="customer_id", how="left")
    new["acquisition_channel"] = new["acquisition_channel"].astype(str)
    new["cac"] = new["acquisition_channel"].map(cac.set_index("channel")["cac_trailing"])
    rows = []
    for level, column in (("channel", "acquisition_channel"), ("segment", "segment")):
        grouped = new.groupby(column, observed=True).agg(
            new_customers=("customer_id", "size"),
            customers_without_cac=("cac", lambda s: int(s.isna().sum())),
            clv_12m=("clv_12m", "mean"),
            cac=("cac", "mean"),
        )
        grouped = grouped.rename_axis("group").reset_index()
        grouped.insert(0, "level", level)
        rows.append(grouped)
    out = pd.concat(rows, ignore_index=True)
    channel_rows = out["level"] == "channel"
    # Channels with spend but no new customers still belong in the table (CAC undefined).
    missing = sorted(set(cac["channel"]) - set(out.loc[channel_rows, "group"]))
    if missing:
        extra = pd.DataFrame({"level": "channel", "group": missing, "new_customers": 0, "customers_without_cac": 0})
        out = pd.concat([out, extra], ignore_index=True)
    out["clv_cac_ratio"] = out["clv_12m"] / out["cac"].where(out["cac"] > 0)
    out["crv"] = out["clv_12m"] - out["cac"]
    spend = cac.set_index("channel")["spend_trailing"]
    out["spend"] = np.where(out["level"] == "channel", out["group"].map(spend), np.nan)
    return out[["level", "group", "new_customers", "spend", "cac", "clv_12m", "clv_cac_ratio", "crv", "customers_without_cac"]]


# --- profitability ----------------------------------------------------------------------------

def customer_profitability(
    orders: pd.DataFrame,
    as_of,
    window_days: int = 365,
    tickets: pd.DataFrame | None = None,
    cost_per_ticket: float = 50.0,
    products: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Revenue minus cost to serve per customer over the trailing ``window_days`` to ``as_of``.

    revenue = sum of ``net_amount`` (returns negative); product_cost = |quantity| x unit_cost,
    signed like the line (a return gives the cost back), when ``products`` has ``unit_cost``;
    service_cost = tickets opened x ``cost_per_ticket``; profit = revenue - product_cost -
    service_cost. Customers with an order line or a ticket in the window are included.
    """
    require_columns(orders, ["customer_id", "order_date", "net_amount"], "orders")
    as_of_day = pd.Timestamp(as_of).normalize()
    end, start = as_of_day + pd.Timedelta(days=1), as_of_day + pd.Timedelta(days=1) - pd.Timedelta(days=window_days)
    lines = orders.loc[(orders["order_date"] >= start) & (orders["order_date"] < end)]
    revenue = lines.groupby("customer_id", observed=True)["net_amount"].sum()
    out = pd.DataFrame({"revenue": revenue})
    has_cost = products is not None and "unit_cost" in products.columns and products["unit_cost"].notna().any()
    if has_cost and {"product_id", "quantity"} <= set(lines.columns):
        unit_cost = lines["product_id"].map(products.drop_duplicates("product_id").set_index("product_id")["unit_cost"])
        cost = np.sign(lines["net_amount"]) * lines["quantity"].abs() * unit_cost.fillna(0.0)
        out["product_cost"] = cost.groupby(lines["customer_id"]).sum()
    else:
        out["product_cost"] = 0.0
    if tickets is not None:
        require_columns(tickets, ["customer_id", "created_at"], "tickets")
        in_window = tickets.loc[(tickets["created_at"] >= start) & (tickets["created_at"] < end)]
        counts = in_window.groupby("customer_id", observed=True).size()
        out = out.reindex(out.index.union(counts.index))
        out["tickets"] = counts.reindex(out.index).fillna(0).astype(int)
    else:
        out["tickets"] = 0
    out = out.fillna({"revenue": 0.0, "product_cost": 0.0})
    out["service_cost"] = out["tickets"] * float(cost_per_ticket)
    out["profit"] = out["revenue"] - out["product_cost"] - out["service_cost"]
    out.attrs.update(product_cost_known=bool(has_cost), window_days=window_days, cost_per_ticket=float(cost_per_ticket))
    return out.rename_axis("customer_id").reset_index()


def profitability_by_segment(profit: pd.DataFrame, customers: pd.DataFrame, by: str = "segment") -> pd.DataFrame:
    """Customers, revenue, costs, profit, profit per customer, margin and share unprofitable per ``by``."""
    require_columns(profit, ["customer_id", "revenue", "product_cost", "service_cost", "profit"], "profit")
    require_columns(customers, ["customer_id", by], "customers")
    merged = profit.merge(customers[["customer_id", by]], on="customer_id", how="left")
    merged[by] = merged[by].fillna("Unknown").astype(str)
    out = merged.groupby(by).agg(
        customers=("customer_id", "size"),
        revenue=("revenue", "sum"),
        product_cost=("product_cost", "sum"),
        service_cost=("service_cost", "sum"),
        profit=("profit", "sum"),
        share_unprofitable=("profit", lambda s: float((s < 0).mean())),
    )
    out["profit_per_customer"] = out["profit"] / out["customers"]
    out["margin"] = out["profit"] / out["revenue"].where(out["revenue"] > 0)
    return out.sort_values("profit", ascending=False).reset_index()


# --- forecast ---------------------------------------------------------------------------------

def forecast_table(forecast: pd.DataFrame) -> pd.DataFrame:
    """One row per quarter (actuals, then forecasts): each metric with its interval bounds."""
    require_columns(forecast, ["metric", "quarter", "kind", "coverage", "value", "lower", "upper"], "forecast")
    metrics = [m for m in ("revenue", "active_customers", "new_customers") if m in set(forecast["metric"])]
    keyed = forecast.set_index(["quarter", "kind", "coverage"])
    out = pd.DataFrame(index=keyed.index.unique())
    for metric in metrics:
        rows = keyed.loc[keyed["metric"] == metric]
        out[metric] = rows["value"]
        out[f"{metric}_lower"] = rows["lower"]
        out[f"{metric}_upper"] = rows["upper"]
    return out.reset_index().sort_values("quarter").reset_index(drop=True)


def glossary(options: ValueOptions, currency: str = "¥") -> dict[str, str]:
    """One-line definitions of the chapter's measures, with this run's settings filled in."""
    low, high = options.value_tier_quantiles
    key_accounts = ", ".join(options.strategic_segments) or "none"
    return {
        "RFM scores (R, F, M)": (
            f"Quintile scores 1-5 among all customers who ever bought: R by days since the last purchase (5 = most recent), "
            f"F by orders and M by revenue in the last {options.rfm_window_days} days; equal values share a score."
        ),
        "RFM segment": "Named group from the score rules in params/rfm_segments.yaml; the first matching rule wins.",
        "Migration matrix": "Customers by last quarter's RFM segment (rows) and this quarter's (columns).",
        "BG/NBD": "Buy 'til you die purchase model (Fader, Hardie and Lee 2005): customers buy at their own rate and may drop out after any purchase.",
        "Gamma-Gamma": "Spend model (Fader, Hardie and Lee 2005): each customer's average order value varies around their own mean.",
        "Probability alive": "The model's probability that the customer has not silently stopped buying.",
        "Expected purchases (12 months)": "Purchase days the model expects from the customer in the next 12 months.",
        "CLV (12 months)": (
            f"Expected purchases per month x expected order value, discounted at {fmt_pct(options.monthly_discount_rate)} a month, "
            f"summed over {options.clv_horizon_months} months."
        ),
        "Holdout validation": (
            f"The model is fitted on purchases up to {options.holdout_weeks} weeks before the quarter end and predicts the "
            "purchase days in those last weeks, which are then compared with what customers actually did."
        ),
        "MAE": "Mean absolute error: the average of |predicted - actual| holdout purchases per customer.",
        "Naive forecast": "A customer's past purchase rate (repeat purchases / time since first purchase) times the holdout length.",
        "Value tier": (
            f"By 12-month CLV: high = top {fmt_pct(1 - high, 0)}, medium = the next {fmt_pct(high - low, 0)}, low = the rest."
        ),
        "Relationship tier": (
            f"Strategic = high value and a key account ({key_accounts}); important = high value elsewhere or medium value "
            "key account; general = everyone else."
        ),
        "CAC": (
            f"Customer acquisition cost: campaign spend of a channel / new customers acquired through it (first purchase), "
            f"in the quarter and over the trailing {options.cac_trailing_quarters} quarters."
        ),
        "CLV / CAC": "Mean 12-month CLV of the channel's new customers divided by its trailing CAC.",
        "CRV": "Customer relationship value = CLV - CAC per new customer.",
        "Cost to serve": (
            f"Service tickets x {fmt_money(options.cost_per_ticket, currency)} per ticket, plus product cost (quantity x unit cost) "
            "where products carry a unit cost."
        ),
        "Customer profit": f"Revenue minus cost to serve over the last {options.profitability_window_days} days.",
        "Silhouette": "How much closer customers are to their own cluster than to the next one (-1 to 1; higher = clearer clusters).",
        "Decision tree accuracy": "Share of held-out customers (30%) whose cluster the three-level tree predicts correctly.",
        "Forecast interval": "95% prediction interval of damped-trend exponential smoothing on the last quarters.",
    }


# --- plots ------------------------------------------------------------------------------------

_THOUSANDS = FuncFormatter(lambda v, _: f"{v:,.0f}")

def plot_tiers(summary: pd.DataFrame, ax=None):
    """Bars: share of customers and share of 12-month CLV per value tier."""
    require_columns(summary, ["value_tier", "share_of_customers", "share_of_clv"], "tier summary")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    positions = np.arange(len(summary))
    ax.bar(positions - 0.2, 100 * summary["share_of_customers"], width=0.4, label="Customers")
    ax.bar(positions + 0.2, 100 * summary["share_of_clv"], width=0.4, label="12-month CLV")
    ax.set_xticks(positions, summary["value_tier"])
    ax.set_xlabel("Value tier")
    ax.set_ylabel("Share (%)")
    ax.set_title("Value tiers: share of customers and of expected value")
    ax.legend()
    return ax


def plot_cac_crv(table: pd.DataFrame, currency: str = "¥", ax=None):
    """Bars per channel: CLV and CAC side by side (CRV is the gap)."""
    channels = table.loc[table["level"] == "channel"].reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    positions = np.arange(len(channels))
    ax.bar(positions - 0.2, channels["clv_12m"].fillna(0), width=0.4, label="Mean 12-month CLV of new customers")
    ax.bar(positions + 0.2, channels["cac"].fillna(0), width=0.4, label="CAC (trailing)")
    ax.set_xticks(positions, channels["group"], rotation=20, ha="right")
    ax.set_xlabel("Acquisition channel")
    ax.set_ylabel(f"Per new customer ({currency})")
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_title("CLV vs acquisition cost by channel")
    ax.legend()
    return ax


def plot_profitability(by_segment: pd.DataFrame, currency: str = "¥", by: str = "segment", ax=None):
    """Bars: profit per customer per segment after product and service costs."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    colours = np.where(by_segment["profit_per_customer"] >= 0, "tab:blue", "tab:red")
    ax.bar(by_segment[by], by_segment["profit_per_customer"], color=colours)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.tick_params(axis="x", labelrotation=20)
    ax.set_xlabel(by.replace("_", " ").capitalize())
    ax.set_ylabel(f"Profit per customer ({currency})")
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_title("Customer profitability after cost to serve (last 365 days)")
    return ax


def plot_growth_forecast(forecast: pd.DataFrame, metric: str = "revenue", currency: str = "¥", ax=None):
    """Actual quarters and the forecast with its interval for one metric."""
    data = forecast.loc[forecast["metric"] == metric]
    if data.empty:
        raise ValueError(f"no rows for metric {metric!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    actual = data.loc[data["kind"] == "actual"]
    future = data.loc[(data["kind"] == "forecast") & data["value"].notna()]
    x_all = list(data["quarter"])
    pos = {q: i for i, q in enumerate(x_all)}
    ax.plot([pos[q] for q in actual["quarter"]], actual["value"], marker="o", label="Actual")
    partial = actual.loc[actual["coverage"] == "partial"]
    if len(partial):  # only part of the quarter is in the data: an open marker
        ax.plot([pos[q] for q in partial["quarter"]], partial["value"], marker="o", linestyle="none",
                markerfacecolor="white", color="C0", label="Quarter only partly covered by the data")
    if len(future):
        joined = pd.concat([actual.tail(1), future])
        ax.plot([pos[q] for q in joined["quarter"]], joined["value"], marker="o", linestyle="--", label="Forecast")
        ax.fill_between([pos[q] for q in future["quarter"]], future["lower"], future["upper"], alpha=0.2,
                        label="95% interval")
    ax.set_xticks(range(len(x_all)), x_all, rotation=30)
    names = {"revenue": f"Revenue ({currency})", "active_customers": "Active customers", "new_customers": "New customers"}
    ax.set_xlabel("Quarter")
    ax.set_ylabel(names.get(metric, metric))
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_title(f"{names.get(metric, metric).split(' (')[0]}: last quarters and forecast")
    ax.legend()
    return ax


# --- findings ---------------------------------------------------------------------------------

def tier_finding(summary: pd.DataFrame, currency: str = "¥") -> str:
    """Sentence: the high tier's share of customers vs share of CLV."""
    high = summary.set_index("value_tier").loc["high"]
    return (
        f"The high-value tier is {fmt_pct(high['share_of_customers'])} of customers ({fmt_int(high['customers'])}) and "
        f"{fmt_pct(high['share_of_clv'])} of expected 12-month value, {fmt_money(high['clv_mean'], currency)} per customer on average."
    )


def relationship_finding(summary: pd.DataFrame, currency: str = "¥") -> str:
    """Sentence: size and value share of the strategic tier."""
    strategic = summary.set_index("relationship_tier").loc["strategic"]
    if strategic["customers"] == 0:
        return "No customer is both high value and a key account, so the strategic tier is empty."
    return (
        f"{fmt_int(strategic['customers'])} strategic customers (high value and a key-account segment) hold "
        f"{fmt_pct(strategic['share_of_clv'])} of expected value, {fmt_money(strategic['clv_mean'], currency)} each on average."
    )


def cac_finding(table: pd.DataFrame, currency: str = "¥") -> str:
    """Sentence: best and worst channel by CLV / CAC."""
    channels = table.loc[(table["level"] == "channel") & table["clv_cac_ratio"].notna()].sort_values("clv_cac_ratio")
    if channels.empty:
        return "No channel both spent on campaigns and acquired customers in the window, so CAC cannot be computed."
    best, worst = channels.iloc[-1], channels.iloc[0]
    best_name = str(best["group"])[:1].upper() + str(best["group"])[1:]
    text = (
        f"{best_name} returns the most per acquisition cost: new customers are worth {fmt_num(best['clv_cac_ratio'], 1)}x "
        f"their CAC of {fmt_money(best['cac'], currency)}"
    )
    if len(channels) > 1:
        text += f"; {worst['group']} the least ({fmt_num(worst['clv_cac_ratio'], 1)}x, CRV {fmt_money(worst['crv'], currency)})"
    return text + "."


def profitability_finding(by_segment: pd.DataFrame, currency: str = "¥") -> str:
    """Sentence: most and least profitable segment per customer and the unprofitable share."""
    if by_segment.empty:
        return "No customer had revenue or tickets in the last 365 days."
    ranked = by_segment.sort_values("profit_per_customer")
    top, bottom = ranked.iloc[-1], ranked.iloc[0]
    unprofitable = (by_segment["share_unprofitable"] * by_segment["customers"]).sum() / by_segment["customers"].sum()
    return (
        f"{top.iloc[0]} customers earn the most after cost to serve ({fmt_money(top['profit_per_customer'], currency)} each), "
        f"{bottom.iloc[0]} the least ({fmt_money(bottom['profit_per_customer'], currency)}); "
        f"{fmt_pct(unprofitable)} of customers cost more than they brought in."
    )


def forecast_finding(forecast: pd.DataFrame, currency: str = "¥") -> str:
    """Sentence: forecast revenue and active customers for the next four quarters vs the last four."""
    parts = []
    for metric, fmt in (("revenue", lambda v: fmt_money(v, currency)), ("active_customers", fmt_int)):
        data = forecast.loc[forecast["metric"] == metric]
        if data.empty:
            continue
        future = data.loc[(data["kind"] == "forecast") & data["value"].notna()]
        if future.empty:
            continue
        last = data.loc[data["kind"] == "actual", "value"].iloc[-1]
        next_value = future.iloc[0]
        label = "revenue" if metric == "revenue" else "active customers"
        parts.append(
            f"{label} of {fmt(next_value['value'])} next quarter (95% interval {fmt(next_value['lower'])} to "
            f"{fmt(next_value['upper'])}, against {fmt(last)} this quarter)"
        )
    return "The forecast is " + " and ".join(parts) + "." if parts else "Nothing to forecast."
