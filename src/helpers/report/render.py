"""Turn executed chapter notebooks into the HTML reviewers read, and write the index page.

Pages carry no code, embed their charts, load nothing from the network (nbconvert's CDN
script URLs are emptied and any remaining remote script or style is removed) and share one
navigation bar. Large tables get an offline filter box and click-to-sort headers. A page with an
interactive chart (``helpers.report.interactive``) loads Plotly's script from the report folder,
where the first such page writes it.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from helpers.paths import RunLayout
from helpers.report import executive, interactive
from helpers.report.i18n import current_language, t
from helpers.report.registry import chapter_title

REPORT_CSS = """
<style>
.ci-nav{position:sticky;top:0;z-index:10;background:#1f3a5f;padding:8px 16px;font:14px/1.4 sans-serif}
.ci-nav a{color:#fff;margin-right:14px;text-decoration:none}.ci-nav a.current{font-weight:bold;text-decoration:underline}
body{max-width:1200px;margin:0 auto;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#1b1b1b}
.ci-files{columns:3 240px;padding-left:18px}
.ci-table-wrap{max-width:100%;max-height:80vh;overflow:auto;margin:8px 0 4px;scrollbar-width:thin}
.ci-table.ci-table{border-collapse:collapse;margin:8px 0 4px;font-size:13px;table-layout:auto;width:auto}
.ci-table-wrap .ci-table.ci-table{margin:0}
.ci-table caption{caption-side:top;text-align:left;font-weight:bold;padding:4px 0;position:sticky;left:0}
.ci-table.ci-table th{background:#eef2f7;border-bottom:2px solid #1f3a5f;padding:4px 8px;text-align:left;vertical-align:bottom;white-space:normal;overflow-wrap:normal;word-break:normal;hyphens:none}
.ci-table-wrap .ci-table thead th{position:sticky;top:0;z-index:1}
.ci-table.ci-table td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top;overflow-wrap:normal;word-break:normal}
.ci-table.ci-table th.num{text-align:right}.ci-table.ci-table td.num{text-align:right;white-space:nowrap}
.ci-table.ci-table td.ci-nowrap{white-space:nowrap}
.ci-table.ci-table .ci-wrap{white-space:normal;min-width:12em}.ci-table.ci-table .ci-long{min-width:24em;max-width:40em}
.ci-table.sortable th{cursor:pointer}.ci-filter{margin:6px 0;padding:3px 6px;width:260px;position:sticky;left:0}
figure.ci-chart{margin:8px 0}figure.ci-chart img{max-width:100%;height:auto}
.ci-finding{background:#f3f8ee;border-left:4px solid #4c9a2a;padding:6px 10px}
.ci-na{color:#8a5a00;background:#fff8e6;border-left:4px solid #e0a800;padding:4px 10px}
.ci-note{color:#555;font-size:12px}.ci-error{background:#fdecea;border-left:4px solid #c62828;padding:8px 12px}
.ci-glossary dt{font-weight:bold;margin-top:6px}.ci-glossary dd{margin-left:16px}
.ci-status-ok{color:#2e7d32;font-weight:bold}.ci-status-partial{color:#8a5a00;font-weight:bold}.ci-status-failed{color:#c62828;font-weight:bold}
@media print{
@page{size:A4;margin:14mm 12mm}
body{max-width:none;margin:0;font-size:10pt}
.ci-nav,.ci-filter{display:none}
.jp-OutputArea,.jp-OutputArea-child,.jp-OutputArea-output,.ci-table-wrap{overflow:visible!important;max-height:none}
.ci-table.ci-table{width:100%;table-layout:auto;font-size:8pt}
.ci-table.ci-table.ci-many-columns{font-size:6.5pt}
.ci-table.ci-table th,.ci-table.ci-table td{white-space:normal!important;overflow-wrap:break-word;min-width:0!important;max-width:none!important;padding:2px 3px}
.ci-table.ci-table td.num{white-space:nowrap!important}.ci-table.ci-table td.ci-wrap{overflow-wrap:anywhere}
.ci-table.ci-table.ci-many-columns th{overflow-wrap:anywhere}
.ci-table thead{display:table-header-group}.ci-table-wrap .ci-table thead th,.ci-table caption{position:static}
.ci-table tr,figure.ci-chart{break-inside:avoid}
pre{white-space:pre-wrap;overflow-wrap:anywhere}
}
</style>
"""

SORT_JS = """
<script>
document.querySelectorAll('table.sortable').forEach(function (table) {
  var box = document.createElement('input');
  box.className = 'ci-filter'; box.placeholder = 'Filter rows...';
  table.parentNode.insertBefore(box, table);
  var rows = function () { return Array.prototype.slice.call(table.tBodies[0].rows); };
  box.addEventListener('input', function () {
    var q = box.value.toLowerCase();
    rows().forEach(function (r) { r.style.display = r.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none'; });
  });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
    var ascending = false;
    th.addEventListener('click', function () {
      ascending = !ascending;
      var key = function (r) { var c = r.cells[i]; var v = c.getAttribute('data-value');
        return v === null ? c.textContent : parseFloat(v); };
      rows().sort(function (a, b) { var x = key(a), y = key(b);
        var d = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
        return ascending ? d : -d; }).forEach(function (r) { table.tBodies[0].appendChild(r); });
    });
  });
});
</script>
"""

_REMOTE = re.compile(r"<script[^>]+src=\"https?://[^\"]*\"[^>]*>\s*</script>|<link[^>]+href=\"https?://[^\"]*\"[^>]*>",
                     re.IGNORECASE)


def nav_html(chapters: list[str], current: str | None) -> str:
    links = ['<a href="index.html"%s>%s</a>' % (' class="current"' if current is None else "", html.escape(t("Summary")))]
    for chapter in chapters:
        cls = ' class="current"' if chapter == current else ""
        links.append(f'<a href="{chapter}.html"{cls}>{html.escape(chapter_title(chapter))}</a>')
    return f'<nav class="ci-nav">{"".join(links)}</nav>'


def _finish_page(page: str, nav: str) -> str:
    page = _REMOTE.sub("", page)
    page = re.sub(r"<html(?![^>]*\blang=)", f'<html lang="{current_language()}"', page, count=1)
    page = page.replace("</head>", REPORT_CSS + "</head>", 1)
    page = re.sub(r"(<body[^>]*>)", r"\1" + nav.replace("\\", "\\\\"), page, count=1)
    return page.replace("</body>", SORT_JS + "</body>", 1)


def _exporter() -> HTMLExporter:
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    exporter.require_js_url = ""
    exporter.mathjax_url = ""
    exporter.jquery_url = ""
    exporter.mermaid_js_url = ""
    exporter.mermaid_layout_elk_js_url = ""
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"parameters", "injected-parameters"}, enabled=True), enabled=True)
    return exporter


def render_chapter(notebook_path: Path, html_path: Path, chapter: str, chapters: list[str], report_title: str) -> None:
    """The executed notebook as a code-free HTML page."""
    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:  # the chapter's own text in the report's language (its catalog entry)
        if cell.cell_type == "markdown":
            cell.source = t(cell.source)
    title = f"{chapter_title(chapter)} · {t(report_title)}"
    body, _ = _exporter().from_notebook_node(notebook, resources={"metadata": {"name": title}})
    page = _finish_page(body, nav_html(chapters, chapter))
    if interactive.uses_script(page):  # Plotly's script once in the report folder, linked by its relative path
        interactive.write_script(RunLayout(html_path.parent))
        page = interactive.link_script(page)
    html_path.write_text(page, encoding="utf-8")


def failed_cell(notebook_path: Path) -> tuple[str, str, str]:
    """(error name, error message, source of the cell that raised) of an executed notebook."""
    if not notebook_path.exists():
        return "", "", ""
    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return output.get("ename", ""), output.get("evalue", ""), cell.get("source", "")
    return "", "", ""


def render_error_page(html_path: Path, chapter: str, chapters: list[str], report_title: str, error: str,
                      notebook_path: Path) -> None:
    """A page that says the chapter failed, with the error and the cell that raised it."""
    ename, evalue, source = failed_cell(notebook_path)
    title = f"{chapter_title(chapter)} · {t(report_title)}"
    message = f"{ename}: {evalue}" if ename else error
    raised, failed, unaffected = (html.escape(t("The cell that raised it")), html.escape(t("This chapter failed to run.")),
                                  html.escape(t("The other chapters are unaffected. Error:")))
    cell = (f"<h3>{raised}</h3><pre>{html.escape(source)}</pre>" if source else "")
    notebook = f"<code>analyst/notebooks/{html.escape(chapter)}.ipynb</code>"
    where = html.escape(t("The executed notebook with the full traceback is in {notebook} of this report folder."))
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
            f"<h1>{html.escape(title)}</h1><div class='ci-error'><p><strong>{failed}"
            f"</strong> {unaffected}</p><pre>{html.escape(message)}</pre>"
            f"</div>{cell}<p>{where.replace('{notebook}', notebook)}</p></body></html>")
    html_path.write_text(_finish_page(page, nav_html(chapters, chapter)), encoding="utf-8")


def _findings(artifacts: Path, chapter: str) -> list[dict]:
    path = artifacts / f"findings_{chapter}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def _status_class(step: dict) -> str:
    if step["status"] != "ok" or step.get("sections_failed"):
        return "failed"
    return "partial" if step.get("sections_not_available") else "ok"


def _status_text(step: dict) -> str:
    """"ok", "ok, 2 sections not available", "1 section failed" or "failed"."""
    return step.get("sections_summary", step["status"]) if step["status"] == "ok" else step["status"]


def _status_row(step: dict, title: str) -> str:
    esc = html.escape
    seconds = t("{seconds} s", seconds=f"{step['seconds']:.1f}")
    return (f"<tr><td><a href='{esc(step['name'])}.html'>{esc(title)}</a></td>"
            f"<td class='ci-status-{_status_class(step)}'>{esc(_status_text(step))}</td>"
            f"<td class='num'>{esc(seconds)}</td></tr>")


def render_index(root: Path, report_title: str, company: str, scope: list[tuple[str, str]], steps: list[dict],
                 chapters: list[str], top_actions: list[str], findings_per_chapter: int = 3, *,
                 quarter: str | None = None, currency: str = "¥", kpi_trend: pd.DataFrame | None = None) -> Path:
    """The summary page. First the executive block a director reads (``helpers.report.executive``:
    KPI scorecard with ``kpi_trend`` sparklines, main stories, top actions from actions.csv, with
    ``top_actions`` as a plain list only when it lacks the table's columns, and what changed since
    last quarter); then the chapters with their status and key findings, the data scope and the files."""
    esc = html.escape
    layout = RunLayout(root)
    titles = {chapter: chapter_title(chapter) for chapter in chapters}
    top = executive.executive_html(executive.read_evidence(root), quarter, currency, titles, chapters, kpi_trend,
                                   top_actions)
    scope_rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in scope)
    summary = []
    for chapter in chapters:
        items = _findings(layout.artifacts, chapter)[:findings_per_chapter]
        if items:
            bullets = "".join(f"<li>{executive.inline_html(item['text'])}</li>" for item in items)
            summary.append(f"<h3><a href='{chapter}.html'>{esc(titles[chapter])}</a></h3>"
                           f"<ul>{bullets}</ul>")
    key_findings, no_findings = esc(t("Key findings of each chapter")), esc(t("No findings were recorded."))
    findings = (f"<details><summary>{key_findings}</summary>{''.join(summary)}</details>"
                if summary else f"<p>{no_findings}</p>")
    status_rows = "".join(_status_row(step, titles[step["name"]]) for step in steps if step["name"] in chapters)

    analyst = getattr(layout, "analyst", None)  # the run's folder kept for the analyst: named, never linked

    def file_link(path: Path) -> str:
        if analyst is not None and analyst in path.parents:
            return f"<code>{esc(path.relative_to(root).as_posix())}</code>"
        return f"<a href='{esc(path.relative_to(root).as_posix())}'><code>{esc(path.name)}</code></a>"

    def file_links(folder: Path) -> str:
        return "".join(f"<li>{file_link(p)}</li>" for p in sorted(folder.glob("*.csv")))

    words = {"chapters": t("Chapters"), "chapter": t("Chapter"), "status": t("Status"), "run_time": t("Run time"),
             "scope": t("Data scope"), "tables": t("Tables for the teams (CSV)"),
             "set_aside": t("Rows set aside during cleaning"), "none": t("none")}
    words = {key: esc(text) for key, text in words.items()}
    details = esc(t("Run details (parameters, input hashes, versions, timings): {file}.")).replace(
        "{file}", file_link(layout.manifest))
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(t(report_title))}</title>"
        f"{executive.EXECUTIVE_CSS}</head><body><h1>{esc(t(report_title))}</h1><p>{esc(t(company))}</p>{top}"
        f"<h2>{words['chapters']}</h2><table class='ci-table'><thead><tr><th>{words['chapter']}</th>"
        f"<th>{words['status']}</th><th class='num'>{words['run_time']}</th></tr></thead><tbody>{status_rows}</tbody>"
        f"</table>{findings}<h2>{words['scope']}</h2><table class='ci-table'>{scope_rows}</table>"
        f"<h2>{words['tables']}</h2><ul class='ci-files'>{file_links(layout.artifacts)}</ul>"
        f"<h2>{words['set_aside']}</h2><ul class='ci-files'>"
        f"{file_links(layout.quarantine) or '<li>' + words['none'] + '</li>'}</ul>"
        f"<p class='ci-note'>{details}</p></body></html>")
    path = root / "index.html"
    path.write_text(_finish_page(page, nav_html(chapters, None)), encoding="utf-8")
    return path
