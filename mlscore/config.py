"""Project configuration: frozen, strict pydantic models and :func:`load_config`.

One YAML file describes a scoring project. Every key has its default here (and
only here); YAML files hold what differs. Unknown keys are errors that name the
key and the allowed keys. Relative data paths are resolved against the folder of
the YAML file. ``MLFLOW_TRACKING_URI`` in the environment overrides
``tracking.uri``.

Time semantics used throughout the project (stated once, used everywhere):
features of a cutoff ``c`` use events with ``timestamp < c``; labels use events
with ``c <= timestamp < c + horizon``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlscore.errors import ConfigError

__all__ = [
    "CUSTOMERS_COLUMNS",
    "INTERACTIONS_COLUMNS",
    "TRANSACTIONS_COLUMNS",
    "ChurnTarget",
    "ConversionTarget",
    "CustomersSource",
    "DataConfig",
    "ExplainConfig",
    "ExportConfig",
    "FeatureConfig",
    "HandsetPoints",
    "ModelConfig",
    "PredictConfig",
    "ProjectConfig",
    "PromotionRule",
    "SegmentConfig",
    "TableSource",
    "TierPolicy",
    "TrackingConfig",
    "TrainingConfig",
    "config_from_dict",
    "load_config",
]

#: Canonical column names of each table, and whether they are required.
INTERACTIONS_COLUMNS: dict[str, bool] = {
    "customer_id": True,
    "timestamp": True,
    "event": True,
    "channel": False,
    "value": False,
}
TRANSACTIONS_COLUMNS: dict[str, bool] = {
    "customer_id": True,
    "timestamp": True,
    "amount": True,
    "order_id": False,
    "quantity": False,
}
CUSTOMERS_COLUMNS: dict[str, bool] = {
    "customer_id": True,
    "signup_date": False,
    "consent": False,
}

#: The seeds' event vocabulary; other names are kept with a warning.
SEED_EVENTS: tuple[str, ...] = (
    "page_view",
    "pricing_view",
    "email_open",
    "email_click",
    "ebook_download",
    "webinar_attended",
    "form_submit",
    "social_interaction",
    "support_contact",
    "survey_response",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- data


class TableSource(_Frozen):
    """Where one raw table lives and how its columns are named.

    ``columns`` maps a canonical column name to the name in the source, e.g.
    ``{customer_id: contact_id, timestamp: occurred_at}``; unmapped canonical
    columns are looked up under their own name.
    """

    path: str | None = Field(None, description="Parquet/CSV file, or DuckDB database file")
    format: Literal["auto", "parquet", "csv", "duckdb"] = "auto"
    table: str | None = Field(None, description="table name inside a DuckDB database")
    columns: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _duckdb_needs_table(self) -> TableSource:
        is_duckdb = self.format == "duckdb" or (
            self.format == "auto" and self.path is not None and self.path.endswith(".duckdb")
        )
        if is_duckdb and not self.table:
            raise ValueError("a DuckDB source needs `table:` (the table name in the database)")
        return self


class CustomersSource(TableSource):
    """The customers table: id, optional signup date, consent, static attributes."""

    attributes: list[str] = Field(
        default_factory=list,
        description="static attribute columns used as features (country, plan ...)",
    )


class DataConfig(_Frozen):
    """Raw inputs. ``interactions`` or ``transactions`` may be absent, not both."""

    interactions: TableSource | None = None
    transactions: TableSource | None = None
    customers: CustomersSource | None = None
    timezone: str = Field("UTC", description="zone of naive timestamps in the sources")
    known_events: list[str] | None = Field(
        default_factory=lambda: list(SEED_EVENTS),
        description="event names expected; others are kept with a warning (null: accept all)",
    )
    base_dir: str | None = Field(
        None, description="folder relative paths resolve against (default: the YAML's folder)"
    )

    @model_validator(mode="after")
    def _one_event_table(self) -> DataConfig:
        if self.interactions is None and self.transactions is None:
            raise ValueError("data needs `interactions`, `transactions` or both")
        return self


# ----------------------------------------------------------------------- features


class HandsetPoints(_Frozen):
    """The hand-set points grid of the seeds, kept as a baseline score.

    Score as of cutoff ``c`` = sum of weights of events with ``timestamp < c``,
    minus ``decay_per_day`` for each whole day of inactivity beyond
    ``grace_days`` (inactivity = days since the last interaction or purchase),
    floored at 0.
    """

    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "pricing_view": 5.0,
            "ebook_download": 10.0,
            "webinar_attended": 20.0,
            "email_click": 3.0,
            "form_submit": 30.0,
            "page_view": 5.0,
        }
    )
    grace_days: int = Field(30, ge=0)
    decay_per_day: float = Field(1.0, ge=0)
    lookback_days: int | None = Field(
        None, ge=1, description="only events in the last N days count (null: all history)"
    )


class FeatureConfig(_Frozen):
    """Declarative feature spec: event types x windows x aggregates, RFM, decay."""

    events: Literal["all"] | list[str] = Field(
        "all", description="event types that get per-event features ('all' = every type seen)"
    )
    windows_days: list[int] = Field(default_factory=lambda: [7, 30, 90])
    half_lives_days: list[int] = Field(default_factory=lambda: [14])
    rfm_windows_days: list[int] = Field(default_factory=lambda: [30, 90, 365])
    trend_days: int = Field(30, ge=1, description="recent window for recent-vs-earlier trend")
    value_events: Literal["all"] | list[str] = Field(
        "all", description="event types whose numeric `value` is aggregated"
    )
    channels: bool = Field(True, description="channel-mix features when a channel column exists")
    max_history_days: int | None = Field(
        None, ge=1, description="ignore events older than this before each cutoff"
    )
    handset_points: HandsetPoints = Field(default_factory=HandsetPoints)

    @field_validator("windows_days", "half_lives_days", "rfm_windows_days")
    @classmethod
    def _positive_sorted(cls, v: list[int]) -> list[int]:
        if not v or any(w <= 0 for w in v):
            raise ValueError("must be a non-empty list of positive day counts")
        return sorted(set(v))


# ------------------------------------------------------------------------ targets


class ConversionTarget(_Frozen):
    """Does the outcome happen in ``[cutoff, cutoff + horizon)``?

    Population: customers known before the cutoff (any interaction, purchase or
    signup with ``timestamp < cutoff``), optionally only those who have not yet
    converted (``exclude_converted``).
    """

    kind: Literal["conversion"] = "conversion"
    outcome: Literal["purchase", "event"] = "purchase"
    event: str | None = Field(None, description="event name when outcome is 'event'")
    horizon_days: int = Field(30, ge=1)
    exclude_converted: bool = Field(
        False, description="population = customers with no outcome before the cutoff"
    )

    @model_validator(mode="after")
    def _event_named(self) -> ConversionTarget:
        if self.outcome == "event" and not self.event:
            raise ValueError("outcome 'event' needs `event:` (e.g. form_submit)")
        return self


class ChurnTarget(_Frozen):
    """Is there no activity in ``[cutoff, cutoff + horizon)``?

    Population: customers active (per ``activity``) in
    ``[cutoff - lookback, cutoff)``. Label 1 = churned.
    """

    kind: Literal["churn"] = "churn"
    activity: Literal["purchase", "any"] = "purchase"
    horizon_days: int = Field(90, ge=1)
    lookback_days: int = Field(180, ge=1)


Target = Annotated[ConversionTarget | ChurnTarget, Field(discriminator="kind")]
_TARGET_KINDS = ("conversion", "churn")


# ----------------------------------------------------------------------- training


class TrainingConfig(_Frozen):
    """Rolling cutoffs for stacked training sets and the time split.

    Cutoffs run every ``every_days`` back from ``last_cutoff`` (default: the
    latest cutoff whose label window has matured before the data ends).
    Split, oldest to newest: train, validation (early stopping and
    calibration), test (reported). A cutoff is in an earlier slice only if its
    label window ends before the first cutoff of the next slice (purged split).
    """

    first_cutoff: dt.date | None = None
    last_cutoff: dt.date | None = None
    every_days: int = Field(14, ge=1)
    n_cutoffs: int = Field(12, ge=3, description="how many cutoffs to stack (newest first)")
    validation_cutoffs: int = Field(2, ge=1)
    test_cutoffs: int = Field(1, ge=1)
    purge: bool = Field(True, description="drop train/validation cutoffs whose labels overlap")


class PromotionRule(_Frozen):
    """Champion/challenger gate, compared on the same test cutoff."""

    max_auc_drop: float = Field(0.0, ge=0, description="challenger AUC may be this much lower")
    min_log_loss_gain: float = Field(
        0.0, ge=0, description="challenger log loss must be lower by more than this"
    )


class ModelConfig(_Frozen):
    """LightGBM and calibration settings; ``params`` override the defaults."""

    kind: Literal["auto", "additive", "gbdt"] = Field(
        "auto",
        description="additive = one feature per tree (exact points); auto = train both, keep "
        "additive unless gbdt is better by `auto_margin` validation AUC",
    )
    auto_margin: float = Field(0.005, ge=0)
    params: dict[str, Any] = Field(default_factory=dict)
    num_boost_round: int = Field(1000, ge=1)
    early_stopping_rounds: int = Field(50, ge=1)
    calibration: Literal["auto", "isotonic", "platt", "none"] = "auto"
    min_positives: int = Field(100, ge=1)
    min_negatives: int = Field(100, ge=1)
    seed: int = 42
    threads: int = Field(2, ge=1)
    promotion: PromotionRule = Field(default_factory=PromotionRule)


# ----------------------------------------------------------------------- segments


class TierPolicy(_Frozen):
    """Tiers of one target's score, best tier first.

    ``method: percentile`` cuts at quantiles of the training-time score
    distribution (e.g. ``cuts: [0.9, 0.6]`` = top 10 % / next 30 % / rest);
    ``method: probability`` cuts at calibrated probabilities. Frozen into the
    scoring bundle at training time.
    """

    method: Literal["percentile", "probability"] = "percentile"
    cuts: list[float] = Field(default_factory=lambda: [0.9, 0.6])
    labels: list[str] = Field(default_factory=lambda: ["hot", "warm", "cold"])

    @model_validator(mode="after")
    def _labels_match_cuts(self) -> TierPolicy:
        if len(self.labels) != len(self.cuts) + 1:
            raise ValueError(
                f"tiers need len(labels) == len(cuts) + 1; got {len(self.labels)} labels "
                f"for {len(self.cuts)} cuts"
            )
        if any(not 0 <= c <= 1 for c in self.cuts) or sorted(self.cuts, reverse=True) != list(
            self.cuts
        ):
            raise ValueError("cuts must be decreasing numbers in [0, 1]")
        return self


def _default_tiers() -> dict[str, TierPolicy]:
    return {
        "conversion": TierPolicy(labels=["hot", "warm", "cold"]),
        "churn": TierPolicy(labels=["high", "medium", "low"], cuts=[0.8, 0.5]),
    }


class SegmentConfig(_Frozen):
    """Segment policy: tiers per target, engagement tiers, matrix, next actions."""

    tiers: dict[str, TierPolicy] = Field(default_factory=_default_tiers)
    engagement_thresholds: dict[str, float] = Field(
        default_factory=lambda: {"very_engaged": 60.0, "engaged": 30.0, "low_engagement": 1.0},
        description="hand-set points needed for each engagement tier (below all: inactive)",
    )
    vip_rfm_segments: list[str] = Field(
        default_factory=lambda: ["champions", "loyal"],
        description="RFM segments counted as high value in the value x risk matrix",
    )
    actions: dict[str, str] = Field(
        default_factory=lambda: {
            "vip_at_risk": "exclusive offer and personal call",
            "champions": "loyalty programme and referral ask",
            "hot_prospects": "sales call within 48 hours",
            "at_risk": "reactivation email with incentive",
            "nurture": "educational content",
            "dormant": "win-back campaign, then suppress",
        }
    )


# -------------------------------------------------------------- explain / predict


class ExplainConfig(_Frozen):
    """How reasons are rendered."""

    top_reasons: int = Field(3, ge=1)
    language: Literal["en", "fr"] = "en"


class ExportConfig(_Frozen):
    """CRM/ESP export: canonical column -> column name in the CRM file."""

    columns: dict[str, str] = Field(
        default_factory=lambda: {
            "customer_id": "email_or_id",
            "score_conversion": "mlscore_conversion_score",
            "score_churn": "mlscore_churn_score",
            "segment": "mlscore_segment",
            "next_action": "mlscore_next_action",
            "reasons_conversion": "mlscore_conversion_reasons",
        }
    )


class PredictConfig(_Frozen):
    """Batch scoring settings."""

    chunk_size: int = Field(100_000, ge=1000)
    with_reasons: bool = True
    export: ExportConfig = Field(default_factory=ExportConfig)


class TrackingConfig(_Frozen):
    """MLflow. ``MLFLOW_TRACKING_URI`` overrides ``uri``; default is a SQLite
    file ``mlflow.db`` in the working directory (never the legacy ./mlruns)."""

    uri: str | None = None
    experiment: str = "mlscore"
    registry_prefix: str = "mlscore"
    log_customer_rows: bool = Field(
        False, description="allow customer rows/ids in artifacts (off: privacy default)"
    )

    def resolved_uri(self) -> str:
        env = os.environ.get("MLFLOW_TRACKING_URI")
        if env:
            return env
        if self.uri:
            return self.uri
        return f"sqlite:///{Path.cwd() / 'mlflow.db'}"


class SparkConfig(_Frozen):
    """Apache Spark settings, used when ``engine: spark`` (see docs/spark.md)."""

    master: str | None = Field(
        "local[2]",
        description="master URL (local[2], spark://host:7077, yarn); null: spark-submit's",
    )
    app_name: str = Field("mlscore", description="Spark application name")
    options: dict[str, str] = Field(
        default_factory=dict, description="extra Spark conf, e.g. spark.executor.memory: 8g"
    )
    input: dict[str, str] = Field(
        default_factory=dict,
        description="canonical table -> Parquet path or catalog table read by Spark directly",
    )


# ------------------------------------------------------------------------ project


def _default_targets() -> dict[str, ConversionTarget | ChurnTarget]:
    return {"conversion": ConversionTarget(), "churn": ChurnTarget()}


class ProjectConfig(_Frozen):
    """A whole scoring project (the root of the YAML file)."""

    project: str = "mlscore"
    as_of: dt.date | None = Field(
        None, description="the run's date (default: today); future timestamps are errors"
    )
    engine: Literal["duckdb", "spark"] = "duckdb"
    data: DataConfig
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    targets: dict[str, Target] = Field(default_factory=_default_targets)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    segments: SegmentConfig = Field(default_factory=SegmentConfig)
    explain: ExplainConfig = Field(default_factory=ExplainConfig)
    predict: PredictConfig = Field(default_factory=PredictConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    spark: SparkConfig = Field(default_factory=SparkConfig)

    @model_validator(mode="after")
    def _targets_fit_data(self) -> ProjectConfig:
        for name, t in self.targets.items():
            needs_purchases = (isinstance(t, ConversionTarget) and t.outcome == "purchase") or (
                isinstance(t, ChurnTarget) and t.activity == "purchase"
            )
            if needs_purchases and self.data.transactions is None:
                raise ValueError(
                    f"target {name!r} is defined on purchases but data has no `transactions`; "
                    "use `outcome: event` / `activity: any` or add a transactions source"
                )
            needs_events = isinstance(t, ConversionTarget) and t.outcome == "event"
            if needs_events and self.data.interactions is None:
                raise ValueError(
                    f"target {name!r} is defined on event {t.event!r} "  # type: ignore[union-attr]
                    "but data has no `interactions`"
                )
        return self

    def resolve_path(self, path: str) -> Path:
        """Absolute path of a data file named in the config."""
        p = Path(path).expanduser()
        if p.is_absolute() or self.data.base_dir is None:
            return p
        return Path(self.data.base_dir) / p


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(x) for i, x in enumerate(e["loc"]) if not _is_union_tag(e["loc"], i))
        if e["type"] == "extra_forbidden":
            parent = _model_at(e["loc"][:-1])
            allowed = sorted(parent.model_fields) if parent is not None else []
            hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
            lines.append(f"unknown key `{loc}`{hint}")
        else:
            lines.append(f"`{loc or '(root)'}`: {e['msg']}")
    where = f" {source}" if source else ""
    return f"invalid configuration{where}: " + "; ".join(lines)


def _is_union_tag(loc: tuple[Any, ...], i: int) -> bool:
    """pydantic puts the discriminator value (``conversion``/``churn``) in error paths."""
    return i > 1 and loc[i - 2] == "targets" and loc[i] in _TARGET_KINDS


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every pydantic model class mentioned in a type annotation (recursively)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class at a pydantic error location, to list its allowed keys."""
    model: type[BaseModel] = ProjectConfig
    pending: list[type[BaseModel]] = []
    for part in loc:
        if pending:
            tagged = [
                m
                for m in pending
                if m.model_fields.get("kind") is not None and m.model_fields["kind"].default == part
            ]
            if tagged:
                model, pending = tagged[0], []
                continue
        field = model.model_fields.get(str(part))
        if field is None:
            continue  # a dict key (e.g. a target name) or a list index
        models = _models_in(field.annotation)
        if not models:
            return None
        model, pending = models[0], (models if len(models) > 1 else [])
    return model


def config_from_dict(raw: dict[str, Any], *, base_dir: str | Path | None = None) -> ProjectConfig:
    """Build a :class:`ProjectConfig` from a plain dict (YAML already parsed).

    Examples
    --------
    >>> cfg = config_from_dict({"data": {"transactions": {"path": "t.parquet"}}})
    >>> cfg.features.windows_days
    [7, 30, 90]
    """
    raw = dict(raw or {})
    if base_dir is not None:
        data = dict(raw.get("data") or {})
        data.setdefault("base_dir", str(base_dir))
        raw["data"] = data
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, "")) from None


def load_config(path: str | Path) -> ProjectConfig:
    """Read a YAML project file; relative data paths resolve against its folder."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} not found; pass --config PATH to a YAML file")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {str(p)!r} is not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {str(p)!r} must hold a mapping at the top level")
    try:
        data = dict(raw.get("data") or {})
        data.setdefault("base_dir", str(p.resolve().parent))
        raw["data"] = data
        return ProjectConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, f"in {p}")) from None
