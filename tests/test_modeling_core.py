"""Split, metrics, calibration, min-data rules, determinism and the bundle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _modeling_helpers import FEATURES, make_config, make_training_set, spec_for
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)

from mlscore.errors import IncompatibleModelError, InsufficientDataError
from mlscore.modeling.bundle import ScoringBundle
from mlscore.modeling.calibration import (
    IsotonicCalibrator,
    PlattCalibrator,
    calibrator_from_dict,
    select_calibrator,
)
from mlscore.modeling.metrics import (
    binary_metrics,
    decile_table,
    expected_calibration_error,
    lift_at,
)
from mlscore.modeling.split import split_cutoffs, split_frame
from mlscore.modeling.train import fit_target

# ----------------------------------------------------------------------- split


@settings(max_examples=150, deadline=None)
@given(
    start=st.integers(0, 400),
    gaps=st.lists(st.integers(1, 40), min_size=3, max_size=25),
    horizon=st.integers(1, 120),
    n_valid=st.integers(1, 3),
    n_test=st.integers(1, 2),
    purge=st.booleans(),
)
def test_split_never_leaks(
    start: int, gaps: list[int], horizon: int, n_valid: int, n_test: int, purge: bool
) -> None:
    days = np.cumsum([start, *gaps])
    cutoffs = [pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(d)) for d in days]
    h = pd.Timedelta(days=horizon)
    try:
        s = split_cutoffs(
            cutoffs,
            horizon_days=horizon,
            validation_cutoffs=n_valid,
            test_cutoffs=n_test,
            purge=purge,
        )
    except InsufficientDataError as err:
        assert "cutoff" in str(err)
        return
    assert len(s.test) == n_test and len(s.validation) == n_valid and s.train
    assert s.test == tuple(sorted(cutoffs)[-n_test:])
    assert max(s.train) < min(s.validation) <= max(s.validation) < min(s.test)
    everything = set(s.train) | set(s.validation) | set(s.test) | set(s.purged)
    assert everything == set(cutoffs)
    assert not (set(s.train) & set(s.validation)) and not (set(s.purged) & set(s.train))
    if purge:
        assert max(s.train) + h <= min(s.validation)
        assert max(s.validation) + h <= min(s.test)


def test_split_too_few_cutoffs_is_clear() -> None:
    with pytest.raises(InsufficientDataError, match="2 distinct cutoff"):
        split_cutoffs(["2024-01-01", "2024-02-01"], horizon_days=7)
    cs = pd.date_range("2024-01-01", periods=6, freq="14D")
    with pytest.raises(InsufficientDataError, match="purge"):
        split_cutoffs(cs, horizon_days=90)


def test_split_frame_rows_follow_cutoffs() -> None:
    df = make_training_set(n_customers=5, n_cutoffs=6)
    s = split_cutoffs(df["cutoff"].unique(), horizon_days=14)
    tr, va, te = split_frame(df, s)
    assert len(tr) + len(va) + len(te) == len(df)
    assert set(te["cutoff"]) == {df["cutoff"].max()}
    assert tr["cutoff"].max() < va["cutoff"].min()


# --------------------------------------------------------------------- metrics


def test_metrics_match_sklearn_on_hand_data() -> None:
    y = np.array([0, 0, 1, 1, 0, 1, 0, 0, 1, 0])
    p = np.array([0.1, 0.3, 0.7, 0.4, 0.2, 0.9, 0.5, 0.05, 0.6, 0.35])
    m = binary_metrics(y, p, prefix="test_")
    assert m["test_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-15)
    assert m["test_pr_auc"] == pytest.approx(average_precision_score(y, p), abs=1e-15)
    assert m["test_brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-15)
    assert m["test_log_loss"] == pytest.approx(log_loss(y, p), abs=1e-12)
    # top 10 % = 1 row (p=0.9, positive); base rate 0.4 -> lift 2.5
    assert m["test_lift_at_10"] == pytest.approx(2.5)


def test_lift_and_deciles_by_hand() -> None:
    y = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0] * 2
    s = list(range(20, 0, -1))
    # top 10 % = 2 rows, both positive; base rate 0.2 -> lift 5
    assert lift_at(y, s) == pytest.approx(5.0)
    t = decile_table(y, s)
    assert t["count"].tolist() == [2] * 10
    assert t["positives"].tolist() == [2, 0, 0, 0, 0, 2, 0, 0, 0, 0]
    assert t["cumulative_capture"].iloc[-1] == pytest.approx(1.0)


def test_ece_small_for_calibrated_large_for_miscalibrated() -> None:
    rng = np.random.default_rng(1)
    p = rng.beta(1, 4, size=200_000)
    y = (rng.random(p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.005
    assert expected_calibration_error(y, np.clip(p * 1.8, 0, 1)) > 0.1


# ----------------------------------------------------------------- calibration


def test_calibrators_are_monotone_and_round_trip() -> None:
    rng = np.random.default_rng(2)
    m = rng.normal(size=4000)
    y = rng.random(4000) < 1 / (1 + np.exp(-(1.5 * m - 2)))
    grid = np.linspace(-6, 6, 301)
    for cal in (PlattCalibrator().fit(m, y), IsotonicCalibrator().fit(m, y)):
        out = cal.predict(grid)
        assert np.all(np.diff(out) >= 0) and np.all((out > 0) & (out < 1))
        again = calibrator_from_dict(cal.to_dict())
        np.testing.assert_array_equal(again.predict(grid), out)


def test_select_calibrator_fixes_a_miscalibrated_margin() -> None:
    rng = np.random.default_rng(3)
    true_logit = rng.normal(-1.5, 1.2, size=20_000)
    y = (rng.random(true_logit.size) < 1 / (1 + np.exp(-true_logit))).astype(int)
    margin = 3 * true_logit + 2  # overconfident and shifted
    groups = np.repeat([0, 1], 10_000)
    cal, comparison = select_calibrator(margin, y, groups=groups)
    assert set(comparison) == {"isotonic", "platt", "none"}
    assert cal.method in ("isotonic", "platt")
    assert expected_calibration_error(y, cal.predict(margin)) < 0.02
    assert comparison["none"]["ece"] > 0.1


# ------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def trained() -> tuple[pd.DataFrame, object]:
    df = make_training_set()
    cfg = make_config()
    return df, fit_target(df, config=cfg, target="conversion", feature_spec=spec_for(df))


def test_fit_reports_stable_metric_names(trained: tuple[pd.DataFrame, object]) -> None:
    _, r = trained
    names = {
        "test_auc",
        "test_pr_auc",
        "test_brier",
        "test_log_loss",
        "test_ece",
        "test_lift_at_10",
        "valid_auc",
        "train_rows",
        "train_positives",
        "test_rows",
        "test_positives",
        "valid_rows",
        "valid_positives",
        "baseline_handset_points_test_auc",
        "baseline_handset_points_test_pr_auc",
        "baseline_handset_points_test_lift_at_10",
        "baseline_recency_test_auc",
    }
    assert names <= set(r.metrics)  # type: ignore[attr-defined]
    assert "baseline_handset_points_test_log_loss" not in r.metrics  # type: ignore[attr-defined]
    # the model learns the true signal and beats the one-feature baselines
    m = r.metrics  # type: ignore[attr-defined]
    assert m["test_auc"] > m["baseline_handset_points_test_auc"] + 0.05


def test_baselines_use_the_same_test_rows(trained: tuple[pd.DataFrame, object]) -> None:
    df, r = trained
    test = df[df["cutoff"] == df["cutoff"].max()]
    m = r.metrics  # type: ignore[attr-defined]
    assert m["test_rows"] == len(test)
    assert m["baseline_handset_points_test_auc"] == pytest.approx(
        roc_auc_score(test["label"], test["baseline_handset_points"])
    )
    assert m["baseline_recency_test_auc"] == pytest.approx(
        roc_auc_score(test["label"], -test["days_since_last_activity"])
    )


def test_training_is_deterministic() -> None:
    df = make_training_set(n_customers=400, seed=5)
    cfg = make_config()
    a = fit_target(df, config=cfg, target="conversion", feature_spec=spec_for(df))
    b = fit_target(df, config=cfg, target="conversion", feature_spec=spec_for(df))
    assert a.metrics.keys() == b.metrics.keys()
    for k in a.metrics:
        assert a.metrics[k] == pytest.approx(b.metrics[k], abs=1e-12, nan_ok=True), k
    assert a.bundle.booster.model_to_string() == b.bundle.booster.model_to_string()


@pytest.mark.parametrize("kind", ["additive", "gbdt"])
def test_additive_model_uses_one_feature_per_tree(kind: str) -> None:
    df = make_training_set(n_customers=400, seed=6)
    r = fit_target(
        df, config=make_config(kind=kind), target="conversion", feature_spec=spec_for(df)
    )
    trees = r.bundle.booster.dump_model()["tree_info"]

    def feats(node: dict) -> set[int]:  # type: ignore[type-arg]
        if "split_feature" not in node:
            return set()
        return {node["split_feature"]} | feats(node["left_child"]) | feats(node["right_child"])

    per_tree = [len(feats(t["tree_structure"])) for t in trees]
    assert r.bundle.metadata["model_kind"] == kind
    if kind == "additive":
        assert max(per_tree) == 1
    else:
        assert max(per_tree) > 1


def test_min_data_error_names_counts() -> None:
    df = make_training_set(n_customers=60, seed=7)
    test = df[df["cutoff"] == df["cutoff"].max()]
    pos = int(test["label"].sum())
    with pytest.raises(InsufficientDataError) as info:
        fit_target(
            df,
            config=make_config(min_positives=500),
            target="conversion",
            feature_spec=spec_for(df),
        )
    msg = str(info.value)
    assert "positive" in msg and "model.min_positives" in msg and "horizon" in msg
    train_pos = int(df[df["cutoff"] < sorted(df["cutoff"].unique())[-3]]["label"].sum())
    assert f"{train_pos} positive(s)" in msg or f"{pos} positive(s)" in msg


# --------------------------------------------------------------------- bundle


def test_bundle_round_trip_identical(tmp_path, trained) -> None:  # type: ignore[no-untyped-def]
    df, r = trained
    bundle: ScoringBundle = r.bundle
    before = bundle.predict_proba(df)
    path = bundle.save(tmp_path / "b")
    assert not any(p.suffix in (".parquet", ".csv") for p in path.iterdir())
    loaded = ScoringBundle.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(df), before)
    np.testing.assert_array_equal(loaded.tier(before), bundle.tier(before))
    assert loaded.feature_names == FEATURES
    assert set(bundle.tier(before)) <= {"hot", "warm", "cold"}
    # percentile tiers: about 10 % hot on the validation+test population
    newest = df[df["cutoff"] >= sorted(df["cutoff"].unique())[-3]]
    hot = (bundle.tier(bundle.predict_proba(newest)) == "hot").mean()
    assert 0.05 < hot < 0.15


def test_missing_feature_is_named(trained) -> None:  # type: ignore[no-untyped-def]
    df, r = trained
    with pytest.raises(IncompatibleModelError, match="pricing_view_count_30d"):
        r.bundle.predict_proba(df.drop(columns=["pricing_view_count_30d"]))


# ------------------------------------------------------------------- planning


def test_planned_cutoffs_use_n_cutoffs_after_the_purge() -> None:
    from mlscore.config import config_from_dict
    from mlscore.data.tables import Tables, to_epoch_seconds
    from mlscore.modeling.train import planned_cutoffs

    days = pd.date_range("2023-01-01", "2024-12-31", freq="D")
    tx = pd.DataFrame(
        {
            "customer_id": [f"c{i % 7}" for i in range(len(days))],
            "ts": [to_epoch_seconds(d) for d in days],
            "amount": 10.0,
            "order_id": None,
            "quantity": np.nan,
        }
    )
    cfg = config_from_dict(
        {
            "data": {"transactions": {"path": "t.parquet"}},
            "targets": {"conversion": {"kind": "conversion", "horizon_days": 30}},
            "training": {"every_days": 14, "n_cutoffs": 6, "validation_cutoffs": 2},
        }
    )
    cs = planned_cutoffs(Tables(transactions=tx), config=cfg, target="conversion")
    assert np.all(np.diff(cs) == 14 * 86_400)
    s = split_cutoffs(pd.to_datetime(cs, unit="s"), horizon_days=30, validation_cutoffs=2)
    assert len(s.train) + len(s.validation) + len(s.test) == 6
    assert len(s.purged) == 4  # two cutoffs before each slice boundary
