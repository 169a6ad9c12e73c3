"""Hand-made frames for helpers.models.churn_model: labels, feature values, no leakage, a small fit."""
import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest

from helpers.errors import NotAvailable
from helpers.models import churn_model

CUTOFF = pd.Timestamp("2026-06-30")


def _orders(rows):
    """rows: (customer_id, date, net_amount[, is_purchase])"""
    frame = pd.DataFrame([r if len(r) == 4 else (*r, True) for r in rows], columns=["customer_id", "order_date", "net_amount", "is_purchase"])
    frame["order_id"] = [f"o{i}" for i in range(len(frame))]
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["category"] = "Office"
    frame["channel"] = "online"
    return frame


def test_labels_by_hand():
    orders = _orders(
        [
            ("A", "2026-06-20", 1), ("A", "2026-07-15", 1),  # active, buys again -> 0
            ("B", "2026-06-10", 1),  # active, nothing after -> 1
            ("C", "2026-05-01", 1), ("C", "2026-07-02", 1),  # 60 days before the cut-off: not active
            ("D", "2026-06-30", 1), ("D", "2026-07-31", 1),  # next purchase on day 31 > N = 30 -> 1
            ("E", "2026-06-01", 1), ("E", "2026-07-30", 1),  # 29 days before; next on day 30 -> 0
            ("F", "2026-06-15", 1), ("F", "2026-07-05", 1, False),  # only a cancelled order after -> 1
            ("G", "2026-05-31", 1), ("G", "2026-07-01", 1),  # 30 days before: no purchase in 06-01 .. 06-30
        ]
    )
    # active at the cut-off = a purchase in the 30 days 06-01 .. 06-30
    labels = churn_model.churn_labels(orders, CUTOFF, 30)
    assert labels.to_dict() == {"A": 0, "B": 1, "D": 1, "E": 0, "F": 1}


@pytest.fixture
def history():
    orders = _orders(
        [
            ("A", "2026-06-20", 100.0), ("A", "2026-05-01", 50.0), ("A", "2026-02-15", 200.0), ("A", "2025-12-01", 30.0),
            ("B", "2026-04-02", 80.0),  # 89 days before the cut-off: still active with N = 90
            ("Z", "2026-01-01", 10.0),  # 180 days before the cut-off: not active
        ]
    )
    tickets = pd.DataFrame(
        {
            "customer_id": ["A", "A", "B"],
            "created_at": pd.to_datetime(["2026-06-01", "2026-06-29", "2026-03-01"]),
            "ticket_type": ["complaint", "complaint", "consultation"],
            "resolved_at": pd.to_datetime(["2026-06-02", "2026-07-05", "2026-03-02"]),
        }
    )
    surveys = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A"],
            "response_date": pd.to_datetime(["2026-03-01", "2026-06-10", "2026-07-10"]),
            "nps_score": [8.0, 4.0, 10.0],
            "csat_score": [np.nan, 2.0, 5.0],
        }
    )
    events = pd.DataFrame(
        {
            "customer_id": ["A", "A", "B"],
            "event_time": pd.to_datetime(["2026-06-25 10:00", "2026-04-10 09:00", "2026-06-29 12:00"]),
            "event_type": "visit",
            "session_id": ["s1", "s2", "s3"],
        }
    )
    customers = pd.DataFrame({"customer_id": ["A", "B", "Z"], "segment": ["Individual", "Small enterprise", "Individual"], "region": "North"})
    return {"orders": orders, "customers": customers, "tickets": tickets, "surveys": surveys, "events": events}


