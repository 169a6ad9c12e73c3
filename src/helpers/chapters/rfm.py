"""RFM analysis: recency, frequency and monetary quintile scores, named segments from editable
rules (``params/rfm_segments.yaml``), segment sizes and revenue, and the movement between
segments from one quarter to the next.

Method: Hughes (1994) RFM scoring with quintiles. Scores are rank-based so that ties (many
customers with one order) never split across scores: a customer's score is
``1 + floor(5 * share of customers with a strictly worse value)``; customers with equal values
share a score.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml

from helpers import paths
from helpers.report.fmt import fmt_int, fmt_pct
from helpers.report.i18n import t

__all__ = [
    "DEFAULT_RULES_FILE",
    "load_segment_rules",
    "quintile_score",
    "rfm_scores",
    "assign_segments",
    "rfm_segments",
    "segment_summary",
    "migration_matrix",
    "segment_glossary",
    "segment_name",
    "plot_segments",
    "plot_migration",
    "segment_finding",
    "migration_finding",
]

DEFAULT_RULES_FILE = paths.PARAMS_DIR / "rfm_segments.yaml"
_SCORES = ("r", "f", "m", "fm")
# Raw values a rule may also bound (e.g. "New": first purchase within the last 90 days).
_VALUES = ("days_since_first_purchase", "days_since_last_purchase", "orders_in_window")
NEW_THIS_QUARTER = "(not a customer yet)"


def _check_rule(rule: dict, position: int) -> dict:
    if not isinstance(rule, dict) or not rule.get("name"):
        raise ValueError(f"RFM rule #{position} must be a mapping with a 'name'")
    unknown = sorted(set(rule) - set(_SCORES) - set(_VALUES) - {"name", "description"})
    if unknown:
        allowed = ", ".join(("name", "description") + _SCORES + _VALUES)
        raise ValueError(f"RFM rule '{rule['name']}' has unknown key(s) {unknown}; allowed: {allowed}")
    checked = {"name": str(rule["name"]), "description": str(rule.get("description", ""))}
    for key in _SCORES + _VALUES:
        if key not in rule:
            continue
        bounds = rule[key]
        if not isinstance(bounds, (list, tuple)) or len(bounds) != 2:
            raise ValueError(f"RFM rule '{rule['name']}': {key} must be a [low, high] pair, got {bounds!r}")
        low, high = float(bounds[0]), float(bounds[1])
        if key in _SCORES and not 1 <= low <= high <= 5:
            raise ValueError(f"RFM rule '{rule['name']}': {key} range {bounds} must satisfy 1 <= low <= high <= 5")
        if key in _VALUES and not 0 <= low <= high:
            raise ValueError(f"RFM rule '{rule['name']}': {key} range {bounds} must satisfy 0 <= low <= high")
        checked[key] = (low, high)
    return checked


def _rule_masks(scores: pd.DataFrame, rules: list[dict]) -> list[np.ndarray]:
    values = {key: scores[key].to_numpy(float) for key in ("r", "f", "m") + _VALUES if key in scores.columns}
    values["fm"] = (values["f"] + values["m"]) / 2
    masks = []
    for rule in rules:
        mask = np.ones(len(scores), dtype=bool)
        for key in _SCORES + _VALUES:
            if key not in rule:
                continue
            if key not in values:  # a rule on a raw value never matches a frame without it
                mask[:] = False
                break
            low, high = rule[key]
            mask &= (values[key] >= low) & (values[key] <= high)
        masks.append(mask)
    return masks


def load_segment_rules(path: str | Path | None = None) -> list[dict]:
    """Read and check the segment rules; every one of the 125 (r, f, m) combinations must match a
    rule that uses scores only (rules on raw values such as ``days_since_first_purchase`` come on top).

    Raises ValueError naming the problem (a bad range, a duplicate name, an uncovered combination).
    """
    path = Path(path) if path else DEFAULT_RULES_FILE
    if not path.exists():
        raise ValueError(f"RFM segment rules file {path} does not exist")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    raw = data.get("segments") if isinstance(data, dict) else None
    if not raw:
        raise ValueError(f"{path} must hold a non-empty 'segments' list")
    rules = [_check_rule(rule, i + 1) for i, rule in enumerate(raw)]
    names = [rule["name"] for rule in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{path}: segment name(s) {duplicates} appear more than once")
    grid = np.array(np.meshgrid(*(np.arange(1, 6),) * 3, indexing="ij")).reshape(3, -1).T
    combos = pd.DataFrame(grid, columns=["r", "f", "m"])
    covered = np.logical_or.reduce(_rule_masks(combos, rules))
    if not covered.all():
        missing = combos.loc[~covered].head(5).to_dict("records")
        raise ValueError(f"{path}: no rule matches the score combination(s) {missing} (showing up to 5); add a rule")
    return rules


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Scores 1-5: ``1 + floor(5 * share of customers with a strictly worse value)``.

    Equal values always share a score (``qcut`` on ties fails or splits them arbitrarily).
    """
    values = pd.Series(values, dtype=float)
    if values.isna().any():
        raise ValueError("quintile_score got missing values; fill them first (e.g. 0 orders)")
    if values.empty:
        return pd.Series(dtype="int64", index=values.index)
    ranked = (values if higher_is_better else -values).rank(method="min")
    return (1 + np.floor(5 * (ranked - 1) / len(values))).astype("int64")


