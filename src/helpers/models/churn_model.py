"""Churn early warning: a classifier that scores every active customer's risk of churning in
the next N days (``params.churn_inactivity_days``), validated on a time-based holdout.

* Features are computed as of a cut-off day from data on or before that day only (recency,
  frequency and monetary value over 90 / 180 / 365 days, order trend, tenure, complaints and
  their resolution time, last NPS / CSAT, optional web / app sessions, segment / region / main
  channel).
* Label: a customer active at the cut-off (a valid purchase in the N days ending on it) churns
  when there is no valid purchase in the N days after it (the churn definition of chapter 01).
* Training cut-off = quarter end - 2N days (labelled by quarter end - N); holdout cut-off =
  quarter end - N (labelled by quarter end). The orders must cover 3N days up to the quarter end
  (the N days of activity before the training cut-off and the two label windows), and each
  cut-off needs at least ``MIN_CUSTOMERS`` active customers with at least ``min_churners``
  churners and as many non-churners; otherwise ``NotAvailable`` says what there is. A regularised logistic regression and a
  histogram gradient boosting classifier are compared on the holdout (ROC AUC) against a
  recency-only baseline; the better model is refitted on both labelled cut-offs and scores
  every customer active at the quarter end.
* Reasons per customer are occlusion attributions (Zeiler and Fergus 2014): how much the
  churn probability falls when one feature is set to the training median.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers import facts
from helpers.data.codes import positions
from helpers.errors import NotAvailable
from helpers.facts import purchase_lines
from helpers.quarters import Quarter
from helpers.report.fmt import fmt_date, fmt_int, fmt_num, fmt_pct
from helpers.report.i18n import t
from helpers.validation import require_columns

WINDOWS = (90, 180, 365)
CATEGORICAL_FEATURES = ("segment", "region", "main_channel")
MAX_TRAINING_ROWS = 200_000
# Fewer active customers at a cut-off leave the holdout AUC and top-decile lift mostly noise.
MIN_CUSTOMERS = 50
_MIN_CHURNERS_OPTION = "chapter_options.03_behaviour.churn_model_min_churners"
MAX_IMPORTANCE_ROWS = 20_000

FEATURE_LABELS = {
    "days_since_last_purchase": "Days since last purchase",
    "tenure_days": "Days since first purchase",
    "orders_total": "Orders in total",
    "orders_per_month": "Orders per month since the first purchase",
    "orders_90d": "Orders in last 90 days",
    "orders_180d": "Orders in last 180 days",
    "orders_365d": "Orders in last 365 days",
    "orders_prev_90d": "Orders 91-180 days ago",
    "order_trend": "Order trend (last 90 vs previous 90 days)",
    "revenue_90d": "Revenue in last 90 days",
    "revenue_180d": "Revenue in last 180 days",
    "revenue_365d": "Revenue in last 365 days",
    "recency_vs_usual_gap": "Days since last purchase / usual gap between orders",
    "categories_365d": "Categories bought in last 365 days",
    "complaints_90d": "Complaints in last 90 days",
    "complaints_365d": "Complaints in last 365 days",
    "open_complaints": "Unresolved complaints",
    "mean_resolution_hours": "Mean complaint resolution time (hours)",
    "last_nps": "Last NPS score",
    "last_csat": "Last CSAT score",
    "sessions_30d": "Web / app sessions in last 30 days",
    "sessions_90d": "Web / app sessions in last 90 days",
    "days_since_last_visit": "Days since last web / app visit",
    "segment": "Segment",
    "region": "Region",
    "main_channel": "Main sales channel",
}


def feature_label(column: str) -> str:
    """The ``FEATURE_LABELS`` label of ``column`` in the report's language (``FEATURE_LABELS`` is English)."""
    labels = {
        "days_since_last_purchase": t("Days since last purchase"),
        "tenure_days": t("Days since first purchase"),
        "orders_total": t("Orders in total"),
        "orders_per_month": t("Orders per month since the first purchase"),
        "orders_90d": t("Orders in last 90 days"),
        "orders_180d": t("Orders in last 180 days"),
        "orders_365d": t("Orders in last 365 days"),
        "orders_prev_90d": t("Orders 91-180 days ago"),
        "order_trend": t("Order trend (last 90 vs previous 90 days)"),
        "revenue_90d": t("Revenue in last 90 days"),
        "revenue_180d": t("Revenue in last 180 days"),
        "revenue_365d": t("Revenue in last 365 days"),
        "recency_vs_usual_gap": t("Days since last purchase / usual gap between orders"),
        "categories_365d": t("Categories bought in last 365 days"),
        "complaints_90d": t("Complaints in last 90 days"),
        "complaints_365d": t("Complaints in last 365 days"),
        "open_complaints": t("Unresolved complaints"),
        "mean_resolution_hours": t("Mean complaint resolution time (hours)"),
        "last_nps": t("Last NPS score"),
        "last_csat": t("Last CSAT score"),
        "sessions_30d": t("Web / app sessions in last 30 days"),
        "sessions_90d": t("Web / app sessions in last 90 days"),
        "days_since_last_visit": t("Days since last web / app visit"),
        "segment": t("Segment"),
        "region": t("Region"),
        "main_channel": t("Main sales channel"),
    }
    return labels.get(column, FEATURE_LABELS.get(column, column))


def _day(value) -> str:
    """A day for readers (``fmt_date`` of the calendar day, whatever the time of ``value``)."""
    return fmt_date(pd.Timestamp(value).date())


def _baseline_name() -> str:
    """The name of the recency-only baseline in the validation table (in the report's language)."""
    return t("Recency only (baseline)")


# Which side of a feature is the risky one (+1: higher values, -1: lower values). A feature is a
# customer's reason only when their value lies on that side of the typical (median) value, so a
# model quirk between correlated features never reads as "no purchase for 0 days".
RISK_SIDE = {
    "days_since_last_purchase": 1, "tenure_days": -1, "orders_total": -1, "orders_per_month": -1,
    "orders_90d": -1, "orders_180d": -1, "orders_365d": -1, "order_trend": -1,
    "revenue_90d": -1, "revenue_180d": -1, "revenue_365d": -1, "recency_vs_usual_gap": 1, "categories_365d": -1,
    "complaints_90d": 1, "complaints_365d": 1, "open_complaints": 1, "mean_resolution_hours": 1,
    "last_nps": -1, "last_csat": -1, "sessions_30d": -1, "sessions_90d": -1, "days_since_last_visit": 1,
}


