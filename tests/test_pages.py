"""What a reader sees on every page of the report: no machine output, no raw codes, charts described.

The visible text of a page is its body without scripts and styles (``<details>`` count: a reader
opens them). Each rule below is a pattern a reader found on the demo report. The rules are checked
on hand-made pages first, then on every page of the small whole report of the shared ``report``
fixture (slow); ``python tests/test_pages.py FOLDER`` prints the counts for any report folder.
"""
from __future__ import annotations

import re
import sys
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from helpers.report.registry import CHAPTERS

PAGES = ["index.html", *(f"{chapter}.html" for chapter in CHAPTERS)]
GLOSSARY_CHAPTERS = ("01_overview", "02_needs", "03_behaviour", "04_value")  # each defines its KPIs at its end

# name -> pattern over the visible text. Case matters: "early warning" is a section title, a
# Python warning is "UserWarning" or "Warning:".
TEXT_RULES = {
    "PosixPath(": re.compile(r"(?:Posix|Windows)Path\("),
    "absolute path": re.compile(r"(?<![\w.:/~])(?:/(?:tmp|home|work|Users|var|usr|opt|root|mnt|srv|private)/"
                                r"|[A-Z]:\\)"),
    "Traceback": re.compile(r"Traceback"),
    "Warning": re.compile(r"\b\w*Warning\b"),
    "True/False": re.compile(r"\b(?:True|False)\b"),
    "scientific notation": re.compile(r"\d[eE][+-]\d"),  # 1.304e+04, 3e-05; a hash such as 8e9b has no sign
    "no image description": re.compile(r"No description has been provided"),
    "raw caption (Top N of fewer)": re.compile(r"\bTop (\d[\d,]*) of (\d[\d,]*)\b"),
}
# A word with an underscore ("add_to_cart", "MODEL_SCORE_HIGH", "tickets.resolved_at", "_ELEVATED")
# outside <code>. File names are names a reader types to find the file, so "win_back.csv" passes.
WORD = re.compile(r"[\w./-]+")
SNAKE = re.compile(r"[A-Za-z0-9]_[A-Za-z0-9]|(?:^|[^\w])_[A-Za-z]")
FILE_NAME = re.compile(r"(?:[\w.-]+/)*[\w.-]+\.(?:csv|json|ya?ml|parquet|html|ipynb|txt|xlsx|pdf)")
# The parameter dump at the end of each chapter (the provenance box, for the analyst) is JSON a
# reader would copy as it is, the same as a <code> element.
MACHINE_TEXT = "code, details.ci-provenance pre"
# What nbconvert shows of outputs that are not the chapter's own HTML: printed text, reprs, errors.
RAW_OUTPUT = ('[data-mime-type="application/vnd.jupyter.stdout"], [data-mime-type="application/vnd.jupyter.stderr"], '
              '[data-mime-type="text/plain"], .jp-RenderedText')


def visible_soup(page: str) -> BeautifulSoup:
    soup = BeautifulSoup(page, "html.parser")
    for hidden in soup.find_all(["script", "style", "head", "noscript", "template"]):
        hidden.decompose()
    return soup


def _text(soup: BeautifulSoup) -> str:
    return soup.get_text(" ")


def scan_page(page: str, csv_names: set[str] = frozenset()) -> dict[str, list[str]]:
    """Every offence of the page, by rule: the offending text (a few characters around it)."""
    soup = visible_soup(page)
    text = _text(soup)
    found: dict[str, list[str]] = {}
    for name, pattern in TEXT_RULES.items():
        hits = []
        for match in pattern.finditer(text):
            if name.startswith("raw caption") and int(match[1].replace(",", "")) <= int(match[2].replace(",", "")):
                continue  # "Top 15 of 40" is true
            hits.append(text[max(0, match.start() - 30):match.end() + 30].replace("\n", " "))
        found[name] = hits
    without_code = visible_soup(page)
    for code in without_code.select(MACHINE_TEXT):
        code.decompose()
    words = (w.strip(".,;:") for w in WORD.findall(_text(without_code)))
    found["snake_case"] = [w for w in words if SNAKE.search(w) and not FILE_NAME.fullmatch(w)]
    found["raw notebook output"] = [el.get_text(" ")[:80] for el in soup.select(RAW_OUTPUT)]
    images = soup.find_all("img")
    found["img without alt"] = [img.get("src", "")[:40] for img in images if not (img.get("alt") or "").strip()]
    found["no image description"] += [img["alt"] for img in images if "No description" in (img.get("alt") or "")]
    found["Glossary headings"] = [h.get_text() for h in soup.find_all(re.compile(r"^h[1-6]$"))
                                  if h.get_text(" ").strip().lower().startswith("glossary")]
    # "the full table is in the CSV" must name a CSV the report has.
    claims = re.findall(r"full (?:table|list) is in (?:the CSV|`?([\w.-]+\.csv)`?)", text)
    found["CSV claim without the CSV"] = [c or "the CSV" for c in claims if not c or c not in csv_names]
    return found


