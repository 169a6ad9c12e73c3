import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.chapters.sentiment import (  # noqa: E402
    lexicon_counts,
    load_sentiment_lexicon,
    plot_sentiment_trend,
    score_sentiment,
    sentiment_by,
    sentiment_coverage,
    sentiment_finding,
    sentiment_trend,
    ticket_tone_finding,
    vader_scores,
)
from helpers.errors import NotAvailable  # noqa: E402

DATA = Path(__file__).parent / "data"
LEXICON = load_sentiment_lexicon()


def _vader(total_valence: float) -> float:
    """VADER's compound score of a sum of word valences: x / sqrt(x^2 + 15) (Hutto and Gilbert 2014)."""
    return total_valence / math.sqrt(total_valence ** 2 + 15)


def _accuracy(path: Path) -> pd.Series:
    labelled = pd.read_csv(path)
    scored = score_sentiment(labelled, LEXICON)
    # every comment of the set is detected in the language it is written in
    assert (scored["language"] == labelled["language"]).all()
    return (scored["sentiment"] == labelled["label"]).groupby(labelled["language"]).sum()


def test_accuracy_on_the_hand_labelled_test_set():
    # 70 English and 70 Chinese retail comments labelled by hand (23 positive, 23 neutral, 24
    # negative each), written after the lexicons were last changed. Measured: English 56 of 70
    # right (80.0%), Chinese 53 of 70 (75.7%); the previous method (one word-count lexicon for
    # both languages) got 42 (60.0%) and 47 (67.1%) on the same comments.
    correct = _accuracy(DATA / "sentiment_labelled.csv")
    assert correct["en"] >= 56 and correct["en"] / 70 >= 0.60 + 0.15
    assert correct["zh"] >= 53 and correct["zh"] / 70 > 0.671


def test_accuracy_on_the_development_set():
    # the 140 + 140 comments the lexicon adaptations were written against (in-sample, so
    # optimistic): English 132 of 140, Chinese 137 of 140; the previous method got 101 and 86
    correct = _accuracy(DATA / "sentiment_labelled_dev.csv")
    assert correct["en"] >= 132 and correct["zh"] >= 137


def test_vader_scores_with_the_lexicon_additions_by_hand():
    text = pd.Series(["The service was good", "The parcel was late", "Nobody answered", "Please call me",
                      "The service was good", None])
    scores = vader_scores(text, LEXICON["en"])
    # good: VADER's own valence 1.9; late: added with -2; "nobody answered" joined into one added
    # token (-2); please (VADER 1.3) is neutral in these comments and taken out
    assert scores.iloc[0] == pytest.approx(_vader(1.9), abs=1e-4)  # 0.4404
    assert scores.iloc[1] == pytest.approx(_vader(-2.0), abs=1e-4)  # -0.4588
    assert scores.iloc[2] == pytest.approx(_vader(-2.0), abs=1e-4)
    assert scores.iloc[3] == 0.0 and scores.iloc[5] == 0.0
    assert scores.iloc[4] == scores.iloc[0]
    # plain VADER (no additions) does not know "late" and likes "please"
    plain = vader_scores(text.iloc[1:4])
    assert plain.tolist()[0] == 0.0 and plain.tolist()[2] == pytest.approx(_vader(1.3), abs=1e-4)


SMALL = {"positive": ["满意", "很好"], "negative": ["慢", "失望"], "negators": ["不", "没有"], "intensifiers": ["太"],
         "neutral": ["慢慢"]}


def test_lexicon_counts_negation_and_neutral_phrases_by_hand():
    counts = lexicon_counts(pd.Series(["发货太慢了，很失望", "不太满意", "慢慢来，很好", "没有慢", "请问几点开门"]),
                            SMALL, spaced=False)
    # 1: 慢, 失望 -> -2; 2: 满意 +1, negated (不 太 满意) -2 -> -1; 3: 慢慢 blanked, 很好 -> +1;
    # 4: 慢 -1, negated negative +2 -> +1; 5: no word -> 0
    assert counts["score"].tolist() == [-2, -1, 1, 1, 0]
    assert counts["negated_positive"].tolist() == [0, 1, 0, 0, 0]
    assert counts["negated_negative"].tolist() == [0, 0, 0, 1, 0]


