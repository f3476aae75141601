"""Batch prediction speed and peak memory: chunked ``run_predict`` vs the naive one-shot path.

What is timed: scoring an already-built feature frame of N customers (probabilities,
tiers, segments, actions, optionally reasons) and writing the predictions file.
Feature building is not included (see the features benchmark). Each mode runs in
its own process so that its peak RSS (``ru_maxrss``) is its own.

Modes
-----
chunked          ``run_predict(..., features=F)``: ``predict.chunk_size`` customers at a
                 time, streamed to the Parquet file (the CLI path).
naive (baseline) ``Predictor.score_frame(F)`` on all rows at once, then ``write_table``.

Models: trained with the project defaults (``model.kind: additive``) on a generated
world (``--train-customers``); the N-customer feature frame resamples that world's
feature rows (with new ids). Imports happen before the clock starts; loading the
bundles is timed.

Usage::

    .venv/bin/python benchmarks/predict.py --customers 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

AS_OF_KEY = "as_of"


def _prepare(work: Path, train_customers: int) -> tuple[Path, Path, Path, str]:
    """Train default bundles on a generated world once; return (config, models, seed, as_of)."""
    from mlscore.config import config_from_dict
    from mlscore.data import load_tables
    from mlscore.data.synthetic import generate_world
    from mlscore.features import RFMSegmenter, build_features, build_training_set
    from mlscore.modeling.train import fit_target

    models, seed_path, cfg_path = work / "models", work / "seed_features.parquet", work / "cfg.yaml"
    meta = work / "meta.json"
    if meta.is_file() and seed_path.is_file():
        return cfg_path, models, seed_path, json.loads(meta.read_text())[AS_OF_KEY]
    world = generate_world(work / "world", customers=train_customers, days=400, seed=42)
    raw = yaml.safe_load(world.config_path.read_text())
    raw["training"]["purge"] = False  # 12 weekly cutoffs cannot purge a 90-day horizon
    # the additive model is what `kind: auto` keeps unless gbdt wins by a margin; training
    # only it halves the set-up time (scoring cost is what is measured here)
    raw["model"] = {"kind": "additive"}
    cfg_path.write_text(yaml.safe_dump(raw))
    cfg = config_from_dict(raw, base_dir=world.config_path.parent)
    tables = load_tables(cfg)
    spec = None
    for target in cfg.targets:
        if (models / target / "bundle.json").is_file():  # resume an interrupted set-up
            from mlscore.features import FeatureSpec
            from mlscore.modeling.bundle import ScoringBundle

            done = ScoringBundle.load(models / target)
            spec = FeatureSpec.from_dict(done.feature_spec_dict)
            continue
        ts = build_training_set(tables, config=cfg, target=target, spec=spec)
        spec = ts.attrs["feature_spec"]
        if pd.api.types.is_integer_dtype(ts["cutoff"]):
            ts["cutoff"] = pd.to_datetime(ts["cutoff"], unit="s").astype("datetime64[ns]")
        res = fit_target(
            ts, config=cfg, target=target, feature_spec=spec, rfm_segmenter=RFMSegmenter()
        )
        res.bundle.save(models / target)
        print(f"trained {target}: {res.bundle!r}, test AUC {res.metrics['test_auc']:.3f}")
    feats = build_features(tables, cutoff=world.as_of, config=cfg, spec=spec)
    feats.attrs = {}  # the FeatureSpec in attrs is not Parquet metadata
    feats.to_parquet(seed_path, index=False)
    meta.write_text(json.dumps({AS_OF_KEY: world.as_of.isoformat()}))
    return cfg_path, models, seed_path, world.as_of.isoformat()


def _features(work: Path, seed_path: Path, n: int) -> Path:
    path = work / f"features_{n}.parquet"
    if path.is_file():
        return path
    seed = pd.read_parquet(seed_path)
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(seed), n)
    f = seed.iloc[rows].reset_index(drop=True)
    f["customer_id"] = [f"B{i:08d}" for i in range(n)]
    f.to_parquet(path, index=False)
    return path


def _child(args: argparse.Namespace) -> None:
    import mlscore.explain
    import mlscore.modeling.bundle  # noqa: F401  (imports are not what is measured)
    from mlscore.config import load_config
    from mlscore.io import write_table
    from mlscore.predict import Predictor, run_predict

    cfg = load_config(args.config)
    if args.chunk_size:
        predict = cfg.predict.model_copy(update={"chunk_size": args.chunk_size})
        cfg = cfg.model_copy(update={"predict": predict})
    feats = pd.read_parquet(args.features)
    load_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reasons = args.reasons == "yes"
    t0 = time.perf_counter()
    if args.child == "chunked":
        run_predict(
            cfg,
            as_of=args.as_of,
            out=args.out,
            model=args.models,
            features=feats,
            with_reasons=reasons,
        )
    else:
        p = Predictor(args.models, config=cfg, with_reasons=reasons)
        write_table(p.score_frame(feats, args.as_of), args.out)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps({"seconds": seconds, "peak_mb": peak_mb, "load_mb": load_mb, "rows": len(feats)})
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--train-customers", type=int, default=3000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/mlscore_bench_predict"))
    ap.add_argument("--modes", default="chunked,naive")
    ap.add_argument("--reasons", default="yes,no")
    ap.add_argument("--chunk-size", type=int, default=0, help="override predict.chunk_size")
    ap.add_argument("--child", choices=["chunked", "naive"])
    ap.add_argument("--config", type=Path)
    ap.add_argument("--models", type=Path)
    ap.add_argument("--features", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--as-of")
    args = ap.parse_args()
    if args.child:
        _child(args)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    cfg, models, seed, as_of = _prepare(args.work, args.train_customers)
    feats = _features(args.work, seed, args.customers)
    n_cols = len(pd.read_parquet(seed).columns)
    print(f"{args.customers:,} customers, {n_cols} feature-frame columns, models in {models}")
    results = {}
    for reasons in args.reasons.split(","):
        for mode in args.modes.split(","):
            out = args.work / f"pred_{mode}_{reasons}.parquet"
            if mode == "naive" and args.chunk_size:
                continue  # the baseline has no chunks
            cmd = [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--config",
                str(cfg),
                "--models",
                str(models),
                "--features",
                str(feats),
                "--out",
                str(out),
                "--as-of",
                as_of,
                "--reasons",
                reasons,
                "--chunk-size",
                str(args.chunk_size),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(
                    f"{mode:8s} reasons={reasons}: FAILED ({proc.returncode}) "
                    f"{proc.stderr.strip().splitlines()[-1:]}"
                )
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results[(mode, reasons)] = r
            print(
                f"{mode:8s} reasons={reasons:3s}: {r['seconds']:8.1f} s  "
                f"{r['rows'] / r['seconds']:10,.0f} customers/s  peak RSS {r['peak_mb']:8,.0f} MB "
                f"(after reading the features: {r['load_mb']:,.0f} MB)"
            )
    for reasons in args.reasons.split(","):
        c, n = results.get(("chunked", reasons)), results.get(("naive", reasons))
        if c and n:
            print(
                f"reasons={reasons}: chunked/naive time {c['seconds'] / n['seconds']:.2f}, "
                f"peak RSS {c['peak_mb'] / n['peak_mb']:.2f}"
            )


if __name__ == "__main__":
    main()
