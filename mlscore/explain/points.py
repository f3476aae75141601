"""Log-odds contributions → score points on the 0–100 scale, exactly additive.

The score of a customer is ``S = 100 × calibrate(m)`` where ``m`` is the raw
model margin (log-odds) and ``calibrate`` the bundle's monotone calibrator. The
baseline is ``B = 100 × calibrate(b)`` with ``b`` the model's expected margin
(the TreeSHAP bias). Group contributions ``φ_g`` satisfy ``b + Σ φ_g = m``.

Method — *signed two-coalition Shapley, proportional within each sign*:

* ``P = Σ φ_g⁺`` (groups pushing up), ``N = Σ φ_g⁻`` (groups pushing down);
* the two coalitions share ``S − B`` by their Shapley values in the
  two-player game ``v(T) = 100·calibrate(b + Σ_{g∈T} φ_g)``::

      T⁺ = ½[(c(b+P) − c(b)) + (c(m) − c(b+N))]
      T⁻ = ½[(c(b+N) − c(b)) + (c(m) − c(b+P))]

  (``c`` = 100 × calibrate); ``T⁺ + T⁻ = c(m) − c(b) = S − B`` exactly;
* inside each coalition, points are proportional to the log-odds:
  ``points_g = T⁺ · φ_g / P`` for ``φ_g > 0``, ``T⁻ · φ_g / N`` for ``φ_g < 0``,
  0 for ``φ_g = 0``.

Properties (proved in ``docs/explanations.md``): baseline + Σ points == score for
every row (efficiency); a group that raises the log-odds never loses points and
vice versa (sign faithfulness, because ``c`` is non-decreasing); groups with equal
``φ`` get equal points; a group with ``φ = 0`` gets 0; ``|points_g| ≤ 100``.
Weights ``φ_g/P`` lie in ``[0, 1]``, so cancelling contributions
(``Σ φ ≈ 0``) cannot blow up, unlike a plain ``(S − B)·φ_g/Σφ`` split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["SCORE_SCALE", "Calibrate", "PointsResult", "to_points"]

#: score = SCORE_SCALE × calibrated probability.
SCORE_SCALE = 100.0

Calibrate = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PointsResult:
    """Points of every reason group, per row.

    Attributes
    ----------
    baseline : ndarray, shape (n,)
        ``100 × calibrate(bias)``.
    points : ndarray, shape (n, n_groups)
        Points of each group; ``baseline + points.sum(1) == score``.
    score : ndarray, shape (n,)
        ``100 × calibrate(margin)``.
    """

    baseline: np.ndarray
    points: np.ndarray
    score: np.ndarray


def _cal(calibrate: Calibrate, m: np.ndarray) -> np.ndarray:
    out = np.asarray(calibrate(np.asarray(m, dtype=np.float64)), dtype=np.float64).reshape(-1)
    if out.shape[0] != np.asarray(m).reshape(-1).shape[0]:
        raise ValueError(
            f"calibrate returned {out.shape[0]} values for {np.asarray(m).size} margins; "
            "it must map an array of margins to an array of probabilities"
        )
    return SCORE_SCALE * out


def to_points(
    grouped: np.ndarray,
    bias: np.ndarray,
    margin: np.ndarray,
    calibrate: Calibrate,
) -> PointsResult:
    """Turn grouped log-odds contributions into additive 0–100 score points.

    Parameters
    ----------
    grouped : ndarray, shape (n, n_groups)
        Log-odds contribution of each reason group (see
        :func:`mlscore.explain.contributions.group_contributions`).
    bias : ndarray, shape (n,)
        The expected margin (TreeSHAP bias).
    margin : ndarray, shape (n,)
        The model's raw margin for each row (``bias + grouped.sum(1)`` up to
        float rounding). The score is computed from it, so the points add up to
        the very score the predictor reports.
    calibrate : callable
        Monotone non-decreasing map from margins to probabilities.

    Returns
    -------
    PointsResult

    Examples
    --------
    >>> import numpy as np
    >>> sigmoid = lambda m: 1 / (1 + np.exp(-m))
    >>> r = to_points(np.array([[1.0, -1.0, 0.0]]), np.array([0.0]), np.array([0.0]), sigmoid)
    >>> r.baseline.round(6).tolist(), r.points.round(3).tolist(), r.score.round(6).tolist()
    ([50.0], [[23.106, -23.106, 0.0]], [50.0])
    """
    phi = np.asarray(grouped, dtype=np.float64)
    if phi.ndim != 2:
        raise ValueError(f"grouped contributions must be 2-D (rows x groups); got {phi.shape}")
    n = phi.shape[0]
    b = np.broadcast_to(np.asarray(bias, dtype=np.float64).reshape(-1), (n,)).copy()
    m = np.asarray(margin, dtype=np.float64).reshape(-1)
    if m.shape[0] != n:
        raise ValueError(f"{m.shape[0]} margins for {n} rows of contributions")
    pos = np.where(phi > 0, phi, 0.0)
    neg = np.where(phi < 0, phi, 0.0)
    P = pos.sum(axis=1)
    N = neg.sum(axis=1)
    # one call to the calibrator for the four points of every row
    c = _cal(calibrate, np.concatenate([b, m, b + P, b + N]))
    cb, cm, cbp, cbn = c[:n], c[n : 2 * n], c[2 * n : 3 * n], c[3 * n :]
    t_pos = 0.5 * ((cbp - cb) + (cm - cbn))
    t_neg = (cm - cb) - t_pos  # = ½[(c(b+N) − c(b)) + (c(m) − c(b+P))], exact complement
    with np.errstate(invalid="ignore", divide="ignore"):
        w_pos = np.where(P[:, None] > 0, pos / np.where(P > 0, P, 1.0)[:, None], 0.0)
        w_neg = np.where(N[:, None] < 0, neg / np.where(N < 0, N, 1.0)[:, None], 0.0)
    # if a coalition is empty its share is a calibration jump between b and m only
    # (margin rounding); give it to the other coalition so nothing is lost
    no_pos = P <= 0
    no_neg = N >= 0
    t_neg = np.where(no_pos, t_neg + t_pos, t_neg)
    t_pos = np.where(no_pos, 0.0, t_pos)
    t_pos = np.where(no_neg & ~no_pos, t_pos + t_neg, t_pos)
    t_neg = np.where(no_neg & ~no_pos, 0.0, t_neg)
    points = w_pos * t_pos[:, None] + w_neg * t_neg[:, None]
    # rows without any non-zero contribution and rows with an empty coalition:
    # put the (rounding-level) remainder on the largest |φ| group so Σ is exact
    residual = (cm - cb) - points.sum(axis=1)
    if phi.shape[1]:
        j = np.argmax(np.abs(phi), axis=1)
        points[np.arange(n), j] += residual
    return PointsResult(baseline=cb, points=points, score=cm)