# ----------------------------------------------------------------------------- features and labels
@dataclass(frozen=True)
class History:
    """The purchase lines on or before a day and the customers' web / app events, their text
    coded once: a customer is a position in ``ids`` (the orders' customer ids, sorted, as
    grouping sorts them), an order, a category, a channel and a session a number (-1: missing),
    a day the number of days since 1970-01-01. The features of the churn model group these
    numbers at each cut-off; grouping the text ids again at every cut-off is what costs at
    millions of lines (``history``).
    """

    day: pd.Timestamp
    ids: pd.Index
    lines: pd.DataFrame  # customer, order, day, value (net amount), category, channel; in the orders' row order
    channels: pd.Index | None  # channel code -> channel
    events: pd.DataFrame | None  # customer, day, session; events of customers not in the orders left out


def history(orders: pd.DataFrame, day, events: pd.DataFrame | None = None) -> History:
    """The ``History`` of ``orders`` (and ``events``) up to the day ``day`` (inclusive)."""
    require_columns(orders, ["order_id", "customer_id", "order_date", "net_amount", "is_purchase"], "orders")
    day = pd.Timestamp(day).normalize()
    rows = facts.purchase_positions(orders, end=facts.end_of_day(day))
    customer, ids = pd.factorize(orders["customer_id"], sort=True)
    ids = pd.Index(ids)
    coded = pd.DataFrame({"customer": customer[rows], "order": pd.factorize(orders["order_id"])[0][rows],
                          "day": facts.day_numbers(orders["order_date"])[rows],
                          "value": orders["net_amount"].to_numpy()[rows]})
    channels = None
    if "category" in orders.columns:
        coded["category"] = pd.factorize(orders["category"])[0][rows]
    if "channel" in orders.columns:
        channel, channels = pd.factorize(orders["channel"], sort=True)
        coded["channel"], channels = channel[rows], pd.Index(channels)
    coded_events = None
    if events is not None:
        require_columns(events, ["customer_id", "event_time"], "events")
        event_day = facts.day_numbers(events["event_time"])
        # A customer's day stands in for a session without session ids.
        session = pd.factorize(events["session_id"] if "session_id" in events.columns else event_day)[0]
        coded_events = pd.DataFrame({"customer": positions(events["customer_id"], ids), "day": event_day,
                                     "session": session})
        seen = (events["event_time"] <= facts.end_of_day(day)).to_numpy() & (coded_events["customer"] >= 0).to_numpy()
        coded_events = coded_events.loc[seen]
    return History(day, ids, coded, channels, coded_events)


def _distinct(coded: pd.Series) -> pd.Series:
    """Codes with the missing ones (-1) as NaN, so that ``nunique`` leaves them out as it leaves missing text out."""
    return coded.where(coded >= 0)


def churn_features(
    orders: pd.DataFrame,
    cutoff,
    customers: pd.DataFrame | None = None,
    tickets: pd.DataFrame | None = None,
    surveys: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    inactivity_days: int = 90,
    active_only: bool = True,
    past: History | None = None,
) -> pd.DataFrame:
    """Features of every customer as of the day ``cutoff``, from data on or before that day only.

    ``active_only`` keeps customers with a valid purchase in the ``inactivity_days`` days ending
    on the cut-off (fewer than ``inactivity_days`` days since the last purchase).
    Returns one row per ``customer_id`` (index) with the columns of ``FEATURE_LABELS`` whose
    source was given. ``past``: the ``history`` of ``orders`` and ``events`` up to the cut-off or
    a later day, when the caller has it (the features of several cut-offs share one).
    """
    day = pd.Timestamp(cutoff).normalize()
    past = history(orders, day, events) if past is None else past
    if past.day < day:
        raise ValueError(f"the history ends on {past.day.date()}, before the cut-off {day.date()}")
    today = int(facts.day_numbers([day])[0])
    lines = past.lines.loc[past.lines["day"].to_numpy() <= today]
    if lines.empty:
        raise ValueError(f"no valid purchase on or before the cut-off {day.date()}")
    age = today - lines["day"]
    per_order = (
        pd.DataFrame({"order": lines["order"], "customer": lines["customer"], "age": age, "value": lines["value"]})
        .groupby("order", sort=False)
        .agg(customer=("customer", "first"), age=("age", "min"), value=("value", "sum"))
    )
    counts = {"orders_total": np.ones(len(per_order), dtype=int)}
    for window in WINDOWS:
        inside = (per_order["age"] < window).to_numpy()
        counts[f"orders_{window}d"] = inside.astype(int)
        counts[f"revenue_{window}d"] = np.where(inside, per_order["value"], 0.0)
    counts["orders_prev_90d"] = ((per_order["age"] >= 90) & (per_order["age"] < 180)).astype(int).to_numpy()
    counts["min_age"], counts["max_age"] = per_order["age"].to_numpy(), per_order["age"].to_numpy()
    frame = pd.DataFrame(counts, index=per_order["customer"])
    grouped = frame.groupby(level=0)
    features = grouped.sum().drop(columns=["min_age", "max_age"])
    features["days_since_last_purchase"] = grouped["min_age"].min()
    features["tenure_days"] = grouped["max_age"].max()
    features["order_trend"] = features["orders_90d"] - features["orders_prev_90d"]
    # Purchase rate over the whole relationship (a first month counts as a month).
    features["orders_per_month"] = features["orders_total"] / features["tenure_days"].clip(lower=30) * 30
    usual_gap = (features["tenure_days"] - features["days_since_last_purchase"]) / (features["orders_total"] - 1)
    usual_gap = usual_gap.where(features["orders_total"] > 1).clip(lower=1)
    features["recency_vs_usual_gap"] = features["days_since_last_purchase"] / usual_gap
    if active_only:
        features = features[~facts.is_churned(features["days_since_last_purchase"], inactivity_days)]
    recent = lines[age < 365]
    if "category" in recent.columns:
        categories = _distinct(recent["category"]).groupby(recent["customer"]).nunique()
        features["categories_365d"] = categories.reindex(features.index).fillna(0)
    if "channel" in recent.columns:
        labelled = recent.loc[recent["channel"] >= 0]
        by_channel = labelled.groupby(["customer", "channel"]).size().rename("n").reset_index()
        main = by_channel.sort_values(["n", "channel"], ascending=[False, True]).drop_duplicates("customer")
        features["main_channel"] = pd.Series(past.channels.take(main["channel"].to_numpy()),
                                             index=main["customer"].to_numpy()).reindex(features.index)
    if past.events is not None:
        features = features.join(_event_features(past.events, today))
        features[["sessions_30d", "sessions_90d"]] = features[["sessions_30d", "sessions_90d"]].fillna(0)
    features.index = past.ids.take(features.index.to_numpy())
    if tickets is not None:
        features = features.join(_complaint_features(tickets, day))
        features[["complaints_90d", "complaints_365d", "open_complaints"]] = (
            features[["complaints_90d", "complaints_365d", "open_complaints"]].fillna(0)
        )
    if surveys is not None:
        features = features.join(_survey_features(surveys, day))
    if customers is not None:
        attributes = customers.drop_duplicates("customer_id").set_index("customer_id")
        for column in ("segment", "region"):
            if column in attributes.columns:
                features[column] = features.index.map(attributes[column])
    for column in CATEGORICAL_FEATURES:
        if column in features.columns:
            features[column] = features[column].astype("object").fillna("Unknown").astype(str).astype(object)
    features.index.name = "customer_id"
    ordered = [c for c in FEATURE_LABELS if c in features.columns]
    return features[ordered]