def rfm_scores(facts: pd.DataFrame, window_days: int = 365) -> pd.DataFrame:
    """Recency, frequency and monetary values and scores of every customer who bought by the
    as-of day of ``facts``, the per-customer facts of :mod:`helpers.facts.customer_facts`.

    Parameters
    ----------
    facts : per-customer facts as of one day, with ``purchase_orders_<w>d`` and
        ``purchase_value_<w>d`` for ``w = window_days``.
    window_days : trailing window for frequency and monetary value.

    Returns
    -------
    DataFrame: customer_id, days_since_first_purchase, days_since_last_purchase,
    orders_in_window (distinct orders with a purchase line), revenue_in_window (purchase value
    before returns), r, f, m.
    """
    if window_days < 1:
        raise ValueError(f"window_days must be at least 1, got {window_days}")
    needed = ["customer_id", "first_purchase", "days_since_last_purchase", "tenure_days",
              f"purchase_orders_{window_days}d", f"purchase_value_{window_days}d"]
    missing = [c for c in needed if c not in facts.columns]
    if missing:
        raise ValueError(f"customer facts lack column(s) {missing}; the preparation computes the windows "
                         f"of helpers.facts.customer_facts.WINDOWS and the RFM window")
    bought = facts.loc[facts["first_purchase"].notna()]
    out = pd.DataFrame({
        "customer_id": bought["customer_id"].to_numpy(),
        "days_since_first_purchase": bought["tenure_days"].astype("int64").to_numpy(),
        "days_since_last_purchase": bought["days_since_last_purchase"].astype("int64").to_numpy(),
        "orders_in_window": bought[f"purchase_orders_{window_days}d"].astype("int64").to_numpy(),
        "revenue_in_window": bought[f"purchase_value_{window_days}d"].astype(float).to_numpy(),
    })
    out["r"] = quintile_score(out["days_since_last_purchase"], higher_is_better=False)
    out["f"] = quintile_score(out["orders_in_window"])
    out["m"] = quintile_score(out["revenue_in_window"])
    out.attrs.update(window_days=window_days)
    return out


def assign_segments(scores: pd.DataFrame, rules: list[dict]) -> pd.DataFrame:
    """Add ``segment``: the first rule (in file order) that the customer's scores satisfy."""
    missing = [c for c in ("r", "f", "m") if c not in scores.columns]
    if missing:
        raise ValueError(f"scores lacks column(s) {missing}")
    if not rules:
        raise ValueError("no segment rules given")
    names = [rule["name"] for rule in rules]
    chosen = np.select(_rule_masks(scores, rules), np.array(names, dtype=object), default=None)
    if pd.isna(chosen).any():
        example = scores.loc[pd.isna(chosen), ["r", "f", "m"]].iloc[0].to_dict()
        raise ValueError(f"no segment rule matches scores {example}")
    out = scores.copy()
    out["segment"] = pd.Categorical(chosen, categories=names)
    return out


def rfm_segments(facts: pd.DataFrame, rules: list[dict] | None = None, window_days: int = 365) -> pd.DataFrame:
    """Scores and named segment of every customer in ``facts`` (:func:`rfm_scores` + :func:`assign_segments`)."""
    rules = rules if rules is not None else load_segment_rules()
    return assign_segments(rfm_scores(facts, window_days), rules)


