"""Market basket analysis: which categories (and products) are bought together, and which
active customers are candidates for a cross-sell.

Pair rules A -> B (Agrawal, Imielinski and Swami 1993) from a sparse basket x item matrix X:
``X.T @ X`` counts the baskets holding both items. With n baskets,
support(A -> B) = n(A and B) / n, confidence = n(A and B) / n(A), lift = confidence / (n(B) / n).
A basket is an order (``order_id``) of valid purchase lines.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import sparse

from helpers.facts import purchase_lines
from helpers.quarters import Quarter
from helpers.report.fmt import fmt_int, fmt_money, fmt_num, fmt_pct
from helpers.validation import require_columns

RULE_COLUMNS = [
    "level", "antecedent", "consequent", "baskets_with_both", "support", "confidence", "lift",
    "antecedent_support", "consequent_support", "baskets",
]


def pair_rules(baskets: pd.DataFrame, min_support: float = 0.01, min_confidence: float = 0.0) -> pd.DataFrame:
    """All pair rules A -> B whose support and confidence reach the minimums.

    Parameters
    ----------
    baskets : DataFrame with ``basket_id`` and ``item`` (one row per item in a basket;
        duplicates are ignored).

    Returns ``antecedent, consequent, baskets_with_both, support, confidence, lift,
    antecedent_support, consequent_support, baskets`` sorted by lift.
    """
    require_columns(baskets, ["basket_id", "item"], "baskets")
    if not 0 < min_support <= 1:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")
    if not 0 <= min_confidence <= 1:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
    frame = baskets[["basket_id", "item"]].dropna()
    basket_code, _ = pd.factorize(frame["basket_id"])
    item_code, items = pd.factorize(frame["item"].astype(str))
    n_baskets, n_items = basket_code.max() + 1 if len(frame) else 0, len(items)
    if n_baskets == 0:
        return pd.DataFrame(columns=RULE_COLUMNS[1:])
    matrix = sparse.csr_matrix((np.ones(len(frame), dtype=np.int64), (basket_code, item_code)), shape=(n_baskets, n_items))
    matrix.data[:] = 1  # an item counts once per basket
    item_count = np.asarray(matrix.sum(axis=0)).ravel()
    together = (matrix.T @ matrix).tocoo()
    keep = (together.row != together.col) & (together.data >= min_support * n_baskets)
    a, b, both = together.row[keep], together.col[keep], together.data[keep].astype(float)
    rules = pd.DataFrame(
        {
            "antecedent": np.asarray(items)[a],
            "consequent": np.asarray(items)[b],
            "baskets_with_both": both.astype(int),
            "support": both / n_baskets,
            "confidence": both / item_count[a],
            "lift": (both / item_count[a]) / (item_count[b] / n_baskets),
            "antecedent_support": item_count[a] / n_baskets,
            "consequent_support": item_count[b] / n_baskets,
            "baskets": n_baskets,
        }
    )
    rules = rules[rules["confidence"] >= min_confidence]
    # Round the sort key so that lifts equal on paper but not in floating point tie properly.
    order = rules.assign(lift_key=rules["lift"].round(9)).sort_values(
        ["lift_key", "support", "antecedent", "consequent"], ascending=[False, False, True, True]
    )
    return rules.loc[order.index].reset_index(drop=True)


def association_rules(
    orders: pd.DataFrame,
    period: Quarter | str,
    quarters: int = 4,
    min_support: float = 0.01,
    min_confidence: float = 0.05,
    max_products: int = 200,
) -> pd.DataFrame:
    """Category pair rules over the orders of the trailing ``quarters`` quarters, plus product
    pair rules when there are at most ``max_products`` distinct products.

    Returns ``level`` ("category" / "product") and the columns of :func:`pair_rules`.
    """
    period = Quarter.parse(period)
    lines = purchase_lines(orders, period.trailing(quarters)[0].start, period.end)
    levels = {}
    if "category" in lines.columns:
        levels["category"] = "category"
    if "product_id" in lines.columns and 0 < lines["product_id"].nunique() <= max_products:
        levels["product"] = "product_id"
    if not levels:
        raise ValueError("orders need a category or product_id column for basket analysis")
    parts = [
        pair_rules(pd.DataFrame({"basket_id": lines["order_id"], "item": lines[column]}), min_support, min_confidence)
        .assign(level=level)
        for level, column in levels.items()
    ]
    return pd.concat(parts, ignore_index=True)[RULE_COLUMNS]


def rules_finding(rules: pd.DataFrame) -> str:
    """The strongest rule (by lift, lift > 1) in words."""
    useful = rules[rules["lift"] > 1]
    if useful.empty:
        return "No pair of categories or products is bought together more often than chance."
    top = useful.iloc[0]
    return (
        f"{fmt_int(len(useful))} pair rules lift purchases above chance; the strongest: {fmt_pct(top['confidence'])} of orders "
        f"with {top['antecedent']} also hold {top['consequent']}, {fmt_num(top['lift'], 2)} times the usual "
        f"{fmt_pct(top['consequent_support'])} (support {fmt_pct(top['support'])} of {fmt_int(top['baskets'])} orders)."
    )


def plot_rules(rules: pd.DataFrame, top: int = 15, ax=None):
    """Horizontal bars of the ``top`` pairs by lift (lift > 1; of A -> B and B -> A, the direction
    with the higher confidence)."""
    useful = rules[rules["lift"] > 1]
    first, second = useful["antecedent"].astype(str), useful["consequent"].astype(str)
    pair = first.where(first < second, second) + "|" + second.where(first < second, first)
    table = (
        useful.assign(pair=pair)
        .sort_values(["lift", "confidence"], ascending=False)
        .drop_duplicates(["level", "pair"])
        .head(top)
        .iloc[::-1]
    )
    ax = ax or plt.subplots(figsize=(8, 0.8 + 0.35 * max(len(table), 1)))[1]
    ax.barh(table["antecedent"].astype(str) + " → " + table["consequent"].astype(str), table["lift"], color="#8172B2")
    ax.axvline(1, color="black", linewidth=0.8, linestyle="--")
    if table.empty:
        ax.text(0.5, 0.5, "No pair bought together more often than chance", ha="center", transform=ax.transAxes)
    ax.set_title("Strongest purchase associations")
    ax.set_xlabel("Lift (x, 1 = chance)")
    ax.set_ylabel("Rule (antecedent → consequent)")
    return ax


def cross_sell_candidates(
    orders: pd.DataFrame,
    rules: pd.DataFrame,
    scores: pd.DataFrame,
    as_of,
    level: str = "category",
    lookback_days: int = 365,
    max_rules: int = 50,
    min_lift: float = 1.0,
    per_customer: int = 1,
) -> pd.DataFrame:
    """Active customers who bought a rule's antecedent but not its consequent in the last
    ``lookback_days`` days, ranked by lift x churn-adjusted value.

    ``scores`` holds the active customers (``customer_id, churn_probability``). Expected value =
    the customer's revenue over the lookback x (1 - churn probability); score = lift x expected
    value. Keeps the ``per_customer`` best rules per customer.
    Returns ``customer_id, antecedent, consequent, lift, expected_value, score``.
    """
    require_columns(scores, ["customer_id", "churn_probability"], "scores")
    require_columns(rules, ["level", "antecedent", "consequent", "lift"], "rules")
    columns = ["customer_id", "antecedent", "consequent", "lift", "expected_value", "score"]
    item_column = {"category": "category", "product": "product_id"}.get(level)
    if item_column is None:
        raise ValueError(f"level must be 'category' or 'product', got {level!r}")
    usable = rules[(rules["level"] == level) & (rules["lift"] > min_lift)].nlargest(max_rules, "lift")
    as_of = pd.Timestamp(as_of)
    day_end = as_of.normalize() + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    window = orders[(orders["order_date"] > day_end - pd.Timedelta(days=lookback_days)) & (orders["order_date"] <= day_end)]
    window = window[window["customer_id"].isin(scores["customer_id"])]
    if usable.empty or window.empty:
        return pd.DataFrame(columns=columns)
    revenue = window.groupby("customer_id")["net_amount"].sum()
    bought = purchase_lines(window)
    customer_code, customer_ids = pd.factorize(bought["customer_id"])
    item_code, items = pd.factorize(bought[item_column].astype(str))
    matrix = sparse.csc_matrix(
        (np.ones(len(bought), dtype=np.int32), (customer_code, item_code)), shape=(len(customer_ids), len(items))
    )
    item_index = pd.Index(items)
    probability = scores.drop_duplicates("customer_id").set_index("customer_id")["churn_probability"]
    value = (revenue.reindex(customer_ids).fillna(0) * (1 - probability.reindex(customer_ids))).to_numpy()
    parts = []
    for rule in usable.itertuples():  # at most max_rules rules, each a vectorised column test
        if rule.antecedent not in item_index or rule.consequent not in item_index:
            continue
        has_antecedent = matrix[:, item_index.get_loc(rule.antecedent)].toarray().ravel() > 0
        has_consequent = matrix[:, item_index.get_loc(rule.consequent)].toarray().ravel() > 0
        chosen = np.flatnonzero(has_antecedent & ~has_consequent)
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": np.asarray(customer_ids)[chosen],
                    "antecedent": rule.antecedent,
                    "consequent": rule.consequent,
                    "lift": rule.lift,
                    "expected_value": value[chosen],
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=columns)
    candidates = pd.concat(parts, ignore_index=True)
    candidates = candidates[candidates["expected_value"] > 0]
    candidates["score"] = candidates["lift"] * candidates["expected_value"]
    candidates = candidates.sort_values(["score", "customer_id"], ascending=[False, True])
    candidates = candidates[candidates.groupby("customer_id").cumcount() < per_customer]
    return candidates.reset_index(drop=True)[columns]


def cross_sell_finding(candidates: pd.DataFrame, currency: str = "¥") -> str:
    """How many candidates, their combined churn-adjusted value and the most frequent suggestion."""
    if candidates.empty:
        return "No active customer matches a cross-sell rule."
    common = (candidates["antecedent"] + " → " + candidates["consequent"]).value_counts()
    return (
        f"{fmt_int(candidates['customer_id'].nunique())} active customers are cross-sell candidates with a churn-adjusted "
        f"trailing-year value of {fmt_money(candidates['expected_value'].sum(), currency)}; the most frequent suggestion is "
        f"{common.index[0]} ({fmt_int(common.iloc[0])} customers)."
    )
