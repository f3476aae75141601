"""Distributed scoring on a real local Spark equals the local Predictor, row for row.

A tiny generated world, two real bundles (conversion, churn) trained with the
modeling API, scored as of the extraction date by :class:`Predictor` (DuckDB
features, local) and by :func:`spark_predict` (Spark SQL features, mapInArrow).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _spark_helpers import spark  # noqa: F401

from mlscore.config import load_config
from mlscore.data import load_tables
from mlscore.data.synthetic import generate_world
from mlscore.features import RFMSegmenter, build_training_set
from mlscore.features.spark_engine import SparkEngine
from mlscore.modeling.train import fit_target
from mlscore.predict import Predictor
from mlscore.predict.spark_scoring import spark_predict

pytestmark = [pytest.mark.slow, pytest.mark.spark]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with warnings.catch_warnings():  # the generator's own pandas deprecations are not ours
        warnings.simplefilter("ignore")
        w = generate_world(tmp_path_factory.mktemp("world"), customers=400, days=240, seed=3)
    cfg = load_config(w.config_path)
    cfg = cfg.model_copy(
        update={
            "model": cfg.model.model_copy(
                update={
                    "min_positives": 10,
                    "min_negatives": 10,
                    "num_boost_round": 40,
                    "early_stopping_rounds": 10,
                    "kind": "gbdt",
                    "threads": 1,
                }
            ),
            "targets": {
                "conversion": cfg.targets["conversion"],
                "churn": cfg.targets["churn"].model_copy(update={"horizon_days": 30}),
            },
        }
    )
    tables = load_tables(cfg)
    bundles = {}
    for target in ("conversion", "churn"):
        ts = build_training_set(tables, config=cfg, target=target)
        fit = fit_target(ts, config=cfg, target=target, rfm_segmenter=RFMSegmenter())
        bundles[target] = fit.bundle
    return {"config": cfg, "tables": tables, "bundles": bundles, "as_of": w.as_of, "world": w}


def test_spark_scoring_equals_local_predictor(spark, world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    cfg, tables, bundles = world["config"], world["tables"], world["bundles"]
    local = Predictor(bundles, config=cfg).predict(tables, as_of=world["as_of"])
    out = tmp_path / "preds"
    res = spark_predict(
        cfg,
        as_of=world["as_of"],
        out=out,
        model=bundles,
        engine=SparkEngine(spark),
        sources={
            "interactions": tables.interactions,
            "transactions": tables.transactions,
            "customers": tables.customers,
        },
    )
    assert res.rows == len(local) > 100
    assert len(list(out.glob("part-*.parquet"))) >= 1
    dist = pd.read_parquet(out).sort_values("customer_id").reset_index(drop=True)
    assert list(dist.columns) == list(local.columns)
    assert (dist["customer_id"].to_numpy() == local["customer_id"].to_numpy()).all()
    for t in ("conversion", "churn"):
        p, q = local[f"p_{t}"].to_numpy(), dist[f"p_{t}"].to_numpy()
        assert np.isclose(p, q, rtol=1e-12, atol=0, equal_nan=True).all(), t
        assert np.array_equal(local[f"score_{t}"], dist[f"score_{t}"], equal_nan=True)
        for col in (f"tier_{t}", f"reasons_{t}", f"model_{t}"):
            assert local[col].fillna("<NA>").tolist() == dist[col].fillna("<NA>").tolist(), col
    for col in ("segment", "engagement_tier", "rfm_segment", "next_action"):
        assert local[col].fillna("<NA>").tolist() == dist[col].fillna("<NA>").tolist(), col
    assert (pd.to_datetime(dist["as_of"]) == pd.to_datetime(local["as_of"])).all()
    # both targets really scored somebody, and the reasons are real sentences
    assert local["p_churn"].notna().sum() > 10 and local["p_conversion"].notna().sum() > 10
    assert local["reasons_conversion"].str.len().max() > 10


def test_spark_scoring_from_parquet_inputs_and_partitions(spark, world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Inputs read by Spark from Parquet (canonical columns); output partitioned by segment."""
    cfg, tables, bundles = world["config"], world["tables"], world["bundles"]
    paths = {}
    for name in ("interactions", "transactions", "customers"):
        paths[name] = str(tmp_path / f"{name}.parquet")
        getattr(tables, name).to_parquet(paths[name], index=False)
    cfg2 = cfg.model_copy(update={"spark": cfg.spark.model_copy(update={"input": paths})})
    local = Predictor(bundles["conversion"], config=cfg, with_reasons=False).predict(
        tables, as_of=world["as_of"]
    )
    res = spark_predict(
        cfg2,
        as_of=world["as_of"],
        out=tmp_path / "preds",
        model=bundles["conversion"],
        engine=SparkEngine(spark),
        with_reasons=False,
        partition_by=["segment"],
    )
    assert {p.name.split("=")[0] for p in (tmp_path / "preds").glob("segment=*")} == {"segment"}
    dist = spark.read.parquet(str(tmp_path / "preds")).toPandas()
    dist = dist.sort_values("customer_id").reset_index(drop=True)
    assert res.rows == len(local)
    assert np.isclose(local["p_conversion"], dist["p_conversion"], rtol=1e-12, atol=0).all()
    assert local["segment"].tolist() == dist["segment"].tolist()
