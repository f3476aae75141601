"""Distributed batch scoring on Apache Spark, same output as the local :class:`Predictor`.

What runs where
---------------
- **Driver**: loads each target's scoring bundle once (registry champion or
  bundle directory, exactly as :class:`~mlscore.predict.Predictor`), renders the
  feature SQL of the bundles' frozen :class:`~mlscore.features.FeatureSpec`, and
  broadcasts the predictor (a few MB: LightGBM trees, calibrator, tiers).
- **Executors**: run the feature SQL (Spark SQL, the same text DuckDB runs),
  then, partition by partition through ``mapInArrow``, encode the static
  attributes, apply each target's population rule and call
  :meth:`Predictor.score_frame` — the very code the local predictor runs — and
  write Parquet part files.

Because every output value of a row depends only on that row's features and on
what is frozen in the bundles, the distributed output equals the local one row
for row (probabilities, scores, tiers, segments, next actions, reasons).

Time semantics: scoring as of ``as_of`` uses features built from events with
``timestamp < as_of`` (midnight UTC); eligibility is each target's population at
that cutoff.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from mlscore.config import ChurnTarget, ConversionTarget, ProjectConfig
from mlscore.errors import DataError
from mlscore.features.labels import DAY, as_epoch
from mlscore.predict.predictor import Predictor, to_as_of

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame as SparkDataFrame

    from mlscore.features.spark_engine import SparkEngine
    from mlscore.features.spec import FeatureSpec

__all__ = ["SparkScoringResult", "spark_predict", "spark_score_features"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SparkScoringResult:
    """Where the predictions went and how many rows were written."""

    path: Path | None
    rows: int
    targets: list[str]
    predictions: Any  # the Spark DataFrame (lazy; re-evaluated if used again)


def _spark_type(col: str) -> str:
    if col.startswith(("p_", "score_")):
        return "double"
    if col == "as_of":
        return "timestamp_ntz"
    return "string"


def _arrow_schema(columns: Sequence[str]) -> pa.Schema:
    fields = []
    for c in columns:
        t = _spark_type(c)
        typ = {"double": pa.float64(), "timestamp_ntz": pa.timestamp("us")}.get(t, pa.string())
        fields.append(pa.field(c, typ))
    return pa.schema(fields)


def _target_of(predictor: Predictor, name: str) -> Any:
    tcfg = predictor.config.targets.get(name)
    if tcfg is None:
        from pydantic import TypeAdapter

        from mlscore.config import Target

        tcfg = TypeAdapter(Target).validate_python(predictor.models[name].bundle.target_config)
    return tcfg


def _population(df: pd.DataFrame, target: Any, event_index: Mapping[str, int]) -> np.ndarray:
    """Target population among the feature rows (all customers known before the cutoff).

    Same rule as :func:`mlscore.features.population`: conversion excludes (if
    configured) customers whose outcome happened before the cutoff; churn keeps
    customers active in ``[cutoff - lookback, cutoff)``.
    """
    n = len(df)
    if isinstance(target, ConversionTarget):
        if not target.exclude_converted:
            return np.ones(n, bool)
        if target.outcome == "purchase":
            return (df["_purchase_n"].to_numpy() == 0).astype(bool)
        i = event_index[str(target.event)]
        return (df[f"_n_event_{i}"].to_numpy() == 0).astype(bool)
    assert isinstance(target, ChurnTarget)
    lo = df["cutoff"].to_numpy() - target.lookback_days * DAY
    col = "_last_purchase_ts" if target.activity == "purchase" else "_last_activity_ts"
    last = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype="float64")
    return np.asarray(~np.isnan(last) & (last >= lo), dtype=bool)


def _batch_scorer(
    predictor: Predictor,
    specs: Sequence[FeatureSpec],
    as_of: pd.Timestamp,
    event_index: Mapping[str, int],
    schema: pa.Schema,
) -> Any:
    """The function ``mapInArrow`` runs on each executor (closes over plain objects)."""
    from mlscore.features.spark_engine import arrow_to_pandas

    targets = {t: _target_of(predictor, t) for t in predictor.targets}
    dtypes: dict[str, str] = {}
    attributes = []
    for spec in specs:
        dtypes.update(spec.dtypes())
        attributes += [a for a in spec.attributes if a not in attributes]

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            df = arrow_to_pandas(pa.Table.from_batches([batch]))
            for name, dtype in dtypes.items():
                if name in df.columns:
                    df[name] = df[name].astype(dtype)
            if "baseline_handset_points" in df.columns:
                df["baseline_handset_points"] = df["baseline_handset_points"].astype("float64")
            for a in attributes:
                raw = df.pop(f"_raw_{a.name}") if f"_raw_{a.name}" in df.columns else None
                if raw is None:
                    raw = pd.Series(None, index=df.index, dtype=object)
                df[f"attr_{a.name}"] = a.encode(raw.astype(object)).to_numpy()
            masks = {t: _population(df, tg, event_index) for t, tg in targets.items()}
            keep = np.zeros(len(df), bool)
            for m in masks.values():
                keep |= m
            if not keep.any():
                continue
            rows = np.flatnonzero(keep)
            features = df.iloc[rows].reset_index(drop=True)
            out = predictor.score_frame(
                features, as_of, eligible={t: m[rows] for t, m in masks.items()}
            )
            arrays = []
            for f in schema:
                col = out[f.name]
                if pa.types.is_string(f.type):
                    vals = col.astype(object).where(col.notna(), None).to_numpy(object)
                    arrays.append(pa.array(vals, type=f.type))
                elif pa.types.is_timestamp(f.type):
                    arrays.append(pa.array(col.astype("datetime64[us]").to_numpy(), type=f.type))
                else:
                    arrays.append(pa.array(col.to_numpy("float64"), type=f.type))
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    return score


def _specs(predictor: Predictor) -> list[FeatureSpec]:
    from mlscore.features.spec import FeatureSpec

    specs: list[FeatureSpec] = []
    seen: set[str] = set()
    for m in predictor.models.values():
        spec = getattr(m.bundle, "feature_spec", None)
        if isinstance(spec, Mapping):
            spec = FeatureSpec.from_dict(dict(spec))
        if spec is None:
            raise DataError(
                f"the {m.target!r} bundle has no feature spec; Spark scoring builds features "
                "from the frozen spec (retrain with mlscore >= this version)"
            )
        key = json.dumps(spec.to_dict(), sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            specs.append(spec)
    return specs


def spark_score_features(
    engine: SparkEngine,
    predictor: Predictor,
    as_of: Any,
) -> SparkDataFrame:
    """Lazy Spark DataFrame of predictions for the relations registered in ``engine``.

    The relations are those of :func:`mlscore.features.spark_engine.spark_relations`
    (registered with the cutoff ``as_of``). One row per customer eligible for at
    least one target, columns :meth:`Predictor.columns` (unordered).
    """
    from pyspark.sql import functions as F

    from mlscore.features.spark_engine import spark_feature_frame

    cutoff = to_as_of(as_of)
    c = as_epoch(cutoff)
    targets = {t: _target_of(predictor, t) for t in predictor.targets}
    events = list(
        dict.fromkeys(
            str(t.event)
            for t in targets.values()
            if isinstance(t, ConversionTarget) and t.outcome == "event"
        )
    )
    event_index = {e: i for i, e in enumerate(events)}
    specs = _specs(predictor)
    has_raw = engine.spark.catalog.tableExists("customers_raw")
    frame = spark_feature_frame(
        engine,
        specs[0],
        [c],
        extra_events=events,
        attributes_from="customers_raw" if has_raw else None,
    )
    for spec in specs[1:]:
        extra = spark_feature_frame(
            engine, spec, [c], attributes_from="customers_raw" if has_raw else None
        )
        new = [col for col in extra.columns if col not in frame.columns]
        if new:
            frame = frame.join(
                extra.select("customer_id", *[F.col(f"`{n}`") for n in new]),
                on="customer_id",
                how="full_outer",
            )
    schema = _arrow_schema(predictor.columns())
    ddl = ", ".join(f"`{f}` {_spark_type(f)}" for f in predictor.columns())
    scorer = _batch_scorer(predictor, specs, cutoff, event_index, schema)
    return frame.mapInArrow(scorer, ddl)


def spark_predict(
    config: ProjectConfig,
    *,
    as_of: Any,
    out: str | Path | None,
    model: Any = None,
    target: str | None = None,
    sources: Mapping[str, Any] | None = None,
    engine: SparkEngine | None = None,
    with_reasons: bool | None = None,
    lang: str | None = None,
    partition_by: Sequence[str] = (),
) -> SparkScoringResult:
    """Score every eligible customer as of ``as_of`` on Spark; write Parquet partitions.

    Time semantics: features use events with ``timestamp < as_of`` (midnight
    UTC); eligibility is each target's population at that cutoff.

    Parameters
    ----------
    config
        Project config; its ``spark`` section makes the session (unless
        ``engine`` is given) and ``spark.input`` names the inputs.
    as_of
        The run date (the features' cutoff).
    out
        Output folder: a Parquet dataset (one part file per partition; with
        ``partition_by``, Hive-style sub-folders). ``None``: do not write.
    model, target, with_reasons, lang
        As for :class:`~mlscore.predict.Predictor`.
    sources
        ``{interactions|transactions|customers: Parquet path | catalog table |
        Spark or pandas DataFrame}``; default ``config.spark.input``, else the
        tables loaded locally by :func:`mlscore.data.load_tables` (small data).
    engine
        A :class:`~mlscore.features.spark_engine.SparkEngine` (default from config).
    partition_by
        Output columns to partition the Parquet dataset by (e.g. ``segment``).

    Returns
    -------
    SparkScoringResult
    """
    from mlscore.features.spark_engine import SparkEngine, spark_relations

    cutoff = to_as_of(as_of)
    predictor = Predictor(
        model,
        config=config,
        targets=[target] if target else None,
        with_reasons=with_reasons,
        lang=lang,
    )
    eng = engine if engine is not None else SparkEngine.from_config(config)
    if sources is None:
        if config.spark.input:
            sources = dict(config.spark.input)
        else:
            from mlscore.data import extraction_date, load_tables

            tables = load_tables(config, as_of=extraction_date(config, cutoff.date()))
            sources = {
                "interactions": tables.interactions,
                "transactions": tables.transactions,
                "customers": tables.customers,
            }
    spark_relations(eng, sources, [as_epoch(cutoff)])
    preds = spark_score_features(eng, predictor, cutoff)
    rows = -1
    path = None
    if out is not None:
        path = Path(out)
        writer = preds.write.mode("overwrite")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(str(path))
        rows = eng.spark.read.parquet(str(path)).count()
        log.info("spark predictions: %d rows written to %s", rows, path)
    return SparkScoringResult(path=path, rows=rows, targets=predictor.targets, predictions=preds)
