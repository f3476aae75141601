"""Matplotlib figures of a fitted target (Agg backend; aggregates only, no rows)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mlscore.modeling.train import FitResult

__all__ = ["calibration_figure", "importance_figure", "lift_figure"]


def calibration_figure(result: FitResult) -> Figure:
    """Predicted mean vs observed rate per decile of the test slice."""
    t = result.decile_table
    fig, ax = plt.subplots(figsize=(5, 5))
    hi = float(max(t["predicted_mean"].max(), t["observed_rate"].max(), 0.01)) * 1.05
    ax.plot([0, hi], [0, hi], ls="--", color="grey", lw=1, label="perfect")
    ax.plot(t["predicted_mean"], t["observed_rate"], "o-", label="model (test deciles)")
    ax.set_xlabel("predicted probability (mean per decile)")
    ax.set_ylabel("observed rate")
    ece = result.metrics.get("test_ece", float("nan"))
    ax.set_title(f"{result.target}: calibration ({result.bundle.calibrator.method}), ECE {ece:.3f}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def lift_figure(result: FitResult) -> Figure:
    """Lift per decile of the test slice: model vs each baseline."""
    fig, ax = plt.subplots(figsize=(7, 4))
    t = result.decile_table
    ax.plot(t["decile"], t["lift"], "o-", lw=2, label="model")
    for name, bt in result.baseline_deciles.items():
        ax.plot(bt["decile"], bt["lift"], ".--", label=f"baseline: {name}")
    ax.axhline(1.0, color="grey", lw=1)
    ax.set_xlabel("decile (1 = highest score)")
    ax.set_ylabel("lift")
    ax.set_xticks(list(t["decile"]))
    ax.set_title(f"{result.target}: lift by decile (test cutoff)")
    ax.legend()
    fig.tight_layout()
    return fig


def importance_figure(result: FitResult, *, top: int = 20) -> Figure:
    """Total gain of the ``top`` most important features."""
    imp = result.importance.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, max(3.0, 0.3 * len(imp) + 1)))
    ax.barh(imp["feature"], imp["gain"])
    ax.set_xlabel("total gain")
    kind = result.bundle.metadata.get("model_kind")
    ax.set_title(f"{result.target}: feature importance ({kind})")
    fig.tight_layout()
    return fig
