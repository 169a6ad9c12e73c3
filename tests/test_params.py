import pytest
import yaml

from helpers.params import ParameterError, deep_merge, load_params


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
