"""Purchase behaviour: how often and how much customers buy, what they buy, through which
channel, how they use the web shop and app, and how visits convert into purchases.

Every function takes the prepared tables (see the chapter notebook contract) and returns a
DataFrame with business column names. An "order" is a distinct ``order_id`` with at least one
``is_purchase`` line; its value is the sum of ``net_amount`` over those lines. Everything is
vectorised (groupby / merge), linear in the number of order lines or events.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.errors import NotAvailable
from helpers.facts import purchase_lines
from helpers.quarters import Quarter, quarter_labels
from helpers.report.fmt import fmt_int, fmt_money, fmt_num, fmt_pct, fmt_pp, fmt_quarter
from helpers.report.i18n import t
from helpers.report.labels import for_readers  # noqa: F401 - the chapter's tables use the report's one label map
from helpers.validation import require_columns

FUNNEL_STEPS = ("visit", "product_view", "add_to_cart", "purchase")
FREQUENCY_EDGES = (0, 1, 2, 4, 9, np.inf)
FREQUENCY_LABELS = ("1", "2", "3-4", "5-9", "10+")


# ----------------------------------------------------------------------------- shared basics
def dimension_name(by: str, capital: bool = False) -> str:
    """A customer or ticket attribute named for readers in the report's language: ``"segment"``
    -> "segment" (in a sentence) or "Segment" (``capital``: an axis or legend title); an attribute
    without a translation in its words (``"complaint_type"`` -> "complaint type")."""
    names = {
        "segment": (t("segment"), t("Segment")), "region": (t("region"), t("Region")),
        "country": (t("country"), t("Country")), "industry": (t("industry"), t("Industry")),
        "customer_type": (t("customer type"), t("Customer type")),
        "company_size": (t("company size"), t("Company size")),
        "acquisition_channel": (t("acquisition channel"), t("Acquisition channel")),
        "complaint_type": (t("complaint type"), t("Complaint type")), "product": (t("product"), t("Product")),
        "category": (t("category"), t("Category")), "channel": (t("channel"), t("Channel")),
        "department": (t("department"), t("Department")),
    }
    if by in names:
        return names[by][capital]
    words = by.replace("_", " ")
    return words.capitalize() if capital else words


def all_customers() -> str:
    """The name of the group of all customers beside the groups of a table, in the report's language."""
    return t("All customers")


def purchase_orders(orders: pd.DataFrame, start=None, end=None) -> pd.DataFrame:
    """One row per valid order: ``order_id, customer_id, order_date, order_value, channel``.

    ``order_value`` sums ``net_amount`` over the order's purchase lines; ``channel`` is the
    channel of its first line ("Unknown" when the export has none).
    """
    lines = purchase_lines(orders, start, end, columns=["order_id", "customer_id", "net_amount", "channel"])
    aggregations = {
        "customer_id": ("customer_id", "first"),
        "order_date": ("order_date", "min"),
        "order_value": ("net_amount", "sum"),
    }
    if "channel" in lines.columns:
        aggregations["channel"] = ("channel", "first")
    result = lines.groupby("order_id", sort=False).agg(**aggregations).reset_index()
    if "channel" not in result.columns:
        result["channel"] = "Unknown"
    result["channel"] = result["channel"].fillna("Unknown")
    return result


def _period_orders(orders: pd.DataFrame, period: Quarter | str) -> pd.DataFrame:
    period = Quarter.parse(period)
    return purchase_orders(orders, period.start, period.end)


def attach_customers(frame: pd.DataFrame, customers: pd.DataFrame, by: str) -> pd.DataFrame:
    """``frame`` with the customer attribute ``by`` ("Unknown" when missing)."""
    require_columns(customers, ["customer_id", by], "customers")
    attribute = customers.drop_duplicates("customer_id").set_index("customer_id")[by]
    out = frame.copy()
    out[by] = out["customer_id"].map(attribute).astype("object").fillna("Unknown").astype(str)
    return out


