"""Point-in-time features, labels and training sets.

Time semantics (sacred): features of cutoff ``c`` use events with ``ts < c``;
labels use events with ``c <= ts < c + horizon``.

Public API: :class:`FeatureSpec` (declarative, frozen at training time),
:func:`build_features` (one cutoff), :func:`build_training_set` (many cutoffs,
with labels, one pass), :func:`population`, :func:`plan_cutoffs`,
:func:`handset_points` (the hand-set points baseline), :class:`RFMSegmenter`,
the engines (:class:`DuckDBEngine`) and the feature-name grammar
(:mod:`mlscore.features.naming`).
"""

from __future__ import annotations

from mlscore.features.builders import build_features, build_training_set, compute_features
from mlscore.features.engine import DuckDBEngine, Engine, make_engine
from mlscore.features.handset import handset_points, handset_score
from mlscore.features.labels import as_epoch, get_target, plan_cutoffs, population
from mlscore.features.naming import (
    FeatureDef,
    describe,
    feature_name,
    parse_feature_name,
    reason_sentence,
)
from mlscore.features.rfm import RFM_SEGMENTS, RFMSegmenter
from mlscore.features.spec import AttributeSpec, FeatureSpec
from mlscore.features.sql import render_features_sql, render_labels_sql

__all__ = [
    "RFM_SEGMENTS",
    "AttributeSpec",
    "DuckDBEngine",
    "Engine",
    "FeatureDef",
    "FeatureSpec",
    "RFMSegmenter",
    "as_epoch",
    "build_features",
    "build_training_set",
    "compute_features",
    "describe",
    "feature_name",
    "get_target",
    "handset_points",
    "handset_score",
    "make_engine",
    "parse_feature_name",
    "plan_cutoffs",
    "population",
    "reason_sentence",
    "render_features_sql",
    "render_labels_sql",
]
