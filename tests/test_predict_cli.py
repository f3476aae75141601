"""``mlscore predict`` end to end on a tiny generated project (CliRunner): exit codes,
consent, alerts, export."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from _predict_helpers import FEATURES, bundle, config, training_set
from typer.testing import CliRunner

from mlscore.cli import app
from mlscore.data.synthetic import generate_world

runner = CliRunner()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("predict_cli")
    world = generate_world(root / "world", customers=400, days=120, seed=5)
    bundle("conversion").save(root / "models" / "conversion")
    bundle("churn").save(root / "models" / "churn")
    return {
        "root": root,
        "config": world.config_path,
        "as_of": world.as_of.isoformat(),
        "world": world,
    }


def _run(project: dict[str, Any], *args: str) -> Any:
    return runner.invoke(
        app,
        ["predict", "--config", str(project["config"]), "--as-of", project["as_of"], *args],
        env={"CI": "true"},
    )


def test_predict_writes_outputs_and_summary(project: dict[str, Any]) -> None:
    root = project["root"]
    out = root / "run1" / "predictions.parquet"
    res = _run(
        project,
        "--out",
        str(out),
        "--model",
        str(root / "models"),
        "--export",
        str(root / "run1" / "crm.csv"),
    )
    assert res.exit_code == 0, res.output
    pred = pd.read_parquet(out)
    assert pred["customer_id"].is_unique
    assert pred["score_conversion"].dropna().between(0, 100).all()
    assert "Segments as of" in res.output and "scored" in res.output
    for seg in pred["segment"].unique():
        assert seg in res.output
    crm = pd.read_csv(root / "run1" / "crm.csv")
    assert len(crm) == len(pred)


def test_customers_without_consent_never_appear(project: dict[str, Any]) -> None:
    root = project["root"]
    out = root / "run_consent" / "p.csv"
    res = _run(project, "--out", str(out), "--model", str(root / "models"), "--no-reasons")
    assert res.exit_code == 0, res.output
    customers = pd.read_parquet(project["world"].paths["customers"])
    refused = set(customers.loc[~customers["consent"].astype(bool), "customer_id"].astype(str))
    assert refused, "the generated world should hold customers without consent"
    pred = pd.read_csv(out)
    assert not refused & set(pred["customer_id"].astype(str))
    assert f"excluded for lack of consent {len(refused):,}" in res.output


def test_outside_churn_population_is_missing(project: dict[str, Any]) -> None:
    root = project["root"]
    out = root / "run_pop" / "p.parquet"
    assert (
        _run(project, "--out", str(out), "--model", str(root / "models"), "--no-reasons").exit_code
        == 0
    )
    pred = pd.read_parquet(out)
    # churn population = purchasers in the lookback: not everyone known has purchased
    outside = pred["p_churn"].isna()
    assert outside.any() and not outside.all()
    assert pred.loc[outside, "tier_churn"].isna().all()
    assert pred["p_conversion"].notna().all()


def test_alerts_with_previous(project: dict[str, Any]) -> None:
    root = project["root"]
    first = root / "day1" / "p.parquet"
    assert _run(project, "--out", str(first), "--model", str(root / "models")).exit_code == 0
    prev = pd.read_parquet(first)
    prev["tier_conversion"] = "cold"  # everyone was cold: today's hot leads are all alerts
    prev_path = root / "day1" / "edited.parquet"
    prev.to_parquet(prev_path)
    res = _run(
        project,
        "--out",
        str(root / "day2" / "p.parquet"),
        "--model",
        str(root / "models"),
        "--previous",
        str(prev_path),
    )
    assert res.exit_code == 0, res.output
    alerts = pd.read_csv(root / "day2" / "alerts.csv")
    today = pd.read_parquet(root / "day2" / "p.parquet")
    hot = set(today.loc[today["tier_conversion"] == "hot", "customer_id"])
    assert set(alerts.loc[alerts["target"] == "conversion", "customer_id"]) == hot


def test_model_with_a_feature_the_data_lacks_exits_2(project: dict[str, Any]) -> None:
    from mlscore.modeling.train import fit_target

    extra = "webinar_attended_count_45d"  # a 45-day window the project does not build
    ts = training_set("conversion")
    ts[extra] = ts["pricing_view_count_30d"] * 0.5
    spec = {"feature_names": [*FEATURES, extra], "categorical_features": []}
    b = fit_target(ts, config=config(), target="conversion", feature_spec=spec).bundle
    b.save(project["root"] / "bad_model")
    res = _run(
        project,
        "--out",
        str(project["root"] / "bad.parquet"),
        "--model",
        str(project["root"] / "bad_model"),
    )
    assert res.exit_code == 2, res.output
    assert extra in res.output
    assert not (project["root"] / "bad.parquet").exists()


def test_model_not_found_exits_2(project: dict[str, Any]) -> None:
    res = _run(
        project,
        "--out",
        str(project["root"] / "x.parquet"),
        "--model",
        str(project["root"] / "no_such_models"),
    )
    assert res.exit_code == 2
    assert "no scoring bundle" in res.output


def test_bad_output_extension_exits_1(project: dict[str, Any]) -> None:
    res = _run(
        project,
        "--out",
        str(project["root"] / "x.xlsx"),
        "--model",
        str(project["root"] / "models"),
    )
    assert res.exit_code == 1
    assert ".parquet" in res.output


def test_unknown_target_exits_1(project: dict[str, Any]) -> None:
    res = _run(project, "--out", str(project["root"] / "x.csv"), "--target", "lead")
    assert res.exit_code == 1
    assert "lead" in res.output
