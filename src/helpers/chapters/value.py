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

from helpers.facts import purchase_lines
from helpers.params import ValueOptions
from helpers.quarters import Quarter
from helpers.report.fmt import fmt_int, fmt_money, fmt_num, fmt_pct, fmt_quarter
from helpers.report.i18n import t
from helpers.report.labels import for_readers, reader_label  # the report's one label map, for this chapter's tables
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
    "profit_distribution",
    "profit_extremes",
    "cost_by_driver",
    "plot_tiers",
    "plot_cac_crv",
    "plot_profitability",
    "plot_profit_distribution",
    "plot_growth_forecast",
    "tier_finding",
    "relationship_finding",
    "cac_finding",
    "profitability_finding",
    "profit_distribution_finding",
    "profit_extremes_caption",
    "profit_distribution_caption",
    "cost_driver_caption",
    "cost_driver_finding",
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

    Where the orders carry ``is_purchase`` and ``amount`` (the prepared orders do), also
    purchase_value (``amount`` of the purchase lines, :func:`helpers.facts.purchase_lines`) and
    returns = purchase_value - revenue (returns and credits taken off it); where ``products``
    has a list price (``unit_price``), discounts = sum over purchase lines of quantity x list price
    - amount, when positive (price given away before revenue). These explain profit; they are not
    subtracted again. ``attrs`` say which costs were known.
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
    has_purchases = {"is_purchase", "amount"} <= set(lines.columns)
    has_list_price = (has_purchases and products is not None and "unit_price" in products.columns
                      and products["unit_price"].notna().any() and {"product_id", "quantity"} <= set(lines.columns))
    if has_purchases:
        bought = purchase_lines(lines)
        out["purchase_value"] = bought.groupby("customer_id", observed=True)["amount"].sum()
        if has_list_price:
            list_price = bought["product_id"].map(products.drop_duplicates("product_id").set_index("product_id")["unit_price"])
            # A price above the list is no discount; a product without a list price gives none.
            discount = (bought["quantity"] * list_price - bought["amount"]).clip(lower=0.0).fillna(0.0)
            out["discounts"] = discount.groupby(bought["customer_id"], observed=True).sum()
    if tickets is not None:
        require_columns(tickets, ["customer_id", "created_at"], "tickets")
        in_window = tickets.loc[(tickets["created_at"] >= start) & (tickets["created_at"] < end)]
        counts = in_window.groupby("customer_id", observed=True).size()
        out = out.reindex(out.index.union(counts.index))
        out["tickets"] = counts.reindex(out.index).fillna(0).astype(int)
    else:
        out["tickets"] = 0
    out = out.fillna({"revenue": 0.0, "product_cost": 0.0, "purchase_value": 0.0, "discounts": 0.0})
    if has_purchases:
        out["returns"] = out["purchase_value"] - out["revenue"]
    out["service_cost"] = out["tickets"] * float(cost_per_ticket)
    out["profit"] = out["revenue"] - out["product_cost"] - out["service_cost"]
    out = out.rename_axis("customer_id").reset_index()
    out.attrs.update(product_cost_known=bool(has_cost), window_days=window_days, cost_per_ticket=float(cost_per_ticket),
                     tickets_known=tickets is not None, returns_known=has_purchases, discounts_known=bool(has_list_price))
    return out


def profit_distribution(profit: pd.DataFrame) -> pd.DataFrame:
    """One row: customers, unprofitable customers and their share, mean profit per customer and its
    10th, 25th, 50th (median), 75th and 90th percentiles."""
    require_columns(profit, ["customer_id", "profit"], "profit")
    values = profit["profit"]
    quantiles = values.quantile([0.1, 0.25, 0.5, 0.75, 0.9]).to_numpy() if len(values) else [np.nan] * 5
    unprofitable = int((values < 0).sum())
    return pd.DataFrame([{
        "customers": len(values), "unprofitable_customers": unprofitable,
        "share_unprofitable": unprofitable / len(values) if len(values) else np.nan, "mean_profit": values.mean(),
        "p10": quantiles[0], "p25": quantiles[1], "median_profit": quantiles[2], "p75": quantiles[3], "p90": quantiles[4],
    }])


