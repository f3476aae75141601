"""The hand-set points baseline (the seeds' lead-scoring grid), as of a cutoff.

Score as of cutoff ``c`` (see :class:`mlscore.config.HandsetPoints`):

- points = sum of the grid weight of every interaction with ``ts < c`` (only
  ``ts >= c - lookback_days`` when ``lookback_days`` is set);
- idle = whole days since the last activity, ``floor((c - last) / 86400)``,
  where activity is any interaction or transaction with ``ts < c``;
- score = ``max(0, points - decay_per_day * max(0, idle - grace_days))``;
  0 for a customer with no activity.

The feature builders compute the same score in SQL as the column
``baseline_handset_points``; this module offers it as a plain function (e.g.
for the predictor's engagement tiers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlscore.config import HandsetPoints
from mlscore.data.tables import Tables
from mlscore.features.labels import DAY, as_epoch

__all__ = ["handset_points", "handset_score"]


def handset_score(
    points: np.ndarray | pd.Series,
    days_since_last_activity: np.ndarray | pd.Series,
    grid: HandsetPoints,
) -> np.ndarray:
    """Apply the inactivity decay and the floor to raw grid points.

    ``days_since_last_activity`` may be fractional (it is floored to whole
    days) or NaN (no activity: score 0).

    Examples
    --------
    >>> handset_score(np.array([50.0, 50.0, 5.0]), np.array([31.5, 40.0, 90.0]),
    ...               HandsetPoints(grace_days=30, decay_per_day=1.0)).tolist()
    [49.0, 40.0, 0.0]
    """
    pts = np.asarray(points, dtype="float64")
    idle = np.floor(np.asarray(days_since_last_activity, dtype="float64"))
    penalty = grid.decay_per_day * np.maximum(idle - grid.grace_days, 0.0)
    score = np.maximum(pts - penalty, 0.0)
    return np.where(np.isnan(idle), 0.0, score)


def handset_points(tables: Tables, *, cutoff: object, points: HandsetPoints) -> pd.Series:
    """Hand-set points score of every customer active before ``cutoff``.

    Uses only events with ``ts < cutoff``. Returns a float Series indexed by
    ``customer_id`` (customers with no activity before the cutoff are absent:
    their score is 0).
    """
    c = as_epoch(cutoff)
    lasts = []
    pts = pd.Series(dtype="float64")
    inter = tables.interactions
    if inter is not None:
        before = inter[inter["ts"] < c]
        lasts.append(before.groupby("customer_id")["ts"].max())
        scored = before
        if points.lookback_days is not None:
            scored = before[before["ts"] >= c - points.lookback_days * DAY]
        w = scored["event"].map(points.weights).fillna(0.0).astype("float64")
        pts = w.groupby(scored["customer_id"]).sum()
    if tables.transactions is not None:
        tx = tables.transactions
        lasts.append(tx.loc[tx["ts"] < c].groupby("customer_id")["ts"].max())
    if not lasts:
        return pd.Series(dtype="float64", name="baseline_handset_points")
    last = pd.concat(lasts).groupby(level=0).max()
    pts = pts.reindex(last.index).fillna(0.0)
    score = handset_score(pts.to_numpy(), (c - last.to_numpy()) / DAY, points)
    out = pd.Series(score, index=last.index.astype(str), name="baseline_handset_points")
    out.index.name = "customer_id"
    return out.sort_index()
