import datetime as dt

import pytest

from helpers import runner
from helpers.params import ParameterError


def test_chapter_selection_by_number_or_name_in_report_order():
    assert runner.select_chapters("04,1") == ["01_overview", "04_value"]
    assert runner.select_chapters("05_crm_recommendations,00") == ["00_data_quality", "05_crm_recommendations"]
    assert len(runner.select_chapters(None)) == 6
    with pytest.raises(ParameterError, match="unknown chapter '9'"):
        runner.select_chapters("9")


def test_groups_run_01_to_04_side_by_side_only_when_asked():
    chapters = runner.select_chapters(None)
    assert runner.chapter_groups(chapters, 1) == [[c] for c in chapters]
    assert runner.chapter_groups(chapters, 2) == [["00_data_quality"],
                                                  ["01_overview", "02_needs", "03_behaviour", "04_value"],
                                                  ["05_crm_recommendations"]]
    assert runner.chapter_groups(["02_needs", "05_crm_recommendations"], 4) == [["02_needs"], ["05_crm_recommendations"]]


def test_final_folder_never_reuses_a_name(tmp_path):
    day = dt.date(2026, 11, 23)
    assert runner.final_folder(tmp_path, day).name == "2026-11-23"
    (tmp_path / "2026-11-23").mkdir()
    (tmp_path / "2026-11-23-2").mkdir()
    assert runner.final_folder(tmp_path, day).name == "2026-11-23-3"


def test_side_by_side_kernels_share_the_cores(monkeypatch):
    monkeypatch.setattr(runner.os, "cpu_count", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # set by the user: kept
    with runner.shared_cores(jobs=3):
        assert runner.os.environ["OMP_NUM_THREADS"] == "2"  # 8 cores // 3 jobs
        assert runner.os.environ["MKL_NUM_THREADS"] == "3"
    assert "OMP_NUM_THREADS" not in runner.os.environ and runner.os.environ["MKL_NUM_THREADS"] == "3"