def profit_extremes(profit: pd.DataFrame, customers: pd.DataFrame | None = None, n: int = 10) -> pd.DataFrame:
    """The ``n`` most and the ``n`` least profitable customers, by id only (no names): their place,
    segment (when ``customers`` has one), revenue, costs and profit. Ties go to the smaller id."""
    require_columns(profit, ["customer_id", "revenue", "product_cost", "service_cost", "profit"], "profit")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    ranked = profit.sort_values(["profit", "customer_id"], ascending=[False, True])
    most = ranked.head(n).assign(position=t("Most profitable"), rank=np.arange(1, min(n, len(ranked)) + 1))
    least = profit.sort_values(["profit", "customer_id"], ascending=[True, True]).head(n)
    least = least.loc[~least["customer_id"].isin(most["customer_id"])]  # fewer than 2n customers: each once
    least = least.assign(position=t("Least profitable"), rank=np.arange(1, len(least) + 1))
    out = pd.concat([most, least], ignore_index=True)
    columns = ["position", "rank", "customer_id"]
    if customers is not None and "segment" in customers.columns:
        out = out.merge(customers[["customer_id", "segment"]].drop_duplicates("customer_id"), on="customer_id", how="left")
        out["segment"] = out["segment"].fillna("Unknown").astype(str)
        columns.append("segment")
    money = [c for c in ("revenue", "returns", "discounts", "product_cost", "service_cost", "profit") if c in out.columns]
    return out[columns + ["tickets"] * ("tickets" in out.columns) + money].reset_index(drop=True)


