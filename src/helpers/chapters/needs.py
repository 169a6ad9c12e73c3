"""Customer needs read from free text: survey comments and service tickets, English and Chinese.

Two views of the same text:

1. Need themes from an editable lexicon (``params/need_themes.yaml``): functional, experience
   and emotional needs with named topics (price, product quality, delivery, ...). Each theme
   is one compiled regular expression (English keywords at the start of a word, Chinese words
   anywhere), applied to all comments at once with ``Series.str.contains``.
2. A statistical check that needs no lexicon: TF-IDF over words (English words; Chinese
   segmented with jieba) factorised by non-negative matrix factorisation (NMF; Lee and Seung
   1999, scikit-learn, seeded). Each discovered topic lists its top terms and the lexicon theme
   most common among its comments, so an analyst sees what the lexicon misses.
"""
from __future__ import annotations

import logging
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

NEED_THEMES_FILE = paths.PARAMS_DIR / "need_themes.yaml"
NEED_GROUPS = ("functional", "experience", "emotional")
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[a-z][a-z'\-]+")
# Function words left out of discovered topics (jieba splits them off as single tokens).
CHINESE_STOPWORDS = frozenset(
    "的 了 是 我 我们 你 你们 他 她 它 也 都 在 有 和 就 很 非常 还 又 这 那 这个 那个 一个 没有 不 吗 吧 呢 啊 "
    "把 被 给 让 对 与 及 或 但 但是 而且 因为 所以 如果 已经 还是 可以 能 会 要 想 说 上 下 中 次 个 些 什么 "
    "怎么 这么 那么 比较 一直 一下 希望 感觉 觉得 真的 太".split()
)




# ----------------------------------------------------------------------------- lexicon
def load_need_themes(path: str | Path | None = None) -> pd.DataFrame:
    """The need-theme lexicon as a table: ``theme, group, label, en, zh`` (keyword lists).

    Raises ``ValueError`` naming the theme and field when the file is malformed.
    """
    path = paths.resolve(path) if path else NEED_THEMES_FILE
    if not path.exists():
        raise ValueError(f"need-theme lexicon {path} does not exist")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    themes = data.get("themes")
    if not isinstance(themes, dict) or not themes:
        raise ValueError(f"{path} must hold a mapping 'themes: {{name: {{group, label, en, zh}}}}'")
    rows = []
    for theme, spec in themes.items():
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: theme {theme!r} must be a mapping with group, label, en, zh")
        group = spec.get("group")
        if group not in NEED_GROUPS:
            raise ValueError(f"{path}: theme {theme!r} has group {group!r}; use one of {NEED_GROUPS}")
        words = theme_keywords(spec, f"{path}: theme {theme!r}")
        rows.append({"theme": str(theme), "group": group, "label": str(spec.get("label") or theme), **words})
    return pd.DataFrame(rows)


def theme_keywords(spec: dict, where: str) -> dict[str, list[str]]:
    """The English (``en``) and Chinese (``zh``) keyword lists of one theme of a lexicon file,
    checked: ``where`` names the file and theme in the ``ValueError``."""
    words = {}
    for lang in ("en", "zh"):
        entries = spec.get(lang) or []
        odd = [w for w in entries if not isinstance(w, (str, int, float)) or isinstance(w, bool)]
        if odd:
            raise ValueError(f"{where} '{lang}' has {odd}: quote words YAML reads as true/false or null, e.g. \"no\"")
        words[lang] = [str(w).strip() for w in entries if str(w).strip()]
    if not words["en"] and not words["zh"]:
        raise ValueError(f"{where} lists no English ('en') or Chinese ('zh') keywords")
    return words


def theme_pattern(english: list[str], chinese: list[str]) -> re.Pattern:
    """One case-insensitive regex: English keywords at a word start (spaces match any
    whitespace), Chinese words anywhere. Longer keywords first so phrases win."""
    def escape(word: str) -> str:
        return r"\s+".join(re.escape(part) for part in word.lower().split())

    parts = []
    if english:
        parts.append(r"\b(?:" + "|".join(escape(w) for w in sorted(english, key=len, reverse=True)) + ")")
    if chinese:
        parts.append("(?:" + "|".join(re.escape(w) for w in sorted(chinese, key=len, reverse=True)) + ")")
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


def tag_need_themes(comments: pd.DataFrame, themes: pd.DataFrame) -> pd.DataFrame:
    """``comments`` with one boolean column per theme (True when the comment mentions it) and
    ``themes_mentioned`` (how many). One vectorised regex search per theme."""
    require_columns(comments, ["comment"], "comments")
    require_columns(themes, ["theme", "en", "zh"], "themes")
    tagged = comments.copy()
    text = tagged["comment"].astype("str")
    for theme, english, chinese in zip(themes["theme"], themes["en"], themes["zh"]):
        tagged[theme] = text.str.contains(theme_pattern(english, chinese), na=False)
    tagged["themes_mentioned"] = tagged[list(themes["theme"])].sum(axis=1)
    return tagged


def need_theme_summary(tagged: pd.DataFrame, themes: pd.DataFrame, period: Quarter | str) -> pd.DataFrame:
    """Mentions of each theme in the quarter and the previous one.

    Returns ``group, theme, label, comments, share, previous_comments, previous_share,
    share_change``; ``share`` is of all comments of the quarter. Sorted by group, then mentions.
    """
    require_columns(tagged, ["quarter", *themes["theme"]], "tagged")
    period = Quarter.parse(period)
    rows = []
    for when, quarter in (("", period), ("previous_", period.previous())):
        in_quarter = tagged.loc[tagged["quarter"] == str(quarter), list(themes["theme"])]
        counts = in_quarter.sum()
        rows.append(pd.DataFrame({f"{when}comments": counts.astype("int64"),
                                  f"{when}share": counts / len(in_quarter) if len(in_quarter) else np.nan}))
    table = themes[["group", "theme", "label"]].set_index("theme").join(pd.concat(rows, axis=1))
    table["share_change"] = table["share"] - table["previous_share"]
    table["group"] = pd.Categorical(table["group"], NEED_GROUPS, ordered=True)
    table = table.reset_index().sort_values(["group", "comments", "theme"], ascending=[True, False, True])
    table["group"] = table["group"].astype(str)
    table.attrs["comments"] = int((tagged["quarter"] == str(period)).sum())
    return table[["group", "theme", "label", "comments", "share", "previous_comments", "previous_share",
                  "share_change"]].reset_index(drop=True)


def need_theme_trend(tagged: pd.DataFrame, themes: pd.DataFrame, period: Quarter | str,
                     n_quarters: int = 8) -> pd.DataFrame:
    """Mentions and share of comments per theme and quarter, the last ``n_quarters``.

    Returns ``quarter, group, theme, label, comments, share, all_comments`` (long form).
    """
    require_columns(tagged, ["quarter", *themes["theme"]], "tagged")
    quarters = [str(q) for q in Quarter.parse(period).trailing(n_quarters)]
    window = tagged.loc[tagged["quarter"].isin(quarters)]
    counts = window.groupby("quarter")[list(themes["theme"])].sum().reindex(quarters).fillna(0)
    totals = window.groupby("quarter").size().reindex(quarters).fillna(0)
    long = counts.stack().rename("comments").reset_index().rename(columns={"level_1": "theme"})
    long.columns = ["quarter", "theme", "comments"]
    long["all_comments"] = long["quarter"].map(totals).astype("int64")
    long["comments"] = long["comments"].astype("int64")
    long["share"] = long["comments"] / long["all_comments"].where(long["all_comments"] > 0)
    long = long.merge(themes[["theme", "group", "label"]], on="theme", how="left")
    return long[["quarter", "group", "theme", "label", "comments", "share", "all_comments"]]


def need_themes_finding(summary: pd.DataFrame) -> str:
    """The most mentioned theme and the theme whose share rose most."""
    total = summary.attrs.get("comments")
    if summary["comments"].sum() == 0:
        return "No comment of the quarter mentions a need theme of the lexicon."
    top = summary.loc[summary["comments"].idxmax()]
    text = (f"The most mentioned need is {top['label'].lower()} ({top['group']}): {fmt_int(top['comments'])} comments, "
            f"{fmt_pct(top['share'])} of {fmt_int(total) if total else 'all'} comments this quarter.")
    changes = summary.dropna(subset=["share_change"])
    if len(changes):
        riser = changes.loc[changes["share_change"].idxmax()]
        if riser["share_change"] > 0:
            text += f" {riser['label']} rose most on the previous quarter ({fmt_pp(riser['share_change'])})."
    by_group = summary.groupby("group")["comments"].sum()
    text += " Mentions by need group: " + ", ".join(f"{g} {fmt_int(by_group.get(g, 0))}" for g in NEED_GROUPS) + "."
    return text


def plot_need_themes(summary: pd.DataFrame, ax=None):
    """Share of the quarter's comments mentioning each theme, coloured by need group."""
    require_columns(summary, ["group", "label", "share"], "summary")
    shown = summary.iloc[::-1]
    ax = new_axes(ax, figsize=(8, max(3, 0.4 * len(shown) + 1.2)))
    colours = shown["group"].map({g: f"C{i}" for i, g in enumerate(NEED_GROUPS)})
    ax.barh(np.arange(len(shown)), 100 * shown["share"].fillna(0), color=colours)
    ax.set_yticks(np.arange(len(shown)), shown["label"])
    from matplotlib.patches import Patch

    ax.legend([Patch(color=f"C{i}") for i in range(len(NEED_GROUPS))], [g.capitalize() for g in NEED_GROUPS],
              loc="lower right", fontsize=9)
    return label(ax, "Needs mentioned in comments this quarter", "Share of comments (%)", "Need theme")


def plot_need_theme_trend(trend: pd.DataFrame, max_themes: int = 6, ax=None):
    """Share of comments per quarter for the most mentioned themes."""
    require_columns(trend, ["quarter", "label", "comments", "share"], "trend")
    top = trend.groupby("label")["comments"].sum().sort_values(ascending=False).head(max_themes).index
    wide = trend.loc[trend["label"].isin(top)].pivot(index="quarter", columns="label", values="share")
    ax = new_axes(ax)
    for name in top:
        ax.plot(wide.index, 100 * wide[name], marker="o", label=name)
    ax.tick_params(axis="x", rotation=45)
    ax.legend(loc="best", fontsize=8)
    return label(ax, "Need themes by quarter", "Quarter", "Share of comments (%)")


# ----------------------------------------------------------------------------- topic discovery
def _tokenise(text: str) -> list[str]:
    """Lower-case English words (3+ letters, no stop words) and jieba-segmented Chinese words
    (2+ characters, no function words)."""
    import jieba
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    tokens = []
    for run in _TOKEN_RE.findall(str(text).lower()):
        if "a" <= run[0] <= "z":
            if len(run) >= 3 and run not in ENGLISH_STOP_WORDS:
                tokens.append(run)
        else:
            tokens.extend(w for w in jieba.lcut(run) if len(w) >= 2 and w not in CHINESE_STOPWORDS)
    return tokens


def _topics_of(documents: pd.DataFrame, themes: pd.DataFrame | None, n_topics: int, n_top_terms: int,
               seed: int) -> pd.DataFrame | None:
    """TF-IDF + NMF topics of one set of comments; None when the vocabulary is too small."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(analyzer=_tokenise, min_df=2, max_df=0.5, max_features=5000, sublinear_tf=True)
    try:
        matrix = vectoriser.fit_transform(documents["comment"].astype("str"))
    except ValueError:  # every term pruned by min_df / max_df
        return None
    if matrix.shape[1] < n_topics:
        return None
    model = NMF(n_components=n_topics, init="nndsvda", random_state=seed, max_iter=500)
    weights = model.fit_transform(matrix)
    terms = np.asarray(vectoriser.get_feature_names_out())
    top_terms = [", ".join(terms[np.argsort(component)[::-1][:n_top_terms]]) for component in model.components_]
    dominant = np.where(weights.max(axis=1) > 0, weights.argmax(axis=1), -1)
    table = pd.DataFrame({"component": np.arange(n_topics), "top_terms": top_terms})
    table["comments"] = table["component"].map(pd.Series(dominant).value_counts()).fillna(0).astype("int64")
    table["share"] = table["comments"] / len(documents)
    table["closest_theme"], table["theme_agreement"] = "", np.nan
    if themes is not None and set(themes["theme"]) <= set(documents.columns):
        by_topic = documents[list(themes["theme"])].astype(float).groupby(dominant).mean()
        by_topic = by_topic.loc[by_topic.index >= 0]
        labels = dict(zip(themes["theme"], themes["label"]))
        table["closest_theme"] = table["component"].map(by_topic.idxmax(axis=1).map(labels)).fillna("")
        table["theme_agreement"] = table["component"].map(by_topic.max(axis=1))
    return table


def discover_topics(tagged: pd.DataFrame, themes: pd.DataFrame | None = None, period: Quarter | str | None = None,
                    n_topics: int = 5, n_top_terms: int = 8, seed: int = 0, max_documents: int = 20_000,
                    min_documents_per_topic: int = 10) -> pd.DataFrame:
    """Topics found without the lexicon: TF-IDF of words, NMF with ``n_topics`` components per
    language (English and Chinese share no words, so a joint model would spend its topics on
    telling the languages apart).

    Chinese is segmented with jieba, English split into words; terms in fewer than 2 comments
    or more than half of them are dropped. At most ``max_documents`` comments per language (a
    seeded random sample) are used, from ``period`` only when it is given (needs a ``quarter``
    column, as ``collect_comments`` makes). Each comment belongs to its highest-weight topic.

    Returns ``language, topic, top_terms, comments, share, closest_theme, theme_agreement``:
    ``share`` is of the language's comments, ``closest_theme`` the lexicon theme most often
    tagged among the topic's comments and ``theme_agreement`` the share of them that carry it
    (low values point at needs the lexicon misses). A language with fewer than
    ``min_documents_per_topic`` comments per topic is left out.
    """
    import jieba

    require_columns(tagged, ["comment"], "tagged")
    if n_topics < 2:
        raise ValueError(f"n_topics must be at least 2, got {n_topics}")
    jieba.setLogLevel(logging.WARNING)
    if period is not None:
        require_columns(tagged, ["quarter"], "tagged")
        tagged = tagged.loc[tagged["quarter"] == str(Quarter.parse(period))]
    columns = ["language", "topic", "top_terms", "comments", "share", "closest_theme", "theme_agreement"]
    chinese = tagged["comment"].astype("str").str.contains(f"[{_CJK}]", regex=True, na=False)
    parts = []
    for language, mask in (("English", ~chinese), ("Chinese", chinese)):
        documents = tagged.loc[mask]
        if len(documents) > max_documents:
            documents = documents.sample(n=max_documents, random_state=seed)
        if len(documents) < n_topics * min_documents_per_topic:
            continue
        table = _topics_of(documents, themes, n_topics, n_top_terms, seed)
        if table is None:
            continue
        table = table.sort_values(["comments", "component"], ascending=[False, True])
        table["language"] = language
        table["topic"] = [f"{language[:2].upper()}-{i}" for i in range(1, len(table) + 1)]
        parts.append(table[columns])
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


def topics_finding(topics: pd.DataFrame, min_agreement: float = 0.4) -> str:
    """What the statistical check adds to the lexicon."""
    if topics.empty:
        return "Too few comments this quarter to discover topics statistically."
    largest = topics.loc[topics["comments"].idxmax()]
    lead_terms = ", ".join(largest["top_terms"].split(", ")[:3])
    languages = " and ".join(topics["language"].unique())
    text = (f"Topic modelling of {languages} comments finds {len(topics)} topics; the largest "
            f"({fmt_pct(largest['share'])} of {largest['language']} comments) centres on '{lead_terms}'.")
    unmatched = topics.loc[topics["theme_agreement"].fillna(0) < min_agreement]
    if len(unmatched):
        text += (f" {len(unmatched)} topic(s) match no lexicon theme well (e.g. '{unmatched.iloc[0]['top_terms']}'): "
                 "candidates for new keywords.")
    else:
        text += " Every topic lines up with a lexicon theme, so the lexicon covers what customers write about."
    return text
