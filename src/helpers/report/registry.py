"""The one list of the report's chapters: their order, titles, the prepared tables each reads,
the artifacts each writes and reads from earlier chapters, and which may run side by side.

The runner, the renderer, the notebook setup and chapter 05 take the chapters from here; a test
checks the notebooks against it, so what is written here is what the chapters do.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChapterSpec:
    """One chapter of the report."""

    name: str
    title: str
    sources: tuple[str, ...]
    writes: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()  # artifacts written by earlier chapters of the same run
    side_by_side: bool = False  # reads only the prepared tables, so may run beside the others

    @property
    def number(self) -> str:
        return self.name.split("_", 1)[0]


CHAPTER_SPECS: tuple[ChapterSpec, ...] = (
    ChapterSpec("00_data_quality", "00 Data quality and integration", ("customers", "orders")),
    ChapterSpec("01_overview", "01 Overview", ("customers", "orders", "surveys"),
                writes=("kpi_overview.csv", "distribution_region.csv", "distribution_industry.csv",
                        "distribution_segment.csv", "distribution_acquisition_channel.csv", "key_accounts.csv",
                        "cross_table.csv", "growth_forecast.csv"),
                side_by_side=True),
    ChapterSpec("02_needs", "02 Needs and satisfaction", ("customers", "orders", "products", "surveys", "tickets"),
                writes=("nps_csat.csv", "satisfaction_by_segment.csv", "satisfaction_by_region.csv", "need_themes.csv",
                        "need_theme_trend.csv", "satisfaction_extremes.csv", "complaints.csv", "complaint_summary.csv",
                        "complaint_products.csv", "satisfaction_drivers.csv", "sentiment.csv"),
                side_by_side=True),
    ChapterSpec("03_behaviour", "03 Behaviour", ("customers", "events", "orders", "products", "surveys", "tickets"),
                writes=("category_mix_segment.csv", "category_mix_region.csv", "channel_trend.csv", "funnel.csv",
                        "cohort_retention.csv", "churn_rate_segment.csv", "churn_reasons.csv",
                        "churn_model_validation.csv", "churn_scores.csv", "association_rules.csv", "next_category.csv",
                        "cross_sell_candidates.csv", "upgrade_candidates.csv"),
                side_by_side=True),
    ChapterSpec("04_value", "04 Value", ("campaigns", "customers", "orders", "products", "tickets"),
                writes=("rfm_segments.csv", "rfm_summary.csv", "clv.csv", "clv_validation.csv", "cac_crv.csv", "clusters.csv"),
                side_by_side=True),
    ChapterSpec("05_crm_recommendations", "05 CRM recommendations", ("orders", "surveys", "tickets"),
                writes=("actions.csv", "at_risk_high_value.csv", "win_back.csv", "cross_sell.csv", "onboarding.csv",
                        "closed_loop_lists.csv", "closed_loop_kpis.csv"),
                reads=("kpi_overview.csv", "clv.csv", "churn_scores.csv", "cac_crv.csv", "complaint_products.csv",
                       "satisfaction_by_region.csv", "satisfaction_by_segment.csv", "cross_sell_candidates.csv")),
)
CHAPTERS: tuple[str, ...] = tuple(spec.name for spec in CHAPTER_SPECS)
TITLES: dict[str, str] = {spec.name: spec.title for spec in CHAPTER_SPECS}


def chapter_spec(name: str) -> ChapterSpec:
    """The chapter called ``name`` (``"04_value"``); a ``ValueError`` lists the chapters otherwise."""
    for spec in CHAPTER_SPECS:
        if spec.name == name:
            return spec
    raise ValueError(f"unknown chapter {name!r}; chapters are {', '.join(CHAPTERS)}")


def writer_of(artifact: str) -> ChapterSpec:
    """The chapter that writes ``artifact`` (``"clv.csv"`` -> 04 Value)."""
    for spec in CHAPTER_SPECS:
        if artifact in spec.writes:
            return spec
    raise ValueError(f"no chapter writes {artifact!r}")
