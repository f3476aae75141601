"""The learned points table: what one more event today is worth, per event type.

For each event type of the feature spec (and for a purchase, overall and per RFM
recency / frequency level), the table gives the **average change of the score
(0–100 points) when one more such event is added today**, over the scored
population, according to the current model — the learned counterpart of the
hand-set grid ("webinar +20, contact form +30 ...") — next to the grid's value and
the change since the previous champion's table.

Counterfactual "one more event of type *e* just before the cutoff" (age 0), applied
to every customer's features as of the cutoff (features use events with
``timestamp < cutoff``):

* ``<e>_count_<w>d`` +1 for every window, ``<e>_count_total`` +1;
* ``<e>_decayed_hl<h>`` +1 (weight ``2^(-0/h) = 1``);
* ``days_since_last_<e>`` → 0;
* ``<e>_value_mean_<w>d`` unchanged (the new event is assumed to carry the mean value);
* ``events_count_<w>d`` +1; ``days_since_last_activity`` → 0;
  ``active_days_<w>d`` +1 unless the customer was already active in the last day
  (capped at *w*); ``activity_trend_<w>d`` = (recent + 1) / (earlier + 1) with the
  recent count from ``events_count_<w>d`` and the earlier one recovered from the
  current trend (or ``events_count_<2w>d``); ``tenure_days`` → 0 when missing;
* channel shares unchanged (the channel of the new event is unknown).

For a purchase of amount *a* (the customer's own mean basket, else the population
median basket): ``purchase_count_*`` +1, ``amount_sum_*`` +a, ``amount_mean_*``
updated with *a*, ``days_since_last_purchase`` → 0, ``purchase_overdue_ratio`` → 0,
``purchase_gap_mean_days`` updated with the new gap, the activity features as above
(a purchase is activity but not an interaction), refunds unchanged.

Learned points of *e* = mean over customers of ``100 × (calibrate(m') − calibrate(m))``
with ``m`` and ``m'`` the model's raw margins before and after. For an additive
model this is exactly the mean step of *e*'s own feature functions (the scorecard),
pushed through the calibration.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlscore.explain.points import SCORE_SCALE, Calibrate
from mlscore.features.naming import FeatureDef, parse_feature_name

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "POINTS_TABLE_COLUMNS",
    "add_one_event",
    "event_types",
    "learned_points_table",
    "points_table_bundle",
    "points_table_figure",
]

logger = logging.getLogger(__name__)

POINTS_TABLE_COLUMNS = [
    "event",
    "level",
    "n_customers",
    "learned_points",
    "handset_points",
    "change_since_previous",
]

PURCHASE = "purchase"


def _defs(columns: Sequence[str]) -> dict[str, FeatureDef]:
    out: dict[str, FeatureDef] = {}
    for c in columns:
        try:
            out[c] = parse_feature_name(c)
        except ValueError:
            continue
    return out


def _find(defs: dict[str, FeatureDef], measure: str, *, total: bool = False) -> str | None:
    """First column with this measure (and no window if ``total``)."""
    for c, d in defs.items():
        if d.measure == measure and (not total or d.window_days is None):
            return c
    return None


def event_types(feature_names: Sequence[str]) -> list[str]:
    """Event types with per-event features, plus ``"purchase"`` if RFM features exist.

    Examples
    --------
    >>> event_types(["webinar_attended_count_7d", "days_since_last_purchase", "attr_plan"])
    ['webinar_attended', 'purchase']
    """
    events: list[str] = []
    has_purchase = False
    for d in _defs(feature_names).values():
        if d.family == "engagement" and d.subject not in events:
            events.append(d.subject)
        elif d.family == "rfm":
            has_purchase = True
    return [*events, PURCHASE] if has_purchase else events


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return np.asarray(pd.to_numeric(df[col], errors="coerce"), dtype=np.float64)


def _activity_update(out: pd.DataFrame, defs: dict[str, FeatureDef], *, interaction: bool) -> None:
    """Apply 'one more activity today' to the activity features of ``out`` in place."""
    dsl_col = next(
        (c for c, d in defs.items() if d.subject == "activity" and d.measure == "days_since_last"),
        None,
    )
    was_active_today = (
        np.nan_to_num(_num(out, dsl_col), nan=np.inf) < 1
        if dsl_col is not None
        else np.zeros(len(out), dtype=bool)
    )
    counts_before = {
        d.window_days: _num(out, c)
        for c, d in defs.items()
        if d.subject == "activity" and d.measure == "count"
    }
    for c, d in defs.items():
        if d.subject != "activity":
            continue
        v = _num(out, c)
        if d.measure == "count" and interaction:
            out[c] = np.nan_to_num(v) + 1
        elif d.measure == "active_days":
            cap = float(d.window_days or np.inf)
            out[c] = np.where(was_active_today, v, np.minimum(np.nan_to_num(v) + 1, cap))
        elif d.measure == "trend" and interaction:
            tw = d.window_days
            recent = counts_before.get(tw)
            t = np.nan_to_num(v)
            if recent is None:  # no recent count column: assume the earlier count is 0
                out[c] = t + 1
                continue
            r = np.nan_to_num(recent)
            longer = counts_before.get(2 * tw) if tw is not None else None
            if longer is not None:
                earlier = np.maximum(np.nan_to_num(longer) - r, 0)
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    earlier = np.where((r > 0) & (t > 0), r / np.where(t > 0, t, 1) - 1, 0.0)
            out[c] = (r + 1) / (earlier + 1)
        elif d.measure == "days_since_last":
            out[c] = 0.0
        elif d.measure == "tenure":
            out[c] = np.where(np.isnan(v), 0.0, v)


def add_one_event(
    features: pd.DataFrame,
    event: str,
    *,
    purchase_amount: np.ndarray | float | None = None,
) -> pd.DataFrame:
    """Features as if one more ``event`` had happened just before the cutoff.

    Pure: returns a modified copy (see the module docstring for each feature).
    ``event == "purchase"`` adds a purchase of ``purchase_amount`` (default: the
    customer's ``amount_mean_total``, else the population median of it).

    Examples
    --------
    >>> f = pd.DataFrame({"email_click_count_7d": [0, 2], "days_since_last_email_click":
    ...                   [float("nan"), 3.0], "email_click_decayed_hl14": [0.0, 1.5]})
    >>> add_one_event(f, "email_click").to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'email_click_count_7d': [1.0, 3.0], 'days_since_last_email_click': [0.0, 0.0],
     'email_click_decayed_hl14': [1.0, 2.5]}
    """
    out = features.copy()
    defs = _defs(list(out.columns))
    if event != PURCHASE:
        touched = False
        for c, d in defs.items():
            if d.subject != event or d.family != "engagement":
                continue
            v = _num(out, c)
            if d.measure in ("count", "decayed"):
                out[c] = np.nan_to_num(v) + 1
                touched = True
            elif d.measure == "days_since_last":
                out[c] = 0.0
                touched = True
        if not touched:
            raise ValueError(f"no feature of event type {event!r} among the columns")
        _activity_update(out, defs, interaction=True)
        return out
    rfm = {c: d for c, d in defs.items() if d.family == "rfm"}
    if not rfm:
        raise ValueError("no purchase (RFM) feature among the columns")
    n = len(out)
    total_col = next(
        (c for c, d in rfm.items() if d.measure == "count" and d.window_days is None), None
    )
    k = np.nan_to_num(_num(out, total_col)) if total_col else np.zeros(n)
    if purchase_amount is None:
        mean_col = next(
            (c for c, d in rfm.items() if d.measure == "amount_mean" and d.window_days is None),
            None,
        )
        own = _num(out, mean_col) if mean_col else np.full(n, np.nan)
        pos = own[np.isfinite(own) & (own > 0)]
        fallback = float(np.median(pos)) if pos.size else 1.0
        amount = np.where(np.isfinite(own) & (own > 0), own, fallback)
    else:
        amount = np.broadcast_to(np.asarray(purchase_amount, dtype=np.float64), (n,))
    counts = {
        d.window_days: np.nan_to_num(_num(out, c)) for c, d in rfm.items() if d.measure == "count"
    }
    dsl_col = next((c for c, d in rfm.items() if d.measure == "days_since_last"), None)
    gap_new = _num(out, dsl_col) if dsl_col else np.full(n, np.nan)
    for c, d in rfm.items():
        v = _num(out, c)
        m = d.measure
        if m == "count":
            out[c] = np.nan_to_num(v) + 1
        elif m == "amount_sum":
            out[c] = np.nan_to_num(v) + amount
        elif m == "amount_mean":
            cnt = counts.get(d.window_days, k)
            out[c] = (np.nan_to_num(v) * cnt + amount) / (cnt + 1)
        elif m == "days_since_last" or m == "overdue_ratio":
            out[c] = 0.0
        elif m == "gap_mean":
            # k purchases before → k - 1 gaps; the new purchase adds the gap since the last
            new = np.where(
                k >= 2,
                (np.nan_to_num(v) * (k - 1) + np.nan_to_num(gap_new)) / np.maximum(k, 1),
                np.where(k == 1, gap_new, v),
            )
            out[c] = new
        elif m == "gap_std":
            out[c] = np.where(k == 1, 0.0, v)
    _activity_update(out, defs, interaction=False)
    return out


def _levels(features: pd.DataFrame, feature_names: Sequence[str]) -> dict[str, np.ndarray]:
    """RFM levels (boolean masks) for the purchase rows: recency and frequency quintiles."""
    out: dict[str, np.ndarray] = {}
    defs = _defs(feature_names)
    rec = next(
        (c for c, d in defs.items() if d.family == "rfm" and d.measure == "days_since_last"), None
    )
    freq = next(
        (
            c
            for c, d in defs.items()
            if d.family == "rfm" and d.measure == "count" and d.window_days is None
        ),
        None,
    )
    if rec is not None:
        r = _num(features, rec)
        never = np.isnan(r)
        if (~never).sum() >= 5:
            # R5 = most recent fifth of buyers ... R1 = least recent (RFM convention: 5 is best)
            ranks = pd.Series(-r[~never]).rank(method="first").to_numpy()
            q = np.ceil(5 * ranks / ranks.size).astype(int)
            for level in range(5, 0, -1):
                mask = np.zeros(r.size, dtype=bool)
                mask[np.flatnonzero(~never)[q == level]] = True
                out[f"recency R{level}"] = mask
        if never.any():
            out["never purchased"] = never
    if freq is not None:
        f = np.nan_to_num(_num(features, freq))
        for label, mask in (
            ("frequency 0", f == 0),
            ("frequency 1", f == 1),
            ("frequency 2-4", (f >= 2) & (f <= 4)),
            ("frequency 5+", f >= 5),
        ):
            if mask.any():
                out[label] = mask
    return out


def learned_points_table(
    booster: Any,
    features: pd.DataFrame,
    *,
    calibrate: Calibrate,
    feature_names: Sequence[str] | None = None,
    to_matrix: Callable[[pd.DataFrame], Any] | None = None,
    handset_weights: Mapping[str, float] | None = None,
    previous: pd.DataFrame | None = None,
    events: Sequence[str] | None = None,
    rfm_levels: bool = True,
    max_rows: int | None = 100_000,
    seed: int = 0,
) -> pd.DataFrame:
    """What one more event today is worth in score points, per event type.

    Parameters
    ----------
    booster : lightgbm.Booster
        Binary model.
    features : DataFrame
        The scored population's features as of one cutoff (model input columns
        with their model-ready values; features use events with ``ts < cutoff``).
    calibrate : callable
        Raw margin → calibrated probability.
    feature_names : sequence of str, optional
        Model input columns (default: ``booster.feature_name()``).
    to_matrix : callable, optional
        DataFrame → model input (default: the feature columns as float).
    handset_weights : mapping, optional
        The hand-set grid (``config.features.handset_points.weights``).
    previous : DataFrame, optional
        The previous champion's table (same columns); gives
        ``change_since_previous`` (NaN where it had no such row).
    events : sequence of str, optional
        Event types to price (default: :func:`event_types` of the features).
    rfm_levels : bool
        Add purchase rows per RFM recency quintile and frequency level.
    max_rows : int, optional
        Average over a seeded random sample of this many customers (None: all).
    seed : int
        Sampling seed.

    Returns
    -------
    DataFrame
        Columns :data:`POINTS_TABLE_COLUMNS`; one row per event type (``level``
        ``"all"``), sorted by decreasing learned points, then the purchase levels.
    """
    names = list(feature_names) if feature_names is not None else list(booster.feature_name())
    missing = [c for c in names if c not in features.columns]
    if missing:
        raise ValueError(f"features lacks model column(s) {missing[:5]}")
    frame = features
    if max_rows is not None and len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=seed)
    frame = frame.reset_index(drop=True)

    def matrix(df: pd.DataFrame) -> Any:
        if to_matrix is not None:
            return to_matrix(df)
        return df[names].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)

    def score(df: pd.DataFrame) -> np.ndarray:
        m = np.asarray(booster.predict(matrix(df), raw_score=True), dtype=np.float64)
        return SCORE_SCALE * np.asarray(calibrate(m), dtype=np.float64).reshape(-1)

    base = score(frame)
    todo = list(events) if events is not None else event_types(names)
    hand = dict(handset_weights or {})
    rows: list[dict[str, Any]] = []
    level_rows: list[dict[str, Any]] = []
    for e in todo:
        try:
            delta = score(add_one_event(frame, e)) - base
        except ValueError as err:
            logger.warning("points table: skipping %r (%s)", e, err)
            continue
        rows.append(
            {
                "event": e,
                "level": "all",
                "n_customers": int(delta.size),
                "learned_points": float(delta.mean()) if delta.size else float("nan"),
                "handset_points": float(hand[e]) if e in hand else float("nan"),
            }
        )
        if e == PURCHASE and rfm_levels:
            for level, mask in _levels(frame, names).items():
                level_rows.append(
                    {
                        "event": e,
                        "level": level,
                        "n_customers": int(mask.sum()),
                        "learned_points": float(delta[mask].mean()),
                        "handset_points": float(hand[e]) if e in hand else float("nan"),
                    }
                )
    table = pd.DataFrame(rows, columns=POINTS_TABLE_COLUMNS[:-1])
    table = table.sort_values("learned_points", ascending=False, kind="stable")
    table = pd.concat([table, pd.DataFrame(level_rows, columns=table.columns)], ignore_index=True)
    if previous is not None and not previous.empty:
        prev = previous[["event", "level", "learned_points"]].rename(
            columns={"learned_points": "_prev"}
        )
        table = table.merge(prev, on=["event", "level"], how="left")
        table["change_since_previous"] = table["learned_points"] - table["_prev"]
        table = table.drop(columns="_prev")
    else:
        table["change_since_previous"] = np.nan
    return table[POINTS_TABLE_COLUMNS].reset_index(drop=True)


def points_table_bundle(
    bundle: Any,
    features: pd.DataFrame,
    *,
    previous: pd.DataFrame | None = None,
    handset_weights: Mapping[str, float] | None = None,
    max_rows: int | None = 100_000,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`learned_points_table` with a scoring bundle (duck-typed).

    Uses ``bundle.booster``, ``bundle.feature_names``, ``bundle.matrix`` and
    ``bundle.calibrator.predict``; the hand-set grid defaults to the bundle's
    feature spec (``handset_weights``) when not given.
    """
    if handset_weights is None:
        spec = getattr(bundle, "feature_spec_dict", None) or {}
        hw = spec.get("handset_weights") if isinstance(spec, dict) else None
        handset_weights = dict(hw) if hw else None
    cal = bundle.calibrator
    return learned_points_table(
        bundle.booster,
        features,
        calibrate=cal.predict if hasattr(cal, "predict") else cal,
        feature_names=list(bundle.feature_names),
        to_matrix=bundle.matrix if hasattr(bundle, "matrix") else None,
        handset_weights=handset_weights,
        previous=previous,
        max_rows=max_rows,
        seed=seed,
    )


def points_table_figure(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Horizontal bar chart: learned points vs the hand-set grid, per event type.

    Only the ``level == "all"`` rows are drawn. Returns a matplotlib Figure (not
    shown, not saved).
    """
    from matplotlib.figure import Figure

    t = table[table["level"] == "all"].iloc[::-1]
    fig = Figure(figsize=(7.5, 0.45 * max(len(t), 2) + 1.4))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(t))
    h = 0.38
    ax.barh(y + h / 2, t["learned_points"], height=h, label="learned (model)", color="#2f6db5")
    hand = t["handset_points"].to_numpy(dtype=float)
    ax.barh(
        y - h / 2,
        np.nan_to_num(hand),
        height=h,
        label="hand-set grid",
        color="#bbbbbb",
    )
    ax.set_yticks(y, t["event"].tolist())
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("score points for one more event today (0–100 scale)")
    ax.set_title(title or "Learned points vs the hand-set grid")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig
