"""Market basket analysis: which categories and products are bought together, and which
active customers are candidates for a cross-sell.

Pair rules A -> B (Agrawal, Imielinski and Swami 1993) from a sparse basket x item matrix X:
``X.T @ X`` counts the baskets holding both items. With n baskets,
support(A -> B) = n(A and B) / n, confidence = n(A and B) / n(A), lift = confidence / (n(B) / n).
A basket is an order (``order_id``) of valid purchase lines. A rule is *strong* when its lift is
above 1 (bought together more often than chance). Only items that reach the minimum support can
be in a rule that does (the Apriori property), so the pair count runs on those alone, capped at
the ``max_products`` most frequent products: a catalogue of thousands still gets its rules.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import sparse

from helpers.data.codes import is_in
from helpers.errors import NotAvailable
from helpers.facts import purchase_lines
from helpers.quarters import Quarter
from helpers.report.fmt import fmt_int, fmt_money, fmt_num, fmt_pct
from helpers.report.i18n import t
from helpers.validation import require_columns

RULE_COLUMNS = [
    "level", "antecedent", "consequent", "baskets_with_both", "support", "confidence", "lift",
    "antecedent_support", "consequent_support", "baskets",
]


PLACEHOLDER_CATEGORY = "Uncategorised"  # what the preparation writes when a product has no category
SCOPE_COLUMNS = ["level", "items", "frequent_items", "items_mined", "baskets", "min_support", "max_items"]


def _basket_matrix(baskets: pd.DataFrame) -> tuple[sparse.csr_matrix, np.ndarray, int]:
    """The 0/1 basket x item matrix (CSR), the item names and the number of baskets.

    A basket whose item is missing still counts as a basket (it is an order), it just holds no item.
    """
    require_columns(baskets, ["basket_id", "item"], "baskets")
    basket_code, basket_ids = pd.factorize(baskets["basket_id"])
    frame = pd.DataFrame({"basket": basket_code, "item": baskets["item"].to_numpy()}).dropna()
    frame = frame.loc[frame["basket"] >= 0]
    item_code, items = pd.factorize(frame["item"].astype(str))
    matrix = sparse.csr_matrix((np.ones(len(frame), dtype=np.int64), (frame["basket"].to_numpy(), item_code)),
                               shape=(len(basket_ids), len(items)))
    matrix.data[:] = 1  # an item counts once per basket
    return matrix, np.asarray(items, dtype=object), len(basket_ids)


def _mined_items(item_count: np.ndarray, items: np.ndarray, n_baskets: int, min_support: float,
                 max_items: int | None) -> np.ndarray:
    """Columns of the items that enter the pair count, most frequent first.

    A pair can only reach ``min_support`` when both its items do (Apriori), so the items below it
    are left out without losing a rule; of the rest, at most ``max_items``, the ones in the most
    baskets (ties by name, so the choice does not depend on row order).
    """
    frequent = np.flatnonzero(item_count >= min_support * n_baskets)
    order = np.lexsort((items[frequent].astype(str), -item_count[frequent]))
    frequent = frequent[order]
    return frequent if max_items is None else frequent[:max_items]


def _check_thresholds(min_support: float, min_confidence: float, max_items: int | None) -> None:
    if not 0 < min_support <= 1:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")
    if not 0 <= min_confidence <= 1:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
    if max_items is not None and max_items < 0:
        raise ValueError(f"max_items must be 0 or more (or None for no limit), got {max_items}")


def pair_rules(baskets: pd.DataFrame, min_support: float = 0.01, min_confidence: float = 0.0,
               max_items: int | None = None) -> pd.DataFrame:
    """All pair rules A -> B whose support and confidence reach the minimums.

    Parameters
    ----------
    baskets : DataFrame with ``basket_id`` and ``item`` (one row per item in a basket;
        duplicates are ignored; a row with no item still counts its basket).
    max_items : mine pairs among at most this many items, those in the most baskets (None: no
        limit). Supports, confidences and lifts stay those of all baskets; only pairs with a less
        frequent item are not looked at.

    Returns ``antecedent, consequent, baskets_with_both, support, confidence, lift,
    antecedent_support, consequent_support, baskets`` sorted by lift.
    """
    _check_thresholds(min_support, min_confidence, max_items)
    matrix, items, n_baskets = _basket_matrix(baskets)
    if n_baskets == 0:
        return pd.DataFrame(columns=RULE_COLUMNS[1:])
    item_count = np.asarray(matrix.sum(axis=0)).ravel()
    mined = _mined_items(item_count, items, n_baskets, min_support, max_items)
    # Only the mined columns enter X.T @ X: its size is bounded by max_items squared.
    sub = matrix[:, mined]
    together = (sub.T @ sub).tocoo()
    keep = (together.row != together.col) & (together.data >= min_support * n_baskets)
    a, b, both = mined[together.row[keep]], mined[together.col[keep]], together.data[keep].astype(float)
    rules = pd.DataFrame(
        {
            "antecedent": items[a],
            "consequent": items[b],
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


def _basket_levels(orders: pd.DataFrame, period: Quarter | str, quarters: int,
                   max_products: int) -> dict[str, tuple[pd.DataFrame, int | None]]:
    """Per level mined, the baskets frame of the trailing quarters' purchase lines and its item limit.

    Categories are a level when the lines name at least two real ones (not only "Uncategorised",
    which is never an item); products are a level when ``max_products`` is above 0.
    """
    if quarters < 1:
        raise ValueError(f"quarters must be at least 1, got {quarters}")
    if max_products < 0:
        raise ValueError(f"max_products must be 0 or more, got {max_products}")
    period = Quarter.parse(period)
    lines = purchase_lines(orders, period.trailing(quarters)[0].start, period.end)
    if "category" not in lines.columns and "product_id" not in lines.columns:
        raise ValueError("orders need a category or product_id column for basket analysis")
    levels: dict[str, tuple[pd.DataFrame, int | None]] = {}
    if "category" in lines.columns:
        category = lines["category"].astype("object")
        category = category.where(category.ne(PLACEHOLDER_CATEGORY) & category.ne(""))
        if category.nunique() >= 2:
            levels["category"] = (pd.DataFrame({"basket_id": lines["order_id"].to_numpy(), "item": category.to_numpy()}),
                                  None)
    if "product_id" in lines.columns and max_products > 0:
        levels["product"] = (pd.DataFrame({"basket_id": lines["order_id"].to_numpy(),
                                           "item": lines["product_id"].to_numpy()}), max_products)
    if not levels:
        raise NotAvailable(t("the orders name fewer than two categories and product rules are switched off "
                             "(max_products is 0)"),
                           t("set chapter_options.03_behaviour.max_products above 0, or add a products source "
                             "with a category per product"))
    return levels


def association_rules(
    orders: pd.DataFrame,
    period: Quarter | str,
    quarters: int = 4,
    min_support: float = 0.01,
    min_confidence: float = 0.05,
    max_products: int = 1000,
) -> pd.DataFrame:
    """Pair rules over the orders (baskets) of the trailing ``quarters`` quarters: between
    categories when the orders name at least two, and between products, mined on the (at most)
    ``max_products`` products in the most orders among those reaching ``min_support``
    (:func:`basket_scope` says which). Every order of the window counts in the supports.

    Returns ``level`` ("category" / "product") and the columns of :func:`pair_rules`.
    """
    levels = _basket_levels(orders, period, quarters, max_products)
    parts = [pair_rules(baskets, min_support, min_confidence, max_items).assign(level=level)
             for level, (baskets, max_items) in levels.items()]
    return pd.concat(parts, ignore_index=True)[RULE_COLUMNS]


def basket_scope(
    orders: pd.DataFrame,
    period: Quarter | str,
    quarters: int = 4,
    min_support: float = 0.01,
    max_products: int = 1000,
) -> pd.DataFrame:
    """What :func:`association_rules` mines, one row per level: ``level, items`` (distinct in the
    window), ``frequent_items`` (in at least ``min_support`` of the orders), ``items_mined``,
    ``baskets`` (orders), ``min_support``, ``max_items`` (the limit; NaN for none).
    """
    _check_thresholds(min_support, 0.0, None)
    levels = _basket_levels(orders, period, quarters, max_products)
    rows = []
    for level, (baskets, max_items) in levels.items():
        matrix, items, n_baskets = _basket_matrix(baskets)
        item_count = np.asarray(matrix.sum(axis=0)).ravel()
        rows.append({
            "level": level, "items": len(items),
            "frequent_items": int((item_count >= min_support * n_baskets).sum()) if n_baskets else 0,
            "items_mined": len(_mined_items(item_count, items, n_baskets, min_support, max_items)) if n_baskets else 0,
            "baskets": n_baskets, "min_support": min_support,
            "max_items": np.nan if max_items is None else max_items,
        })
    return pd.DataFrame(rows, columns=SCOPE_COLUMNS)


def strong_rules(rules: pd.DataFrame, max_rows: int | None = None) -> pd.DataFrame:
    """The rules with lift above 1 (bought together more often than chance), strongest first
    within each level (as :func:`association_rules` orders them); with ``max_rows``, at most that
    many per level. A rule with lift 1 or below is never strong, however high its support or
    confidence."""
    require_columns(rules, ["level", "lift"], "rules")
    if max_rows is not None and max_rows < 0:
        raise ValueError(f"max_rows must be 0 or more, got {max_rows}")
    useful = rules.loc[rules["lift"] > 1]
    return useful if max_rows is None else useful.groupby("level", sort=False).head(max_rows)


def _scope_words(row) -> str:
    """One level of :func:`basket_scope` in words, e.g. "all 8 categories", "the 592 products in at
    least 1.0% of orders (of 3,502; ...)" or "the 200 products in the most orders (of 592 ...)"."""
    values = {"mined": fmt_int(row["items_mined"]), "frequent": fmt_int(row["frequent_items"]),
              "items": fmt_int(row["items"]), "share": fmt_pct(row["min_support"])}
    categories = row["level"] == "category"
    if row["items_mined"] < row["frequent_items"]:
        if categories:
            return t("the {mined} categories in the most orders (of {frequent} in at least {share} of orders, {items} "
                     "in all)", **values)
        return t("the {mined} products in the most orders (of {frequent} in at least {share} of orders, {items} in "
                 "all)", **values)
    if row["items_mined"] == row["items"]:
        return t("all {mined} categories", **values) if categories else t("all {mined} products", **values)
    if categories:
        return t("the {mined} categories in at least {share} of orders (of {items}; rarer ones cannot reach the "
                 "minimum support)", **values)
    return t("the {mined} products in at least {share} of orders (of {items}; rarer ones cannot reach the minimum "
             "support)", **values)


