"""Segment policy: tiers per target, engagement tiers, the value x risk matrix, next actions.

Everything here is a pure, row-wise function of values frozen at training time
(the bundle's tier thresholds and RFM bin edges) or fixed by the config
(engagement thresholds, VIP RFM segments, actions). A customer's tier, segment
and action therefore never depend on which other customers are in the batch.

Time semantics: none of its own. The inputs (probabilities, hand-set points,
RFM segments) are computed from features as of the run's cutoff ``as_of``,
i.e. from events with ``timestamp < as_of``.

The combined segment (first matching rule wins)::

    vip_at_risk    VIP and high churn risk
    champions      VIP (and not high churn risk)
    hot_prospects  hot for a conversion target (and not VIP)
    at_risk        high churn risk (and not VIP, not hot)
    dormant        inactive engagement and low conversion (bottom tier or none)
    nurture        everyone else

where *VIP* = RFM segment in ``segments.vip_rfm_segments``; *hot* = top tier
of any conversion-kind target; *high churn risk* = top tier of any churn-kind
target; *low conversion* = no conversion-kind target places the customer above
its bottom tier. Targets are recognised by their kind (``conversion`` /
``churn``), never by their name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ENGAGEMENT_INACTIVE",
    "SEGMENTS",
    "TargetTiers",
    "combined_segment",
    "engagement_tier",
    "next_action",
    "target_kind",
]

#: The combined segments, in rule order.
SEGMENTS: tuple[str, ...] = (
    "vip_at_risk",
    "champions",
    "hot_prospects",
    "at_risk",
    "dormant",
    "nurture",
)

#: Engagement tier of customers below every configured threshold.
ENGAGEMENT_INACTIVE = "inactive"


def target_kind(bundle: Any) -> str:
    """Kind (``conversion`` or ``churn``) of a scoring bundle's target.

    Read from ``bundle.target_config["kind"]`` (the frozen target config), or
    from ``bundle.target.kind`` when the target is a config object.

    Examples
    --------
    >>> class B:
    ...     target_config = {"kind": "churn", "horizon_days": 90}
    >>> target_kind(B())
    'churn'
    """
    cfg = getattr(bundle, "target_config", None)
    if isinstance(cfg, Mapping) and "kind" in cfg:
        return str(cfg["kind"])
    kind = getattr(getattr(bundle, "target", None), "kind", None)
    if kind is None:
        raise ValueError(f"cannot tell the target kind of {bundle!r}: no target_config['kind']")
    return str(kind)


@dataclass(frozen=True)
class TargetTiers:
    """The tier column of one target and what its top and bottom tiers are.

    ``tiers`` holds a label per customer (missing where the customer is not in
    the target's population).
    """

    kind: str
    tiers: np.ndarray
    top: str
    bottom: str

    def is_top(self) -> np.ndarray:
        return np.asarray(pd.Series(self.tiers, dtype=object).eq(self.top).fillna(False), bool)

    def above_bottom(self) -> np.ndarray:
        s = pd.Series(self.tiers, dtype=object)
        return np.asarray(s.notna() & s.ne(self.bottom), dtype=bool)


def engagement_tier(points: Any, thresholds: Mapping[str, float]) -> np.ndarray:
    """Engagement tier of each hand-set points score.

    A customer gets the tier with the highest threshold their points reach;
    below every threshold: ``inactive``. Missing points give a missing tier.

    Parameters
    ----------
    points
        Hand-set points as of the cutoff (``baseline_handset_points``).
    thresholds
        ``{tier: minimum points}`` (``segments.engagement_thresholds``).

    Examples
    --------
    >>> engagement_tier([75, 30, 0.5, None],
    ...                 {"very_engaged": 60, "engaged": 30, "low_engagement": 1}).tolist()
    ['very_engaged', 'engaged', 'inactive', nan]
    """
    pts = pd.to_numeric(pd.Series(points, dtype=object), errors="coerce").to_numpy(np.float64)
    out = np.full(pts.shape, ENGAGEMENT_INACTIVE, dtype=object)
    assigned = np.zeros(pts.shape, dtype=bool)
    ordered = sorted(thresholds.items(), key=lambda kv: (-float(kv[1]), kv[0]))
    for label, thr in ordered:
        hit = (pts >= float(thr)) & ~assigned
        out[hit] = label
        assigned |= hit
    out[np.isnan(pts)] = np.nan
    return out


def combined_segment(
    tiers: Sequence[TargetTiers],
    *,
    rfm_segment: Any | None,
    engagement: Any | None,
    vip_rfm_segments: Sequence[str],
    n: int,
) -> np.ndarray:
    """The value x risk segment of each customer (see the module docstring).

    Parameters
    ----------
    tiers
        One :class:`TargetTiers` per target (any number of each kind).
    rfm_segment
        RFM segment per customer, or ``None`` when there is no RFM segmenter.
    engagement
        Engagement tier per customer, or ``None`` when unknown.
    vip_rfm_segments
        RFM segments counted as high value.
    n
        Number of customers.

    Examples
    --------
    >>> conv = TargetTiers("conversion", np.array(["hot", "cold", "cold", "warm"], object),
    ...                    "hot", "cold")
    >>> churn = TargetTiers("churn", np.array(["low", "high", "low", None], object),
    ...                     "high", "low")
    >>> combined_segment([conv, churn], rfm_segment=["champions", "loyal", None, None],
    ...                  engagement=["engaged", "engaged", "inactive", "inactive"],
    ...                  vip_rfm_segments=["champions", "loyal"], n=4).tolist()
    ['champions', 'vip_at_risk', 'dormant', 'nurture']
    """
    hot = np.zeros(n, dtype=bool)
    high_risk = np.zeros(n, dtype=bool)
    above_bottom = np.zeros(n, dtype=bool)
    for t in tiers:
        if t.kind == "conversion":
            hot |= t.is_top()
            above_bottom |= t.above_bottom()
        elif t.kind == "churn":
            high_risk |= t.is_top()
    if rfm_segment is None:
        vip = np.zeros(n, dtype=bool)
    else:
        vip = np.asarray(pd.Series(rfm_segment, dtype=object).isin(list(vip_rfm_segments)))
    if engagement is None:
        inactive = np.zeros(n, dtype=bool)
    else:
        inactive = np.asarray(pd.Series(engagement, dtype=object).eq(ENGAGEMENT_INACTIVE))
    conditions = [
        vip & high_risk,
        vip,
        hot,
        high_risk,
        inactive & ~above_bottom,
    ]
    return np.asarray(
        np.select(conditions, list(SEGMENTS[:-1]), default=SEGMENTS[-1]).astype(object)
    )


def next_action(segments: Any, actions: Mapping[str, str]) -> np.ndarray:
    """The configured action of each segment (missing when none is configured).

    Examples
    --------
    >>> next_action(["dormant", "odd"], {"dormant": "win-back"}).tolist()
    ['win-back', nan]
    """
    s = pd.Series(segments, dtype=object).map(dict(actions))
    return np.asarray(s.to_numpy(dtype=object))
