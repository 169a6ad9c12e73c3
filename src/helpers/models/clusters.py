"""Behaviour and value segmentation: k-means on standardised log features, k chosen by
silhouette, profiles in plain words and a shallow decision tree that explains membership.

Method: k-means (Lloyd 1982, k-means++ starts, scikit-learn) on ``log1p`` of non-negative
features scaled to zero mean and unit variance; the number of clusters maximises the mean
silhouette width (Rousseeuw 1987) on a seeded sample. Above ``fit_sample`` customers the model
is fitted on a seeded sample and every customer is then assigned to the nearest centre. The
explanation is a CART tree (Breiman et al. 1984) on the unscaled features with classes weighted by
the inverse of their size, three questions deep or deeper until every cluster has a rule.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from helpers.report.fmt import fmt_int, fmt_money, fmt_num, fmt_pct
from helpers.report.i18n import t

__all__ = [
    "FEATURE_LABELS",
    "ClusterResult",
    "TreeExplanation",
    "customer_features",
    "fit_clusters",
    "mean_silhouettes",
    "explain_clusters",
    "plot_cluster_profiles",
    "cluster_finding",
    "per_cluster_caption",
    "tree_caption",
    "tree_finding",
]

#: Readable name and unit of each feature, and the words for a high / low cluster centre.
FEATURE_LABELS = {
    "days_since_last_purchase": ("days since last purchase", "days", "lapsed", "recent"),
    "orders_in_window": ("orders in last 365 days", "orders", "frequent", "infrequent"),
    "revenue_in_window": ("revenue in last 365 days", "money", "high spend", "low spend"),
    "days_since_first_purchase": ("days since first purchase", "days", "long-standing", "newer"),
    "clv_12m": ("12-month CLV", "money", "high expected value", "low expected value"),
    "complaints_in_window": ("complaints in last 365 days", "count", "complaining", None),
}
_INTEGER_UNITS = {"days", "orders", "count"}
# A cluster centre this many standard deviations from the average earns a word.
_WORD_THRESHOLD = 0.5


def _feature_words() -> dict[str, tuple[str, str, str | None]]:
    """``FEATURE_LABELS``' name and high / low words of each feature in the report's language."""
    return {
        "days_since_last_purchase": (t("days since last purchase"), t("lapsed"), t("recent")),
        "orders_in_window": (t("orders in last 365 days"), t("frequent"), t("infrequent")),
        "revenue_in_window": (t("revenue in last 365 days"), t("high spend"), t("low spend")),
        "days_since_first_purchase": (t("days since first purchase"), t("long-standing"), t("newer")),
        "clv_12m": (t("12-month CLV"), t("high expected value"), t("low expected value")),
        "complaints_in_window": (t("complaints in last 365 days"), t("complaining"), None),
    }


def customer_features(
    rfm: pd.DataFrame, clv: pd.DataFrame | None = None, tickets: pd.DataFrame | None = None, as_of=None, window_days: int = 365
) -> pd.DataFrame:
    """Behaviour and value features per customer for clustering.

    From :func:`helpers.chapters.rfm.rfm_scores`: days since last / first purchase, orders and revenue
    in the window; from ``clv`` (optional): ``clv_12m``; from ``tickets`` (optional, needs
    ``as_of``): complaints opened in the trailing ``window_days``.
    """
    needed = ["customer_id", "days_since_last_purchase", "orders_in_window", "revenue_in_window", "days_since_first_purchase"]
    missing = [c for c in needed if c not in rfm.columns]
    if missing:
        raise ValueError(f"rfm lacks column(s) {missing}; pass the output of rfm.rfm_scores")
    out = rfm[needed].copy()
    if clv is not None:
        out = out.merge(clv[["customer_id", "clv_12m"]], on="customer_id", how="left")
        out["clv_12m"] = out["clv_12m"].fillna(0.0)
    if tickets is not None:
        if as_of is None:
            raise ValueError("as_of is needed to count complaints in the window")
        end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
        mask = (tickets["created_at"] >= end - pd.Timedelta(days=window_days)) & (tickets["created_at"] < end)
        if "ticket_type" in tickets.columns:
            mask &= tickets["ticket_type"] == "complaint"
        counts = tickets.loc[mask].groupby("customer_id", observed=True).size()
        out["complaints_in_window"] = out["customer_id"].map(counts).fillna(0).astype(int)
    return out


@dataclass
class ClusterResult:
    """Cluster of each customer, readable profiles, the silhouette per k and the chosen k."""

    assignments: pd.DataFrame
    profiles: pd.DataFrame
    silhouette: pd.DataFrame
    k: int
    features: list


def _transform(features: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return np.log1p(features[columns].clip(lower=0).to_numpy(dtype=float))


def mean_silhouettes(points: np.ndarray, labelings: list[np.ndarray], block: int = 1_000) -> list[float]:
    """Mean silhouette width (Rousseeuw 1987) of each labelling of the same points.

    The Euclidean distances are computed once, a block of rows at a time, and serve every
    labelling; scoring each k on its own would compute the same n x n distances once per k.
    A point alone in its cluster scores 0; a labelling with a single cluster scores -1.
    """
    points = np.asarray(points, dtype=float)
    n = len(points)
    codes = [np.unique(labels, return_inverse=True)[1].ravel() for labels in labelings]
    members = [np.bincount(code) for code in codes]
    indicators = [np.eye(len(count))[code] for code, count in zip(codes, members)]  # n x k, one 1 per row
    sums = [np.empty((n, len(count))) for count in members]  # distance of each point to each cluster
    squares = np.einsum("ij,ij->i", points, points)
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        distances = squares[rows, None] + squares[None, :] - 2.0 * points[rows] @ points.T
        np.maximum(distances, 0.0, out=distances)
        distances[np.arange(distances.shape[0]), np.arange(rows.start, rows.stop)] = 0.0
        np.sqrt(distances, out=distances)
        for indicator, total in zip(indicators, sums):
            total[rows] = distances @ indicator
    scores = []
    for code, count, total in zip(codes, members, sums):
        if len(count) < 2:
            scores.append(-1.0)
            continue
        own = count[code]
        inside = total[np.arange(n), code] / np.maximum(own - 1, 1)
        mean_to = total / count
        mean_to[np.arange(n), code] = np.inf
        nearest = mean_to.min(axis=1)
        with np.errstate(invalid="ignore"):  # 0 / 0 for a point whose distances are all 0: scored 0
            width = np.where(own > 1, (nearest - inside) / np.maximum(nearest, inside), 0.0)
        scores.append(float(np.nan_to_num(width).mean()))
    return scores


def _describe(centre: pd.Series) -> list[str]:
    words = []
    feature_words = _feature_words()
    for column, z in centre.abs().sort_values(ascending=False).items():
        if abs(centre[column]) < _WORD_THRESHOLD:
            break
        high, low = feature_words[column][1:]  # the columns clustered are those of FEATURE_LABELS
        word = high if centre[column] > 0 else low
        if word:
            words.append(word)
    return words


def fit_clusters(
    features: pd.DataFrame,
    k_range: tuple[int, int] = (3, 6),
    seed: int = 2026,
    fit_sample: int = 100_000,
    silhouette_sample: int = 10_000,
    n_init: int = 10,
) -> ClusterResult:
    """k-means for each k in ``k_range`` (inclusive); keep the k with the highest silhouette.

    Clusters are numbered 1..k by descending mean CLV (revenue when CLV is absent) and named by
    their distinctive features, e.g. "high spend, frequent, recent".
    """
    columns = [c for c in FEATURE_LABELS if c in features.columns]
    if "customer_id" not in features.columns or len(columns) < 2:
        raise ValueError(f"features need customer_id and at least two of {list(FEATURE_LABELS)}")
    k_min, k_max = k_range
    if not 2 <= k_min <= k_max:
        raise ValueError(f"k_range must satisfy 2 <= min <= max, got {k_range}")
    if len(features) < max(10, 2 * k_max):
        raise ValueError(f"too few customers ({len(features)}) to form up to {k_max} clusters")
    # Constant columns carry no information and would divide by zero when scaled.
    columns = [c for c in columns if features[c].nunique() > 1]
    rng = np.random.default_rng(seed)
    values = _transform(features, columns)
    fit_rows = rng.choice(len(values), size=min(fit_sample, len(values)), replace=False)
    scaler = StandardScaler().fit(values[fit_rows])
    scaled = scaler.transform(values)
    fit_data = scaled[fit_rows]
    score_rows = rng.choice(len(fit_data), size=min(silhouette_sample, len(fit_data)), replace=False)
    # One thread: on a shared machine k-means' OpenMP threads wait on each other and run 30-70x
    # slower; one thread fits 100,000 customers in about 1.5 s per k.
    with threadpool_limits(limits=1):
        models = {k: KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(fit_data)
                  for k in range(k_min, k_max + 1)}
        scores = mean_silhouettes(fit_data[score_rows], [model.labels_[score_rows] for model in models.values()])
    silhouette = pd.DataFrame({"k": list(models), "silhouette": scores,
                               "inertia": [float(model.inertia_) for model in models.values()]})
    best_k = int(silhouette.loc[silhouette["silhouette"].idxmax(), "k"])
    silhouette["chosen"] = silhouette["k"] == best_k
    model = models[best_k]
    with threadpool_limits(limits=1):
        raw_labels = model.predict(scaled)
    # Stable numbering: 1 = most valuable.
    value_column = "clv_12m" if "clv_12m" in columns else "revenue_in_window"
    order = pd.Series(features[value_column].to_numpy()).groupby(raw_labels).mean().sort_values(ascending=False).index
    renumber = np.empty(best_k, dtype=int)
    renumber[np.asarray(order)] = np.arange(1, best_k + 1)
    cluster = renumber[raw_labels]
    centres = pd.DataFrame(scaled, columns=columns).groupby(cluster).mean()
    names = {}
    for number, centre in centres.iterrows():  # one row per cluster (k <= 10), not per customer
        words = _describe(centre)[:3] or [t("typical")]
        names[number] = t(", ").join(words)
    counts = pd.Series(list(names.values())).value_counts()
    names = {n: (t("{name} ({number})", name=name, number=fmt_int(n)) if counts[name] > 1 else name)
             for n, name in names.items()}
    assignments = pd.DataFrame({"customer_id": features["customer_id"].to_numpy(), "cluster": cluster})
    assignments["cluster_name"] = assignments["cluster"].map(names)
    medians = features[columns].groupby(cluster).median()
    profiles = pd.DataFrame({"cluster": medians.index, "cluster_name": [names[c] for c in medians.index]})
    profiles["customers"] = pd.Series(cluster).value_counts().reindex(medians.index).to_numpy()
    profiles["share_of_customers"] = profiles["customers"] / len(features)
    for column in columns:
        profiles[f"median_{column}"] = medians[column].to_numpy()
    return ClusterResult(assignments, profiles, silhouette, best_k, columns)


def _feature_label(column: str) -> tuple[str, str]:
    """A feature's words for readers and its unit."""
    unit = FEATURE_LABELS.get(column, (column, ""))[1]
    return _feature_words().get(column, (column,))[0], unit


