"""One typed model for the report parameters: ``params/default.yaml`` with a per-quarter file
(or any file given with ``--params``) merged over it.

An unknown key, a wrong type or an impossible value is an error that names the key and says
what is allowed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator, model_validator

from helpers import paths
from helpers.data.schema import SOURCES
from helpers.quarters import Quarter


class ParameterError(ValueError):
    """A parameters file is missing, unreadable or has a bad value."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Strict):
    """How one raw source maps onto its canonical columns."""

    files: list[str] = Field(description="File names or glob patterns, relative to data_dir")
    format: Literal["csv", "parquet", "excel"] | None = Field(None, description="Inferred from the extension when empty")
    encoding: str = "utf-8"
    sep: str = ","
    sheet: str | int | None = Field(None, description="Excel sheet name or index (default: first)")
    columns: dict[str, str] = Field(default_factory=dict, description="canonical name -> raw column name")
    derive: dict[str, str] = Field(
        default_factory=dict,
        description="canonical name -> pandas expression over raw columns, e.g. 'Quantity * UnitPrice'",
    )
    constants: dict[str, Any] = Field(default_factory=dict, description="canonical name -> fixed value")
    dayfirst: bool = False
    date_format: str | None = Field(None, description="strftime format, 'excel' for serial dates, or empty to infer")
    decimal: str = "."
    thousands: str | None = None
    currency_symbols: list[str] = Field(default_factory=lambda: ["¥", "￥", "$", "€", "£", "RMB", "CNY"])
    exclude: dict[str, list[str]] = Field(
        default_factory=dict, description="canonical column -> values whose rows are set aside (quarantined)"
    )
    value_map: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="canonical column -> {raw value: canonical value}"
    )

    @field_validator("files", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, str) else value

    @field_validator("files")
    @classmethod
    def _not_empty(cls, value):
        if not value:
            raise ValueError("list at least one file name or glob pattern")
        return value


class KpiTargets(_Strict):
    """The company's own target per KPI; empty (the default) = no target, so the KPI is shown
    without met / not met. ``params/default.yaml`` sets none: targets belong to one company's
    parameters file (the demo's are in ``params/demo.yaml``)."""

    new_customers: float | None = None
    active_customers: float | None = None
    revenue: float | None = None
    average_order_value: float | None = None
    retention_30d: float | None = Field(None, ge=0, le=1)
    repeat_purchase_rate: float | None = Field(None, ge=0, le=1)
    churn_rate: float | None = Field(None, ge=0, le=1)
    nps: float | None = Field(None, ge=-100, le=100)
    csat: float | None = Field(None, ge=0, le=1)


class OverviewOptions(_Strict):
    """Chapter 01 (overview): ``chapter_options.01_overview``."""

    top_fraction: float = Field(0.2, gt=0, lt=1, description="The 'top customers' share of the Pareto finding")
    trend_quarters: int = Field(8, ge=2, le=40, description="Quarters in the growth trend the forecast starts from")


