"""Keep the message catalogs in step with the messages the report uses.

    python -m helpers.report.catalog            # check every catalog; exit 1 listing what is missing or unused
    python -m helpers.report.catalog --update   # write locale/report.pot; add missing entries, drop unused ones
    python -m helpers.report.catalog --merge zh-CN translations.json   # set translations {template: text}

The messages are the templates of every ``t("...")`` call in ``src/helpers`` (found by Babel's
extractor, the gettext keyword being ``t``), the ``t("...")`` calls of the notebooks' code cells and the text of their
markdown cells (each cell one message, translated when the page is rendered), the labels of
``helpers.report.labels``, the
chapter titles of ``helpers.report.registry`` and the reader texts of the bundled parameter files
(``PARAM_TEXTS``: RFM segment names and descriptions, diagnosis texts and owners, need themes),
which the chapters pass through ``t`` when they read them; an analyst's own texts show as written. ``locale/report.pot`` is the English catalog, the
template of the others; each ``locale/<language>/LC_MESSAGES/report.po`` translates it.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers.report import i18n

SOURCE_DIR = Path(__file__).resolve().parents[1]  # src/helpers
# The gettext keywords: t's first argument, and the noun (third argument) of fmt.top_of, which it translates.
KEYWORDS = {"t": None, "top_of": (3,)}
# Reader texts of the bundled parameter files: file -> paths of keys ("*" any list item or mapping key).
PARAM_TEXTS = {
    "rfm_segments.yaml": ("segments/*/name", "segments/*/description"),
    "diagnosis_rules.yaml": ("owners/*", "kpi_actions/*", "rules/*/dimension", "rules/*/description",
                             "rules/*/action", "rules/*/owner", "rules/*/tracking_kpi", "rules/*/target"),
    "need_themes.yaml": ("themes/*/label",),
}


def _values_at(node, keys: list[str]):
    if not keys:
        if isinstance(node, str) and node.strip():
            yield node
        return
    head, rest = keys[0], keys[1:]
    if head == "*":
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
        for child in children:
            yield from _values_at(child, rest)
    elif isinstance(node, dict) and head in node:
        yield from _values_at(node[head], rest)


def param_texts() -> dict[str, list[str]]:
    """The reader texts of the bundled parameter files (``PARAM_TEXTS``), with their file."""
    import yaml

    from helpers import paths

    found: dict[str, list[str]] = {}
    for name, key_paths in PARAM_TEXTS.items():
        data = yaml.safe_load((paths.PARAMS_DIR / name).read_text(encoding="utf-8")) or {}
        for key_path in key_paths:
            for text in _values_at(data, key_path.split("/")):
                if not text.startswith("{") or not text.endswith("}"):  # "{kpi_action}" is filled, not read
                    found.setdefault(text, []).append(f"params/{name}:1")
    return found
TEMPLATE = i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot"


def notebook_messages() -> dict[str, list[str]]:
    """The markdown cells of the chapter notebooks and the templates of ``t`` in their code cells."""
    import io

    import nbformat
    from babel.messages.extract import extract

    from helpers import paths

    found: dict[str, list[str]] = {}
    for notebook in sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb")):
        for number, cell in enumerate(nbformat.read(notebook, as_version=4).cells):
            place = f"notebooks/{notebook.name}:{number + 1}"
            if cell.cell_type == "markdown" and cell.source.strip():
                found.setdefault(cell.source, []).append(place)
            elif cell.cell_type == "code":
                code = "\n".join("" if line.startswith("%") else line for line in cell.source.splitlines())
                for _line, message, _comments, _context in extract(
                        "python", io.BytesIO(code.encode("utf-8")), keywords=KEYWORDS, comment_tags=()):
                    if isinstance(message, str) and message:
                        found.setdefault(message, []).append(place)
    return found


def used_messages() -> dict[str, list[str]]:
    """Every template the code passes to ``t``, with where it is used (``report/fmt.py:64``)."""
    from babel.messages.extract import extract_from_dir

    found: dict[str, list[str]] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
            str(SOURCE_DIR), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=()):
        if isinstance(message, str) and message:
            found.setdefault(message, []).append(f"{filename}:{line}")
    from helpers.data import prepare, schema
    from helpers.report import labels, registry

    for module, messages in ((labels, labels.catalog_messages()), (registry, registry.TITLES.values()),
                             (prepare, prepare.VALUE_NAMES), (schema, schema.SOURCES)):
        place = f"{Path(module.__file__).relative_to(SOURCE_DIR).as_posix()}:1"
        for message in messages:
            found.setdefault(message, []).append(place)
    from helpers.params import Params

    for field in ("report_title", "company_name"):  # the defaults; a company's own title shows as written
        found.setdefault(Params.model_fields[field].default, []).append("params.py:1")
    for extra in (param_texts(), notebook_messages()):
        for message, places in extra.items():
            found.setdefault(message, []).extend(places)
    return found


@dataclass(frozen=True)
class CatalogCheck:
    language: str
    missing: list[str]       # used by the code, absent from the catalog
    untranslated: list[str]  # in the catalog without a translation (or marked fuzzy)
    unused: list[str]        # in the catalog, used nowhere
    bad_placeholders: list[str]  # translations whose {names} differ from their template's

    @property
    def ok(self) -> bool:
        return not (self.missing or self.untranslated or self.unused or self.bad_placeholders)


def _read(path: Path):
    from babel.messages.pofile import read_po

    with open(path, "rb") as handle:
        return read_po(handle)


def _placeholders(text: str) -> set[str]:
    from string import Formatter

    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


def check(language: str, used: dict[str, list[str]] | None = None) -> CatalogCheck:
    used = used_messages() if used is None else used
    catalog = _read(i18n.catalog_path(language))
    entries = {str(m.id): m for m in catalog if m.id}
    return CatalogCheck(
        language,
        missing=sorted(set(used) - set(entries)),
        untranslated=sorted(k for k, m in entries.items() if k in used and (not m.string or m.fuzzy)),
        unused=sorted(set(entries) - set(used)),
        bad_placeholders=sorted(k for k, m in entries.items() if m.string and _placeholders(k) != _placeholders(str(m.string))),
    )


def update() -> None:
    """Write the template and bring every catalog in step with it (translations kept, new ones empty)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    used = used_messages()
    template = Catalog(project="Customer Insights", domain=i18n.DOMAIN)
    for message, places in sorted(used.items()):
        template.add(message, locations=[(f, int(n)) for f, n in (p.rsplit(":", 1) for p in places)])
    TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
    with open(TEMPLATE, "wb") as handle:
        write_po(handle, template, omit_header=False, sort_output=True, width=120, include_lineno=False)
    for language in i18n.available_languages()[1:]:
        path = i18n.catalog_path(language)
        catalog = _read(path)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with open(path, "wb") as handle:
            write_po(handle, catalog, sort_output=True, width=120, include_previous=False, include_lineno=False)
        i18n.messages.cache_clear()


