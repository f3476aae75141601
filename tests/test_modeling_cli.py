"""CLI: promote / rollback / export-model error paths and the train table printer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlscore.cli import app


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite store for the module (creating a store costs seconds)."""
    return tmp_path_factory.mktemp("store")


def _project(tmp_path: Path, store: Path) -> Path:
    cfg = {
        "data": {"transactions": {"path": "t.parquet"}},
        "tracking": {"uri": f"sqlite:///{store}/mlflow.db"},
    }
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_export_without_champion_exits_2(tmp_path: Path, store: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "export-model",
            "--config",
            str(_project(tmp_path, store)),
            "--target",
            "conversion",
            "--out",
            str(tmp_path / "m"),
        ],
    )
    assert res.exit_code == 2, res.output
    assert "no champion" in res.output
    assert not (tmp_path / "m").exists()


def test_rollback_without_champion_exits_2(tmp_path: Path, store: Path) -> None:
    res = CliRunner().invoke(
        app, ["rollback", "--config", str(_project(tmp_path, store)), "--target", "conversion"]
    )
    assert res.exit_code == 2, res.output


def test_train_unknown_target_exits_1(tmp_path: Path, store: Path) -> None:
    res = CliRunner().invoke(
        app, ["train", "--config", str(_project(tmp_path, store)), "--target", "nope"]
    )
    assert res.exit_code == 1
    assert "unknown target 'nope'" in res.output
