"""RFM quintile codes and named RFM segments, with bin edges frozen at fit time.

:class:`RFMSegmenter` learns quintile edges of recency (``days_since_last_purchase``,
lower is better), frequency and monetary value on the customers who purchased,
then maps any batch with those frozen edges: a customer's segment depends only on
their own values, never on who else is in the batch.

Codes are 1 (worst) to 5 (best) for each of R, F, M; ``rfm_score = R + F + M``.
Segments follow the common R x FM grid (FM = rounded mean of F and M):

==================== =============================
segment              rule (first match wins)
==================== =============================
champions            R >= 4 and FM >= 4
loyal                R >= 3 and FM >= 4
cannot_lose_them     R <= 1 and FM >= 4
at_risk              R <= 2 and FM >= 3
potential_loyalists  R >= 4 and FM >= 2
new_customers        R == 5 and FM <= 1
promising            R == 4 and FM <= 1
need_attention       R == 3 and FM >= 2
about_to_sleep       R == 3 and FM <= 1
hibernating          R == 2 and FM <= 2
lost                 R <= 1
no_purchase          no purchase before the cutoff
==================== =============================
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlscore.errors import DataError, InsufficientDataError

__all__ = ["RFM_SEGMENTS", "RFMSegmenter"]

RFM_SEGMENTS: tuple[str, ...] = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose_them",
    "hibernating",
    "lost",
    "no_purchase",
)


def _segment(r: np.ndarray, fm: np.ndarray) -> np.ndarray:
    conds = [
        (r >= 4) & (fm >= 4),
        (r >= 3) & (fm >= 4),
        (r <= 1) & (fm >= 4),
        (r <= 2) & (fm >= 3),
        (r >= 4) & (fm >= 2),
        (r == 5) & (fm <= 1),
        (r == 4) & (fm <= 1),
        (r == 3) & (fm >= 2),
        (r == 3) & (fm <= 1),
        (r == 2) & (fm <= 2),
        (r <= 1),
    ]
    names = [
        "champions",
        "loyal",
        "cannot_lose_them",
        "at_risk",
        "potential_loyalists",
        "new_customers",
        "promising",
        "need_attention",
        "about_to_sleep",
        "hibernating",
        "lost",
    ]
    return np.select(conds, names, default="lost").astype(object)


class RFMSegmenter:
    """Quintile RFM codes and segments with frozen bin edges (scikit-learn style).

    Parameters
    ----------
    recency
        Column of days since the last purchase (lower is better).
    frequency
        Column of the purchase count (e.g. ``purchase_count_total``).
    monetary
        Column of the amount spent (e.g. ``amount_sum_365d`` or ``amount_sum_total``).
    n_bins
        Number of quantile bins (5 = quintiles).

    Attributes
    ----------
    bin_edges_ : dict[str, list[float]]
        Inner quantile edges for ``"r"``, ``"f"``, ``"m"`` (``n_bins - 1`` each).

    Examples
    --------
    >>> df = pd.DataFrame({"days_since_last_purchase": [1.0, 10, 50, 100, 300, np.nan],
    ...                    "purchase_count_total": [9, 5, 3, 2, 1, 0],
    ...                    "amount_sum_total": [900.0, 400, 200, 100, 20, 0]})
    >>> seg = RFMSegmenter().fit(df)
    >>> seg.transform(df)["rfm_segment"].tolist()
    ['champions', 'champions', 'need_attention', 'hibernating', 'lost', 'no_purchase']
    """

    def __init__(
        self,
        *,
        recency: str = "days_since_last_purchase",
        frequency: str = "purchase_count_total",
        monetary: str = "amount_sum_total",
        n_bins: int = 5,
    ) -> None:
        self.recency = recency
        self.frequency = frequency
        self.monetary = monetary
        self.n_bins = n_bins

    def _cols(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        missing = [c for c in (self.recency, self.frequency, self.monetary) if c not in frame]
        if missing:
            raise DataError(
                f"RFM segmentation needs column(s) {missing}; got {sorted(frame.columns)[:20]}... "
                "(build features from a project with a transactions table)"
            )
        return (
            frame[self.recency].to_numpy(dtype="float64"),
            frame[self.frequency].to_numpy(dtype="float64"),
            frame[self.monetary].to_numpy(dtype="float64"),
        )

    def fit(self, frame: pd.DataFrame, y: object = None) -> RFMSegmenter:
        """Learn quantile edges on the rows with at least one purchase."""
        r, f, m = self._cols(frame)
        buyers = ~np.isnan(r) & (f > 0)
        if buyers.sum() == 0:
            raise InsufficientDataError(
                "RFM segmentation needs at least one customer with a purchase; got none "
                f"among {len(frame)} rows"
            )
        qs = np.linspace(0, 1, self.n_bins + 1)[1:-1]
        self.bin_edges_ = {
            "r": [float(x) for x in np.quantile(r[buyers], qs)],
            "f": [float(x) for x in np.quantile(f[buyers], qs)],
            "m": [float(x) for x in np.quantile(m[buyers], qs)],
        }
        self.n_fitted_ = int(buyers.sum())
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Codes ``rfm_r``, ``rfm_f``, ``rfm_m`` (1–5, 0 = no purchase),
        ``rfm_score`` and ``rfm_segment``, indexed like ``frame``."""
        if not hasattr(self, "bin_edges_"):
            raise DataError("RFMSegmenter is not fitted; call fit(frame) first")
        r, f, m = self._cols(frame)
        buyers = ~np.isnan(r) & (f > 0)
        e = self.bin_edges_
        # recency: lower is better -> code n_bins for the smallest values
        rc = self.n_bins - np.searchsorted(np.asarray(e["r"]), np.nan_to_num(r), side="left")
        fc = 1 + np.searchsorted(np.asarray(e["f"]), f, side="right")
        mc = 1 + np.searchsorted(np.asarray(e["m"]), m, side="right")
        fc = np.minimum(fc, self.n_bins)
        mc = np.minimum(mc, self.n_bins)
        fm = np.floor((fc + mc) / 2 + 0.5).astype(int)
        seg = _segment(rc, fm)
        seg[~buyers] = "no_purchase"
        zero = np.where(buyers, 1, 0)
        out = pd.DataFrame(
            {
                "rfm_r": (rc * zero).astype("int64"),
                "rfm_f": (fc * zero).astype("int64"),
                "rfm_m": (mc * zero).astype("int64"),
            },
            index=frame.index,
        )
        out["rfm_score"] = out["rfm_r"] + out["rfm_f"] + out["rfm_m"]
        out["rfm_segment"] = pd.Series(seg, index=frame.index, dtype=object)
        return out

    def fit_transform(self, frame: pd.DataFrame, y: object = None) -> pd.DataFrame:
        """``fit(frame).transform(frame)``."""
        return self.fit(frame).transform(frame)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state (inverse of :meth:`from_dict`)."""
        d: dict[str, Any] = {
            "recency": self.recency,
            "frequency": self.frequency,
            "monetary": self.monetary,
            "n_bins": self.n_bins,
        }
        if hasattr(self, "bin_edges_"):
            d["bin_edges"] = self.bin_edges_
            d["n_fitted"] = self.n_fitted_
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RFMSegmenter:
        """Rebuild a segmenter saved with :meth:`to_dict`."""
        seg = cls(
            recency=d["recency"],
            frequency=d["frequency"],
            monetary=d["monetary"],
            n_bins=int(d["n_bins"]),
        )
        if "bin_edges" in d:
            seg.bin_edges_ = {k: [float(x) for x in v] for k, v in d["bin_edges"].items()}
            seg.n_fitted_ = int(d.get("n_fitted", 0))
        return seg
