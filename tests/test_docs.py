"""The configuration reference stays true: every key of the models is documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel

from mlscore.config import ProjectConfig

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in get_args(annotation) for m in _models_in(a)]


def _keys(model: type[BaseModel], prefix: str) -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        subs = _models_in(field.annotation)
        keyed = "dict[" in str(field.annotation)
        if not subs or prefix.startswith("data.") or key.startswith("data."):
            keys.append(key)
        if key in ("data.interactions", "data.transactions", "data.customers"):
            continue  # source keys are documented once, in the source table
        for sub in subs:
            keys.extend(_keys(sub, f"{key}.<name>." if keyed else f"{key}."))
    return keys


def test_every_config_key_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [k for k in _keys(ProjectConfig, "") if f"`{k}`" not in text]
    assert not missing, f"docs/configuration.md lacks {missing}"
