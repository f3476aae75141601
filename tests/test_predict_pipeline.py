"""The whole path on a generated project: train real bundles with the frozen feature spec
and RFM segmenter, export them, score with ``mlscore predict``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mlscore.cli import app
from mlscore.config import config_from_dict
from mlscore.data import load_tables
from mlscore.data.synthetic import generate_world
from mlscore.features import RFMSegmenter, build_training_set
from mlscore.modeling.train import fit_target
from mlscore.predict import Predictor

runner = CliRunner()


def _small(raw: dict[str, Any]) -> dict[str, Any]:
    raw = dict(raw)
    raw["features"] = {
        "windows_days": [30],
        "half_lives_days": [14],
        "channels": False,
        "rfm_windows_days": [90],
    }
    raw["targets"] = {
        "conversion": {"kind": "conversion", "outcome": "purchase", "horizon_days": 28},
        "churn": {
            "kind": "churn",
            "activity": "purchase",
            "horizon_days": 28,
            "lookback_days": 120,
        },
    }
    raw["training"] = {
        "every_days": 14,
        "n_cutoffs": 6,
        "validation_cutoffs": 2,
        "test_cutoffs": 1,
        "purge": False,
    }
    raw["model"] = {
        "kind": "additive",
        "num_boost_round": 40,
        "early_stopping_rounds": 10,
        "calibration": "platt",
        "min_positives": 10,
        "min_negatives": 10,
        "threads": 1,
    }
    raw["predict"] = {"chunk_size": 1000}
    return raw


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("predict_pipeline")
    world = generate_world(root / "world", customers=600, days=240, seed=8)
    raw = _small(yaml.safe_load(world.config_path.read_text()))
    cfg_path = world.config_path.with_name("small.yaml")
    cfg_path.write_text(yaml.safe_dump(raw))
    cfg = config_from_dict(raw, base_dir=world.config_path.parent)
    tables = load_tables(cfg)
    for target in cfg.targets:
        ts = build_training_set(tables, config=cfg, target=target)
        if pd.api.types.is_integer_dtype(ts["cutoff"]):
            ts["cutoff"] = pd.to_datetime(ts["cutoff"], unit="s").astype("datetime64[ns]")
        res = fit_target(
            ts,
            config=cfg,
            target=target,
            feature_spec=ts.attrs["feature_spec"],
            rfm_segmenter=RFMSegmenter(),
        )
        res.bundle.save(root / "models" / target)
    return {
        "root": root,
        "config": cfg_path,
        "cfg": cfg,
        "tables": tables,
        "as_of": world.as_of.isoformat(),
    }


@pytest.mark.slow
def test_predict_with_real_bundles(trained: dict[str, Any]) -> None:
    root = trained["root"]
    out = root / "out" / "predictions.parquet"
    res = runner.invoke(
        app,
        [
            "predict",
            "--config",
            str(trained["config"]),
            "--as-of",
            trained["as_of"],
            "--out",
            str(out),
            "--model",
            str(root / "models"),
            "--export",
            str(root / "out" / "crm.csv"),
        ],
        env={"CI": "true"},
    )
    assert res.exit_code == 0, res.output
    pred = pd.read_parquet(out)
    assert pred["score_conversion"].between(0, 100).all()
    # RFM segments come from the frozen segmenter; buyers get a named segment
    assert pred["rfm_segment"].notna().all()
    assert (pred["rfm_segment"] != "no_purchase").any()
    # churn population = purchasers in the lookback window; the others get NaN
    assert pred["p_churn"].isna().any() and pred["p_churn"].notna().any()
    # reasons are sentences with points ("+1 point", "-12 points"); "" when no reason
    # is worth half a point
    reasons = pred["reasons_conversion"]
    assert (reasons.str.contains(r"[+-]\d+ points?\b") | (reasons == "")).all()
    assert (reasons != "").mean() > 0.9


@pytest.mark.slow
def test_predict_from_tables_matches_a_single_customer(trained: dict[str, Any]) -> None:
    root = trained["root"]
    p = Predictor(root / "models", config=trained["cfg"])
    whole = p.predict(trained["tables"], trained["as_of"]).set_index("customer_id")
    feats, masks = p.prepare(trained["tables"], trained["as_of"])
    i = int(np.flatnonzero(masks["churn"])[3])
    alone = p.score_frame(
        feats.iloc[[i]].reset_index(drop=True),
        trained["as_of"],
        eligible={t: m[[i]] for t, m in masks.items()},
    ).set_index("customer_id")
    cid = feats["customer_id"].iloc[i]
    pd.testing.assert_series_equal(alone.loc[cid], whole.loc[cid], check_names=False)


@pytest.mark.slow
def test_attribute_dropped_from_the_project_exits_2(trained: dict[str, Any]) -> None:
    raw = yaml.safe_load(Path(trained["config"]).read_text())
    raw["data"]["customers"]["attributes"] = ["country"]  # the models also use plan, ...
    cfg_path = Path(trained["config"]).with_name("fewer_attributes.yaml")
    cfg_path.write_text(yaml.safe_dump(raw))
    res = runner.invoke(
        app,
        [
            "predict",
            "--config",
            str(cfg_path),
            "--as-of",
            trained["as_of"],
            "--out",
            str(trained["root"] / "x.parquet"),
            "--model",
            str(trained["root"] / "models"),
        ],
        env={"CI": "true"},
    )
    assert res.exit_code == 2, res.output
    assert "attr_plan" in res.output