def _threshold_text(column: str, threshold: float, above: bool, currency: str) -> str:
    label, unit = _feature_label(column)
    if unit in _INTEGER_UNITS:
        # Trees split integers at x.5: "<= 2.5" is "at most 2", "> 2.5" is "at least 3".
        bound = int(np.floor(threshold))
        if bound == 0 and not above and unit in ("orders", "count"):
            return t("no {feature}", feature=label)
        if above:
            return t("{feature} at least {value}", feature=label, value=fmt_int(bound + 1))
        return t("{feature} at most {value}", feature=label, value=fmt_int(bound))
    value = fmt_money(threshold, currency) if unit == "money" else fmt_num(threshold, 1)
    if above:
        return t("{feature} above {value}", feature=label, value=value)
    return t("{feature} at most {value}", feature=label, value=value)


def _bounds_text(column: str, low: float | None, high: float | None, currency: str) -> str:
    """One feature's condition on a tree path: above ``low`` and / or at most ``high``."""
    if low is None or high is None:
        return _threshold_text(column, high if low is None else low, low is not None, currency)
    label, unit = _feature_label(column)
    if unit in _INTEGER_UNITS:
        first, last = int(np.floor(low)) + 1, int(np.floor(high))
        if first == last:
            return t("{feature} exactly {value}", feature=label, value=fmt_int(first))
        return t("{feature} {low} to {high}", feature=label, low=fmt_int(first), high=fmt_int(last))
    show = (lambda v: fmt_money(v, currency)) if unit == "money" else (lambda v: fmt_num(v, 1))
    return t("{feature} above {low} and at most {high}", feature=label, low=show(low), high=show(high))


