"""Training time for ~1 M stacked snapshot rows: additive (one feature per tree) vs gbdt.

Usage: .venv/bin/python benchmarks/train.py [--rows 1000000] [--features 60] [--threads 2]

A synthetic stacked training set (12 cutoffs, ``rows`` rows, numeric features
of which a few carry signal, one two-feature interaction) is fitted with
``fit_target`` — time split, LightGBM with early stopping, calibration,
baselines — once per model kind. Prints seconds, trees and test AUC per kind and
the ratio additive / gbdt.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from mlscore.config import config_from_dict
from mlscore.modeling.train import fit_target


def make_set(rows: int, n_features: int, n_cutoffs: int = 12, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    per = rows // n_cutoffs
    x = rng.normal(size=(per * n_cutoffs, n_features)).astype(np.float64)
    logit = -2.0 + 0.8 * x[:, 0] - 0.6 * x[:, 1] + 0.4 * x[:, 2] + 0.5 * x[:, 3] * x[:, 4]
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    cutoffs = pd.date_range("2024-01-01", periods=n_cutoffs, freq="14D")
    df = pd.DataFrame(x, columns=[f"f{i:03d}" for i in range(n_features)])
    df.insert(0, "cutoff", np.repeat(cutoffs.to_numpy(), per))
    df.insert(0, "customer_id", np.tile(np.arange(per).astype(str), n_cutoffs))
    df["baseline_handset_points"] = x[:, 0] + rng.normal(0, 2, len(x))
    df["label"] = y
    return df


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    df = make_set(args.rows, args.features)
    print(
        f"{len(df):,} rows x {args.features} features, 12 cutoffs; "
        f"threads {args.threads}; load avg {os.getloadavg()[0]:.1f}"
    )
    results = {}
    for kind in ("additive", "gbdt"):
        cfg = config_from_dict(
            {
                "data": {"transactions": {"path": "t.parquet"}},
                "targets": {"conversion": {"kind": "conversion", "horizon_days": 14}},
                "model": {"kind": kind, "threads": args.threads},
            }
        )
        t = time.perf_counter()
        fit = fit_target(df, config=cfg, target="conversion")
        sec = time.perf_counter() - t
        results[kind] = sec
        print(
            f"{kind:<9} {sec:8.1f} s  trees {int(fit.metrics['n_trees']):4d}  "
            f"train rows {int(fit.metrics['train_rows']):,}  "
            f"test AUC {fit.metrics['test_auc']:.4f}  "
            f"({fit.metrics['train_rows'] / sec:,.0f} train rows/s)"
        )
    print(f"ratio additive / gbdt time: {results['additive'] / results['gbdt']:.2f}")


if __name__ == "__main__":
    main()
