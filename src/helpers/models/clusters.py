"""Behaviour and value segmentation: k-means on standardised log features, k chosen by
silhouette, profiles in plain words and a shallow decision tree that explains membership.

Method: k-means (Lloyd 1982, k-means++ starts, scikit-learn) on ``log1p`` of non-negative
features scaled to zero mean and unit variance; the number of clusters maximises the mean
silhouette width (Rousseeuw 1987) on a seeded sample. Above ``fit_sample`` customers the model
is fitted on a seeded sample and every customer is then assigned to the nearest centre. The
explanation is a CART tree (Breiman et al. 1984) of depth 3 on the unscaled features.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from helpers.report.fmt import fmt_int, fmt_num, fmt_pct

__all__ = [
    "FEATURE_LABELS",
    "ClusterResult",
    "customer_features",
    "fit_clusters",
    "explain_clusters",
    "plot_cluster_profiles",
    "cluster_finding",
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


def _describe(centre: pd.Series) -> list[str]:
    words = []
    for column, z in centre.abs().sort_values(ascending=False).items():
        if abs(centre[column]) < _WORD_THRESHOLD:
            break
        high, low = FEATURE_LABELS.get(column, (column, "", f"high {column}", f"low {column}"))[2:]
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
    results, models = [], {}
    # One thread: on a shared machine k-means' OpenMP threads wait on each other and run 30-70x
    # slower; one thread fits 100,000 customers in about 1.5 s per k.
    with threadpool_limits(limits=1):
        for k in range(k_min, k_max + 1):
            model = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(fit_data)
            labels = model.labels_[score_rows]
            score = silhouette_score(fit_data[score_rows], labels) if len(np.unique(labels)) > 1 else -1.0
            results.append({"k": k, "silhouette": float(score), "inertia": float(model.inertia_)})
            models[k] = model
    silhouette = pd.DataFrame(results)
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
        words = _describe(centre)[:3] or ["typical"]
        names[number] = ", ".join(words)
    counts = pd.Series(list(names.values())).value_counts()
    names = {n: (f"{name} ({n})" if counts[name] > 1 else name) for n, name in names.items()}
    assignments = pd.DataFrame({"customer_id": features["customer_id"].to_numpy(), "cluster": cluster})
    assignments["cluster_name"] = assignments["cluster"].map(names)
    medians = features[columns].groupby(cluster).median()
    profiles = pd.DataFrame({"cluster": medians.index, "cluster_name": [names[c] for c in medians.index]})
    profiles["customers"] = pd.Series(cluster).value_counts().reindex(medians.index).to_numpy()
    profiles["share_of_customers"] = profiles["customers"] / len(features)
    for column in columns:
        profiles[f"median_{column}"] = medians[column].to_numpy()
    return ClusterResult(assignments, profiles, silhouette, best_k, columns)


def _threshold_text(column: str, threshold: float, above: bool, currency: str) -> str:
    label, unit = FEATURE_LABELS.get(column, (column, ""))[:2]
    if unit in _INTEGER_UNITS:
        # Trees split integers at x.5: "<= 2.5" is "at most 2", "> 2.5" is "at least 3".
        bound = int(np.floor(threshold))
        if bound == 0 and not above and unit in ("orders", "count"):
            return f"no {label}"
        return f"{label} at least {fmt_int(bound + 1)}" if above else f"{label} at most {fmt_int(bound)}"
    value = f"{currency}{fmt_num(threshold, 0)}" if unit == "money" else fmt_num(threshold, 1)
    return f"{label} above {value}" if above else f"{label} at most {value}"


def _bounds_text(column: str, low: float | None, high: float | None, currency: str) -> str:
    """One feature's condition on a tree path: above ``low`` and / or at most ``high``."""
    if low is None or high is None:
        return _threshold_text(column, high if low is None else low, low is not None, currency)
    label, unit = FEATURE_LABELS.get(column, (column, ""))[:2]
    if unit in _INTEGER_UNITS:
        first, last = int(np.floor(low)) + 1, int(np.floor(high))
        return f"{label} exactly {fmt_int(first)}" if first == last else f"{label} {fmt_int(first)} to {fmt_int(last)}"
    show = (lambda v: f"{currency}{fmt_num(v, 0)}") if unit == "money" else (lambda v: fmt_num(v, 1))
    return f"{label} above {show(low)} and at most {show(high)}"


