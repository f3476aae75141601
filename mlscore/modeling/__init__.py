"""Modeling: time split, LightGBM per target, calibration, baselines, scoring bundle.

The public entry points are :func:`fit_target` (one target, no tracking),
:func:`train` (all targets, tracked in MLflow, champion/challenger gate) and
:class:`ScoringBundle` (what predictors and explainers load).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlscore.modeling.bundle import ScoringBundle, TierRule
from mlscore.modeling.calibration import (
    Calibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    select_calibrator,
)
from mlscore.modeling.metrics import binary_metrics, decile_table, expected_calibration_error
from mlscore.modeling.split import TimeSplit, split_cutoffs, split_frame
from mlscore.modeling.train import DEFAULT_PARAMS, FitResult, fit_target

if TYPE_CHECKING:
    from mlscore.modeling.pipeline import TrainResult

__all__ = [
    "DEFAULT_PARAMS",
    "Calibrator",
    "FitResult",
    "IsotonicCalibrator",
    "PlattCalibrator",
    "ScoringBundle",
    "TierRule",
    "TimeSplit",
    "TrainResult",
    "binary_metrics",
    "decile_table",
    "expected_calibration_error",
    "fit_target",
    "select_calibrator",
    "split_cutoffs",
    "split_frame",
    "train",
]


def __getattr__(name: str) -> Any:
    # the tracked pipeline imports mlflow: load it only when asked for
    if name in ("train", "TrainResult"):
        from mlscore.modeling import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