# ----------------------------------------------------------------------------- frequency and value
def purchase_frequency(orders: pd.DataFrame, period: Quarter | str) -> pd.DataFrame:
    """Distribution of orders per active customer in the quarter, in bands 1, 2, 3-4, 5-9, 10+.

    Returns ``orders_per_customer, customers, share, orders``.
    """
    per_customer = _period_orders(orders, period).groupby("customer_id").size()
    bands = pd.cut(per_customer, FREQUENCY_EDGES, labels=FREQUENCY_LABELS)
    table = (
        pd.DataFrame({"band": bands, "orders": per_customer})
        .groupby("band", observed=False)
        .agg(customers=("orders", "size"), orders=("orders", "sum"))
        .reset_index()
        .rename(columns={"band": "orders_per_customer"})
    )
    table["orders_per_customer"] = table["orders_per_customer"].astype(str)
    total = table["customers"].sum()
    table["share"] = table["customers"] / total if total else np.nan
    return table[["orders_per_customer", "customers", "share", "orders"]]


def purchase_frequency_finding(frequency: pd.DataFrame) -> str:
    """One sentence on how many active customers bought more than once."""
    total = frequency["customers"].sum()
    if total == 0:
        return t("No customer bought in the quarter.")
    once = frequency.loc[frequency["orders_per_customer"] == "1", "customers"].sum()
    mean = frequency["orders"].sum() / total
    return t("{share} of the {customers} active customers ordered more than once in the quarter; the average was "
             "{mean} orders per active customer.", share=fmt_pct(1 - once / total), customers=fmt_int(total),
             mean=fmt_num(mean, 2))


def _nice_edges(values: pd.Series) -> np.ndarray:
    """Band edges on the 1-2-5 sequence covering the 1st-99th percentile of positive ``values``."""
    positive = values[values > 0]
    if positive.empty:
        return np.array([0.0, 1.0])
    low, high = positive.quantile([0.01, 0.99])
    exponents = np.arange(np.floor(np.log10(max(low, 1e-9))) - 1, np.ceil(np.log10(max(high, 1e-9))) + 2)
    ladder = np.sort(np.outer(10.0**exponents, [1, 2, 5]).ravel())
    inner = ladder[(ladder > low) & (ladder < high)]
    if inner.size == 0:
        inner = ladder[ladder > low][:1]
    return np.unique(np.concatenate([[0.0], inner, [np.inf]]))


def order_value_distribution(orders: pd.DataFrame, period: Quarter | str, currency: str = "¥") -> pd.DataFrame:
    """Orders of the quarter by value band (1-2-5 band edges), with counts and revenue shares.

    Returns ``order_value_band, orders, share, revenue, revenue_share``.
    """
    values = _period_orders(orders, period)["order_value"]
    edges = _nice_edges(values)
    labels = [
        t("under {amount}", amount=fmt_money(hi, currency)) if lo == 0 else
        (t("{amount} and more", amount=fmt_money(lo, currency)) if np.isinf(hi)
         else f"{fmt_money(lo, currency)}–{fmt_money(hi, currency)}")
        for lo, hi in zip(edges[:-1], edges[1:])
    ]
    bands = pd.cut(values.clip(lower=0), edges, labels=labels, right=False, include_lowest=True)
    table = (
        pd.DataFrame({"band": bands, "value": values})
        .groupby("band", observed=False)
        .agg(orders=("value", "size"), revenue=("value", "sum"))
        .reset_index()
        .rename(columns={"band": "order_value_band"})
    )
    table["order_value_band"] = table["order_value_band"].astype(str)
    table["share"] = table["orders"] / max(table["orders"].sum(), 1)
    table["revenue_share"] = table["revenue"] / table["revenue"].sum() if table["revenue"].sum() else np.nan
    return table[["order_value_band", "orders", "share", "revenue", "revenue_share"]]


def order_value_summary(orders: pd.DataFrame, period: Quarter | str) -> pd.DataFrame:
    """Orders, mean, median, 10th and 90th percentile of the order value in the quarter (one row)."""
    values = _period_orders(orders, period)["order_value"]
    return pd.DataFrame(
        {
            "orders": [len(values)],
            "mean_order_value": [values.mean()],
            "median_order_value": [values.median()],
            "p10_order_value": [values.quantile(0.1)],
            "p90_order_value": [values.quantile(0.9)],
        }
    )


