"""Calibrators: monotone maps from raw model log-odds to probabilities.

Fitted on the validation slice (later in time than training). ``auto`` picks
isotonic or Platt by out-of-fold log loss inside the validation slice: folds
are the validation cutoffs (leave one cutoff out) when there are two or more,
else two interleaved halves of the rows sorted by margin. Every calibrator is
serialisable to plain JSON (:meth:`Calibrator.to_dict`).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike
from sklearn.isotonic import IsotonicRegression

from mlscore.modeling.metrics import PROBA_EPS, binary_metrics

__all__ = [
    "Calibrator",
    "IdentityCalibrator",
    "IsotonicCalibrator",
    "PlattCalibrator",
    "calibrator_from_dict",
    "select_calibrator",
]

log = logging.getLogger(__name__)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -40, 40))), dtype=np.float64)


class Calibrator:
    """Base class: ``fit(margin, y)`` returns self, ``predict(margin)`` gives p."""

    method: ClassVar[str] = "base"

    def fit(self, margin: ArrayLike, y: ArrayLike) -> Calibrator:  # pragma: no cover
        raise NotImplementedError

    def predict(self, margin: ArrayLike) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError


class IdentityCalibrator(Calibrator):
    """No calibration: ``p = sigmoid(margin)``."""

    method = "none"

    def fit(self, margin: ArrayLike, y: ArrayLike) -> IdentityCalibrator:
        return self

    def predict(self, margin: ArrayLike) -> np.ndarray:
        return _sigmoid(np.asarray(margin, dtype=np.float64))

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method}


class PlattCalibrator(Calibrator):
    """Platt scaling ``p = sigmoid(a * margin + b)`` fitted by Newton's method.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> m = rng.normal(size=5000)
    >>> y = rng.random(5000) < 1 / (1 + np.exp(-(2 * m - 1)))
    >>> c = PlattCalibrator().fit(m, y)
    >>> round(c.a_, 1), round(c.b_, 1)
    (2.0, -1.0)
    """

    method = "platt"

    def fit(self, margin: ArrayLike, y: ArrayLike) -> PlattCalibrator:
        m = np.asarray(margin, dtype=np.float64).ravel()
        t = np.asarray(y, dtype=np.float64).ravel()
        a, b = 1.0, 0.0
        for _ in range(100):
            p = _sigmoid(a * m + b)
            w = np.maximum(p * (1 - p), 1e-12)
            g = np.array([np.sum((p - t) * m), np.sum(p - t)])
            h = np.array([[np.sum(w * m * m), np.sum(w * m)], [np.sum(w * m), np.sum(w)]])
            h += np.eye(2) * 1e-9
            step = np.linalg.solve(h, g)
            a, b = a - step[0], b - step[1]
            if np.max(np.abs(step)) < 1e-10:
                break
        self.a_, self.b_ = float(a), float(b)
        return self

    def predict(self, margin: ArrayLike) -> np.ndarray:
        return _sigmoid(self.a_ * np.asarray(margin, dtype=np.float64) + self.b_)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "a": self.a_, "b": self.b_}


class IsotonicCalibrator(Calibrator):
    """Isotonic regression of the label on the margin, as a piecewise-linear map.

    Output is non-decreasing in the margin, clipped to ``[eps, 1 - eps]`` and
    constant beyond the fitted range.
    """

    method = "isotonic"

    def __init__(self, *, eps: float = 1e-4) -> None:
        self.eps = eps

    def fit(self, margin: ArrayLike, y: ArrayLike) -> IsotonicCalibrator:
        m = np.asarray(margin, dtype=np.float64).ravel()
        t = np.asarray(y, dtype=np.float64).ravel()
        iso = IsotonicRegression(
            out_of_bounds="clip", y_min=self.eps, y_max=1 - self.eps, increasing=True
        ).fit(m, t)
        self.x_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
        self.y_ = np.asarray(iso.y_thresholds_, dtype=np.float64)
        return self

    def predict(self, margin: ArrayLike) -> np.ndarray:
        m = np.asarray(margin, dtype=np.float64)
        if self.x_.size == 1:
            return np.full(m.shape, self.y_[0])
        return np.asarray(np.interp(m, self.x_, self.y_), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "eps": self.eps,
            "x": self.x_.tolist(),
            "y": self.y_.tolist(),
        }


def calibrator_from_dict(d: dict[str, Any]) -> Calibrator:
    """Rebuild a fitted calibrator from :meth:`Calibrator.to_dict`."""
    method = d.get("method")
    if method == "platt":
        pc = PlattCalibrator()
        pc.a_, pc.b_ = float(d["a"]), float(d["b"])
        return pc
    if method == "isotonic":
        ic = IsotonicCalibrator(eps=float(d.get("eps", 1e-4)))
        ic.x_ = np.asarray(d["x"], dtype=np.float64)
        ic.y_ = np.asarray(d["y"], dtype=np.float64)
        return ic
    if method == "none":
        return IdentityCalibrator()
    raise ValueError(f"unknown calibrator method {method!r}; expected platt, isotonic or none")


def _make(method: str) -> Calibrator:
    return {"platt": PlattCalibrator, "isotonic": IsotonicCalibrator, "none": IdentityCalibrator}[
        method
    ]()


def _folds(margin: np.ndarray, groups: np.ndarray | None) -> list[np.ndarray]:
    """Held-out index sets: one per group (cutoff) if >= 2 groups, else 2 halves."""
    if groups is not None:
        uniq = np.unique(groups)
        if uniq.size >= 2:
            return [np.flatnonzero(groups == g) for g in uniq]
    order = np.argsort(margin, kind="stable")
    return [order[0::2], order[1::2]]


def select_calibrator(
    margin: ArrayLike,
    y: ArrayLike,
    *,
    method: str = "auto",
    groups: ArrayLike | None = None,
) -> tuple[Calibrator, dict[str, dict[str, float]]]:
    """Fit the calibrator on the validation slice, choosing the method if ``auto``.

    Parameters
    ----------
    margin
        Raw model log-odds on the validation rows.
    y
        Validation labels.
    method
        ``auto``, ``isotonic``, ``platt`` or ``none``.
    groups
        Cutoff of each row (folds for the out-of-fold comparison).

    Returns
    -------
    calibrator, comparison
        The calibrator fitted on all rows, and the out-of-fold metrics
        (``log_loss``, ``brier``, ``ece``) of each method compared.
    """
    m = np.asarray(margin, dtype=np.float64).ravel()
    t = np.asarray(y, dtype=np.float64).ravel()
    g = None if groups is None else np.asarray(groups).ravel()
    candidates = ["isotonic", "platt", "none"] if method == "auto" else [method]
    comparison: dict[str, dict[str, float]] = {}
    folds = _folds(m, g)
    for name in candidates:
        oof = np.empty_like(m)
        for held in folds:
            fit_idx = np.setdiff1d(np.arange(m.size), held, assume_unique=True)
            cal = _make(name).fit(m[fit_idx], t[fit_idx])
            oof[held] = cal.predict(m[held])
        mets = binary_metrics(t, np.clip(oof, PROBA_EPS, 1 - PROBA_EPS))
        comparison[name] = {k: mets[k] for k in ("log_loss", "brier", "ece")}
    # ``none`` (sigmoid of the raw margin) is measured for the record, never chosen by auto
    eligible = [k for k in candidates if k != "none"] or candidates
    chosen = min(eligible, key=lambda k: (comparison[k]["log_loss"], eligible.index(k)))
    log.info("calibration, out-of-fold on validation: %s; chosen %s", comparison, chosen)
    return _make(chosen).fit(m, t), comparison
