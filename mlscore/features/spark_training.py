"""Training from a Spark-built training set: build on the cluster, sample to the driver.

The training set ``(customer_id, cutoff, features…, baseline_handset_points,
label)`` is built by Spark from the same SQL as :func:`build_training_set`
(:func:`spark_training_set`), stays distributed, and only a stratified sample
comes to the driver (:func:`sample_training_set`) where the normal modeling code
(:func:`mlscore.modeling.train.fit_target`) trains on it.

Sampling (stratified by cutoff and label, deterministic)
-------------------------------------------------------
- The **newest** ``holdout_cutoffs`` cutoffs (validation + test of
  ``config.training``) are kept *unsampled* (fraction 1) — calibration and the
  reported metrics are therefore fitted and measured on the true class balance,
  which corrects the base-rate shift of the downsampled training rows.
- In the other cutoffs, positives are all kept up to ``max_positives``; beyond
  it they are sampled with one fraction across cutoffs. Negatives fill the rest
  of ``max_rows`` with one fraction across cutoffs (so each cutoff keeps its
  share).
- A row is kept when a hash of ``(customer_id, cutoff, seed)`` mapped to
  ``[0, 1)`` is below its stratum's fraction: the same seed gives the same
  sample whatever the partitioning. ``sample_weight = 1 / fraction``.

Driver limits: the sample is collected through Arrow; a row of ~150 float
features takes ~1.3 kB in pandas, so ``max_rows = 2_000_000`` needs ~2.6 GB on
the driver for the frame plus about as much for LightGBM's binned copy: give
the driver ``spark.driver.memory`` >= 8g for 2 M rows, or lower ``max_rows``.
Time semantics: those of :func:`build_training_set` (features ``ts < c``,
labels ``c <= ts < c + horizon``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from mlscore.config import ChurnTarget, ConversionTarget, ProjectConfig
from mlscore.errors import DataError
from mlscore.features.labels import DAY, as_epoch, get_target

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column
    from pyspark.sql import DataFrame as SparkDataFrame

    from mlscore.features.spark_engine import SparkEngine
    from mlscore.features.spec import FeatureSpec

__all__ = ["sample_training_set", "spark_training_set"]

log = logging.getLogger(__name__)


def _population_col(target: Any) -> Column:
    from pyspark.sql import functions as F

    if isinstance(target, ConversionTarget):
        if not target.exclude_converted:
            return F.lit(True)
        if target.outcome == "purchase":
            return F.col("_purchase_n") == 0
        return F.col("_n_event_0") == 0
    assert isinstance(target, ChurnTarget)
    col = "_last_purchase_ts" if target.activity == "purchase" else "_last_activity_ts"
    lo = F.col("cutoff") - F.lit(target.lookback_days * DAY)
    return F.col(col).isNotNull() & (F.col(col) >= lo)


def spark_training_set(
    engine: SparkEngine,
    *,
    config: ProjectConfig,
    target: str,
    sources: Mapping[str, Any],
    cutoffs: Sequence[object],
    spec: FeatureSpec,
) -> SparkDataFrame:
    """Stacked training set built by Spark, lazy (nothing collected).

    Time semantics: features of cutoff ``c`` use events with ``ts < c``; the
    label uses events with ``c <= ts < c + horizon`` (as :func:`build_training_set`).
    Columns: ``customer_id``, ``cutoff``, the spec's features (static
    attributes raw, as ``_raw_<name>``, encoded after sampling), the
    ``baseline_handset_points``, ``label`` (0/1).
    """
    from pyspark.sql import functions as F

    from mlscore.features.spark_engine import spark_feature_frame, spark_relations
    from mlscore.features.sql import render_labels_sql

    name, tgt = get_target(config, target)
    cs = sorted({as_epoch(c) for c in cutoffs})
    if not cs:
        raise DataError("no cutoff given: pass at least one cutoff")
    present = spark_relations(engine, sources, cs)
    extra = [str(tgt.event)] if isinstance(tgt, ConversionTarget) and tgt.outcome == "event" else []
    has_raw = engine.spark.catalog.tableExists("customers_raw")
    feats = spark_feature_frame(
        engine, spec, cs, extra_events=extra, attributes_from="customers_raw" if has_raw else None
    )
    feats = feats.where(_population_col(tgt))
    hits = engine.sql(
        render_labels_sql(
            tgt,
            has_interactions="interactions" in present,
            has_transactions="transactions" in present,
            max_cutoff=max(cs),
        )
    ).select("customer_id", "cutoff", F.lit(1).alias("_hit"))
    df = feats.join(hits, on=["customer_id", "cutoff"], how="left")
    hit = F.col("_hit").isNotNull()
    label = hit if isinstance(tgt, ConversionTarget) else ~hit
    df = df.withColumn("label", label.cast("bigint"))
    keep = [c for c in df.columns if not c.startswith("_") or c.startswith("_raw_")]
    log.info("spark training set for %s over %d cutoffs (lazy)", name, len(cs))
    return df.select(*[F.col(f"`{c}`") for c in keep])


def sample_training_set(
    training_set: SparkDataFrame,
    *,
    max_rows: int = 2_000_000,
    max_positives: int | None = None,
    holdout_cutoffs: int = 0,
    seed: int = 42,
    spec: FeatureSpec | None = None,
) -> pd.DataFrame:
    """A stratified, weighted sample of a Spark training set, collected to the driver.

    Parameters
    ----------
    training_set
        Spark DataFrame with ``customer_id``, ``cutoff``, ``label`` (0/1).
    max_rows
        Target size of the sampled *training* cutoffs (the holdout cutoffs come
        on top; they are counted first and an error is raised if they alone
        exceed ``max_rows``).
    max_positives
        Cap on kept training positives (default ``max_rows // 2``).
    holdout_cutoffs
        The newest cutoffs kept unsampled (validation + test): calibrate and
        evaluate on them.
    seed
        Seed of the hash that picks rows (same seed, same sample).
    spec
        The feature spec: static attributes (``_raw_<name>``) are encoded with
        its frozen codes, and the result gets ``attrs["feature_spec"]``.

    Returns
    -------
    pandas.DataFrame
        The sampled rows sorted by cutoff then customer id, with
        ``sample_weight`` (``1 / fraction`` of the row's stratum);
        ``attrs["sampling"]`` lists each stratum's counts and fraction.
    """
    from pyspark.sql import functions as F

    from mlscore.features.spark_engine import _collect_arrow, arrow_to_pandas

    counts = arrow_to_pandas(training_set.groupBy("cutoff", "label").count().toArrow())
    if counts.empty:
        raise DataError("the Spark training set is empty: no customer in the population")
    cutoffs = sorted(int(c) for c in counts["cutoff"].unique())
    hold = set(cutoffs[len(cutoffs) - holdout_cutoffs :]) if holdout_cutoffs else set()
    counts["holdout"] = counts["cutoff"].astype("int64").isin(hold)
    n_hold = int(counts.loc[counts["holdout"], "count"].sum())
    if n_hold > max_rows:
        raise DataError(
            f"the {len(hold)} holdout cutoffs alone have {n_hold} rows > max_rows={max_rows}; "
            "raise max_rows (and spark.driver.memory) or use fewer validation/test cutoffs"
        )
    train = counts[~counts["holdout"]]
    pos = int(train.loc[train["label"] == 1, "count"].sum())
    neg = int(train.loc[train["label"] == 0, "count"].sum())
    cap_pos = max_rows // 2 if max_positives is None else max_positives
    f_pos = 1.0 if pos <= cap_pos else cap_pos / pos
    budget = max(max_rows - min(pos, cap_pos), 0)
    f_neg = 1.0 if neg <= budget else budget / neg
    counts["fraction"] = [
        1.0 if h else (f_pos if lab == 1 else f_neg)
        for h, lab in zip(counts["holdout"], counts["label"], strict=True)
    ]
    frac = F.lit(1.0)
    for c in cutoffs:
        if c in hold:
            continue
        frac = F.when((F.col("cutoff") == c) & (F.col("label") == 1), F.lit(f_pos)).otherwise(frac)
        frac = F.when((F.col("cutoff") == c) & (F.col("label") == 0), F.lit(f_neg)).otherwise(frac)
    # uniform in [0, 1) from a hash of the row's key and the seed
    u = (F.abs(F.xxhash64("customer_id", "cutoff", F.lit(int(seed)))) % 1_000_000_007) / F.lit(
        1_000_000_007.0
    )
    sampled = (
        training_set.withColumn("_f", frac)
        .where(u < F.col("_f"))
        .withColumn("sample_weight", 1.0 / F.col("_f"))
        .drop("_f")
    )
    df = arrow_to_pandas(_collect_arrow(sampled))
    if spec is not None:
        for name, dtype in spec.dtypes().items():
            if name in df.columns:
                df[name] = df[name].astype(dtype)
        for a in spec.attributes:
            raw = df.pop(f"_raw_{a.name}") if f"_raw_{a.name}" in df.columns else None
            if raw is None:
                raw = pd.Series(None, index=df.index, dtype=object)
            df[f"attr_{a.name}"] = a.encode(raw.astype(object)).to_numpy()
        cols = ["customer_id", "cutoff", *spec.feature_names]
        rest = [c for c in df.columns if c not in cols]
        df = df[[*cols, *rest]]
        df.attrs["feature_spec"] = spec
    df["label"] = df["label"].astype("int64")
    df = df.sort_values(["cutoff", "customer_id"], kind="stable").reset_index(drop=True)
    df.attrs["sampling"] = counts.to_dict("records")
    df.attrs["cutoffs"] = cutoffs
    log.info(
        "sampled %d of %d rows to the driver (positives x%.3f, negatives x%.3f)",
        len(df),
        int(counts["count"].sum()),
        f_pos,
        f_neg,
    )
    return df
