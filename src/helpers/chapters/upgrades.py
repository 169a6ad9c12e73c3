"""Upgrade candidates: the next tier of a product the customer already buys.

A salesperson can offer a customer a better product in a category the customer buys now: within
each category the products are tiers by list price (``products.unit_price``; without one, the
median price paid per unit). For an active customer (a purchase in the quarter) and each category
they bought in the trailing window, their current tier is the dearest product they bought in it;
the offer is the next dearer product of the same category that at least ``min_group`` customers of
the same segment (similar customers: same account size) bought in the window. The expected added
value per year is the customer's units of the current product in the window, scaled to a year,
times the price step: the same volume bought one tier up. Each customer gets the offer worth most.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.data.codes import is_in
from helpers.errors import NotAvailable
from helpers.facts import end_of_day, purchase_lines
from helpers.quarters import Quarter
from helpers.report.fmt import fmt_int, fmt_money, top_of
from helpers.report.i18n import t
from helpers.validation import require_columns

__all__ = ["upgrade_candidates", "upgrade_caption", "upgrade_finding"]

UNCATEGORISED = "Uncategorised"  # the preparation's category of a line without a product master


def _catalogue(lines: pd.DataFrame, products: pd.DataFrame | None) -> pd.DataFrame:
    """Category, name and list price per product bought in the window (index ``product_id``)."""
    bought = pd.Index(lines["product_id"].dropna().unique(), name="product_id")
    out = pd.DataFrame(index=bought)
    master = products.drop_duplicates("product_id").set_index("product_id") if products is not None else pd.DataFrame()
    category = master["category"] if "category" in master.columns else None
    if category is None or category.isna().all():
        category = lines.groupby("product_id", observed=True)["category"].first() if "category" in lines.columns else None
    if category is None:
        raise NotAvailable(t("no product has a category"),
                           t("map the category column of the products export to products.category"))
    out["category"] = category.reindex(bought).astype("string")
    out = out.loc[out["category"].notna() & out["category"].ne(UNCATEGORISED)]
    if out.empty:
        raise NotAvailable(t("no product bought in the window has a category"),
                           t("map the category column of the products export to products.category"))
    # Price tiers: the list price, else the median price paid per unit in the window.
    paid = (lines["amount"] / lines["quantity"]).where(lines["quantity"] > 0)
    price = paid.groupby(lines["product_id"]).median().reindex(out.index)
    if "unit_price" in master.columns:
        price = master["unit_price"].reindex(out.index).fillna(price)
    out["price"] = price
    names = master["product_name"] if "product_name" in master.columns else pd.Series(dtype="string")
    out["product"] = names.reindex(out.index).astype("string").fillna(pd.Series(out.index, index=out.index))
    return out.loc[out["price"].notna()]


def upgrade_candidates(orders: pd.DataFrame, customers: pd.DataFrame | None, products: pd.DataFrame | None,
                       period: Quarter, window_days: int = 365, min_group: int = 5) -> pd.DataFrame:
    """One offer per active customer: from the product they buy to the next tier in its category.

    ``orders`` are the prepared order lines (``product_id``, ``quantity``, ``amount``,
    ``is_purchase``); the window is the ``window_days`` days ending on the quarter's last day.
    Returns customer_id, segment, category, current_product, offer_product, current_price,
    offer_price, units_in_window, added_value_per_year, similar_buyers (customers of the segment
    who bought the offer in the window), similar_category_buyers (who bought in the category),
    share_of_similar and why (the evidence in words); largest added value first.
    ``NotAvailable`` when the orders have no product ids, quantities or categories.
    """
    require_columns(orders, ["customer_id", "order_date", "amount", "is_purchase"], "orders")
    if "product_id" not in orders.columns or orders["product_id"].isna().all():
        raise NotAvailable(t("the orders have no product ids"),
                           t("map the product column of the orders export (product or stock code) to orders.product_id"))
    if "quantity" not in orders.columns or orders["quantity"].isna().all():
        raise NotAvailable(t("the orders have no quantities"),
                           t("map the quantity column of the orders export to orders.quantity"))
    if window_days < 1 or min_group < 1:
        raise ValueError(f"window_days and min_group must be at least 1, got {window_days} and {min_group}")
    period = Quarter.parse(period)
    start = period.last_day - pd.Timedelta(days=window_days - 1)
    lines = purchase_lines(orders, start, end_of_day(period.last_day))
    lines = lines.loc[lines["product_id"].notna() & lines["quantity"].notna()]
    columns = ["customer_id", "segment", "category", "current_product", "offer_product", "current_price", "offer_price",
               "units_in_window", "added_value_per_year", "similar_buyers", "similar_category_buyers",
               "share_of_similar", "why"]
    if lines.empty:
        return pd.DataFrame(columns=columns)
    catalogue = _catalogue(lines, products)
    lines = lines.loc[lines["product_id"].isin(catalogue.index)]
    active = set(lines.loc[period.contains(lines["order_date"]), "customer_id"])

    bought = lines.groupby(["customer_id", "product_id"], observed=True).agg(units=("quantity", "sum")).reset_index()
    bought = bought.join(catalogue[["category", "price", "product"]], on="product_id")
    if customers is not None and "segment" in customers.columns:
        segment = customers.drop_duplicates("customer_id").set_index("customer_id")["segment"].astype("string")
        bought["segment"] = bought["customer_id"].map(segment).fillna("Unknown")
    else:
        bought["segment"] = t("All customers")  # the one group of similar customers when there is no segment
    # Evidence: how many similar customers (same segment) buy each product, and each category.
    product_buyers = bought.groupby(["segment", "product_id"]).size().rename("similar_buyers")
    category_buyers = bought.groupby(["segment", "category"])["customer_id"].nunique().rename("similar_category_buyers")
    tiers = product_buyers.reset_index().join(catalogue[["category", "price", "product"]], on="product_id")
    tiers = tiers.loc[tiers["similar_buyers"] >= min_group]

    # Current tier: the dearest product the customer bought in the category (ties: the smaller id).
    current = (bought.loc[is_in(bought["customer_id"], active)]
               .sort_values(["price", "product_id"], ascending=[False, True])
               .drop_duplicates(["customer_id", "category"]))
    pairs = current.merge(tiers, on=["segment", "category"], suffixes=("", "_offer"))
    pairs = pairs.loc[pairs["price_offer"] > pairs["price"]]
    # The next tier up: the cheapest dearer product; equal prices go to the one more similar customers buy.
    pairs = (pairs.sort_values(["price_offer", "similar_buyers", "product_id_offer"], ascending=[True, False, True])
             .drop_duplicates(["customer_id", "category"]))
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    pairs = pairs.join(category_buyers, on=["segment", "category"])
    pairs["added_value_per_year"] = pairs["units"] * (pairs["price_offer"] - pairs["price"]) * 365.0 / window_days
    best = (pairs.sort_values(["added_value_per_year", "customer_id", "category"], ascending=[False, True, True])
            .drop_duplicates("customer_id"))
    out = pd.DataFrame({
        "customer_id": best["customer_id"].to_numpy(), "segment": best["segment"].astype(str).to_numpy(),
        "category": best["category"].astype(str).to_numpy(), "current_product": best["product"].astype(str).to_numpy(),
        "offer_product": best["product_offer"].astype(str).to_numpy(), "current_price": best["price"].to_numpy(),
        "offer_price": best["price_offer"].to_numpy(), "units_in_window": best["units"].to_numpy(),
        "added_value_per_year": best["added_value_per_year"].to_numpy(),
        "similar_buyers": best["similar_buyers"].to_numpy().astype(int),
        "similar_category_buyers": best["similar_category_buyers"].to_numpy().astype(int),
    })
    out["share_of_similar"] = out["similar_buyers"] / out["similar_category_buyers"]
    out["why"] = [
        t("{buyers} of the {category_buyers} {segment} customers who bought {category} in the last {days} days bought "
          "{offer}; this customer bought {units} x {current}",
          buyers=fmt_int(row.similar_buyers), category_buyers=fmt_int(row.similar_category_buyers),
          segment=row.segment, category=row.category, days=fmt_int(window_days), offer=row.offer_product,
          units=fmt_int(row.units_in_window), current=row.current_product)
        for row in out.itertuples(index=False)  # one sentence per offer shown or saved
    ]
    return out[columns].reset_index(drop=True)


def upgrade_caption(shown: int, candidates: pd.DataFrame) -> str:
    """Caption of the table: how many offers it shows, and their order."""
    return t("{count}: from the product bought to the next tier, largest expected added value first",
             count=top_of(shown, len(candidates), t("upgrade offers")))


def upgrade_finding(candidates: pd.DataFrame, currency: str) -> str:
    """Sentences: how many active customers have an upgrade offer, its value and the commonest offer."""
    if candidates.empty:
        return t("No active customer buys a product with a next tier that similar customers buy.")
    by_offer = (candidates.groupby(["current_product", "offer_product"]).size()
                .sort_values(ascending=False, kind="stable"))
    (current, offer), count = by_offer.index[0], int(by_offer.iloc[0])
    values = dict(customers=fmt_int(len(candidates)), value=fmt_money(candidates["added_value_per_year"].sum(), currency),
                  current=current, offer=offer, count=fmt_int(count),
                  median=fmt_money(np.median(candidates["added_value_per_year"]), currency))
    if len(candidates) == 1:
        return t("1 active customer could move up a tier in a category they already buy, worth {value} a year if "
                 "they accept: from {current} to {offer}.", **values)
    return t("{customers} active customers could move up a tier in a category they already buy, worth {value} a year "
             "if all accept ({median} for the median customer); the commonest offer is from {current} to {offer} "
             "({count} customers).", **values)