def merge(language: str, translations: dict[str, str]) -> int:
    """Set the translations of ``language`` from ``{template: translation}``; returns how many were set."""
    from babel.messages.pofile import write_po

    path = i18n.catalog_path(language)
    catalog = _read(path)
    for message, text in translations.items():
        entry = catalog.get(message) or catalog.add(message)
        entry.string, entry.flags = text, entry.flags - {"fuzzy"}
    with open(path, "wb") as handle:
        write_po(handle, catalog, sort_output=True, width=120, include_previous=False, include_lineno=False)
    i18n.messages.cache_clear()
    return len(translations)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="write the template and update every catalog")
    parser.add_argument("--merge", nargs=2, metavar=("LANGUAGE", "JSON"),
                        help="set translations from a JSON object {template: translation}")
    args = parser.parse_args(argv)
    if args.merge:
        import json

        language, source = args.merge
        print(f"{merge(i18n.normalise_language(language), json.loads(Path(source).read_text(encoding='utf-8')))} "
              f"translations set in {i18n.catalog_path(i18n.normalise_language(language))}")
    if args.update:
        update()
    used, failed = used_messages(), False
    for language in i18n.available_languages()[1:]:
        result = check(language, used)
        for kind in ("missing", "untranslated", "unused", "bad_placeholders"):
            for message in getattr(result, kind):
                failed = True
                print(f"{language}: {kind.replace('_', ' ')}: {message!r} ({', '.join(used.get(message, ['-']))})")
    print(f"{len(used)} messages; catalogs: {', '.join(i18n.available_languages())}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
