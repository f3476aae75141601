"""Model quality on a generated world: model vs oracle vs baselines (same test rows).

Usage: .venv/bin/python benchmarks/quality.py [--customers 20000] [--seed 0] [--threads 2]

Generates a world with known true purchase probabilities, builds the stacked
conversion training set, fits the model (time split, calibration) and prints
test AUC / PR AUC / log loss / ECE for the oracle (true probabilities), the
model and each baseline on the SAME test cutoff rows, with ratios
(model AUC - 0.5) / (oracle AUC - 0.5).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mlscore.config import load_config
from mlscore.data import load_tables
from mlscore.data.synthetic import generate_world, oracle_scores
from mlscore.features import RFMSegmenter, build_training_set
from mlscore.modeling.metrics import binary_metrics
from mlscore.modeling.split import as_timestamps
from mlscore.modeling.train import fit_target, planned_cutoffs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--target", default="conversion")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        world = generate_world(Path(tmp) / "w", customers=args.customers, seed=args.seed)
        cfg = load_config(world.config_path)
        model = cfg.model.model_copy(update={"threads": args.threads})
        cfg = cfg.model_copy(update={"model": model})
        tables = load_tables(cfg)
        cutoffs = planned_cutoffs(tables, config=cfg, target=args.target)
        ts = build_training_set(tables, config=cfg, target=args.target, cutoffs=cutoffs)
        t1 = time.perf_counter()
        has_tx = tables.transactions is not None and not tables.transactions.empty
        fit = fit_target(
            ts, config=cfg, target=args.target, rfm_segmenter=RFMSegmenter() if has_tx else None
        )
        t2 = time.perf_counter()
        cut = as_timestamps(fit.test_frame["cutoff"]).iloc[0]
        ids = ts.loc[(as_timestamps(ts["cutoff"]) == cut).to_numpy(), "customer_id"].to_numpy()
        truth = pd.read_parquet(Path(world.out_dir) / "truth.parquet")
        kind = cfg.targets[args.target].kind
        oracle = oracle_scores(
            truth, [cut], horizon_days=cfg.targets[args.target].horizon_days, kind=kind
        )
        rows = pd.DataFrame({"customer_id": ids, "label": fit.test_frame["label"].to_numpy()})
        rows = rows.merge(oracle, on="customer_id", how="left")
        om = binary_metrics(rows["label"], rows["p_oracle"].fillna(0).to_numpy(np.float64))
    m = fit.metrics
    print(
        f"world: {args.customers} customers, seed {args.seed}; target {args.target}; "
        f"training set {len(ts):,} rows x {int(m['n_features'])} features; "
        f"test cutoff {cut.date()} ({int(m['test_rows']):,} rows, "
        f"{int(m['test_positives']):,} positives); load avg {os.getloadavg()[0]:.1f}"
    )
    print(
        f"data+features {t1 - t0:.1f} s, fit (additive+gbdt, calibration) {t2 - t1:.1f} s; "
        f"kept {fit.bundle.metadata['model_kind']} "
        f"(valid AUC {fit.kind_auc}), calibration {fit.bundle.calibrator.method}"
    )
    print(
        f"{'score':<28}{'AUC':>8}{'PR AUC':>8}{'lift10':>8}{'logloss':>9}{'ECE':>8}"
        f"{'AUC ratio':>11}"
    )
    denom = om["auc"] - 0.5

    def line(
        name: str, auc: float, pr: float, lift: float, ll: float | None, ece: float | None
    ) -> None:
        ll_s = f"{ll:9.4f}" if ll is not None else f"{'-':>9}"
        ece_s = f"{ece:8.4f}" if ece is not None else f"{'-':>8}"
        print(f"{name:<28}{auc:8.4f}{pr:8.4f}{lift:8.2f}{ll_s}{ece_s}{(auc - 0.5) / denom:11.3f}")

    line("oracle (true p)", om["auc"], om["pr_auc"], om["lift_at_10"], om["log_loss"], om["ece"])
    line(
        "model",
        m["test_auc"],
        m["test_pr_auc"],
        m["test_lift_at_10"],
        m["test_log_loss"],
        m["test_ece"],
    )
    for name in sorted(
        {
            k[len("baseline_") :].split("_test_")[0]
            for k in m
            if "_test_" in k and k.startswith("baseline_")
        }
    ):
        p = f"baseline_{name}_test_"
        line(f"baseline {name}", m[p + "auc"], m[p + "pr_auc"], m[p + "lift_at_10"], None, None)
    print(
        f"model - oracle AUC: {m['test_auc'] - om['auc']:+.4f}; model - handset AUC: "
        f"{m['test_auc'] - m.get('baseline_handset_points_test_auc', float('nan')):+.4f}"
    )


if __name__ == "__main__":
    main()