def cost_by_driver(profit: pd.DataFrame) -> pd.DataFrame:
    """What stands between purchase value and profit, by driver, over the profitability window.

    Rows, each where the data hold it (``profit.attrs``): returns and credits (taken off revenue),
    discounts off list price (never in revenue), product cost and service tickets (the cost to
    serve, subtracted from revenue). Per driver: customers it touches, the total, the total per
    customer it touches and its share of purchase value (missing without purchase values).
    """
    require_columns(profit, ["customer_id", "product_cost", "service_cost"], "profit")
    known = profit.attrs
    drivers = []
    if known.get("returns_known", "returns" in profit.columns) and "returns" in profit.columns:
        drivers.append((t("Returns and credits"), t("taken off revenue"), profit["returns"]))
    if known.get("discounts_known", "discounts" in profit.columns) and "discounts" in profit.columns:
        drivers.append((t("Discounts off list price"), t("never in revenue"), profit["discounts"]))
    if known.get("product_cost_known", True):
        drivers.append((t("Product cost"), t("cost to serve"), profit["product_cost"]))
    if known.get("tickets_known", True):
        drivers.append((t("Service tickets"), t("cost to serve"), profit["service_cost"]))
    purchase_value = profit["purchase_value"].sum() if "purchase_value" in profit.columns else np.nan
    rows = []
    for driver, counts_as, amounts in drivers:
        touched = int((amounts != 0).sum())
        rows.append({"driver": driver, "counts_as": counts_as, "customers": touched, "amount": float(amounts.sum()),
                     "per_customer": amounts.sum() / touched if touched else np.nan,
                     "share_of_purchase_value": amounts.sum() / purchase_value if purchase_value > 0 else np.nan})
    return pd.DataFrame(rows, columns=["driver", "counts_as", "customers", "amount", "per_customer",
                                       "share_of_purchase_value"])


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
    key_accounts = t(", ").join(options.strategic_segments) or t("none")
    return {
        t("RFM scores (R, F, M)"): t(
            "Quintile scores 1-5 among all customers who ever bought: R by days since the last purchase (5 = most recent), "
            "F by orders and M by revenue in the last {days} days; equal values share a score.",
            days=fmt_int(options.rfm_window_days)),
        t("RFM segment"): t("Named group from the score rules in params/rfm_segments.yaml; the first matching rule wins."),
        t("Migration matrix"): t("Customers by last quarter's RFM segment (rows) and this quarter's (columns)."),
        t("BG/NBD"): t("Buy 'til you die purchase model (Fader, Hardie and Lee 2005): customers buy at their own rate and "
                       "may drop out after any purchase."),
        t("Gamma-Gamma"): t("Spend model (Fader, Hardie and Lee 2005): each customer's average order value varies around "
                            "their own mean."),
        t("Probability alive"): t("The model's probability that the customer has not silently stopped buying."),
        t("Expected purchases (12 months)"): t("Purchase days the model expects from the customer in the next 12 months."),
        t("CLV (12 months)"): t(
            "Expected purchases per month x expected order value, discounted at {rate} a month, summed over {months} months.",
            rate=fmt_pct(options.monthly_discount_rate), months=fmt_int(options.clv_horizon_months)),
        t("Holdout validation"): t(
            "The model is fitted on purchases up to {weeks} weeks before the quarter end and predicts the purchase days in "
            "those last weeks, which are then compared with what customers actually did.",
            weeks=fmt_int(options.holdout_weeks)),
        t("MAE"): t("Mean absolute error: the average of |predicted - actual| holdout purchases per customer."),
        t("Naive forecast"): t("A customer's past purchase rate (repeat purchases / time since first purchase) times the "
                               "holdout length."),
        t("Value tier"): t("By 12-month CLV: high = top {top}, medium = the next {middle}, low = the rest.",
                           top=fmt_pct(1 - high, 0), middle=fmt_pct(high - low, 0)),
        t("Relationship tier"): t(
            "Strategic = high value and a key account ({key_accounts}); important = high value elsewhere or medium value "
            "key account; general = everyone else.", key_accounts=key_accounts),
        t("CAC"): t(
            "Customer acquisition cost: campaign spend of a channel / new customers acquired through it (first purchase), "
            "in the quarter and over the trailing {quarters} quarters.", quarters=fmt_int(options.cac_trailing_quarters)),
        t("CLV / CAC"): t("Mean 12-month CLV of the channel's new customers divided by its trailing CAC."),
        t("CRV"): t("Customer relationship value = CLV - CAC per new customer."),
        t("Cost to serve"): t(
            "Service tickets x {cost} per ticket, plus product cost (quantity x unit cost) where products carry a unit cost.",
            cost=fmt_money(options.cost_per_ticket, currency)),
        t("Customer profit"): t("Revenue minus cost to serve over the last {days} days.",
                                days=fmt_int(options.profitability_window_days)),
        t("Returns and credits"): t("Purchase value minus net revenue: returned goods and credit notes taken off revenue."),
        t("Discounts off list price"): t("Quantity x list price minus the amount paid, on purchase lines of products "
                                         "with a list price; never part of revenue, so not subtracted again."),
        t("Silhouette"): t("How much closer customers are to their own cluster than to the next one (-1 to 1; higher = "
                           "clearer clusters)."),
        t("Decision tree accuracy"): t("Share of all customers whose cluster the tree's rules give back; per cluster, the "
                                       "share reproduced is the share of its customers the rules put in it and the "
                                       "precision the share of the customers the rules put in it that belong to it."),
        t("Forecast interval"): t("95% prediction interval of damped-trend exponential smoothing on the last quarters."),
    }


# --- plots ------------------------------------------------------------------------------------

_THOUSANDS = FuncFormatter(lambda v, _: f"{v:,.0f}")

def plot_tiers(summary: pd.DataFrame, ax=None):
    """Bars: share of customers and share of 12-month CLV per value tier."""
    require_columns(summary, ["value_tier", "share_of_customers", "share_of_clv"], "tier summary")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    positions = np.arange(len(summary))
    ax.bar(positions - 0.2, 100 * summary["share_of_customers"], width=0.4, label=t("Customers"))
    ax.bar(positions + 0.2, 100 * summary["share_of_clv"], width=0.4, label=t("12-month CLV"))
    tier_words = {"high": t("high"), "medium": t("medium"), "low": t("low")}
    ax.set_xticks(positions, [tier_words.get(tier, tier) for tier in summary["value_tier"]])
    ax.set_xlabel(t("Value tier"))
    ax.set_ylabel(t("Share (%)"))
    ax.set_title(t("Value tiers: share of customers and of expected value"))
    ax.legend()
    return ax


