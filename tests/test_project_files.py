"""Project hygiene: notebooks committed clean and thin, environment.yml in step with the lock."""
import json
import os
import re
import tomllib

import pytest
import yaml

from helpers import paths
from helpers.report.registry import CHAPTERS

NOTEBOOKS = [paths.notebook_path(c) for c in CHAPTERS]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_committed_without_outputs_and_with_parameters(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "strip the outputs"
    parameters = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(parameters) == 1
    source = "".join(parameters[0]["source"])
    assert re.search(r'^quarter = "\d{4}Q[1-4]"$', source, re.M)
    assert 'run_dir = ""' in source and 'params_file = ""' in source
    # Thin notebooks: logic lives in src/helpers, never in a notebook.
    assert not any(re.search(r"^\s*def |^\s*class ", "".join(c["source"]), re.M) for c in code)
    assert f'open_chapter("{notebook.stem}"' in "".join("".join(c["source"]) for c in code)


def test_environment_yml_installs_the_lock():
    env = yaml.safe_load((paths.PROJECT_ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert "-r requirements.lock" in pip_section and "-e ." in pip_section


def test_lock_pins_every_declared_dependency():
    lock = {}
    for line in (paths.PROJECT_ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"unpinned line in requirements.lock: {line}"
            lock[name.lower().replace("_", "-")] = version
    project = tomllib.loads((paths.PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    for requirement in declared:
        name = re.split(r"[<>=\[ ]", requirement)[0].lower().replace("_", "-")
        assert name in lock, f"{name} is declared in pyproject.toml but not pinned in requirements.lock"


def test_no_generated_data_committed():
    ignored = (paths.PROJECT_ROOT / ".gitignore").read_text()
    assert "data/demo/" in ignored and "outputs/" in ignored


def test_readme_lists_every_canonical_column():
    from helpers.data.schema import SOURCES

    readme = (paths.PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.lstrip().startswith("# Customer Insights")
    assert readme.index("make report") < readme.index("make test") < readme.index("## ")
    for name, source in SOURCES.items():
        assert f"**{name}**" in readme
        for column in source.columns:
            assert f"| `{column.name}` |" in readme, f"{name}.{column.name} missing from README"


def test_under_make_test_each_test_carries_its_group_to_the_worker_scheduler(request):
    """``make test`` runs ``-n 2 --dist loadgroup``: xdist sends the tests of one group (conftest:
    a test file, the demo report, an export shape's report) to one worker only when the group
    reaches the test's id. Where it does not (pytest 9 with pytest-xdist 3.8), both workers
    build every shared report."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        pytest.skip("not run by pytest-xdist")
    assert request.node.nodeid.endswith("@tests/test_project_files.py")
