"""The report's language: message catalogs (gettext ``.po`` files) and sentence templates.

Every sentence a reader sees is written as an English template with named placeholders,
``t("{customers} customers lapsed within the last year", customers=fmt_int(n))``. The English
template is the message id; a catalog ``locale/<language>/LC_MESSAGES/report.po`` beside this
module gives its translation, which may put the placeholders in its own order. English needs no
catalog. A new language is a new catalog: the languages offered are the catalogs found.
Catalogs are read at run time with Babel (no compile step).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

ENGLISH = "en"
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "report"
_ALIASES = {"english": ENGLISH, "en-us": ENGLISH, "en-gb": ENGLISH, "chinese": "zh-CN", "zh": "zh-CN",
            "zh-hans": "zh-CN", "zh_cn": "zh-CN"}

_QUARTER = re.compile(r"\d{4}Q[1-4]")
_state = {"language": ENGLISH, "large_money_units": True}


def catalog_path(language: str) -> Path:
    """Where the catalog of ``language`` (``zh-CN``) lives: ``locale/zh_CN/LC_MESSAGES/report.po``."""
    return LOCALE_DIR / language.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


def available_languages() -> list[str]:
    """English and every language with a catalog, as BCP 47 tags (``en``, ``zh-CN``)."""
    found = sorted(p.parent.parent.name.replace("_", "-") for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return [ENGLISH, *[tag for tag in found if tag != ENGLISH]]


def normalise_language(language: str) -> str:
    """The BCP 47 tag of a report language (``English`` and ``en`` give ``en``); ValueError if no catalog."""
    text = str(language).strip()
    tag = _ALIASES.get(text.lower(), text)
    for offered in available_languages():
        if offered.lower() == tag.lower():
            return offered
    raise ValueError(f"report_language {language!r} has no message catalog; offered: {', '.join(available_languages())}"
                     f" (a new language is a catalog at {catalog_path('<language>').relative_to(LOCALE_DIR.parent)})")


@lru_cache(maxsize=None)
def messages(language: str) -> dict[str, str]:
    """The translated messages of a catalog: English template -> translation (untranslated entries left out)."""
    if language == ENGLISH:
        return {}
    from babel.messages.pofile import read_po

    with open(catalog_path(language), "rb") as handle:
        catalog = read_po(handle)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def set_language(language: str, large_money_units: bool = True) -> str:
    """Make ``language`` the language of every later :func:`t` call and number format; returns its tag.

    ``large_money_units``: where the language has them, large amounts of money are written in its
    own units (Chinese 万 and 亿) instead of in full.
    """
    _state["language"] = normalise_language(language)
    _state["large_money_units"] = bool(large_money_units)
    return _state["language"]


def current_language() -> str:
    return _state["language"]


def babel_locale() -> str:
    """The Babel (CLDR) locale of the report's language: ``zh-CN`` -> ``zh_CN``."""
    return _state["language"].replace("-", "_")


def large_money_units() -> bool:
    return _state["large_money_units"]


def t(template: str, **values) -> str:
    """The sentence ``template`` in the report's language, its named placeholders filled with ``values``.

    Format numbers, dates and money before (``helpers.report.fmt``). A text value that is itself a
    catalog entry (a segment name such as "Large enterprise", "Unknown") is put in the report's
    language too; other values (a region, a product name from the data) go in as they are.
    """
    catalog = messages(_state["language"])
    text = catalog.get(template, template)
    if not values:
        return text
    if catalog:
        values = {k: catalog.get(v, v) if isinstance(v, str) else v for k, v in values.items()}
    return text.format(**values)


def translate_values(frame):
    """A table for readers with its text cells that are catalog entries (segment names, "Unknown",
    yes / no) in the report's language; the frame itself when the language is English."""
    catalog = messages(_state["language"])
    if not catalog:
        return frame
    from pandas.api.types import is_string_dtype

    from helpers.quarters import Quarter
    from helpers.report.labels import words

    def word(value):
        if not isinstance(value, str):
            return value
        if value in catalog:
            return catalog[value]
        if _QUARTER.fullmatch(value):  # "2026Q3" -> 2026年第3季度
            quarter = Quarter.parse(value)
            return t("{year}Q{quarter}", year=quarter.year, quarter=quarter.q)
        return catalog.get(words(value), value) if "_" in value else value

    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if is_string_dtype(values.dtype) or values.dtype == object:
            frame[column] = values.map(word)
        elif str(values.dtype) == "category":
            frame[column] = values.cat.rename_categories(lambda c: word(c))
    if is_string_dtype(frame.index.dtype) or frame.index.dtype == object:
        frame.index = frame.index.map(word)
    return frame


def translate_chart_words(figure) -> None:
    """The tick labels and legend entries of a drawn matplotlib ``figure`` that are catalog entries
    (segment names, "Unknown", funnel steps) in the report's language; nothing in English."""
    catalog = messages(_state["language"])
    if not catalog:
        return
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            ticks = axis.get_ticklabels()
            words = [tick.get_text() for tick in ticks]
            if any(word in catalog for word in words):
                axis.set_ticks(axis.get_ticklocs(), labels=[catalog.get(word, word) for word in words])
        legend = ax.get_legend()
        for text in legend.get_texts() if legend is not None else ():
            text.set_text(catalog.get(text.get_text(), text.get_text()))