def plot_cac_crv(table: pd.DataFrame, currency: str = "¥", ax=None):
    """Bars per channel: CLV and CAC side by side (CRV is the gap)."""
    channels = table.loc[table["level"] == "channel"].reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    positions = np.arange(len(channels))
    ax.bar(positions - 0.2, channels["clv_12m"].fillna(0), width=0.4, label=t("Mean 12-month CLV of new customers"))
    ax.bar(positions + 0.2, channels["cac"].fillna(0), width=0.4, label=t("CAC (trailing)"))
    ax.set_xticks(positions, channels["group"], rotation=20, ha="right")
    ax.set_xlabel(t("Acquisition channel"))
    ax.set_ylabel(t("Per new customer ({currency})", currency=currency))
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_title(t("CLV vs acquisition cost by channel"))
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
    ax.set_xlabel(reader_label(by))
    ax.set_ylabel(t("Profit per customer ({currency})", currency=currency))
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_title(t("Customer profitability after cost to serve (last 365 days)"))
    return ax


def plot_profit_distribution(profit: pd.DataFrame, currency: str = "¥", bins: int = 40, ax=None):
    """Histogram of profit per customer after cost to serve; the 1% at each end are counted in the
    outer bars so that a few very large accounts do not squeeze the rest into one bar."""
    require_columns(profit, ["profit"], "profit")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    values = profit["profit"].dropna()
    if len(values):
        low, high = values.quantile([0.01, 0.99]).to_numpy()
        if high <= low:
            low, high = low - 1.0, high + 1.0
        ax.hist(values.clip(low, high), bins=bins, range=(low, high), color="tab:blue", label=t("Customers"))
        ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(t("Profit per customer ({currency})", currency=currency))
    ax.set_ylabel(t("Customers"))
    ax.xaxis.set_major_formatter(_THOUSANDS)
    ax.set_title(t("Profit per customer after cost to serve, last {days} days (outer 1% in the end bars)",
                   days=fmt_int(profit.attrs.get("window_days", 365))))
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
    ax.plot([pos[q] for q in actual["quarter"]], actual["value"], marker="o", label=t("Actual"))
    partial = actual.loc[actual["coverage"] == "partial"]
    if len(partial):  # only part of the quarter is in the data: an open marker
        ax.plot([pos[q] for q in partial["quarter"]], partial["value"], marker="o", linestyle="none",
                markerfacecolor="white", color="C0", label=t("Quarter only partly covered by the data"))
    if len(future):
        joined = pd.concat([actual.tail(1), future])
        ax.plot([pos[q] for q in joined["quarter"]], joined["value"], marker="o", linestyle="--", label=t("Forecast"))
        ax.fill_between([pos[q] for q in future["quarter"]], future["lower"], future["upper"], alpha=0.2,
                        label=t("95% interval"))
    ax.set_xticks(range(len(x_all)), [fmt_quarter(q) for q in x_all], rotation=30)
    names = {"revenue": t("Revenue ({currency})", currency=currency), "active_customers": t("Active customers"),
             "new_customers": t("New customers")}
    titles = {"revenue": t("Revenue: last quarters and forecast"),
              "active_customers": t("Active customers: last quarters and forecast"),
              "new_customers": t("New customers: last quarters and forecast")}
    ax.set_xlabel(t("Quarter"))
    ax.set_ylabel(names.get(metric, metric))
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_title(titles.get(metric) or t("{metric}: last quarters and forecast", metric=metric.split(" (")[0]))
    ax.legend()
    return ax


# --- findings ---------------------------------------------------------------------------------

def tier_finding(summary: pd.DataFrame, currency: str = "¥") -> str:
    """Sentence: the high tier's share of customers vs share of CLV."""
    high = summary.set_index("value_tier").loc["high"]
    return t(
        "The high-value tier is {share} of customers ({customers}) and {value_share} of expected 12-month value, "
        "{mean} per customer on average.",
        share=fmt_pct(high["share_of_customers"]), customers=fmt_int(high["customers"]),
        value_share=fmt_pct(high["share_of_clv"]), mean=fmt_money(high["clv_mean"], currency),
    )


