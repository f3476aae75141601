"""Modeling: time split, LightGBM per target, calibration, baselines, scoring bundle.

The public entry points are :func:`fit_target` (one target, no tracking),
``mlscore.modeling.train.train`` (all targets from the canonical tables, tracked
in MLflow, champion/challenger gate; ``mlscore.modeling.train`` is the module)
and :class:`ScoringBundle` (what predictors and explainers load).
"""

from __future__ import annotations

from mlscore.modeling.bundle import ScoringBundle, TierRule
from mlscore.modeling.calibration import (
    Calibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    select_calibrator,
)
from mlscore.modeling.metrics import binary_metrics, decile_table, expected_calibration_error
from mlscore.modeling.split import TimeSplit, split_cutoffs, split_frame
from mlscore.modeling.train import DEFAULT_PARAMS, FitResult, TrainResult, fit_target

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
]