def _pair_key(rules: pd.DataFrame) -> pd.Series:
    """The unordered pair of a rule, the same for A -> B and B -> A: "A|B" with the names in order."""
    first, second = rules["antecedent"].astype(str), rules["consequent"].astype(str)
    return first.where(first < second, second) + "|" + second.where(first < second, first)


def rules_finding(rules: pd.DataFrame, scope: pd.DataFrame | None = None) -> str:
    """What the rules were mined on (from :func:`basket_scope`), how many pairs of items (and how
    many rules: A -> B and B -> A are two rules of one pair) have a lift above 1, and the
    strongest of those rules in words, or that none is above chance."""
    sentences = []
    if scope is not None and len(scope):
        if "category" not in set(scope["level"]):
            sentences.append(t("The orders name fewer than two categories, so the rules pair products."))
        mined = [_scope_words(row) for _, row in scope.iterrows()]
        levels = mined[0]
        for level in mined[1:]:  # "all 8 categories and the 200 products in the most orders (...)"
            levels = t("{first} and {second}", first=levels, second=level)
        sentences.append(t("Rules were mined on {levels} over {orders} orders.", levels=levels,
                           orders=fmt_int(scope["baskets"].iloc[0])))
    useful = strong_rules(rules)
    if useful.empty:
        if rules.empty:
            sentences.append(t("No pair of items is in enough orders to reach the minimum support."))
        else:
            sentences.append(t("None of the {rules} rules that reach the minimum support has a lift above 1: no pair of "
                               "categories or products is bought together more often than chance.",
                               rules=fmt_int(len(rules))))
        return " ".join(sentences)
    pairs = useful.assign(pair=_pair_key(useful)).groupby("level")["pair"].nunique()
    counts = {"rules": fmt_int(len(useful)), "category_pairs": fmt_int(pairs.get("category", 0)),
              "product_pairs": fmt_int(pairs.get("product", 0))}
    if set(pairs.index) == {"category", "product"}:
        sentences.append(t("Pairs bought together more often than chance (lift above 1): {category_pairs} of categories "
                           "and {product_pairs} of products; they make {rules} rules, A → B and B → A counted apart.",
                           **counts))
    elif "category" in pairs.index:
        sentences.append(t("Pairs of categories bought together more often than chance (lift above 1): "
                           "{category_pairs}; they make {rules} rules, A → B and B → A counted apart.", **counts))
    else:
        sentences.append(t("Pairs of products bought together more often than chance (lift above 1): {product_pairs}; "
                           "they make {rules} rules, A → B and B → A counted apart.", **counts))
    # Strongest across levels; the rounded key keeps each level's own order for lifts equal on paper.
    top = useful.loc[useful["lift"].round(9).sort_values(ascending=False, kind="stable").index[0]]
    sentences.append(t(
        "The strongest rule: {confidence} of orders with {antecedent} also hold {consequent}, {lift} times the usual "
        "{base} (support {support} of {baskets} orders).", confidence=fmt_pct(top["confidence"]),
        antecedent=top["antecedent"], consequent=top["consequent"], lift=fmt_num(top["lift"], 2),
        base=fmt_pct(top["consequent_support"]), support=fmt_pct(top["support"]), baskets=fmt_int(top["baskets"])))
    return " ".join(sentences)