def segment_summary(current: pd.DataFrame, previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """Size, revenue share and typical values per segment, with last quarter's size if given.

    Returns
    -------
    DataFrame: segment, customers, share_of_customers, revenue_in_window, share_of_revenue,
    median_days_since_last_purchase, mean_orders, mean_revenue, and (with ``previous``)
    customers_previous, change_in_customers.
    """
    for column in ("segment", "days_since_last_purchase", "orders_in_window", "revenue_in_window"):
        if column not in current.columns:
            raise ValueError(f"current segments lack column {column!r}")
    grouped = current.groupby("segment", observed=False)
    out = grouped.agg(
        customers=("segment", "size"),
        revenue_in_window=("revenue_in_window", "sum"),
        median_days_since_last_purchase=("days_since_last_purchase", "median"),
        mean_orders=("orders_in_window", "mean"),
        mean_revenue=("revenue_in_window", "mean"),
    )
    total_revenue = out["revenue_in_window"].sum()
    out.insert(1, "share_of_customers", out["customers"] / max(len(current), 1))
    out.insert(3, "share_of_revenue", out["revenue_in_window"] / total_revenue if total_revenue else np.nan)
    if previous is not None:
        before = previous["segment"].astype(str).value_counts()
        out["customers_previous"] = before.reindex(out.index.astype(str)).fillna(0).astype(int).to_numpy()
        out["change_in_customers"] = out["customers"] - out["customers_previous"]
    return out.reset_index().assign(segment=lambda d: d["segment"].astype(str))


def migration_matrix(previous: pd.DataFrame, current: pd.DataFrame, normalize: bool = False) -> pd.DataFrame:
    """Customers by last quarter's segment (rows) and this quarter's segment (columns).

    Customers first scored this quarter are in the row ``(not a customer yet)``. With
    ``normalize=True`` each row is a share of its row total (where last quarter's customers went).
    """
    for name, frame in (("previous", previous), ("current", current)):
        if not {"customer_id", "segment"} <= set(frame.columns):
            raise ValueError(f"{name} segments need customer_id and segment columns")
    order = list(current["segment"].cat.categories) if hasattr(current["segment"], "cat") else sorted(current["segment"].unique())
    merged = current[["customer_id", "segment"]].merge(
        previous[["customer_id", "segment"]], on="customer_id", how="left", suffixes=("", "_previous")
    )
    before = merged["segment_previous"].astype(object).where(merged["segment_previous"].notna(), NEW_THIS_QUARTER)
    table = pd.crosstab(pd.Categorical(before, categories=order + [NEW_THIS_QUARTER]), merged["segment"].astype(str), dropna=False)
    table = table.reindex(columns=order, fill_value=0)
    table.index.name, table.columns.name = "segment_last_quarter", "segment_this_quarter"
    if normalize:
        table = table.div(table.sum(axis=1).replace(0, np.nan), axis=0)
    return table


def segment_name(name) -> str:
    """A segment for readers: the names of the bundled rules (``params/rfm_segments.yaml``) in the
    report's language, an analyst's own as written; the row of customers first scored this quarter
    (``NEW_THIS_QUARTER``) too."""
    name = str(name)
    return t("(not a customer yet)") if name == NEW_THIS_QUARTER else t(name)


def _value_name(value: str) -> str:
    """A raw value a rule may bound (``_VALUES``) in words."""
    return {"days_since_first_purchase": t("days since first purchase"),
            "days_since_last_purchase": t("days since last purchase"),
            "orders_in_window": t("orders in window")}.get(value, value.replace("_", " "))


def segment_glossary(rules: list[dict]) -> dict[str, str]:
    """Segment name -> one-line definition (its description and the score ranges of its rule), in
    the report's language where the rules are the bundled ones."""
    separator = t(", ")  # between the items of a list
    out = {}
    for rule in rules:
        ranges = separator.join(f"{s.upper()} {rule[s][0]:g}-{rule[s][1]:g}" for s in _SCORES if s in rule)
        ranges = separator.join([ranges] * bool(ranges) + [f"{_value_name(v)} {rule[v][0]:g}-{rule[v][1]:g}"
                                                           for v in _VALUES if v in rule])
        description = rule["description"]  # a bundled rule's description has a catalog entry
        description = t(description) if description else ""
        out[segment_name(rule["name"])] = t("{description} ({ranges}; first matching rule wins)",
                                            description=description, ranges=ranges).strip()
    return out


def plot_segments(summary: pd.DataFrame, ax=None):
    """Horizontal bars: each segment's share of customers and of trailing-window revenue."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * len(summary) + 1.5))
    positions = np.arange(len(summary))
    ax.barh(positions - 0.2, 100 * summary["share_of_customers"], height=0.4, label=t("Customers"))
    ax.barh(positions + 0.2, 100 * summary["share_of_revenue"], height=0.4,
            label=t("Purchase value before returns (last 365 days)"))
    ax.set_yticks(positions, [segment_name(s) for s in summary["segment"]])
    ax.invert_yaxis()
    ax.set_xlabel(t("Share (%)"))
    ax.set_ylabel(t("RFM segment"))
    ax.set_title(t("RFM segments: share of customers and of revenue"))
    ax.legend()
    return ax


def plot_migration(matrix: pd.DataFrame, ax=None):
    """Heatmap of the row-normalised migration matrix (where last quarter's customers went)."""
    shares = matrix.div(matrix.sum(axis=1).replace(0, np.nan), axis=0).fillna(0)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 * shares.shape[1] + 3, 0.6 * shares.shape[0] + 2))
    image = ax.imshow(100 * shares.to_numpy(), cmap="Blues", vmin=0, vmax=100, aspect="auto")
    ax.grid(False)
    ax.set_xticks(np.arange(shares.shape[1]), [segment_name(s) for s in shares.columns], rotation=35, ha="right")
    ax.set_yticks(np.arange(shares.shape[0]), [segment_name(s) for s in shares.index])
    for (i, j), value in np.ndenumerate(100 * shares.to_numpy()):
        if value >= 0.5:
            ax.text(j, i, f"{value:.0f}", ha="center", va="center", color="white" if value > 60 else "black", fontsize=8)
    ax.figure.colorbar(image, ax=ax, label=t("Share of row (%)"))
    ax.set_xlabel(t("Segment this quarter"))
    ax.set_ylabel(t("Segment last quarter"))
    ax.set_title(t("RFM segment migration from last quarter (% of each row)"))
    return ax


