"""The whole demo report in Simplified Chinese: every page reads in Chinese.

Over the visible text of every page (index and chapters), Chinese characters are at least 90% of
the letters, leaving out an allowed list: the acronyms the report keeps (NPS, CSAT, CLV, ...),
ids, parameter and file names shown in code style, and the data's own words (product names,
segments, channels of the export: the company's words, not the report's).
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from conftest import run_report

from helpers.report.registry import CHAPTERS

ACRONYMS = {"NPS", "CSAT", "CLV", "RFM", "BG", "NBD", "BG/NBD", "TF-IDF", "CAC", "CRV", "KPI", "AUC", "ID", "CSV", "PDF", "HTML", "SHA",
            "P10", "P25", "P50", "P75", "P90", "MAE", "RMSE", "R", "OLS", "NMF", "VADER", "KM", "QoQ", "YoY", "vs",
            "Gamma", "k", "means", "p", "n", "pp", "A", "B", "x", "N"}
# Proper names the report keeps as they are: methods and their authors, software packages.
PROPER_NAMES = {"Kaplan-Meier", "Log-rank", "Newcombe", "Wilson", "Fader", "Hardie", "Lee", "Gamma-Gamma", "Pareto/NBD",
                "Cohen's", "Cramer's", "d", "V", "Brier", "ROC", "k-means", "K", "FM", "F", "M", "Git", "git",
                "SHA-256", "Sievert", "Shirley", "Hutto", "Gilbert", "lingua", "jieba", "Chromium",
                "python", "pandas", "numpy", "scipy", "statsmodels", "scikit-learn", "lifetimes", "seaborn", "matplotlib",
                "papermill", "nbconvert", "pydantic", "pyarrow", "r", "alpha", "a", "b", "q", "v", "gamma", "s", "beta"}
# The commonest English words: a comment's other words are the customer's (topic terms, excerpts),
# these would pass an untranslated sentence.
FUNCTION_WORDS = {"the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "is", "are", "was", "were",
                  "be", "it", "this", "that", "by", "at", "as", "from", "not", "no", "than", "its", "their", "has",
                  "have", "had", "which", "who", "all", "each", "per", "more", "most", "less", "one", "two", "these",
                  "The", "A", "In", "Of", "And", "This", "It"}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-./']*")


def visible_text(page: Path) -> str:
    """What a reader sees: the page without scripts, styles and code-style text (parameters, files, the
    parameters' dump of the provenance block)."""
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for hidden in soup(["script", "style", "code", "pre", "head", "svg"]):
        hidden.decompose()
    return soup.get_text(" ")


def data_words(data: Path) -> set[str]:
    """Every word of the export's text (names, categories, segments, channels, ids, comments), the
    commonest English words (``FUNCTION_WORDS``) of its free text aside."""
    words: set[str] = set()
    for csv in data.glob("*.csv"):
        frame = pd.read_csv(csv, dtype=str)
        for column in frame.columns:
            values = frame[column].dropna().unique()
            if len(values) and pd.Series(values).str.len().mean() > 40:  # free text: comments
                words.update(w for v in values for w in LATIN_WORD.findall(str(v)) if w not in FUNCTION_WORDS)
                continue
            for value in values:
                found = LATIN_WORD.findall(str(value))
                words.update(found)
                words.update(word.capitalize() for word in found)  # "app" is shown as "App"
    return words


def chinese_share(text: str, allowed: set[str]) -> tuple[float, list[str]]:
    """(Chinese characters / letters counted, the Latin words counted) of ``text``."""
    chinese = len(CJK.findall(text))
    foreign = [w for w in LATIN_WORD.findall(text) if w not in allowed and w.strip("./-'") not in allowed
               and not re.fullmatch(r"[A-Z]*\d[\w\-]*", w)  # ids such as C00012, P-031, 2026Q3
               and not re.fullmatch(r"[0-9a-f]{6,}", w)  # hashes and commits
               and not re.search(r"\.(csv|json|ya?ml|html|pdf|ipynb|parquet)$", w)]  # file names
    latin = sum(sum(ch.isalpha() for ch in w) for w in foreign)
    return (chinese / (chinese + latin) if chinese + latin else 1.0), foreign


def test_share_counts_letters_outside_the_allowed_list():
    # 4 Chinese characters; "NPS" allowed, "C00012" an id, "9f2c4e1a" a hash, "hello" 5 Latin letters: 4 / (4 + 5)
    share, foreign = chinese_share("净推荐值 NPS C00012 9f2c4e1a hello", {"NPS"})
    assert foreign == ["hello"] and share == pytest.approx(4 / 9)


@pytest.fixture(scope="module")
def chinese_report(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("zh")
    result = run_report("--quarter", "2026Q3", "--data", str(demo), "--out", str(out), "--language", "zh-CN",
                        pdf=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (folder,) = [p for p in (out / "2026Q3").iterdir() if not p.name.startswith(".")]
    return folder


@pytest.mark.slow
def test_every_page_of_the_chinese_report_is_at_least_90_percent_chinese(chinese_report, demo):
    allowed = ACRONYMS | PROPER_NAMES | data_words(demo)
    shares = {}
    for page in ["index", *CHAPTERS]:
        share, foreign = chinese_share(visible_text(chinese_report / f"{page}.html"), allowed)
        shares[page] = (round(share, 3), sorted(set(foreign))[:40])
    assert all(share >= 0.9 for share, _ in shares.values()), shares
    assert (chinese_report / "index.html").read_text(encoding="utf-8").count('lang="zh-CN"') == 1
