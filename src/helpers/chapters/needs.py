"""Customer needs read from free text: survey comments and service tickets, in the languages
customers write.

1. Language of each comment (:func:`detect_languages`): Chinese by its script (Han characters
   and no Japanese kana), every other comment by lingua (Stahl, lingua-py: character n-gram
   models, restricted to ``comment_languages``). A comment whose best language has a lingua
   confidence below ``min_confidence``, or that has no letters, is of undetermined language.
2. Need themes from an editable lexicon (``params/need_themes.yaml``): functional, experience
   and emotional needs with named topics (price, product quality, delivery, ...), keywords per
   language. Each theme and language is one compiled regular expression (keywords of spaced
   languages at the start of a word, Chinese / Japanese words anywhere), applied with
   ``Series.str.contains`` to the comments of that language only. Comments in a language for
   which no theme has keywords are not tagged: they are left out of the shares, and the share
   left out is stated (:func:`coverage_note`), or the section is not available.
3. A statistical check that needs no lexicon: TF-IDF over words (Chinese segmented with jieba)
   factorised by non-negative matrix factorisation (NMF; Lee and Seung 1999, scikit-learn,
   seeded), per language that has a stop-word list (English, Chinese, and those under
   ``topic_stopwords`` in the lexicon file). Each discovered topic lists its top terms and the
   lexicon theme most common among its comments, so an analyst sees what the lexicon misses.
   A reader gets a short label per topic, its two or three most distinctive terms ("courier /
   parcel / late", ranked by the relevance of Sievert and Shirley 2014) and an excerpt of its most
   typical comment holding no personal data; a topic whose top terms are mostly common words or
   numbers is marked unclear instead of named.
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import yaml

from helpers import paths
from helpers.data import privacy
from helpers.errors import NotAvailable
from helpers.quarters import Quarter, quarter_labels
from helpers.report.fmt import fmt_int, fmt_pct, fmt_pp, fmt_quarter
from helpers.report.i18n import t
from helpers.report.plotting import label, new_axes
from helpers.validation import require_columns

NEED_THEMES_FILE = paths.PARAMS_DIR / "need_themes.yaml"
NEED_GROUPS = ("functional", "experience", "emotional")
DEFAULT_LANGUAGES = ("en", "zh", "pt", "es", "fr", "de")
# lingua's confidences over the listed languages sum to 1: with the five default languages other
# than Chinese a blind guess gets 0.2, and short or mixed texts ("Terrible", "Horrible service")
# sit between 0.4 and 0.5 for two languages at once.
DEFAULT_MIN_CONFIDENCE = 0.45
UNDETERMINED = "undetermined"
# Languages written without spaces between words: their keywords match anywhere in the text.
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th"})
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_HAN_RE = f"[{_CJK}]"
_KANA_RE = r"[\u3040-\u30ff]"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[^\W\d_][^\W\d_'\-]+")
# Function words left out of discovered topics (jieba splits them off as single tokens).
CHINESE_STOPWORDS = frozenset(
    "的 了 是 我 我们 你 你们 他 她 它 也 都 在 有 和 就 很 非常 还 又 这 那 这个 那个 一个 没有 不 吗 吧 呢 啊 "
    "把 被 给 让 对 与 及 或 但 但是 而且 因为 所以 如果 已经 还是 可以 能 会 要 想 说 上 下 中 次 个 些 什么 "
    "怎么 这么 那么 比较 一直 一下 希望 感觉 觉得 真的 太".split()
)
# Keys of a theme that are not language codes.
_THEME_FIELDS = ("group", "label")


# ----------------------------------------------------------------------------- languages
def is_language_code(code) -> bool:
    """True for a two-letter lower-case ISO 639-1 code ("en", "pt")."""
    return isinstance(code, str) and len(code) == 2 and code.isascii() and code.isalpha() and code.islower()


def language_name(code: str) -> str:
    """``"pt"`` -> ``"Portuguese"`` (lingua's English name; the default languages in the report's
    language); ``"undetermined"`` stays as it is (in the report's language)."""
    if code == UNDETERMINED:
        return t("undetermined")
    names = {"en": t("English"), "zh": t("Chinese"), "pt": t("Portuguese"), "es": t("Spanish"), "fr": t("French"),
             "de": t("German")}
    if code in names:
        return names[code]
    try:
        return _lingua_language(code).name.capitalize()
    except ValueError:
        return code


def _lingua_language(code: str):
    from lingua import IsoCode639_1, Language

    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code))
    except ValueError:
        raise ValueError(f"{code!r} is not an ISO 639-1 language code lingua knows (en, zh, pt, es, fr, de, ...)") \
            from None


@lru_cache(maxsize=8)
def _detector(languages: tuple[str, ...]):
    """One lingua detector per set of languages (its models load on first use, then stay)."""
    from lingua import LanguageDetectorBuilder

    wanted = [_lingua_language(code) for code in languages]
    if len(wanted) == 1:  # one language alone always scores 1; a second one keeps the confidence meaningful
        wanted.append(_lingua_language("fr" if languages[0] == "en" else "en"))
    return LanguageDetectorBuilder.from_languages(*wanted).build()


def load_language_models(languages: Iterable[str] = DEFAULT_LANGUAGES) -> None:
    """Load lingua's models of ``languages`` now. They load on a detector's first use (0.8 s for
    the five default languages other than Chinese, 150 MiB) and then serve every detector; a
    chapter kernel loads them ahead (the warm-up of ``helpers.report.kernels``)."""
    others = tuple(code for code in dict.fromkeys(languages) if code != "zh")
    if others:
        _detector(others).compute_language_confidence_values_in_parallel(["language models"])


