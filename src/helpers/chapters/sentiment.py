"""Sentiment of comment text (English and Chinese) from an editable lexicon.

Method (a dictionary approach in the spirit of Hu and Liu 2004 and Taboada et al. 2011, with
their simplest negation rule):

1. Text is lower-cased and curly apostrophes straightened.
2. For each language of ``params/sentiment_lexicon.yaml`` count, with one vectorised regex
   count per word list over all comments:
   ``positive`` hits, ``negative`` hits, and *negated* hits: a sentiment word right after a
   negator, optionally with one intensifier between ("not good", "not very good", "不满意",
   "不太满意"). English words match whole words; Chinese words match anywhere (no segmentation).
3. A negated word flips its polarity: score = positive - negative - 2 x negated positive +
   2 x negated negative (the plain count already added the word once with its own sign).
4. Label: score > 0 positive, < 0 negative, 0 neutral (no sentiment words, or they cancel).

Both languages' lists are applied to every comment, so mixed-language text works; ``language``
records "zh" when a comment contains Chinese characters. Known limits: sarcasm, negation more
than one word away, and sentiment words that are also parts of longer neutral words.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from helpers import paths
from helpers.quarters import Quarter, quarter_labels
from helpers.report.fmt import fmt_int, fmt_pct, fmt_pp
from helpers.report.plotting import label, new_axes
from helpers.validation import require_columns

SENTIMENT_LEXICON_FILE = paths.PARAMS_DIR / "sentiment_lexicon.yaml"
LANGUAGES = ("en", "zh")
LABELS = ("positive", "neutral", "negative")
_CJK_RE = r"[\u3400-\u4dbf\u4e00-\u9fff]"




def load_sentiment_lexicon(path: str | Path | None = None) -> dict[str, dict[str, list[str]]]:
    """``{language: {positive, negative, negators, intensifiers: [words]}}`` from the YAML file."""
    path = paths.resolve(path) if path else SENTIMENT_LEXICON_FILE
    if not path.exists():
        raise ValueError(f"sentiment lexicon {path} does not exist")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    lexicon = {}
    for language in LANGUAGES:
        spec = data.get(language)
        if not isinstance(spec, dict):
            raise ValueError(f"{path} needs a '{language}' section with positive, negative, negators")
        words = {}
        for key in ("positive", "negative", "negators", "intensifiers"):
            entries = spec.get(key) or []
            odd = [w for w in entries if not isinstance(w, (str, int, float)) or isinstance(w, bool)]
            if odd:
                raise ValueError(f"{path}: '{language}.{key}' has {odd}: quote words YAML reads as true/false "
                                 "or null, e.g. \"no\"")
            words[key] = [str(w).strip().lower() for w in entries if str(w).strip()]
        for key in ("positive", "negative", "negators"):
            if not words[key]:
                raise ValueError(f"{path}: '{language}.{key}' lists no words")
        lexicon[language] = words
    return lexicon


def _alternation(words: list[str], english: bool) -> str:
    escaped = [r"\s+".join(re.escape(p) for p in w.split()) if english else re.escape(w)
               for w in sorted(set(words), key=len, reverse=True)]
    return "(?:" + "|".join(escaped) + ")"


def _patterns(words: dict[str, list[str]], english: bool) -> dict[str, str]:
    """Regexes counting positive, negative, negated positive and negated negative hits."""
    gap = r"\s+" if english else ""
    edge = r"\b" if english else ""
    negator = _alternation(words["negators"], english)
    between = f"(?:{_alternation(words['intensifiers'], english)}{gap})?" if words["intensifiers"] else ""
    patterns = {}
    for polarity in ("positive", "negative"):
        word = _alternation(words[polarity], english)
        patterns[polarity] = f"{edge}{word}{edge}"
        patterns[f"negated_{polarity}"] = f"{edge}{negator}{gap}{between}{word}{edge}"
    return patterns


def score_sentiment(comments: pd.DataFrame, lexicon: dict | None = None) -> pd.DataFrame:
    """``comments`` with ``language``, ``positive_hits``, ``negative_hits``, ``negations``,
    ``sentiment_score`` and ``sentiment`` (positive / neutral / negative). See the module docstring."""
    require_columns(comments, ["comment"], "comments")
    lexicon = lexicon or load_sentiment_lexicon()
    text = comments["comment"].astype("object").fillna("").astype(str).str.lower().str.replace("’", "'", regex=False)
    counts = {key: np.zeros(len(text), dtype="int64")
              for key in ("positive", "negative", "negated_positive", "negated_negative")}
    for language in LANGUAGES:
        for key, pattern in _patterns(lexicon[language], english=language == "en").items():
            counts[key] += text.str.count(pattern).fillna(0).to_numpy(dtype="int64")
    scored = comments.copy()
    scored["language"] = np.where(text.str.contains(_CJK_RE, regex=True), "zh", "en")
    scored["positive_hits"] = counts["positive"]
    scored["negative_hits"] = counts["negative"]
    scored["negations"] = counts["negated_positive"] + counts["negated_negative"]
    scored["sentiment_score"] = (counts["positive"] - counts["negative"]
                                 - 2 * counts["negated_positive"] + 2 * counts["negated_negative"])
    scored["sentiment"] = np.select([scored["sentiment_score"] > 0, scored["sentiment_score"] < 0],
                                    ["positive", "negative"], default="neutral")
    return scored


def _shares(scored: pd.DataFrame, keys) -> pd.DataFrame:
    table = pd.crosstab(keys, scored["sentiment"]).reindex(columns=list(LABELS), fill_value=0)
    out = pd.DataFrame({"comments": table.sum(axis=1)})
    for name in LABELS:
        out[name] = table[name] / out["comments"].where(out["comments"] > 0)
    out["net_sentiment"] = out["positive"] - out["negative"]
    return out


def sentiment_by(scored: pd.DataFrame, period: Quarter | str, by: str = "source") -> pd.DataFrame:
    """Sentiment shares of the quarter's comments per ``by`` (e.g. source, language), plus "All".

    Returns ``<by>, comments, positive, neutral, negative, net_sentiment`` (shares; net =
    positive - negative).
    """
    require_columns(scored, ["quarter", "sentiment", by], "scored")
    now = scored.loc[scored["quarter"] == str(Quarter.parse(period))]
    table = _shares(now, now[by].rename(by))
    overall = _shares(now, pd.Series("All", index=now.index, name=by))
    table = pd.concat([table, overall])
    table.index.name = by
    return table.reset_index()


def sentiment_trend(scored: pd.DataFrame, period: Quarter | str, n_quarters: int = 8) -> pd.DataFrame:
    """Sentiment shares per quarter, the last ``n_quarters`` oldest first: ``quarter, comments,
    positive, neutral, negative, net_sentiment`` (the chapter's sentiment.csv)."""
    require_columns(scored, ["sentiment"], "scored")
    quarters = [str(q) for q in Quarter.parse(period).trailing(n_quarters)]
    labels = scored["quarter"] if "quarter" in scored else quarter_labels(scored["date"])
    window = scored.loc[labels.isin(quarters)]
    table = _shares(window, labels.loc[window.index].rename("quarter")).reindex(quarters)
    table["comments"] = table["comments"].fillna(0).astype("int64")
    table.index.name = "quarter"
    return table.reset_index()


def sentiment_finding(trend: pd.DataFrame, by_source: pd.DataFrame | None = None) -> str:
    now = trend.iloc[-1]
    if now["comments"] == 0:
        return f"There are no comments in {now['quarter']} to read sentiment from."
    text = (f"Of {fmt_int(now['comments'])} comments in {now['quarter']}, {fmt_pct(now['positive'])} are positive, "
            f"{fmt_pct(now['neutral'])} neutral and {fmt_pct(now['negative'])} negative")
    previous = trend.iloc[-2] if len(trend) > 1 else None
    if previous is not None and previous["comments"] > 0:
        text += f" (negative share {fmt_pp(now['negative'] - previous['negative'])} on the previous quarter)"
    text += "."
    if by_source is not None and len(by_source) > 2:
        column = by_source.columns[0]
        groups = by_source.loc[by_source[column] != "All"]
        worst = groups.loc[groups["negative"].idxmax()]
        text += f" {str(worst[column]).capitalize()} comments are the most negative ({fmt_pct(worst['negative'])})."
    return text


def plot_sentiment_trend(trend: pd.DataFrame, ax=None):
    """Stacked bars of positive / neutral / negative shares per quarter."""
    require_columns(trend, ["quarter", *LABELS], "trend")
    ax = new_axes(ax)
    x = np.arange(len(trend))
    bottom = np.zeros(len(trend))
    for name, colour in (("negative", "C3"), ("neutral", "C7"), ("positive", "C2")):
        values = 100 * trend[name].fillna(0).to_numpy()
        ax.bar(x, values, bottom=bottom, color=colour, label=name.capitalize())
        bottom += values
    ax.set_xticks(x, trend["quarter"], rotation=45)
    ax.legend(loc="upper left", fontsize=9, bbox_to_anchor=(1.0, 1.0))
    return label(ax, "Sentiment of comments by quarter", "Quarter", "Share of comments (%)")