def segment_finding(summary: pd.DataFrame) -> str:
    """Sentence: the segment with the largest revenue share vs its customer share, and the at-risk size."""
    if summary.empty or summary["customers"].sum() == 0:
        return t("No customer has a purchase to score.")
    top = summary.sort_values("share_of_revenue", ascending=False).iloc[0]
    text = t("{segment} are {customers} of customers but bring {revenue} of the last 365 days' purchase value (before "
             "returns).", segment=segment_name(top["segment"]), customers=fmt_pct(top["share_of_customers"]),
             revenue=fmt_pct(top["share_of_revenue"]))
    risky = summary.loc[summary["segment"].isin(["At risk", "Can't lose them"])]
    if len(risky) and risky["customers"].sum() > 0:
        text += " " + t("{customers} customers ({share}) are at risk or can't-lose, holding {revenue} of revenue.",
                        customers=fmt_int(risky["customers"].sum()), share=fmt_pct(risky["share_of_customers"].sum()),
                        revenue=fmt_pct(risky["share_of_revenue"].sum()))
    return text


def migration_finding(matrix: pd.DataFrame) -> str:
    """Sentence: how many of last quarter's customers stayed in their segment, and the largest move."""
    existing = matrix.drop(index=NEW_THIS_QUARTER, errors="ignore")
    total = existing.to_numpy().sum()
    if total == 0:
        return t("No customer was scored last quarter, so there is no movement to show.")
    common = [s for s in existing.index if s in existing.columns]
    stayed = sum(existing.loc[s, s] for s in common)
    moves = existing.stack()
    moves = moves[[a != b for a, b in moves.index]]
    new = matrix.loc[NEW_THIS_QUARTER].sum() if NEW_THIS_QUARTER in matrix.index else 0
    values = {"share": fmt_pct(stayed / total), "new": fmt_int(new)}
    if len(moves) and moves.max() > 0:
        (source, target), count = moves.idxmax(), moves.max()
        return t("{share} of last quarter's scored customers stayed in the same segment; the largest move was {count} "
                 "customers from {source} to {target}, and {new} customers were scored for the first time.",
                 count=fmt_int(count), source=segment_name(source), target=segment_name(target), **values)
    return t("{share} of last quarter's scored customers stayed in the same segment, and {new} customers were scored "
             "for the first time.", **values)
