"""Training sets built by Spark (lazy) equal DuckDB's; stratified sampling to the driver."""

from __future__ import annotations

import numpy as np
import pytest
from _spark_helpers import D, random_tables, spark  # noqa: F401

from mlscore.config import config_from_dict
from mlscore.features import FeatureSpec, build_training_set
from mlscore.features.engine import DuckDBEngine
from mlscore.features.spark_engine import SparkEngine
from mlscore.features.spark_training import sample_training_set, spark_training_set

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def test_spark_training_set_and_sampling(spark) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    tables = random_tables(21, n_customers=120, n_events=2500)
    cfg = config_from_dict(
        {
            "data": {
                "interactions": {"path": "i.parquet"},
                "transactions": {"path": "t.parquet"},
                "customers": {"path": "c.parquet", "attributes": ["plan", "seats"]},
            },
            "targets": {"conversion": {"kind": "conversion", "horizon_days": 30}},
        }
    )
    t0 = int(tables.interactions["ts"].min())
    cutoffs = [t0 + d * D for d in (60, 74, 88, 102, 116)]
    spec = FeatureSpec.from_config(cfg, tables)
    duck = build_training_set(
        tables, config=cfg, target="conversion", cutoffs=cutoffs, spec=spec, engine=DuckDBEngine()
    )
    sources = {n: getattr(tables, n) for n in ("interactions", "transactions", "customers")}
    lazy = spark_training_set(
        SparkEngine(spark),
        config=cfg,
        target="conversion",
        sources=sources,
        cutoffs=cutoffs,
        spec=spec,
    ).cache()
    full = sample_training_set(lazy, max_rows=10**6, spec=spec)
    assert (full["sample_weight"] == 1.0).all()
    full = full.drop(columns="sample_weight")
    assert list(full.columns) == list(duck.columns)
    assert len(full) == len(duck)
    for col in duck.columns:
        a, b = duck[col].to_numpy(), full[col].to_numpy()
        if duck[col].dtype.kind == "f":
            assert np.isclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True).all(), col
        else:
            assert (a == b).all(), col

    # a small sample: holdout cutoffs whole, all positives kept, negatives downsampled
    n_pos_train = int(duck.loc[duck["cutoff"] < max(cutoffs), "label"].sum())
    n_hold = int((duck["cutoff"] == max(cutoffs)).sum())
    small = sample_training_set(
        lazy, max_rows=n_pos_train + 60, max_positives=n_pos_train, holdout_cutoffs=1, seed=7
    )
    again = sample_training_set(
        lazy, max_rows=n_pos_train + 60, max_positives=n_pos_train, holdout_cutoffs=1, seed=7
    )
    assert small["customer_id"].tolist() == again["customer_id"].tolist()  # deterministic
    hold = small[small["cutoff"] == max(cutoffs)]
    assert len(hold) == n_hold and (hold["sample_weight"] == 1.0).all()
    train = small[small["cutoff"] < max(cutoffs)]
    assert int(train["label"].sum()) == n_pos_train
    neg = train[train["label"] == 0]
    n_neg_all = int((duck.loc[duck["cutoff"] < max(cutoffs), "label"] == 0).sum())
    assert 20 < len(neg) < 110  # about 60 of n_neg_all
    assert np.allclose(neg["sample_weight"], n_neg_all / 60)
    # the weights give back the population size (in expectation)
    assert abs(neg["sample_weight"].sum() - n_neg_all) < 0.5 * n_neg_all
    lazy.unpersist()