def order_value_finding(summary: pd.DataFrame, currency: str = "¥") -> str:
    """One sentence on the typical order and how skewed order values are."""
    row = summary.iloc[0]
    if row["orders"] == 0:
        return t("There were no orders in the quarter.")
    return t("The median order was {median} and the mean {mean}; one order in ten was above {p90}.",
             median=fmt_money(row["median_order_value"], currency), mean=fmt_money(row["mean_order_value"], currency),
             p90=fmt_money(row["p90_order_value"], currency))


def plot_purchase_frequency(frequency: pd.DataFrame, ax=None):
    """Bar chart of active customers by orders in the quarter."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    ax.bar(frequency["orders_per_customer"], frequency["share"] * 100, color="#4C72B0")
    ax.set_title(t("Orders per active customer this quarter"))
    ax.set_xlabel(t("Orders in the quarter"))
    ax.set_ylabel(t("Active customers (%)"))
    return ax


def plot_order_values(orders: pd.DataFrame, period: Quarter | str, currency: str = "¥", ax=None):
    """Histogram of order values in the quarter on a log scale, with the median marked."""
    values = _period_orders(orders, period)["order_value"]
    values = values[values > 0]
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    if values.empty:
        ax.text(0.5, 0.5, t("No orders in the quarter"), ha="center", transform=ax.transAxes)
    else:
        bins = np.logspace(np.log10(values.min()), np.log10(values.max()) + 1e-9, 40)
        ax.hist(values, bins=bins, color="#4C72B0")
        ax.set_xscale("log")
        ax.axvline(values.median(), color="#C44E52", linestyle="--",
                   label=t("median {value}", value=fmt_money(values.median(), currency)))
        ax.legend()
    ax.set_title(t("Order values, {quarter}", quarter=fmt_quarter(period)))
    ax.set_xlabel(t("Order value ({currency}, log scale)", currency=currency))
    ax.set_ylabel(t("Orders"))
    return ax


# ----------------------------------------------------------------------------- what they buy
def category_mix(orders: pd.DataFrame, customers: pd.DataFrame, period: Quarter | str, by: str = "segment") -> pd.DataFrame:
    """Share of each category in the revenue of each customer group (``by``) in the quarter.

    Returns ``<by>, category, revenue, share`` including an "All customers" group.
    """
    period = Quarter.parse(period)
    lines = purchase_lines(orders, period.start, period.end, columns=["customer_id", "category", "net_amount"])
    require_columns(lines, ["category"], "orders")
    lines = attach_customers(lines[["customer_id", "category", "net_amount"]], customers, by)
    lines["category"] = lines["category"].astype("object").fillna("Uncategorised").astype(str)
    by_group = lines.groupby([by, "category"])["net_amount"].sum()
    overall = lines.groupby("category")["net_amount"].sum()
    overall.index = pd.MultiIndex.from_product([[all_customers()], overall.index], names=[by, "category"])
    mix = pd.concat([by_group, overall]).rename("revenue").reset_index()
    mix["share"] = mix["revenue"] / mix.groupby(by)["revenue"].transform("sum")
    return mix.sort_values([by, "revenue"], ascending=[True, False], ignore_index=True)


def category_mix_finding(mix: pd.DataFrame, by: str = "segment", include_overall: bool = True) -> str:
    """The leading category overall and the group whose mix differs most from it."""
    overall = mix[mix[by] == all_customers()].set_index("category")["share"]
    if overall.empty:
        return t("No purchases in the quarter.")
    top = overall.idxmax()
    groups = mix[mix[by] != all_customers()].copy()
    groups["gap"] = groups["share"] - groups["category"].map(overall)
    text = (t("{category} is the largest category with {share} of revenue.", category=top, share=fmt_pct(overall[top]))
            if include_overall else "")
    if not groups.empty:
        widest = groups.loc[groups["gap"].idxmax()]
        text += " " + t("By {dimension}, {group} customers lean most towards {category} ({share} of their revenue "
                        "against {overall} for all customers).", dimension=dimension_name(by), group=widest[by],
                        category=widest["category"], share=fmt_pct(widest["share"]),
                        overall=fmt_pct(overall[widest["category"]]))
    return text.strip()


def plot_category_mix(mix: pd.DataFrame, by: str = "segment", max_categories: int = 12, ax=None):
    """Heatmap of category revenue shares per customer group."""
    import seaborn as sns

    top = mix[mix[by] == all_customers()].nlargest(max_categories, "revenue")["category"]
    table = mix.assign(category=mix["category"].where(mix["category"].isin(top), t("Other")))
    matrix = table.pivot_table(index=by, columns="category", values="share", aggfunc="sum", fill_value=0) * 100
    ax = ax or plt.subplots(figsize=(min(2 + 0.9 * matrix.shape[1], 14), 1.5 + 0.45 * matrix.shape[0]))[1]
    sns.heatmap(matrix, annot=True, fmt=".0f", cmap="Blues", cbar_kws={"label": t("Share of revenue (%)")}, ax=ax)
    ax.set_title(t("Category mix by {dimension} (% of revenue)", dimension=dimension_name(by)))
    ax.set_xlabel(t("Category"))
    ax.set_ylabel(dimension_name(by, capital=True))
    return ax


def product_distribution(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    period: Quarter | str,
    by: str = "region",
    top_n: int = 10,
    products: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Units and revenue of the quarter's ``top_n`` products (by units) in each group ``by``.

    Products are named from ``products`` when given; falls back to categories when the orders
    have no product ids. Returns ``product, <by>, units, revenue, share_of_units`` (share of the
    group's units).
    """
    period = Quarter.parse(period)
    lines = purchase_lines(orders, period.start, period.end).copy()
    item = "product_id" if "product_id" in lines.columns and lines["product_id"].notna().any() else "category"
    lines["product"] = lines[item].astype("object").fillna("Unknown").astype(str)
    if item == "product_id" and products is not None and {"product_id", "product_name"} <= set(products.columns):
        names = products.drop_duplicates("product_id").set_index("product_id")["product_name"].astype("object")
        lines["product"] = lines["product"].map(names).fillna(lines["product"]).astype(str)
    lines["units"] = lines["quantity"].fillna(1) if "quantity" in lines.columns else 1.0
    lines = attach_customers(lines[["customer_id", "product", "units", "net_amount"]], customers, by)
    group_units = lines.groupby(by)["units"].sum()
    top = lines.groupby("product")["units"].sum().nlargest(top_n).index
    table = (
        lines[lines["product"].isin(top)]
        .groupby(["product", by])
        .agg(units=("units", "sum"), revenue=("net_amount", "sum"))
        .reset_index()
    )
    table["share_of_units"] = table["units"] / table[by].map(group_units)
    order = pd.Categorical(table["product"], categories=list(top), ordered=True)
    return table.assign(_o=order).sort_values(["_o", by]).drop(columns="_o").reset_index(drop=True)