@dataclass
class TreeExplanation:
    """A decision tree's description of the clusters, and how well it reproduces them.

    ``rules``: one row per leaf (plain-language conditions, the cluster it assigns, its share of
    customers and ``purity``, the share of them actually in that cluster). ``per_cluster``: per
    cluster its customers, ``share_reproduced`` (recall: the share of the cluster the rules put
    in it), ``precision`` (the share of the customers the rules put in it that belong there) and
    the number of ``rules`` that assign it. ``accuracy``: the share of all customers the rules put
    in their own cluster. ``depth``: the questions per path the tree needed (see
    :func:`explain_clusters`); ``customers``: the customers it was fitted on.
    """

    rules: pd.DataFrame
    per_cluster: pd.DataFrame
    accuracy: float
    depth: int
    customers: int


def explain_clusters(
    features: pd.DataFrame,
    result: ClusterResult,
    seed: int = 2026,
    max_depth: int = 3,
    sample: int = 100_000,
    currency: str = "¥",
    depth_limit: int = 6,
    min_leaf_share: float = 0.005,
    min_share_reproduced: float = 0.5,
) -> TreeExplanation:
    """A decision tree (CART, Breiman et al. 1984) that reproduces the clusters from the unscaled features.

    Classes are weighted by the inverse of their size (``class_weight="balanced"``), so a small
    cluster, often the most valuable one, is not outvoted by a large neighbour inside a leaf.
    The tree starts ``max_depth`` questions deep (at least enough leaves for every cluster) and
    goes one question deeper, up to ``depth_limit``, until every cluster is the prediction of at
    least one leaf and the rules reproduce at least ``min_share_reproduced`` of every cluster.
    Leaves hold at least ``min_leaf_share`` of the customers (one at least).

    The tree describes the clusters rather than predicting new customers, so it is fitted and
    scored on the same customers (a seeded sample of ``sample`` when there are more): the
    per-cluster shares say how far the rules can be read as the clusters.
    """
    if not 1 <= max_depth <= depth_limit:
        raise ValueError(f"max_depth must lie between 1 and depth_limit ({depth_limit}), got {max_depth}")
    if not 0 <= min_leaf_share < 0.5:
        raise ValueError(f"min_leaf_share must lie in [0, 0.5), got {min_leaf_share}")
    if not 0 <= min_share_reproduced <= 1:
        raise ValueError(f"min_share_reproduced must lie in [0, 1], got {min_share_reproduced}")
    merged = features.merge(result.assignments[["customer_id", "cluster"]], on="customer_id")
    if merged.empty:
        raise ValueError("no customer of features has a cluster in result.assignments")
    if len(merged) > sample:
        merged = merged.sample(sample, random_state=seed)
    X, y = merged[result.features].to_numpy(dtype=float), merged["cluster"].to_numpy()
    clusters_present = np.unique(y)
    min_leaf = max(1, int(np.ceil(min_leaf_share * len(y))))
    # Enough leaves for every cluster: 2 ** depth >= k.
    depth = min(max(max_depth, int(np.ceil(np.log2(max(len(clusters_present), 2))))), depth_limit)
    while True:
        tree = DecisionTreeClassifier(max_depth=depth, class_weight="balanced", min_samples_leaf=min_leaf,
                                      random_state=seed).fit(X, y)
        predicted = tree.predict(X)
        leaves = tree.apply(X)
        recall = pd.Series(predicted == y).groupby(y).mean()
        if recall.min() >= min_share_reproduced and set(np.unique(predicted)) == set(clusters_present):
            break
        if depth >= depth_limit:
            break
        depth += 1
    names = dict(zip(result.profiles["cluster"], result.profiles["cluster_name"]))
    rules = _leaf_rules(tree, result.features, leaves, predicted, y, names, currency)
    per_cluster = _per_cluster(result, y, predicted, rules)
    return TreeExplanation(rules, per_cluster, float(np.mean(predicted == y)), int(depth), int(len(y)))