def test_feature_values_by_hand(history):
    features = churn_model.churn_features(cutoff=CUTOFF, inactivity_days=90, **history)
    assert list(features.index) == ["A", "B"]  # Z is not active
    a = features.loc["A"]
    # ages of A's orders at 2026-06-30: 10, 60, 135, 211 days
    assert a["days_since_last_purchase"] == 10 and a["tenure_days"] == 211
    assert (a["orders_90d"], a["orders_180d"], a["orders_365d"], a["orders_prev_90d"]) == (2, 3, 4, 1)
    assert (a["revenue_90d"], a["revenue_180d"], a["revenue_365d"]) == (150.0, 350.0, 380.0)
    assert a["order_trend"] == 1  # 2 - 1
    assert a["recency_vs_usual_gap"] == pytest.approx(10 / 67)  # usual gap (211 - 10) / 3 = 67
    # two complaints in 90 days; the one resolved after the cut-off is open and has no resolution time
    assert (a["complaints_90d"], a["open_complaints"], a["mean_resolution_hours"]) == (2, 1, 24.0)
    assert (a["last_nps"], a["last_csat"]) == (4.0, 2.0)  # the July answer is after the cut-off
    assert (a["sessions_30d"], a["sessions_90d"], a["days_since_last_visit"]) == (1, 2, 5)
    assert a["segment"] == "Individual" and a["main_channel"] == "online"
    assert features.loc["B", "complaints_365d"] == 0  # a consultation is not a complaint
    assert np.isnan(features.loc["B", "recency_vs_usual_gap"])  # one order only


def test_no_leakage_from_after_the_cutoff(history):
    before = churn_model.churn_features(cutoff=CUTOFF, **history)
    later = {k: v.copy() for k, v in history.items()}
    orders = later["orders"]
    # alter orders after the cut-off and add new ones (also for a brand-new customer)
    extra = _orders([("A", "2026-07-01", 5000.0), ("B", "2026-08-15", 1.0), ("NEW", "2026-07-02", 9.0), ("Z", "2026-07-01", 3.0)])
    extra["order_id"] = ["x1", "x2", "x3", "x4"]
    later["orders"] = pd.concat([orders, extra], ignore_index=True)
    later["orders"].loc[later["orders"]["order_id"] == "x1", "net_amount"] = -1.0
    later["tickets"] = pd.concat(
        [later["tickets"], pd.DataFrame({"customer_id": ["B"], "created_at": [pd.Timestamp("2026-07-01")], "ticket_type": ["complaint"],
                                          "resolved_at": [pd.Timestamp("2026-07-02")]})],
        ignore_index=True,
    )
    later["tickets"].loc[1, "resolved_at"] = pd.Timestamp("2026-08-30")  # still after the cut-off
    later["surveys"].loc[2, "nps_score"] = 0.0
    later["events"] = pd.concat(
        [later["events"], pd.DataFrame({"customer_id": ["B"], "event_time": [pd.Timestamp("2026-07-01")], "event_type": ["visit"], "session_id": ["s9"]})],
        ignore_index=True,
    )
    after = churn_model.churn_features(cutoff=CUTOFF, **later)
    pd.testing.assert_frame_equal(before, after)
    # the same kind of change before the cut-off does change the features (the test can fail)
    later["orders"].loc[later["orders"]["order_id"] == "o0", "net_amount"] = 1.0
    assert not churn_model.churn_features(cutoff=CUTOFF, **later).equals(before)


def test_features_and_labels_from_a_longer_history_are_those_of_the_cutoff(history):
    extra = _orders([("A", "2026-07-01", 5000.0), ("B", "2026-08-15", 1.0), ("NEW", "2026-07-02", 9.0)])
    extra["order_id"] = ["x1", "x2", "x3"]
    # not in date order: the history must not rely on it
    orders = pd.concat([extra, history["orders"]], ignore_index=True)
    later = {**history, "orders": orders}
    past = churn_model.history(orders, "2026-09-30", history["events"])
    alone = churn_model.churn_features(cutoff=CUTOFF, **later)
    pd.testing.assert_frame_equal(churn_model.churn_features(cutoff=CUTOFF, **later, past=past), alone)
    assert alone.loc["A", "revenue_90d"] == 150.0  # A's 5,000 of July 1 is after the cut-off
    for days, expected in ((30, {"A": 0}), (90, {"A": 0, "B": 0})):
        labels = churn_model.churn_labels(orders, CUTOFF, days)
        pd.testing.assert_series_equal(churn_model.churn_labels(orders, CUTOFF, days, past), labels)
        # A buys again on July 1; B (89 days since its order) is active only with N = 90 and buys 46 days later
        assert labels.to_dict() == expected
    with pytest.raises(ValueError, match="the history ends on 2026-09-30, before the cut-off 2026-10-01"):
        churn_model.churn_features(cutoff="2026-10-01", **later, past=past)
    with pytest.raises(ValueError, match="before the end of the label window 2026-10-30"):
        churn_model.churn_labels(orders, "2026-09-30", 30, past)


