"""Configuration: defaults, strictness (typos name the key and the allowed keys), env override."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlscore.config import (
    ChurnTarget,
    ConversionTarget,
    ProjectConfig,
    config_from_dict,
    load_config,
)
from mlscore.errors import ConfigError

MINIMAL = {"data": {"transactions": {"path": "t.parquet"}, "interactions": {"path": "i.parquet"}}}


def write(tmp_path: Path, raw: dict) -> Path:
    p = tmp_path / "project.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


def test_defaults_live_in_the_models(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg.features.windows_days == [7, 30, 90]
    assert cfg.features.handset_points.weights["form_submit"] == 30.0
    assert isinstance(cfg.targets["conversion"], ConversionTarget)
    assert isinstance(cfg.targets["churn"], ChurnTarget)
    assert cfg.model.min_positives == 100
    # relative paths resolve against the YAML's folder
    assert cfg.resolve_path("t.parquet") == tmp_path.resolve() / "t.parquet"


def test_config_is_frozen() -> None:
    cfg = config_from_dict(MINIMAL)
    with pytest.raises(Exception, match="frozen"):
        cfg.project = "other"  # type: ignore[misc]


def test_typo_names_key_and_allowed_keys(tmp_path: Path) -> None:
    raw = {**MINIMAL, "features": {"windows_dayz": [7]}}
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, raw))
    msg = str(info.value)
    assert "features.windows_dayz" in msg
    assert "windows_days" in msg and "half_lives_days" in msg


def test_nested_typo_in_target(tmp_path: Path) -> None:
    raw = {**MINIMAL, "targets": {"conversion": {"kind": "conversion", "horizn_days": 30}}}
    with pytest.raises(ConfigError, match="horizn_days.*allowed keys here:.*horizon_days"):
        load_config(write(tmp_path, raw))


def test_top_level_typo_lists_sections() -> None:
    with pytest.raises(ConfigError, match="unknown key `modle`.*model"):
        config_from_dict({**MINIMAL, "modle": {}})


def test_wrong_type_is_reported_with_its_location() -> None:
    with pytest.raises(ConfigError, match="training.every_days"):
        config_from_dict({**MINIMAL, "training": {"every_days": "often"}})


def test_event_outcome_needs_event_name() -> None:
    with pytest.raises(ConfigError, match="needs `event:`"):
        config_from_dict(
            {**MINIMAL, "targets": {"lead": {"kind": "conversion", "outcome": "event"}}}
        )


def test_purchase_target_without_transactions_is_refused() -> None:
    raw = {"data": {"interactions": {"path": "i.parquet"}}}
    with pytest.raises(ConfigError, match="no `transactions`"):
        config_from_dict(raw)
    ok = config_from_dict(
        {
            **raw,
            "targets": {
                "lead": {"kind": "conversion", "outcome": "event", "event": "form_submit"},
                "churn": {"kind": "churn", "activity": "any"},
            },
        }
    )
    assert set(ok.targets) == {"lead", "churn"}


def test_no_event_table_at_all_is_refused() -> None:
    with pytest.raises(ConfigError, match="interactions.*transactions"):
        config_from_dict({"data": {}})


def test_tier_labels_must_match_cuts() -> None:
    raw = {**MINIMAL, "segments": {"tiers": {"conversion": {"cuts": [0.9], "labels": ["a"]}}}}
    with pytest.raises(ConfigError, match="len\\(labels\\) == len\\(cuts\\) \\+ 1"):
        config_from_dict(raw)


def test_duckdb_source_needs_table() -> None:
    with pytest.raises(ConfigError, match="needs `table:`"):
        config_from_dict({"data": {"transactions": {"path": "shop.duckdb"}}})


def test_tracking_uri_env_overrides_yaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = config_from_dict({**MINIMAL, "tracking": {"uri": "sqlite:///from-yaml.db"}})
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert cfg.tracking.resolved_uri() == "sqlite:///from-yaml.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert cfg.tracking.resolved_uri() == "http://127.0.0.1:5999"


def test_default_tracking_uri_is_sqlite_in_cwd(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    uri = config_from_dict(MINIMAL).tracking.resolved_uri()
    assert uri == f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_shipped_example_configs_load() -> None:
    root = Path(__file__).resolve().parents[1] / "configs"
    files = sorted(root.glob("*.yaml"))
    assert len(files) >= 3
    for f in files:
        cfg = load_config(f)
        assert isinstance(cfg, ProjectConfig)