class NeedsOptions(_Strict):
    """Chapter 02 (needs and satisfaction): ``chapter_options.02_needs``."""

    need_themes_file: str = Field("params/need_themes.yaml", description="Need-theme lexicon, relative to the project")
    sentiment_lexicon_file: str = Field("params/sentiment_lexicon.yaml", description="Sentiment lexicon, relative to the project")
    trend_quarters: int = Field(8, ge=2, le=40, description="Quarters in the NPS / CSAT, need-theme and sentiment trends")
    topics_per_language: int = Field(5, ge=2, le=50, description="Topics discovered per comment language")
    comment_languages: tuple[str, ...] = Field(
        ("en", "zh", "pt", "es", "fr", "de"), min_length=1,
        description="ISO 639-1 codes of the languages a comment's language is chosen from (lingua); Chinese is also "
                    "recognised by its script. Comments in other languages come out undetermined or as the closest "
                    "listed language, so list every language customers write in")
    comment_language_min_confidence: float = Field(
        0.45, ge=0, lt=1,
        description="A comment whose most likely language has a lower lingua confidence (short or ambiguous text, "
                    "e.g. 'ok') is of undetermined language and left out of sentiment, need themes and topics")
    extreme_fraction: float = Field(0.2, gt=0, le=0.5, description="Most / least satisfied share compared")
    complaint_run_months: int = Field(
        2, ge=1, description="Consecutive months above the benchmark that make a product's complaint rate persistent")
    complaint_window_months: int = Field(3, ge=1, le=24, description="Months ending with the quarter searched for such runs")

    @field_validator("comment_languages")
    @classmethod
    def _iso_codes(cls, value):
        odd = [code for code in value if not (len(code) == 2 and code.isascii() and code.isalpha() and code.islower())]
        if odd:
            raise ValueError(f"comment_languages must be two-letter lower-case ISO 639-1 codes (en, zh, pt), got {odd}")
        if len(set(value)) != len(value):
            raise ValueError(f"comment_languages lists a language twice: {list(value)}")
        return value

    @model_validator(mode="after")
    def _run_fits_window(self):
        if self.complaint_run_months > self.complaint_window_months:
            raise ValueError(
                f"complaint_run_months ({self.complaint_run_months}) cannot exceed complaint_window_months "
                f"({self.complaint_window_months})")
        return self


class BehaviourOptions(_Strict):
    """Chapter 03 (behaviour): ``chapter_options.03_behaviour``."""

    trend_quarters: int = Field(8, ge=2, le=40, description="Quarters in the channel and category trends")
    cohort_months: int = Field(12, ge=1, le=120, description="Monthly acquisition cohorts in the retention matrix")
    retention_windows: tuple[PositiveInt, ...] = Field((30, 90), min_length=1, description="Days for early retention")
    early_retention_quarters: int = Field(
        4, ge=1, le=40, description="Quarters of new customers (ending with the report quarter) whose early retention is shown")
    churn_reason_lookback_days: int = Field(180, ge=1, le=3650, description="Tickets / surveys looked at before churn")
    churn_reason_themes_file: str = Field(
        "params/need_themes.yaml", description="File whose 'churn_reasons' section lists the comment themes of churn reasons")
    basket_quarters: int = Field(4, ge=1, le=40, description="Quarters of orders for association rules and sequences")
    min_support: float = Field(0.01, gt=0, le=1, description="Minimum share of orders holding both items of a rule")
    min_confidence: float = Field(0.05, ge=0, le=1)
    max_products: int = Field(
        1000, ge=0, description="Product pair rules are mined on at most this many products: of those in at least "
                                "min_support of the orders, the ones in the most orders (0 = no product rules)")
    cross_sell_max_rules: int = Field(50, ge=1)
    high_risk_threshold: float = Field(0.5, gt=0, lt=1, description="Churn probability counted as high risk")
    churn_model_min_churners: int = Field(
        20, ge=1, description="Churners and non-churners the churn model needs at least, at each of its two cut-offs")
    top_products: int = Field(10, ge=1, description="Best-selling products shown per region")


