"""Alerts: customers who crossed into a hot conversion tier or into high churn risk.

Compares a new predictions frame with the previous predictions file. A customer
raises an alert for a target when the target's kind is ``conversion`` or
``churn``, their new tier is the target's top tier (``hot`` / ``high`` by
default), and their previous tier was not (another tier, missing because they
were outside the population, or absent from the previous file altogether — a
new customer who arrives hot is news too).

Time semantics: none of its own; the previous file holds scores as of an
earlier ``as_of``, the new frame as of the current one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mlscore.errors import DataError

__all__ = ["ALERT_COLUMNS", "alerts_for", "concat_alerts", "previous_view"]

#: Columns of ``alerts.csv``, in order.
ALERT_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "target",
    "alert",
    "previous_tier",
    "new_tier",
    "previous_score",
    "new_score",
    "score_change",
    "segment",
    "next_action",
    "reasons",
)

_ALERT_NAMES = {"conversion": "entered_hot", "churn": "entered_high_risk"}


def previous_view(previous: pd.DataFrame, targets: Sequence[str]) -> pd.DataFrame:
    """The columns of a previous predictions file that alerts need, indexed by id.

    Targets absent from the previous file are treated as "no previous tier".

    Raises
    ------
    DataError
        The previous file has no ``customer_id`` column.
    """
    if "customer_id" not in previous.columns:
        raise DataError(
            "the previous predictions file has no `customer_id` column; pass a file "
            f"written by `mlscore predict` (got columns {sorted(map(str, previous.columns))})"
        )
    view = pd.DataFrame(index=pd.Index(previous["customer_id"].astype(str), name="customer_id"))
    for t in targets:
        tier_col, score_col = f"tier_{t}", f"score_{t}"
        tiers = previous[tier_col] if tier_col in previous.columns else np.nan
        scores = previous[score_col] if score_col in previous.columns else np.nan
        view[tier_col] = pd.Series(np.asarray(tiers, dtype=object), index=view.index).astype("str")
        view[score_col] = pd.to_numeric(
            pd.Series(np.asarray(scores, dtype=object), index=view.index), errors="coerce"
        ).astype("float64")
    return view[~view.index.duplicated(keep="last")]


def alerts_for(
    new: pd.DataFrame,
    previous: pd.DataFrame,
    *,
    kinds: Mapping[str, str],
    top_tiers: Mapping[str, str],
) -> pd.DataFrame:
    """Alert rows for the customers of ``new`` who entered a target's top tier.

    Parameters
    ----------
    new
        New predictions (columns ``customer_id``, ``tier_<t>``, ``score_<t>``,
        ``segment``, ``next_action``, optionally ``reasons_<t>``).
    previous
        :func:`previous_view` of the previous file.
    kinds
        ``{target: kind}``; only ``conversion`` and ``churn`` kinds alert.
    top_tiers
        ``{target: top tier label}`` (frozen in each bundle).

    Returns
    -------
    DataFrame
        :data:`ALERT_COLUMNS`, sorted by target order, then by decreasing new
        score, then by customer id.

    Examples
    --------
    >>> new = pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...                     "tier_conversion": ["hot", "hot", "warm"],
    ...                     "score_conversion": [80.0, 90.0, 50.0],
    ...                     "segment": "x", "next_action": "y"})
    >>> old = previous_view(pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...     "tier_conversion": ["warm", "hot", "cold"], "score_conversion": [40.0, 85.0, 10.0]}),
    ...     ["conversion"])
    >>> alerts_for(new, old, kinds={"conversion": "conversion"},
    ...            top_tiers={"conversion": "hot"})[["customer_id", "score_change"]].values.tolist()
    [['a', 40.0]]
    """
    frames = []
    ids = new["customer_id"].astype(str)
    for t, kind in kinds.items():
        if kind not in _ALERT_NAMES:
            continue
        top = top_tiers[t]
        new_tier = new[f"tier_{t}"].astype(object)
        prev_tier = previous[f"tier_{t}"].reindex(ids).astype(object).to_numpy()
        prev_score = previous[f"score_{t}"].reindex(ids).to_numpy(dtype=np.float64)
        hit = new_tier.eq(top).fillna(False).to_numpy(bool) & ~(
            pd.Series(prev_tier, dtype=object).eq(top).fillna(False).to_numpy(bool)
        )
        if not hit.any():
            continue
        new_score = new[f"score_{t}"].to_numpy(dtype=np.float64)
        reasons_col = f"reasons_{t}"
        reasons = new[reasons_col].to_numpy(object) if reasons_col in new.columns else None
        idx = np.flatnonzero(hit)
        frame = pd.DataFrame(
            {
                "customer_id": ids.to_numpy(object)[idx],
                "target": t,
                "alert": _ALERT_NAMES[kind],
                "previous_tier": prev_tier[idx],
                "new_tier": new_tier.to_numpy(object)[idx],
                "previous_score": prev_score[idx],
                "new_score": new_score[idx],
                "score_change": np.round(new_score[idx] - prev_score[idx], 1),
                "segment": new["segment"].to_numpy(object)[idx],
                "next_action": new["next_action"].to_numpy(object)[idx],
                "reasons": reasons[idx] if reasons is not None else np.nan,
            }
        )
        frames.append(frame)
    return _finish(frames, list(kinds))


def _finish(frames: list[pd.DataFrame], order: list[str]) -> pd.DataFrame:
    if not frames:
        empty = pd.DataFrame({c: pd.Series(dtype="str") for c in ALERT_COLUMNS})
        for c in ("previous_score", "new_score", "score_change"):
            empty[c] = empty[c].astype("float64")
        return empty
    out = pd.concat(frames, ignore_index=True)
    rank = out["target"].map({t: i for i, t in enumerate(order)})
    out = out.assign(_rank=rank, _neg=-out["new_score"])
    out = out.sort_values(["_rank", "_neg", "customer_id"], kind="stable")
    out = out.drop(columns=["_rank", "_neg"]).reset_index(drop=True)
    for c in ALERT_COLUMNS:
        if c not in ("previous_score", "new_score", "score_change"):
            out[c] = out[c].astype("str")
    return out[list(ALERT_COLUMNS)]


def concat_alerts(frames: list[pd.DataFrame], order: list[str]) -> pd.DataFrame:
    """Join per-chunk alert frames into one, sorted as :func:`alerts_for` sorts."""
    frames = [f for f in frames if len(f)]
    return _finish(frames, order)
