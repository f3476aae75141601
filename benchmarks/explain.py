"""Benchmark: reasons per second (exact) vs shap.TreeExplainer, and model size vs AUC vs speed.

Run::

    .venv/bin/python benchmarks/explain.py            # full run (a few minutes, 2 threads)
    .venv/bin/python benchmarks/explain.py --quick    # smaller, for a smoke test

Data: a generated customer base with grammar-named features (6 event types x
count windows / total / decay / recency, activity, RFM, one attribute) and a
label from a known logistic model with non-linear effects and one two-feature
interaction (so the unconstrained model has something to win).

1. For every model size (additive = one feature per tree, and unconstrained
   gbdt; num_leaves 7/15/63; early stopping on a validation slice, max 1000
   rounds at learning rate 0.05 — the training defaults) it reports trees,
   test AUC and full-reason throughput (exact contributions → groups → 0–100
   points → top-3 reasons per direction in words → the compact string).
2. For the default model (additive, 15 leaves) it times, on the same rows in
   the same run: our full reasons pipeline, LightGBM ``pred_contrib`` alone,
   and ``shap.TreeExplainer(...).shap_values`` alone (contributions only: the
   baseline does less work), prints the ratio and the projection for 1 M
   customers.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from mlscore.explain import compact_reasons, compute_contributions, explain, top_reasons

EVENTS = [
    "pricing_view",
    "email_click",
    "email_open",
    "webinar_attended",
    "form_submit",
    "page_view",
]
RATES = [1.0, 0.8, 2.0, 0.2, 0.1, 4.0]
EFFECT = [0.35, 0.25, 0.05, 0.7, 0.9, 0.03]


def make_data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    logit = np.full(n, -3.0)
    recent: dict[str, np.ndarray] = {}
    for e, rate, eff in zip(EVENTS, RATES, EFFECT, strict=True):
        engaged = rng.gamma(1.0, rate, n)
        c7 = rng.poisson(engaged * 7 / 90)
        c30 = c7 + rng.poisson(engaged * 23 / 90)
        c90 = c30 + rng.poisson(engaged * 60 / 90)
        tot = c90 + rng.poisson(engaged * 2)
        cols[f"{e}_count_7d"] = c7
        cols[f"{e}_count_30d"] = c30
        cols[f"{e}_count_90d"] = c90
        cols[f"{e}_count_total"] = tot
        cols[f"{e}_decayed_hl14"] = c7 * 0.8 + (c30 - c7) * 0.35 + (c90 - c30) * 0.05
        dsl = np.where(
            c7 > 0,
            rng.uniform(0, 7, n),
            np.where(
                c30 > 0, rng.uniform(7, 30, n), np.where(c90 > 0, rng.uniform(30, 90, n), np.nan)
            ),
        )
        cols[f"days_since_last_{e}"] = np.floor(dsl)
        recent[e] = c30
        logit += eff * np.log1p(c30) * 2 + 0.1 * eff * np.log1p(tot)
    ev30 = sum(cols[f"{e}_count_30d"] for e in EVENTS)
    cols["events_count_30d"] = ev30
    cols["active_days_30d"] = np.minimum(30, rng.poisson(1 + ev30 / 2))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dsl_act = np.nanmin(np.c_[[cols[f"days_since_last_{e}"] for e in EVENTS]].T, axis=1)
    cols["days_since_last_activity"] = dsl_act
    cols["tenure_days"] = np.nan_to_num(dsl_act, nan=0) + rng.integers(30, 1500, n)
    buyer = rng.random(n) < 0.5
    cols["days_since_last_purchase"] = np.where(buyer, rng.integers(1, 500, n), np.nan)
    cols["purchase_count_90d"] = np.where(buyer, rng.poisson(0.4, n), 0)
    cols["purchase_count_total"] = cols["purchase_count_90d"] + np.where(
        buyer, rng.poisson(2, n), 0
    )
    cols["amount_sum_90d"] = cols["purchase_count_90d"] * rng.gamma(2, 40, n)
    cols["refund_count_total"] = rng.poisson(0.1, n)
    cols["attr_country"] = rng.integers(0, 5, n)
    f = pd.DataFrame({k: np.asarray(v, dtype=np.float64) for k, v in cols.items()})
    logit += -0.004 * np.nan_to_num(f["days_since_last_purchase"], nan=700)
    logit += 0.4 * f["purchase_count_90d"] - 0.5 * f["refund_count_total"]
    logit += np.where(f["attr_country"] == 1, 0.4, 0.0)
    # one true interaction: pricing visits matter much more after an email click
    logit += 0.6 * np.minimum(recent["pricing_view"], 3) * (recent["email_click"] > 0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return f, y


def fit(
    x_tr: pd.DataFrame,
    y_tr: np.ndarray,
    x_va: pd.DataFrame,
    y_va: np.ndarray,
    *,
    leaves: int,
    additive: bool,
) -> lgb.Booster:
    params = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": leaves,
        "min_data_in_leaf": 50,
        "feature_fraction": 0.9,
        "lambda_l2": 1.0,
        "verbose": -1,
        "seed": 0,
        "deterministic": True,
        "num_threads": 2,
        "force_row_wise": True,
    }
    if additive:
        params["interaction_constraints"] = [[i] for i in range(x_tr.shape[1])]
    dtr = lgb.Dataset(x_tr, y_tr, categorical_feature=["attr_country"])
    dva = lgb.Dataset(x_va, y_va, reference=dtr)
    b = lgb.train(
        params, dtr, 1000, valid_sets=[dva], callbacks=[lgb.early_stopping(50, verbose=False)]
    )
    return b


def sigmoid(m: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-m))


def reasons_pipeline(booster: lgb.Booster, x: pd.DataFrame) -> pd.Series:
    e = explain(booster, x, calibrate=sigmoid)
    tidy = top_reasons(e, x, customer_ids=np.arange(len(x)), top_k=3, lang="en")
    return compact_reasons(tidy, top_k=3)


def markdown(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def timed(fn, *args, repeat: int = 1) -> tuple[float, object]:
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n_train, n_valid, n_test = (20_000, 10_000, 20_000) if args.quick else (60_000, 20_000, 100_000)
    n_explain = 10_000 if args.quick else 20_000  # rows per model in the size table
    n_big = 50_000 if args.quick else 100_000  # rows for the default model's 1 M projection
    n_shap = 2_000 if args.quick else 10_000
    x, y = make_data(n_train + n_valid + n_test, seed=7)
    x_tr, x_va, x_te = (
        x.iloc[:n_train],
        x.iloc[n_train : n_train + n_valid],
        x.iloc[n_train + n_valid :],
    )
    y_tr, y_va, y_te = y[:n_train], y[n_train : n_train + n_valid], y[n_train + n_valid :]
    x_ex = x_te.iloc[:n_explain].reset_index(drop=True)
    print(
        f"data: {x.shape[1]} features, train {n_train:,} / valid {n_valid:,} / "
        f"test {n_test:,} rows, "
        f"positive rate {y.mean():.3f}; {os.cpu_count()} CPUs, LightGBM 2 threads"
    )

    rows = []
    boosters = {}
    for additive in (True, False):
        for leaves in (7, 15, 63):
            b = fit(x_tr, y_tr, x_va, y_va, leaves=leaves, additive=additive)
            kind = "additive" if additive else "gbdt"
            boosters[(kind, leaves)] = b
            auc = roc_auc_score(y_te, b.predict(x_te, raw_score=True))
            secs, _ = timed(reasons_pipeline, b, x_ex)
            rows.append(
                {
                    "model": kind,
                    "leaves": leaves,
                    "trees": b.current_iteration(),
                    "test_auc": round(auc, 4),
                    "contrib_method": "additive lookup" if additive else "pred_contrib",
                    "reasons_rows_per_s": round(n_explain / secs),
                    "1M_customers_s": round(1_000_000 / (n_explain / secs), 1),
                }
            )
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    best_auc = table["test_auc"].max()
    table["auc_vs_best"] = (table["test_auc"] - best_auc).round(4)
    print()
    print(markdown(table))

    # ---- the default model: our pipeline vs shap.TreeExplainer, same rows, same run
    default = boosters[("additive", 15)]
    import shap

    xs = x_ex.iloc[:n_shap]
    t_ours, _ = timed(reasons_pipeline, default, xs, repeat=3)
    t_contrib_fast, _ = timed(lambda b, v: compute_contributions(b, v), default, xs, repeat=3)
    t_pred_contrib, _ = timed(lambda b, v: b.predict(v, pred_contrib=True), default, xs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_shap, sv = timed(lambda b, v: shap.TreeExplainer(b).shap_values(v), default, xs)
    fast = compute_contributions(default, xs)
    sv = np.asarray(sv[-1] if isinstance(sv, list) else sv)
    maxdiff = float(np.abs(fast.values - sv).max())
    print()
    print(
        f"default model: additive, 15 leaves, {default.current_iteration()} trees; {n_shap:,} rows"
    )
    print(f"  full reasons (ours, exact, incl. sentences): {n_shap / t_ours:>10,.0f} rows/s")
    print(
        f"  contributions only, additive lookup:         {n_shap / t_contrib_fast:>10,.0f} rows/s"
    )
    print(
        f"  contributions only, LightGBM pred_contrib:   {n_shap / t_pred_contrib:>10,.0f} rows/s"
    )
    print(f"  contributions only, shap.TreeExplainer:      {n_shap / t_shap:>10,.0f} rows/s")
    print(f"  ratio full reasons / shap.TreeExplainer:     {t_shap / t_ours:>10.1f}x")
    print(f"  max |ours - shap| contribution:              {maxdiff:.2e}")
    xb = x_te.iloc[:n_big].reset_index(drop=True)
    t_big, _ = timed(reasons_pipeline, default, xb)
    print(
        f"  full reasons on {n_big:,} rows: {t_big:.1f} s = {n_big / t_big:,.0f} rows/s; "
        f"projection for 1 M customers: {1_000_000 / (n_big / t_big):.0f} s"
    )


if __name__ == "__main__":
    main()