def plot_rules(rules: pd.DataFrame, top: int = 15, ax=None):
    """Horizontal bars of the ``top`` pairs by lift (lift > 1; of A -> B and B -> A, the direction
    with the higher confidence)."""
    useful = strong_rules(rules)
    table = (
        useful.assign(pair=_pair_key(useful))
        .sort_values(["lift", "confidence"], ascending=False)
        .drop_duplicates(["level", "pair"])
        .head(top)
        .iloc[::-1]
    )
    ax = ax or plt.subplots(figsize=(8, 0.8 + 0.35 * max(len(table), 1)))[1]
    ax.barh(table["antecedent"].astype(str) + " → " + table["consequent"].astype(str), table["lift"], color="#8172B2")
    ax.axvline(1, color="black", linewidth=0.8, linestyle="--")
    if table.empty:
        ax.text(0.5, 0.5, t("No pair bought together more often than chance"), ha="center", transform=ax.transAxes)
    ax.set_title(t("Strongest purchase associations"))
    ax.set_xlabel(t("Lift (x, 1 = chance)"))
    ax.set_ylabel(t("Rule (antecedent → consequent)"))
    return ax


def cross_sell_candidates(
    orders: pd.DataFrame,
    rules: pd.DataFrame,
    scores: pd.DataFrame,
    as_of,
    level: str | None = None,
    lookback_days: int = 365,
    max_rules: int = 50,
    min_lift: float = 1.0,
    per_customer: int = 1,
) -> pd.DataFrame:
    """Active customers who bought a rule's antecedent but not its consequent in the last
    ``lookback_days`` days, ranked by lift x churn-adjusted value.

    ``scores`` holds the active customers (``customer_id, churn_probability``). Expected value =
    the customer's revenue over the lookback x (1 - churn probability); score = lift x expected
    value. Keeps the ``per_customer`` best rules per customer. ``level`` "category" or "product"
    picks the rules; None takes the category rules when any has a lift above ``min_lift``, the
    product rules otherwise (orders without categories).
    Returns ``customer_id, antecedent, consequent, lift, expected_value, score``.
    """
    require_columns(scores, ["customer_id", "churn_probability"], "scores")
    require_columns(rules, ["level", "antecedent", "consequent", "lift"], "rules")
    columns = ["customer_id", "antecedent", "consequent", "lift", "expected_value", "score"]
    if level is None:
        level = "category" if ((rules["level"] == "category") & (rules["lift"] > min_lift)).any() else "product"
    item_column = {"category": "category", "product": "product_id"}.get(level)
    if item_column is None:
        raise ValueError(f"level must be 'category' or 'product', got {level!r}")
    usable = rules[(rules["level"] == level) & (rules["lift"] > min_lift)].nlargest(max_rules, "lift")
    as_of = pd.Timestamp(as_of)
    day_end = as_of.normalize() + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    window = orders[(orders["order_date"] > day_end - pd.Timedelta(days=lookback_days)) & (orders["order_date"] <= day_end)]
    window = window[is_in(window["customer_id"], scores["customer_id"])]
    if usable.empty or window.empty:
        return pd.DataFrame(columns=columns)
    revenue = window.groupby("customer_id")["net_amount"].sum()
    bought = purchase_lines(window, columns=["customer_id", item_column])
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
    # Rounded key: scores equal on paper (A -> B and B -> A have the same lift) tie by customer id,
    # not by floating-point noise.
    order = candidates.assign(score_key=candidates["score"].round(6)).sort_values(
        ["score_key", "customer_id"], ascending=[False, True], kind="stable").index
    candidates = candidates.loc[order]
    candidates = candidates[candidates.groupby("customer_id").cumcount() < per_customer]
    return candidates.reset_index(drop=True)[columns]


def cross_sell_finding(candidates: pd.DataFrame, currency: str = "¥") -> str:
    """How many candidates, their combined churn-adjusted value and the most frequent suggestion."""
    if candidates.empty:
        return t("No active customer matches a cross-sell rule.")
    common = (candidates["antecedent"] + " → " + candidates["consequent"]).value_counts()
    return t("{customers} active customers are cross-sell candidates with a churn-adjusted trailing-year value of "
             "{value}; the most frequent suggestion is {suggestion} ({suggested} customers).",
             customers=fmt_int(candidates["customer_id"].nunique()),
             value=fmt_money(candidates["expected_value"].sum(), currency), suggestion=common.index[0],
             suggested=fmt_int(common.iloc[0]))
