"""Which group of customers explains most of a KPI's change between two quarters.

For an additive KPI (revenue, customer counts) a group's contribution is simply its own change.
For a rate or mean, the change of the total splits exactly into group terms
``w_now * r_now - w_prev * r_prev`` (w = the group's share of the KPI's units, r = its rate),
so the contributions add up to the total change and capture both a group's own movement and a
shift in the mix.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.facts.kpis import ADDITIVE_KPIS


def attribute_change(units_now: pd.DataFrame, units_prev: pd.DataFrame, customers: pd.DataFrame, metric: str,
                     dimensions: list[str]) -> pd.DataFrame:
    """Each group's contribution to the change of ``metric``.

    Parameters
    ----------
    units_now, units_prev
        ``kpis.kpi_units(...)[metric]`` of the two quarters: (customer_id, value).
    customers
        Prepared customers with the ``dimensions`` columns.

    Returns
    -------
    DataFrame: dimension, group, units_now, units_previous, value_now, value_previous, contribution
    (summing over the groups of one dimension to the total change), sorted by contribution.
    """
    missing = [d for d in dimensions if d not in customers]
    if missing:
        raise ValueError(f"customers has no column(s) {missing} to explain the change by")
    attributes = customers.set_index("customer_id")[dimensions]
    frames = []
    for dimension in dimensions:
        sides = []
        for units in (units_now, units_prev):
            group = units["customer_id"].map(attributes[dimension]).fillna("Unknown").astype(str)
            stats = units.groupby(group)["value"].agg(["size", "sum", "mean"])
            sides.append(stats)
        now, prev = sides[0].add_suffix("_now"), sides[1].add_suffix("_prev")
        table = now.join(prev, how="outer").fillna({"size_now": 0, "size_prev": 0, "sum_now": 0, "sum_prev": 0})
        if metric in ADDITIVE_KPIS:
            value_now, value_prev = table["sum_now"], table["sum_prev"]
            contribution = value_now - value_prev
        else:
            weight_now = table["size_now"] / max(table["size_now"].sum(), 1)
            weight_prev = table["size_prev"] / max(table["size_prev"].sum(), 1)
            value_now, value_prev = table["mean_now"], table["mean_prev"]
            contribution = (weight_now * value_now.fillna(0)) - (weight_prev * value_prev.fillna(0))
        frames.append(pd.DataFrame({
            "dimension": dimension, "group": table.index, "units_now": table["size_now"].astype(int).to_numpy(),
            "units_previous": table["size_prev"].astype(int).to_numpy(), "value_now": value_now.to_numpy(),
            "value_previous": value_prev.to_numpy(), "contribution": contribution.to_numpy()}))
    result = pd.concat(frames, ignore_index=True)
    return result.sort_values("contribution", kind="stable").reset_index(drop=True)


def main_contributor(attribution: pd.DataFrame, adverse_sign: int, min_units: int = 1,
                     min_share: float = 0.5) -> pd.Series | None:
    """The group whose contribution is largest in the adverse direction (sign -1: a fall, +1: a
    rise), if it explains at least ``min_share`` of its dimension's adverse change and has
    ``min_units`` units in the two quarters together; otherwise no group stands out (None).

    A group whose own change is a small part of the change (one customer of sixty lost) is no
    cause worth naming.
    """
    if not 0 < min_share <= 1:
        raise ValueError(f"min_share must lie in (0, 1], got {min_share}")
    total = attribution.groupby("dimension")["contribution"].transform("sum")  # each row's dimension's change
    share = attribution["contribution"] / total.replace(0, np.nan)
    eligible = attribution.loc[((attribution["units_now"] + attribution["units_previous"]) >= min_units)
                               & (np.sign(total) == adverse_sign) & (share >= min_share)]
    eligible = eligible.loc[np.sign(eligible["contribution"]) == adverse_sign]
    if eligible.empty:
        return None
    return eligible.loc[(eligible["contribution"] * adverse_sign).idxmax()]