def test_lexicon_counts_of_repeated_texts_keep_their_rows_and_index():
    text = pd.Series(["不太满意", "很失望", "不太满意", None, "很失望"], index=[10, 7, 3, 5, 1])
    counts = lexicon_counts(text, SMALL, spaced=False)  # scores as in the test above: -1, -1; missing 0
    assert counts.index.tolist() == [10, 7, 3, 5, 1]
    assert counts["score"].tolist() == [-1, -1, -1, 0, -1]
    assert counts["negated_positive"].tolist() == [1, 0, 1, 0, 0]


def test_a_language_with_a_lexicon_section_is_scored_whole_words():
    lexicon = {"pt": {"positive": ["bom", "rápida"], "negative": ["ruim", "atrasado"], "negators": ["não"],
                      "intensifiers": ["muito"], "neutral": []}}
    comments = pd.DataFrame({"comment": ["Entrega muito rápida, produto bom.", "Não muito bom, chegou atrasado.",
                                         "O produto chegou ontem à tarde.", "Bombeiro"],
                             "language": ["pt", "pt", "pt", "pt"]})
    scored = score_sentiment(comments, lexicon)
    # 1: rápida, bom -> +2; 2: bom +1, negated (não muito bom) -2, atrasado -1 -> -2; 3: 0;
    # 4: "bom" inside "bombeiro" is no whole word -> 0
    assert scored["sentiment_score"].tolist() == [2.0, -2.0, 0.0, 0.0]
    assert scored["sentiment"].tolist() == ["positive", "negative", "neutral", "neutral"]
    assert scored["sentiment_method"].unique().tolist() == ["lexicon"]
    assert scored["negations"].tolist() == [0, 1, 0, 0]


PORTUGUESE = ["O produto chegou quebrado e ninguém respondeu.", "Entrega muito rápida, adorei o atendimento.",
              "O preço é alto para a qualidade.", "Comprei duas cadeiras para o escritório.",
              "Não recomendo, péssimo serviço."]


def test_portuguese_only_comments_are_not_available_with_their_share():
    comments = pd.DataFrame({"comment": PORTUGUESE, "quarter": "2026Q3", "source": "survey"})
    scored = score_sentiment(comments, LEXICON)
    assert scored["language"].eq("pt").all() and scored["sentiment"].isna().all()
    with pytest.raises(NotAvailable) as raised:
        sentiment_coverage(scored, "2026Q3")
    assert raised.value.line() == ("Not available: sentiment for comments in Portuguese (100.0% of the comments of "
                                   "2026Q3); add a lexicon for Portuguese (pt) in params/sentiment_lexicon.yaml.")


def _mixed():
    # 2026Q3: 4 English, 3 Chinese, 2 Portuguese, 1 undetermined ("ok"); 2026Q2: 1 English
    rows = [("Great service, thank you!", "survey"), ("Terrible, the parcel arrived broken.", "complaint"),
            ("The courier was rude and the box was damaged.", "complaint"), ("When will the sofa be delivered?", "survey"),
            ("客服态度很好，非常满意。", "survey"), ("发货太慢了，很失望。", "complaint"), ("请问几点开门？", "survey"),
            (PORTUGUESE[0], "complaint"), (PORTUGUESE[1], "survey"), ("ok", "survey")]
    frame = pd.DataFrame(rows, columns=["comment", "source"]).assign(quarter="2026Q3")
    earlier = pd.DataFrame({"comment": ["Excellent, fast delivery."], "source": ["survey"], "quarter": ["2026Q2"]})
    return pd.concat([frame, earlier], ignore_index=True)


