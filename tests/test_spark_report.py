"""The whole report with the customer facts computed by Spark (local mode): the same report as with DuckDB."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import yaml
from conftest import run_report, skip_without_spark

from helpers.demo.generator import generate, write
from helpers.facts import customer_facts
from helpers.paths import RunLayout

pytestmark = pytest.mark.slow

# Files of a report folder that differ between two runs of the same inputs, by name (relative to the
# folder), and why. Everything else must be byte-identical.
DIFFERENT_BY_NATURE = {
    "analyst/manifest.json": "the run's start, its timings and its parameters (the engine)",
    "analyst/params.json": "the run's parameters: facts_engine",
    "analyst/run.json": "the outputs folder of the run",
    "analyst/prepared/prepare_log.json": "the preparation's timings (compared without them below)",
    "index.html": "the timings of the run's steps",
    "04_value.html": "the seconds each CLV model took to fit, in its table of model fits",
}
# Executed notebooks hold each cell's execution times.
DIFFERENT_FOLDERS = ("analyst/notebooks/",)
TIMINGS = ("seconds", "timings")  # the keys of prepare_log.json that are timings
# In the other pages, two things differ by nature and are masked: the engine in the run's
# parameters that a page lists, and the ids nbformat draws at random for cells that have none.
BY_NATURE_IN_PAGES = (re.compile(rb'"facts_engine": "(duckdb|spark)"'), re.compile(rb'id="cell-id=[0-9a-f]+"'))


def _masked(name: str, content: bytes) -> bytes:
    if name.endswith(".html"):
        for pattern in BY_NATURE_IN_PAGES:
            content = pattern.sub(b"(masked)", content)
    return content


def _params_file(folder, **settings):
    path = folder / f"{settings.get('facts_engine', 'default')}.yaml"
    # The as-of day fixed, so that the runs do not depend on the day they run on.
    path.write_text(yaml.safe_dump({"quarter": "2026Q3", "data_as_of": "2026-10-15", **settings}), encoding="utf-8")
    return path


def _report(data, out, params) -> tuple[RunLayout, str]:
    result = run_report("--quarter", "2026Q3", "--data", str(data), "--out", str(out), "--params", str(params),
                        pdf=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    folders = [p for p in (out / "2026Q3").iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1
    return RunLayout(folders[0]), result.stdout


def _files(layout: RunLayout) -> dict[str, bytes]:
    return {path.relative_to(layout.root).as_posix(): path.read_bytes()
            for path in sorted(layout.root.rglob("*")) if path.is_file()}


def test_spark_gives_the_report_duckdb_gives(tmp_path):
    skip_without_spark()
    data = tmp_path / "data"
    write(generate(customers=200, seed=31, end="2026-09-30"), data)
    duckdb, _ = _report(data, tmp_path / "duckdb", _params_file(tmp_path))
    spark, printed = _report(data, tmp_path / "spark", _params_file(tmp_path, facts_engine="spark"))

    # The Spark run says and records what computed its facts.
    assert "customer facts as of 2026-09-30 (spark at local[1])" in printed
    manifest = json.loads(spark.manifest.read_text(encoding="utf-8"))
    assert (manifest["parameters"]["facts_engine"], manifest["parameters"]["spark_master"]) == ("spark", "local[1]")
    assert json.loads(duckdb.manifest.read_text(encoding="utf-8"))["parameters"]["facts_engine"] == "duckdb"

    # The same facts, as frames: three as-of days, one row per customer with an order line by each.
    facts = [pd.read_parquet(layout.prepared / customer_facts.FACTS_FILE) for layout in (duckdb, spark)]
    pd.testing.assert_frame_equal(facts[0], facts[1], check_exact=True)
    days = facts[0]["as_of"].drop_duplicates().dt.strftime("%Y-%m-%d").tolist()
    assert days == ["2026-09-30", "2026-06-30", "2025-09-30"]
    assert 150 < (facts[0]["as_of"] == "2026-09-30").sum() <= 200
    assert facts[0]["purchase_value_365d"].sum() > 0 and facts[0]["sessions_90d"].sum() > 0

    # The Spark input, written only by the Spark run, is not in the DuckDB report.
    duckdb_files, spark_files = _files(duckdb), _files(spark)
    spark_input = {name for name in spark_files if name.startswith("analyst/prepared/spark_input/")}
    assert {name.rsplit("/", 1)[1] for name in spark_input} == {"orders.parquet", "tickets.parquet",
                                                                 "surveys.parquet", "events.parquet"}
    spark_files = {name: content for name, content in spark_files.items() if name not in spark_input}

    # Every other file: the same names, and the same bytes but for those that differ by nature.
    assert sorted(duckdb_files) == sorted(spark_files)
    compared = [name for name in duckdb_files
                if name not in DIFFERENT_BY_NATURE and not name.startswith(DIFFERENT_FOLDERS)]
    assert sum(name.startswith("artifacts/") for name in compared) > 40
    assert sum(name.startswith("analyst/artifacts/") for name in compared) >= 4
    assert {"analyst/prepared/customer_facts.parquet", "analyst/prepared/orders.parquet",
            "analyst/quarantine/orders.csv", "05_crm_recommendations.html"} <= set(compared)
    different = [name for name in compared if _masked(name, duckdb_files[name]) != _masked(name, spark_files[name])]
    assert not different, f"differ between the DuckDB and the Spark run: {different}"

    # The engine mask is needed: the pages list the run's parameters.
    assert any(b'"facts_engine": "spark"' in spark_files[name] for name in compared if name.endswith(".html"))

    untimed = [{key: value for key, value in json.loads(layout.prepared.joinpath("prepare_log.json").read_text(
        encoding="utf-8")).items() if key not in TIMINGS} for layout in (duckdb, spark)]
    assert untimed[0] == untimed[1]
