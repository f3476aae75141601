"""Project-level entry points behind ``mlscore explain`` and ``mlscore points``.

They load the project's tables, the target's scoring bundle (registry champion
by default, or a registry URI / bundle directory) and build the features **as of
a date** with the bundle's frozen feature spec: features use events with
``timestamp < as_of`` (midnight UTC of that date), exactly as the batch
predictor does, so the explained score is the score in the predictions file.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlscore.config import ProjectConfig
from mlscore.errors import ConfigError, DataError
from mlscore.explain.points_table import points_table_bundle, points_table_figure
from mlscore.explain.reasons import explain_bundle
from mlscore.features.naming import Language

__all__ = [
    "CustomerExplanation",
    "explain_customer",
    "points_tables",
    "training_artifacts",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CustomerExplanation:
    """One customer's score for one target and its reasons.

    ``baseline + reasons_all.points.sum() == score`` (all groups, not only the
    top ones); ``reasons`` holds the top-k per direction in words.
    """

    customer_id: str
    target: str
    as_of: dt.date
    probability: float
    score: float
    baseline: float
    tier: str
    eligible: bool
    model: str
    reasons: pd.DataFrame
    points_by_group: pd.Series


def _when(config: ProjectConfig, as_of: dt.date | None) -> dt.date:
    return as_of or config.as_of or dt.date.today()


def _check_lang(lang: str | None, config: ProjectConfig) -> Language:
    lg = lang or config.explain.language
    if lg not in ("en", "fr"):
        raise ConfigError(f"unknown language {lg!r}; use en or fr")
    return lg  # type: ignore[return-value]


def _prepare(
    config: ProjectConfig,
    *,
    as_of: dt.date,
    target: str | None,
    model: Any,
    tables: Any,
) -> tuple[Any, pd.DataFrame, dict[str, np.ndarray]]:
    from mlscore.predict.predictor import Predictor, to_as_of

    if target is not None and target not in config.targets:
        raise ConfigError(
            f"unknown target {target!r}; configured targets: {sorted(config.targets)}"
        )
    predictor = Predictor(
        model, config=config, targets=[target] if target else None, with_reasons=False
    )
    if tables is None:
        from mlscore.data import extraction_date, load_tables

        tables = load_tables(config, as_of=extraction_date(config, as_of))
    features, masks = predictor.prepare(tables, to_as_of(as_of))
    return predictor, features, masks


def explain_customer(
    config: ProjectConfig,
    customer_id: str,
    *,
    as_of: dt.date | None = None,
    target: str | None = None,
    lang: str | None = None,
    model: Any = None,
    top_k: int | None = None,
    tables: Any = None,
) -> list[CustomerExplanation]:
    """Explain one customer's score(s) as of a date.

    Parameters
    ----------
    config : ProjectConfig
    customer_id : str
    as_of : date, optional
        Features use events with ``timestamp < as_of`` (default: ``config.as_of``,
        else today).
    target : str, optional
        One target (default: every target with a model).
    lang : {"en", "fr"}, optional
        Default ``config.explain.language``.
    model : optional
        Registry URI, bundle directory or bundle (default: registry champions).
    top_k : int, optional
        Reasons per direction (default ``config.explain.top_reasons``).
    tables : Tables, optional
        Already loaded canonical tables (default: ``load_tables(config)``).

    Raises
    ------
    DataError
        The customer has no activity before ``as_of`` (or did not consent).
    """
    when = _when(config, as_of)
    lg = _check_lang(lang, config)
    k = top_k or config.explain.top_reasons
    predictor, features, masks = _prepare(
        config, as_of=when, target=target, model=model, tables=tables
    )
    ids = features["customer_id"].astype(str)
    sel = np.flatnonzero((ids == str(customer_id)).to_numpy())
    if sel.size == 0:
        raise DataError(
            f"customer {customer_id!r} is unknown as of {when} (no interaction, purchase or "
            f"signup before that date among {len(features):,} customers, or no consent); "
            "check the id or pass a later --as-of"
        )
    row = features.iloc[sel[:1]].reset_index(drop=True)
    out: list[CustomerExplanation] = []
    for t, m in predictor.models.items():
        bundle = m.bundle
        expl, tidy = explain_bundle(bundle, row, lang=lg, top_k=k)
        p = float(expl.points.score[0] / 100.0)
        out.append(
            CustomerExplanation(
                customer_id=str(customer_id),
                target=t,
                as_of=when,
                probability=p,
                score=float(expl.points.score[0]),
                baseline=float(expl.points.baseline[0]),
                tier=str(bundle.tier(np.array([p]))[0]),
                eligible=bool(masks[t][sel[0]]),
                model=m.label,
                reasons=tidy,
                points_by_group=pd.Series(expl.points.points[0], index=expl.groups),
            )
        )
    return out


def points_tables(
    config: ProjectConfig,
    *,
    as_of: dt.date | None = None,
    target: str | None = None,
    model: Any = None,
    previous: Mapping[str, pd.DataFrame] | None = None,
    max_rows: int | None = 100_000,
    tables: Any = None,
) -> dict[str, tuple[pd.DataFrame, str]]:
    """The learned points table of each target over its population as of a date.

    Returns ``{target: (table, model label)}``; see
    :func:`mlscore.explain.points_table.learned_points_table` for the method.
    The hand-set grid is ``config.features.handset_points.weights``.
    """
    when = _when(config, as_of)
    predictor, features, masks = _prepare(
        config, as_of=when, target=target, model=model, tables=tables
    )
    out: dict[str, tuple[pd.DataFrame, str]] = {}
    for t, m in predictor.models.items():
        pop = features[masks[t]]
        if pop.empty:
            raise DataError(
                f"no customer is in the {t!r} population as of {when}; pass another --as-of"
            )
        table = points_table_bundle(
            m.bundle,
            pop,
            previous=(previous or {}).get(t),
            handset_weights=config.features.handset_points.weights,
            max_rows=max_rows,
            seed=config.model.seed,
        )
        out[t] = (table, m.label)
    return out


def training_artifacts(
    bundle: Any,
    features: pd.DataFrame,
    *,
    previous_points_table: pd.DataFrame | None = None,
    handset_weights: Mapping[str, float] | None = None,
    max_rows: int = 5000,
    seed: int = 0,
) -> dict[str, Any]:
    """Explanation artifacts of a freshly trained bundle, for MLflow.

    ``features``: the test slice (or any recent scored population) with the
    bundle's feature columns. Returns ``{file name: DataFrame | Figure}``, ready
    for ``mlscore.tracking.log_training(..., extra_artifacts=...)``: the learned
    points table (CSV, aggregates only — no customer rows) and its chart, the SHAP
    summary, the reason-group importance and the top dependence plots.
    """
    from mlscore.explain.plots import global_figures

    table = points_table_bundle(
        bundle,
        features,
        previous=previous_points_table,
        handset_weights=handset_weights,
        max_rows=max(max_rows, 20_000),
        seed=seed,
    )
    arts: dict[str, Any] = {
        "points_table.csv": table,
        "points_table.png": points_table_figure(
            table, title=f"Learned points vs the hand-set grid ({bundle.target})"
        ),
    }
    x = pd.DataFrame(bundle.matrix(features), columns=list(bundle.feature_names))
    for name, fig in global_figures(bundle.booster, x, max_rows=max_rows, seed=seed).items():
        arts[name] = fig
    return arts