def _complaint_features(tickets: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    require_columns(tickets, ["customer_id", "created_at", "ticket_type"], "tickets")
    until = facts.end_of_day(day)
    complaints = tickets[(tickets["ticket_type"] == "complaint") & (tickets["created_at"] <= until)]
    age = (day - complaints["created_at"].dt.normalize()).dt.days
    resolved = complaints["resolved_at"] if "resolved_at" in complaints.columns else pd.Series(pd.NaT, index=complaints.index)
    resolved_by_cutoff = resolved.notna() & (resolved <= until)
    # Resolution time is only known for complaints resolved by the cut-off.
    hours = (resolved - complaints["created_at"]).dt.total_seconds() / 3600
    frame = pd.DataFrame(
        {
            "complaints_90d": (age < 90).astype(int),
            "complaints_365d": (age < 365).astype(int),
            "open_complaints": (~resolved_by_cutoff).astype(int),
            "resolution_hours": hours.where(resolved_by_cutoff & (age < 365)),
        }
    )
    grouped = frame.groupby(complaints["customer_id"])
    out = grouped[["complaints_90d", "complaints_365d", "open_complaints"]].sum()
    out["mean_resolution_hours"] = grouped["resolution_hours"].mean()
    return out


def _survey_features(surveys: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    require_columns(surveys, ["customer_id", "response_date"], "surveys")
    answered = surveys[surveys["response_date"] <= facts.end_of_day(day)].sort_values("response_date")
    out = {}
    for score, name in (("nps_score", "last_nps"), ("csat_score", "last_csat")):
        if score in answered.columns:
            rows = answered[answered[score].notna()]
            out[name] = rows.groupby("customer_id")[score].last()
    return pd.DataFrame(out)


def _event_features(events: pd.DataFrame, today: int) -> pd.DataFrame:
    """Sessions and the last visit of each customer (code) from the coded events of ``History``, as of the day number ``today``."""
    seen = events.loc[events["day"] <= today]
    frame = pd.DataFrame({"customer": seen["customer"], "session": _distinct(seen["session"]), "age": today - seen["day"]})
    last_visit = frame.groupby("customer")["age"].min()
    recent = frame[frame["age"] < 90]
    return pd.DataFrame(
        {
            "sessions_30d": recent[recent["age"] < 30].groupby("customer")["session"].nunique(),
            "sessions_90d": recent.groupby("customer")["session"].nunique(),
            "days_since_last_visit": last_visit,
        }
    )


def churn_labels(orders: pd.DataFrame, cutoff, inactivity_days: int = 90, past: History | None = None) -> pd.Series:
    """1 for customers active at ``cutoff`` (a valid purchase in the N days ending on it) with no
    valid purchase in the ``inactivity_days`` = N days after it (days cutoff+1 .. cutoff+N),
    else 0. Index: ``customer_id``. ``past``: the ``history`` of ``orders`` up to cutoff+N or later.
    """
    inactivity_days = facts.churn_window(inactivity_days, "inactivity_days")
    day = pd.Timestamp(cutoff).normalize()
    until = day + pd.Timedelta(days=int(inactivity_days))
    past = history(orders, until) if past is None else past
    if past.day < until:
        raise ValueError(f"the history ends on {past.day.date()}, before the end of the label window {until.date()}")
    today = int(facts.day_numbers([day])[0])
    lines = past.lines.loc[past.lines["day"] <= today + inactivity_days, ["customer", "day"]]
    before = lines.loc[lines["day"] <= today]
    last = before.groupby("customer")["day"].max()
    active = last.index[~facts.is_churned(today - last, inactivity_days)]
    bought_after = lines.loc[lines["day"] > today, "customer"].unique()
    labels = pd.Series(np.where(np.isin(active, bought_after), 0, 1), index=past.ids.take(active.to_numpy()),
                       name="churned")
    labels.index.name = "customer_id"
    return labels.sort_index()


# ----------------------------------------------------------------------------- models
def _signed_log(values):
    return np.sign(values) * np.log1p(np.abs(values))


def _fill_empty_columns(values):
    """A feature with no value at all (e.g. resolution times in an export without them) becomes a
    constant 0: it carries no information either way, and an all-missing column breaks the
    boosting model's binning. Missing values in other columns stay missing (the model uses them)."""
    frame = pd.DataFrame(values).copy()
    empty = frame.columns[frame.isna().all()]
    frame[empty] = 0.0
    return frame


def _make_models(numeric: list[str], categorical: list[str], seed: int) -> dict:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    def encoder():
        return OneHotEncoder(handle_unknown="ignore", max_categories=12, sparse_output=False)

    logistic = make_pipeline(
        ColumnTransformer(
            [
                ("numeric", make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    FunctionTransformer(_signed_log, feature_names_out="one-to-one"),
                    StandardScaler(),
                ), numeric),
                ("category", encoder(), categorical),
            ]
        ),
        LogisticRegression(C=0.1, max_iter=2000),
    )
    boosting = make_pipeline(
        ColumnTransformer([("numeric", FunctionTransformer(_fill_empty_columns, feature_names_out="one-to-one"), numeric),
                           ("category", encoder(), categorical)]),
        HistGradientBoostingClassifier(
            learning_rate=0.1, max_iter=300, max_leaf_nodes=15, min_samples_leaf=40, l2_regularization=1.0,
            early_stopping=True, validation_fraction=0.15, n_iter_no_change=15, random_state=seed,
        ),
    )
    return {t("Logistic regression"): logistic, t("Gradient boosting"): boosting}


def _top_decile(y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """Churn rate among the 10% highest scores and its lift over the base rate."""
    top = max(int(np.ceil(0.1 * len(y))), 1)
    order = np.argsort(-score, kind="stable")[:top]
    precision = float(y[order].mean())
    base = float(y.mean())
    return precision, precision / base if base else np.nan


@dataclass
class ChurnModel:
    """The fitted early-warning model and its holdout validation (fields ending in ``_``)."""

    inactivity_days: int
    seed: int
    train_cutoff: pd.Timestamp
    holdout_cutoff: pd.Timestamp
    numeric_: list[str] = field(default_factory=list)
    categorical_: list[str] = field(default_factory=list)
    model_name_: str = ""
    validated_model_: object = None
    final_model_: object = None
    validation_: pd.DataFrame | None = None
    holdout_: pd.DataFrame | None = None
    holdout_features_: pd.DataFrame | None = None
    reference_: pd.Series | None = None
    sources_: dict = field(default_factory=dict)


def _require_history(orders: pd.DataFrame, end: pd.Timestamp, n_days: int) -> None:
    """``NotAvailable`` unless the valid purchases cover the 3N days up to ``end`` (see the module docstring)."""
    lines = purchase_lines(orders, end=facts.end_of_day(end), columns=[])
    if lines.empty:
        raise NotAvailable(t("no valid purchase on or before {date}", date=_day(end)), t("orders up to the quarter end"))
    first = lines["order_date"].min().normalize()
    covered = int((end - first).days) + 1
    needed = 3 * n_days
    if covered < needed:
        train, holdout = end - pd.Timedelta(days=2 * n_days), end - pd.Timedelta(days=n_days)
        raise NotAvailable(
            t("the orders cover {covered} days up to {end} (from {first}); the churn model needs {needed}: {days} days "
              "of activity before the training cut-off {train} and the {days}-day windows after it and after the "
              "holdout cut-off {holdout} that say who churned", covered=fmt_int(covered), end=_day(end),
              first=_day(first), needed=fmt_int(needed), days=n_days, train=_day(train),
              holdout=_day(holdout)),
            t("orders from {date} or earlier, or a shorter churn window (churn_inactivity_days)",
              date=_day(end - pd.Timedelta(days=needed - 1))))


def _require_both_classes(labels: np.ndarray, cutoff: pd.Timestamp, name: str, min_churners: int) -> None:
    """``NotAvailable`` with the counts unless ``labels`` hold ``MIN_CUSTOMERS`` customers and at
    least ``min_churners`` of each class."""
    churners = int(labels.sum())
    stayers = len(labels) - churners
    if len(labels) >= MIN_CUSTOMERS and min(churners, stayers) >= min_churners:
        return
    needs = t("at least {min_churners} of each class", min_churners=fmt_int(min_churners))
    if len(labels) < MIN_CUSTOMERS:
        needs = t("at least {min_customers} customers and {min_churners} of each class", min_customers=MIN_CUSTOMERS,
                  min_churners=fmt_int(min_churners))
    counts = dict(churners=fmt_int(churners), stayers=fmt_int(stayers), customers=fmt_int(len(labels)),
                  date=_day(cutoff), needs=needs)
    if name == "training":
        missing = t("{churners} churners and {stayers} non-churners among the {customers} customers active on {date} "
                    "(the training cut-off); the model needs {needs}", **counts)
    elif name == "holdout":
        missing = t("{churners} churners and {stayers} non-churners among the {customers} customers active on {date} "
                    "(the holdout cut-off); the model needs {needs}", **counts)
    else:
        raise ValueError(f"name must be 'training' or 'holdout', got {name!r}")
    raise NotAvailable(
        missing,
        t("more customers or a longer order history, a different churn window (churn_inactivity_days), or a lower "
          "{option}", option=_MIN_CHURNERS_OPTION))


def fit_churn_model(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    period: Quarter | str,
    inactivity_days: int = 90,
    seed: int = 0,
    tickets: pd.DataFrame | None = None,
    surveys: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    min_churners: int = 20,
) -> ChurnModel:
    """Fit and validate the early-warning model for the quarter ``period`` (see module docstring).

    Raises ``NotAvailable`` when the orders cover fewer than 3N days up to the quarter end, or a
    cut-off has fewer than ``MIN_CUSTOMERS`` active customers or fewer than ``min_churners``
    churners or non-churners (``chapter_options.03_behaviour.churn_model_min_churners``).
    """
    from sklearn.base import clone
    from sklearn.metrics import brier_score_loss, roc_auc_score

    if int(min_churners) < 1:
        raise ValueError(f"min_churners must be at least 1, got {min_churners}")
    period = Quarter.parse(period)
    n_days = facts.churn_window(inactivity_days, "inactivity_days")
    end = period.last_day
    _require_history(orders, end, n_days)
    result = ChurnModel(n_days, int(seed), end - pd.Timedelta(days=2 * n_days), end - pd.Timedelta(days=n_days))
    sources = {"customers": customers, "tickets": tickets, "surveys": surveys, "events": events}
    result.sources_ = {k: v is not None for k, v in sources.items()}

    past = history(orders, end, events)  # both cut-offs and their label windows end by the quarter end

    def labelled(cutoff):
        features = churn_features(orders, cutoff, inactivity_days=n_days, **sources, past=past)
        labels = churn_labels(orders, cutoff, n_days, past).reindex(features.index)
        return features, labels.to_numpy()

    x_train, y_train = labelled(result.train_cutoff)
    _require_both_classes(y_train, result.train_cutoff, "training", int(min_churners))
    x_hold, y_hold = labelled(result.holdout_cutoff)
    del past
    _require_both_classes(y_hold, result.holdout_cutoff, "holdout", int(min_churners))
    if len(x_train) > MAX_TRAINING_ROWS:
        keep = np.random.default_rng(seed).choice(len(x_train), MAX_TRAINING_ROWS, replace=False)
        x_train, y_train = x_train.iloc[keep], y_train[keep]
    result.categorical_ = [c for c in CATEGORICAL_FEATURES if c in x_train.columns]
    result.numeric_ = [c for c in x_train.columns if c not in result.categorical_]
    rows = []
    fitted = {}
    for name, model in _make_models(result.numeric_, result.categorical_, seed).items():  # two models
        model.fit(x_train, y_train)
        probability = model.predict_proba(x_hold)[:, 1]
        precision, lift = _top_decile(y_hold, probability)
        fitted[name] = (model, probability)
        rows.append(
            {
                "model": name,
                "auc": roc_auc_score(y_hold, probability),
                "precision_top_decile": precision,
                "lift_top_decile": lift,
                "brier_score": brier_score_loss(y_hold, probability),
            }
        )
    recency = x_hold["days_since_last_purchase"].to_numpy(float)
    precision, lift = _top_decile(y_hold, recency)
    rows.append(
        {"model": _baseline_name(), "auc": roc_auc_score(y_hold, recency), "precision_top_decile": precision,
         "lift_top_decile": lift, "brier_score": np.nan}
    )
    validation = pd.DataFrame(rows)
    best = validation.iloc[:2]["auc"].idxmax()
    result.model_name_ = validation.loc[best, "model"]
    validation["chosen"] = validation["model"] == result.model_name_
    validation["n_train"], validation["n_holdout"] = len(x_train), len(x_hold)
    validation["base_rate"] = float(y_hold.mean())
    validation["train_cutoff"] = result.train_cutoff.date().isoformat()
    validation["holdout_cutoff"] = result.holdout_cutoff.date().isoformat()
    validation["inactivity_days"] = n_days
    result.validation_ = validation
    result.validated_model_, probability = fitted[result.model_name_]
    result.holdout_features_ = x_hold
    result.holdout_ = pd.DataFrame(
        {"customer_id": x_hold.index, "churned": y_hold, "churn_probability": probability, "days_since_last_purchase": recency}
    )
    # Refit the chosen model on both labelled cut-offs for scoring the quarter end.
    x_all = pd.concat([x_train, x_hold])
    y_all = np.concatenate([y_train, y_hold])
    if len(x_all) > MAX_TRAINING_ROWS:
        keep = np.random.default_rng(seed + 1).choice(len(x_all), MAX_TRAINING_ROWS, replace=False)
        x_all, y_all = x_all.iloc[keep], y_all[keep]
    result.final_model_ = clone(result.validated_model_).fit(x_all, y_all)
    reference = x_all[result.numeric_].median().astype(object)
    for column in result.categorical_:
        reference[column] = x_all[column].mode().iloc[0]
    result.reference_ = reference
    return result


def validation_finding(model: ChurnModel) -> str:
    """AUC of the chosen model against the recency-only baseline and its top-decile lift."""
    table = model.validation_.set_index("model")
    chosen = table.loc[model.model_name_]
    baseline = table.loc[_baseline_name()]
    return t(
        "On the holdout (customers active on {date}, {base_rate} churned) the {model} reaches an AUC of {auc} against "
        "{baseline_auc} for days since last purchase alone; its top 10% riskiest customers churned at {precision}, "
        "{lift} times the base rate.",
        date=_day(model.holdout_cutoff), base_rate=fmt_pct(chosen["base_rate"]), model=model.model_name_.lower(),
        auc=fmt_num(chosen["auc"], 3), baseline_auc=fmt_num(baseline["auc"], 3),
        precision=fmt_pct(chosen["precision_top_decile"]), lift=fmt_num(chosen["lift_top_decile"], 1),
    )


def validation_numbers(model: ChurnModel) -> dict[str, float]:
    """The headline validation numbers (for the chapter's findings record)."""
    table = model.validation_.set_index("model")
    chosen = table.loc[model.model_name_]
    return {
        "holdout_auc": float(chosen["auc"]),
        "baseline_auc": float(table.loc[_baseline_name(), "auc"]),
        "precision_top_decile": float(chosen["precision_top_decile"]),
        "lift_top_decile": float(chosen["lift_top_decile"]),
        "holdout_base_rate": float(chosen["base_rate"]),
    }


# ----------------------------------------------------------------------------- validation charts
def lift_table(holdout: pd.DataFrame, score: str = "churn_probability", deciles: int = 10) -> pd.DataFrame:
    """Holdout customers in deciles of ``score`` (1 = highest risk): churn rate, lift and the
    cumulative share of all churners captured.
    """
    require_columns(holdout, ["churned", score], "holdout")
    rank = holdout[score].rank(method="first", ascending=False)
    decile = np.ceil(rank / len(holdout) * deciles).astype(int).clip(1, deciles)
    table = holdout.groupby(decile.rename("decile"))["churned"].agg(customers="size", churned="sum").reset_index()
    base = holdout["churned"].mean()
    table["churn_rate"] = table["churned"] / table["customers"]
    table["lift"] = table["churn_rate"] / base if base else np.nan
    table["cumulative_share_of_churners"] = table["churned"].cumsum() / max(table["churned"].sum(), 1)
    return table


def plot_lift(holdout: pd.DataFrame, ax=None):
    """Lift by risk decile on the holdout, model against the recency-only baseline."""
    model = lift_table(holdout)
    baseline = lift_table(holdout, score="days_since_last_purchase")
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    width = 0.4
    ax.bar(model["decile"] - width / 2, model["lift"], width, label=t("Churn model"))
    ax.bar(baseline["decile"] + width / 2, baseline["lift"], width, label=t("Days since last purchase"), color="#BBBBBB")
    ax.axhline(1, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(model["decile"])
    ax.set_title(t("Lift by risk decile (holdout)"))
    ax.set_xlabel(t("Risk decile (1 = highest predicted risk)"))
    ax.set_ylabel(t("Churn rate / average churn rate (x)"))
    ax.legend()
    return ax


def calibration_table(holdout: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability against the observed churn rate in quantile bins
    (``sklearn.calibration.calibration_curve``)."""
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(holdout["churned"], holdout["churn_probability"], n_bins=bins, strategy="quantile")
    return pd.DataFrame({"bin": np.arange(1, len(observed) + 1), "mean_predicted": predicted, "observed_churn_rate": observed})


def plot_calibration(holdout: pd.DataFrame, ax=None):
    """Reliability diagram: predicted against observed churn on the holdout."""
    table = calibration_table(holdout)
    ax = ax or plt.subplots(figsize=(5, 5))[1]
    ax.plot([0, 100], [0, 100], linestyle="--", color="grey", label=t("Perfect calibration"))
    ax.plot(table["mean_predicted"] * 100, table["observed_churn_rate"] * 100, marker="o", label=t("Churn model"))
    ax.set_title(t("Calibration on the holdout"))
    ax.set_xlabel(t("Predicted churn probability (%)"))
    ax.set_ylabel(t("Observed churn rate (%)"))
    ax.legend()
    return ax


# ----------------------------------------------------------------------------- drivers and scores
def feature_drivers(model: ChurnModel, top: int = 12) -> pd.DataFrame:
    """The features that drive the validated model: permutation importance (Breiman 2001), the
    drop in holdout ROC AUC when a feature's values are shuffled (5 seeded repeats on at most
    20,000 holdout rows). The direction is the sign of the Spearman correlation of the feature
    with the predicted risk (categorical features: "depends on value").

    Returns ``feature, importance, direction``.
    """
    from sklearn.metrics import roc_auc_score

    x_hold = model.holdout_features_
    y_hold = model.holdout_["churned"].to_numpy()
    rng = np.random.default_rng(model.seed)
    if len(x_hold) > MAX_IMPORTANCE_ROWS:
        keep = rng.choice(len(x_hold), MAX_IMPORTANCE_ROWS, replace=False)
        x_hold, y_hold = x_hold.iloc[keep], y_hold[keep]
    # The preprocessing works column by column, so shuffling a feature's transformed columns
    # (with its missing-value flag or one-hot columns) equals shuffling the feature itself;
    # transforming once keeps this fast.
    preprocess, estimator = model.validated_model_[0], model.validated_model_[-1]
    matrix = np.asarray(preprocess.transform(x_hold), dtype=float)
    groups = _column_groups(preprocess, list(x_hold.columns))
    scorer = _scorer(estimator, matrix)
    risk_values = scorer.base
    baseline = roc_auc_score(y_hold, risk_values)
    drops = np.zeros(len(x_hold.columns))
    for k, column in enumerate(x_hold.columns):  # 5 shuffles each, in the order the seeded generator draws them
        for _ in range(5):
            copy = matrix.copy()
            copy[:, groups[column]] = matrix[rng.permutation(len(matrix))][:, groups[column]]
            drops[k] += (baseline - roc_auc_score(y_hold, scorer.changed(copy, groups[column]))) / 5
    importance = pd.Series(drops)
    risk = pd.Series(risk_values, index=x_hold.index)
    signs = [
        x_hold[c].astype(float).corr(risk, method="spearman") if c in model.numeric_ and x_hold[c].nunique() > 1 else np.nan
        for c in x_hold.columns
    ]
    table = pd.DataFrame(
        {"feature": [feature_label(c) for c in x_hold.columns], "importance": importance.to_numpy(), "sign": signs}
    )
    table["direction"] = np.select(
        [table["sign"] > 0, table["sign"] < 0], [t("higher value, higher risk"), t("higher value, lower risk")],
        t("depends on value")
    )
    table = table[table["importance"] > 0].sort_values("importance", ascending=False).head(top)
    return table.reset_index(drop=True)[["feature", "importance", "direction"]]


def _scores_each_row_alone(estimator) -> bool:
    """Whether ``estimator`` gives a row the same probability whatever rows it is scored with:
    the boosting model does (a row's trees' values added up, then the logistic function)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return isinstance(estimator, HistGradientBoostingClassifier)


def _scorer(estimator, matrix: np.ndarray) -> "_Scorer":
    """The scorer of ``matrix`` and of copies of it with some columns changed: by tree for the
    boosting model when its trees are at hand, else with ``predict_proba``."""
    if _scores_each_row_alone(estimator) and _TreeScorer.reads(estimator):
        return _TreeScorer(estimator, matrix)
    return _Scorer(estimator, matrix)


class _Scorer:
    """The churn probability of each row of a matrix (``base``) and of copies of it, or of some
    of its rows, with some columns changed (``changed``)."""

    def __init__(self, estimator, matrix: np.ndarray):
        self.estimator = estimator
        self.base = estimator.predict_proba(matrix)[:, 1]

    def changed(self, copy: np.ndarray, columns: list[int], rows: np.ndarray | None = None) -> np.ndarray:
        """The probabilities of ``copy``: the matrix's ``rows`` (all when None) with ``columns`` changed."""
        return self.estimator.predict_proba(copy)[:, 1] if len(copy) else np.empty(0)


class _TreeScorer(_Scorer):
    """The boosting model scores a row by adding up its trees' values, tree after tree, then
    taking the logistic function. A copy of the matrix with some columns changed gets new
    values only from the trees that split on one of them (a third of the trees per feature in
    the model at 100,000 customers), so only those trees score it; the others' values are the
    matrix's. The additions are the model's own, in its order, so the probabilities equal
    ``predict_proba``'s bit for bit. The trees are read from the fitted model's attributes,
    which scikit-learn keeps private: ``reads`` checks that they are there.
    """

    @staticmethod
    def reads(estimator) -> bool:
        needed = ("_predictors", "_bin_mapper", "_baseline_prediction", "_loss", "_preprocess_X")
        return all(hasattr(estimator, name) for name in needed) and getattr(estimator, "n_trees_per_iteration_", 0) == 1

    def __init__(self, estimator, matrix: np.ndarray):
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        self.estimator = estimator
        self._known = estimator._bin_mapper.make_known_categories_bitsets()
        self._threads = _openmp_effective_n_threads()
        self._trees = [iteration[0] for iteration in estimator._predictors]
        self._splits = [set(tree.nodes["feature_idx"][tree.nodes["is_leaf"] == 0].tolist()) for tree in self._trees]
        x = estimator._preprocess_X(matrix, reset=False)
        self._values = np.stack([self._tree_values(tree, x) for tree in self._trees]) if self._trees else None
        self.base = self._probability(len(x), lambda i: self._values[i])

    def _tree_values(self, tree, x: np.ndarray) -> np.ndarray:
        return tree.predict(x, *self._known, self._threads)

    def _probability(self, rows: int, values) -> np.ndarray:
        raw = np.zeros((rows, 1), dtype=self.estimator._baseline_prediction.dtype, order="F")
        raw += self.estimator._baseline_prediction
        for i in range(len(self._trees)):
            raw[:, 0] += values(i)
        return self.estimator._loss.predict_proba(raw)[:, 1]

    def changed(self, copy: np.ndarray, columns: list[int], rows: np.ndarray | None = None) -> np.ndarray:
        if not len(copy):
            return np.empty(0)
        x = self.estimator._preprocess_X(copy, reset=False)
        touched = set(columns)

        def values(i: int) -> np.ndarray:
            if self._splits[i] & touched:
                return self._tree_values(self._trees[i], x)
            return self._values[i] if rows is None else self._values[i, rows]

        return self._probability(len(x), values)


def _column_groups(preprocess, columns: list[str]) -> dict[str, list[int]]:
    """For each raw feature, the positions of the transformed columns made from it."""
    groups = {column: [] for column in columns}
    for position, name in enumerate(preprocess.get_feature_names_out()):
        body = name.split("__", 1)[-1]
        body = body[len("missingindicator_"):] if body.startswith("missingindicator_") else body
        if body in groups:
            groups[body].append(position)
            continue
        owner = next((c for c in CATEGORICAL_FEATURES if c in groups and body.startswith(c + "_")), None)
        if owner is None:
            raise ValueError(f"cannot tell which feature the model column {name!r} comes from")
        groups[owner].append(position)
    return groups


def drivers_finding(drivers: pd.DataFrame) -> str:
    """The three strongest drivers in words."""
    if drivers.empty:
        return t("The model found no driver.")
    parts = [t("{feature} ({direction})", feature=row.feature.lower(), direction=row.direction)
             for row in drivers.head(3).itertuples()]
    return t("The model leans most on {drivers}.", drivers="; ".join(parts))


def _reason_phrases(features: pd.DataFrame, currency: str, only: list[str] | None = None) -> dict[str, pd.Series]:
    """A short phrase per customer for every feature (or the ``only`` ones) that can be a reason."""
    def fill(template: str, **parts) -> pd.Series:
        """``template`` (from ``t``, placeholders still open) filled for every row at once: each part a
        Series of text or one value; a row with a missing part has no phrase (missing), as a missing
        value is never a reason."""
        text = np.full(len(features), "", dtype=object)
        missing = np.zeros(len(features), dtype=bool)
        for literal, name, spec, conversion in string.Formatter().parse(template):
            text += literal
            if name is None:
                continue
            if spec or conversion:
                raise ValueError(f"reason template {template!r}: {{{name}}} must have no format of its own")
            part = parts[name]
            if isinstance(part, pd.Series):
                values = part.to_numpy(dtype=object)
                absent = pd.isna(values)
                missing |= absent
                text += np.where(absent, "", values)
            elif pd.isna(part):
                missing[:] = True
            else:
                text += format(part, "")
        return pd.Series(np.where(missing, np.nan, text), index=features.index, dtype=object)

    def whole(column: str) -> pd.Series:
        return features[column].round().astype("Int64").astype(str)

    def money(column: str, days: int) -> pd.Series:
        spent = fill(t("spent {amount} in {days} days"), amount=currency + whole(column), days=days)
        return spent.where(features[column].round() != 0, t("spent nothing in {days} days").format(days=days))

    def count(column: str, one: str, many: str, none: str, **fixed) -> pd.Series:
        n = features[column].fillna(0).round().astype(int)
        text = fill(one, n=n.astype(str), **fixed).where(n == 1, fill(many, n=n.astype(str), **fixed))
        return text.where(n != 0, none.format(**fixed))

    def orders_in(column: str, days: int) -> pd.Series:
        return count(column, t("{n} order in {days} days"), t("{n} orders in {days} days"), t("no order in {days} days"),
                     days=days)

    def complaints_in(column: str, days: int) -> pd.Series:
        return count(column, t("{n} complaint in {days} days"), t("{n} complaints in {days} days"),
                     t("no complaint in {days} days"), days=days)

    def sessions_in(column: str, days: int) -> pd.Series:
        return count(column, t("{n} web/app session in {days} days"), t("{n} web/app sessions in {days} days"),
                     t("no web/app session in {days} days"), days=days)

    phrases = {
        "days_since_last_purchase": lambda: fill(t("no purchase for {days} days"), days=whole("days_since_last_purchase")),
        "tenure_days": lambda: fill(t("customer for only {days} days"), days=whole("tenure_days")),
        "orders_total": lambda: count("orders_total", t("{n} order in total"), t("{n} orders in total"),
                                      t("no order in total")),
        "orders_per_month": lambda: pd.Series(
            np.where(
                features["orders_per_month"] < 1,
                fill(t("one order every {months} months since the first purchase"),
                     months=(1 / features["orders_per_month"]).round().astype(int).astype(str)),
                fill(t("{orders} orders a month since the first purchase"),
                     orders=features["orders_per_month"].round(1).astype(str)),
            ),
            index=features.index,
        ),
        "orders_90d": lambda: orders_in("orders_90d", 90),
        "orders_180d": lambda: orders_in("orders_180d", 180),
        "orders_365d": lambda: orders_in("orders_365d", 365),
        "order_trend": lambda: pd.Series(
            np.where(
                features["order_trend"] < 0,
                fill(t("orders down from {previous} to {last} (previous vs last 90 days)"),
                     previous=whole("orders_prev_90d"), last=whole("orders_90d")),
                fill(t("orders went from {previous} to {last} (previous vs last 90 days)"),
                     previous=whole("orders_prev_90d"), last=whole("orders_90d")),
            ),
            index=features.index,
        ),
        "revenue_90d": lambda: money("revenue_90d", 90),
        "revenue_180d": lambda: money("revenue_180d", 180),
        "revenue_365d": lambda: money("revenue_365d", 365),
        "recency_vs_usual_gap": lambda: fill(t("last purchase {ratio}x their usual gap between orders"),
                                             ratio=features["recency_vs_usual_gap"].round(1).astype(str)),
        "categories_365d": lambda: count("categories_365d", t("{n} category bought in {days} days"),
                                         t("{n} categories bought in {days} days"),
                                         t("no category bought in {days} days"), days=365),
        "complaints_90d": lambda: complaints_in("complaints_90d", 90),
        "complaints_365d": lambda: complaints_in("complaints_365d", 365),
        "open_complaints": lambda: count("open_complaints", t("{n} unresolved complaint"), t("{n} unresolved complaints"),
                                         t("no unresolved complaint")),
        "mean_resolution_hours": lambda: fill(t("complaints took {hours} hours to resolve on average"),
                                              hours=whole("mean_resolution_hours")),
        "last_nps": lambda: fill(t("last NPS {score}/10"), score=whole("last_nps")),
        "last_csat": lambda: fill(t("last CSAT {score}/5"), score=whole("last_csat")),
        "sessions_30d": lambda: sessions_in("sessions_30d", 30),
        "sessions_90d": lambda: sessions_in("sessions_90d", 90),
        "days_since_last_visit": lambda: fill(t("no web/app visit for {days} days"), days=whole("days_since_last_visit")),
        "segment": lambda: fill(t("segment {segment}"), segment=features["segment"].astype(str)),
        "region": lambda: fill(t("region {region}"), region=features["region"].astype(str)),
        "main_channel": lambda: fill(t("buys mostly {channel}"), channel=features["main_channel"].astype(str)),
    }
    # Missing values never become reasons (their effect is set to zero), so no phrase for them.
    wanted = features.columns if only is None else [c for c in only if c in features.columns]
    return {column: phrase().astype(object) for column, phrase in phrases.items() if column in wanted}


def score_customers(
    model: ChurnModel,
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    period: Quarter | str,
    tickets: pd.DataFrame | None = None,
    surveys: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    currency: str = "¥",
    max_reasons: int = 3,
    min_effect: float = 0.005,
) -> pd.DataFrame:
    """Churn probability of every customer active at the quarter's last day, with up to
    ``max_reasons`` reasons: the features whose replacement by the training median lowers the
    probability most (by at least ``min_effect``).

    Returns ``customer_id, churn_probability, top_reasons, main_reason`` (the feature behind the
    first reason, a reason code) sorted by risk. Raises ``NotAvailable`` when no customer is
    active at the quarter's last day.
    """
    sources = {"customers": customers, "tickets": tickets, "surveys": surveys, "events": events}
    given = {k: v is not None for k, v in sources.items()}
    if given != model.sources_:
        raise ValueError(f"score with the same sources the model was fitted with: {model.sources_}, got {given}")
    period = Quarter.parse(period)
    fitted_end = model.holdout_cutoff + pd.Timedelta(days=model.inactivity_days)
    if period.last_day < fitted_end:  # its labels would come from after the day scored
        raise ValueError(f"the model was fitted on data up to {fitted_end.date()}: score that quarter or a later one, "
                         f"not {period}")
    features = churn_features(orders, period.last_day, inactivity_days=model.inactivity_days, **sources)
    if features.empty:
        raise NotAvailable(
            t("no customer is active on {date} (a valid purchase in the {days} days up to it), so there is nobody to "
              "score", date=_day(period.last_day), days=model.inactivity_days), t("orders up to the quarter end"))
    preprocess, estimator = model.final_model_[0], model.final_model_[-1]
    matrix = np.asarray(preprocess.transform(features), dtype=float)
    typical = pd.DataFrame([model.reference_])[features.columns].astype({c: float for c in model.numeric_})
    reference = np.asarray(preprocess.transform(typical), dtype=float)[0]
    groups = _column_groups(preprocess, list(features.columns))
    scorer = _scorer(estimator, matrix)
    probability = scorer.base
    candidates = list(_reason_phrases(features.head(1), currency))
    effects = np.zeros((len(features), len(candidates)))
    # A missing value (no survey answer, no resolved complaint) is not a reason to give, nor a
    # value on the safe side of the typical one: those effects stay 0. A model that scores each
    # row by itself scores only the rows left, and of them those the occlusion changes.
    row_wise = _scores_each_row_alone(estimator)
    reasons = []
    for column in candidates:
        rows = features[column].notna().to_numpy(copy=True)
        if column in RISK_SIDE:
            rows &= (RISK_SIDE[column] * (features[column].astype(float) - float(model.reference_[column])) > 0).to_numpy()
        if row_wise:
            rows &= ~np.all(matrix[:, groups[column]] == reference[groups[column]], axis=1)
        reasons.append(rows)

    for j, (column, rows) in enumerate(zip(candidates, reasons)):  # occlusion, one feature at a time
        copy = matrix[rows] if row_wise else matrix.copy()
        copy[:, groups[column]] = reference[groups[column]]  # per-column preprocessing: same as occluding the raw value
        occluded_probability = scorer.changed(copy, groups[column], rows if row_wise else None)
        if row_wise:
            effects[rows, j] = probability[rows] - occluded_probability
        else:
            effects[:, j] = np.where(rows, probability - occluded_probability, 0.0)
    order = np.argsort(-effects, axis=1)[:, :max_reasons]
    chosen_effect = np.take_along_axis(effects, order, axis=1)
    used = chosen_effect >= min_effect
    chosen_text = np.full(order.shape, "", dtype=object)
    for j, column in enumerate(candidates):  # phrases only for the customers whose reason it is
        hit = used & (order == j)
        rows = np.flatnonzero(hit.any(axis=1))
        if rows.size:
            phrase = _reason_phrases(features.iloc[rows], currency, only=[column])[column].to_numpy(dtype=object)
            slot = hit[rows].argmax(axis=1)
            chosen_text[rows, slot] = phrase
    # Effects are sorted, so once a slot is empty every later slot is empty too.
    top_reasons = pd.Series(chosen_text[:, 0], dtype=object)
    for slot in range(1, chosen_text.shape[1]):  # at most max_reasons slots
        following = pd.Series(chosen_text[:, slot], dtype=object)
        top_reasons = top_reasons.where(following == "", top_reasons + "; " + following)
    top_reasons = top_reasons.replace("", t("no single strong driver"))
    labels = np.array([feature_label(c) for c in candidates], dtype=object)
    main_reason = np.where(chosen_effect[:, 0] >= min_effect, labels[order[:, 0]], t("none"))
    scores = pd.DataFrame(
        {
            "customer_id": features.index,
            "churn_probability": probability,
            "top_reasons": top_reasons.to_numpy(),
            "main_reason": main_reason,
        }
    )
    return scores.sort_values("churn_probability", ascending=False, ignore_index=True)


def scores_finding(scores: pd.DataFrame, threshold: float = 0.5, inactivity_days: int = 90) -> str:
    """How many of the customers scored (not churned at the quarter end) are at high risk, and
    the most common first reason. The scored are not the quarter's active customers: a customer
    who last bought in the N days before the quarter is scored, and counts as not yet churned."""
    if scores.empty:
        return t("No customer to score: nobody has bought in the last N days.")
    high = scores[scores["churn_probability"] >= threshold]
    numbers = dict(high=fmt_int(len(high)), scored=fmt_int(len(scores)), days=int(inactivity_days),
                   share=fmt_pct(len(high) / len(scores)), threshold=fmt_pct(threshold, 0))
    if high.empty:
        return t("{high} of the {scored} customers not yet churned at the quarter end (a purchase in its last {days} "
                 "days) ({share}) have a churn probability of {threshold} or more.", **numbers)
    leading = high["main_reason"].value_counts()
    return t("{high} of the {scored} customers not yet churned at the quarter end (a purchase in its last {days} days) "
             "({share}) have a churn probability of {threshold} or more; for {leading_share} of them the leading "
             "reason is '{reason}'.", leading_share=fmt_pct(leading.iloc[0] / len(high)),
             reason=leading.index[0].lower(), **numbers)
