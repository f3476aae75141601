"""Batch prediction: scores, tiers, segments, next actions, alerts and CRM exports.

:class:`Predictor` loads each target's scoring bundle once and scores feature
frames or canonical tables; :func:`run_predict` is the chunked batch job behind
``mlscore predict``. See ``docs/predict.md``.
"""

from __future__ import annotations

from mlscore.predict.alerts import ALERT_COLUMNS, alerts_for, previous_view
from mlscore.predict.batch import ALERTS_FILE, PredictResult, run_predict
from mlscore.predict.export import export_columns, export_frame
from mlscore.predict.predictor import LoadedModel, Predictor, load_models, output_columns
from mlscore.predict.segments import (
    SEGMENTS,
    combined_segment,
    engagement_tier,
    next_action,
    target_kind,
)

__all__ = [
    "ALERTS_FILE",
    "ALERT_COLUMNS",
    "SEGMENTS",
    "LoadedModel",
    "PredictResult",
    "Predictor",
    "alerts_for",
    "combined_segment",
    "engagement_tier",
    "export_columns",
    "export_frame",
    "load_models",
    "next_action",
    "output_columns",
    "previous_view",
    "run_predict",
    "target_kind",
]
