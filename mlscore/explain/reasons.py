"""Per-customer reasons: grouped contributions → points → top reasons in words.

Pipeline for a batch of customers (features as of one cutoff, built from events
with ``timestamp < cutoff``)::

    contributions (exact TreeSHAP, log-odds)  →  reason groups (feature grammar)
      →  points on the 0–100 score scale (exactly additive, see points.py)
      →  top-k positive and top-k negative groups per customer
      →  sentences (``reason_sentence``) with the customer's own value of the
         feature that contributes most in the group's direction.

The tidy output has one row per (customer, reason); :func:`compact_reasons`
joins each customer's strongest reasons into one string for the predictions file.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlscore.explain.contributions import (
    Contributions,
    Method,
    compute_contributions,
    group_contributions,
)
from mlscore.explain.points import Calibrate, PointsResult, to_points
from mlscore.features.naming import FeatureDef, Language, parse_feature_name, reason_sentence

__all__ = [
    "REASON_COLUMNS",
    "Explanation",
    "compact_reasons",
    "decode_attributes",
    "explain",
    "explain_bundle",
    "reason_text",
    "top_reasons",
]

logger = logging.getLogger(__name__)

#: Columns of the tidy reasons frame, in order.
REASON_COLUMNS = [
    "customer_id",
    "target",
    "direction",
    "rank",
    "group",
    "feature",
    "value",
    "points",
    "text",
]


@dataclass(frozen=True)
class Explanation:
    """Everything needed to explain a batch of rows.

    Attributes
    ----------
    contributions : Contributions
        Per-feature log-odds contributions and bias.
    groups : list of str
        Reason groups (columns of ``grouped`` and ``points.points``).
    grouped : ndarray, shape (n, n_groups)
        Log-odds contribution of each group.
    membership : ndarray, shape (n_features,)
        Group index of each feature.
    points : PointsResult
        Baseline, per-group points and score on the 0–100 scale.
    """

    contributions: Contributions
    groups: list[str]
    grouped: np.ndarray
    membership: np.ndarray
    points: PointsResult

    def points_frame(self) -> pd.DataFrame:
        """Points per group (columns), plus ``baseline`` and ``score``."""
        df = pd.DataFrame(self.points.points, columns=self.groups)
        df.insert(0, "baseline", self.points.baseline)
        df["score"] = self.points.score
        return df

    def lead_features(self) -> np.ndarray:
        """Index of the feature that contributes most in its group's direction.

        Shape (n, n_groups): for each row and group, the member feature with the
        largest ``φ_f × sign(φ_group)`` (ties: first in model order).
        """
        vals = self.contributions.values
        n, g = vals.shape[0], len(self.groups)
        sign = np.sign(self.grouped)
        sign[sign == 0] = 1.0
        out = np.zeros((n, g), dtype=np.int64)
        for k in range(g):
            members = np.flatnonzero(self.membership == k)
            if members.size == 1:
                out[:, k] = members[0]
                continue
            directed = vals[:, members] * sign[:, k : k + 1]
            out[:, k] = members[np.argmax(directed, axis=1)]
        return out


def explain(
    booster: Any,
    X: Any,
    *,
    calibrate: Calibrate,
    margin: np.ndarray | None = None,
    method: Method = "auto",
) -> Explanation:
    """Contributions, groups and points for the rows of ``X``.

    Parameters
    ----------
    booster : lightgbm.Booster
        Binary model; its feature names must follow the naming grammar for the
        grouping to be meaningful (other names are their own group).
    X : DataFrame or ndarray
        Model input, in the booster's feature order.
    calibrate : callable
        Raw margin → calibrated probability (monotone).
    margin : ndarray, optional
        The raw margin if already computed (default: ``bias + Σ contributions``).
    method : {"auto", "additive", "pred_contrib"}
        Contribution algorithm (both exact; ``auto`` picks the fast one).
    """
    contrib = compute_contributions(booster, X, method=method)
    groups, grouped, membership = group_contributions(contrib)
    m = contrib.margin if margin is None else np.asarray(margin, dtype=np.float64)
    pts = to_points(grouped, contrib.bias, m, calibrate)
    return Explanation(contrib, groups, grouped, membership, pts)


_DEF_CACHE: dict[str, FeatureDef | None] = {}


def _defn(name: str) -> FeatureDef | None:
    if name not in _DEF_CACHE:
        try:
            _DEF_CACHE[name] = parse_feature_name(name)
        except ValueError:
            _DEF_CACHE[name] = None
    return _DEF_CACHE[name]


def _rounded_points(p: float) -> int:
    """Points as displayed (half away from zero), the cache key of a sentence."""
    r = int(np.floor(abs(p) + 0.5))
    return r if p >= 0 else -r


#: Measures in days, shown as whole days in sentences.
_WHOLE_DAYS = frozenset({"days_since_last", "tenure", "gap_mean", "gap_std"})


def reason_text(
    feature: str,
    value: Any,
    points: float,
    lang: Language = "en",
    *,
    risk: bool = False,
) -> str:
    """One reason sentence; features outside the grammar get a generic sentence.

    Examples
    --------
    >>> reason_text("pricing_view_count_7d", 3, 12.4)
    'Visited the pricing page 3 times in the last 7 days: +12 points'
    >>> reason_text("days_since_last_purchase", 119.6, 25, "fr", risk=True)
    'Aucun achat depuis 120 jours : +25 points de risque'
    """
    d = _defn(feature)
    if isinstance(value, np.generic):
        value = value.item()
    if value is not None and not isinstance(value, str):
        try:
            if pd.isna(value):
                value = None
        except (TypeError, ValueError):
            value = str(value)
    if d is None:
        from mlscore.features.naming import format_points

        sep = ": " if lang == "en" else " : "
        shown = "?" if value is None else value
        return f"{feature} = {shown}{sep}{format_points(points, lang, risk=risk)}"
    if d.measure != "attribute" and isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if d.measure in _WHOLE_DAYS and isinstance(value, float) and not value.is_integer():
        value = float(round(value))  # "23.9 days" reads as noise: whole days
    return reason_sentence(d, value, points, lang, risk=risk)


#: Decimals a sentence shows for each measure (None: the value as it is).
_SHOWN_DECIMALS: dict[str, int] = {
    "decayed": 1,
    "value_mean": 1,
    "trend": 1,
    "overdue_ratio": 1,
    "amount_sum": 0,
    "amount_mean": 0,
    "refund_amount": 0,
    "gap_mean": 0,
    "gap_std": 0,
    "days_since_last": 0,
    "tenure": 0,
}


def _shown_values(d: FeatureDef | None, values: np.ndarray) -> np.ndarray:
    """Values rounded the way the sentence shows them (so equal sentences share a key).

    Vectorised rounding, with Python's ``round`` (what the sentence uses) redone
    for values near a half, where the two could differ.
    """
    if d is None or d.measure == "attribute":
        return values
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return values
    if d.measure == "channel_share":
        nd, scale = 0, 100.0
    elif d.measure in _SHOWN_DECIMALS:
        nd, scale = _SHOWN_DECIMALS[d.measure], 1.0
    else:
        return arr
    shown = _round_like_python(arr, nd, scale)
    if d.measure == "decayed":  # whole numbers from 10 on (see naming.value sentences)
        big = arr >= 10
        shown[big] = _round_like_python(arr[big], 0, 1.0)
    return shown


def _round_like_python(arr: np.ndarray, nd: int, scale: float) -> np.ndarray:
    """``round(x * scale, nd) / scale`` for every value, vectorised."""
    z = arr * scale * 10.0**nd
    shown = np.round(z) / 10.0**nd / scale
    # near a half the fast rounding may differ from Python's: redo those exactly
    near_half = np.flatnonzero(np.abs(np.abs(z - np.floor(z)) - 0.5) < 1e-6)
    for i in near_half:
        shown[i] = round(float(arr[i]) * scale, nd) / scale
    return shown


def _render(
    feat_names: np.ndarray,
    vals: np.ndarray,
    points: np.ndarray,
    *,
    lang: Language,
    risk: bool,
) -> np.ndarray:
    """Sentences of many reasons, each distinct (feature, shown value, shown points) once."""
    texts = np.empty(feat_names.size, dtype=object)
    shown_points = np.floor(np.abs(points) + 0.5) * np.where(points >= 0, 1, -1)
    for f in pd.unique(feat_names):
        sel = np.flatnonzero(feat_names == f)
        shown = _shown_values(_defn(str(f)), vals[sel])
        keys = pd.DataFrame({"v": shown, "p": shown_points[sel]})
        codes = keys.groupby(["v", "p"], sort=False, dropna=False).ngroup().to_numpy()
        first = np.unique(codes, return_index=True)[1]
        rendered = np.empty(first.size, dtype=object)
        for c, i in enumerate(first):
            rendered[c] = reason_text(str(f), shown[i], float(points[sel[i]]), lang, risk=risk)
        texts[sel] = rendered[codes]
    return texts


def top_reasons(
    expl: Explanation,
    values: pd.DataFrame,
    *,
    customer_ids: Sequence[Any] | np.ndarray | pd.Series | None = None,
    target: str = "conversion",
    lang: Language = "en",
    risk: bool = False,
    top_k: int = 3,
    min_abs_points: float = 0.5,
) -> pd.DataFrame:
    """Top-k positive and top-k negative reasons of every row, in words.

    Parameters
    ----------
    expl : Explanation
        From :func:`explain`.
    values : DataFrame
        The rows' own feature values (same row order as ``expl``), used in the
        sentences; must hold every model feature (extra columns are ignored).
        Give the human-readable values (e.g. the country name, not its code).
    customer_ids : sequence, optional
        Default: ``values["customer_id"]`` if present, else the row position.
    target : str
        Target name written in the ``target`` column.
    lang : {"en", "fr"}
    risk : bool
        Word points as risk points (churn targets).
    top_k : int
        Reasons per direction (``config.explain.top_reasons``).
    min_abs_points : float
        Groups whose points round to less than this are not reasons (default
        0.5: no "+0 points" sentences).

    Returns
    -------
    DataFrame
        Columns :data:`REASON_COLUMNS`; ``direction`` is ``"+"`` (raises the
        score) or ``"-"``; ``rank`` 1 is the strongest reason of its direction;
        rows ordered by customer, direction (+ first), rank.
    """
    n = expl.points.points.shape[0]
    if len(values) != n:
        raise ValueError(f"values has {len(values)} rows for {n} explained rows")
    if customer_ids is None:
        customer_ids = (
            values["customer_id"].to_numpy() if "customer_id" in values.columns else np.arange(n)
        )
    ids = np.asarray(customer_ids, dtype=object)
    feats = expl.contributions.feature_names
    missing = [f for f in feats if f not in values.columns]
    if missing:
        raise ValueError(f"values lacks feature column(s) {missing[:5]} needed for the sentences")
    pts = expl.points.points
    k = max(0, min(int(top_k), pts.shape[1]))
    if n == 0 or k == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in REASON_COLUMNS})
    lead = expl.lead_features()
    # strongest first: positives by decreasing points, negatives by increasing
    order_pos = np.argsort(-pts, axis=1, kind="stable")[:, :k]
    order_neg = np.argsort(pts, axis=1, kind="stable")[:, :k]
    rows_i: list[np.ndarray] = []
    cols_g: list[np.ndarray] = []
    dirs: list[np.ndarray] = []
    ranks: list[np.ndarray] = []
    for direction, order in (("+", order_pos), ("-", order_neg)):
        p = np.take_along_axis(pts, order, axis=1)
        keep = p >= min_abs_points if direction == "+" else p <= -min_abs_points
        r_idx, c_idx = np.nonzero(keep)
        rows_i.append(r_idx)
        cols_g.append(order[r_idx, c_idx])
        dirs.append(np.full(r_idx.size, direction, dtype=object))
        ranks.append(c_idx + 1)
    ri = np.concatenate(rows_i)
    gi = np.concatenate(cols_g)
    di = np.concatenate(dirs)
    rk = np.concatenate(ranks)
    sort = np.lexsort((rk, di == "-", ri))
    ri, gi, di, rk = ri[sort], gi[sort], di[sort], rk[sort]
    fi = lead[ri, gi]
    points = pts[ri, gi]
    feat_names = np.asarray(feats, dtype=object)[fi]
    # the customer's own value of the lead feature
    value_cols = {f: values[f].to_numpy() for f in set(feat_names.tolist())}
    vals = np.empty(ri.size, dtype=object)
    for f, col in value_cols.items():
        sel = feat_names == f
        vals[sel] = col[ri[sel]]
    texts = _render(feat_names, vals, points, lang=lang, risk=risk)
    groups = np.asarray(expl.groups, dtype=object)
    return pd.DataFrame(
        {
            "customer_id": ids[ri],
            "target": target,
            "direction": di,
            "rank": rk.astype(np.int64),
            "group": groups[gi],
            "feature": feat_names,
            "value": vals,
            "points": points,
            "text": texts,
        },
        columns=REASON_COLUMNS,
    )


def compact_reasons(
    reasons: pd.DataFrame,
    *,
    top_k: int = 3,
    which: Literal["strongest", "positive", "negative", "both"] = "strongest",
    sep: str = " | ",
) -> pd.Series:
    """One string per customer for the predictions file.

    ``strongest`` (default): the ``top_k`` reasons with the largest ``|points|``
    whatever their direction; ``positive`` / ``negative``: that direction only;
    ``both``: positives then negatives. Index: ``customer_id``; customers
    without any reason are absent (join with a default of ``""``).

    Examples
    --------
    >>> r = pd.DataFrame({"customer_id": ["a", "a", "a"], "direction": ["+", "+", "-"],
    ...                   "rank": [1, 2, 1], "points": [12.0, 3.0, -5.0],
    ...                   "text": ["A: +12 points", "B: +3 points", "C: -5 points"]})
    >>> compact_reasons(r).to_dict()
    {'a': 'A: +12 points | C: -5 points | B: +3 points'}
    """
    if reasons.empty:
        return pd.Series([], dtype=object, name="reasons", index=pd.Index([], name="customer_id"))
    r = reasons
    if which == "positive":
        r = r[r["direction"] == "+"]
    elif which == "negative":
        r = r[r["direction"] == "-"]
    if which == "strongest":
        r = r.assign(_abs=-r["points"].abs()).sort_values(["customer_id", "_abs"], kind="stable")
    else:
        r = r.assign(_neg=r["direction"] == "-").sort_values(
            ["customer_id", "_neg", "rank"], kind="stable"
        )
    keys = ["customer_id", "direction"] if which == "both" else ["customer_id"]
    r = r[r.groupby(keys, sort=False).cumcount().to_numpy() < top_k]
    ids = r["customer_id"].to_numpy()
    texts = r["text"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if ids.size else np.zeros(0, int)
    ends = np.r_[starts[1:], ids.size]
    joined = [sep.join(texts[a:b]) for a, b in zip(starts, ends, strict=True)]
    return pd.Series(
        joined, index=pd.Index(ids[starts], name="customer_id"), name="reasons", dtype=object
    )


def decode_attributes(bundle: Any, features: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``features`` with categorical attribute codes turned back into labels.

    Reads the categories frozen in the bundle's feature spec
    (``feature_spec_dict["attributes"]``: name, kind, categories; code ``i`` is
    ``categories[i]``, ``-1`` is unknown). Other columns are unchanged.

    Examples
    --------
    >>> class B:
    ...     feature_spec_dict = {"attributes": [
    ...         {"name": "country", "kind": "categorical", "categories": ["DE", "FR"]}]}
    >>> decode_attributes(B(), pd.DataFrame({"attr_country": [1, -1, 0]}))["attr_country"].tolist()
    ['FR', 'unknown', 'DE']
    """
    spec = getattr(bundle, "feature_spec_dict", None)
    attrs = spec.get("attributes") if isinstance(spec, dict) else None
    if not attrs:
        return features
    out = features.copy()
    for a in attrs:
        col = f"attr_{a.get('name')}"
        if a.get("kind") != "categorical" or col not in out.columns:
            continue
        cats = list(a.get("categories") or [])
        codes = pd.to_numeric(out[col], errors="coerce")

        def label(v: float, cats: list[str] = cats) -> str:
            if pd.isna(v) or not 0 <= int(v) < len(cats):
                return "unknown"
            return str(cats[int(v)])

        out[col] = pd.Series([label(v) for v in codes], index=out.index, dtype=object)
    return out


