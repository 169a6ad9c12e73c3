import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.chapters.sentiment import (  # noqa: E402
    load_sentiment_lexicon,
    plot_sentiment_trend,
    score_sentiment,
    sentiment_by,
    sentiment_finding,
    sentiment_trend,
)

LEXICON = load_sentiment_lexicon()

# Hand-labelled examples: (text, true label, score worked out by hand from the lexicon).
ENGLISH = [
    ("Great service, very happy with the support.", "positive", 2),            # great, happy
    ("The delivery was late and the box was damaged.", "negative", -2),        # late, damaged
    ("Not good at all, the product broke after a week.", "negative", -2),      # good - 2 (negated), broke
    ("No problems so far, works perfectly.", "positive", 2),                   # -problems + 2 (negated), perfectly
    ("When will my order be shipped?", "neutral", 0),
    ("The app is not very intuitive.", "negative", -1),                        # intuitive - 2 (not very ...)
    ("Price is fair and the staff were friendly.", "positive", 2),             # fair, friendly
    ("I don’t like the new interface, it is confusing.", "negative", -1),      # confusing
    ("Could you send the invoice again?", "neutral", 0),
    ("Oh great, another week of waiting. Just perfect.", "negative", 2),       # sarcasm: scored positive (miss)
]
CHINESE = [
    ("质量很好，非常满意。", "positive", 2),          # 很好, 满意
    ("发货太慢了，很失望。", "negative", -2),         # 太慢, 失望
    ("客服态度不好，不满意。", "negative", -3),       # 满意 - 不好 - 不满 - 2 (不满意)
    ("物流不慢，包装也很好。", "positive", 2),        # -慢 + 2 (不慢) + 很好
    ("请问这个型号保修多久？", "neutral", 0),
    ("产品不太好用。", "negative", -1),              # 好用 - 2 (不太好用)
    ("价格公道，服务热情。", "positive", 2),          # 公道, 热情
    ("设备出问题了，很麻烦。", "negative", -2),       # 出问题, 麻烦
    ("下个月会有新版本吗？", "neutral", 0),
    ("呵呵，真是好极了，等了一个月才到货。", "negative", 0),  # sarcasm: no lexicon word, neutral (miss)
]


@pytest.mark.parametrize("examples", [ENGLISH, CHINESE], ids=["english", "chinese"])
def test_accuracy_on_hand_labelled_examples(examples):
    frame = pd.DataFrame(examples, columns=["comment", "truth", "hand_score"])
    scored = score_sentiment(frame, LEXICON)
    assert scored["sentiment_score"].tolist() == frame["hand_score"].tolist()
    # by hand: 9 of 10 right, the sarcastic last example is the miss
    accuracy = (scored["sentiment"] == frame["truth"]).mean()
    assert accuracy == pytest.approx(0.9)
    assert scored["sentiment"].iloc[-1] != "negative"


def test_language_and_hit_counts():
    scored = score_sentiment(pd.DataFrame({"comment": ["Not bad", "不错，很方便", None]}), LEXICON)
    # "not bad": bad -1, negated negative +2 -> +1 positive
    assert scored["sentiment_score"].tolist() == [1, 2, 0]
    assert scored["language"].tolist() == ["en", "zh", "en"]
    assert scored["negations"].tolist() == [1, 0, 0]
    assert scored["sentiment"].tolist() == ["positive", "positive", "neutral"]


def test_bad_lexicon_is_reported(tmp_path):
    path = tmp_path / "lexicon.yaml"
    path.write_text("en: {positive: [good], negative: [bad], negators: []}\nzh: {positive: [好], negative: [差], negators: [不]}\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match="'en.negators' lists no words"):
        load_sentiment_lexicon(path)
    # unquoted "no" is a YAML boolean: the loader says so instead of matching "false"
    path.write_text("en: {positive: [good], negative: [bad], negators: [not, no]}\nzh: {positive: [好], negative: [差], negators: [不]}\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match="quote words"):
        load_sentiment_lexicon(path)


def test_shares_trend_and_finding():
    comments = pd.DataFrame({
        "source": ["survey", "survey", "complaint", "complaint", "survey"],
        "quarter": ["2026Q3", "2026Q3", "2026Q3", "2026Q3", "2026Q2"],
        "comment": ["great", "ok", "terrible", "slow and rude", "great"],
    })
    scored = score_sentiment(comments, LEXICON)
    # 2026Q3: positive 1, neutral 1, negative 2 of 4; 2026Q2: 1 positive of 1
    trend = sentiment_trend(scored, "2026Q3", n_quarters=2)
    assert trend["comments"].tolist() == [1, 4]
    now = trend.iloc[-1]
    assert (now["positive"], now["neutral"], now["negative"], now["net_sentiment"]) == (0.25, 0.25, 0.5, -0.25)
    by_source = sentiment_by(scored, "2026Q3").set_index("source")
    assert by_source.loc["complaint", "negative"] == 1.0 and by_source.loc["All", "comments"] == 4
    text = sentiment_finding(trend, by_source.reset_index())
    assert text.startswith("Of 4 comments in 2026Q3, 25.0% are positive, 25.0% neutral and 50.0% negative "
                           "(negative share +50.0 pp on the previous quarter).")
    assert "Complaint comments are the most negative (100.0%)" in text
    ax = plot_sentiment_trend(trend)
    assert ax.get_ylabel() == "Share of comments (%)"
    plt.close("all")