class ValueOptions(_Strict):
    """Chapter 04 (value): ``chapter_options.04_value``."""

    rfm_window_days: int = Field(365, ge=1, description="Days of orders behind the F and M scores")
    clv_model: Literal["bgnbd", "pareto_nbd"] = "bgnbd"
    clv_time_unit: Literal["W", "D"] = Field("W", description="Model time unit: W weeks, D days")
    clv_horizon_months: int = Field(12, ge=1, le=120)
    monthly_discount_rate: float = Field(0.01, ge=0, lt=1)
    holdout_weeks: int = Field(26, ge=1, le=520)
    clv_min_holdout_weeks: int = Field(
        4, ge=1, le=520, description="Shortest CLV holdout when the history is too short for holdout_weeks (else not available)")
    clv_min_calibration_weeks: int = Field(
        13, ge=1, le=520, description="Weeks of purchases the CLV calibration period needs at least, before the holdout")
    clv_holdout_max_error: float = Field(
        0.5, gt=0, description="Largest |predicted / actual - 1| of holdout purchases before the model is replaced or flagged")
    clv_min_repeat_buyers: int = Field(20, ge=1, description="Repeat buyers the CLV purchase model needs at least")
    penalizers: tuple[float, ...] = Field((0.0, 0.001, 0.01), min_length=1, description="Tried in order until a fit converges")
    value_tier_quantiles: tuple[float, float] = Field(
        (0.5, 0.8), description="CLV quantiles: below the first = low, from the second = high")
    strategic_segments: tuple[str, ...] = Field(
        ("Large enterprise", "Medium enterprise"), description="Segments whose high-value customers are strategic accounts")
    cac_trailing_quarters: int = Field(4, ge=1, le=40)
    cost_per_ticket: float = Field(50.0, ge=0, description="Cost to serve of one service ticket, in the report currency")
    profitability_window_days: int = Field(365, ge=1)
    cluster_k_min: int = Field(3, ge=2)
    cluster_k_max: int = Field(6, ge=2)
    cluster_fit_sample: int = Field(100_000, ge=100, description="Customers k-means is fitted on (all when fewer)")
    silhouette_sample: int = Field(10_000, ge=100, description="Customers the silhouette is computed on")
    forecast_history_quarters: int = Field(8, ge=2, le=40)
    forecast_horizon_quarters: int = Field(4, ge=1, le=12)

    @field_validator("penalizers")
    @classmethod
    def _penalties_not_negative(cls, value):
        if any(p < 0 for p in value):
            raise ValueError(f"penalizers must not be negative, got {list(value)}")
        return value

    @field_validator("value_tier_quantiles")
    @classmethod
    def _increasing_shares(cls, value):
        low, high = value
        if not 0 < low < high < 1:
            raise ValueError(f"value_tier_quantiles must be two increasing shares in (0, 1), got {list(value)}")
        return value

    @model_validator(mode="after")
    def _cluster_range(self):
        if self.cluster_k_min > self.cluster_k_max:
            raise ValueError(f"cluster_k_min ({self.cluster_k_min}) cannot exceed cluster_k_max ({self.cluster_k_max})")
        return self

    @model_validator(mode="after")
    def _holdout_range(self):
        if self.clv_min_holdout_weeks > self.holdout_weeks:
            raise ValueError(f"clv_min_holdout_weeks ({self.clv_min_holdout_weeks}) cannot exceed holdout_weeks "
                             f"({self.holdout_weeks})")
        return self


class ChapterOptions(_Strict):
    """The settings of each chapter, under the chapter's name (``01_overview`` ...) in the
    parameters files and as ``overview``, ``needs``, ``behaviour``, ``value`` in code.
    Chapter 05 has no options of its own."""

    # Written under the chapter names too, so that params.json reads back into the same model.
    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    overview: OverviewOptions = Field(default_factory=OverviewOptions, alias="01_overview")
    needs: NeedsOptions = Field(default_factory=NeedsOptions, alias="02_needs")
    behaviour: BehaviourOptions = Field(default_factory=BehaviourOptions, alias="03_behaviour")
    value: ValueOptions = Field(default_factory=ValueOptions, alias="04_value")