@lru_cache(maxsize=4)
def scan_folder(folder: Path) -> dict[str, dict[str, list[str]]]:
    """page -> rule -> offences, for every page of a report folder (read once per folder)."""
    csv_names = {p.name for p in folder.rglob("*.csv")}  # shared or kept for the analyst
    result = {}
    for name in PAGES:
        path = folder / name
        if path.exists():
            found = scan_page(path.read_text(encoding="utf-8"), csv_names)
            result[name] = found
    return result


# ----------------------------------------------------------------------------- the rules, on hand-made pages
def test_the_scan_finds_each_offence_on_a_hand_made_page():
    page = ("<html><head><title>x_y</title><style>.a_b{}</style></head><body>"
            "<p>Saved to PosixPath('/tmp/out/a.csv') and /home/me/x</p><pre>Traceback (most recent call last)</pre>"
            "<p>FutureWarning: x. Churn early warning.</p><p>chosen True, 1.304e+04 and 3e-05, hash 1aad98e9b57c</p>"
            "<p>add_to_cart, tickets.resolved_at, _ELEVATED, win_back.csv and <code>churn_inactivity_days</code></p>"
            "<details class='ci-provenance'><pre>{\"min_group_size\": 5}</pre></details><pre>rfm_window_days</pre>"
            "<img src='data:image/png;base64,AA' alt='No description has been provided for this image'>"
            "<img src='data:image/png;base64,BB'><h2>Glossary</h2><h2>Glossary</h2>"
            "<caption>Top 15 of 10</caption><caption>Top 15 of 40</caption>"
            "<p>The full list is in <code>churn_scores.csv</code>; the full table is in the CSV.</p>"
            "<script>var a_b = True;</script></body></html>")
    found = scan_page(page, csv_names={"churn_scores.csv"})
    assert len(found["PosixPath("]) == 1
    assert len(found["absolute path"]) == 2            # /tmp/out/a.csv, /home/me/x
    assert len(found["Traceback"]) == 1
    assert len(found["Warning"]) == 1                  # FutureWarning; "early warning" is a title
    assert len(found["True/False"]) == 1               # the script's True is not shown
    assert len(found["scientific notation"]) == 2      # 1.304e+04, 3e-05
    # not the file name, the <code>, the provenance's parameter dump, the title or the style
    assert found["snake_case"] == ["add_to_cart", "tickets.resolved_at", "_ELEVATED", "rfm_window_days"]
    assert len(found["no image description"]) == 1     # nbconvert's stand-in alt text of the first image
    assert len(found["img without alt"]) == 1          # the second image has none
    assert found["Glossary headings"] == ["Glossary", "Glossary"]
    assert len(found["raw caption (Top N of fewer)"]) == 1
    assert found["CSV claim without the CSV"] == ["the CSV"]


def test_a_clean_page_has_no_offence():
    page = ("<html><body><h2>Glossary</h2><p>Chosen: yes; 13,040 orders; add to cart; "
            "<code>churn_scores.csv</code></p><img src='data:image/png;base64,AA' alt='Bar chart: orders by month'>"
            "<p>The full list is in <code>churn_scores.csv</code>.</p></body></html>")
    found = scan_page(page, csv_names={"churn_scores.csv"})
    assert {k: v for k, v in found.items() if v and k != "Glossary headings"} == {}


# ----------------------------------------------------------------------------- the rules, on the whole report
PAGE_RULES = [*TEXT_RULES, "snake_case", "raw notebook output", "img without alt", "CSV claim without the CSV"]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_no_page_shows_machine_output_or_raw_codes(report, page):
    folder, _ = report
    found = scan_folder(folder)[page]
    offences = {rule: found[rule][:5] for rule in PAGE_RULES if found[rule]}
    assert offences == {}, f"{page}: {offences}"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_glossary_once_per_chapter(report, page):
    folder, _ = report
    headings = scan_folder(folder)[page]["Glossary headings"]
    if page.removesuffix(".html") in GLOSSARY_CHAPTERS:
        assert len(headings) == 1, f"{page}: {headings}"
    else:  # chapters 00 and 05 and the index may have none
        assert len(headings) <= 1, f"{page}: {headings}"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_every_image_says_what_it_shows(report, page):
    folder, _ = report
    soup = BeautifulSoup((folder / page).read_text(encoding="utf-8"), "html.parser")
    for img in soup.find_all("img"):
        alt = (img.get("alt") or "").strip()
        assert alt and "No description" not in alt, f"{page}: an image without alt text"
        assert len(alt.split()) >= 4, f"{page}: alt text {alt!r} says too little"


def main(folder: str) -> None:
    """Print the counts per rule for a report folder (before / after comparisons)."""
    result = scan_folder(Path(folder))
    rules = list(next(iter(result.values())))
    totals = Counter()
    for page, found in result.items():
        counts = {rule: len(found[rule]) for rule in rules if found[rule]}
        totals.update(counts)
        print(page, counts)
        for rule in rules:
            for hit in found[rule][:6]:
                print(f"    {rule}: {hit}")
    print("TOTAL", dict(totals))


if __name__ == "__main__":
    main(sys.argv[1])
