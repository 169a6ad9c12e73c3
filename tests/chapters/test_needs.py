import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.chapters.needs import (  # noqa: E402
    collect_comments,
    discover_topics,
    load_need_themes,
    need_theme_summary,
    need_theme_trend,
    need_themes_finding,
    plot_need_theme_trend,
    plot_need_themes,
    tag_need_themes,
    theme_pattern,
    topics_finding,
)

THEMES = load_need_themes()


def test_lexicon_file_is_valid_and_grouped():
    assert set(THEMES["group"]) == {"functional", "experience", "emotional"}
    assert {"price", "product_quality", "delivery", "ease_of_use", "support_responsiveness",
            "feature_request", "trust"} <= set(THEMES["theme"])
    assert all(len(en) and len(zh) for en, zh in zip(THEMES["en"], THEMES["zh"]))


def test_bad_lexicon_is_reported(tmp_path):
    path = tmp_path / "themes.yaml"
    path.write_text("themes:\n  price: {group: money, en: [price]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="theme 'price' has group 'money'"):
        load_need_themes(path)


def test_theme_pattern_word_start_and_chinese():
    pattern = theme_pattern(["deliver", "on time"], ["物流"])
    assert pattern.search("Delivery was quick")
    assert pattern.search("arrived on\u00a0 time")  # any whitespace inside a phrase
    assert not pattern.search("undelivered")  # keywords match at the start of a word only
    assert pattern.search("物流太慢了")


def _comments():
    surveys = pd.DataFrame({
        "survey_id": ["s1", "s2", "s3", "s4", "s5"],
        "customer_id": ["c1", "c2", "c3", "c4", "c5"],
        "response_date": pd.to_datetime(["2026-07-01", "2026-07-02", "2026-08-01", "2026-04-01", "2026-08-09"]),
        "comment": ["The price is too expensive", "快递很慢，物流一般", "", "Great quality and fast delivery", None],
    })
    tickets = pd.DataFrame({
        "ticket_id": ["t1", "t2"], "customer_id": ["c1", "c6"],
        "created_at": pd.to_datetime(["2026-09-01", "2026-05-05"]),
        "ticket_type": ["complaint", "consultation"],
        "comment": ["客服一直没有回复，价格也贵", "How do I export invoices?"],
    })
    return collect_comments(surveys, tickets)


def test_collect_comments_drops_empty_text():
    comments = _comments()
    # s3 (empty) and s5 (missing) are dropped: 3 survey comments + 2 ticket comments
    assert comments["record_id"].tolist() == ["s1", "s2", "s4", "t1", "t2"]
    assert comments["source"].tolist() == ["survey", "survey", "survey", "complaint", "consultation"]
    assert comments["quarter"].tolist() == ["2026Q3", "2026Q3", "2026Q2", "2026Q3", "2026Q2"]
    with pytest.raises(ValueError, match="surveys or tickets"):
        collect_comments()


def test_tagging_counts_and_shares_by_hand():
    tagged = tag_need_themes(_comments(), THEMES).set_index("record_id")
    # s1 price; s2 delivery (快递, 物流); s4 quality + delivery; t1 support (客服, 回复) + price (价格, 贵);
    # t2 feature request (export) and returns/invoices (invoice)
    assert tagged.loc["s1", "price"] and not tagged.loc["s1", "delivery"]
    assert tagged.loc["s2", "delivery"] and tagged.loc["s2", "themes_mentioned"] == 1
    assert tagged.loc["s4", ["product_quality", "delivery"]].all()
    assert tagged.loc["t1", ["support_responsiveness", "price"]].all()
    assert tagged.loc["t2", ["feature_request", "returns_refunds"]].all()
    summary = need_theme_summary(tagged.reset_index(), THEMES, "2026Q3").set_index("theme")
    # 2026Q3 comments: s1, s2, t1 -> price 2 of 3, delivery 1 of 3; 2026Q2: s4, t2 -> delivery 1 of 2
    assert summary.loc["price", ["comments", "share"]].tolist() == [2, pytest.approx(2 / 3)]
    assert summary.loc["delivery", "share_change"] == pytest.approx(1 / 3 - 1 / 2)
    assert summary.loc["price", "previous_comments"] == 0
    assert summary.reset_index()["group"].tolist()[0] == "functional"
    text = need_themes_finding(summary.reset_index())
    assert text.startswith("The most mentioned need is price and value for money (functional): 2 comments, 66.7% of 3")
    trend = need_theme_trend(tagged.reset_index(), THEMES, "2026Q3", n_quarters=2)
    row = trend.loc[(trend["quarter"] == "2026Q2") & (trend["theme"] == "delivery")].iloc[0]
    assert (row["comments"], row["all_comments"], row["share"]) == (1, 2, 0.5)
    assert len(trend) == 2 * len(THEMES)
    assert plot_need_themes(summary.reset_index()).get_xlabel() == "Share of comments (%)"
    assert plot_need_theme_trend(trend).get_title() == "Need themes by quarter"
    plt.close("all")


def test_discover_topics_separates_clear_topics_and_is_seeded():
    rng = np.random.default_rng(0)
    # four clear topics, two in English and two in Chinese (the languages share no words)
    delivery = ["delivery courier late parcel", "courier parcel delivery slow", "parcel courier lost delivery"]
    price = ["price expensive discount", "expensive price coupon discount", "discount price expensive again"]
    logistics_zh = ["物流太慢，快递包裹破损", "快递物流慢", "包裹物流延误，快递员不好"]
    support_zh = ["客服不回复，热线一直等待", "热线客服等待太久", "客服回复慢，等待热线"]
    texts = [rng.choice(group) for group in (delivery, price, logistics_zh, support_zh) for _ in range(15)]
    comments = pd.DataFrame({"comment": texts})
    tagged = tag_need_themes(comments, THEMES)
    topics = discover_topics(tagged, THEMES, n_topics=2, n_top_terms=4, seed=1, min_documents_per_topic=5)
    # two topics per language, each holding its 15 comments (share of the language's 30)
    assert topics["language"].tolist() == ["English", "English", "Chinese", "Chinese"]
    assert topics["topic"].tolist() == ["EN-1", "EN-2", "CH-1", "CH-2"]
    assert topics["comments"].tolist() == [15, 15, 15, 15] and (topics["share"] == 0.5).all()
    # each topic lines up with one lexicon theme, fully
    assert sorted(topics["closest_theme"]) == ["Delivery and logistics", "Delivery and logistics",
                                               "Price and value for money", "Support responsiveness"]
    assert (topics["theme_agreement"] == 1.0).all()
    assert any("物流" in terms for terms in topics["top_terms"])  # jieba segments the Chinese words
    again = discover_topics(tagged, THEMES, n_topics=2, n_top_terms=4, seed=1, min_documents_per_topic=5)
    pd.testing.assert_frame_equal(topics, again)
    assert "4 topics" in topics_finding(topics)
    assert discover_topics(tagged.head(5), THEMES, n_topics=3).empty
    # with a period, only that quarter's comments are modelled: none here
    assert discover_topics(tagged.assign(quarter="2026Q2"), THEMES, "2026Q3", n_topics=2, min_documents_per_topic=5).empty
