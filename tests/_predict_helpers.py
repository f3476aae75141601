"""Small real scoring bundles for the predictor tests (trained with ``fit_target``).

The training set mimics ``build_training_set`` output: snapshots of customers at
rolling cutoffs with grammar-named features, the hand-set points baseline and a
label drawn from a known logistic model.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from mlscore.config import ProjectConfig, config_from_dict

FEATURES = [
    "pricing_view_count_30d",
    "email_click_count_7d",
    "days_since_last_activity",
    "purchase_count_90d",
    "amount_sum_90d",
]


def feature_frame(n: int, *, seed: int = 0, prefix: str = "c") -> pd.DataFrame:
    """One row per customer: ``customer_id``, the features and the hand-set points."""
    rng = np.random.default_rng(seed)
    visits = rng.poisson(1.5, n).astype(np.float64)
    clicks = rng.poisson(0.8, n).astype(np.float64)
    days = rng.exponential(40, n).round()
    purchases = rng.poisson(1.0, n).astype(np.float64)
    amount = np.round(purchases * rng.gamma(2.0, 30.0, n), 2)
    handset = np.maximum(0.0, 5 * visits + 3 * clicks - np.maximum(days - 30, 0))
    return pd.DataFrame(
        {
            "customer_id": [f"{prefix}{i:06d}" for i in range(n)],
            "pricing_view_count_30d": visits,
            "email_click_count_7d": clicks,
            "days_since_last_activity": days,
            "purchase_count_90d": purchases,
            "amount_sum_90d": amount,
            "baseline_handset_points": handset,
        }
    )


def training_set(kind: str, *, n: int = 500, n_cutoffs: int = 7, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed + (0 if kind == "conversion" else 100))
    frames = []
    for j, c in enumerate(pd.date_range("2024-01-01", periods=n_cutoffs, freq="14D")):
        f = feature_frame(n, seed=seed * 1000 + j)
        z = (
            0.6 * f["pricing_view_count_30d"]
            + 0.5 * f["email_click_count_7d"]
            - 0.02 * f["days_since_last_activity"]
            + 0.3 * f["purchase_count_90d"]
        )
        logit = (z - 1.0) if kind == "conversion" else (-z + 0.5)
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
        f["cutoff"] = c
        f["label"] = y
        frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    df["cutoff"] = pd.to_datetime(df["cutoff"]).astype("datetime64[ns]")
    return df


def config(**extra: Any) -> ProjectConfig:
    raw: dict[str, Any] = {
        "data": {"transactions": {"path": "t.parquet"}, "interactions": {"path": "i.parquet"}},
        "targets": {
            "conversion": {"kind": "conversion", "horizon_days": 14},
            "churn": {"kind": "churn", "horizon_days": 14, "lookback_days": 60},
        },
        "training": {"validation_cutoffs": 2, "test_cutoffs": 1},
        "model": {
            "min_positives": 20,
            "min_negatives": 20,
            "num_boost_round": 60,
            "early_stopping_rounds": 10,
            "params": {"min_data_in_leaf": 20},
            "kind": "additive",
            "calibration": "platt",
            "threads": 1,
        },
    }
    for k, v in extra.items():
        raw[k] = v
    return config_from_dict(raw)


class ThresholdRFM:
    """Stand-in for a fitted RFM segmenter: frozen edges on ``amount_sum_90d``."""

    def __init__(self, edge: float = 60.0) -> None:
        self.edge_ = edge

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        amount = features["amount_sum_90d"].to_numpy()
        seg = np.where(amount >= self.edge_, "champions", "hibernating")
        return pd.DataFrame({"rfm_segment": seg}, index=features.index)


@functools.cache
def fit_result(kind: str) -> Any:
    """``fit_target``'s result for ``kind`` on a tiny synthetic training set."""
    from mlscore.modeling.train import fit_target

    spec = {"feature_names": list(FEATURES), "categorical_features": []}
    return fit_target(training_set(kind), config=config(), target=kind, feature_spec=spec)


@functools.cache
def bundle(kind: str) -> Any:
    """A real ScoringBundle for ``kind`` trained on a tiny synthetic training set."""
    b = fit_result(kind).bundle
    if kind == "churn":
        b.rfm_segmenter = ThresholdRFM()
    return b
