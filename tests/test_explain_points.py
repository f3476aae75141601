"""Points on the 0–100 scale add up exactly to the score, with the sign of each reason."""

from __future__ import annotations

import numpy as np
import pytest
from _explain_helpers import isotonic, make_frame, matrix, platt, train
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mlscore.explain.points import to_points
from mlscore.explain.reasons import explain


def _sigmoid(m):
    return 1 / (1 + np.exp(-np.asarray(m)))


def _step(m):
    # a coarse monotone step calibrator (isotonic-like), with flat parts and jumps
    return np.clip(np.floor(np.asarray(m) * 2) / 20 + 0.5, 0.01, 0.99)


def test_hand_computed_two_groups():
    # φ = (+1, -1), b = 0, m = 0 with a sigmoid: T+ = ½[(σ(1)-σ(0)) + (σ(0)-σ(-1))] = σ(1)-½
    r = to_points(np.array([[1.0, -1.0]]), np.array([0.0]), np.array([0.0]), _sigmoid)
    s1 = 100 / (1 + np.exp(-1.0))
    assert r.baseline[0] == pytest.approx(50.0)
    assert r.points[0, 0] == pytest.approx(s1 - 50)
    assert r.points[0, 1] == pytest.approx(-(s1 - 50))
    assert r.score[0] == pytest.approx(50.0)


def test_same_sign_is_proportional():
    # only positive groups: points ∝ φ, summing to S - B
    r = to_points(np.array([[0.3, 0.1, 0.0]]), np.array([-1.0]), np.array([-0.6]), _sigmoid)
    total = 100 * (_sigmoid(-0.6) - _sigmoid(-1.0))
    np.testing.assert_allclose(r.points[0], [0.75 * total, 0.25 * total, 0.0], atol=1e-12)


@given(
    phi=arrays(np.float64, (7, 6), elements=st.floats(-3, 3, allow_nan=False)),
    bias=st.floats(-4, 2),
    cancel=st.booleans(),
    cal=st.sampled_from(["sigmoid", "step"]),
)
def test_additive_and_sign_faithful(phi, bias, cancel, cal):
    if cancel:  # rows whose contributions cancel exactly: Σφ = 0
        phi[:, -1] = -phi[:, :-1].sum(axis=1)
    calibrate = _sigmoid if cal == "sigmoid" else _step
    b = np.full(phi.shape[0], bias)
    m = b + phi.sum(axis=1)
    r = to_points(phi, b, m, calibrate)
    np.testing.assert_allclose(r.baseline + r.points.sum(axis=1), r.score, atol=1e-9, rtol=0)
    np.testing.assert_allclose(r.score, 100 * calibrate(m), atol=1e-12)
    assert np.all(np.abs(r.points) <= 100 + 1e-9)
    # a group raising the log-odds never takes points away (and vice versa)
    assert np.all(r.points[phi > 0] >= -1e-9)
    assert np.all(r.points[phi < 0] <= 1e-9)
    # equal contributions of the same row get equal points
    phi2 = np.c_[phi, phi[:, :1]]
    r2 = to_points(phi2, b, b + phi2.sum(axis=1), calibrate)
    np.testing.assert_allclose(r2.points[:, 0], r2.points[:, -1], atol=1e-9)


def test_cancelling_contributions_do_not_explode():
    # Σφ is 1e-12 but the parts are large: a plain (S-B)·φ/Σφ split would give ±1e10
    phi = np.array([[2.0, -2.0 + 1e-12, 0.5, -0.5]])
    b = np.array([0.0])
    r = to_points(phi, b, b + phi.sum(axis=1), _step)
    assert np.all(np.abs(r.points) <= 100)
    assert r.baseline[0] + r.points.sum() == pytest.approx(r.score[0], abs=1e-9)


@pytest.mark.parametrize("kind", ["additive", "gbdt"])
@pytest.mark.parametrize("cal", ["platt", "isotonic"])
def test_points_add_up_to_the_score_on_a_model(kind, cal):
    df, y = make_frame(1200, seed=5)
    booster = train(df, y, additive=kind == "additive", rounds=40)
    calibrate = platt() if cal == "platt" else isotonic(booster, df, y)
    x = matrix(df)
    margin = booster.predict(x, raw_score=True)
    e = explain(booster, x, calibrate=calibrate, margin=margin)
    score = 100 * calibrate(margin)
    np.testing.assert_allclose(e.points.score, score, atol=1e-12, rtol=0)
    total = e.points.baseline + e.points.points.sum(axis=1)
    np.testing.assert_allclose(total, score, atol=1e-9, rtol=0)
    assert e.points.points.shape == (len(df), len(e.groups))
