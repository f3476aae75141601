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
from mlscore.explain.points import SCORE_SCALE, PointsResult, to_points
from mlscore.explain.reasons import (
    REASON_COLUMNS,
    Explanation,
    compact_reasons,
    explain,
    explain_bundle,
    reason_text,
    top_reasons,
)

__all__ = [
    "REASON_COLUMNS",
    "SCORE_SCALE",
    "AdditiveExplainer",
    "Contributions",
    "Explanation",
    "PointsResult",
    "compact_reasons",
    "compute_contributions",
    "explain",
    "explain_bundle",
    "feature_groups",
    "group_contributions",
    "is_additive",
    "reason_text",
    "to_points",
    "top_reasons",
]
