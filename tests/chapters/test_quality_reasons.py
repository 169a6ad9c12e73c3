"""Chapter 00's cleaning table shows each rule's reason and action in the report's language; the log keeps English."""
import pytest

from helpers.chapters import quality
from helpers.data.cleaning import RULE_DESCRIPTIONS
from helpers.report import i18n

DUPLICATE = RULE_DESCRIPTIONS["exact_duplicate"]
LOG = {"cleaning": [
    {"source": "orders", "rule": "exact_duplicate", "action": "removed", "rows": 5, "examples": "o1", "description": DUPLICATE},
    {"source": "orders", "rule": "new_rule", "action": "removed", "rows": 2, "examples": "o9", "description": "a reason not listed"},
]}


@pytest.fixture
def chinese(monkeypatch):
    # A two-entry catalog stands in for the merged one.
    catalog = {"removed": "已剔除", DUPLICATE: "与之前某行完全相同的副本（例如同步产生的重复）"}
    monkeypatch.setattr(i18n, "messages", lambda language: {} if language == i18n.ENGLISH else catalog)
    i18n.set_language("zh-CN")
    yield
    i18n.set_language("en")


def test_every_cleaning_reason_has_a_label_and_english_is_unchanged():
    labels = quality.reason_labels()
    assert set(RULE_DESCRIPTIONS.values()) <= set(labels)
    assert all(labels[reason] == reason for reason in RULE_DESCRIPTIONS.values())
    table = quality.cleaning_table(LOG)
    assert table["description"].tolist() == [DUPLICATE, "a reason not listed"]
    assert table["action"].tolist() == ["removed", "removed"]


def test_the_table_translates_reasons_and_actions_and_leaves_the_log_in_english(chinese):
    table = quality.cleaning_table(LOG)
    # the listed reason and the action are translated; a reason without a label is shown as logged
    assert table["description"].tolist() == ["与之前某行完全相同的副本（例如同步产生的重复）", "a reason not listed"]
    assert table["action"].tolist() == ["已剔除", "已剔除"]
    assert LOG["cleaning"][0]["description"] == DUPLICATE and LOG["cleaning"][0]["action"] == "removed"
