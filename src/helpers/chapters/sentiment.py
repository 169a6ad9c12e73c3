"""Sentiment of comment text, per language: VADER for English, an editable lexicon for the others.

Each comment's language is detected first (:func:`helpers.chapters.needs.detect_languages`).

- English: VADER (Hutto and Gilbert 2014, the ``vaderSentiment`` package with its lexicon of
  7,500 rated words, negation, degree words, "but" and punctuation rules). The ``en`` section of
  ``params/sentiment_lexicon.yaml`` adapts it to retail comments: its ``positive`` / ``negative``
  words and phrases are added with valence +2 / -2 where VADER lacks them (phrases are joined into
  one token first, "nobody answered" -> "nobody_answered"), its ``neutral`` words and phrases
  are taken out ("please", "would like"). Label from the compound score: >= 0.05 positive,
  <= -0.05 negative, else neutral (the package's published thresholds).
- Any other language with a section in the lexicon file (``zh`` ships; add ``pt``, ``es``, ...): a
  dictionary count in the spirit of Hu and Liu 2004 and Taboada et al. 2011, with their simplest
  negation rule. Text is lower-cased, curly apostrophes straightened and the ``neutral`` phrases
  blanked ("差不多" holds 差); then, with one vectorised regex count per word list, ``positive``
  hits, ``negative`` hits and *negated* hits: a sentiment word right after a negator, optionally
  with one intensifier between ("不满意", "不太满意"). Words of spaced languages match whole
  words, Chinese / Japanese words anywhere (no segmentation). A negated word flips its
  polarity: score = positive - negative - 2 x negated positive + 2 x negated negative. Label:
  score > 0 positive, < 0 negative, 0 neutral.
- Comments in a language with neither (or of undetermined language) are not scored: their
  ``sentiment`` is empty, the tables are of the scored comments and
  :func:`sentiment_coverage` states the share left out, or raises ``NotAvailable`` when no
  comment of the quarter can be scored.

The score is of the text alone: no other field of a comment (its source, ticket type, survey
score) enters it, so the same text scores the same in a complaint as in a consultation, a
complaint that thanks the team for the fix scores positive and an annoyed question negative;
:func:`sentiment_by` with ``by="source"`` shows the tone within each ticket type.

Known limits: sarcasm, negation more than one word away (lexicon languages), and sentiment
words that are also parts of longer neutral words.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import yaml

from helpers import paths
from helpers.chapters.needs import (
    DEFAULT_LANGUAGES,
    DEFAULT_MIN_CONFIDENCE,
    UNSPACED_LANGUAGES,
    coverage_note,
    is_language_code,
    language_coverage,
    require_coverage,
    with_languages,
)
from helpers.quarters import Quarter, quarter_labels
from helpers.report.fmt import fmt_int, fmt_pct, fmt_pp, fmt_quarter
from helpers.report.i18n import t
from helpers.report.labels import words
from helpers.report.plotting import label, new_axes
from helpers.validation import require_columns

SENTIMENT_LEXICON_FILE = paths.PARAMS_DIR / "sentiment_lexicon.yaml"
LABELS = ("positive", "neutral", "negative")
VADER_LANGUAGES = ("en",)
VADER_THRESHOLD = 0.05  # compound score cut-offs published with VADER
ADDED_VALENCE = 2.0  # valence of a word added to VADER: between "good" (1.9) and "great" (3.1)
_KEYS = ("positive", "negative", "negators", "intensifiers", "neutral")
_REQUIRED = ("positive", "negative", "negators")


def load_sentiment_lexicon(path: str | Path | None = None) -> dict[str, dict[str, list[str]]]:
    """``{language: {positive, negative, negators, intensifiers, neutral: [words]}}`` from the
    YAML file, one section per ISO 639-1 code. A section of a language VADER scores (``en``) may
    list any of them (additions to VADER); any other needs positive, negative and negators."""
    path = paths.resolve(path) if path else SENTIMENT_LEXICON_FILE
    if not path.exists():
        raise ValueError(f"sentiment lexicon {path} does not exist")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path} must map language codes (en, zh, pt, ...) to word lists")
    lexicon = {}
    for language, spec in data.items():
        if not is_language_code(language):
            raise ValueError(f"{path}: section {language!r} is not a two-letter language code (en, zh, pt)")
        if not isinstance(spec, dict) or set(spec) - set(_KEYS):
            raise ValueError(f"{path}: '{language}' must be a mapping with some of {', '.join(_KEYS)}")
        words = {}
        for key in _KEYS:
            entries = spec.get(key) or []
            odd = [w for w in entries if not isinstance(w, (str, int, float)) or isinstance(w, bool)]
            if odd:
                raise ValueError(f"{path}: '{language}.{key}' has {odd}: quote words YAML reads as true/false "
                                 "or null, e.g. \"no\"")
            words[key] = [str(w).strip().lower() for w in entries if str(w).strip()]
        if language not in VADER_LANGUAGES:
            for key in _REQUIRED:
                if not words[key]:
                    raise ValueError(f"{path}: '{language}.{key}' lists no words")
        lexicon[language] = words
    return lexicon


def scored_languages(lexicon: dict) -> list[str]:
    """The languages that get a sentiment: VADER's and those of the lexicon."""
    return sorted(set(VADER_LANGUAGES) | set(lexicon))