def category_trend(orders: pd.DataFrame, period: Quarter | str, quarters: int = 8) -> pd.DataFrame:
    """Revenue and revenue share of each category in each of the trailing ``quarters`` quarters.

    Returns ``quarter, category, revenue, share``.
    """
    period = Quarter.parse(period)
    first = period.trailing(quarters)[0]
    lines = purchase_lines(orders, first.start, period.end, columns=["category", "net_amount"])
    require_columns(lines, ["category"], "orders")
    table = (
        pd.DataFrame(
            {
                "quarter": quarter_labels(lines["order_date"]),
                "category": lines["category"].astype("object").fillna("Uncategorised").astype(str),
                "net_amount": lines["net_amount"],
            }
        )
        .groupby(["quarter", "category"])["net_amount"]
        .sum()
        .rename("revenue")
        .reset_index()
    )
    table["share"] = table["revenue"] / table.groupby("quarter")["revenue"].transform("sum")
    return table


def product_distribution_finding(distribution: pd.DataFrame, trend: pd.DataFrame, by: str = "region") -> str:
    """The best-selling product and the category whose share moved most over the trend window."""
    if distribution.empty:
        return t("No products were sold in the quarter.")
    units = distribution.groupby("product", sort=False)["units"].sum()
    best = units.idxmax()
    spread = distribution[distribution["product"] == best].set_index(by)["share_of_units"]
    text = t("{product} sold the most units ({units}); its share of units ranges from {low} ({low_group}) to {high} "
             "({high_group}).", product=best, units=fmt_int(units[best]), low=fmt_pct(spread.min()),
             low_group=spread.idxmin(), high=fmt_pct(spread.max()), high_group=spread.idxmax())
    quarters = sorted(trend["quarter"].unique())
    if len(quarters) >= 2:
        wide = trend.pivot_table(index="category", columns="quarter", values="share", fill_value=0)
        change = wide[quarters[-1]] - wide[quarters[0]]
        mover = change.abs().idxmax()
        text += " " + t("{category} moved most since {quarter} ({change} of revenue).", category=mover,
                        quarter=fmt_quarter(quarters[0]), change=fmt_pp(change[mover]))
    return text


