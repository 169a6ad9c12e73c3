import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.chapters.needs import (  # noqa: E402
    collect_comments,
    detect_languages,
    discover_topics,
    is_filler_term,
    language_name,
    load_need_themes,
    load_topic_stopwords,
    need_theme_summary,
    need_theme_trend,
    need_themes_finding,
    plot_need_theme_trend,
    plot_need_themes,
    tag_need_themes,
    term_relevance,
    theme_pattern,
    topic_example,
    topic_label,
    topics_finding,
)
from helpers.errors import NotAvailable  # noqa: E402

THEMES = load_need_themes()


def test_lexicon_file_is_valid_and_grouped():
    assert set(THEMES["group"]) == {"functional", "experience", "emotional"}
    assert {"price", "product_quality", "delivery", "ease_of_use", "support_responsiveness",
            "feature_request", "trust"} <= set(THEMES["theme"])
    assert all(words["en"] and words["zh"] for words in THEMES["keywords"])
    assert THEMES.attrs["languages"] == ["en", "zh"]
    assert load_topic_stopwords() == {}


def test_bad_lexicon_is_reported(tmp_path):
    path = tmp_path / "themes.yaml"
    path.write_text("themes:\n  price: {group: money, en: [price]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="theme 'price' has group 'money'"):
        load_need_themes(path)
    path.write_text("themes:\n  price: {group: functional, english: [price]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"has key\(s\) \['english'\]: use group, label and two-letter"):
        load_need_themes(path)


def test_theme_pattern_word_start_and_chinese():
    pattern = theme_pattern(["deliver", "on time"], ["物流"])
    assert pattern.search("Delivery was quick")
    assert pattern.search("arrived on\u00a0 time")  # any whitespace inside a phrase
    assert not pattern.search("undelivered")  # keywords match at the start of a word only
    assert pattern.search("物流太慢了")


def test_detect_languages_by_script_and_lingua():
    text = pd.Series(["客服态度很好。", "Re Laptop L14: 用了两周就坏了", "The parcel arrived late.",
                      "O produto chegou quebrado e ninguém respondeu.", "El envío llegó tarde.",
                      "ok", "👍👍", "配送が遅れました。", None, "The parcel arrived late."])
    languages = detect_languages(text).tolist()
    # Han characters -> Chinese whatever else the text holds; kana -> not Chinese (Japanese is
    # not listed, so undetermined); "ok", emoji and empty text are undetermined
    assert languages == ["zh", "zh", "en", "pt", "es", "undetermined", "undetermined", "undetermined",
                         "undetermined", "en"]
    # a language that is not listed is never returned: Chinese text without "zh" is undetermined
    assert detect_languages(pd.Series(["客服态度很好。", "The parcel arrived late."]), ("en",)).tolist() == [
        "undetermined", "en"]
    assert language_name("pt") == "Portuguese" and language_name("undetermined") == "undetermined"
    with pytest.raises(ValueError, match="two-letter ISO 639-1 codes"):
        detect_languages(text, ("english",))


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
    assert tagged["language"].tolist() == ["en", "zh", "en", "zh", "en"] and tagged["themes_scored"].all()
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
    assert summary.attrs["note"] == "" and summary.attrs["comments"] == 3
    text = need_themes_finding(summary.reset_index())
    assert text.startswith("The most mentioned need is price and value for money (functional): 2 comments, 66.7% of 3")
    trend = need_theme_trend(tagged.reset_index(), THEMES, "2026Q3", n_quarters=2)
    row = trend.loc[(trend["quarter"] == "2026Q2") & (trend["theme"] == "delivery")].iloc[0]
    assert (row["comments"], row["scored_comments"], row["share"]) == (1, 2, 0.5)
    assert len(trend) == 2 * len(THEMES)
    assert plot_need_themes(summary.reset_index()).get_xlabel() == "Share of comments (%)"
    assert plot_need_theme_trend(trend).get_title() == "Need themes by quarter"
    plt.close("all")


PORTUGUESE = ["O produto chegou quebrado e ninguém respondeu.", "Entrega muito rápida, adorei o atendimento.",
              "O preço é alto para a qualidade.", "Comprei duas cadeiras para o escritório.",
              "Não recomendo, péssimo serviço."]


def test_repeated_comments_are_tagged_on_every_row_in_their_own_language():
    # Rows 0, 2 and 4 repeat one English comment, rows 1 and 3 one Chinese comment; row 5 is the
    # Chinese price word inside an English sentence, which English keywords alone are tried on.
    comments = pd.DataFrame({"comment": ["Delivery was late", "价格太贵", "Delivery was late", "价格太贵",
                                         "Delivery was late", "The 价格 of the plan is fine"],
                             "language": ["en", "zh", "en", "zh", "en", "en"], "quarter": "2026Q3"})
    tagged = tag_need_themes(comments, THEMES)
    assert tagged["delivery"].tolist() == [True, False, True, False, True, False]
    assert tagged["price"].tolist() == [False, True, False, True, False, False]


def test_portuguese_only_comments_are_not_available():
    comments = pd.DataFrame({"comment": PORTUGUESE, "quarter": "2026Q3"})
    tagged = tag_need_themes(comments, THEMES)
    # "preço" holds no English keyword at a word start, and English keywords are not tried on Portuguese
    assert not tagged["themes_scored"].any() and tagged["themes_mentioned"].sum() == 0
    with pytest.raises(NotAvailable) as raised:
        need_theme_summary(tagged, THEMES, "2026Q3")
    assert raised.value.line() == ("Not available: need themes for comments in Portuguese (100.0% of the comments of "
                                   "2026Q3); add keywords in Portuguese (pt) to the themes of params/need_themes.yaml.")


def _mixed():
    # 2026Q3: English 2, Chinese 1, Portuguese 1
    return pd.DataFrame({"comment": ["The price is too expensive", "Delivery was late again",
                                     "快递很慢，物流一般", "O preço é alto para a qualidade."],
                         "quarter": "2026Q3"})


def test_mixed_languages_tag_the_covered_part_and_state_the_rest():
    tagged = tag_need_themes(_mixed(), THEMES)
    assert tagged["language"].tolist() == ["en", "en", "zh", "pt"]
    summary = need_theme_summary(tagged, THEMES, "2026Q3").set_index("theme")
    # of the 3 covered comments: price 1 (expensive), delivery 2 (deliver..., 快递 / 物流)
    assert summary.loc["delivery", ["comments", "share"]].tolist() == [2, pytest.approx(2 / 3)]
    assert summary.loc["price", "share"] == pytest.approx(1 / 3)
    assert (summary.attrs["comments"], summary.attrs["all_comments"]) == (3, 4)
    assert summary.attrs["note"] == (
        "The need-theme lexicon covers 75.0% of the 2026Q3 comments (English 50.0%, Chinese 25.0%); left out: "
        "comments in Portuguese (25.0%) (add keywords in Portuguese (pt) to the themes of params/need_themes.yaml).")
    assert "of 3 comments in the lexicon's languages" in need_themes_finding(summary.reset_index())


def test_portuguese_keywords_in_the_lexicon_score_portuguese(tmp_path):
    path = tmp_path / "themes.yaml"
    path.write_text("themes:\n  price: {group: functional, label: Price, en: [price], pt: [preço, caro]}\n"
                    "  delivery: {group: functional, label: Delivery, en: [deliver], pt: [entreg]}\n", encoding="utf-8")
    themes = load_need_themes(path)
    tagged = tag_need_themes(pd.DataFrame({"comment": PORTUGUESE, "quarter": "2026Q3"}), themes)
    # "Entrega" (comment 2) is delivery, "preço" (comment 3) price; all 5 are scored
    assert tagged["themes_scored"].all()
    assert tagged["delivery"].tolist() == [False, True, False, False, False]
    assert tagged["price"].tolist() == [False, False, True, False, False]
    summary = need_theme_summary(tagged, themes, "2026Q3").set_index("theme")
    assert summary.loc["price", "share"] == pytest.approx(1 / 5) and summary.attrs["note"] == ""


def _topic_comments():
    rng = np.random.default_rng(0)
    # four clear topics, two in English and two in Chinese
    delivery = ["The courier delivered the parcel late.", "My parcel came late, the courier was slow.",
                "The courier lost my parcel for a week."]
    price = ["The price is too expensive, no discount at all.", "Expensive price and no discount for members.",
             "A discount would help, the price is expensive."]
    logistics_zh = ["物流太慢，快递包裹破损", "快递物流慢", "包裹物流延误，快递员不好"]
    support_zh = ["客服不回复，热线一直等待", "热线客服等待太久", "客服回复慢，等待热线"]
    texts = [rng.choice(group) for group in (delivery, price, logistics_zh, support_zh) for _ in range(15)]
    return pd.DataFrame({"comment": texts})


def test_discover_topics_separates_clear_topics_and_is_seeded():
    tagged = tag_need_themes(_topic_comments(), THEMES)
    assert tagged["language"].value_counts().to_dict() == {"en": 30, "zh": 30}
    topics = discover_topics(tagged, THEMES, n_topics=2, n_top_terms=4, seed=1, min_documents_per_topic=5)
    # two topics per language, each holding its 15 comments (share of the language's 30)
    assert topics["language"].tolist() == ["English", "English", "Chinese", "Chinese"]
    assert topics["topic"].tolist() == ["EN-1", "EN-2", "ZH-1", "ZH-2"]
    assert topics["comments"].tolist() == [15, 15, 15, 15] and (topics["share"] == 0.5).all()
    assert sorted(topics["closest_theme"]) == ["Delivery and logistics", "Delivery and logistics",
                                               "Price and value for money", "Support responsiveness"]
    assert (topics["theme_agreement"] == 1.0).all()
    assert any("物流" in terms for terms in topics["top_terms"])  # jieba segments the Chinese words
    assert topics.attrs["note"] == ""
    again = discover_topics(tagged, THEMES, n_topics=2, n_top_terms=4, seed=1, min_documents_per_topic=5)
    pd.testing.assert_frame_equal(topics, again)
    assert "4 topics" in topics_finding(topics)
    assert discover_topics(tagged.head(5), THEMES, n_topics=3).empty
    # with a period, only that quarter's comments are modelled: none here
    assert discover_topics(tagged.assign(quarter="2026Q2"), THEMES, "2026Q3", n_topics=2,
                           min_documents_per_topic=5).empty


PORTUGUESE_TOPICS = ["A entrega atrasou e o pacote chegou amassado.", "Pacote atrasado, entrega muito lenta.",
                     "A entrega do pacote demorou duas semanas.", "O preço subiu e não tem desconto.",
                     "Preço alto, nenhum desconto para clientes.", "Desconto pequeno, o preço continua alto."]


def test_topics_are_labelled_with_the_language_they_are_in():
    comments = pd.DataFrame({"comment": PORTUGUESE_TOPICS * 5, "quarter": "2026Q3"})
    # without a Portuguese stop-word list Portuguese is not modelled (and never called English)
    with pytest.raises(NotAvailable) as raised:
        discover_topics(comments, period="2026Q3", n_topics=2, min_documents_per_topic=5)
    assert raised.value.line() == (
        "Not available: topic discovery for comments in Portuguese (100.0% of the comments of 2026Q3); add a "
        "stop-word list for Portuguese (pt) under topic_stopwords in params/need_themes.yaml.")
    stopwords = {"pt": ["a", "e", "o", "do", "não", "tem", "para", "muito", "duas"]}
    topics = discover_topics(comments, period="2026Q3", n_topics=2, n_top_terms=4, min_documents_per_topic=5,
                             stopwords=stopwords)
    assert topics["language"].tolist() == ["Portuguese", "Portuguese"]
    assert topics["topic"].tolist() == ["PT-1", "PT-2"] and topics["comments"].tolist() == [15, 15]
    # the three price comments (x 5) form one topic, the three delivery comments the other
    assert [set(t.split(", ")) for t in topics["top_terms"]] == [{"preço", "desconto", "alto", "subiu"},
                                                                {"pacote", "entrega", "semanas", "demorou"}]
    assert topics["closest_theme"].tolist() == ["", ""]  # no theme lists Portuguese keywords
    # mixed with English: the English part is modelled, the Portuguese share is stated
    english = _topic_comments().head(30).assign(quarter="2026Q3")
    mixed = discover_topics(pd.concat([english, comments], ignore_index=True), period="2026Q3", n_topics=2,
                            min_documents_per_topic=5)
    assert mixed["language"].unique().tolist() == ["English"]
    assert mixed.attrs["note"] == (
        "Topic discovery covers 50.0% of the 2026Q3 comments (English 50.0%); left out: comments in Portuguese "
        "(50.0%) (add a stop-word list for Portuguese (pt) under topic_stopwords in params/need_themes.yaml).")


# --- topic labels ---------------------------------------------------------------------------
def test_term_relevance_prefers_terms_exclusive_to_the_topic():
    # two topics of equal weight sharing term 1: phi = [0.5, 0.5, 0] and [0, 0.5, 0.5], p(term) =
    # [0.25, 0.5, 0.25]; topic 0, term 0: 0.6 ln 0.5 + 0.4 ln 2 = -0.1386; term 1: 0.6 ln 0.5 + 0 = -0.4159
    relevance = term_relevance(np.array([[2.0, 2.0, 0.0], [0.0, 2.0, 2.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert relevance[0, :2] == pytest.approx([0.2 * np.log(0.5), 0.6 * np.log(0.5)])
    assert relevance[0, 2] == -np.inf and relevance[1, 2] == pytest.approx(0.2 * np.log(0.5))
    with pytest.raises(ValueError, match="non-negative"):
        term_relevance(np.array([[-1.0, 1.0]]), np.array([[1.0]]))


def test_fillers_numbers_and_unclear_topics():
    assert [is_filler_term(w) for w in ["两个", "第三次", "2062", "关于", "thanks", "twenty", "物流", "courier", "一般般"]] \
        == [True, True, True, True, True, True, False, False, False]
    assert is_filler_term("entrega", {"entrega"})
    # the label is the most relevant non-filler terms; "thanks" is passed over
    assert topic_label(["thanks", "courier", "parcel", "late"], [3.0, 2.0, 1.0, 0.5],
                       ["courier", "thanks", "parcel", "late"]) == "courier / parcel / late"
    # 3 of 4 top terms are fillers or numbers (> half): unclear
    assert topic_label(["两个", "谢谢", "关于", "物流"], [1.0, 0.9, 0.8, 0.7], ["两个", "谢谢", "关于", "物流"]) == ""
    # exactly half is still named
    assert topic_label(["两个", "谢谢", "物流", "快递"], [1.0, 0.9, 0.8, 0.7], ["两个", "谢谢", "物流", "快递"]) == "物流 / 快递"


def test_topic_example_is_the_most_typical_comment_without_personal_data():
    comments = pd.Series(["The courier lost my parcel, call me on 13800138000.",
                          "This is [name], the parcel is late.",
                          "The courier was late with my parcel again, as it was the last time and the time before "
                          "that, every single week.",
                          "Courier late."])
    # weights on the topic: the first two are the most typical but hold (or held) personal data
    example = topic_example(comments, np.array([0.9, 0.9, 0.8, 0.8]))
    assert example == "Courier late."  # of the two at 0.8 the shorter comes first
    long = topic_example(comments.iloc[2:3], np.array([1.0]))
    # 80 characters at most with the "…": the first 79 end with "time", a whole word
    assert topic_example(pd.Series(["The parcel came late and the courier would not wait at the door so I went "
                                    "downstairs again"]), np.array([1.0])) == (
        "The parcel came late and the courier would not wait at the door so I went…")  # "downstairs" cut in two
    assert long == "The courier was late with my parcel again, as it was the last time and the time…"
    assert topic_example(comments.iloc[:2], np.array([0.9, 0.9])) == ""


def test_two_obvious_topics_get_readable_labels_and_a_filler_topic_is_unclear():
    english = ["The courier delivered the parcel late.", "My parcel came late, the courier was slow.",
               "The price is too expensive, no discount at all.", "Expensive price and no discount for members."]
    chinese = ["物流太慢，快递包裹破损", "快递物流慢，包裹晚到", "问了两个三次，谢谢", "关于两个，三次，谢谢"]
    comments = pd.DataFrame({"comment": english * 5 + chinese * 5})
    topics = discover_topics(comments, n_topics=2, n_top_terms=4, seed=1, min_documents_per_topic=5)
    labels = dict(zip(topics["topic"], topics["label"]))
    english_labels = {frozenset(labels[k].split(" / ")) for k in ("EN-1", "EN-2")}
    assert english_labels == {frozenset({"price", "expensive", "discount"}), frozenset({"parcel", "courier", "late"})}
    # Chinese: one topic of logistics words, one of numbers and fillers (两个, 三次, 谢谢, 关于)
    chinese_topics = topics.loc[topics["language"] == "Chinese"].set_index("topic")
    unclear = topics.attrs["unclear"]
    assert len(unclear) == 1 and chinese_topics.loc[unclear[0], "label"] == "Unclear (mostly common words or numbers)"
    clear = [k for k in chinese_topics.index if k not in unclear][0]
    assert set(chinese_topics.loc[clear, "label"].split(" / ")) == {"物流", "快递", "包裹"}
    assert chinese_topics.loc[clear, "example"] in chinese[:2]
    assert topics.loc[topics["language"] == "English", "example"].isin(english).all()
    text = topics_finding(topics)
    assert "Topics too unclear to name (mostly common words or numbers): 1." in text
    assert "finds 4 topics; the largest named one (50.0% of English comments) is about" in text
