"""The chapter registry is what the notebooks do: the tables they read, the artifacts they write
and the artifacts they read from earlier chapters."""
import re

import nbformat
import pytest

from helpers import paths
from helpers.chapters import diagnosis
from helpers.report import registry
from helpers.report.runner import chapter_groups, select_chapters


def notebook_code(chapter: str) -> str:
    nb = nbformat.read(paths.notebook_path(chapter), as_version=4)
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("spec", registry.CHAPTER_SPECS, ids=lambda s: s.name)
def test_each_notebook_reads_and_writes_what_the_registry_says(spec):
    code = notebook_code(spec.name)
    tables = set(re.findall(r'ch\.table\("(\w+)"\)', code))
    if "diagnosis.Evidence.from_chapter(ch)" in code:
        tables |= set(diagnosis.EVIDENCE_TABLES)
    assert tables == set(spec.sources)
    assert set(re.findall(r'ch\.save\(.*?"([\w.]+\.csv)"\)', code)) == set(spec.writes)
    read_back = set(re.findall(r'artifact\(([^)]*)\)', code))
    names = {name for call in read_back for name in re.findall(r'"([\w.]+\.csv)"', call)}
    assert names <= set(spec.reads)


def test_reads_are_written_by_an_earlier_chapter():
    order = list(registry.CHAPTERS)
    for spec in registry.CHAPTER_SPECS:
        for artifact in spec.reads:
            assert order.index(registry.writer_of(artifact).name) < order.index(spec.name), artifact
    assert set(diagnosis.EVIDENCE_ARTIFACTS) <= set(registry.chapter_spec("05_crm_recommendations").reads)


def test_no_two_chapters_write_the_same_artifact():
    written = [a for spec in registry.CHAPTER_SPECS for a in spec.writes]
    assert len(written) == len(set(written))


def test_runner_order_and_side_by_side_groups_come_from_the_registry():
    assert select_chapters(None) == list(registry.CHAPTERS)
    groups = chapter_groups(list(registry.CHAPTERS), 2)
    assert groups[0] == [s.name for s in registry.CHAPTER_SPECS if s.side_by_side]
    with pytest.raises(ValueError, match="unknown chapter '06_x'"):
        registry.chapter_spec("06_x")


@pytest.mark.parametrize("spec", registry.CHAPTER_SPECS, ids=lambda s: s.name)
def test_every_code_cell_is_a_section_of_the_registry_in_its_order(spec):
    nb = nbformat.read(paths.notebook_path(spec.name), as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"][2:]  # after parameters and setup
    keys = [re.match(r"%%section (\w+)\n", source).group(1) for source in cells if source != "ch.finish()"]
    assert keys == [s.key for s in registry.SECTIONS[spec.name]]
    assert cells[-1] == "ch.finish()"
    for section in registry.SECTIONS[spec.name]:
        assert set(section.sources) | set(section.any_source) | set(section.columns) <= set(spec.sources)
        assert set(section.artifacts) <= set(spec.reads)
        assert set(section.after) < {s.key for s in registry.SECTIONS[spec.name]}
