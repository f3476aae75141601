"""Baseline scores the learned model is always judged against.

On the same test cutoff as the model:

- ``handset_points`` and any other ``baseline_<name>`` column of the training
  set (computed by the feature builder as of each cutoff, from events with
  ``timestamp < cutoff``);
- ``rfm``: the R + F + M quintile codes (3..15) of an RFM segmenter fitted on
  the *training* slice only (skipped when there are no transactions);
- ``recency``: minus the days since the last activity (never active = least
  recent).

Each baseline is oriented on the training slice: if its training AUC is below
0.5 its sign is flipped (for test as well). Test labels never choose the sign.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

__all__ = ["BASELINE_PREFIX", "BaselineScore", "baseline_scores", "rfm_code_sum"]

log = logging.getLogger(__name__)

BASELINE_PREFIX = "baseline_"
RECENCY_COLUMNS = ("days_since_last_activity", "days_since_last_purchase")
_NEVER = 1e9  # days since last activity for someone never active


@dataclass(frozen=True)
class BaselineScore:
    """One baseline's oriented scores on the train and test slices."""

    name: str
    train: np.ndarray
    test: np.ndarray
    flipped: bool
    train_auc: float


def _orient(name: str, train: np.ndarray, test: np.ndarray, y_train: np.ndarray) -> BaselineScore:
    auc = float("nan")
    flipped = False
    if 0 < y_train.sum() < y_train.size:
        auc = float(roc_auc_score(y_train, train))
        if auc < 0.5:
            flipped = True
            train, test, auc = -train, -test, 1 - auc
    return BaselineScore(name, train, test, flipped, auc)


def rfm_code_sum(codes: pd.DataFrame) -> np.ndarray:
    """R + F + M from a segmenter's output (columns ending in ``r``/``f``/``m`` codes)."""
    names = {}
    for col in codes.columns:
        low = str(col).lower()
        for letter in ("r", "f", "m"):
            if low in (
                letter,
                f"rfm_{letter}",
                f"{letter}_code",
                f"rfm_{letter}_code",
                f"{letter}_score",
                f"rfm_{letter}_score",
            ):
                names[letter] = col
    if len(names) != 3:
        raise ValueError(f"cannot find r/f/m code columns in {list(codes.columns)}")
    total = sum(pd.to_numeric(codes[names[k]], errors="coerce").fillna(0) for k in "rfm")
    return np.asarray(total, dtype=np.float64)


def baseline_scores(
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    rfm_segmenter: Any | None = None,
    label: str = "label",
) -> dict[str, BaselineScore]:
    """Oriented baseline scores on the training and test slices.

    Parameters
    ----------
    train, test
        Slices of the training set (features, ``baseline_*`` columns, label).
    rfm_segmenter
        A segmenter already fitted on ``train`` (``transform`` gives r/f/m
        codes), or ``None`` to skip the RFM baseline.

    Examples
    --------
    >>> tr = pd.DataFrame({"baseline_handset_points": [0, 5, 10, 20], "label": [0, 0, 1, 1],
    ...                    "days_since_last_activity": [90, 40, 3, 1]})
    >>> te = tr.copy()
    >>> b = baseline_scores(tr, te)
    >>> sorted(b), b["recency"].flipped, b["recency"].train_auc
    (['handset_points', 'recency'], False, 1.0)
    """
    y_train = train[label].to_numpy(dtype=np.float64)
    out: dict[str, BaselineScore] = {}
    for col in train.columns:
        if str(col).startswith(BASELINE_PREFIX) and col in test.columns:
            name = str(col)[len(BASELINE_PREFIX) :]
            tr = pd.to_numeric(train[col], errors="coerce").fillna(0).to_numpy(np.float64)
            te = pd.to_numeric(test[col], errors="coerce").fillna(0).to_numpy(np.float64)
            out[name] = _orient(name, tr, te, y_train)
    for col in RECENCY_COLUMNS:
        if col in train.columns and col in test.columns:
            tr = -pd.to_numeric(train[col], errors="coerce").fillna(_NEVER).to_numpy(np.float64)
            te = -pd.to_numeric(test[col], errors="coerce").fillna(_NEVER).to_numpy(np.float64)
            out["recency"] = _orient("recency", tr, te, y_train)
            break
    if rfm_segmenter is not None:
        try:
            tr = rfm_code_sum(rfm_segmenter.transform(train))
            te = rfm_code_sum(rfm_segmenter.transform(test))
        except (KeyError, ValueError) as err:
            log.warning("RFM baseline skipped: %s", err)
        else:
            out["rfm"] = _orient("rfm", tr, te, y_train)
    return out
