"""Global SHAP figures are matplotlib Figures named for MLflow artifacts."""

from __future__ import annotations

import io

import numpy as np
from _explain_helpers import make_frame, matrix, train
from matplotlib.figure import Figure

from mlscore.explain import compute_contributions
from mlscore.explain.plots import global_figures


def test_global_figures_render():
    df, y = make_frame(800, seed=2)
    booster = train(df, y, additive=True, rounds=30)
    x = matrix(df)
    figs = global_figures(booster, x, n_dependence=3, max_rows=300)
    assert {"shap_summary.png", "reason_groups.png"} <= set(figs)
    dep = [k for k in figs if k.startswith("shap_dependence_")]
    assert len(dep) == 3
    c = compute_contributions(booster, x)
    top = c.feature_names[int(np.argmax(np.abs(c.values).mean(axis=0)))]
    assert f"shap_dependence_{top}.png" in figs
    for fig in figs.values():
        assert isinstance(fig, Figure)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        assert buf.getvalue()[:4] == b"\x89PNG"
    labels = [t.get_text() for t in figs["shap_summary.png"].axes[0].get_yticklabels()]
    assert labels[-1] == top  # most important feature on top
