"""Exact contributions: pred_contrib == shap.TreeExplainer; additive lookup == pred_contrib."""

from __future__ import annotations

import warnings

import lightgbm as lgb
import numpy as np
import pytest
from _explain_helpers import make_frame, matrix, train

from mlscore.explain.contributions import (
    AdditiveExplainer,
    compute_contributions,
    feature_groups,
    group_contributions,
    is_additive,
)


@pytest.fixture(scope="module")
def data():
    return make_frame(1500, seed=1)


@pytest.fixture(scope="module")
def additive_booster(data):
    df, y = data
    return train(df, y, additive=True, rounds=80)


@pytest.fixture(scope="module")
def gbdt_booster(data):
    df, y = data
    return train(df, y, additive=False, rounds=40, num_leaves=15)


def _shap_values(booster, x):
    shap = pytest.importorskip("shap")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sv = shap.TreeExplainer(booster).shap_values(x)
    if isinstance(sv, list):  # older shap: one array per class
        sv = sv[-1]
    return np.asarray(sv)


@pytest.mark.parametrize("kind", ["additive", "gbdt"])
def test_pred_contrib_equals_shap_tree_explainer(data, additive_booster, gbdt_booster, kind):
    booster = additive_booster if kind == "additive" else gbdt_booster
    x = matrix(data[0]).iloc[:300]
    c = compute_contributions(booster, x, method="pred_contrib")
    sv = _shap_values(booster, x)
    assert sv.shape == c.values.shape
    np.testing.assert_allclose(c.values, sv, atol=1e-6, rtol=0)


def test_contributions_sum_to_raw_margin(data, gbdt_booster):
    x = matrix(data[0])
    c = compute_contributions(gbdt_booster, x)
    assert c.method == "pred_contrib"
    np.testing.assert_allclose(c.margin, gbdt_booster.predict(x, raw_score=True), atol=1e-9)


def test_additive_detection(additive_booster, gbdt_booster):
    assert is_additive(additive_booster)
    assert not is_additive(gbdt_booster)
    with pytest.raises(ValueError, match="not additive"):
        AdditiveExplainer(gbdt_booster).fit()


def test_additive_lookup_equals_pred_contrib(data, additive_booster):
    x = matrix(data[0])
    fast = compute_contributions(additive_booster, x)
    assert fast.method == "additive"
    exact = additive_booster.predict(x, pred_contrib=True)
    np.testing.assert_allclose(fast.values, exact[:, :-1], atol=1e-9, rtol=0)
    np.testing.assert_allclose(fast.bias, exact[:, -1], atol=1e-9, rtol=0)


def _check_equal(b, x):
    fast = AdditiveExplainer(b).fit().contributions(x)
    exact = b.predict(x, pred_contrib=True)
    np.testing.assert_allclose(np.c_[fast.values, fast.bias], exact, atol=1e-9, rtol=0)
    np.testing.assert_allclose(fast.margin, b.predict(x, raw_score=True), atol=1e-9)


def test_additive_lookup_with_nan_unused_feature_and_best_iteration():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(900, 4))
    x[:, 3] = 1.0  # never split on
    x[rng.random(x.shape) < 0.2] = np.nan
    y = (np.nan_to_num(x[:, 0]) + 0.5 * rng.normal(size=900) > 0).astype(int)
    params = {
        "objective": "binary",
        "verbose": -1,
        "num_leaves": 4,
        "min_data_in_leaf": 30,
        "interaction_constraints": [[0], [1], [2], [3]],
        "seed": 0,
    }
    dtrain = lgb.Dataset(x[:600], y[:600])
    dvalid = lgb.Dataset(x[600:], y[600:], reference=dtrain)
    b = lgb.train(
        params,
        dtrain,
        300,
        valid_sets=[dvalid],
        callbacks=[lgb.early_stopping(5, verbose=False)],
        keep_training_booster=True,
    )
    assert 0 < b.best_iteration < b.current_iteration()
    _check_equal(b, x)


def test_additive_lookup_with_a_constant_tree():
    # no split can meet min_data_in_leaf: the model is one constant tree (all bias)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(100, 2))
    y = (x[:, 0] > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "min_data_in_leaf": 80}
    b = lgb.train(params, lgb.Dataset(x, y), 3)
    assert is_additive(b)
    _check_equal(b, x)


def test_grouping_sums_features_of_one_event_type(data, additive_booster):
    x = matrix(data[0]).iloc[:50]
    c = compute_contributions(additive_booster, x)
    groups, grouped, membership = group_contributions(c)
    g = groups.index("pricing_view")
    cols = [
        c.feature_names.index(f)
        for f in (
            "pricing_view_count_7d",
            "pricing_view_count_30d",
            "pricing_view_decayed_hl14",
            "days_since_last_pricing_view",
        )
    ]
    np.testing.assert_allclose(grouped[:, g], c.values[:, cols].sum(axis=1), atol=1e-12)
    np.testing.assert_allclose(grouped.sum(axis=1), c.values.sum(axis=1), atol=1e-12)
    assert sorted(np.flatnonzero(membership == g).tolist()) == sorted(cols)
    mapping = feature_groups(c.feature_names)
    assert mapping["days_since_last_purchase"] == "rfm_recency"
    assert mapping["purchase_count_total"] == "rfm_frequency"
    assert mapping["amount_sum_90d"] == "rfm_monetary"
    assert mapping["refund_count_total"] == "rfm_refunds"
    assert mapping["attr_country"] == "attr_country"
    assert mapping["channel_email_share_30d"] == "channel_mix"