def plot_product_distribution(distribution: pd.DataFrame, by: str = "region", ax=None):
    """Heatmap of each top product's share of the units sold in each group."""
    import seaborn as sns

    matrix = distribution.pivot_table(index="product", columns=by, values="share_of_units", sort=False, fill_value=0) * 100
    ax = ax or plt.subplots(figsize=(min(2.5 + 1.0 * matrix.shape[1], 14), 1.2 + 0.45 * matrix.shape[0]))[1]
    sns.heatmap(matrix, annot=True, fmt=".1f", cmap="Greens", cbar_kws={"label": t("Share of the group's units (%)")},
                ax=ax)
    ax.set_title(t("Best-selling products by {dimension} (% of units)", dimension=dimension_name(by)))
    ax.set_xlabel(dimension_name(by, capital=True))
    ax.set_ylabel(t("Product"))
    return ax


def plot_category_trend(trend: pd.DataFrame, max_categories: int = 8, ax=None):
    """Stacked bars of each category's share of revenue per quarter."""
    top = trend.groupby("category")["revenue"].sum().nlargest(max_categories).index
    table = trend.assign(category=trend["category"].where(trend["category"].isin(top), t("Other")))
    wide = table.pivot_table(index="quarter", columns="category", values="share", aggfunc="sum", fill_value=0) * 100
    wide.index = [fmt_quarter(quarter) for quarter in wide.index]
    ax = ax or plt.subplots(figsize=(9, 4.5))[1]
    wide.plot(kind="bar", stacked=True, ax=ax, width=0.8, colormap="tab20")
    ax.tick_params(axis="x", labelrotation=0)
    ax.set_title(t("Category share of revenue by quarter"))
    ax.set_xlabel(t("Quarter"))
    ax.set_ylabel(t("Share of revenue (%)"))
    ax.legend(title=t("Category"), bbox_to_anchor=(1.01, 1), loc="upper left", fontsize="small")
    return ax


