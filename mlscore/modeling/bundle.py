"""The scoring bundle: everything needed to turn features into scores and tiers.

A :class:`ScoringBundle` holds the target, the feature spec the model was
trained with, the LightGBM booster (raw log-odds), the calibrator (log-odds →
probability), the fitted RFM segmenter (if any), tier thresholds frozen at
training time, training metadata and the frozen project config. It is saved as
a plain directory (``bundle.json`` — including the calibrator and the RFM
segmenter's frozen edges —, ``model.txt``, and ``rfm_segmenter.joblib`` only for
a segmenter that cannot serialise itself to a dict) with no customer rows, and
wrapped as one MLflow pyfunc model by :mod:`mlscore.tracking`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd

from mlscore.errors import IncompatibleModelError, ModelNotFoundError
from mlscore.modeling.calibration import Calibrator, calibrator_from_dict

__all__ = ["BUNDLE_FORMAT", "ScoringBundle", "TierRule"]

BUNDLE_FORMAT = 1
_JSON = "bundle.json"
_MODEL = "model.txt"
_RFM = "rfm_segmenter.joblib"


class TierRule:
    """Tier labels and the probability thresholds that separate them (best first).

    ``tier(p)`` is ``labels[i]`` for the first ``i`` with ``p >= thresholds[i]``,
    else ``labels[-1]``.

    Examples
    --------
    >>> TierRule(["hot", "warm", "cold"], [0.5, 0.2]).tier([0.7, 0.5, 0.3, 0.1]).tolist()
    ['hot', 'hot', 'warm', 'cold']
    """

    def __init__(
        self,
        labels: Sequence[str],
        thresholds: Sequence[float],
        *,
        method: str = "probability",
        cuts: Sequence[float] | None = None,
    ) -> None:
        if len(labels) != len(thresholds) + 1:
            raise ValueError("tiers need len(labels) == len(thresholds) + 1")
        self.labels = list(labels)
        self.thresholds = [float(t) for t in thresholds]
        self.method = method
        self.cuts = list(cuts) if cuts is not None else list(self.thresholds)

    def tier(self, p: Any) -> np.ndarray:
        """Tier label of each probability."""
        pa = np.atleast_1d(np.asarray(p, dtype=np.float64))
        out = np.full(pa.shape, self.labels[-1], dtype=object)
        assigned = np.zeros(pa.shape, dtype=bool)
        for label, thr in zip(self.labels[:-1], self.thresholds, strict=True):
            hit = (pa >= thr) & ~assigned
            out[hit] = label
            assigned |= hit
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "thresholds": self.thresholds,
            "method": self.method,
            "cuts": self.cuts,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TierRule:
        return cls(
            d["labels"], d["thresholds"], method=d.get("method", "probability"), cuts=d.get("cuts")
        )


class ScoringBundle:
    """Feature spec + booster + calibrator + tier policy of one target.

    Parameters
    ----------
    target
        Target name (``conversion``, ``churn`` ...).
    target_config
        The target's config as a plain dict.
    feature_spec
        The feature spec as a plain dict (``feature_names`` in model order,
        ``categorical_features`` ...).
    booster
        LightGBM booster holding exactly the trees used (best iteration).
    calibrator
        Fitted :class:`~mlscore.modeling.calibration.Calibrator`.
    tiers
        Frozen :class:`TierRule`.
    metadata
        Training metadata (data window, cutoffs, counts, metrics, model kind,
        mlscore version, training time).
    config
        The frozen project config as a plain dict.
    rfm_segmenter
        Fitted RFM segmenter, or ``None``.
    """

    def __init__(
        self,
        *,
        target: str,
        target_config: Mapping[str, Any],
        feature_spec: Mapping[str, Any],
        booster: lgb.Booster,
        calibrator: Calibrator,
        tiers: TierRule,
        metadata: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        rfm_segmenter: Any | None = None,
    ) -> None:
        self.target = target
        self.target_config = dict(target_config)
        self.feature_spec_dict = dict(feature_spec)
        self.booster = booster
        self.calibrator = calibrator
        self.tiers = tiers
        self.metadata = dict(metadata or {})
        self.config = dict(config or {})
        self.rfm_segmenter = rfm_segmenter

    # ------------------------------------------------------------------ features
    @property
    def feature_names(self) -> list[str]:
        """Model input columns, in model order."""
        return list(self.feature_spec_dict["feature_names"])

    @property
    def feature_spec(self) -> Any:
        """The :class:`mlscore.features.FeatureSpec` if that class can read the dict,
        else the plain dict."""
        try:
            from mlscore.features.spec import FeatureSpec

            return FeatureSpec.from_dict(self.feature_spec_dict)
        except Exception:
            return dict(self.feature_spec_dict)

    def check_features(self, features: pd.DataFrame) -> None:
        """Raise :class:`IncompatibleModelError` naming features the data lacks."""
        missing = [f for f in self.feature_names if f not in features.columns]
        if missing:
            more = f" (+{len(missing) - 10} more)" if len(missing) > 10 else ""
            shown = ", ".join(missing[:10]) + more
            raise IncompatibleModelError(
                f"the {self.target!r} model needs feature(s) missing from the scoring data: "
                f"{shown}. Build features with the same feature spec as the model (same "
                "`features:` config and input tables) or retrain the model."
            )

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        """The model's input matrix (float64, model column order)."""
        self.check_features(features)
        cols = features[self.feature_names]
        numeric = cols.apply(pd.to_numeric, errors="coerce")
        return np.asarray(numeric.to_numpy(dtype=np.float64, na_value=np.nan))

    # ------------------------------------------------------------------- scoring
    def raw_margin(self, features: pd.DataFrame) -> np.ndarray:
        """Raw model log-odds (before calibration)."""
        x = self.matrix(features)
        if x.shape[0] == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(x, raw_score=True), dtype=np.float64)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of the target for each row of ``features``."""
        return self.calibrator.predict(self.raw_margin(features))

    def score(self, p: Any) -> np.ndarray:
        """Score on the 0-100 scale (100 x probability)."""
        return 100.0 * np.asarray(p, dtype=np.float64)

    def tier(self, p: Any) -> np.ndarray:
        """Tier label of each calibrated probability (thresholds frozen at training)."""
        return self.tiers.tier(p)

    # ----------------------------------------------------------------------- io
    def to_dict(self) -> dict[str, Any]:
        """Everything but the booster and the segmenter, JSON-ready."""
        return {
            "format": BUNDLE_FORMAT,
            "target": self.target,
            "target_config": self.target_config,
            "feature_spec": self.feature_spec_dict,
            "calibrator": self.calibrator.to_dict(),
            "tiers": self.tiers.to_dict(),
            "metadata": self.metadata,
            "config": self.config,
            "rfm_segmenter": (
                self.rfm_segmenter.to_dict()
                if self.rfm_segmenter is not None and hasattr(self.rfm_segmenter, "to_dict")
                else None
            ),
        }

    def save(self, path: str | Path) -> Path:
        """Write the bundle as a directory (replaced atomically if it exists)."""
        dest = Path(path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        try:
            (tmp / _JSON).write_text(
                json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str), encoding="utf-8"
            )
            (tmp / _MODEL).write_text(self.booster.model_to_string(), encoding="utf-8")
            if self.rfm_segmenter is not None and not hasattr(self.rfm_segmenter, "to_dict"):
                joblib.dump(self.rfm_segmenter, tmp / _RFM)
            if dest.exists():
                shutil.rmtree(dest)
            tmp.rename(dest)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return dest

    @classmethod
    def load(cls, path: str | Path) -> ScoringBundle:
        """Read a bundle directory written by :meth:`save`."""
        p = Path(path)
        if not (p / _JSON).is_file() or not (p / _MODEL).is_file():
            raise ModelNotFoundError(
                f"no scoring bundle at {str(p)!r} (expected {_JSON} and {_MODEL}); "
                "write one with `mlscore export-model` or `ScoringBundle.save`"
            )
        d = json.loads((p / _JSON).read_text(encoding="utf-8"))
        booster = lgb.Booster(model_str=(p / _MODEL).read_text(encoding="utf-8"))
        rfm = joblib.load(p / _RFM) if (p / _RFM).is_file() else None
        if d.get("rfm_segmenter"):
            from mlscore.features.rfm import RFMSegmenter

            rfm = RFMSegmenter.from_dict(d["rfm_segmenter"])
        return cls(
            target=d["target"],
            target_config=d["target_config"],
            feature_spec=d["feature_spec"],
            booster=booster,
            calibrator=calibrator_from_dict(d["calibrator"]),
            tiers=TierRule.from_dict(d["tiers"]),
            metadata=d.get("metadata", {}),
            config=d.get("config", {}),
            rfm_segmenter=rfm,
        )

    def __repr__(self) -> str:
        return (
            f"ScoringBundle(target={self.target!r}, features={len(self.feature_names)}, "
            f"kind={self.metadata.get('model_kind')!r}, "
            f"calibration={self.calibrator.method!r})"
        )