class Params(_Strict):
    """Every setting of a report run. ``params/default.yaml`` sets the run-wide defaults; the
    defaults of the chapter options are those of the models above (the file repeats them)."""

    quarter: str
    report_title: str = "Quarterly customer analysis"
    company_name: str = "Demo company"
    report_language: str = Field(
        "en", description="Language of every page, chart and team CSV: en (English) or zh-CN (Simplified Chinese); "
                          "a language is offered when its message catalog exists")
    large_money_units: bool = Field(
        True, description="Where the report's language has them, large amounts are written in its units "
                          "(Chinese 万 and 亿: 1882.51万元) instead of in full")
    team_csv_headers: Literal["report_language", "en"] = Field(
        "report_language", description="Headers of the team CSVs: in the report's language, or en for systems "
                                       "that import them by their English names")
    currency_symbol: str = "¥"
    data_dir: str = "data/demo"
    data_as_of: str | None = Field(None, description="Dates after this are future-dated errors; default: run date")
    earliest_date: str = Field("2000-01-01", description="Dates before this are set aside as implausible")
    report_timezone: str = Field(
        "UTC", description="Time zone of the report: timestamps carrying a UTC offset are converted to it; "
                           "timestamps without one are taken as already in it")
    amount_ceiling: float | None = Field(
        None, gt=0, description="Order lines whose absolute amount exceeds this are set aside (a typo guard)")
    sources: dict[str, SourceSpec]
    kpi_targets: KpiTargets = KpiTargets()
    churn_inactivity_days: int = Field(90, gt=0, le=3650)
    new_customer_warmup_days: int = Field(
        365, ge=0, le=3650, description="Days after the first day of the data before a first purchase counts as a new "
                                        "customer (earlier, it may be a customer whose history the export lacks)")
    forecast_min_quarters: int = Field(4, ge=1, le=40, description="Fully covered quarters a growth forecast needs")
    min_group_size: int = Field(5, ge=1)
    small_sample_size: int = Field(30, ge=1)
    cross_table_dimensions: list[str] = Field(default_factory=lambda: ["region", "segment"])
    top_n_key_accounts: int = Field(20, ge=1)
    bootstrap_resamples: int = Field(1000, ge=100)
    significance_level: float = Field(0.05, gt=0, lt=0.5)
    random_seed: int = 2026
    max_parse_failure_share: float = Field(
        0.2, ge=0, le=1, description="Above this share of unparseable values a column is an error, below it rows are quarantined"
    )
    facts_engine: Literal["duckdb", "spark"] = Field(
        "duckdb", description="Engine of the per-customer facts (analyst/prepared/customer_facts.parquet): duckdb in "
                              "this process, or spark (Spark SQL at spark_master; needs pip install -r "
                              "requirements-spark.lock and Java 17). Both run the same SQL and write the same file")
    spark_master: str = Field(
        "local[1]", min_length=1, description="Spark master URL when facts_engine is spark: local[N] (N threads on this "
                                              "machine), spark://host:7077, yarn, k8s://...")
    spark_input_dir: str | None = Field(
        None, description="Folder the Spark input Parquet (the prepared order lines, tickets, surveys, events) is "
                          "written to, one subfolder per run; every Spark executor must read it under the same name: "
                          "a shared mount or an hdfs:// or s3:// URL. Relative: to the project. Empty: the run's "
                          "prepared folder, which only a local master reads")
    chapter_options: ChapterOptions = Field(default_factory=ChapterOptions, description="Settings of each chapter")

    @field_validator("quarter")
    @classmethod
    def _quarter(cls, value):
        return str(Quarter.parse(value))

    @field_validator("earliest_date", "data_as_of")
    @classmethod
    def _iso_day(cls, value):
        if value is not None:
            try:
                import datetime as dt

                dt.date.fromisoformat(str(value))
            except ValueError:
                raise ValueError(f"write the day as YYYY-MM-DD, got {value!r}") from None
        return value if value is None else str(value)

    @field_validator("report_language")
    @classmethod
    def _language(cls, value):
        from helpers.report.i18n import normalise_language

        return normalise_language(value)

    @field_validator("report_timezone")
    @classmethod
    def _time_zone(cls, value):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai or UTC") from None
        return value

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, value):
        unknown = sorted(set(value) - set(SOURCES))
        if unknown:
            raise ValueError(f"unknown source(s) {unknown}; allowed: {sorted(SOURCES)}")
        if "orders" not in value:
            raise ValueError("the 'orders' source is required")
        for name, spec in value.items():
            allowed = set(SOURCES[name].names)
            for field in ("columns", "derive", "constants", "exclude", "value_map"):
                bad = sorted(set(getattr(spec, field)) - allowed)
                if bad:
                    raise ValueError(
                        f"sources.{name}.{field} names unknown canonical column(s) {bad}; allowed: {sorted(allowed)}"
                    )
        return value

    @model_validator(mode="after")
    def _dimensions(self):
        if len(self.cross_table_dimensions) != 2:
            raise ValueError("cross_table_dimensions must list exactly two customer attributes")
        return self

    @model_validator(mode="after")
    def _spark_input_for_a_cluster(self):
        from helpers.facts.customer_facts import local_threads

        if self.facts_engine == "spark" and local_threads(self.spark_master) is None and not self.spark_input_dir:
            raise ValueError(f"spark_master {self.spark_master!r} runs on other machines: set spark_input_dir to a "
                             "folder its executors read (a shared mount, hdfs://... or s3://...)")
        return self

    @property
    def spark_input_path(self) -> str | Path | None:
        """``spark_input_dir`` as a path (a relative one from the project), a URL as written, or None."""
        if not self.spark_input_dir:
            return None
        return self.spark_input_dir if "://" in self.spark_input_dir else paths.resolve(self.spark_input_dir)

    @property
    def period(self) -> Quarter:
        return Quarter.parse(self.quarter)

    @property
    def data_path(self) -> Path:
        return paths.resolve(self.data_dir)


