"""MLflow tracking, the pyfunc bundle and the champion/challenger registry.

The fast tests use a real SQLite store in a temporary folder; the server test
starts a real ``mlflow server`` on 127.0.0.1 and trains against it over HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from _modeling_helpers import (
    FEATURES,
    make_config,
    make_training_set,
    shuffle_train_labels,
    spec_for,
)
from mlflow.tracking import MlflowClient

from mlscore import tracking
from mlscore.config import ProjectConfig
from mlscore.errors import ModelNotFoundError
from mlscore.modeling.bundle import ScoringBundle
from mlscore.modeling.train import FitResult, fit_target

NAME = "mlscore-conversion"


@pytest.fixture(scope="module")
def fits() -> tuple[pd.DataFrame, FitResult, FitResult]:
    df = make_training_set(n_customers=500, seed=11)
    cfg = make_config()
    good = fit_target(df, config=cfg, target="conversion", feature_spec=spec_for(df))
    bad_df = shuffle_train_labels(df, seed=1)
    bad = fit_target(bad_df, config=cfg, target="conversion", feature_spec=spec_for(df))
    assert bad.metrics["test_auc"] < good.metrics["test_auc"]
    return df, good, bad


def _client(cfg: ProjectConfig) -> MlflowClient:
    uri = cfg.tracking.resolved_uri()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite store for the module (creating a store costs seconds)."""
    return tmp_path_factory.mktemp("store")


def test_run_registry_gate_promote_rollback_export(
    tmp_path: Path,
    shared_store: Path,
    fits: tuple[pd.DataFrame, FitResult, FitResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    df, good, bad = fits
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlruns").mkdir()  # a stray legacy folder must not matter
    cfg = make_config(shared_store)
    first = tracking.log_training(good, config=cfg)
    assert first.gate.promoted and first.version == "1"
    client = _client(cfg)
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"

    run = client.get_run(first.run_id)
    for key in (
        "test_auc",
        "test_pr_auc",
        "test_brier",
        "test_log_loss",
        "test_ece",
        "test_lift_at_10",
        "valid_auc",
        "train_rows",
        "test_positives",
        "baseline_handset_points_test_auc",
        "baseline_recency_test_lift_at_10",
    ):
        assert run.data.metrics[key] == pytest.approx(good.metrics[key]), key
    assert run.data.params["model.seed"] == "42"
    assert run.data.params["split.test_cutoffs"].startswith(str(df["cutoff"].max().date()))
    arts = {a.path for a in client.list_artifacts(first.run_id)}
    arts |= {a.path for a in client.list_artifacts(first.run_id, "plots")}
    assert {
        "config.yaml",
        "metrics_by_decile.csv",
        "plots/calibration.png",
        "plots/lift_by_decile.png",
        "plots/feature_importance.png",
    } <= arts
    local = Path(client.download_artifacts(first.run_id, "metrics_by_decile.csv", str(tmp_path)))
    text = local.read_text()
    assert "customer_id" not in text and "c00" not in text  # aggregates only
    deciles = pd.read_csv(local)
    assert deciles.loc[deciles["score"] == "model", "count"].sum() == good.metrics["test_rows"]

    # the pyfunc model returns calibrated probabilities, scores and tiers
    model = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    test = df[df["cutoff"] == df["cutoff"].max()]
    out = model.predict(test[FEATURES])
    np.testing.assert_allclose(out["p_conversion"], good.bundle.predict_proba(test), rtol=1e-12)
    np.testing.assert_allclose(out["score_conversion"], 100 * out["p_conversion"])
    assert set(out["tier_conversion"]) <= {"hot", "warm", "cold"}

    # a worse challenger does not take the alias and says why
    second = tracking.log_training(bad, config=cfg)
    assert not second.gate.promoted and "does not beat champion v1" in second.gate.reason
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"
    assert str(client.get_model_version_by_alias(NAME, "challenger").version) == "2"
    assert second.gate.champion_metrics["auc"] == pytest.approx(good.metrics["test_auc"])

    # humans: promote, then roll back to the previous champion
    assert "v2" in tracking.promote(cfg, "conversion", "2")
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "2"
    assert "v1" in tracking.rollback(cfg, "conversion")
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"
    with pytest.raises(ModelNotFoundError, match="no previous champion"):
        tracking.rollback(cfg, "conversion")
    with pytest.raises(ModelNotFoundError, match="no version 9"):
        tracking.promote(cfg, "conversion", "9")

    path, version = tracking.export_model(cfg, "conversion", tmp_path / "models" / "conversion")
    assert version == "1"
    exported = ScoringBundle.load(path)
    np.testing.assert_array_equal(exported.predict_proba(test), good.bundle.predict_proba(test))


def test_no_champion_is_model_not_found(shared_store: Path) -> None:
    cfg = make_config(shared_store)
    cfg = cfg.model_copy(
        update={"tracking": cfg.tracking.model_copy(update={"registry_prefix": "empty"})}
    )
    with pytest.raises(ModelNotFoundError, match="no champion"):
        tracking.load_champion_bundle(cfg, "conversion")


def test_env_uri_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/env.db")
    cfg = make_config(tmp_path)
    assert cfg.tracking.resolved_uri() == f"sqlite:///{tmp_path}/env.db"


# ------------------------------------------------------------------ real server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    exe = Path(sys.executable).with_name("mlflow")
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            str(exe),
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path}/m.db",
            "--default-artifact-root",
            str(tmp_path / "art"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(
                    "mlflow server did not start: " + (tmp_path / "server.log").read_text()[-2000:]
                )
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.slow
@pytest.mark.server
def test_against_real_mlflow_server(
    mlflow_server: str,
    fits: tuple[pd.DataFrame, FitResult, FitResult],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    df, good, bad = fits
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.chdir(tmp_path)
    cfg = make_config()  # no uri in the config: the environment decides
    assert cfg.tracking.resolved_uri() == mlflow_server
    first = tracking.log_training(good, config=cfg)
    assert first.gate.promoted
    model = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    test = df[df["cutoff"] == df["cutoff"].max()]
    out = model.predict(test[FEATURES])
    np.testing.assert_allclose(out["p_conversion"], good.bundle.predict_proba(test), rtol=1e-12)
    assert not os.path.exists(tmp_path / "mlflow.db")  # nothing written to the local default

    second = tracking.log_training(bad, config=cfg)
    assert not second.gate.promoted
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == first.version
    assert str(client.get_model_version_by_alias(NAME, "challenger").version) == second.version