def _is_risk_target(bundle: Any) -> bool:
    tc = getattr(bundle, "target_config", None) or {}
    kind = tc.get("kind") if isinstance(tc, dict) else getattr(tc, "kind", None)
    return kind == "churn"


def explain_bundle(
    bundle: Any,
    features: pd.DataFrame,
    *,
    lang: Language = "en",
    top_k: int = 3,
    min_abs_points: float = 0.5,
    method: Method = "auto",
    display: pd.DataFrame | None = None,
    margin: np.ndarray | None = None,
) -> tuple[Explanation, pd.DataFrame]:
    """Explain a feature frame with a scoring bundle (duck-typed).

    The bundle needs ``booster``, ``feature_names``, ``matrix(df)`` (or the
    columns are used as they are), ``calibrator.predict(margin)``, ``target``
    and ``target_config`` (``kind == "churn"`` words reasons as risk).

    Parameters
    ----------
    bundle : ScoringBundle
    features : DataFrame
        ``customer_id``, the bundle's features (as of one cutoff: events with
        ``timestamp < cutoff``).
    display : DataFrame, optional
        Human-readable values for the sentences (default: ``features`` with the
        categorical attribute codes decoded, see :func:`decode_attributes`).
    margin : ndarray, optional
        The booster's raw margin for these rows if the caller already has it
        (saves one prediction); the points add up to ``100 × calibrate(margin)``.

    Returns
    -------
    (Explanation, DataFrame)
        The explanation and the tidy reasons (see :func:`top_reasons`).
    """
    names = list(bundle.feature_names)
    if hasattr(bundle, "matrix"):
        X: Any = bundle.matrix(features)
    else:
        X = features[names]
    calibrator = bundle.calibrator
    calibrate = calibrator.predict if hasattr(calibrator, "predict") else calibrator
    # the score the predictor reports: calibrate(raw margin of the booster)
    if margin is None:
        margin = np.asarray(bundle.booster.predict(X, raw_score=True), dtype=np.float64)
    expl = explain(bundle.booster, X, calibrate=calibrate, margin=margin, method=method)
    tidy = top_reasons(
        expl,
        display if display is not None else decode_attributes(bundle, features),
        target=str(getattr(bundle, "target", "target")),
        lang=lang,
        risk=_is_risk_target(bundle),
        top_k=top_k,
        min_abs_points=min_abs_points,
    )
    return expl, tidy
