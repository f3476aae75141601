"""Gather what the report shows about the models: cards, decile tables, points tables.

Everything here is best effort: a target whose model cannot be loaded, or whose
learned points table cannot be computed, is left out of the page with a note
saying why (the rest of the report is still written).

Where each piece comes from:

* model card — the scoring bundle (registry champion
  ``models:/<prefix>-<target>@champion`` or a local bundle directory) via
  :func:`mlscore.predict.predictor.load_models`: target definition, data
  window, metrics vs baselines, training date, registry version;
* decile tables (lift and calibration) — the bundle's metadata keys
  ``deciles`` and ``baseline_deciles`` if present, else a
  ``metrics_by_decile.csv`` file next to a local bundle (the long format
  logged to MLflow by :func:`mlscore.tracking.log_training`: the decile
  columns plus ``score`` = ``model`` or ``baseline_<name>``);
* learned points table — computed now, as of the predictions' date, by
  :func:`mlscore.explain.service.points_tables` (features use events with
  ``timestamp < as_of``), or read from a ``points_table.csv`` next to a local
  bundle.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mlscore.config import ProjectConfig
from mlscore.errors import MlscoreError
from mlscore.io import read_table
from mlscore.report.board import ModelCard, report_targets, write_report

__all__ = ["ReportInputs", "build_report", "deciles_from_long", "gather_inputs"]

log = logging.getLogger(__name__)

DECILES_FILE = "metrics_by_decile.csv"
POINTS_FILE = "points_table.csv"


@dataclass
class ReportInputs:
    """Model cards, points tables and notes for :func:`mlscore.report.render_report`."""

    models: list[ModelCard] = field(default_factory=list)
    points_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    missing_models: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`~mlscore.report.render_report`."""
        return {
            "models": self.models,
            "points_tables": self.points_tables,
            "missing_models": self.missing_models,
            "notes": self.notes,
        }


def deciles_from_long(
    table: pd.DataFrame,
) -> tuple[pd.DataFrame | None, dict[str, pd.DataFrame]]:
    """Split a long decile table (``score`` = ``model`` / ``baseline_<name>``).

    Examples
    --------
    >>> long = pd.DataFrame({"decile": [1, 1], "lift": [2.0, 1.5],
    ...                      "score": ["model", "baseline_handset_points"]})
    >>> model, base = deciles_from_long(long)
    >>> model["lift"].tolist(), sorted(base)
    ([2.0], ['handset_points'])
    """
    if "score" not in table.columns:
        return table, {}
    model = None
    baselines: dict[str, pd.DataFrame] = {}
    for name, part in table.groupby("score", sort=False):
        part = part.drop(columns="score").reset_index(drop=True)
        if name == "model":
            model = part
        else:
            baselines[str(name).removeprefix("baseline_")] = part
    return model, baselines


def _registry_parts(label: str) -> tuple[str | None, str | None]:
    """(model name, version) from a label like ``mlscore-churn@champion v3``."""
    name = version = None
    text = label.split("(", 1)[-1].rstrip(")") if "(" in label else label
    head, _, tail = text.rpartition(" v")
    if head and tail.isdigit():
        version = tail
        name = head.split("@", 1)[0].removeprefix("local:")
    return name, version


def _card(target: str, bundle: Any, label: str, source_dir: Path | None) -> ModelCard:
    name, version = _registry_parts(label)
    md = dict(getattr(bundle, "metadata", {}) or {})
    deciles: Any = md.get("deciles", md.get("decile_table"))
    baseline_deciles: Any = md.get("baseline_deciles")
    if deciles is None and source_dir is not None and (source_dir / DECILES_FILE).is_file():
        deciles, baseline_deciles = deciles_from_long(pd.read_csv(source_dir / DECILES_FILE))
    return ModelCard.from_metadata(
        target,
        md,
        target_config=getattr(bundle, "target_config", None),
        version=version,
        name=name,
        source=label,
        deciles=deciles,
        baseline_deciles=baseline_deciles,
    )


def _bundle_dir(label: str) -> Path | None:
    if not label.startswith("local:"):
        return None
    path = label.removeprefix("local:").split(" (", 1)[0]
    return Path(path)


def _load_model(model: Any, config: ProjectConfig, target: str) -> tuple[Any, str]:
    """(bundle, label) of one target, as ``mlscore predict`` would load it."""
    try:
        from mlscore.predict.predictor import load_models
    except ImportError:  # predictor not installed: local bundle directories only
        return _load_local(model, target)
    lm = load_models(model, config=config, targets=[target])[target]
    return lm.bundle, lm.label


