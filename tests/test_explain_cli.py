"""`mlscore explain` and `mlscore points` on a generated project with a real bundle."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mlscore.cli import app
from mlscore.config import load_config
from mlscore.data import load_tables
from mlscore.data.synthetic import generate_world
from mlscore.explain.service import explain_customer, points_tables
from mlscore.features.builders import build_training_set
from mlscore.modeling.train import fit_target

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("explain_cli")
    with warnings.catch_warnings():  # the generator's own deprecation warnings are not ours
        warnings.simplefilter("ignore")
        w = generate_world(root / "world", customers=700, days=300, seed=5)
    raw = yaml.safe_load(w.config_path.read_text())
    raw["targets"] = {k: v for k, v in raw["targets"].items() if k == "conversion"}
    raw["training"] = {"every_days": 14, "n_cutoffs": 8, "validation_cutoffs": 1, "test_cutoffs": 1}
    raw["model"] = {
        "kind": "additive",
        "num_boost_round": 40,
        "min_positives": 10,
        "min_negatives": 10,
        "threads": 1,  # tiny data on a 2-core CI box: one thread, no contention
    }
    w.config_path.write_text(yaml.safe_dump(raw))
    cfg = load_config(w.config_path)
    tables = load_tables(cfg)
    ts = build_training_set(tables, config=cfg, target="conversion")
    res = fit_target(ts, config=cfg, target="conversion")
    bundle_dir = res.bundle.save(root / "models" / "conversion")
    customer = str(tables.transactions["customer_id"].iloc[-1])
    return w.config_path, bundle_dir, customer


def test_explain_customer_adds_up(project):
    cfg_path, bundle_dir, customer = project
    cfg = load_config(cfg_path)
    (r,) = explain_customer(cfg, customer, model=str(bundle_dir), lang="fr")
    assert r.target == "conversion"
    assert r.baseline + r.points_by_group.sum() == pytest.approx(r.score, abs=1e-9)
    assert 0 <= r.score <= 100
    assert len(r.reasons) <= 2 * cfg.explain.top_reasons
    assert r.reasons["text"].str.contains(r" : [+-]\d+ points?$").all()


def test_cli_explain_en_fr(project):
    cfg_path, bundle_dir, customer = project
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["explain", "--config", str(cfg_path), "--customer", customer, "--model", str(bundle_dir)],
    )
    assert res.exit_code == 0, res.output
    assert f"{customer} — conversion as of" in res.output
    assert "baseline" in res.output and "points" in res.output
    res = runner.invoke(
        app,
        [
            "explain",
            "--config",
            str(cfg_path),
            "--customer",
            customer,
            "--model",
            str(bundle_dir),
            "--lang",
            "fr",
            "--as-of",
            "2024-10-01",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "au 2024-10-01" in res.output and "score de référence" in res.output


def test_cli_explain_errors(project):
    cfg_path, bundle_dir, _ = project
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["explain", "--config", str(cfg_path), "--customer", "nobody", "--model", str(bundle_dir)],
    )
    assert res.exit_code == 1
    assert "customer 'nobody' is unknown" in res.output
    res = runner.invoke(
        app,
        ["explain", "--config", str(cfg_path), "--customer", "x", "--model", "/nonexistent/dir"],
    )
    assert res.exit_code == 2


def test_cli_points_and_previous(project, tmp_path):
    cfg_path, bundle_dir, _ = project
    runner = CliRunner()
    out = tmp_path / "points.csv"
    res = runner.invoke(
        app,
        ["points", "--config", str(cfg_path), "--model", str(bundle_dir), "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert "Learned points — conversion" in res.output
    table = pd.read_csv(out)
    assert {"event", "level", "learned_points", "handset_points", "target"} <= set(table.columns)
    # the hand-set grid of the config is shown next to the learned points
    hand = load_config(cfg_path).features.handset_points.weights
    got = table[table["level"] == "all"].set_index("event")["handset_points"]
    for e, v in hand.items():
        if e in got.index:
            assert got[e] == v
    prev = table.assign(learned_points=table["learned_points"] - 2.0)
    prev_path = tmp_path / "prev.csv"
    prev.to_csv(prev_path, index=False)
    cfg = load_config(cfg_path)
    again = points_tables(
        cfg,
        model=str(bundle_dir),
        previous={"conversion": prev.drop(columns="target")},
    )
    t2, _ = again["conversion"]
    np.testing.assert_allclose(t2["change_since_previous"], 2.0, atol=1e-9)
    res = runner.invoke(
        app,
        [
            "points",
            "--config",
            str(cfg_path),
            "--model",
            str(bundle_dir),
            "--previous",
            str(prev_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "+2.0" in res.output


def test_training_artifacts_for_mlflow(project):
    from matplotlib.figure import Figure

    from mlscore.explain import training_artifacts
    from mlscore.features.builders import build_features
    from mlscore.modeling.bundle import ScoringBundle

    cfg_path, bundle_dir, _ = project
    cfg = load_config(cfg_path)
    bundle = ScoringBundle.load(bundle_dir)
    feats = build_features(load_tables(cfg), cutoff=cfg.as_of, config=cfg, spec=bundle.feature_spec)
    arts = training_artifacts(bundle, feats, max_rows=400)
    table = arts["points_table.csv"]
    assert isinstance(table, pd.DataFrame) and "customer_id" not in table.columns
    assert {"points_table.png", "shap_summary.png", "reason_groups.png"} <= set(arts)
    assert any(k.startswith("shap_dependence_") for k in arts)
    assert all(isinstance(v, Figure) for k, v in arts.items() if k.endswith(".png"))