def test_mixed_languages_score_the_covered_part_and_state_the_rest():
    scored = score_sentiment(_mixed(), LEXICON)
    assert scored["language"].tolist()[:10] == ["en"] * 4 + ["zh"] * 3 + ["pt"] * 2 + ["undetermined"]
    # by hand: English positive, negative, negative, neutral (a question); Chinese positive,
    # negative, neutral; Portuguese and "ok" not scored
    assert scored["sentiment"].tolist()[:7] == ["positive", "negative", "negative", "neutral",
                                                "positive", "negative", "neutral"]
    assert scored["sentiment"].iloc[7:10].isna().all()
    coverage = sentiment_coverage(scored, "2026Q3").set_index("language")
    assert coverage["comments"].to_dict() == {"en": 4, "zh": 3, "pt": 2, "undetermined": 1}
    assert coverage["method"].to_dict() == {"en": "VADER", "zh": "lexicon", "pt": "not scored",
                                            "undetermined": "not scored"}
    assert coverage.attrs["note"] == (
        "Sentiment covers 70.0% of the 2026Q3 comments (English 40.0%, Chinese 30.0%); left out: comments in "
        "Portuguese (20.0%) and of undetermined language (10.0%) (add a lexicon for Portuguese (pt) in "
        "params/sentiment_lexicon.yaml; comments of undetermined language are too short, ambiguous or in a language "
        "not listed in chapter_options.02_needs.comment_languages).")
    # shares of the 7 scored comments: 2 positive, 2 neutral, 3 negative
    trend = sentiment_trend(scored, "2026Q3", n_quarters=2)
    assert trend["comments"].tolist() == [1, 7] and trend["all_comments"].tolist() == [1, 10]
    now = trend.iloc[-1]
    assert (now["positive"], now["neutral"], now["negative"]) == pytest.approx((2 / 7, 2 / 7, 3 / 7))
    by_source = sentiment_by(scored, "2026Q3").set_index("source")
    # complaints scored: broken, rude/damaged, 发货太慢 -> 3 negative of 3 (the Portuguese one is left out)
    assert by_source.loc["complaint", ["comments", "negative"]].tolist() == [3, 1.0]
    assert by_source.loc["All", "comments"] == 7
    text = sentiment_finding(trend, by_source.reset_index())
    assert text.startswith("Of the 7 comments scored in 2026Q3 (70.0% of 10), 28.6% are positive, 28.6% neutral "
                           "and 42.9% negative (negative share +42.9 pp on the previous quarter).")
    assert "Complaint comments are the most negative (100.0%)" in text
    ax = plot_sentiment_trend(trend)
    assert ax.get_ylabel() == "Share of scored comments (%)"
    plt.close("all")


def test_only_undetermined_comments_name_the_languages_parameter():
    scored = score_sentiment(pd.DataFrame({"comment": ["ok", "👍", "10/10"], "quarter": "2026Q3"}), LEXICON)
    with pytest.raises(NotAvailable, match=r"of undetermined language \(100.0% of the comments of 2026Q3\); "
                                           r"comments of undetermined language are too short"):
        sentiment_coverage(scored, "2026Q3")


