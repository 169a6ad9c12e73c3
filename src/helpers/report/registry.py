"""The one list of the report's chapters: their order, titles, the prepared tables each reads,
the artifacts each writes and reads from earlier chapters, and which may run side by side.

The runner, the renderer, the notebook setup and chapter 05 take the chapters from here; a test
checks the notebooks against it, so what is written here is what the chapters do.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ChapterSpec:
    """One chapter of the report."""

    name: str
    title: str
    sources: tuple[str, ...]
    writes: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()  # artifacts written by earlier chapters of the same run
    side_by_side: bool = False  # reads only the prepared tables, so may run beside the others
    # Seconds of cell execution at 100,000 customers (benchmarks/RESULTS.md, 2026-12-02): side by
    # side, the costliest chapter starts first, so the others share the other kernel meanwhile.
    seconds_at_100k: float = 0.0

    @property
    def number(self) -> str:
        return self.name.split("_", 1)[0]


@dataclass(frozen=True)
class SectionSpec:
    """What one section of a chapter needs before it runs.

    ``sources``: prepared tables that must be present (any one of ``any_source`` will do);
    ``columns``: per source, columns that must hold at least one value; ``breakdown``: columns
    a section splits by, which must hold two values or more (a split into one group, all
    "Unknown" or all "online", says nothing); ``history_days``: days
    of order history on or before the quarter's last day; ``after``: sections of the same
    chapter whose results this one uses. A helper may still raise ``NotAvailable`` for a need
    that depends on the data's values (two event types, both churn classes, ...).
    """

    key: str
    sources: tuple[str, ...] = ()
    any_source: tuple[str, ...] = ()
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    breakdown: dict[str, tuple[str, ...]] = field(default_factory=dict)  # two values or more, placeholders aside
    history_days: int = 0
    after: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()  # written by earlier chapters of the run


S = SectionSpec
SECTIONS: dict[str, tuple[SectionSpec, ...]] = {
    "00_data_quality": (
        S("inventory"), S("cleaning"), S("reconciliation"), S("scope"), S("drift"), S("personal_data"), S("glossary"),
    ),
    "01_overview": (
        S("kpis"),
        S("distribution_region", breakdown={"customers": ("region",)}),
        S("distribution_industry", breakdown={"customers": ("industry",)}),
        S("distribution_segment", breakdown={"customers": ("segment",)}),
        S("distribution_acquisition_channel", breakdown={"customers": ("acquisition_channel",)}),
        S("key_accounts"), S("cross_table"), S("growth"),
        S("growth_region", breakdown={"customers": ("region",)}),
        S("growth_segment", breakdown={"customers": ("segment",)}),
        S("glossary"),
    ),
    "02_needs": (
        S("nps_csat", sources=("surveys",)),
        S("satisfaction_segment", sources=("surveys",), breakdown={"customers": ("segment",)}),
        S("satisfaction_region", sources=("surveys",), breakdown={"customers": ("region",)}, after=("nps_csat",)),
        S("need_themes", any_source=("surveys", "tickets")),
        S("topics", any_source=("surveys", "tickets"), after=("need_themes",)),
        S("need_fulfilment", sources=("surveys",)),
        S("satisfaction_extremes", sources=("surveys",), after=("need_fulfilment",)),
        S("complaints", sources=("tickets",)),
        S("complaint_products", sources=("tickets",), columns={"tickets": ("product_id",)}),
        S("consultations", sources=("tickets",)),
        S("satisfaction_drivers", sources=("surveys",)),
        S("sentiment", any_source=("surveys", "tickets")),
        S("glossary"),
    ),
    "03_behaviour": (
        S("purchase_frequency"), S("order_values"),
        S("category_mix", breakdown={"orders": ("category",)}),
        S("product_distribution", columns={"orders": ("product_id",)}),
        S("channels", breakdown={"orders": ("channel",)}),
        S("usage", sources=("events",)),
        S("funnel", sources=("events",), columns={"events": ("event_type",)}),
        S("cohort_retention"), S("early_retention"), S("churn_rate"), S("time_to_churn", breakdown={"customers": ("segment",)}),
        S("churn_reasons", any_source=("tickets", "surveys")),
        S("churn_model"),
        S("churn_drivers", after=("churn_model",)),
        S("at_risk", after=("churn_model",)),
        S("association_rules", columns={"orders": ("product_id",)}),
        S("sequences"),
        S("cross_sell", after=("association_rules", "at_risk")),
        S("upgrades"),
        S("glossary"),
    ),
    "04_value": (
        S("rfm"), S("rfm_migration", after=("rfm",)), S("clv"), S("clv_validation", after=("clv",)),
        S("value_tiers", after=("clv",)),
        S("cac_crv", sources=("campaigns",), after=("clv",)),
        S("profitability", sources=("tickets",)),
        S("clusters", after=("rfm", "clv")),
        S("cluster_rules", after=("clusters",)),
        S("forecast"), S("glossary"),
    ),
    "05_crm_recommendations": (
        S("diagnosis"),
        S("at_risk_high_value", artifacts=("clv.csv", "churn_scores.csv", "rfm_segments.csv")),
        S("win_back"),
        S("cross_sell", artifacts=("cross_sell_candidates.csv",)),
        S("onboarding"), S("follow_up", after=("diagnosis",)), S("closed_loop"), S("data_protection"), S("glossary"),
    ),
}
del S


CHAPTER_SPECS: tuple[ChapterSpec, ...] = (
    ChapterSpec("00_data_quality", "00 Data quality and integration", ("customers", "orders"),
                side_by_side=True, seconds_at_100k=5),
    ChapterSpec("01_overview", "01 Overview", ("customers", "orders", "surveys"),
                writes=("kpi_overview.csv", "distribution_region.csv", "distribution_industry.csv",
                        "distribution_segment.csv", "distribution_acquisition_channel.csv", "key_accounts.csv",
                        "cross_table.csv", "growth_forecast.csv"),
                side_by_side=True, seconds_at_100k=24),
    ChapterSpec("02_needs", "02 Needs and satisfaction", ("customers", "orders", "products", "surveys", "tickets"),
                writes=("nps_csat.csv", "satisfaction_by_segment.csv", "satisfaction_by_region.csv", "need_themes.csv",
                        "need_theme_trend.csv", "satisfaction_extremes.csv", "complaints.csv", "complaint_summary.csv",
                        "complaint_products.csv", "satisfaction_drivers.csv", "sentiment.csv"),
                side_by_side=True, seconds_at_100k=24),
    ChapterSpec("03_behaviour", "03 Behaviour", ("customers", "events", "orders", "products", "surveys", "tickets"),
                writes=("category_mix_segment.csv", "category_mix_region.csv", "channel_trend.csv", "funnel.csv",
                        "cohort_retention.csv", "churn_rate_segment.csv", "churn_reasons.csv",
                        "churn_model_validation.csv", "churn_scores.csv", "association_rules.csv", "next_category.csv",
                        "cross_sell_candidates.csv", "upgrade_candidates.csv"),
                side_by_side=True, seconds_at_100k=74),
    ChapterSpec("04_value", "04 Value", ("campaigns", "customers", "orders", "products", "tickets"),
                writes=("rfm_segments.csv", "rfm_summary.csv", "clv.csv", "clv_validation.csv", "cac_crv.csv", "clusters.csv"),
                side_by_side=True, seconds_at_100k=22),
    ChapterSpec("05_crm_recommendations", "05 CRM recommendations", ("customers", "orders", "surveys"),
                writes=("actions.csv", "at_risk_high_value.csv", "win_back.csv", "cross_sell.csv", "onboarding.csv",
                        "follow_up_plan.csv", "closed_loop_lists.csv", "closed_loop_kpis.csv"),
                reads=("kpi_overview.csv", "clv.csv", "churn_scores.csv", "rfm_segments.csv", "cac_crv.csv",
                       "complaint_products.csv", "satisfaction_by_region.csv", "satisfaction_by_segment.csv",
                       "cross_sell_candidates.csv")),
)
CHAPTERS: tuple[str, ...] = tuple(spec.name for spec in CHAPTER_SPECS)

# The columns a later chapter reads from each artifact, with their types: "string" (ids keep their
# leading zeros), "float64", "Int64", "boolean", or "category:<values in order>".
_RATES = {"nps": "float64", "nps_responses": "Int64", "nps_change": "float64", "csat": "float64"}
ARTIFACT_COLUMNS: dict[str, dict[str, str]] = {
    "kpi_overview.csv": {"metric": "string", "value": "float64", "previous": "float64", "target": "float64",
                         "qoq_change": "float64", "change_low": "float64", "change_high": "float64",
                         "significant": "boolean"},
    "clv.csv": {"customer_id": "string", "p_alive": "float64", "expected_purchases_12m": "float64",
                "clv_12m": "float64", "value_tier": "category:high,medium,low",
                "relationship_tier": "category:strategic,important,general"},
    "churn_scores.csv": {"customer_id": "string", "churn_probability": "float64", "top_reasons": "string",
                         "main_reason": "string"},
    "rfm_segments.csv": {"customer_id": "string", "r": "Int64", "f": "Int64", "m": "Int64", "segment": "string"},
    "cac_crv.csv": {"level": "string", "group": "string", "new_customers": "Int64", "cac": "float64",
                    "clv_12m": "float64", "clv_cac_ratio": "float64"},
    "complaint_products.csv": {"product_id": "string", "longest_run_months": "Int64", "complaints": "Int64",
                               "orders": "Int64", "excess_p_value": "float64"},
    "satisfaction_by_region.csv": {"region": "string", **_RATES},
    "satisfaction_by_segment.csv": {"segment": "string", **_RATES},
    "cross_sell_candidates.csv": {"customer_id": "string", "antecedent": "string", "consequent": "string",
                                  "lift": "float64", "expected_value": "float64", "score": "float64"},
}
TITLES: dict[str, str] = {spec.name: spec.title for spec in CHAPTER_SPECS}


def chapter_title(name: str) -> str:
    """A chapter's title in the report's language (``01 Overview``, ``01 客户概述``); an unknown name as it is."""
    from helpers.report.i18n import t

    return t(TITLES[name]) if name in TITLES else name


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


def section_spec(chapter: str, key: str) -> SectionSpec:
    """The section ``key`` of ``chapter``; a ``ValueError`` lists the chapter's sections otherwise."""
    for spec in SECTIONS[chapter_spec(chapter).name]:
        if spec.key == key:
            return spec
    raise ValueError(f"chapter {chapter} has no section {key!r}; its sections are "
                     f"{', '.join(s.key for s in SECTIONS[chapter])}")
