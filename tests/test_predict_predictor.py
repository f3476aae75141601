"""The Predictor on real (tiny) scoring bundles: schema, dtypes, scores, stability, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _predict_helpers import FEATURES, bundle, config, feature_frame

from mlscore.errors import IncompatibleModelError, ModelNotFoundError
from mlscore.predict import Predictor, output_columns

AS_OF = "2026-03-01"


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor([bundle("conversion"), bundle("churn")], config=config())


@pytest.fixture(scope="module")
def scored(predictor: Predictor) -> pd.DataFrame:
    return predictor.predict(feature_frame(400, seed=11), AS_OF)


def test_columns_in_documented_order(predictor: Predictor, scored: pd.DataFrame) -> None:
    assert list(scored.columns) == [
        "customer_id",
        "as_of",
        "p_conversion",
        "score_conversion",
        "tier_conversion",
        "p_churn",
        "score_churn",
        "tier_churn",
        "segment",
        "engagement_tier",
        "rfm_segment",
        "next_action",
        "reasons_conversion",
        "reasons_churn",
        "model_conversion",
        "model_churn",
    ]
    assert list(scored.columns) == output_columns(["conversion", "churn"], with_reasons=True)


def test_dtypes(scored: pd.DataFrame) -> None:
    for c in scored.columns:
        if c.startswith(("p_", "score_")):
            assert scored[c].dtype == np.float64, c
        elif c == "as_of":
            assert scored[c].dtype == "datetime64[ns]"
        else:
            assert pd.api.types.is_string_dtype(scored[c].dtype), (c, scored[c].dtype)
    assert (scored["as_of"] == pd.Timestamp(AS_OF)).all()


def test_scores_are_100_p_rounded_in_0_100(scored: pd.DataFrame) -> None:
    for t in ("conversion", "churn"):
        s, p = scored[f"score_{t}"], scored[f"p_{t}"]
        assert s.between(0, 100).all()
        assert p.between(0, 1).all()
        np.testing.assert_allclose(s, np.round(100 * p, 1))
        assert (np.round(s * 10) == s * 10).all()


def test_tiers_follow_frozen_thresholds(scored: pd.DataFrame) -> None:
    for t in ("conversion", "churn"):
        rule = bundle(t).tiers
        expected = rule.tier(scored[f"p_{t}"].to_numpy())
        assert scored[f"tier_{t}"].tolist() == expected.tolist()


def test_engagement_tier_from_handset_points(scored: pd.DataFrame) -> None:
    pts = feature_frame(400, seed=11)["baseline_handset_points"]
    expected = np.where(
        pts >= 60,
        "very_engaged",
        np.where(pts >= 30, "engaged", np.where(pts >= 1, "low_engagement", "inactive")),
    )
    assert scored["engagement_tier"].tolist() == expected.tolist()


def test_reasons_are_text_with_points(scored: pd.DataFrame) -> None:
    text = scored["reasons_conversion"].iloc[0]
    assert "points" in text
    assert len(text.split(" | ")) <= config().explain.top_reasons
    assert scored["reasons_churn"].str.contains("of risk").any()


def test_segments_stable_when_the_batch_changes(predictor: Predictor) -> None:
    batch = feature_frame(300, seed=12)
    whole = predictor.predict(batch, AS_OF).set_index("customer_id")
    for i in (0, 7, 123):
        alone = predictor.predict(batch.iloc[[i]], AS_OF).set_index("customer_id")
        cid = batch["customer_id"].iloc[i]
        pd.testing.assert_series_equal(alone.loc[cid], whole.loc[cid], check_names=False)
    # a different crowd around the same customers changes nothing either
    other = pd.concat([feature_frame(200, seed=99, prefix="z"), batch.iloc[:50]])
    mixed = predictor.predict(other, AS_OF).set_index("customer_id")
    pd.testing.assert_frame_equal(mixed.loc[batch["customer_id"].iloc[:50]], whole.iloc[:50])


def test_outside_a_population_gives_missing_values(predictor: Predictor) -> None:
    f = feature_frame(6, seed=3)
    churn_mask = np.array([True, False, True, False, True, True])
    eligible = {"conversion": np.ones(6, bool), "churn": churn_mask}
    out = predictor.score_frame(f, AS_OF, eligible=eligible)
    assert out.loc[~churn_mask, ["p_churn", "score_churn"]].isna().all().all()
    assert out.loc[~churn_mask, ["tier_churn", "reasons_churn"]].isna().all().all()
    assert out.loc[churn_mask, "p_churn"].notna().all()
    assert out["p_conversion"].notna().all()


def test_missing_feature_names_the_feature(predictor: Predictor) -> None:
    f = feature_frame(5).drop(columns=["email_click_count_7d"])
    with pytest.raises(IncompatibleModelError, match="email_click_count_7d"):
        predictor.predict(f, AS_OF)


def test_no_reasons_drops_columns() -> None:
    p = Predictor(bundle("conversion"), config=config(), with_reasons=False)
    out = p.predict(feature_frame(20), AS_OF)
    assert not any(c.startswith("reasons_") for c in out.columns)
    assert "score_churn" not in out.columns


def test_french_reasons() -> None:
    p = Predictor(bundle("churn"), config=config(), lang="fr")
    out = p.predict(feature_frame(20), AS_OF)
    assert out["reasons_churn"].str.contains("points de risque").any()


def test_load_from_bundle_directories(tmp_path: Path) -> None:
    bundle("conversion").save(tmp_path / "models" / "conversion")
    bundle("churn").save(tmp_path / "models" / "churn")
    p = Predictor(tmp_path / "models", config=config())
    assert p.targets == ["conversion", "churn"]  # config order, not folder order
    assert p.models["churn"].label == f"local:{(tmp_path / 'models' / 'churn').as_posix()}"
    one = Predictor(tmp_path / "models" / "churn", config=config())
    f = feature_frame(30, seed=4)
    a = one.predict(f, AS_OF)["p_churn"]
    b = Predictor(bundle("churn"), config=config()).predict(f, AS_OF)["p_churn"]
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    with pytest.raises(ModelNotFoundError, match="no scoring bundle"):
        Predictor(tmp_path / "nowhere", config=config())
    with pytest.raises(ModelNotFoundError, match="lead"):
        Predictor(tmp_path / "models", config=config(), targets=["lead"])


def test_feature_list_is_what_the_models_need() -> None:
    assert bundle("conversion").feature_names == FEATURES


@pytest.mark.slow
def test_registry_champion_and_version(tmp_path: Path) -> None:
    from _predict_helpers import fit_result

    from mlscore import tracking

    cfg = config(tracking={"uri": f"sqlite:///{tmp_path}/mlflow.db"})
    tracking.log_training(fit_result("conversion"), config=cfg)
    p = Predictor(config=cfg, targets=["conversion"])  # default: the registry champion
    assert p.models["conversion"].label == "mlscore-conversion@champion v1"
    f = feature_frame(25, seed=6)
    np.testing.assert_allclose(
        p.predict(f, AS_OF)["p_conversion"],
        Predictor(bundle("conversion"), config=cfg).predict(f, AS_OF)["p_conversion"],
    )
    v = Predictor("models:/mlscore-conversion/1", config=cfg)
    assert v.models["conversion"].label == "mlscore-conversion v1"
    with pytest.raises(ModelNotFoundError, match="churn"):
        Predictor(config=cfg, targets=["churn"])
    with pytest.raises(ModelNotFoundError, match="models:/"):
        Predictor("models:/somebody-else@champion", config=cfg)
