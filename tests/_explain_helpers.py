"""Small generated feature frames (grammar-named) and boosters for the explain tests."""

from __future__ import annotations

from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import pandas as pd

COUNTRIES = ["FR", "DE", "US"]

FEATURES = [
    "pricing_view_count_7d",
    "pricing_view_count_30d",
    "pricing_view_decayed_hl14",
    "days_since_last_pricing_view",
    "email_click_count_30d",
    "email_click_decayed_hl14",
    "webinar_attended_count_90d",
    "events_count_30d",
    "active_days_30d",
    "days_since_last_activity",
    "tenure_days",
    "days_since_last_purchase",
    "purchase_count_90d",
    "purchase_count_total",
    "amount_sum_90d",
    "refund_count_total",
    "survey_response_value_mean_90d",
    "channel_email_share_30d",
    "attr_country",
]


def make_frame(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature frame (customer_id + FEATURES, attr_country as a string) and labels."""
    rng = np.random.default_rng(seed)
    pv7 = rng.poisson(0.6, n)
    pv30 = pv7 + rng.poisson(1.2, n)
    pv_dec = pv7 * 0.8 + (pv30 - pv7) * 0.4 + rng.random(n) * 0.1
    dsl_pv = np.where(pv30 > 0, rng.integers(0, 30, n), np.where(rng.random(n) < 0.5, 60, np.nan))
    ec30 = rng.poisson(0.8, n)
    ec_dec = ec30 * 0.5 + rng.random(n) * 0.2
    web90 = rng.poisson(0.3, n)
    ev30 = pv30 + ec30 + rng.poisson(3, n)
    active = np.minimum(30, rng.poisson(4, n) + (ev30 > 0))
    dsl_act = rng.integers(0, 60, n).astype(float)
    tenure = dsl_act + rng.integers(10, 900, n)
    p90 = rng.poisson(0.5, n)
    ptot = p90 + rng.poisson(1.5, n)
    dsl_p = np.where(ptot > 0, rng.integers(1, 400, n), np.nan)
    amt90 = p90 * rng.gamma(2.0, 40.0, n)
    refunds = rng.poisson(0.2, n)
    survey = np.where(rng.random(n) < 0.3, rng.integers(1, 11, n), np.nan)
    share = rng.random(n)
    country = rng.choice(COUNTRIES, n)
    logit = (
        -2.0
        + 0.6 * pv7
        + 0.2 * pv30
        + 0.5 * ec30
        + 0.9 * web90
        + 0.05 * active
        - 0.01 * np.nan_to_num(dsl_p, nan=500)
        + 0.3 * p90
        - 0.4 * refunds
        + 0.1 * np.nan_to_num(survey, nan=5)
        + 0.5 * (country == "FR")
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(n)],
            "pricing_view_count_7d": pv7,
            "pricing_view_count_30d": pv30,
            "pricing_view_decayed_hl14": pv_dec,
            "days_since_last_pricing_view": dsl_pv,
            "email_click_count_30d": ec30,
            "email_click_decayed_hl14": ec_dec,
            "webinar_attended_count_90d": web90,
            "events_count_30d": ev30,
            "active_days_30d": active,
            "days_since_last_activity": dsl_act,
            "tenure_days": tenure,
            "days_since_last_purchase": dsl_p,
            "purchase_count_90d": p90,
            "purchase_count_total": ptot,
            "amount_sum_90d": amt90,
            "refund_count_total": refunds,
            "survey_response_value_mean_90d": survey,
            "channel_email_share_30d": share,
            "attr_country": country,
        }
    )
    return df, y


def matrix(df: pd.DataFrame) -> pd.DataFrame:
    """Model input: attr_country as an integer code (explicit, consistent encoding)."""
    x = df[FEATURES].copy()
    x["attr_country"] = x["attr_country"].map({c: i for i, c in enumerate(COUNTRIES)})
    return x.astype(float)


def train(
    df: pd.DataFrame,
    y: np.ndarray,
    *,
    additive: bool,
    rounds: int = 60,
    num_leaves: int = 8,
    seed: int = 0,
) -> lgb.Booster:
    x = matrix(df)
    params = {
        "objective": "binary",
        "verbose": -1,
        "num_leaves": num_leaves,
        "learning_rate": 0.1,
        "min_data_in_leaf": 20,
        "seed": seed,
        "deterministic": True,
        "num_threads": 1,
    }
    if additive:
        params["interaction_constraints"] = [[i] for i in range(x.shape[1])]
    ds = lgb.Dataset(x, y, categorical_feature=["attr_country"], free_raw_data=False)
    return lgb.train(params, ds, rounds)


def platt(a: float = 1.1, b: float = -0.2) -> Callable[[np.ndarray], np.ndarray]:
    def calibrate(m: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(a * np.asarray(m) + b)))

    return calibrate


def isotonic(booster: lgb.Booster, df: pd.DataFrame, y: np.ndarray) -> Callable:
    from sklearn.isotonic import IsotonicRegression

    m = booster.predict(matrix(df), raw_score=True)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4).fit(m, y)

    def calibrate(z: np.ndarray) -> np.ndarray:
        return np.asarray(iso.predict(np.asarray(z, dtype=float)), dtype=float)

    return calibrate


def stump_model(stumps: list[tuple[str, float, float, float]]) -> lgb.Booster:
    """A hand-written additive LightGBM model: one 2-leaf tree per feature.

    Each stump is ``(feature, threshold, left_value, right_value)`` with equal leaf
    counts (50/50), so the tree's cover-weighted mean is ``(left + right) / 2``
    and a row's exact contribution is ``±(right - left) / 2`` — computable by hand.
    ``x <= threshold`` (and NaN) goes left.
    """
    names = [s[0] for s in stumps]
    header = [
        "tree",
        "version=v4",
        "num_class=1",
        "num_tree_per_iteration=1",
        "label_index=0",
        f"max_feature_idx={len(names) - 1}",
        "objective=binary sigmoid:1",
        "feature_names=" + " ".join(names),
        "feature_infos=" + " ".join("[-1e9:1e9]" for _ in names),
        "",
    ]
    trees = []
    for i, (_, thr, left, right) in enumerate(stumps):
        trees += [
            f"Tree={i}",
            "num_leaves=2",
            "num_cat=0",
            f"split_feature={i}",
            "split_gain=1",
            f"threshold={thr!r}",
            "decision_type=10",  # default left, missing type NaN
            "left_child=-1",
            "right_child=-2",
            f"leaf_value={left!r} {right!r}",
            "leaf_weight=50 50",
            "leaf_count=50 50",
            f"internal_value={(left + right) / 2!r}",
            "internal_weight=100",
            "internal_count=100",
            "is_linear=0",
            "shrinkage=1",
            "",
            "",
        ]
    text = "\n".join([*header, *trees, "end of trees", "", "pandas_categorical:null", ""])
    return lgb.Booster(model_str=text)


def linear_calibrate(m: np.ndarray) -> np.ndarray:
    """score = 50 + margin: then a group's points equal its log-odds contribution.

    Not clipped to [0, 1] (a test device, not a real calibrator): clipping would
    make it non-linear where the intermediate margins b + P or b + N land outside.
    """
    return 0.5 + np.asarray(m, dtype=float) / 100.0
