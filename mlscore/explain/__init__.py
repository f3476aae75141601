"""Explanations: exact contributions, additive score points, reasons in words,
the learned points table and global SHAP figures.

Per customer: :func:`explain` (contributions → groups → points) and
:func:`top_reasons` (sentences in English or French); with a scoring bundle,
:func:`explain_bundle`. Per model: :func:`learned_points_table` and
:func:`global_figures`.
"""

from __future__ import annotations

from mlscore.explain.contributions import (
    AdditiveExplainer,
    Contributions,
    compute_contributions,
    feature_groups,
    group_contributions,
    is_additive,
)
from mlscore.explain.plots import global_figures
from mlscore.explain.points import SCORE_SCALE, PointsResult, to_points
from mlscore.explain.points_table import (
    POINTS_TABLE_COLUMNS,
    add_one_event,
    learned_points_table,
    points_table_bundle,
    points_table_figure,
)
from mlscore.explain.reasons import (
    REASON_COLUMNS,
    Explanation,
    compact_reasons,
    decode_attributes,
    explain,
    explain_bundle,
    reason_text,
    top_reasons,
)

__all__ = [
    "POINTS_TABLE_COLUMNS",
    "REASON_COLUMNS",
    "SCORE_SCALE",
    "AdditiveExplainer",
    "Contributions",
    "Explanation",
    "PointsResult",
    "add_one_event",
    "compact_reasons",
    "compute_contributions",
    "decode_attributes",
    "explain",
    "explain_bundle",
    "feature_groups",
    "global_figures",
    "group_contributions",
    "is_additive",
    "learned_points_table",
    "points_table_bundle",
    "points_table_figure",
    "reason_text",
    "to_points",
    "top_reasons",
    "training_artifacts",
]


def __getattr__(name: str) -> object:
    # lazy: the project-level service imports the predictor and the data layer
    if name == "training_artifacts":
        from mlscore.explain.service import training_artifacts

        return training_artifacts
    raise AttributeError(name)