def test_bad_lexicon_is_reported(tmp_path):
    path = tmp_path / "lexicon.yaml"
    path.write_text("zh: {positive: [好], negative: [差], negators: []}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'zh.negators' lists no words"):
        load_sentiment_lexicon(path)
    # English is scored by VADER: its section may hold additions only
    path.write_text("en: {negative: [late]}\n", encoding="utf-8")
    assert load_sentiment_lexicon(path)["en"]["negative"] == ["late"]
    path.write_text("portuguese: {positive: [bom], negative: [ruim], negators: [não]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'portuguese' is not a two-letter language code"):
        load_sentiment_lexicon(path)
    # unquoted "no" is a YAML boolean: the loader says so instead of matching "false"
    path.write_text("es: {positive: [bueno], negative: [malo], negators: [no]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="quote words"):
        load_sentiment_lexicon(path)


# Hand-written ticket comments whose tone is not the one their ticket type suggests.
APPRECIATIVE_COMPLAINT = ("The first unit was faulty, but the replacement arrived quickly and works perfectly. "
                          "Thank you.")
ANNOYED_CONSULTATION = "I have asked three times when my order ships and nobody replies, really annoying."
FACTUAL_COMPLAINT = "The invoice shows a different unit price from the quote, please correct it."
APPRECIATIVE_COMPLAINT_ZH = "产品坏了，售后很快就给换了，服务很好，谢谢。"
ANNOYED_CONSULTATION_ZH = "问了三次什么时候发货，一直没人理，很生气。"


def _tickets_against_type() -> pd.DataFrame:
    rows = [(APPRECIATIVE_COMPLAINT, "complaint"), (FACTUAL_COMPLAINT, "complaint"),
            (APPRECIATIVE_COMPLAINT_ZH, "complaint"), (ANNOYED_CONSULTATION, "consultation"),
            (ANNOYED_CONSULTATION_ZH, "consultation"),
            # the same two texts under the other ticket type
            (APPRECIATIVE_COMPLAINT, "consultation"), (ANNOYED_CONSULTATION, "complaint")]
    return pd.DataFrame(rows, columns=["comment", "source"]).assign(quarter="2026Q3")


def test_tone_comes_from_the_text_not_the_ticket_type():
    scored = score_sentiment(_tickets_against_type(), LEXICON)
    # an appreciative complaint is positive (VADER weights the clause after "but" more), a
    # factual one neutral (no rated word: "please" is taken out), an annoyed question negative
    assert scored["sentiment"].tolist() == ["positive", "neutral", "positive", "negative", "negative",
                                            "positive", "negative"]
    assert scored["sentiment_score"].iloc[0] > 0.5 and scored["sentiment_score"].iloc[1] == 0.0
    assert scored["sentiment_score"].iloc[3] < -0.05
    # Chinese by hand: 坏了 -1, 很快 +1, 很好 +1, 谢谢 +1 -> +2; 没人理 -1, 生气 -1 -> -2
    assert scored.loc[2, ["positive_hits", "negative_hits", "sentiment_score"]].tolist() == [3, 1, 2.0]
    assert scored.loc[4, ["positive_hits", "negative_hits", "sentiment_score"]].tolist() == [0, 2, -2.0]
    # the same text scores the same whatever its ticket type
    assert scored.loc[5, "sentiment_score"] == scored.loc[0, "sentiment_score"]
    assert scored.loc[6, "sentiment_score"] == scored.loc[3, "sentiment_score"]


def test_tone_within_each_ticket_type_is_shown():
    scored = score_sentiment(_tickets_against_type(), LEXICON)
    by_source = sentiment_by(scored, "2026Q3")
    rows = by_source.set_index("source")
    # complaints: positive, neutral, positive, negative -> 2/4 positive, 1/4 neutral, 1/4 negative;
    # consultations: negative, negative, positive -> 1/3 positive, 2/3 negative
    assert rows.loc["complaint", ["comments", "positive", "neutral", "negative"]].tolist() == [4, 0.5, 0.25, 0.25]
    assert rows.loc["consultation", ["comments", "positive", "negative"]].tolist() == pytest.approx([3, 1 / 3, 2 / 3])
    assert ticket_tone_finding(by_source) == (
        "Tone varies within each ticket type: 50.0% of complaint comments are positive and 25.0% negative; "
        "33.3% of consultation comments are positive and 66.7% negative.")
    text = sentiment_finding(sentiment_trend(scored, "2026Q3", n_quarters=1), by_source)
    assert text == ("Of 7 comments in 2026Q3, 42.9% are positive, 14.3% neutral and 42.9% negative. Consultation "
                    "comments are the most negative (66.7%). " + ticket_tone_finding(by_source))
    # without both ticket types there is nothing to compare
    assert ticket_tone_finding(by_source.loc[by_source["source"] != "consultation"]) == ""