def _leaf_rules(tree, columns, leaves, predicted, actual, names, currency) -> pd.DataFrame:
    """One row per leaf: its conditions in words, the cluster it assigns and who lands in it."""
    structure = tree.tree_
    # Shares count customers, not the class weights the tree was fitted with.
    per_leaf = pd.DataFrame({"leaf": leaves, "predicted": predicted, "right": predicted == actual})
    per_leaf = per_leaf.groupby("leaf").agg(customers=("right", "size"), right=("right", "sum"), cluster=("predicted", "first"))
    rows = []
    # Walk the (at most 2 ** depth leaves) tree from the root, carrying each path's bounds.
    stack = [(0, {})]
    while stack:
        node, bounds = stack.pop()
        left, right = structure.children_left[node], structure.children_right[node]
        if left == right:  # leaf
            counts = per_leaf.loc[node]
            conditions = [_bounds_text(column, low, high, currency) for column, (low, high) in bounds.items()]
            rule = conditions[0] if conditions else t("all customers")
            for condition in conditions[1:]:
                rule = t("{conditions} and {condition}", conditions=rule, condition=condition)
            rows.append({
                "rule": rule,
                "cluster": int(counts["cluster"]),
                "cluster_name": names.get(counts["cluster"], str(counts["cluster"])),
                "share_of_customers": counts["customers"] / len(leaves),
                "purity": counts["right"] / counts["customers"],
            })
            continue
        column, threshold = columns[structure.feature[node]], float(structure.threshold[node])
        low, high = bounds.get(column, (None, None))
        stack.append((right, {**bounds, column: (threshold if low is None else max(low, threshold), high)}))
        stack.append((left, {**bounds, column: (low, threshold if high is None else min(high, threshold))}))
    return pd.DataFrame(rows).sort_values(["cluster", "share_of_customers"], ascending=[True, False]).reset_index(drop=True)


def _per_cluster(result: ClusterResult, actual, predicted, rules: pd.DataFrame) -> pd.DataFrame:
    """Customers, recall (share reproduced), precision and rules of each cluster."""
    out = result.profiles[["cluster", "cluster_name"]].copy()
    frame = pd.DataFrame({"actual": actual, "predicted": predicted})
    sizes = frame["actual"].value_counts()
    assigned = frame["predicted"].value_counts()
    reproduced = frame.loc[frame["actual"] == frame["predicted"], "actual"].value_counts()
    out["customers"] = out["cluster"].map(sizes).fillna(0).astype(int)
    right = out["cluster"].map(reproduced).fillna(0)
    out["share_reproduced"] = right / out["customers"].where(out["customers"] > 0)
    out["precision"] = right / out["cluster"].map(assigned)  # missing where no rule assigns the cluster
    out["rules"] = out["cluster"].map(rules["cluster"].value_counts()).fillna(0).astype(int)
    return out.reset_index(drop=True)


def plot_cluster_profiles(features: pd.DataFrame, result: ClusterResult, ax=None):
    """Heatmap of each cluster's mean standardised (log) feature: blue below average, red above."""
    import matplotlib.pyplot as plt

    values = _transform(features, result.features)
    scaled = (values - values.mean(axis=0)) / values.std(axis=0)
    cluster = result.assignments["cluster"].to_numpy()
    centres = pd.DataFrame(scaled, columns=result.features).groupby(cluster).mean()
    if ax is None:
        _, ax = plt.subplots(figsize=(1.3 * len(result.features) + 3, 0.6 * len(centres) + 2))
    image = ax.imshow(centres.to_numpy(), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
    ax.grid(False)
    feature_words = _feature_words()
    ax.set_xticks(range(len(result.features)), [feature_words[c][0] for c in result.features], rotation=30, ha="right")
    names = dict(zip(result.profiles["cluster"], result.profiles["cluster_name"]))
    ax.set_yticks(range(len(centres)), [t("{cluster}: {name}", cluster=fmt_int(c), name=names[c]) for c in centres.index])
    for (i, j), value in np.ndenumerate(centres.to_numpy()):
        ax.text(j, i, f"{value:+.1f}", ha="center", va="center", fontsize=8, color="white" if abs(value) > 1.2 else "black")
    ax.figure.colorbar(image, ax=ax, label=t("SDs from average (log)"))
    ax.set_xlabel(t("Feature"))
    ax.set_ylabel(t("Cluster"))
    ax.set_title(t("Cluster profiles: how each cluster differs from the average customer"))
    return ax


def cluster_finding(result: ClusterResult) -> str:
    """Sentence: chosen k with its silhouette, and the largest and most valuable clusters."""
    chosen = result.silhouette.loc[result.silhouette["chosen"]].iloc[0]
    largest = result.profiles.sort_values("customers").iloc[-1]
    top = result.profiles.loc[result.profiles["cluster"] == 1].iloc[0]
    return t(
        "{clusters} clusters separate customers best (silhouette {silhouette}); the largest is \"{largest}\" "
        "({largest_share} of customers) and the most valuable \"{top}\" ({top_customers} customers).",
        clusters=fmt_int(result.k), silhouette=fmt_num(chosen["silhouette"], 2), largest=largest["cluster_name"],
        largest_share=fmt_pct(largest["share_of_customers"]), top=top["cluster_name"], top_customers=fmt_int(top["customers"]),
    )


def per_cluster_caption(explanation: TreeExplanation) -> str:
    """Caption of the per-cluster table."""
    return t("How well the rules reproduce each cluster ({customers} customers)", customers=fmt_int(explanation.customers))


def tree_caption(explanation: TreeExplanation) -> str:
    """Caption of the rules table: how deep the tree is and how many customers it reproduces."""
    return t(
        "Decision tree rules, {depth} questions deep: they put {accuracy} of {customers} customers in their own cluster",
        depth=fmt_int(explanation.depth), accuracy=fmt_pct(explanation.accuracy), customers=fmt_int(explanation.customers),
    )


def tree_finding(explanation: TreeExplanation) -> str:
    """Sentences: overall accuracy, the most valuable cluster's share reproduced and precision, and
    the cluster the rules reproduce least (or that no rule assigns)."""
    per_cluster = explanation.per_cluster.loc[explanation.per_cluster["customers"] > 0]
    top = per_cluster.sort_values("cluster").iloc[0]
    text = t(
        "Rules {depth} questions deep put {accuracy} of customers in their own cluster; they reproduce "
        "{top_recall} of the most valuable cluster \"{top}\" ({top_customers} customers), and {top_precision} of "
        "the customers they put there belong to it.",
        depth=fmt_int(explanation.depth), accuracy=fmt_pct(explanation.accuracy), top_recall=fmt_pct(top["share_reproduced"]),
        top=top["cluster_name"], top_customers=fmt_int(top["customers"]), top_precision=fmt_pct(top["precision"]),
    )
    unassigned = per_cluster.loc[per_cluster["rules"] == 0]
    if len(unassigned):
        weakest = unassigned.iloc[0]
        return text + " " + t(
            "No rule assigns \"{cluster}\" ({customers} customers): the features cannot tell it apart in "
            "{depth} questions.", cluster=weakest["cluster_name"], customers=fmt_int(weakest["customers"]),
            depth=fmt_int(explanation.depth))
    weakest = per_cluster.sort_values(["share_reproduced", "cluster"]).iloc[0]
    if weakest["share_reproduced"] >= 1:
        return text + " " + t("They reproduce every cluster exactly.")
    return text + " " + t(
        "The least well reproduced is \"{cluster}\": {recall} of its {customers} customers.",
        cluster=weakest["cluster_name"], recall=fmt_pct(weakest["share_reproduced"]), customers=fmt_int(weakest["customers"]))