def _read_yaml(path: Path) -> dict:
    if not path.exists():
        raise ParameterError(f"parameters file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"parameters file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ParameterError(f"parameters file {path} must hold a mapping of keys to values")
    return data


def deep_merge(base: dict, override: dict) -> dict:
    """``override`` merged over ``base``; nested mappings merge, everything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _explain(exc: ValidationError, files: list[Path]) -> str:
    lines = [f"parameters in {', '.join(str(f) for f in files)} are not valid:"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"- unknown key '{where}': remove it or fix its spelling")
        else:
            lines.append(f"- {where}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def reads_demo_data(data_dir: str | Path) -> bool:
    """True when ``data_dir`` (as written in a parameters file) is the bundled demo data folder."""
    return paths.resolve(data_dir).resolve() == paths.DEMO_DATA_DIR.resolve()


def load_params(quarter: str | None = None, params_file: str | Path | None = None, **overrides) -> Params:
    """Load the defaults, merge the quarter's file (or ``params_file``) and ``overrides`` over them.

    ``params_file`` may be a full file (it is still merged over the defaults). ``quarter`` given
    here wins over the quarter in any file. When the resulting ``data_dir`` is the bundled demo
    data, ``params/demo.yaml`` (the demo company's targets) is merged right over the defaults,
    beneath every other file; any other data folder gets no one else's targets.
    """
    files = [paths.DEFAULT_PARAMS_FILE]
    data = _read_yaml(paths.DEFAULT_PARAMS_FILE)
    if params_file:
        files.append(paths.resolve(params_file))
    elif quarter and paths.quarter_params_file(str(Quarter.parse(quarter))).exists():
        files.append(paths.quarter_params_file(str(Quarter.parse(quarter))))
    layers = [_read_yaml(extra) for extra in files[1:]]
    data_dir = overrides.get("data_dir") or next(
        (layer["data_dir"] for layer in reversed(layers) if layer.get("data_dir")),
        data.get("data_dir") or Params.model_fields["data_dir"].default)
    if isinstance(data_dir, (str, Path)) and reads_demo_data(data_dir) and paths.DEMO_PARAMS_FILE.exists():
        files.insert(1, paths.DEMO_PARAMS_FILE)
        layers.insert(0, _read_yaml(paths.DEMO_PARAMS_FILE))
    for extra_data in layers:
        # A file that brings its own sources replaces the default mapping instead of merging with it.
        if "sources" in extra_data:
            data.pop("sources", None)
        data = deep_merge(data, extra_data)
    if quarter:
        data["quarter"] = str(Quarter.parse(quarter))
    data = deep_merge(data, {k: v for k, v in overrides.items() if v is not None})
    try:
        return Params(**data)
    except ValidationError as exc:
        raise ParameterError(_explain(exc, files)) from None
    except ValueError as exc:
        raise ParameterError(f"parameters in {', '.join(map(str, files))}: {exc}") from None