def test_top_decile_and_lift_table():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0] * 2)
    score = np.r_[np.linspace(1, 0.5, 10), np.linspace(0.4, 0.0, 10)]
    # top 10% = 2 highest scores (customers 0 and 1, both churned) -> precision 1, lift 1 / 0.2 = 5
    assert churn_model._top_decile(y, score) == (1.0, pytest.approx(5.0))
    table = churn_model.lift_table(pd.DataFrame({"churned": y, "churn_probability": score}))
    assert table["customers"].tolist() == [2] * 10
    assert table.loc[0, "lift"] == pytest.approx(5.0)
    assert table["cumulative_share_of_churners"].iloc[-1] == 1.0


def _simulated(n=700, seed=3):
    """Customers who buy every 7-30 days; leavers stop on a random date, and most of them
    complain about 20 days before stopping."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-06-01")
    gap = rng.integers(7, 30, n)
    leaves = rng.random(n) < 0.6
    stop = np.where(leaves, rng.integers(250, 480, n), 10_000)  # days after start
    k = (np.minimum(stop, 395) // gap) + 1  # up to 2026-06-30
    customer = np.repeat(np.arange(n), k)
    nth = np.arange(len(customer)) - np.repeat(np.cumsum(k) - k, k)
    day = rng.integers(0, 7, n)[customer] + nth * gap[customer]
    keep = (day <= np.minimum(stop, 395)[customer])
    ids = np.array([f"C{i:04d}" for i in range(n)])
    orders = pd.DataFrame(
        {
            "customer_id": ids[customer[keep]],
            "order_date": start + pd.to_timedelta(day[keep], "D"),
            "net_amount": rng.gamma(2, 50, keep.sum()),
            "is_purchase": True,
            "category": "Office",
            "channel": rng.choice(["online", "offline"], keep.sum()),
        }
    )
    orders["order_id"] = [f"o{i}" for i in range(len(orders))]
    complains = (leaves & (rng.random(n) < 0.8)) | (~leaves & (rng.random(n) < 0.1))
    when = np.where(leaves, stop - 20, rng.integers(200, 395, n))
    tickets = pd.DataFrame(
        {
            "customer_id": ids[complains],
            "created_at": start + pd.to_timedelta(when[complains], "D"),
            "ticket_type": "complaint",
            "resolved_at": start + pd.to_timedelta(when[complains] + 2, "D"),
        }
    )
    customers = pd.DataFrame({"customer_id": ids, "segment": rng.choice(["Individual", "Small enterprise"], n), "region": "North"})
    return orders, customers, tickets


@pytest.fixture(scope="module")
def fitted():
    orders, customers, tickets = _simulated()
    model = churn_model.fit_churn_model(orders, customers, "2026Q2", 30, seed=7, tickets=tickets)
    return orders, customers, tickets, model


def test_fit_validate_and_score(fitted):
    orders, customers, tickets, model = fitted
    table = model.validation_.set_index("model")
    assert list(table.index) == ["Logistic regression", "Gradient boosting", "Recency only (baseline)"]
    assert table["chosen"].sum() == 1 and table.loc[model.model_name_, "chosen"]
    # complaints precede leaving, so the model must rank far better than chance
    assert table.loc[model.model_name_, "auc"] > 0.75
    assert table["train_cutoff"].iloc[0] == "2026-05-01" and table["holdout_cutoff"].iloc[0] == "2026-05-31"
    scores = churn_model.score_customers(model, orders, customers, "2026Q2", tickets=tickets)
    active = churn_model.churn_features(orders, "2026-06-30", inactivity_days=30).index
    assert set(scores["customer_id"]) == set(active)
    assert scores["churn_probability"].between(0, 1).all()
    assert scores["churn_probability"].is_monotonic_decreasing
    assert (scores["top_reasons"].str.len() > 0).all()
    drivers = churn_model.feature_drivers(model)
    assert len(drivers) > 0 and {"feature", "importance", "direction"} <= set(drivers.columns)
    assert churn_model.calibration_table(model.holdout_)["mean_predicted"].between(0, 1).all()
    assert "AUC of" in churn_model.validation_finding(model)
    with pytest.raises(ValueError, match="same sources"):
        churn_model.score_customers(model, orders, customers, "2026Q2")


def test_copies_with_changed_columns_score_as_predict_proba_does_bit_for_bit(monkeypatch):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 4))
    x[:, 3] = 0.0  # a constant column: no tree splits on it
    x[rng.random(600) < 0.1, 1] = np.nan  # missing values go down their own branch
    y = (x[:, 0] + np.nan_to_num(x[:, 1]) + rng.normal(size=600) > 0).astype(int)
    boosting = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(x, y)
    logistic = LogisticRegression().fit(np.nan_to_num(x), y)
    scorer = churn_model._scorer(boosting, x)
    assert isinstance(scorer, churn_model._TreeScorer)
    assert np.array_equal(scorer.base, boosting.predict_proba(x)[:, 1])
    rows = rng.random(600) < 0.3
    for columns in ([0], [1, 2]):
        shuffled = x.copy()
        shuffled[:, columns] = x[rng.permutation(600)][:, columns]
        assert np.array_equal(scorer.changed(shuffled, columns), boosting.predict_proba(shuffled)[:, 1])
        occluded = x[rows]
        occluded[:, columns] = 0.5
        assert np.array_equal(scorer.changed(occluded, columns, rows), boosting.predict_proba(occluded)[:, 1])
    assert len(scorer.changed(x[:0], [0], np.zeros(600, dtype=bool))) == 0
    # changing the column no tree splits on asks no tree again: the probabilities stay the matrix's
    calls = []
    monkeypatch.setattr(scorer, "_tree_values", lambda tree, rows_: calls.append(tree) or np.zeros(len(rows_)))
    changed = x.copy()
    changed[:, 3] = 99.0
    assert np.array_equal(scorer.changed(changed, [3]), scorer.base) and calls == []
    assert np.array_equal(boosting.predict_proba(changed)[:, 1], scorer.base)
    # a model that scores every matrix as a whole is asked with predict_proba
    plain = churn_model._scorer(logistic, np.nan_to_num(x))
    assert type(plain) is churn_model._Scorer
    assert np.array_equal(plain.changed(np.nan_to_num(x[:5]), [0]), logistic.predict_proba(np.nan_to_num(x[:5]))[:, 1])


def test_boosting_reasons_from_the_rows_an_occlusion_changes_equal_those_of_every_row(fitted, monkeypatch):
    import copy

    orders, customers, tickets, model = fitted
    boosted = copy.copy(model)
    pipeline = churn_model._make_models(model.numeric_, model.categorical_, 7)["Gradient boosting"]
    boosted.final_model_ = boosted.validated_model_ = pipeline.fit(model.holdout_features_, model.holdout_["churned"])
    fast = churn_model.score_customers(boosted, orders, customers, "2026Q2", tickets=tickets)
    drivers = churn_model.feature_drivers(boosted)  # by tree (_TreeScorer)
    monkeypatch.setattr(churn_model, "_scores_each_row_alone", lambda estimator: False)  # every row, every matrix
    pd.testing.assert_frame_equal(fast, churn_model.score_customers(boosted, orders, customers, "2026Q2", tickets=tickets))
    pd.testing.assert_frame_equal(drivers, churn_model.feature_drivers(boosted), check_exact=True)
    assert len(drivers) > 0
    assert (fast["main_reason"] != "none").sum() > 0


def test_reasons_name_the_value(fitted):
    orders, customers, tickets, model = fitted
    scores = churn_model.score_customers(model, orders, customers, "2026Q2", tickets=tickets).set_index("customer_id")
    features = churn_model.churn_features(orders, "2026-06-30", customers, tickets, inactivity_days=30)
    # a customer whose leading reason is recency has the exact number of days in the text
    recency = scores[scores["main_reason"] == "Days since last purchase"]
    if not recency.empty:
        customer = recency.index[0]
        assert f"no purchase for {features.loc[customer, 'days_since_last_purchase']} days" in recency.loc[customer, "top_reasons"]
    assert scores["top_reasons"].str.count(";").max() <= 2
    # a leading reason always lies on the risky side of the typical value (e.g. fewer orders per
    # month than the median customer of the training data)
    labels = {label: column for column, label in churn_model.FEATURE_LABELS.items()}
    for label, group in scores.groupby("main_reason"):
        column = labels.get(label)
        if column in churn_model.RISK_SIDE:
            values = features.loc[group.index, column].astype(float)
            assert (churn_model.RISK_SIDE[column] * (values - float(model.reference_[column])) > 0).all(), label


def test_too_few_customers_is_not_available(history):
    # 2026Q3 with N = 30: the training cut-off is 2026-08-01, when nobody is active (last order 06-20).
    with pytest.raises(NotAvailable, match=r"^Not available: 0 churners and 0 non-churners among the 0 customers active on "
                                           r"2026-08-01 \(the training cut-off\); the model needs at least 50 customers and "
                                           r"20 of each class; .*churn_model_min_churners\.$"):
        churn_model.fit_churn_model(history["orders"], history["customers"], "2026Q3", 30)


def _every_ten_days(n_customers: int, n_stopping: int) -> pd.DataFrame:
    """Customers buying every 10 days from 2026-01-01 (day 0) to 2026-06-30 (day 180); the first
    ``n_stopping`` stop after day 110 (2026-04-21)."""
    rows = [
        (f"C{i:03d}", pd.Timestamp("2026-01-01") + pd.Timedelta(days=day), 10.0)
        for i in range(n_customers)
        for day in range(0, 181, 10)
        if i >= n_stopping or day <= 110
    ]
    return _orders(rows)


def test_one_class_labels_are_not_available():
    # 2026Q2, N = 30: training cut-off 2026-05-01 (day 120). All 60 bought on it and buy again
    # 10 days later, so nobody churns: one class only.
    orders = _every_ten_days(60, 0)
    customers = pd.DataFrame({"customer_id": orders["customer_id"].unique()})
    with pytest.raises(NotAvailable) as caught:
        churn_model.fit_churn_model(orders, customers, "2026Q2", 30)
    assert caught.value.missing == ("0 churners and 60 non-churners among the 60 customers active on 2026-05-01 "
                                    "(the training cut-off); the model needs at least 20 of each class")
    assert "churn_inactivity_days" in caught.value.enable and "churn_model_min_churners" in caught.value.enable


def test_fewer_churners_than_the_minimum_are_not_available():
    # 12 of 60 customers last buy on day 110: 10 days before the training cut-off (active) and
    # nothing in the 30 days after it (churned) -> 12 churners, 48 non-churners.
    orders = _every_ten_days(60, 12)
    customers = pd.DataFrame({"customer_id": orders["customer_id"].unique()})
    with pytest.raises(NotAvailable, match=r"12 churners and 48 non-churners among the 60 customers active on 2026-05-01 "
                                           r"\(the training cut-off\); the model needs at least 20 of each class"):
        churn_model.fit_churn_model(orders, customers, "2026Q2", 30)
    # With a minimum of 10 the training cut-off passes; at the holdout cut-off 2026-05-31 the
    # 12 are no longer active (40 days) and the 48 others all buy again: one class, too few customers.
    with pytest.raises(NotAvailable, match=r"0 churners and 48 non-churners among the 48 customers active on 2026-05-31 "
                                           r"\(the holdout cut-off\); the model needs at least 50 customers and 10 of each"):
        churn_model.fit_churn_model(orders, customers, "2026Q2", 30, min_churners=10)
    with pytest.raises(ValueError, match="min_churners must be at least 1"):
        churn_model.fit_churn_model(orders, customers, "2026Q2", 30, min_churners=0)


def test_history_shorter_than_the_cutoffs_need_is_not_available():
    # 2026-04-15 .. 2026-06-30 is 77 days; N = 30 needs 3 x 30 = 90, i.e. orders from 2026-04-02.
    orders = _orders([(f"C{i}", day, 10.0) for i in range(60) for day in ("2026-04-15", "2026-05-20", "2026-06-30")])
    with pytest.raises(NotAvailable) as caught:
        churn_model.fit_churn_model(orders, pd.DataFrame({"customer_id": [f"C{i}" for i in range(60)]}), "2026Q2", 30)
    assert caught.value.missing == (
        "the orders cover 77 days up to 2026-06-30 (from 2026-04-15); the churn model needs 90: 30 days of activity "
        "before the training cut-off 2026-05-01 and the 30-day windows after it and after the holdout cut-off "
        "2026-05-31 that say who churned")
    assert caught.value.enable == "orders from 2026-04-02 or earlier, or a shorter churn window (churn_inactivity_days)"


def test_scoring_without_active_customers_is_not_available(fitted):
    orders, customers, tickets, model = fitted
    # The simulated orders end on 2026-06-30: nobody bought in the 30 days up to 2026-09-30.
    with pytest.raises(NotAvailable, match=r"no customer is active on 2026-09-30 \(a valid purchase in the 30 days up to it\)"):
        churn_model.score_customers(model, orders, customers, "2026Q3", tickets=tickets)
    with pytest.raises(ValueError, match="fitted on data up to 2026-06-30"):
        churn_model.score_customers(model, orders, customers, "2026Q1", tickets=tickets)


def test_reason_phrases_put_each_customers_own_numbers_in_words():
    features = pd.DataFrame({"orders_90d": [0, 1, 3], "revenue_90d": [0.2, 12.4, 1234.6],
                             "orders_per_month": [0.25, 2.04, 1.0], "orders_prev_90d": [2, 1, 1.0],
                             "order_trend": [-2.0, 0.0, 2.0]}, index=["A", "B", "C"])
    phrases = churn_model._reason_phrases(features, "¥")
    assert phrases["orders_90d"].tolist() == ["no order in 90 days", "1 order in 90 days", "3 orders in 90 days"]
    assert phrases["revenue_90d"].tolist() == ["spent nothing in 90 days", "spent ¥12 in 90 days", "spent ¥1235 in 90 days"]
    assert phrases["orders_per_month"].tolist() == ["one order every 4 months since the first purchase",
                                                    "2.0 orders a month since the first purchase",
                                                    "1.0 orders a month since the first purchase"]
    assert phrases["order_trend"].tolist() == ["orders down from 2 to 0 (previous vs last 90 days)",
                                               "orders went from 1 to 1 (previous vs last 90 days)",
                                               "orders went from 1 to 3 (previous vs last 90 days)"]
    assert phrases["orders_90d"].index.tolist() == ["A", "B", "C"]