def relationship_finding(summary: pd.DataFrame, currency: str = "¥") -> str:
    """Sentence: size and value share of the strategic tier."""
    strategic = summary.set_index("relationship_tier").loc["strategic"]
    if strategic["customers"] == 0:
        return t("No customer is both high value and a key account, so the strategic tier is empty.")
    return t(
        "{customers} strategic customers (high value and a key-account segment) hold {value_share} of expected value, "
        "{mean} each on average.",
        customers=fmt_int(strategic["customers"]), value_share=fmt_pct(strategic["share_of_clv"]),
        mean=fmt_money(strategic["clv_mean"], currency),
    )


def cac_finding(table: pd.DataFrame, currency: str = "¥") -> str:
    """Sentence: best and worst channel by CLV / CAC."""
    channels = table.loc[(table["level"] == "channel") & table["clv_cac_ratio"].notna()].sort_values("clv_cac_ratio")
    if channels.empty:
        return t("No channel both spent on campaigns and acquired customers in the window, so CAC cannot be computed.")
    best, worst = channels.iloc[-1], channels.iloc[0]
    best_name = str(best["group"])[:1].upper() + str(best["group"])[1:]
    values = dict(best=best_name, best_ratio=fmt_num(best["clv_cac_ratio"], 1), best_cac=fmt_money(best["cac"], currency),
                  worst=worst["group"], worst_ratio=fmt_num(worst["clv_cac_ratio"], 1),
                  worst_crv=fmt_money(worst["crv"], currency))
    if len(channels) > 1:
        return t("{best} returns the most per acquisition cost: new customers are worth {best_ratio}x their CAC of "
                 "{best_cac}; {worst} the least ({worst_ratio}x, CRV {worst_crv}).", **values)
    return t("{best} returns the most per acquisition cost: new customers are worth {best_ratio}x their CAC of "
             "{best_cac}.", **values)


def profit_distribution_caption(window_days: int = 365) -> str:
    """Caption of the profit-per-customer percentiles table."""
    return t("Profit per customer after cost to serve over the last {days} days: mean and percentiles",
             days=fmt_int(window_days))


def cost_driver_caption(window_days: int = 365) -> str:
    """Caption of the drivers table."""
    return t("Between purchase value and profit over the last {days} days, by driver (per customer: per customer "
             "the driver touches)", days=fmt_int(window_days))


def profit_extremes_caption(n: int, window_days: int = 365) -> str:
    """Caption of the least and most profitable customers table."""
    return t("The {n} most and the {n} least profitable customers of the last {days} days (customer ids only)",
             n=fmt_int(n), days=fmt_int(window_days))


def profitability_finding(by_segment: pd.DataFrame, currency: str = "¥", window_days: int = 365) -> str:
    """Sentence: most and least profitable segment per customer and the unprofitable share."""
    if by_segment.empty:
        return t("No customer had revenue or tickets in the last {days} days.", days=fmt_int(window_days))
    ranked = by_segment.sort_values("profit_per_customer")
    top, bottom = ranked.iloc[-1], ranked.iloc[0]
    unprofitable = (by_segment["share_unprofitable"] * by_segment["customers"]).sum() / by_segment["customers"].sum()
    return t(
        "{top} customers earn the most after cost to serve ({top_profit} each), {bottom} the least ({bottom_profit}); "
        "{unprofitable} of customers cost more than they brought in.",
        top=top.iloc[0], top_profit=fmt_money(top["profit_per_customer"], currency), bottom=bottom.iloc[0],
        bottom_profit=fmt_money(bottom["profit_per_customer"], currency), unprofitable=fmt_pct(unprofitable),
    )


