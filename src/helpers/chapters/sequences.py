"""Purchase sequences: what a customer buys in their next order, and how long until then.

Each valid order gets a main category (the category with the largest net amount in the order).
Consecutive orders of the same customer (sorted by date, then order id) form a transition
from the first order's category to the next order's category (a first-order Markov chain
estimate: transition counts normalised per row).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from helpers.facts import purchase_lines
from helpers.quarters import Quarter
from helpers.report.fmt import fmt_int, fmt_num, fmt_pct
from helpers.report.i18n import t
from helpers.validation import require_columns


def order_categories(orders: pd.DataFrame, end=None) -> pd.DataFrame:
    """One row per valid order up to ``end``: ``order_id, customer_id, order_date, category``
    (the main category: the most net revenue, ties to the first name), sorted by customer, date
    and order id.

    Ids and categories are grouped and sorted as integer codes given in the sort order of the
    text (``pd.factorize(sort=True)``), which orders them as the text would at a fraction of the
    cost; the ids are never missing in prepared orders (the cleaning sets such lines aside).
    """
    lines = purchase_lines(orders, end=end, columns=["order_id", "customer_id", "net_amount", "category"])
    require_columns(lines, ["category"], "orders")
    order, order_ids = pd.factorize(lines["order_id"], sort=True)
    customer, customer_ids = pd.factorize(lines["customer_id"], sort=True)
    category, categories = pd.factorize(lines["category"].astype("object").fillna("Uncategorised").astype(str), sort=True)
    per_category = (
        pd.DataFrame({"order": order, "category": category, "net_amount": lines["net_amount"].to_numpy()})
        .groupby(["order", "category"], sort=False)["net_amount"]
        .sum()
        .reset_index()
        .sort_values(["order", "net_amount", "category"], ascending=[True, False, True])
        .drop_duplicates("order")
        .set_index("order")["category"]
    )
    heads = (pd.DataFrame({"order": order, "customer": customer, "order_date": lines["order_date"].array})
             .groupby("order", sort=False).agg(customer=("customer", "first"), order_date=("order_date", "min"))
             .reset_index().sort_values(["customer", "order_date", "order"], ignore_index=True))
    return pd.DataFrame({"order_id": order_ids.take(heads["order"].to_numpy()),
                         "customer_id": customer_ids.take(heads["customer"].to_numpy()),
                         "order_date": heads["order_date"].array,
                         "category": categories.take(per_category.reindex(heads["order"]).to_numpy())})


def consecutive_orders(orders: pd.DataFrame, period: Quarter | str, quarters: int = 4) -> pd.DataFrame:
    """Pairs of consecutive orders of a customer whose second order falls in the trailing
    ``quarters`` quarters: ``customer_id, from_category, to_category, days_between``.
    """
    period = Quarter.parse(period)
    heads = order_categories(orders, end=period.end)
    following = heads.groupby("customer_id", sort=False)[["category", "order_date"]].shift(-1)
    pairs = pd.DataFrame(
        {
            "customer_id": heads["customer_id"],
            "from_category": heads["category"],
            "to_category": following["category"],
            "next_date": following["order_date"],
            "days_between": (following["order_date"].dt.normalize() - heads["order_date"].dt.normalize()).dt.days,
        }
    )
    pairs = pairs[pairs["next_date"] >= period.trailing(quarters)[0].start]
    return pairs.drop(columns="next_date").reset_index(drop=True)


def next_category_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Transition counts and row shares: ``from_category, to_category, transitions, share``
    (share of the orders after a ``from_category`` order that are ``to_category``).
    """
    require_columns(pairs, ["from_category", "to_category"], "pairs")
    table = pairs.groupby(["from_category", "to_category"]).size().rename("transitions").reset_index()
    table["share"] = table["transitions"] / table.groupby("from_category")["transitions"].transform("sum")
    return table.sort_values(["from_category", "share"], ascending=[True, False], ignore_index=True)


def days_between_orders(pairs: pd.DataFrame) -> pd.DataFrame:
    """Median (and quartiles) of the days between consecutive orders, per category of the
    earlier order and for all orders ("All categories" first).
    """
    require_columns(pairs, ["from_category", "days_between"], "pairs")
    stats = {
        "order_pairs": ("days_between", "size"),
        "median_days": ("days_between", "median"),
        "p25_days": ("days_between", lambda s: s.quantile(0.25)),
        "p75_days": ("days_between", lambda s: s.quantile(0.75)),
    }
    overall = pairs.assign(from_category=t("All categories")).groupby("from_category").agg(**stats)
    by_category = pairs.groupby("from_category").agg(**stats).sort_values("order_pairs", ascending=False)
    return pd.concat([overall, by_category]).rename_axis("category").reset_index()


def sequences_finding(transitions: pd.DataFrame, gaps: pd.DataFrame) -> str:
    """How often the next order stays in the same category, the strongest switch and the median gap."""
    if transitions.empty:
        return t("Too few repeat orders to describe purchase sequences.")
    same = transitions[transitions["from_category"] == transitions["to_category"]]["transitions"].sum()
    total = transitions["transitions"].sum()
    switches = transitions[(transitions["from_category"] != transitions["to_category"]) & (transitions["transitions"] >= 5)]
    values = {"share": fmt_pct(same / total), "orders": fmt_int(total)}
    if switches.empty:
        text = t("{share} of {orders} repeat orders stay in the category of the previous order.", **values)
    else:
        top = switches.loc[switches["share"].idxmax()]
        text = t("{share} of {orders} repeat orders stay in the category of the previous order; the most frequent "
                 "switch is {from_category} → {to_category} ({switch_share} of next orders).",
                 from_category=top["from_category"], to_category=top["to_category"],
                 switch_share=fmt_pct(top["share"]), **values)
    median = gaps.loc[gaps["category"] == t("All categories"), "median_days"]
    if not median.empty:
        text += " " + t("The median time to the next order is {days} days.", days=fmt_num(median.iloc[0], 0))
    return text


def plot_next_category(transitions: pd.DataFrame, max_categories: int = 12, ax=None):
    """Heatmap of the share of next orders in each category, by category of the previous order."""
    import seaborn as sns

    top = transitions.groupby("from_category")["transitions"].sum().nlargest(max_categories).index
    table = transitions[transitions["from_category"].isin(top) & transitions["to_category"].isin(top)]
    matrix = table.pivot_table(index="from_category", columns="to_category", values="share", fill_value=0) * 100
    ax = ax or plt.subplots(figsize=(1.5 + 0.8 * matrix.shape[1], 1 + 0.5 * matrix.shape[0]))[1]
    sns.heatmap(matrix, annot=True, fmt=".0f", cmap="Purples", cbar_kws={"label": t("Share of next orders (%)")}, ax=ax)
    ax.set_title(t("What customers buy next (main category of the next order)"))
    ax.set_xlabel(t("Next order's category"))
    ax.set_ylabel(t("Previous order's category"))
    return ax
