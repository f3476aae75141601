"""Synthetic stacked training sets with the shape of ``build_training_set`` output."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlscore.config import ProjectConfig, config_from_dict


def make_training_set(
    *,
    n_customers: int = 600,
    n_cutoffs: int = 8,
    every_days: int = 14,
    seed: int = 0,
    signal: float = 1.0,
    base_logit: float = -1.5,
) -> pd.DataFrame:
    """customer_id, cutoff, 5 numeric features, days_since_last_activity, a baseline, label.

    The label is drawn from a known logistic model of the features, so the
    true probability of each row is known (column ``true_p``, not a feature).
    """
    rng = np.random.default_rng(seed)
    cutoffs = pd.date_range("2024-01-01", periods=n_cutoffs, freq=f"{every_days}D")
    frames = []
    for c in cutoffs:
        n = n_customers
        x = rng.normal(size=(n, 4))
        visits = rng.poisson(2.0, size=n).astype(np.int64)
        days = rng.exponential(30, size=n).round()
        logit = base_logit + signal * (1.2 * x[:, 0] - 0.8 * x[:, 1] + 0.4 * visits - 0.02 * days)
        p = 1 / (1 + np.exp(-logit))
        y = (rng.random(n) < p).astype(np.int64)
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": [f"c{i:05d}" for i in range(n)],
                    "cutoff": c,
                    "x0": x[:, 0],
                    "x1": x[:, 1],
                    "x2": x[:, 2],
                    "x3": x[:, 3],
                    "pricing_view_count_30d": visits,
                    "days_since_last_activity": days,
                    "baseline_handset_points": 5.0 * visits + rng.normal(0, 3, n),
                    "label": y,
                    "true_p": p,
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    df["cutoff"] = pd.to_datetime(df["cutoff"]).astype("datetime64[ns]")
    return df


FEATURES = ["x0", "x1", "x2", "x3", "pricing_view_count_30d", "days_since_last_activity"]


def make_config(tmp_path: Any = None, **model: Any) -> ProjectConfig:
    """A small-data config: low floors, 14-day horizon, fast boosting."""
    m = {
        "min_positives": 20,
        "min_negatives": 20,
        "num_boost_round": 300,
        "early_stopping_rounds": 20,
        "params": {"min_data_in_leaf": 20},
        "threads": 1,
    }
    m.update(model)
    raw: dict[str, Any] = {
        "data": {"transactions": {"path": "t.parquet"}},
        "targets": {"conversion": {"kind": "conversion", "horizon_days": 14}},
        "training": {"validation_cutoffs": 2, "test_cutoffs": 1},
        "model": m,
    }
    if tmp_path is not None:
        raw["tracking"] = {"uri": f"sqlite:///{tmp_path}/mlflow.db"}
    return config_from_dict(raw)


def spec_for(df: pd.DataFrame) -> dict[str, Any]:
    return {"feature_names": list(FEATURES), "categorical_features": []}


def shuffle_train_labels(df: pd.DataFrame, *, seed: int = 0, keep_last: int = 3) -> pd.DataFrame:
    """Deliberately worse data: labels permuted within all but the newest cutoffs."""
    out = df.copy()
    newest = sorted(out["cutoff"].unique())[-keep_last:]
    mask = ~out["cutoff"].isin(newest)
    rng = np.random.default_rng(seed)
    out.loc[mask, "label"] = rng.permutation(out.loc[mask, "label"].to_numpy())
    return out