def profit_distribution_finding(distribution: pd.DataFrame, extremes: pd.DataFrame, currency: str = "¥") -> str:
    """Sentence: the median and the spread of profit per customer, and the least and most profitable customer."""
    row = distribution.iloc[0]
    if not row["customers"]:
        return t("No customer had revenue or tickets in the window.")
    firsts = extremes.loc[extremes["rank"].eq(1)]  # the most profitable, then the least profitable
    most, least = firsts.iloc[0], firsts.iloc[-1]
    values = dict(median=fmt_money(row["median_profit"], currency), p25=fmt_money(row["p25"], currency),
                  p75=fmt_money(row["p75"], currency), unprofitable=fmt_int(row["unprofitable_customers"]),
                  share=fmt_pct(row["share_unprofitable"]), most_id=most["customer_id"],
                  most_profit=fmt_money(most["profit"], currency), least_id=least["customer_id"],
                  least_profit=fmt_money(least["profit"], currency))
    if row["unprofitable_customers"] == 1:
        return t("The median customer earns {median} after cost to serve; the middle half lies between {p25} and {p75}, "
                 "and {unprofitable} customer ({share}) cost more than they brought in. The most profitable customer, "
                 "{most_id}, earned {most_profit}; the least profitable, {least_id}, {least_profit}.", **values)
    return t("The median customer earns {median} after cost to serve; the middle half lies between {p25} and {p75}, "
             "and {unprofitable} customers ({share}) cost more than they brought in. The most profitable customer, "
             "{most_id}, earned {most_profit}; the least profitable, {least_id}, {least_profit}.", **values)


def cost_driver_finding(drivers: pd.DataFrame, currency: str = "¥", window_days: int = 365) -> str:
    """Sentence: the driver that takes the most between purchase value and profit."""
    if drivers.empty or not (drivers["amount"] > 0).any():
        return t("No returns, discounts or costs to serve were recorded in the last {days} days.", days=fmt_int(window_days))
    largest = drivers.sort_values("amount").iloc[-1]
    if pd.isna(largest["share_of_purchase_value"]):
        return t("The largest driver is {driver}: {amount} in the last {days} days, {per_customer} per customer it touches.",
                 driver=largest["driver"].lower(), amount=fmt_money(largest["amount"], currency), days=fmt_int(window_days),
                 per_customer=fmt_money(largest["per_customer"], currency))
    return t(
        "The largest driver is {driver}: {amount} in the last {days} days ({share} of purchase value), {per_customer} "
        "per customer it touches.",
        driver=largest["driver"].lower(), amount=fmt_money(largest["amount"], currency), days=fmt_int(window_days),
        share=fmt_pct(largest["share_of_purchase_value"]), per_customer=fmt_money(largest["per_customer"], currency),
    )


def forecast_finding(forecast: pd.DataFrame, currency: str = "¥") -> str:
    """Sentence: forecast revenue and active customers for the next four quarters vs the last four."""
    found = {}
    for metric, fmt in (("revenue", lambda v: fmt_money(v, currency)), ("active_customers", fmt_int)):
        data = forecast.loc[forecast["metric"] == metric]
        if data.empty:
            continue
        future = data.loc[(data["kind"] == "forecast") & data["value"].notna()]
        if future.empty:
            continue
        last = data.loc[data["kind"] == "actual", "value"].iloc[-1]
        next_value = future.iloc[0]
        found[metric] = dict(value=fmt(next_value["value"]), lower=fmt(next_value["lower"]),
                             upper=fmt(next_value["upper"]), now=fmt(last))
    if not found:
        return t("Nothing to forecast.")
    if len(found) == 2:
        revenue, customers = found["revenue"], found["active_customers"]
        return t("The forecast is revenue of {revenue} next quarter (95% interval {revenue_lower} to {revenue_upper}, "
                 "against {revenue_now} this quarter) and active customers of {customers} next quarter (95% interval "
                 "{customers_lower} to {customers_upper}, against {customers_now} this quarter).",
                 revenue=revenue["value"], revenue_lower=revenue["lower"], revenue_upper=revenue["upper"],
                 revenue_now=revenue["now"], customers=customers["value"], customers_lower=customers["lower"],
                 customers_upper=customers["upper"], customers_now=customers["now"])
    if "revenue" in found:
        return t("The forecast is revenue of {value} next quarter (95% interval {lower} to {upper}, against {now} this "
                 "quarter).", **found["revenue"])
    return t("The forecast is active customers of {value} next quarter (95% interval {lower} to {upper}, against {now} "
             "this quarter).", **found["active_customers"])
