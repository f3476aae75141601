"""Global explanations for the data scientist: SHAP summary and dependence figures.

Drawn from the exact contributions (:func:`mlscore.explain.compute_contributions`,
log-odds, identical to ``shap.TreeExplainer``) with matplotlib's object API
(``matplotlib.figure.Figure``, no pyplot state, no display), so the tracking
module can log them as MLflow artifacts::

    figures = global_figures(booster, X)           # {filename: Figure}
    for name, fig in figures.items():
        mlflow.log_figure(fig, f"explain/{name}")

``shap`` is not needed: the beeswarm is the same picture as ``shap.summary_plot``
(one dot per row and feature, x = contribution, colour = the feature's value
rank), ordered by mean |contribution|.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from mlscore.explain.contributions import Contributions, compute_contributions, group_contributions

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["beeswarm_figure", "dependence_figure", "global_figures", "group_importance_figure"]


def _feature_matrix(X: Any, n_features: int) -> np.ndarray:
    if hasattr(X, "to_numpy"):
        arr = X.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != n_features:
        raise ValueError(f"X must have {n_features} feature columns; got shape {arr.shape}")
    return arr


def _value_colour(col: np.ndarray) -> np.ndarray:
    """Rank of each value in [0, 1] (NaN stays NaN, drawn grey)."""
    out = np.full(col.shape, np.nan)
    ok = np.isfinite(col)
    if ok.sum() > 1:
        ranks = col[ok].argsort(kind="stable").argsort(kind="stable")
        out[ok] = ranks / (ok.sum() - 1)
    elif ok.any():
        out[ok] = 0.5
    return out


def beeswarm_figure(contrib: Contributions, X: Any, *, top_n: int = 20, seed: int = 0) -> Figure:
    """SHAP summary (beeswarm) of the ``top_n`` features by mean |contribution|."""
    from matplotlib.figure import Figure

    x = _feature_matrix(X, len(contrib.feature_names))
    imp = np.abs(contrib.values).mean(axis=0)
    order = np.argsort(-imp, kind="stable")[:top_n]
    rng = np.random.default_rng(seed)
    fig = Figure(figsize=(8, 0.38 * len(order) + 1.6))
    ax = fig.add_subplot(1, 1, 1)
    sc = None
    for pos, j in enumerate(order[::-1]):
        v = contrib.values[:, j]
        c = _value_colour(x[:, j])
        jitter = rng.uniform(-0.3, 0.3, v.size)
        nan = np.isnan(c)
        if nan.any():
            ax.scatter(v[nan], pos + jitter[nan], s=4, color="#999999", alpha=0.5, linewidths=0)
        sc = ax.scatter(
            v[~nan],
            pos + jitter[~nan],
            s=4,
            c=c[~nan],
            cmap="coolwarm",
            vmin=0,
            vmax=1,
            alpha=0.6,
            linewidths=0,
        )
    ax.set_yticks(np.arange(len(order)), [contrib.feature_names[j] for j in order[::-1]])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("contribution to the log-odds (SHAP value)")
    ax.set_title(f"SHAP summary ({contrib.values.shape[0]} rows, {contrib.method})")
    if sc is not None:
        cb = fig.colorbar(sc, ax=ax, fraction=0.03, pad=0.01)
        cb.set_label("feature value (rank: low → high)")
    fig.tight_layout()
    return fig


def dependence_figure(contrib: Contributions, X: Any, feature: str) -> Figure:
    """Contribution of ``feature`` against its value (one dot per row)."""
    from matplotlib.figure import Figure

    x = _feature_matrix(X, len(contrib.feature_names))
    j = contrib.feature_names.index(feature)
    v = x[:, j]
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(1, 1, 1)
    ok = np.isfinite(v)
    ax.scatter(v[ok], contrib.values[ok, j], s=5, alpha=0.5, color="#2f6db5", linewidths=0)
    if (~ok).any():
        ax.set_title(
            f"{feature} (missing: {(~ok).sum()} rows, mean SHAP "
            f"{contrib.values[~ok, j].mean():+.3f})",
            fontsize="medium",
        )
    else:
        ax.set_title(feature, fontsize="medium")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"{feature} (value)")
    ax.set_ylabel("SHAP value (log-odds)")
    fig.tight_layout()
    return fig


def group_importance_figure(contrib: Contributions, *, top_n: int = 20) -> Figure:
    """Mean |contribution| of each reason group (log-odds), largest first."""
    from matplotlib.figure import Figure

    groups, grouped, _ = group_contributions(contrib)
    imp = np.abs(grouped).mean(axis=0)
    order = np.argsort(-imp, kind="stable")[:top_n][::-1]
    fig = Figure(figsize=(7, 0.35 * len(order) + 1.4))
    ax = fig.add_subplot(1, 1, 1)
    ax.barh(np.arange(len(order)), imp[order], color="#2f6db5")
    ax.set_yticks(np.arange(len(order)), [groups[i] for i in order])
    ax.set_xlabel("mean |contribution| (log-odds)")
    ax.set_title("Reason groups by importance")
    fig.tight_layout()
    return fig


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def global_figures(
    booster: Any,
    X: Any,
    *,
    contributions: Contributions | None = None,
    top_n: int = 20,
    n_dependence: int = 6,
    max_rows: int = 5000,
    seed: int = 0,
) -> dict[str, Figure]:
    """SHAP summary, reason-group importance and top-feature dependence figures.

    Parameters
    ----------
    booster : lightgbm.Booster
    X : DataFrame or ndarray
        Model input rows (e.g. the test slice); a seeded sample of ``max_rows``
        is drawn.
    contributions : Contributions, optional
        Precomputed for exactly these rows (then no sampling).
    top_n, n_dependence : int
        Features in the beeswarm; dependence plots drawn (top features).

    Returns
    -------
    dict
        ``{"shap_summary.png": Figure, "reason_groups.png": Figure,
        "shap_dependence_<feature>.png": Figure, ...}``.
    """
    rows = X
    if contributions is None:
        n = len(X)
        if n > max_rows:
            idx = np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))
            rows = X.iloc[idx] if hasattr(X, "iloc") else np.asarray(X)[idx]
        contributions = compute_contributions(booster, rows)
    figs: dict[str, Figure] = {
        "shap_summary.png": beeswarm_figure(contributions, rows, top_n=top_n, seed=seed),
        "reason_groups.png": group_importance_figure(contributions, top_n=top_n),
    }
    imp = np.abs(contributions.values).mean(axis=0)
    for j in np.argsort(-imp, kind="stable")[:n_dependence]:
        f = contributions.feature_names[j]
        figs[f"shap_dependence_{_safe(f)}.png"] = dependence_figure(contributions, rows, f)
    return figs