def detect_languages(text: pd.Series, languages: Iterable[str] = DEFAULT_LANGUAGES,
                     min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> pd.Series:
    """The ISO 639-1 code of each text's language, or ``"undetermined"``.

    Rule: a text with Han characters and no Japanese kana is Chinese ("zh", when listed in
    ``languages``, else undetermined); every other text goes to lingua restricted to the other
    ``languages`` and gets the language with the highest confidence when that confidence is at
    least ``min_confidence``. Texts without letters and short or ambiguous texts ("ok";
    "Terrible", as French as it is English) are undetermined. Each distinct text is detected once.
    """
    languages = tuple(dict.fromkeys(languages))
    if not languages:
        raise ValueError("give at least one language code to detect")
    odd = [code for code in languages if not is_language_code(code)]
    if odd:
        raise ValueError(f"languages must be two-letter ISO 639-1 codes (en, zh, pt), got {odd}")
    if not 0 <= min_confidence < 1:
        raise ValueError(f"min_confidence must be in [0, 1), got {min_confidence}")
    text = text.astype("object").fillna("").astype(str)
    distinct = pd.Series(text.unique(), dtype="object")
    result = pd.Series(UNDETERMINED, index=distinct.index, dtype="object")
    han = distinct.str.contains(_HAN_RE, regex=True) & ~distinct.str.contains(_KANA_RE, regex=True)
    if "zh" in languages:
        result[han] = "zh"
    others = tuple(code for code in languages if code != "zh")
    rest = distinct[~han & distinct.str.contains(r"[^\W\d_]", regex=True)]
    if others and len(rest):
        best = [values[0] if values else None
                for values in _detector(others).compute_language_confidence_values_in_parallel(rest.tolist())]
        codes = [v.language.iso_code_639_1.name.lower()
                 if v is not None and v.value > 0 and v.value >= min_confidence else UNDETERMINED for v in best]
        result[rest.index] = [code if code in others else UNDETERMINED for code in codes]
    return text.map(dict(zip(distinct, result))).rename("language")


def with_languages(comments: pd.DataFrame, languages: Iterable[str] = DEFAULT_LANGUAGES,
                   min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> pd.DataFrame:
    """``comments`` with a ``language`` column (:func:`detect_languages`); a frame that already
    has one is returned as it is, so the detection runs once per chapter."""
    require_columns(comments, ["comment"], "comments")
    if "language" in comments.columns:
        return comments
    out = comments.copy()
    out["language"] = detect_languages(out["comment"], languages, min_confidence).to_numpy()
    return out


def language_coverage(frame: pd.DataFrame, covered: Iterable[str], period: Quarter | str | None = None) -> pd.DataFrame:
    """Comments per language (of ``period`` when given), and whether a method covers them.

    Returns ``language, language_name, comments, share, covered`` (share of all the comments),
    most comments first; ``attrs["period"]`` holds the quarter (or None).
    """
    require_columns(frame, ["language"], "comments")
    if period is not None:
        require_columns(frame, ["quarter"], "comments")
        period = str(Quarter.parse(period))
        frame = frame.loc[frame["quarter"] == period]
    covered = set(covered)
    counts = frame["language"].value_counts()
    table = pd.DataFrame({"language": counts.index.astype(str), "comments": counts.to_numpy(dtype="int64")})
    table["language_name"] = table["language"].map(language_name)
    table["share"] = table["comments"] / max(len(frame), 1)
    table["covered"] = table["language"].isin(covered) & (table["language"] != UNDETERMINED)
    table = table.sort_values(["covered", "comments", "language"], ascending=[False, False, True])
    table = table[["language", "language_name", "comments", "share", "covered"]].reset_index(drop=True)
    table.attrs["period"] = period
    return table


def _left_out_part(code: str, name: str, share: float, of_all: bool = False, period: str | None = None) -> str:
    """"in Portuguese (92.0%)" or "of undetermined language (8.0%)"; with ``of_all`` the share
    says what it is of ("in Portuguese (92.0% of the comments of 2026Q3)")."""
    values = dict(language=name, share=fmt_pct(share), quarter=fmt_quarter(period) if period else "")
    if code == UNDETERMINED:
        if not of_all:
            return t("of undetermined language ({share})", **values)
        if period:
            return t("of undetermined language ({share} of the comments of {quarter})", **values)
        return t("of undetermined language ({share} of the comments)", **values)
    if not of_all:
        return t("in {language} ({share})", **values)
    if period:
        return t("in {language} ({share} of the comments of {quarter})", **values)
    return t("in {language} ({share} of the comments)", **values)


def _left_out(coverage: pd.DataFrame, of_all: bool = False) -> tuple[list[str], list[str]]:
    """("in Portuguese (92.0%)", "of undetermined language (8.0%)") for the uncovered comments,
    and the names of their languages ("Portuguese (pt)"); ``of_all``: the first share says what
    it is of (:func:`_left_out_part`)."""
    out = coverage.loc[~coverage["covered"]]
    period = coverage.attrs.get("period")
    parts, names = [], []
    for code, name, share in zip(out["language"], out["language_name"], out["share"]):
        parts.append(_left_out_part(code, name, share, of_all and not parts, period))
        if code != UNDETERMINED:
            names.append(t("{language} ({code})", language=name, code=code))
    return parts, names


def _and(items: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"`` in the report's language."""
    return items[0] if len(items) == 1 else t("{items} and {last}", items=t(", ").join(items[:-1]), last=items[-1])


def _enable(names: list[str], enable: str, undetermined: bool) -> str:
    parts = [enable.format(languages=_and(names))] if names else []
    if undetermined:
        parts.append(t("comments of undetermined language are too short, ambiguous or in a language not listed in "
                       "chapter_options.02_needs.comment_languages"))
    return t("; ").join(parts)


def require_coverage(coverage: pd.DataFrame, what: str, enable: str) -> None:
    """Raise ``NotAvailable`` when the comments exist but none is covered.

    ``what`` names the result ("sentiment"), ``enable`` what would cover a language, with
    ``{languages}`` standing for their names ("add a lexicon for {languages} in ..."); both in
    the report's language.
    """
    if coverage["comments"].sum() == 0 or coverage["covered"].any():
        return
    parts, names = _left_out(coverage, of_all=True)
    raise NotAvailable(t("{what} for comments {left_out}", what=what, left_out=_and(parts)),
                       _enable(names, enable, (coverage["language"] == UNDETERMINED).any()))


def coverage_note(coverage: pd.DataFrame, what: str, enable: str) -> str:
    """One sentence on the comments a result leaves out ("" when it covers them all):
    "Sentiment covers 60.0% of the 2026Q3 comments (English 40.0%, Chinese 20.0%); left out:
    comments in Portuguese (35.0%) and of undetermined language (5.0%) (add a lexicon ...)."
    ``what`` names the result, ``enable`` as for :func:`require_coverage`."""
    if coverage["comments"].sum() == 0 or coverage["covered"].all():
        return ""
    inside = coverage.loc[coverage["covered"]]
    period = coverage.attrs.get("period")
    parts, names = _left_out(coverage)
    # Something is left out, so there is advice: a language to add, or the undetermined comments explained.
    values = dict(what=what.capitalize(), share=fmt_pct(inside["share"].sum()), left_out=_and(parts),
                  quarter=fmt_quarter(period) if period else "",
                  languages=t(", ").join(t("{language} {share}", language=n, share=fmt_pct(s))
                                         for n, s in zip(inside["language_name"], inside["share"])),
                  advice=_enable(names, enable, (coverage["language"] == UNDETERMINED).any()))
    if len(inside) and period:
        return t("{what} covers {share} of the {quarter} comments ({languages}); left out: comments {left_out} "
                 "({advice}).", **values)
    if len(inside):
        return t("{what} covers {share} of the comments ({languages}); left out: comments {left_out} ({advice}).",
                 **values)
    if period:
        return t("{what} covers {share} of the {quarter} comments; left out: comments {left_out} ({advice}).", **values)
    return t("{what} covers {share} of the comments; left out: comments {left_out} ({advice}).", **values)


# ----------------------------------------------------------------------------- lexicon
def _word_list(entries, where: str) -> list[str]:
    entries = entries or []
    if not isinstance(entries, list):
        raise ValueError(f"{where} must be a list of words")
    odd = [w for w in entries if not isinstance(w, (str, int, float)) or isinstance(w, bool)]
    if odd:
        raise ValueError(f"{where} has {odd}: quote words YAML reads as true/false or null, e.g. \"no\"")
    return [str(w).strip() for w in entries if str(w).strip()]


def theme_language_keywords(spec: dict, where: str) -> dict[str, list[str]]:
    """The keyword lists of one theme per language code (``{"en": [...], "pt": [...]}``),
    checked: every key other than group and label is an ISO 639-1 code; ``where`` names the
    file and theme in the ``ValueError``."""
    odd = [key for key in spec if key not in _THEME_FIELDS and not is_language_code(key)]
    if odd:
        raise ValueError(f"{where} has key(s) {odd}: use group, label and two-letter language codes (en, zh, pt)")
    words = {key: _word_list(value, f"{where} '{key}'") for key, value in spec.items() if key not in _THEME_FIELDS}
    if not any(words.values()):
        raise ValueError(f"{where} lists no keywords in any language (en, zh, ...)")
    return words


def theme_keywords(spec: dict, where: str) -> dict[str, list[str]]:
    """The English (``en``) and Chinese (``zh``) keyword lists of one theme of a lexicon file,
    checked: ``where`` names the file and theme in the ``ValueError``."""
    words = {lang: _word_list(spec.get(lang), f"{where} '{lang}'") for lang in ("en", "zh")}
    if not words["en"] and not words["zh"]:
        raise ValueError(f"{where} lists no English ('en') or Chinese ('zh') keywords")
    return words


def load_need_themes(path: str | Path | None = None) -> pd.DataFrame:
    """The need-theme lexicon as a table: ``theme, group, label, keywords`` (``keywords``:
    ``{language code: [words]}``); ``attrs["languages"]`` lists the languages with keywords.

    Raises ``ValueError`` naming the theme and field when the file is malformed.
    """
    path = paths.resolve(path) if path else NEED_THEMES_FILE
    if not path.exists():
        raise ValueError(f"need-theme lexicon {path} does not exist")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    themes = data.get("themes")
    if not isinstance(themes, dict) or not themes:
        raise ValueError(f"{path} must hold a mapping 'themes: {{name: {{group, label, en, zh, ...}}}}'")
    rows = []
    for theme, spec in themes.items():
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: theme {theme!r} must be a mapping with group, label and keyword lists")
        group = spec.get("group")
        if group not in NEED_GROUPS:
            raise ValueError(f"{path}: theme {theme!r} has group {group!r}; use one of {NEED_GROUPS}")
        words = theme_language_keywords(spec, f"{path}: theme {theme!r}")
        rows.append({"theme": str(theme), "group": group, "label": str(spec.get("label") or theme),
                     "keywords": {lang: w for lang, w in words.items() if w}})
    table = pd.DataFrame(rows)
    table.attrs["languages"] = sorted({lang for words in table["keywords"] for lang in words})
    return table


def load_topic_stopwords(path: str | Path | None = None) -> dict[str, frozenset[str]]:
    """Stop words per language from the ``topic_stopwords`` section of the lexicon file (optional;
    English and Chinese have built-in lists)."""
    path = paths.resolve(path) if path else NEED_THEMES_FILE
    if not path.exists():
        raise ValueError(f"need-theme lexicon {path} does not exist")
    section = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("topic_stopwords") or {}
    if not isinstance(section, dict):
        raise ValueError(f"{path}: topic_stopwords must map language codes to word lists")
    odd = [key for key in section if not is_language_code(key)]
    if odd:
        raise ValueError(f"{path}: topic_stopwords has key(s) {odd}: use two-letter language codes (pt, es)")
    return {lang: frozenset(w.lower() for w in _word_list(words, f"{path}: topic_stopwords '{lang}'"))
            for lang, words in section.items()}


def language_pattern(words: list[str], spaced: bool = True) -> re.Pattern:
    """One case-insensitive regex of ``words``: for a spaced language keywords match at a word
    start (spaces match any whitespace), otherwise anywhere. Longer keywords first so phrases win."""
    if spaced:
        escaped = [r"\s+".join(re.escape(p) for p in w.lower().split()) for w in words]
        return re.compile(r"\b(?:" + "|".join(sorted(escaped, key=len, reverse=True)) + ")", re.IGNORECASE)
    return re.compile("(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")",
                      re.IGNORECASE)


def theme_pattern(english: list[str], chinese: list[str]) -> re.Pattern:
    """One case-insensitive regex: English keywords at a word start (spaces match any
    whitespace), Chinese words anywhere. Longer keywords first so phrases win."""
    parts = [language_pattern(english).pattern] if english else []
    if chinese:
        parts.append(language_pattern(chinese, spaced=False).pattern)
    return re.compile("|".join(parts), re.IGNORECASE)


# ----------------------------------------------------------------------------- comments
def collect_comments(surveys: pd.DataFrame | None = None, tickets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Non-empty comments of surveys and tickets in one frame.

    Returns ``source`` ("survey", "complaint" or "consultation"), ``record_id``, ``customer_id``,
    ``date``, ``quarter``, ``comment``.
    """
    parts = []
    if surveys is not None:
        require_columns(surveys, ["survey_id", "customer_id", "response_date", "comment"], "surveys")
        parts.append(pd.DataFrame({"source": "survey", "record_id": surveys["survey_id"],
                                   "customer_id": surveys["customer_id"], "date": surveys["response_date"],
                                   "comment": surveys["comment"]}))
    if tickets is not None:
        require_columns(tickets, ["ticket_id", "customer_id", "created_at", "ticket_type", "comment"], "tickets")
        parts.append(pd.DataFrame({"source": tickets["ticket_type"].astype("object").fillna("ticket"),
                                   "record_id": tickets["ticket_id"], "customer_id": tickets["customer_id"],
                                   "date": tickets["created_at"], "comment": tickets["comment"]}))
    if not parts:
        raise ValueError("give surveys or tickets (or both) to collect comments from")
    comments = pd.concat(parts, ignore_index=True)
    comments["comment"] = comments["comment"].astype("str").str.strip()
    comments = comments.loc[comments["comment"].notna() & (comments["comment"] != "")
                            & (comments["comment"].str.lower() != "nan")].reset_index(drop=True)
    comments["quarter"] = quarter_labels(comments["date"])
    return comments[["source", "record_id", "customer_id", "date", "quarter", "comment"]]


def tag_need_themes(comments: pd.DataFrame, themes: pd.DataFrame, languages: Iterable[str] = DEFAULT_LANGUAGES,
                    min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> pd.DataFrame:
    """``comments`` with ``language`` (detected unless present), ``themes_scored`` (the lexicon
    has keywords in the comment's language), one boolean column per theme (True when the comment
    mentions it; always False when not scored) and ``themes_mentioned`` (how many). One
    vectorised regex search per theme and language, over the distinct texts of that language
    (comments repeat: "ok", "好评", a form's stock phrases)."""
    require_columns(themes, ["theme", "keywords"], "themes")
    tagged = with_languages(comments, languages, min_confidence).copy()
    text = tagged["comment"].astype("str")
    language = tagged["language"].astype(str)
    lexicon_languages = {lang for words in themes["keywords"] for lang in words}
    tagged["themes_scored"] = language.isin(lexicon_languages).to_numpy()
    mentioned = {theme: np.zeros(len(tagged), dtype=bool) for theme in themes["theme"]}
    for lang in sorted(lexicon_languages):
        rows = (language == lang).to_numpy()
        if not rows.any():
            continue
        codes, distinct = text[rows].factorize()
        distinct = pd.Series(distinct)
        for theme, keywords in zip(themes["theme"], themes["keywords"]):
            if keywords.get(lang):
                pattern = language_pattern(keywords[lang], spaced=lang not in UNSPACED_LANGUAGES)
                mentioned[theme][rows] = distinct.str.contains(pattern, na=False).to_numpy()[codes]
    for theme, flags in mentioned.items():
        tagged[theme] = flags
    tagged["themes_mentioned"] = tagged[list(themes["theme"])].sum(axis=1)
    return tagged


def need_theme_coverage(tagged: pd.DataFrame, themes: pd.DataFrame, period: Quarter | str) -> pd.DataFrame:
    """:func:`language_coverage` of the quarter's comments by the lexicon's languages."""
    require_columns(themes, ["keywords"], "themes")
    return language_coverage(tagged, {lang for words in themes["keywords"] for lang in words}, period)


def _need_themes_enable() -> str:
    """What would cover a language with need themes (``{languages}``: the languages left out)."""
    return t("add keywords in {languages} to the themes of params/need_themes.yaml")


def need_theme_summary(tagged: pd.DataFrame, themes: pd.DataFrame, period: Quarter | str) -> pd.DataFrame:
    """Mentions of each theme in the quarter and the previous one.

    Returns ``group, theme, label, comments, share, previous_comments, previous_share,
    share_change``; ``share`` is of the quarter's comments in the lexicon's languages (the
    scored comments). Sorted by group, then mentions. ``attrs``: ``comments`` (scored comments
    of the quarter), ``all_comments`` and ``note`` (the share left out, "" when none).
    Raises ``NotAvailable`` when the quarter has comments but none in a language of the lexicon.
    """
    require_columns(tagged, ["quarter", "themes_scored", *themes["theme"]], "tagged")
    period = Quarter.parse(period)
    coverage = need_theme_coverage(tagged, themes, period)
    require_coverage(coverage, t("need themes"), _need_themes_enable())
    scored = tagged.loc[tagged["themes_scored"]]
    rows = []
    for when, quarter in (("", period), ("previous_", period.previous())):
        in_quarter = scored.loc[scored["quarter"] == str(quarter), list(themes["theme"])]
        counts = in_quarter.sum()
        rows.append(pd.DataFrame({f"{when}comments": counts.astype("int64"),
                                  f"{when}share": counts / len(in_quarter) if len(in_quarter) else np.nan}))
    table = themes[["group", "theme", "label"]].set_index("theme").join(pd.concat(rows, axis=1))
    table["label"] = [t(label) for label in table["label"]]  # the bundled themes' labels are in the catalogs
    table["share_change"] = table["share"] - table["previous_share"]
    table["group"] = pd.Categorical(table["group"], NEED_GROUPS, ordered=True)
    table = table.reset_index().sort_values(["group", "comments", "theme"], ascending=[True, False, True])
    table["group"] = table["group"].astype(str)
    table = table[["group", "theme", "label", "comments", "share", "previous_comments", "previous_share",
                   "share_change"]].reset_index(drop=True)
    table.attrs["comments"] = int((scored["quarter"] == str(period)).sum())
    table.attrs["all_comments"] = int((tagged["quarter"] == str(period)).sum())
    table.attrs["note"] = coverage_note(coverage, t("the need-theme lexicon"), _need_themes_enable())
    return table


def need_theme_trend(tagged: pd.DataFrame, themes: pd.DataFrame, period: Quarter | str,
                     n_quarters: int = 8) -> pd.DataFrame:
    """Mentions and share of the scored comments (those in a language of the lexicon) per
    theme and quarter, the last ``n_quarters``.

    Returns ``quarter, group, theme, label, comments, share, scored_comments, all_comments``
    (long form).
    """
    require_columns(tagged, ["quarter", "themes_scored", *themes["theme"]], "tagged")
    quarters = [str(q) for q in Quarter.parse(period).trailing(n_quarters)]
    window = tagged.loc[tagged["quarter"].isin(quarters)]
    scored = window.loc[window["themes_scored"]]
    counts = scored.groupby("quarter")[list(themes["theme"])].sum().reindex(quarters).fillna(0)
    totals = scored.groupby("quarter").size().reindex(quarters).fillna(0)
    everything = window.groupby("quarter").size().reindex(quarters).fillna(0)
    long = counts.stack().rename("comments").reset_index()
    long.columns = ["quarter", "theme", "comments"]
    long["scored_comments"] = long["quarter"].map(totals).astype("int64")
    long["all_comments"] = long["quarter"].map(everything).astype("int64")
    long["comments"] = long["comments"].astype("int64")
    long["share"] = long["comments"] / long["scored_comments"].where(long["scored_comments"] > 0)
    long = long.merge(themes[["theme", "group", "label"]], on="theme", how="left")
    long["label"] = [t(label) for label in long["label"]]
    return long[["quarter", "group", "theme", "label", "comments", "share", "scored_comments", "all_comments"]]


def need_themes_finding(summary: pd.DataFrame) -> str:
    """The most mentioned theme and the theme whose share rose most."""
    total = summary.attrs.get("comments")
    if summary["comments"].sum() == 0:
        return t("No comment of the quarter mentions a need theme of the lexicon.")
    top = summary.loc[summary["comments"].idxmax()]
    everything = summary.attrs.get("all_comments")
    group_words = {"functional": t("functional"), "experience": t("experience"), "emotional": t("emotional")}
    values = dict(need=top["label"].lower(), group=group_words.get(top["group"], top["group"]),
                  comments=fmt_int(top["comments"]), share=fmt_pct(top["share"]), total=fmt_int(total))
    if total and everything and everything > total:
        sentences = [t("The most mentioned need is {need} ({group}): {comments} comments, {share} of {total} comments "
                       "in the lexicon's languages this quarter.", **values)]
    elif total:
        sentences = [t("The most mentioned need is {need} ({group}): {comments} comments, {share} of {total} comments "
                       "this quarter.", **values)]
    else:
        sentences = [t("The most mentioned need is {need} ({group}): {comments} comments, {share} of all comments "
                       "this quarter.", **values)]
    changes = summary.dropna(subset=["share_change"])
    if len(changes):
        riser = changes.loc[changes["share_change"].idxmax()]
        if riser["share_change"] > 0:
            sentences.append(t("{need} rose most on the previous quarter ({change}).", need=riser["label"],
                               change=fmt_pp(riser["share_change"])))
    by_group = summary.groupby("group")["comments"].sum()
    sentences.append(t("Mentions by need group: functional {functional}, experience {experience}, emotional "
                       "{emotional}.", **{g: fmt_int(by_group.get(g, 0)) for g in NEED_GROUPS}))
    return " ".join(sentences)


def plot_need_themes(summary: pd.DataFrame, ax=None):
    """Share of the quarter's comments mentioning each theme, coloured by need group."""
    require_columns(summary, ["group", "label", "share"], "summary")
    shown = summary.iloc[::-1]
    ax = new_axes(ax, figsize=(8, max(3, 0.4 * len(shown) + 1.2)))
    colours = shown["group"].map({g: f"C{i}" for i, g in enumerate(NEED_GROUPS)})
    ax.barh(np.arange(len(shown)), 100 * shown["share"].fillna(0), color=colours)
    ax.set_yticks(np.arange(len(shown)), shown["label"])
    from matplotlib.patches import Patch

    group_names = {"functional": t("Functional"), "experience": t("Experience"), "emotional": t("Emotional")}
    ax.legend([Patch(color=f"C{i}") for i in range(len(NEED_GROUPS))], [group_names[g] for g in NEED_GROUPS],
              loc="lower right", fontsize=9)
    return label(ax, t("Needs mentioned in comments this quarter"), t("Share of comments (%)"), t("Need theme"))


def plot_need_theme_trend(trend: pd.DataFrame, max_themes: int = 6, ax=None):
    """Share of comments per quarter for the most mentioned themes."""
    require_columns(trend, ["quarter", "label", "comments", "share"], "trend")
    top = trend.groupby("label")["comments"].sum().sort_values(ascending=False).head(max_themes).index
    wide = trend.loc[trend["label"].isin(top)].pivot(index="quarter", columns="label", values="share")
    ax = new_axes(ax)
    quarters = [fmt_quarter(q) for q in wide.index]
    for name in top:
        ax.plot(quarters, 100 * wide[name], marker="o", label=name)
    ax.tick_params(axis="x", rotation=45)
    ax.legend(loc="best", fontsize=8)
    return label(ax, t("Need themes by quarter"), t("Quarter"), t("Share of comments (%)"))


# ----------------------------------------------------------------------------- topic discovery
def _topics_enable() -> str:
    """What would let topic discovery model a language (``{languages}``: the languages left out)."""
    return t("add a stop-word list for {languages} under topic_stopwords in params/need_themes.yaml")


def _stopword_lists(extra: dict[str, Iterable[str]] | None) -> dict[str, frozenset[str]]:
    """Stop words per language: English from scikit-learn, Chinese built in, others given."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    lists = {"en": frozenset(ENGLISH_STOP_WORDS), "zh": CHINESE_STOPWORDS}
    for lang, words in (extra or {}).items():
        lists[lang] = lists.get(lang, frozenset()) | frozenset(str(w).lower() for w in words)
    return lists


def segmenter():
    """jieba, the Chinese word segmenter, with its log quiet. Its dictionary loads on first use
    (0.8 s); a chapter kernel loads it ahead (``segmenter().initialize()``, the warm-up of
    ``helpers.report.kernels``)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def _tokeniser(stopwords: frozenset[str]):
    """Words of 3+ letters not in ``stopwords`` (lower case; the English stop words are always
    dropped too, as English product names turn up in every language) and jieba-segmented
    Chinese words (2+ characters, no function words). A text seen before is not segmented again
    (comments repeat)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    jieba = segmenter()
    dropped = stopwords | ENGLISH_STOP_WORDS
    seen: dict[str, list[str]] = {}

    def tokenise(text: str) -> list[str]:
        if text in seen:
            return list(seen[text])
        tokens = []
        for run in _TOKEN_RE.findall(str(text).lower()):
            if re.match(_HAN_RE, run):
                tokens.extend(w for w in jieba.lcut(run) if len(w) >= 2 and w not in CHINESE_STOPWORDS)
            elif len(run) >= 3 and run not in dropped:
                tokens.append(run)
        seen[text] = tokens
        return list(tokens)

    return tokenise


# Words that name no topic though they pass the stop-word lists: fillers, politeness and time
# words that jieba splits off, and English number words (Chinese numbers are matched by pattern).
LABEL_FILLER_WORDS = frozenset(
    "关于 一点 一下 时候 现在 这次 那次 还没 有点 然后 其实 之前 之后 以后 今天 昨天 明天 一些 这样 那样 多少 "
    "大家 自己 东西 事情 情况 谢谢 感谢 您好 你好 麻烦 请问 一般 能否 是否 请 "
    "does did doing got get gets just really thing things lot bit yes hello dear regards thanks thank okay "
    "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand "
    "first second third fourth fifth times time".split()
)
_NUMBER_TERM = re.compile(r"[\d.,%]+|第?[零〇一二两三四五六七八九十百千万几半]+[个次天台周月年件遍位号条种分点倍多]*")
LABEL_TERMS = 3
LABEL_RELEVANCE_WEIGHT = 0.6  # lambda of Sievert and Shirley (2014): their users' preferred value
UNCLEAR_SHARE = 0.5  # a topic is unclear when more than half of its top terms are fillers or numbers
EXCERPT_CHARACTERS = 80


def is_filler_term(term: str, stopwords: Iterable[str] = ()) -> bool:
    """True for a term that names no topic: a number ("2062", "两个", "第三次"), a stop word of
    ``stopwords`` or the built-in lists, or a filler of :data:`LABEL_FILLER_WORDS`."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    word = str(term).strip().lower()
    stopwords = stopwords if isinstance(stopwords, (set, frozenset)) else set(stopwords)
    return (not word or bool(_NUMBER_TERM.fullmatch(word)) or word in LABEL_FILLER_WORDS
            or word in CHINESE_STOPWORDS or word in ENGLISH_STOP_WORDS or word in stopwords)


def term_relevance(components: np.ndarray, weights: np.ndarray,
                   weight: float = LABEL_RELEVANCE_WEIGHT) -> np.ndarray:
    """Relevance of each term to each topic (Sievert and Shirley 2014, "LDAvis"):
    ``weight * log p(term | topic) + (1 - weight) * log(p(term | topic) / p(term))``, with the
    NMF topic-term matrix ``components`` (topics x terms) normalised per topic and ``p(term)``
    the mix of the topics by their total document weight in ``weights`` (documents x topics).
    A term of weight 0 in a topic gets ``-inf``. High values: frequent in the topic and rare in
    the others, the terms that tell the topic apart."""
    components = np.asarray(components, dtype=float)
    if components.ndim != 2 or np.any(components < 0):
        raise ValueError("components must be a non-negative topics x terms matrix")
    if not 0 <= weight <= 1:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    totals = components.sum(axis=1, keepdims=True)
    phi = np.divide(components, totals, out=np.zeros_like(components), where=totals > 0)
    topic_mass = np.asarray(weights, dtype=float).sum(axis=0)
    prior = topic_mass / topic_mass.sum() if topic_mass.sum() > 0 else np.full(len(phi), 1 / len(phi))
    marginal = prior @ phi
    with np.errstate(divide="ignore", invalid="ignore"):
        relevance = weight * np.log(phi) + (1 - weight) * np.log(phi / marginal)
    return np.where(phi > 0, relevance, -np.inf)


def topic_label(terms: Iterable[str], relevance: Iterable[float], top_terms: Iterable[str],
                stopwords: Iterable[str] = (), n_terms: int = LABEL_TERMS) -> str:
    """A reader's label of one topic: its ``n_terms`` most relevant terms that are not fillers,
    joined as "courier / parcel / late"; "" when more than half of ``top_terms`` (the topic's
    heaviest terms) are fillers or numbers (:func:`is_filler_term`), the topic being unclear."""
    stopwords = frozenset(stopwords)
    top_terms = list(top_terms)
    fillers = sum(is_filler_term(term, stopwords) for term in top_terms)
    if not top_terms or fillers > UNCLEAR_SHARE * len(top_terms):
        return ""
    terms = list(terms)
    ranked = sorted((-r, i) for i, r in enumerate(relevance) if np.isfinite(r))  # most relevant first
    chosen = [terms[i] for _, i in ranked if not is_filler_term(terms[i], stopwords)][:n_terms]
    return " / ".join(chosen)


def _excerpt(text: str, limit: int = EXCERPT_CHARACTERS) -> str:
    """``text`` cut to ``limit`` characters at a word boundary where it has spaces, with "…"."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    if " " in cut and text[limit - 1] != " " and not re.search(_HAN_RE, cut):  # a word cut in two: drop it
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:，、；：") + "…"


def topic_example(comments: pd.Series, topic_weight: np.ndarray, limit: int = EXCERPT_CHARACTERS,
                  candidates: int = 20) -> str:
    """An excerpt of the comment most typical of a topic (the highest ``topic_weight``, its NMF
    weight on the topic, of TF-IDF rows of unit length; the shorter of equals) that holds no personal
    data: the candidates are scrubbed again (:func:`helpers.data.privacy.scrub_text`) and any
    comment with a masked value (a phone number, an e-mail address, a name, ...) is passed over.
    "" when none is left."""
    if len(comments) != len(topic_weight):
        raise ValueError("give one topic weight per comment")
    frame = pd.DataFrame({"comment": comments.astype("object").fillna("").astype(str).to_numpy(),
                          "weight": np.asarray(topic_weight, dtype=float)})
    frame = frame.loc[frame["comment"].str.strip() != ""]
    frame = frame.assign(length=frame["comment"].str.len()).sort_values(["weight", "length"], ascending=[False, True],
                                                                         kind="stable").head(candidates)
    if frame.empty:
        return ""
    scrubbed, _ = privacy.scrub_text(frame["comment"])
    masked = "|".join(re.escape(token) for token in privacy.TOKENS.values())
    clean = scrubbed.loc[~scrubbed.astype(str).str.contains(masked, regex=True)]
    return _excerpt(clean.iloc[0], limit) if len(clean) else ""


def _topics_of(documents: pd.DataFrame, themes: pd.DataFrame | None, n_topics: int, n_top_terms: int,
               seed: int, stopwords: frozenset[str]) -> pd.DataFrame | None:
    """TF-IDF + NMF topics of one set of comments; None when the vocabulary is too small."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(analyzer=_tokeniser(stopwords), min_df=2, max_df=0.5, max_features=5000,
                                 sublinear_tf=True)
    try:
        matrix = vectoriser.fit_transform(documents["comment"].astype("str"))
    except ValueError:  # every term pruned by min_df / max_df
        return None
    if matrix.shape[1] < n_topics:
        return None
    model = NMF(n_components=n_topics, init="nndsvda", random_state=seed, max_iter=500)
    weights = model.fit_transform(matrix)
    terms = np.asarray(vectoriser.get_feature_names_out())
    heaviest = [terms[np.argsort(component, kind="stable")[::-1][:n_top_terms]] for component in model.components_]
    top_terms = [", ".join(words) for words in heaviest]
    dominant = np.where(weights.max(axis=1) > 0, weights.argmax(axis=1), -1)
    relevance = term_relevance(model.components_, weights)
    # Label terms come from the topic's heaviest terms (at least 10), so that a rare term
    # exclusive to the topic does not name it.
    pool = max(n_top_terms, 10)
    labels, examples = [], []
    for k, component in enumerate(model.components_):
        candidates = np.argsort(component, kind="stable")[::-1][:pool]
        candidates = candidates[component[candidates] > 0]
        labels.append(topic_label(terms[candidates], relevance[k, candidates], heaviest[k], stopwords))
        members = dominant == k
        examples.append(topic_example(documents["comment"].loc[members], weights[members, k]))
    table = pd.DataFrame({"component": np.arange(n_topics), "label": labels, "example": examples,
                          "top_terms": top_terms})
    table["comments"] = table["component"].map(pd.Series(dominant).value_counts()).fillna(0).astype("int64")
    table["share"] = table["comments"] / len(documents)
    table["closest_theme"], table["theme_agreement"] = "", np.nan
    if themes is not None and set(themes["theme"]) <= set(documents.columns) and documents["themes_scored"].any():
        by_topic = documents[list(themes["theme"])].astype(float).groupby(dominant).mean()
        by_topic = by_topic.loc[by_topic.index >= 0]
        labels = {theme: t(label) for theme, label in zip(themes["theme"], themes["label"])}
        table["closest_theme"] = table["component"].map(by_topic.idxmax(axis=1).map(labels)).fillna("")
        table["theme_agreement"] = table["component"].map(by_topic.max(axis=1))
    return table


def discover_topics(tagged: pd.DataFrame, themes: pd.DataFrame | None = None, period: Quarter | str | None = None,
                    n_topics: int = 5, n_top_terms: int = 8, seed: int = 0, max_documents: int = 20_000,
                    min_documents_per_topic: int = 10, stopwords: dict[str, Iterable[str]] | None = None,
                    languages: Iterable[str] = DEFAULT_LANGUAGES,
                    min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> pd.DataFrame:
    """Topics found without the lexicon: TF-IDF of words, NMF with ``n_topics`` components per
    language (languages share few words, so a joint model would spend its topics on telling the
    languages apart).

    The comments' ``language`` column is used (detected when absent, see
    :func:`detect_languages`); a language is modelled when it has a stop-word list: English
    (scikit-learn's), Chinese (segmented with jieba, built-in function words) and those in
    ``stopwords`` (``{code: [words]}``, see :func:`load_topic_stopwords`). Terms in fewer than 2
    comments or more than half of them are dropped. At most ``max_documents`` comments per
    language (a seeded random sample) are used, from ``period`` only when it is given (needs a
    ``quarter`` column, as ``collect_comments`` makes). Each comment belongs to its
    highest-weight topic.

    Returns ``language, topic, label, example, top_terms, comments, share, closest_theme,
    theme_agreement``: ``language`` is the language's name, ``topic`` its code and a number
    ("PT-1"), ``label`` the reader's name of the topic (:func:`topic_label`; "Unclear (mostly
    common words or numbers)" when its top terms are, and ``attrs["unclear"]`` lists those
    topics), ``example`` an excerpt of its most typical
    comment without personal data (:func:`topic_example`), ``share`` is of
    the language's comments, ``closest_theme`` the lexicon theme most often tagged among the
    topic's comments and ``theme_agreement`` the share of them that carry it (low values point
    at needs the lexicon misses; empty for a language without theme keywords). A language with
    fewer than ``min_documents_per_topic`` comments per topic is left out. ``attrs["note"]`` says
    which comments were left out ("" when none). Raises ``NotAvailable`` when there are comments
    but none in a language with a stop-word list.
    """
    require_columns(tagged, ["comment"], "tagged")
    if n_topics < 2:
        raise ValueError(f"n_topics must be at least 2, got {n_topics}")
    tagged = with_languages(tagged, languages, min_confidence)
    if "themes_scored" not in tagged.columns:
        tagged = tagged.assign(themes_scored=False)
    if period is not None:
        require_columns(tagged, ["quarter"], "tagged")
        tagged = tagged.loc[tagged["quarter"] == str(Quarter.parse(period))]
    lists = _stopword_lists(stopwords)
    coverage = language_coverage(tagged, lists)
    if period is not None:
        coverage.attrs["period"] = str(Quarter.parse(period))
    require_coverage(coverage, t("topic discovery"), _topics_enable())
    columns = ["language", "topic", "label", "example", "top_terms", "comments", "share", "closest_theme",
               "theme_agreement"]
    parts, too_few, unclear = [], [], []
    for code in coverage.loc[coverage["covered"], "language"]:
        documents = tagged.loc[tagged["language"] == code]
        if len(documents) > max_documents:
            documents = documents.sample(n=max_documents, random_state=seed)
        table = (_topics_of(documents, themes, n_topics, n_top_terms, seed, lists[code])
                 if len(documents) >= n_topics * min_documents_per_topic else None)
        if table is None:
            too_few.append(language_name(code))
            continue
        table = table.sort_values(["comments", "component"], ascending=[False, True])
        table["language"] = language_name(code)
        table["topic"] = [f"{code.upper()}-{i}" for i in range(1, len(table) + 1)]
        unclear.extend(table.loc[table["label"] == "", "topic"])
        table["label"] = table["label"].mask(table["label"] == "", t("Unclear (mostly common words or numbers)"))
        parts.append(table[columns])
    topics = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    note = coverage_note(coverage, t("topic discovery"), _topics_enable())
    if too_few and parts:
        note = (note + " " if note else "") + t("Too few comments in {languages} to model {count} topics.",
                                                languages=_and(too_few), count=fmt_int(n_topics))
    topics.attrs["note"] = note
    topics.attrs["unclear"] = unclear
    return topics


def topics_finding(topics: pd.DataFrame, min_agreement: float = 0.4) -> str:
    """What the statistical check adds to the lexicon: the largest named topic, the topics no
    lexicon theme matches well (candidates for new keywords) and the unclear ones."""
    if topics.empty:
        return t("Too few comments this quarter to discover topics statistically.")
    unclear = topics["topic"].isin(topics.attrs.get("unclear", []))
    named = topics.loc[~unclear]
    languages = _and(list(topics["language"].unique()))
    if named.empty:
        return t("Topic modelling of {languages} comments finds {count} topics, none clear enough to name: their "
                 "terms are mostly common words or numbers.", languages=languages, count=fmt_int(len(topics)))
    largest = named.loc[named["comments"].idxmax()]
    sentences = [t("Topic modelling of {languages} comments finds {count} topics; the largest named one ({share} of "
                   "{language} comments) is about '{label}'.", languages=languages, count=fmt_int(len(topics)),
                   share=fmt_pct(largest["share"]), language=largest["language"], label=largest["label"])]
    unmatched = named.loc[named["theme_agreement"].fillna(0) < min_agreement]
    if len(unmatched):
        sentences.append(t("Topics that match no lexicon theme well: {count} (e.g. '{label}'), candidates for new "
                           "keywords.", count=fmt_int(len(unmatched)), label=unmatched.iloc[0]["label"]))
    else:
        sentences.append(t("Every named topic lines up with a lexicon theme, so the lexicon covers what customers "
                           "write about."))
    if unclear.any():
        sentences.append(t("Topics too unclear to name (mostly common words or numbers): {count}.",
                           count=fmt_int(int(unclear.sum()))))
    return " ".join(sentences)