def _load_local(model: Any, target: str) -> tuple[Any, str]:
    from mlscore.errors import ModelNotFoundError
    from mlscore.modeling.bundle import ScoringBundle

    if model is None or str(model).startswith(("models:/", "runs:/")):
        raise ModelNotFoundError(f"cannot load {model!r} without mlscore.predict")
    root = Path(model)
    for cand in (root, root / target):
        if (cand / "bundle.json").is_file():
            bundle = ScoringBundle.load(cand)
            if bundle.target == target:
                reg = bundle.metadata.get("registry") or {}
                label = f"local:{cand.as_posix()}"
                if reg.get("model_name") and reg.get("version") is not None:
                    label += f" ({reg['model_name']} v{reg['version']})"
                return bundle, label
    raise ModelNotFoundError(f"no scoring bundle for {target!r} under {str(root)!r}")


def gather_inputs(
    config: ProjectConfig,
    *,
    targets: Sequence[str],
    as_of: dt.date | None = None,
    model: Any = None,
    points: bool = True,
    previous_points: Mapping[str, pd.DataFrame] | None = None,
) -> ReportInputs:
    """Load each target's model card and learned points table; note what fails.

    Parameters
    ----------
    config
        The project config (targets, registry prefix, data for the points table).
    targets
        Targets shown in the report (those of the predictions file).
    as_of
        The predictions' date: the learned points table is computed over the
        population as of this date (features from events with ``ts < as_of``).
    model
        ``None`` (registry champions), a registry URI or a bundle directory, as
        for ``mlscore predict --model``.
    points
        Compute the learned points tables (needs the data named in the config).
    previous_points
        Target → the previous champion's points table, for the change column.
    """
    out = ReportInputs()
    loaded: dict[str, tuple[Any, str]] = {}
    for t in targets:
        try:
            loaded[t] = _load_model(model, config, t)
        except (MlscoreError, ImportError, OSError) as err:
            log.warning("report: no model card for %r (%s)", t, err)
            out.missing_models[t] = str(err)
    for t, (bundle, label) in loaded.items():
        src = _bundle_dir(label)
        out.models.append(_card(t, bundle, label, src))
        if src is not None and (src / POINTS_FILE).is_file():
            out.points_tables[t] = pd.read_csv(src / POINTS_FILE)
    todo = [t for t in loaded if t not in out.points_tables]
    if points and todo:
        from mlscore.explain.service import points_tables

        try:  # one feature build for every target
            found = points_tables(config, as_of=as_of, model=model, previous=previous_points)
        except (MlscoreError, ImportError, OSError, ValueError) as err:
            log.info("report: points tables of all targets at once failed (%s)", err)
            found = {}
        for t in todo:
            if t in found:
                out.points_tables[t] = found[t][0]
                continue
            try:
                res = points_tables(
                    config, as_of=as_of, target=t, model=model, previous=previous_points
                )
                out.points_tables[t] = res[t][0]
            except (MlscoreError, ImportError, OSError, ValueError, KeyError) as err:
                log.warning("report: no points table for %r (%s)", t, err)
                out.notes[t] = str(err)
    return out


def _as_of(predictions: pd.DataFrame) -> dt.date | None:
    if "as_of" not in predictions.columns or predictions.empty:
        return None
    try:
        return pd.Timestamp(pd.Series(predictions["as_of"]).max()).date()
    except (TypeError, ValueError):
        return None


def build_report(
    config: ProjectConfig,
    predictions: str | Path | pd.DataFrame,
    out: str | Path,
    *,
    lang: str = "en",
    previous: str | Path | pd.DataFrame | None = None,
    model: Any = None,
    points: bool = True,
    previous_points: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[Path, ReportInputs]:
    """Load predictions and model inputs, then write the report (what ``mlscore report`` does).

    ``predictions`` and ``previous`` are files written by ``mlscore predict``
    (or DataFrames). The learned points tables are computed as of the
    predictions' ``as_of`` date. Returns the report path and what was gathered
    (its ``missing_models`` and ``notes`` say what the page leaves out).
    """
    preds = predictions if isinstance(predictions, pd.DataFrame) else read_table(predictions)
    prev = (
        previous if previous is None or isinstance(previous, pd.DataFrame) else read_table(previous)
    )
    inputs = gather_inputs(
        config,
        targets=report_targets(preds),
        as_of=_as_of(preds),
        model=model,
        points=points,
        previous_points=previous_points,
    )
    path = write_report(preds, out, previous=prev, lang=lang, **inputs.as_kwargs())
    return path, inputs