# ----------------------------------------------------------------------------- English: VADER
def _phrase_regex(phrases: Iterable[str]) -> re.Pattern | None:
    phrases = sorted({p for p in phrases if " " in p}, key=len, reverse=True)
    if not phrases:
        return None
    return re.compile(r"\b(?:" + "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in phrases) + r")\b",
                      re.IGNORECASE)


def _token(phrase: str) -> str:
    return "_".join(phrase.lower().split())


@lru_cache(maxsize=4)
def _vader(positive: tuple[str, ...], negative: tuple[str, ...], neutral: tuple[str, ...]):
    """A VADER analyser with the lexicon's words added (where VADER lacks them) and its neutral
    words taken out."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyser = SentimentIntensityAnalyzer()
    for words, valence in ((positive, ADDED_VALENCE), (negative, -ADDED_VALENCE)):
        for word in words:
            analyser.lexicon.setdefault(_token(word), valence)  # VADER's human ratings win
    for word in neutral:
        analyser.lexicon.pop(_token(word), None)
    return analyser


def vader_scores(text: pd.Series, words: dict[str, list[str]] | None = None) -> pd.Series:
    """VADER compound score in [-1, 1] of each text, with the additions of ``words`` (the
    lexicon's ``en`` section). VADER scores one text at a time: each distinct text once."""
    words = words or {}
    positive, negative, neutral = (tuple(words.get(k, [])) for k in ("positive", "negative", "neutral"))
    analyser = _vader(positive, negative, neutral)
    text = text.astype("object").fillna("").astype(str).str.replace("’", "'", regex=False)
    phrases = _phrase_regex([*positive, *negative, *neutral])
    if phrases is not None:
        text = text.str.replace(phrases, lambda m: _token(m.group(0)), regex=True)
    distinct = text.unique()
    compound = {t: analyser.polarity_scores(t)["compound"] for t in distinct}
    return text.map(compound).astype("float64")


# ----------------------------------------------------------------------------- lexicon languages
def _alternation(words: list[str], spaced: bool) -> str:
    escaped = [r"\s+".join(re.escape(p) for p in w.split()) if spaced else re.escape(w)
               for w in sorted(set(words), key=len, reverse=True)]
    return "(?:" + "|".join(escaped) + ")"


def _patterns(words: dict[str, list[str]], spaced: bool) -> dict[str, str]:
    """Regexes counting positive, negative, negated positive and negated negative hits."""
    gap = r"\s+" if spaced else ""
    edge = r"\b" if spaced else ""
    negator = _alternation(words["negators"], spaced)
    between = f"(?:{_alternation(words['intensifiers'], spaced)}{gap})?" if words["intensifiers"] else ""
    patterns = {}
    for polarity in ("positive", "negative"):
        word = _alternation(words[polarity], spaced)
        patterns[polarity] = f"{edge}{word}{edge}"
        patterns[f"negated_{polarity}"] = f"{edge}{negator}{gap}{between}{word}{edge}"
    return patterns


def lexicon_counts(text: pd.Series, words: dict[str, list[str]], spaced: bool = True) -> pd.DataFrame:
    """``positive, negative, negated_positive, negated_negative`` hit counts of each text and
    ``score`` (see the module docstring). Each distinct text is searched once."""
    codes, distinct = text.astype("object").fillna("").astype(str).factorize()
    distinct = pd.Series(distinct).str.lower().str.replace("’", "'", regex=False)
    if words.get("neutral"):
        edge = r"\b" if spaced else ""
        distinct = distinct.str.replace(f"{edge}{_alternation(words['neutral'], spaced)}{edge}", " ", regex=True)
    counts = pd.DataFrame({key: distinct.str.count(pattern).fillna(0).astype("int64").to_numpy()[codes]
                           for key, pattern in _patterns(words, spaced).items()}, index=text.index)
    counts["score"] = (counts["positive"] - counts["negative"]
                       - 2 * counts["negated_positive"] + 2 * counts["negated_negative"])
    return counts


# ----------------------------------------------------------------------------- scoring
def score_sentiment(comments: pd.DataFrame, lexicon: dict | None = None,
                    languages: Iterable[str] = DEFAULT_LANGUAGES,
                    min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> pd.DataFrame:
    """``comments`` with ``language`` (detected unless present), ``sentiment_method`` ("VADER",
    "lexicon" or empty), ``sentiment_score`` (VADER compound, or the lexicon score),
    ``positive_hits``, ``negative_hits``, ``negations`` (lexicon languages only) and
    ``sentiment`` (positive / neutral / negative; empty when the language has no method).
    See the module docstring."""
    require_columns(comments, ["comment"], "comments")
    lexicon = load_sentiment_lexicon() if lexicon is None else lexicon
    scored = with_languages(comments, languages, min_confidence).copy()
    language = scored["language"].astype(str)
    scored["sentiment_method"] = pd.Series(None, index=scored.index, dtype="object")
    scored["sentiment_score"] = np.nan
    for column in ("positive_hits", "negative_hits", "negations"):
        scored[column] = pd.Series(pd.NA, index=scored.index, dtype="Int64")
    label_of = pd.Series(None, index=scored.index, dtype="object")
    for code in scored_languages(lexicon):
        mask = language == code
        if not mask.any():
            continue
        text = scored.loc[mask, "comment"]
        if code in VADER_LANGUAGES:
            score = vader_scores(text, lexicon.get(code))
            label_of[mask] = np.select([score >= VADER_THRESHOLD, score <= -VADER_THRESHOLD],
                                       ["positive", "negative"], default="neutral")
            scored.loc[mask, "sentiment_method"] = "VADER"
        else:
            counts = lexicon_counts(text, lexicon[code], spaced=code not in UNSPACED_LANGUAGES)
            score = counts["score"].astype("float64")
            scored.loc[mask, "positive_hits"] = counts["positive"].to_numpy()
            scored.loc[mask, "negative_hits"] = counts["negative"].to_numpy()
            scored.loc[mask, "negations"] = (counts["negated_positive"] + counts["negated_negative"]).to_numpy()
            label_of[mask] = np.select([score > 0, score < 0], ["positive", "negative"], default="neutral")
            scored.loc[mask, "sentiment_method"] = "lexicon"
        scored.loc[mask, "sentiment_score"] = score.to_numpy()
    scored["sentiment"] = label_of
    return scored


def sentiment_coverage(scored: pd.DataFrame, period: Quarter | str,
                       lexicon_file: str = "params/sentiment_lexicon.yaml") -> pd.DataFrame:
    """The quarter's comments per language and how they are scored: ``language, language_name,
    comments, share, covered, method`` ("VADER", "lexicon" or "not scored").

    ``attrs["note"]`` states the share left out ("" when every comment is scored). Raises
    ``NotAvailable`` when the quarter has comments and none of them can be scored.
    """
    require_columns(scored, ["language", "quarter", "sentiment_method"], "scored")
    methods = scored.dropna(subset=["sentiment_method"]).drop_duplicates("language") \
        .set_index("language")["sentiment_method"]
    coverage = language_coverage(scored, set(methods.index), period)
    # {languages} is filled by require_coverage / coverage_note with the languages left out.
    enable = t("add a lexicon for {languages} in {file}", languages="{languages}", file=lexicon_file)
    require_coverage(coverage, t("sentiment"), enable)
    method_words = {"VADER": "VADER", "lexicon": t("lexicon")}
    coverage["method"] = coverage["language"].map(methods).map(method_words).fillna(t("not scored"))
    coverage.attrs["note"] = coverage_note(coverage, t("sentiment"), enable)
    return coverage


def _shares(scored: pd.DataFrame, keys) -> pd.DataFrame:
    table = pd.crosstab(keys, scored["sentiment"]).reindex(columns=list(LABELS), fill_value=0)
    out = pd.DataFrame({"comments": table.sum(axis=1)})
    for name in LABELS:
        out[name] = table[name] / out["comments"].where(out["comments"] > 0)
    out["net_sentiment"] = out["positive"] - out["negative"]
    return out


def sentiment_by(scored: pd.DataFrame, period: Quarter | str, by: str = "source") -> pd.DataFrame:
    """Sentiment shares of the quarter's scored comments per ``by`` (e.g. source, language),
    plus "All".

    Returns ``<by>, comments, positive, neutral, negative, net_sentiment`` (shares of the scored
    comments; net = positive - negative).
    """
    require_columns(scored, ["quarter", "sentiment", by], "scored")
    now = scored.loc[(scored["quarter"] == str(Quarter.parse(period))) & scored["sentiment"].notna()]
    table = _shares(now, now[by].rename(by))
    overall = _shares(now, pd.Series("All", index=now.index, name=by))
    table = pd.concat([table, overall])
    table.index.name = by
    return table.reset_index()


def sentiment_trend(scored: pd.DataFrame, period: Quarter | str, n_quarters: int = 8) -> pd.DataFrame:
    """Sentiment shares per quarter, the last ``n_quarters`` oldest first: ``quarter, comments,
    positive, neutral, negative, net_sentiment, all_comments`` (the chapter's sentiment.csv):
    ``comments`` are the scored ones the shares are of, ``all_comments`` every comment."""
    require_columns(scored, ["sentiment"], "scored")
    quarters = [str(q) for q in Quarter.parse(period).trailing(n_quarters)]
    labels = scored["quarter"] if "quarter" in scored else quarter_labels(scored["date"])
    window = scored.loc[labels.isin(quarters)]
    everything = labels.loc[window.index].value_counts().reindex(quarters).fillna(0).astype("int64")
    window = window.loc[window["sentiment"].notna()]
    table = _shares(window, labels.loc[window.index].rename("quarter")).reindex(quarters)
    table["comments"] = table["comments"].fillna(0).astype("int64")
    table["all_comments"] = everything
    table.index.name = "quarter"
    return table.reset_index()


TICKET_TYPES = ("complaint", "consultation")  # the ticket types of the ``source`` column


def _overall_sentence(now: pd.Series, previous: pd.Series | None) -> str:
    values = {"quarter": fmt_quarter(now["quarter"]), "comments": fmt_int(now["comments"]), "positive": fmt_pct(now["positive"]),
              "neutral": fmt_pct(now["neutral"]), "negative": fmt_pct(now["negative"])}
    everything = now.get("all_comments", now["comments"])
    changed = previous is not None and previous["comments"] > 0
    if changed:
        values["change"] = fmt_pp(now["negative"] - previous["negative"])
    if everything > now["comments"]:
        values.update(scored_share=fmt_pct(now["comments"] / everything), all_comments=fmt_int(everything))
        if changed:
            return t("Of the {comments} comments scored in {quarter} ({scored_share} of {all_comments}), {positive} "
                     "are positive, {neutral} neutral and {negative} negative (negative share {change} on the "
                     "previous quarter).", **values)
        return t("Of the {comments} comments scored in {quarter} ({scored_share} of {all_comments}), {positive} "
                 "are positive, {neutral} neutral and {negative} negative.", **values)
    if changed:
        return t("Of {comments} comments in {quarter}, {positive} are positive, {neutral} neutral and {negative} "
                 "negative (negative share {change} on the previous quarter).", **values)
    return t("Of {comments} comments in {quarter}, {positive} are positive, {neutral} neutral and {negative} "
             "negative.", **values)


def ticket_tone_finding(by_source: pd.DataFrame) -> str:
    """How tone varies within the ticket types ("" unless both complaints and consultations were
    scored): the share of positive complaints and of negative consultations."""
    if by_source is None or "source" not in by_source.columns:
        return ""
    rows = by_source.set_index("source")
    if not all(kind in rows.index and rows.loc[kind, "comments"] > 0 for kind in TICKET_TYPES):
        return ""
    complaint, consultation = rows.loc["complaint"], rows.loc["consultation"]
    return t("Tone varies within each ticket type: {complaint_positive} of complaint comments are positive and "
             "{complaint_negative} negative; {consultation_positive} of consultation comments are positive and "
             "{consultation_negative} negative.",
             complaint_positive=fmt_pct(complaint["positive"]), complaint_negative=fmt_pct(complaint["negative"]),
             consultation_positive=fmt_pct(consultation["positive"]),
             consultation_negative=fmt_pct(consultation["negative"]))


def sentiment_finding(trend: pd.DataFrame, by_source: pd.DataFrame | None = None) -> str:
    """The quarter's tone, its change on the previous quarter, the most negative source and the
    tone within the ticket types (:func:`ticket_tone_finding`)."""
    now = trend.iloc[-1]
    if now["comments"] == 0:
        return t("There are no comments in {quarter} to read sentiment from.", quarter=fmt_quarter(now["quarter"]))
    sentences = [_overall_sentence(now, trend.iloc[-2] if len(trend) > 1 else None)]
    if by_source is not None and len(by_source) > 2:
        column = by_source.columns[0]
        groups = by_source.loc[by_source[column] != "All"].dropna(subset=["negative"])
        if len(groups):
            worst = groups.loc[groups["negative"].idxmax()]
            sources = {"survey": t("Survey"), "complaint": t("Complaint"), "consultation": t("Consultation")}
            group = sources.get(str(worst[column])) or words(str(worst[column])).capitalize()
            sentences.append(t("{group} comments are the most negative ({negative}).", group=group,
                               negative=fmt_pct(worst["negative"])))
        if column == "source":
            sentences.append(ticket_tone_finding(by_source))
    return " ".join(s for s in sentences if s)


def plot_sentiment_trend(trend: pd.DataFrame, ax=None):
    """Stacked bars of positive / neutral / negative shares per quarter."""
    require_columns(trend, ["quarter", *LABELS], "trend")
    ax = new_axes(ax)
    x = np.arange(len(trend))
    bottom = np.zeros(len(trend))
    names = {"negative": t("Negative"), "neutral": t("Neutral"), "positive": t("Positive")}
    for name, colour in (("negative", "C3"), ("neutral", "C7"), ("positive", "C2")):
        values = 100 * trend[name].fillna(0).to_numpy()
        ax.bar(x, values, bottom=bottom, color=colour, label=names[name])
        bottom += values
    ax.set_xticks(x, [fmt_quarter(q) for q in trend["quarter"]], rotation=45)
    ax.legend(loc="upper left", fontsize=9, bbox_to_anchor=(1.0, 1.0))
    return label(ax, t("Sentiment of comments by quarter"), t("Quarter"), t("Share of scored comments (%)"))