# ----------------------------------------------------------------------------- channels
def _channel_table(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    table = (
        frame.groupby(keys)
        .agg(orders=("order_id", "size"), customers=("customer_id", "nunique"), revenue=("order_value", "sum"))
        .reset_index()
    )
    total_keys = keys[:-1]
    totals = table.groupby(total_keys)[["orders", "revenue"]].transform("sum") if total_keys else table[["orders", "revenue"]].sum()
    table["order_share"] = table["orders"] / totals["orders"]
    table["revenue_share"] = table["revenue"] / totals["revenue"]
    return table


def channel_mix(orders: pd.DataFrame, period: Quarter | str) -> pd.DataFrame:
    """Orders, customers and revenue per sales channel in the quarter, with shares.

    Returns ``channel, orders, customers, revenue, order_share, revenue_share``.
    """
    table = _channel_table(_period_orders(orders, period), ["channel"])
    return table.sort_values("revenue", ascending=False, ignore_index=True)


def channel_trend(orders: pd.DataFrame, period: Quarter | str, quarters: int = 8) -> pd.DataFrame:
    """The channel mix in each of the trailing ``quarters`` quarters (oldest first)."""
    period = Quarter.parse(period)
    frame = purchase_orders(orders, period.trailing(quarters)[0].start, period.end)
    frame["quarter"] = quarter_labels(frame["order_date"])
    return _channel_table(frame, ["quarter", "channel"]).sort_values(["quarter", "channel"], ignore_index=True)


def channel_finding(mix: pd.DataFrame, trend: pd.DataFrame) -> str:
    """The leading channel and how its revenue share moved over the trend window."""
    if mix.empty:
        return t("No orders in the quarter.")
    lead = mix.iloc[0]
    text = t("{channel} brought {share} of revenue ({orders} orders).", channel=str(lead["channel"]).capitalize(),
             share=fmt_pct(lead["revenue_share"]), orders=fmt_int(lead["orders"]))
    quarters = sorted(trend["quarter"].unique())
    if len(quarters) >= 2:
        wide = trend.pivot_table(index="channel", columns="quarter", values="revenue_share", fill_value=0)
        change = wide[quarters[-1]] - wide[quarters[0]]
        mover = change.abs().idxmax()
        text += " " + t("Since {quarter} the {channel} share moved most ({change}).", quarter=fmt_quarter(quarters[0]),
                        channel=mover, change=fmt_pp(change[mover]))
    return text


def plot_channel_trend(trend: pd.DataFrame, ax=None):
    """Stacked bars of each channel's share of revenue per quarter."""
    wide = trend.pivot_table(index="quarter", columns="channel", values="revenue_share", fill_value=0) * 100
    wide.index = [fmt_quarter(quarter) for quarter in wide.index]
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    wide.plot(kind="bar", stacked=True, ax=ax, width=0.8)
    ax.tick_params(axis="x", labelrotation=0)
    ax.set_title(t("Channel share of revenue by quarter"))
    ax.set_xlabel(t("Quarter"))
    ax.set_ylabel(t("Share of revenue (%)"))
    ax.legend(title=t("Channel"), bbox_to_anchor=(1.01, 1), loc="upper left")
    return ax


# ----------------------------------------------------------------------------- usage (events)
def _period_events(events: pd.DataFrame, period: Quarter | str) -> pd.DataFrame:
    require_columns(events, ["customer_id", "event_time", "event_type"], "events")
    period = Quarter.parse(period)
    return events.loc[period.contains(events["event_time"])]


def _session_key(events: pd.DataFrame) -> pd.Series:
    """The session id, or customer + day where the export has no session ids."""
    day_key = events["customer_id"].astype(str) + "|" + events["event_time"].dt.strftime("%Y-%m-%d")
    if "session_id" not in events.columns:
        return day_key
    return events["session_id"].astype("object").where(events["session_id"].notna(), day_key).astype(str)


def usage_per_customer(events: pd.DataFrame, period: Quarter | str) -> pd.DataFrame:
    """Active days, sessions and feature uses of every customer with an event in the quarter."""
    frame = _period_events(events, period)
    frame = pd.DataFrame(
        {
            "customer_id": frame["customer_id"],
            "day": frame["event_time"].dt.normalize(),
            "session": _session_key(frame),
            "feature_use": (frame["event_type"] == "feature_use").astype(int),
        }
    )
    return (
        frame.groupby("customer_id")
        .agg(active_days=("day", "nunique"), sessions=("session", "nunique"), feature_uses=("feature_use", "sum"))
        .reset_index()
    )


def usage_summary(usage: pd.DataFrame) -> pd.DataFrame:
    """Mean, median and 90th percentile of active days, sessions and feature uses per customer."""
    metrics = ["active_days", "sessions", "feature_uses"]
    require_columns(usage, ["customer_id", *metrics], "usage")
    stats = usage[metrics].agg(["mean", "median", lambda s: s.quantile(0.9)]).T
    stats.columns = ["mean", "median", "p90"]
    stats.insert(0, "customers", len(usage))
    return stats.rename_axis("metric").reset_index().replace(
        {"metric": {"active_days": t("Active days"), "sessions": t("Sessions"), "feature_uses": t("Feature uses")}}
    )


def feature_use(events: pd.DataFrame, period: Quarter | str) -> pd.DataFrame:
    """Per feature: customers who used it, uses, share of the quarter's event-active customers."""
    frame = _period_events(events, period)
    active = frame["customer_id"].nunique()
    uses = frame[frame["event_type"] == "feature_use"]
    if "feature" not in uses.columns:
        uses = uses.assign(feature="Unknown")
    table = (
        uses.assign(feature=uses["feature"].astype("object").fillna("Unknown").astype(str))
        .groupby("feature")
        .agg(users=("customer_id", "nunique"), uses=("customer_id", "size"))
        .reset_index()
    )
    table["user_share"] = table["users"] / active if active else np.nan
    table["uses_per_user"] = table["uses"] / table["users"]
    return table.sort_values("users", ascending=False, ignore_index=True)


def usage_finding(summary: pd.DataFrame, features: pd.DataFrame) -> str:
    """Typical activity of a customer and the most used feature."""
    if summary.empty or summary["customers"].iloc[0] == 0:
        return t("No web or app activity in the quarter.")
    stats = summary.set_index("metric")
    text = t("{customers} customers were active online; the median customer was active on {days} days with "
             "{sessions} sessions.", customers=fmt_int(stats["customers"].iloc[0]),
             days=fmt_num(stats.loc[t("Active days"), "median"], 0),
             sessions=fmt_num(stats.loc[t("Sessions"), "median"], 0))
    if not features.empty:
        top = features.iloc[0]
        text += " " + t("The most used feature is {feature} ({share} of online customers).", feature=top["feature"],
                        share=fmt_pct(top["user_share"]))
    return text


def plot_feature_use(features: pd.DataFrame, ax=None):
    """Horizontal bars of the share of online customers using each feature."""
    table = features.sort_values("user_share")
    ax = ax or plt.subplots(figsize=(7, 0.8 + 0.4 * max(len(table), 1)))[1]
    ax.barh(table["feature"], table["user_share"] * 100, color="#55A868")
    ax.set_title(t("Feature use this quarter"))
    ax.set_xlabel(t("Online customers using the feature (%)"))
    ax.set_ylabel(t("Feature"))
    return ax


def funnel(events: pd.DataFrame, period: Quarter | str, unit: str = "session") -> pd.DataFrame:
    """Visit -> product view -> add to cart -> purchase funnel by channel.

    A session (or customer, ``unit="customer"``) reaches a step when it has an event of that
    type at or after the time it reached the previous step, so steps are counted in order.
    Returns ``channel, step, reached, conversion`` (from the previous step) and
    ``conversion_from_visit``, with an "All" channel.
    """
    if unit not in ("session", "customer"):
        raise ValueError(f"unit must be 'session' or 'customer', got {unit!r}")
    frame = _period_events(events, period)
    frame = frame[frame["event_type"].isin(FUNNEL_STEPS)]
    present = [step for step in FUNNEL_STEPS if (frame["event_type"] == step).any()]
    if len(present) < 2 or present[0] != FUNNEL_STEPS[0]:
        quarter = fmt_quarter(period)
        missing = (t("the events of {quarter} hold {steps} of the funnel's steps", quarter=quarter,
                     steps=", ".join(present)) if present else
                   t("the events of {quarter} hold none of them of the funnel's steps", quarter=quarter))
        raise NotAvailable(missing, t("events with a visit and at least one later step ({steps}) in events.event_type",
                                      steps=", ".join(FUNNEL_STEPS[1:])))
    key = _session_key(frame) if unit == "session" else frame["customer_id"].astype(str)
    channel = frame["channel"].astype("object").fillna("Unknown").astype(str) if "channel" in frame.columns else "Unknown"
    frame = pd.DataFrame({"key": key, "time": frame["event_time"], "type": frame["event_type"].astype(str), "channel": channel})
    # A session's channel is the channel of its first event.
    first = frame.sort_values("time").drop_duplicates("key")
    unit_channel = first.set_index("key")["channel"]
    reached_at = frame[frame["type"] == FUNNEL_STEPS[0]].groupby("key")["time"].min()
    rows = []
    for step in FUNNEL_STEPS:  # four steps, each a vectorised filter + groupby
        if step != FUNNEL_STEPS[0]:
            candidates = frame[frame["type"] == step]
            previous = candidates["key"].map(reached_at)
            reached_at = candidates[candidates["time"] >= previous].groupby("key")["time"].min()
        counts = unit_channel.reindex(reached_at.index).value_counts()
        counts[t("All")] = len(reached_at)
        rows.append(counts.rename(step))
    wide = pd.concat(rows, axis=1).fillna(0).astype(int)
    table = wide.rename_axis("channel").reset_index().melt(id_vars="channel", var_name="step", value_name="reached")
    table["step"] = pd.Categorical(table["step"], categories=FUNNEL_STEPS, ordered=True)
    table = table.sort_values(["channel", "step"], ignore_index=True)
    previous = table.groupby("channel", observed=True)["reached"].shift(1)
    start = table.groupby("channel", observed=True)["reached"].transform("first")
    table["conversion"] = np.where(previous.isna(), 1.0, table["reached"] / previous.replace(0, np.nan))
    table["conversion_from_visit"] = table["reached"] / start.replace(0, np.nan)
    table["step"] = table["step"].astype(str)
    return table


def funnel_finding(funnel_table: pd.DataFrame) -> str:
    """Overall visit-to-purchase conversion and the step that loses the most."""
    overall = funnel_table[funnel_table["channel"] == t("All")].set_index("step")
    if overall.empty or overall["reached"].iloc[0] == 0:
        return t("No visits in the quarter.")
    steps = overall.iloc[1:]
    weakest = steps["conversion"].idxmin()
    text = t("{share} of {visits} visits ended in a purchase; the weakest step is {step} ({conversion} of the "
             "previous step).", share=fmt_pct(overall.loc["purchase", "conversion_from_visit"]),
             visits=fmt_int(overall["reached"].iloc[0]), step=funnel_step_name(weakest),
             conversion=fmt_pct(steps.loc[weakest, "conversion"]))
    by_channel = funnel_table[(funnel_table["channel"] != t("All")) & (funnel_table["step"] == "purchase")]
    if len(by_channel) >= 2:
        best = by_channel.loc[by_channel["conversion_from_visit"].idxmax()]
        text += " " + t("{channel} converts best ({share}).", channel=str(best["channel"]).capitalize(),
                        share=fmt_pct(best["conversion_from_visit"]))
    return text


def funnel_step_name(step: str) -> str:
    """A funnel step (``FUNNEL_STEPS``) in the report's language: ``"add_to_cart"`` -> "add to cart"."""
    return {"visit": t("visit"), "product_view": t("product view"), "add_to_cart": t("add to cart"),
            "purchase": t("purchase")}.get(step, step.replace("_", " "))


def plot_funnel(funnel_table: pd.DataFrame, ax=None):
    """Grouped bars of the share of visits reaching each step, per channel."""
    wide = funnel_table.pivot_table(index="step", columns="channel", values="conversion_from_visit", sort=False) * 100
    wide = wide.reindex([s for s in FUNNEL_STEPS if s in wide.index])
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    wide.plot(kind="bar", ax=ax, width=0.8)
    ax.set_title(t("Funnel: share of visits reaching each step"))
    ax.set_xlabel(t("Step"))
    ax.set_ylabel(t("Visits reaching the step (%)"))
    ax.set_xticklabels([funnel_step_name(s) for s in wide.index], rotation=0)
    ax.legend(title=t("Channel"))
    return ax