def explain_clusters(
    features: pd.DataFrame, result: ClusterResult, seed: int = 2026, max_depth: int = 3, sample: int = 100_000, currency: str = "¥"
) -> tuple[pd.DataFrame, float]:
    """A depth-``max_depth`` decision tree predicting the cluster from the unscaled features.

    Returns the rules (one per leaf: plain-language conditions, predicted cluster, share of
    customers, and the share of them actually in that cluster) and the tree's accuracy on a
    seeded 30% test split.
    """
    merged = features.merge(result.assignments[["customer_id", "cluster", "cluster_name"]], on="customer_id")
    if len(merged) > sample:
        merged = merged.sample(sample, random_state=seed)
    X, y = merged[result.features].to_numpy(dtype=float), merged["cluster"].to_numpy()
    stratify = y if pd.Series(y).value_counts().min() >= 2 else None
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=stratify)
    tree = DecisionTreeClassifier(max_depth=max_depth, random_state=seed).fit(X_train, y_train)
    accuracy = float(tree.score(X_test, y_test))
    structure = tree.tree_
    names = dict(zip(result.profiles["cluster"], result.profiles["cluster_name"]))
    rows = []
    # Walk the (at most 2 ** max_depth leaves) tree from the root, carrying each path's bounds.
    stack = [(0, {})]
    while stack:
        node, bounds = stack.pop()
        left, right = structure.children_left[node], structure.children_right[node]
        if left == right:  # leaf
            counts = structure.value[node][0]
            predicted = tree.classes_[int(np.argmax(counts))]
            conditions = [_bounds_text(column, low, high, currency) for column, (low, high) in bounds.items()]
            rows.append(
                {
                    "rule": " and ".join(conditions) or "all customers",
                    "cluster": int(predicted),
                    "cluster_name": names.get(predicted, str(predicted)),
                    "share_of_customers": structure.weighted_n_node_samples[node] / structure.weighted_n_node_samples[0],
                    "purity": float(counts.max() / counts.sum()),
                }
            )
            continue
        column, threshold = result.features[structure.feature[node]], float(structure.threshold[node])
        low, high = bounds.get(column, (None, None))
        stack.append((right, {**bounds, column: (threshold if low is None else max(low, threshold), high)}))
        stack.append((left, {**bounds, column: (low, threshold if high is None else min(high, threshold))}))
    rules = pd.DataFrame(rows).sort_values(["cluster", "share_of_customers"], ascending=[True, False]).reset_index(drop=True)
    return rules, accuracy


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
    ax.set_xticks(range(len(result.features)), [FEATURE_LABELS[c][0] for c in result.features], rotation=30, ha="right")
    names = dict(zip(result.profiles["cluster"], result.profiles["cluster_name"]))
    ax.set_yticks(range(len(centres)), [f"{c}: {names[c]}" for c in centres.index])
    for (i, j), value in np.ndenumerate(centres.to_numpy()):
        ax.text(j, i, f"{value:+.1f}", ha="center", va="center", fontsize=8, color="white" if abs(value) > 1.2 else "black")
    ax.figure.colorbar(image, ax=ax, label="SDs from average (log)")
    ax.set_xlabel("Feature")
    ax.set_ylabel("Cluster")
    ax.set_title("Cluster profiles: how each cluster differs from the average customer")
    return ax


def cluster_finding(result: ClusterResult) -> str:
    """Sentence: chosen k with its silhouette, and the largest and most valuable clusters."""
    chosen = result.silhouette.loc[result.silhouette["chosen"]].iloc[0]
    largest = result.profiles.sort_values("customers").iloc[-1]
    top = result.profiles.loc[result.profiles["cluster"] == 1].iloc[0]
    return (
        f"{result.k} clusters separate customers best (silhouette {fmt_num(chosen['silhouette'], 2)}); the largest is "
        f"\"{largest['cluster_name']}\" ({fmt_pct(largest['share_of_customers'])} of customers) and the most valuable "
        f"\"{top['cluster_name']}\" ({fmt_int(top['customers'])} customers)."
    )


def tree_finding(rules: pd.DataFrame, accuracy: float) -> str:
    """Sentence: how well the three-level tree reproduces the clusters and its largest rule."""
    biggest = rules.sort_values("share_of_customers").iloc[-1]
    return (
        f"A shallow decision tree assigns {fmt_pct(accuracy)} of held-out customers to the right cluster; "
        f"its largest rule: {biggest['rule']} -> \"{biggest['cluster_name']}\" ({fmt_pct(biggest['share_of_customers'])} of customers)."
    )
