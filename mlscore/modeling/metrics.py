"""Evaluation metrics for binary scores, with stable names.

Every function takes labels ``y`` (0/1) and a score (a probability or any
ranking score, higher = more likely positive) and is pure.

Calibration error (:func:`expected_calibration_error`) uses **15 equal-frequency
bins** of the predicted probability (each bin holds about n/15 rows), because
scores from customer bases are very skewed and equal-width bins would leave
most bins empty; ECE = Σ (n_b / n) · |mean(p_b) − mean(y_b)|.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

__all__ = [
    "PROBA_EPS",
    "binary_metrics",
    "decile_table",
    "expected_calibration_error",
    "lift_at",
]

#: Probabilities are clipped to [eps, 1 - eps] before log loss.
PROBA_EPS = 1e-6


def _arrays(y: ArrayLike, s: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    ya = np.asarray(y, dtype=np.float64).ravel()
    sa = np.asarray(s, dtype=np.float64).ravel()
    if ya.shape != sa.shape:
        raise ValueError(f"labels ({ya.shape[0]}) and scores ({sa.shape[0]}) differ in length")
    return ya, sa


def _order_desc(s: np.ndarray) -> np.ndarray:
    """Row order by decreasing score; ties keep input order (deterministic)."""
    return np.argsort(-s, kind="stable")


def lift_at(y: ArrayLike, score: ArrayLike, fraction: float = 0.1) -> float:
    """Positive rate among the top ``fraction`` by score divided by the overall rate.

    The top group holds ``ceil(fraction * n)`` rows; ties at the boundary are
    broken by input order.

    Examples
    --------
    >>> lift_at([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
    5.0
    """
    ya, sa = _arrays(y, score)
    n = ya.shape[0]
    base = ya.mean() if n else 0.0
    if n == 0 or base == 0:
        return float("nan")
    k = max(1, int(np.ceil(fraction * n - 1e-9)))
    top = _order_desc(sa)[:k]
    return float(ya[top].mean() / base)


def expected_calibration_error(y: ArrayLike, p: ArrayLike, *, n_bins: int = 15) -> float:
    """ECE over ``n_bins`` equal-frequency bins of the predicted probability.

    Examples
    --------
    >>> round(expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], n_bins=2), 6)
    0.0
    >>> round(expected_calibration_error([0, 0, 1, 1], [0.9, 0.9, 0.1, 0.1], n_bins=2), 6)
    0.9
    """
    ya, pa = _arrays(y, p)
    n = ya.shape[0]
    if n == 0:
        return float("nan")
    order = np.argsort(pa, kind="stable")
    bins = np.array_split(order, min(n_bins, n))
    return float(sum(len(b) / n * abs(pa[b].mean() - ya[b].mean()) for b in bins if len(b)))


def binary_metrics(
    y: ArrayLike, score: ArrayLike, *, prefix: str = "", probabilities: bool = True
) -> dict[str, float]:
    """AUC, PR AUC, lift at 10 % and, for probabilities, Brier, log loss and ECE.

    Names are ``<prefix>auc``, ``<prefix>pr_auc``, ``<prefix>lift_at_10`` and
    ``<prefix>brier``, ``<prefix>log_loss``, ``<prefix>ece``; AUCs are NaN when
    only one class is present.

    Examples
    --------
    >>> m = binary_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], prefix="test_")
    >>> m["test_auc"]
    0.75
    """
    ya, sa = _arrays(y, score)
    two_classes = 0 < ya.sum() < ya.shape[0]
    out = {
        f"{prefix}auc": float(roc_auc_score(ya, sa)) if two_classes else float("nan"),
        f"{prefix}pr_auc": float(average_precision_score(ya, sa)) if two_classes else float("nan"),
        f"{prefix}lift_at_10": lift_at(ya, sa, 0.1),
    }
    if probabilities:
        pc = np.clip(sa, PROBA_EPS, 1 - PROBA_EPS)
        out[f"{prefix}brier"] = float(brier_score_loss(ya, sa))
        out[f"{prefix}log_loss"] = float(log_loss(ya, pc, labels=[0, 1]))
        out[f"{prefix}ece"] = expected_calibration_error(ya, sa)
    return out


def decile_table(y: ArrayLike, score: ArrayLike, *, probabilities: bool = True) -> pd.DataFrame:
    """Per-decile aggregates, decile 1 = highest scores.

    Columns: ``decile``, ``count``, ``positives``, ``observed_rate``,
    ``predicted_mean`` (mean score; a probability only if ``probabilities``),
    ``lift`` (observed rate / overall rate), ``cumulative_capture`` (share of
    all positives in deciles 1..d). Aggregates only: no row identifiers.

    Examples
    --------
    >>> t = decile_table([1] * 10 + [0] * 90, list(range(100, 0, -1)))
    >>> t.loc[0, ["decile", "count", "positives"]].tolist()
    [1, 10, 10]
    """
    ya, sa = _arrays(y, score)
    n = ya.shape[0]
    order = _order_desc(sa)
    groups = np.array_split(order, min(10, max(n, 1)))
    total_pos = ya.sum()
    base = ya.mean() if n else float("nan")
    rows = []
    cum = 0.0
    for d, idx in enumerate(groups, start=1):
        if not len(idx):
            continue
        pos = float(ya[idx].sum())
        cum += pos
        rate = pos / len(idx)
        rows.append(
            {
                "decile": d,
                "count": len(idx),
                "positives": int(pos),
                "observed_rate": rate,
                "predicted_mean": float(sa[idx].mean()) if probabilities else float("nan"),
                "score_min": float(sa[idx].min()),
                "score_max": float(sa[idx].max()),
                "lift": rate / base if base else float("nan"),
                "cumulative_capture": cum / total_pos if total_pos else float("nan"),
            }
        )
    return pd.DataFrame(rows)
