"""`mlscore report` on real (tiny) scoring bundles saved as local directories."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from _report_helpers import REPORT_CONFIG, fit_bundle, make_predictions
from typer.testing import CliRunner

from mlscore.cli import app
from mlscore.io import write_table
from mlscore.report.inputs import deciles_from_long, gather_inputs


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report_project")
    (root / "project.yaml").write_text(yaml.safe_dump(REPORT_CONFIG), encoding="utf-8")
    for kind in ("conversion", "churn"):
        res = fit_bundle(kind)
        res.bundle.metadata["registry"] = {"model_name": f"mlscore-{kind}", "version": "4"}
        # bundles trained before the decile tables travelled in the metadata: the
        # report falls back to the run's CSV next to the bundle, else shows a note
        res.bundle.metadata.pop("deciles")
        res.bundle.metadata.pop("baseline_deciles")
        path = res.bundle.save(root / "models" / kind)
        if kind == "churn":  # the long decile table logged to MLflow, kept next to the bundle
            long = pd.concat(
                [res.decile_table.assign(score="model")]
                + [t.assign(score=f"baseline_{n}") for n, t in res.baseline_deciles.items()],
                ignore_index=True,
            )
            long.to_csv(path / "metrics_by_decile.csv", index=False)
    write_table(make_predictions(300), root / "predictions.parquet")
    write_table(make_predictions(250, seed=3), root / "previous.csv")
    return root


def _payload(html: str) -> dict:
    m = re.search(r'id="mls-data">(.*?)</script>', html, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_cli_writes_report_with_model_cards(project: Path) -> None:
    out = project / "out" / "report.html"
    res = CliRunner().invoke(
        app,
        [
            "report",
            "--config",
            str(project / "project.yaml"),
            "--predictions",
            str(project / "predictions.parquet"),
            "--previous",
            str(project / "previous.csv"),
            "--model",
            str(project / "models"),
            "--out",
            str(out),
            "--lang",
            "fr",
            "--no-points",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "report:" in res.output and "KB" in res.output
    html = out.read_text(encoding="utf-8")
    assert len(_payload(html)["ids"]) == 300
    cards = re.findall(r'<div class="model-card" data-target="(\w+)">', html)
    assert cards == ["conversion", "churn"]
    assert "mlscore-churn v4" in html  # registry name and version of the exported bundle
    assert "Points manuels" in html  # the hand-set baseline column, in French
    # churn has its decile table next to the bundle: lift + calibration charts drawn;
    # conversion has none: a note says so
    ranking = html[html.index('<section id="ranking">') : html.index('<section id="points">')]
    assert ranking.count("<svg") == 2
    assert "ne contient pas de tables par décile" in ranking


def test_new_bundles_carry_their_decile_tables() -> None:
    md = fit_bundle("conversion").bundle.metadata
    assert [r["decile"] for r in md["deciles"]] == list(range(1, 11))
    assert "handset_points" in md["baseline_deciles"]
    assert sum(r["count"] for r in md["deciles"]) == md["counts"]["test"]["rows"]
    assert not any("customer_id" in r for r in md["deciles"])  # aggregates only


def test_missing_models_are_noted_not_fatal(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    res = CliRunner().invoke(
        app,
        [
            "report",
            "-c",
            str(project / "project.yaml"),
            "-p",
            str(project / "predictions.parquet"),
            "--model",
            str(tmp_path / "nothing-here"),
            "-o",
            str(out),
            "--no-points",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "note" in res.output
    html = out.read_text(encoding="utf-8")
    assert html.count("Model card unavailable") >= 2
    assert 'class="model-card"' not in html


def test_cli_rejects_bad_language_and_missing_file(project: Path, tmp_path: Path) -> None:
    args = ["report", "-c", str(project / "project.yaml"), "-o", str(tmp_path / "r.html")]
    res = CliRunner().invoke(
        app, [*args, "-p", str(project / "predictions.parquet"), "--lang", "de"]
    )
    assert res.exit_code == 1 and "en or fr" in res.output
    res = CliRunner().invoke(app, [*args, "-p", str(tmp_path / "none.parquet")])
    assert res.exit_code == 1 and "not found" in res.output
    assert not (tmp_path / "r.html").exists()


def test_gather_inputs_reads_bundle_metadata(project: Path) -> None:
    from mlscore.config import load_config

    cfg = load_config(project / "project.yaml")
    inputs = gather_inputs(
        cfg, targets=["conversion", "churn", "lead"], model=project / "models", points=False
    )
    assert [c.target for c in inputs.models] == ["conversion", "churn"]
    assert set(inputs.missing_models) == {"lead"}
    churn = inputs.models[1]
    assert churn.target_config["kind"] == "churn"
    assert churn.metrics["test_auc"] > 0.5
    assert len(churn.deciles) == 10 and set(churn.baseline_deciles) == {"handset_points", "recency"}


def test_deciles_from_long_without_score_column() -> None:
    table = pd.DataFrame({"decile": [1, 2], "lift": [2.0, 0.5]})
    model, baselines = deciles_from_long(table)
    assert model is table and baselines == {}
