import ast
import json
import re

import pytest
import yaml
from pydantic import ValidationError

from helpers import paths
from helpers.chapters import churn
from helpers.params import (
    BehaviourOptions,
    ChapterOptions,
    NeedsOptions,
    OverviewOptions,
    ParameterError,
    Params,
    ValueOptions,
    deep_merge,
    load_params,
)


def write(tmp_path, data, name="p.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_defaults_load_and_quarter_file_merges():
    params = load_params(quarter="2026Q2")
    assert params.quarter == "2026Q2"
    assert params.churn_inactivity_days == 90
    assert params.min_group_size == 5
    assert set(params.sources) == {"customers", "orders", "products", "tickets", "surveys", "events", "campaigns"}


def test_params_file_overrides_and_brings_own_sources(tmp_path):
    path = write(tmp_path, {"quarter": "2011Q3", "churn_inactivity_days": 120,
                            "sources": {"orders": {"files": "x.csv", "columns": {"order_id": "InvoiceNo"}}}})
    params = load_params(params_file=path)
    assert params.quarter == "2011Q3"
    assert params.churn_inactivity_days == 120
    assert list(params.sources) == ["orders"]  # replaces the default mapping instead of merging into it
    assert params.sources["orders"].files == ["x.csv"]


# ----------------------------------------------------------------------------- KPI targets
DEMO_TARGETS = {"new_customers": 400, "active_customers": 2000, "revenue": 18_000_000, "average_order_value": 3200,
                "retention_30d": 0.30, "repeat_purchase_rate": 0.55, "churn_rate": 0.30, "nps": 25, "csat": 0.75}
NO_TARGETS = dict.fromkeys(DEMO_TARGETS)


def test_default_yaml_holds_no_company_targets():
    written = yaml.safe_load(paths.DEFAULT_PARAMS_FILE.read_text(encoding="utf-8"))["kpi_targets"]
    assert written == NO_TARGETS   # every KPI listed, none with a value


def test_the_demo_gets_the_demo_targets():
    # run_all.py without arguments and a notebook opened on its defaults both read data/demo
    assert load_params().kpi_targets.model_dump() == DEMO_TARGETS
    assert load_params(quarter="2026Q2").kpi_targets.model_dump() == DEMO_TARGETS   # with a quarter's file
    assert load_params(data_dir="data/demo").kpi_targets.revenue == 18_000_000


def test_a_user_data_folder_gets_no_targets(tmp_path):
    assert load_params(data_dir=str(tmp_path)).kpi_targets.model_dump() == NO_TARGETS       # --data
    path = write(tmp_path, {"quarter": "2026Q2", "data_dir": str(tmp_path)})
    assert load_params(params_file=path).kpi_targets.model_dump() == NO_TARGETS             # --params
    # a company's own targets are its own, with nothing of the demo's filled in around them
    own = write(tmp_path, {"data_dir": str(tmp_path), "kpi_targets": {"revenue": 500_000}}, "own.yaml")
    assert load_params(params_file=own).kpi_targets.model_dump() == {**NO_TARGETS, "revenue": 500_000}


def test_own_targets_win_over_the_demo_targets(tmp_path):
    # on the demo data a file's target replaces only that one demo target
    path = write(tmp_path, {"kpi_targets": {"nps": 40, "revenue": None}})
    assert load_params(params_file=path).kpi_targets.model_dump() == {**DEMO_TARGETS, "nps": 40, "revenue": None}


def test_unknown_key_is_named(tmp_path):
    path = write(tmp_path, {"churn_days": 90})
    with pytest.raises(ParameterError, match="unknown key 'churn_days'"):
        load_params(params_file=path)


def test_negative_churn_window_says_what_is_allowed(tmp_path):
    path = write(tmp_path, {"churn_inactivity_days": -5})
    with pytest.raises(ParameterError, match="churn_inactivity_days: Input should be greater than 0"):
        load_params(params_file=path)


def test_wrong_type_is_named(tmp_path):
    path = write(tmp_path, {"min_group_size": "five"})
    with pytest.raises(ParameterError, match="min_group_size"):
        load_params(params_file=path)


def test_unknown_canonical_column_in_mapping(tmp_path):
    path = write(tmp_path, {"sources": {"orders": {"files": "o.csv", "columns": {"amout": "Amount"}}}})
    with pytest.raises(ParameterError, match=r"unknown canonical column\(s\) \['amout'\]"):
        load_params(params_file=path)


def test_orders_source_required(tmp_path):
    path = write(tmp_path, {"sources": {"customers": {"files": "c.csv"}}})
    with pytest.raises(ParameterError, match="'orders' source is required"):
        load_params(params_file=path)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_params(params_file=tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("quarter: [2026Q3", encoding="utf-8")
    with pytest.raises(ParameterError, match="not valid YAML"):
        load_params(params_file=bad)


def test_deep_merge_nested():
    assert deep_merge({"a": {"x": 1, "y": 2}, "b": 1}, {"a": {"y": 3}}) == {"a": {"x": 1, "y": 3}, "b": 1}


# ----------------------------------------------------------------------------- chapter options
CHAPTER_MODELS = {
    "01_overview": OverviewOptions,
    "02_needs": NeedsOptions,
    "03_behaviour": BehaviourOptions,
    "04_value": ValueOptions,
}
CHAPTER_NOTEBOOKS = ("01_overview", "02_needs", "03_behaviour", "04_value", "05_crm_recommendations")


def test_chapter_options_are_typed_and_default_to_the_models():
    options = load_params(quarter="2026Q3").chapter_options
    assert isinstance(options, ChapterOptions)
    assert options.overview == OverviewOptions() and options.value == ValueOptions()
    assert options.behaviour.retention_windows == (30, 90) and options.value.holdout_weeks == 26
    with pytest.raises(ValidationError):
        options.value.holdout_weeks = 13  # frozen: a chapter cannot change its options


def test_a_chapter_option_from_a_file_replaces_only_that_option(tmp_path):
    path = write(tmp_path, {"chapter_options": {"04_value": {"holdout_weeks": 13}}})
    options = load_params(params_file=path).chapter_options
    assert options.value.holdout_weeks == 13
    assert options.value.clv_horizon_months == ValueOptions().clv_horizon_months
    assert options.behaviour == BehaviourOptions()


@pytest.mark.parametrize(
    "chapter, misspelt",
    [("01_overview", "top_fractoin"), ("02_needs", "trend_quarter"), ("03_behaviour", "min_suport"),
     ("04_value", "holdout_week")],
)
def test_misspelt_chapter_option_is_named(tmp_path, chapter, misspelt):
    path = write(tmp_path, {"chapter_options": {chapter: {misspelt: 13}}})
    message = f"unknown key 'chapter_options.{chapter}.{misspelt}': remove it or fix its spelling"
    with pytest.raises(ParameterError, match=re.escape(message)):
        load_params(params_file=path)


@pytest.mark.parametrize("chapter", ["05_crm_recommendations", "04_values", "value"])
def test_unknown_chapter_is_named(tmp_path, chapter):
    # Files name chapters as the notebooks do; the attribute names used in code are not accepted there.
    path = write(tmp_path, {"chapter_options": {chapter: {"holdout_weeks": 13}}})
    with pytest.raises(ParameterError, match=re.escape(f"unknown key 'chapter_options.{chapter}'")):
        load_params(params_file=path)


@pytest.mark.parametrize(
    "chapter, key, value, where",
    [
        ("01_overview", "top_fraction", 1.5, "top_fraction"),
        ("01_overview", "trend_quarters", "eight", "trend_quarters"),
        ("02_needs", "extreme_fraction", 0.7, "extreme_fraction"),
        ("02_needs", "topics_per_language", 1, "topics_per_language"),
        ("03_behaviour", "min_support", 2, "min_support"),
        ("03_behaviour", "retention_windows", [30, -1], "retention_windows.1"),
        ("03_behaviour", "retention_windows", [], "retention_windows"),
        ("03_behaviour", "high_risk_threshold", 1, "high_risk_threshold"),
        ("04_value", "holdout_weeks", 0, "holdout_weeks"),
        ("04_value", "clv_model", "magic", "clv_model"),
        ("04_value", "monthly_discount_rate", 1.0, "monthly_discount_rate"),
        ("04_value", "value_tier_quantiles", [0.8, 0.5], "value_tier_quantiles"),
        ("04_value", "penalizers", [0.0, -0.1], "penalizers"),
    ],
)
def test_wrong_type_or_range_of_a_chapter_option_is_named(tmp_path, chapter, key, value, where):
    path = write(tmp_path, {"chapter_options": {chapter: {key: value}}})
    with pytest.raises(ParameterError, match=re.escape(f"- chapter_options.{chapter}.{where}: ")):
        load_params(params_file=path)


@pytest.mark.parametrize(
    "chapter, given, named",
    [("02_needs", {"complaint_run_months": 4}, "complaint_run_months"),
     ("04_value", {"cluster_k_min": 7}, "cluster_k_min")],
)
def test_options_that_contradict_each_other_are_named(tmp_path, chapter, given, named):
    path = write(tmp_path, {"chapter_options": {chapter: given}})
    with pytest.raises(ParameterError, match=rf"- chapter_options\.{chapter}: .*{named}"):
        load_params(params_file=path)


def test_default_yaml_repeats_the_model_defaults():
    written = yaml.safe_load(paths.DEFAULT_PARAMS_FILE.read_text(encoding="utf-8"))["chapter_options"]
    assert set(written) == set(CHAPTER_MODELS)
    for chapter, model in CHAPTER_MODELS.items():
        assert list(written[chapter]) == list(model.model_fields), f"{chapter}: list every option, in the model's order"
        assert model(**written[chapter]) == model(), f"{chapter}: default.yaml differs from the model"
        # Same values, not only after coercion (50 for 50.0 is fine, "26" for 26 is not).
        for key, value in written[chapter].items():
            default = getattr(model(), key)
            assert (list(default) if isinstance(default, tuple) else default) == value, f"{chapter}.{key}"


def test_resolved_parameters_read_back_unchanged():
    # params.json of a run folder is what chapters read; the chapter names must survive the round trip.
    params = load_params(quarter="2026Q3", params_file=None)
    dumped = json.loads(params.model_dump_json())
    assert list(dumped["chapter_options"]) == list(CHAPTER_MODELS)
    assert Params.model_validate_json(params.model_dump_json()) == params


def test_churn_reason_themes_file_of_the_defaults_loads():
    themes = churn.load_churn_reason_themes(ChapterOptions().behaviour.churn_reason_themes_file)
    assert list(themes["theme"]) == ["price", "delivery", "quality", "service", "usability", "billing", "competitor"]
    assert "hard to use" in themes.set_index("theme").loc["usability", "en"]


def test_churn_reason_theme_without_keywords_is_named(tmp_path):
    path = write(tmp_path, {"churn_reasons": {"price": {"en": ["price"]}, "speed": {"en": []}}})
    with pytest.raises(ValueError, match="churn reason 'speed' lists no English"):
        churn.load_churn_reason_themes(path)
    with pytest.raises(ValueError, match="churn_reasons"):
        churn.load_churn_reason_themes(write(tmp_path, {"themes": {}}, "other.yaml"))


def _code_cells(chapter: str) -> list[str]:
    """The Python of each code cell; the ``%%section <key>`` magic line that opens a cell is not Python."""
    notebook = json.loads(paths.notebook_path(chapter).read_text(encoding="utf-8"))
    sources = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    return [source.partition("\n")[2] if source.startswith("%%") else source for source in sources]


# Literal numbers a chapter may pass: how many rows a table shows.
DISPLAY_SIZES = {"head", "nlargest", "max_rows", "decimals", "fmt_pct", "fmt_num", "fmt_money", "fmt_pp", "fmt_change"}


@pytest.mark.parametrize("chapter", CHAPTER_NOTEBOOKS)
def test_notebooks_take_chapter_options_from_the_model(chapter):
    option_names = {name for model in CHAPTER_MODELS.values() for name in model.model_fields}
    text_defaults = {
        value for model in CHAPTER_MODELS.values() for value in model().model_dump().values() if isinstance(value, str)
    }
    problems = []
    for source in _code_cells(chapter):
        if ".option(" in source or "chapter_options[" in source or "chapter_options.get" in source:
            problems.append("reads an option by name instead of P.chapter_options.<chapter>.<option>")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call):
                called = node.func.attr if isinstance(node.func, ast.Attribute) else ast.unparse(node.func)
                given = [(called, arg) for arg in node.args] + [(keyword.arg, keyword.value) for keyword in node.keywords]
                for name, arg in given:
                    if not isinstance(arg, ast.Constant) or isinstance(arg.value, bool):
                        continue
                    if isinstance(arg.value, (int, float)) and name not in DISPLAY_SIZES:
                        problems.append(f"{ast.unparse(node)[:80]}: literal {arg.value!r}")
                    elif isinstance(arg.value, str) and arg.value in text_defaults:
                        problems.append(f"{ast.unparse(node)[:80]}: literal {arg.value!r}")
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                named = [target.id for target in node.targets if isinstance(target, ast.Name)]
                problems += [f"{name} = {node.value.value!r}" for name in named if name in option_names]
    assert not problems, f"{chapter}: " + "; ".join(problems)


@pytest.mark.parametrize("chapter", list(CHAPTER_MODELS))
def test_every_chapter_option_is_read(chapter):
    # An option nothing reads is as silent as a misspelt one.
    code = "\n".join(_code_cells(chapter)) + "\n".join(
        path.read_text(encoding="utf-8") for path in (paths.PROJECT_ROOT / "src" / "helpers").glob("*.py")
        if path.name != "params.py")
    unread = [name for name in CHAPTER_MODELS[chapter].model_fields if f".{name}" not in code]
    assert not unread, f"{chapter}: no notebook or helper reads {unread}"


# ----------------------------------------------------------------------------- engine of the customer facts
def test_customer_facts_run_on_duckdb_unless_spark_is_chosen(tmp_path):
    params = load_params(quarter="2026Q3")
    assert (params.facts_engine, params.spark_master, params.spark_input_path) == ("duckdb", "local[1]", None)
    local = load_params(params_file=write(tmp_path, {"facts_engine": "spark", "spark_master": "local[2]"}))
    assert (local.facts_engine, local.spark_master, local.spark_input_path) == ("spark", "local[2]", None)
    with pytest.raises(ParameterError, match=r"- facts_engine: Input should be 'duckdb' or 'spark' \(got 'flink'\)"):
        load_params(params_file=write(tmp_path, {"facts_engine": "flink"}))


def test_a_cluster_master_needs_a_shared_spark_input_folder(tmp_path):
    with pytest.raises(ParameterError, match="spark_master 'yarn' runs on other machines: set spark_input_dir"):
        load_params(params_file=write(tmp_path, {"facts_engine": "spark", "spark_master": "yarn"}))
    cluster = {"facts_engine": "spark", "spark_master": "spark://host:7077"}
    on_hdfs = load_params(params_file=write(tmp_path, {**cluster, "spark_input_dir": "hdfs://nn:8020/tmp/facts"}))
    assert on_hdfs.spark_input_path == "hdfs://nn:8020/tmp/facts"  # a URL as written
    mounted = load_params(params_file=write(tmp_path, {**cluster, "spark_input_dir": "shared/spark"}))
    assert mounted.spark_input_path == paths.PROJECT_ROOT / "shared" / "spark"  # relative: to the project
