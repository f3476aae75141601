"""Fit one target's model on a stacked training set: split, LightGBM, calibrate, evaluate.

Time semantics: each row of the training set is a snapshot of one customer at a
cutoff ``c``; its features use events with ``timestamp < c`` and its label uses
events with ``c <= timestamp < c + horizon``. Cutoffs are split by time
(:func:`~mlscore.modeling.split.split_cutoffs`): the model is fitted on the
oldest cutoffs, early-stopped and calibrated on the validation cutoffs, and
reported on the newest (test) cutoff, together with the baselines on the very
same test rows. :func:`fit_target` never touches MLflow; :func:`train` (all targets, from the
canonical tables) logs each fit with :mod:`mlscore.tracking`, registers it and
applies the champion/challenger gate.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

import mlscore
from mlscore.config import ProjectConfig
from mlscore.data.tables import Tables
from mlscore.errors import ConfigError, InsufficientDataError
from mlscore.modeling.baselines import BASELINE_PREFIX, BaselineScore, baseline_scores
from mlscore.modeling.bundle import ScoringBundle, TierRule
from mlscore.modeling.calibration import select_calibrator
from mlscore.modeling.metrics import binary_metrics, decile_table
from mlscore.modeling.split import TimeSplit, as_timestamps, split_cutoffs, split_frame

__all__ = [
    "DEFAULT_PARAMS",
    "ID_COLUMNS",
    "FitResult",
    "TrainResult",
    "feature_spec_of",
    "fit_target",
    "lightgbm_params",
    "planned_cutoffs",
    "train",
]

log = logging.getLogger(__name__)

ID_COLUMNS = ("customer_id", "cutoff", "label")

#: LightGBM defaults (overridable by ``model.params``). No class re-weighting:
#: the model keeps the base rate and the calibrator fixes the probability scale.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "metric": ["binary_logloss", "auc"],
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "bagging_fraction": 1.0,
    "bagging_freq": 0,
    "lambda_l2": 1.0,
    "max_bin": 255,
    "verbose": -1,
}


@dataclass
class FitResult:
    """Everything learned and measured for one target (no MLflow involved).

    ``test_frame`` holds the test rows (features and label) in memory so that
    a champion model can be evaluated on exactly the same rows; it is never
    written to an artifact.
    """

    target: str
    bundle: ScoringBundle
    metrics: dict[str, float]
    split: TimeSplit
    decile_table: pd.DataFrame
    baseline_deciles: dict[str, pd.DataFrame]
    calibration_comparison: dict[str, dict[str, float]]
    importance: pd.DataFrame
    test_frame: pd.DataFrame
    input_example: pd.DataFrame
    kind_auc: dict[str, float] = field(default_factory=dict)


def feature_spec_of(training_set: pd.DataFrame, feature_spec: Any | None = None) -> dict[str, Any]:
    """The feature spec as a dict: given, attached to ``training_set.attrs``, or inferred.

    Inferred = every numeric column except ids, cutoff, label and ``baseline_*``.
    """
    spec = feature_spec if feature_spec is not None else training_set.attrs.get("feature_spec")
    if spec is not None:
        d = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
        if "feature_names" not in d:
            d["feature_names"] = list(spec.feature_names)
        if "categorical_features" not in d:
            d["categorical_features"] = list(getattr(spec, "categorical_features", []))
        return d
    names = [
        str(c)
        for c in training_set.columns
        if c not in ID_COLUMNS
        and not str(c).startswith(BASELINE_PREFIX)
        and pd.api.types.is_numeric_dtype(training_set[c])
        and not pd.api.types.is_bool_dtype(training_set[c])
    ]
    return {"feature_names": names, "categorical_features": []}


def lightgbm_params(config: ProjectConfig, *, kind: str, n_features: int) -> dict[str, Any]:
    """Final LightGBM parameters: defaults < ``model.params`` < determinism settings."""
    params = dict(DEFAULT_PARAMS)
    params.update(config.model.params)
    params.update(
        {
            "objective": "binary",
            "seed": config.model.seed,
            "deterministic": True,
            "num_threads": config.model.threads,
            "force_row_wise": True,
        }
    )
    params.pop("force_col_wise", None)
    if kind == "additive":
        params["interaction_constraints"] = [[i] for i in range(n_features)]
    elif kind == "gbdt":
        params.pop("interaction_constraints", None)
    return params


def _matrix(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    return np.asarray(
        frame[names]
        .apply(pd.to_numeric, errors="coerce")
        .to_numpy(dtype=np.float64, na_value=np.nan)
    )


def _fit_booster(
    params: dict[str, Any],
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    names: list[str],
    categorical: list[str],
    config: ProjectConfig,
) -> lgb.Booster:
    dtrain = lgb.Dataset(
        x_train,
        label=y_train,
        feature_name=names,
        categorical_feature=categorical or "auto",
        free_raw_data=False,
        params={"verbose": -1},
    )
    dvalid = lgb.Dataset(x_valid, label=y_valid, reference=dtrain)
    booster = lgb.train(
        params,
        dtrain,
        num_boost_round=config.model.num_boost_round,
        valid_sets=[dvalid],
        valid_names=["valid"],
        callbacks=[
            lgb.early_stopping(
                config.model.early_stopping_rounds, first_metric_only=True, verbose=False
            )
        ],
    )
    best = booster.best_iteration or booster.current_iteration()
    # keep exactly the trees used, so explainers and predictors see one model
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=best))


def _check_counts(
    name: str, frame: pd.DataFrame, target: str, config: ProjectConfig, cutoffs: tuple[Any, ...]
) -> tuple[int, int]:
    pos = int(frame["label"].sum())
    neg = int(len(frame) - pos)
    min_pos, min_neg = config.model.min_positives, config.model.min_negatives
    if pos < min_pos or neg < min_neg:
        span = f"{cutoffs[0].date()}..{cutoffs[-1].date()}" if cutoffs else "none"
        raise InsufficientDataError(
            f"target {target!r}: the {name} slice (cutoffs {span}) has {pos} positive(s) and "
            f"{neg} negative(s) in {len(frame)} rows; at least {min_pos} positives and "
            f"{min_neg} negatives are needed. Use a longer history (more cutoffs, "
            "`training.n_cutoffs`), a shorter horizon, a broader population, or lower the "
            "floors `model.min_positives` / `model.min_negatives`."
        )
    return pos, neg


def _tier_rule(config: ProjectConfig, target: str, p_population: np.ndarray) -> TierRule:
    policy = config.segments.tiers.get(target)
    if policy is None:
        from mlscore.config import TierPolicy

        policy = TierPolicy()
    if policy.method == "probability":
        thresholds = list(policy.cuts)
    else:
        thresholds = [float(np.quantile(p_population, q)) for q in policy.cuts]
    return TierRule(policy.labels, thresholds, method=policy.method, cuts=policy.cuts)


def _decile_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """A decile table as JSON-safe records (plain ints and floats)."""
    records: list[dict[str, Any]] = json.loads(table.to_json(orient="records"))
    return records


def _input_example(train: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Two synthetic rows (medians and 90th percentiles) with the training dtypes."""
    rows = {}
    for c in names:
        col = pd.to_numeric(train[c], errors="coerce")
        vals = [col.median(), col.quantile(0.9)]
        vals = [0.0 if pd.isna(v) else float(v) for v in vals]
        if pd.api.types.is_integer_dtype(train[c].dtype):
            rows[c] = np.asarray([round(v) for v in vals], dtype=train[c].dtype)
        else:
            rows[c] = np.asarray(vals, dtype=np.float64)
    return pd.DataFrame(rows)


def fit_target(
    training_set: pd.DataFrame,
    *,
    config: ProjectConfig,
    target: str,
    feature_spec: Any | None = None,
    rfm_segmenter: Any | None = None,
) -> FitResult:
    """Train, calibrate and evaluate one target's model on a stacked training set.

    Parameters
    ----------
    training_set
        Columns ``customer_id``, ``cutoff``, the model features, ``baseline_*``
        and ``label`` (0/1), one row per customer and cutoff.
    config
        The project config (``training``, ``model``, ``segments`` are used).
    target
        Name of the target in ``config.targets``.
    feature_spec
        The :class:`~mlscore.features.FeatureSpec` (default:
        ``training_set.attrs["feature_spec"]``, else numeric columns).
    rfm_segmenter
        An *unfitted* RFM segmenter; it is fitted on the training slice and
        frozen into the bundle. ``None``: no RFM baseline.

    Returns
    -------
    FitResult

    Raises
    ------
    InsufficientDataError
        Too few cutoffs, positives or negatives.
    """
    if target not in config.targets:
        raise ConfigError(f"unknown target {target!r}; configured: {sorted(config.targets)}")
    tcfg = config.targets[target]
    missing = [c for c in ID_COLUMNS if c not in training_set.columns]
    if missing:
        raise InsufficientDataError(f"training set lacks column(s) {missing}")
    spec = feature_spec_of(training_set, feature_spec)
    names = list(spec["feature_names"])
    if not names:
        raise InsufficientDataError("the training set has no feature columns")
    categorical = [c for c in spec.get("categorical_features", []) if c in names]

    split = split_cutoffs(
        training_set["cutoff"].unique(),
        horizon_days=tcfg.horizon_days,
        validation_cutoffs=config.training.validation_cutoffs,
        test_cutoffs=config.training.test_cutoffs,
        purge=config.training.purge,
    )
    train, valid, test = split_frame(training_set, split)
    train_pos, train_neg = _check_counts("train", train, target, config, split.train)
    test_pos, test_neg = _check_counts("test", test, target, config, split.test)
    valid_pos = int(valid["label"].sum())
    if valid_pos == 0 or valid_pos == len(valid):
        raise InsufficientDataError(
            f"target {target!r}: the validation slice ({len(valid)} rows) has {valid_pos} "
            "positive(s); early stopping and calibration need both classes. Use more "
            "validation cutoffs (`training.validation_cutoffs`) or a longer history."
        )

    x_tr, y_tr = _matrix(train, names), train["label"].to_numpy(np.float64)
    x_va, y_va = _matrix(valid, names), valid["label"].to_numpy(np.float64)
    x_te, y_te = _matrix(test, names), test["label"].to_numpy(np.float64)

    kinds = ["additive", "gbdt"] if config.model.kind == "auto" else [config.model.kind]
    boosters: dict[str, lgb.Booster] = {}
    kind_auc: dict[str, float] = {}
    for kind in kinds:
        params = lightgbm_params(config, kind=kind, n_features=len(names))
        boosters[kind] = _fit_booster(params, x_tr, y_tr, x_va, y_va, names, categorical, config)
        margin_va = boosters[kind].predict(x_va, raw_score=True)
        kind_auc[kind] = binary_metrics(y_va, margin_va, probabilities=False)["auc"]
    chosen = kinds[0]
    margin = config.model.auto_margin
    if config.model.kind == "auto" and kind_auc["gbdt"] > kind_auc["additive"] + margin:
        chosen = "gbdt"
    log.info("target %s: validation AUC by model kind %s; kept %s", target, kind_auc, chosen)
    booster = boosters[chosen]

    margin_va = np.asarray(booster.predict(x_va, raw_score=True), dtype=np.float64)
    groups = as_timestamps(valid["cutoff"]).to_numpy()
    calibrator, comparison = select_calibrator(
        margin_va, y_va, method=config.model.calibration, groups=groups
    )
    p_va = calibrator.predict(margin_va)
    p_te = calibrator.predict(np.asarray(booster.predict(x_te, raw_score=True), dtype=np.float64))

    metrics: dict[str, float] = {}
    metrics.update(binary_metrics(y_te, p_te, prefix="test_"))
    vm = binary_metrics(y_va, p_va, prefix="valid_")
    metrics.update({k: vm[k] for k in ("valid_auc", "valid_brier", "valid_log_loss", "valid_ece")})
    for kind, auc in kind_auc.items():
        metrics[f"valid_auc_{kind}"] = auc
    metrics["n_trees"] = float(booster.num_trees())
    metrics["n_features"] = float(len(names))
    for slice_name, frame in (("train", train), ("valid", valid), ("test", test)):
        metrics[f"{slice_name}_rows"] = float(len(frame))
        metrics[f"{slice_name}_positives"] = float(frame["label"].sum())
        metrics[f"{slice_name}_customers"] = float(frame["customer_id"].nunique())
    metrics["test_positive_rate"] = float(y_te.mean())

    segmenter = None
    if rfm_segmenter is not None:
        try:
            segmenter = rfm_segmenter.fit(train)
        except (KeyError, ValueError) as err:
            log.warning("RFM segmenter not fitted (%s); RFM baseline skipped", err)
            segmenter = None
    baselines: dict[str, BaselineScore] = baseline_scores(train, test, rfm_segmenter=segmenter)
    baseline_deciles: dict[str, pd.DataFrame] = {}
    for name, b in baselines.items():
        bm = binary_metrics(y_te, b.test, prefix=f"baseline_{name}_test_", probabilities=False)
        metrics.update(bm)
        metrics[f"baseline_{name}_flipped"] = float(b.flipped)
        baseline_deciles[name] = decile_table(y_te, b.test, probabilities=False)

    deciles = decile_table(y_te, p_te)
    gain = booster.feature_importance(importance_type="gain")
    splits = booster.feature_importance(importance_type="split")
    importance = (
        pd.DataFrame({"feature": names, "gain": gain, "splits": splits})
        .sort_values(["gain", "feature"], ascending=[False, True])
        .reset_index(drop=True)
    )

    population = np.concatenate([p_va, p_te])
    tiers = _tier_rule(config, target, population)
    cutoffs_all = sorted({*split.train, *split.validation, *split.test})
    horizon = pd.Timedelta(days=tcfg.horizon_days)
    metadata: dict[str, Any] = {
        "target": target,
        "model_kind": chosen,
        "valid_auc_by_kind": kind_auc,
        "calibration": calibrator.method,
        "calibration_comparison": comparison,
        "split": split.to_dict(),
        "data_window": {
            "first_cutoff": cutoffs_all[0].isoformat(),
            "last_cutoff": cutoffs_all[-1].isoformat(),
            "label_end": (cutoffs_all[-1] + horizon).isoformat(),
        },
        "counts": {
            "train": {"rows": len(train), "positives": train_pos, "negatives": train_neg},
            "validation": {
                "rows": len(valid),
                "positives": valid_pos,
                "negatives": len(valid) - valid_pos,
            },
            "test": {"rows": len(test), "positives": test_pos, "negatives": test_neg},
        },
        "metrics": metrics,
        # aggregates per score decile on the test cutoff (no customer rows): the
        # report's lift and calibration charts read them from the bundle
        "deciles": _decile_records(deciles),
        "baseline_deciles": {n: _decile_records(d) for n, d in baseline_deciles.items()},
        "baseline_orientation": {
            n: {"flipped": b.flipped, "train_auc": b.train_auc} for n, b in baselines.items()
        },
        "lightgbm_params": {
            k: v
            for k, v in lightgbm_params(config, kind=chosen, n_features=len(names)).items()
            if k != "interaction_constraints"
        },
        "mlscore_version": mlscore.__version__,
        "lightgbm_version": lgb.__version__,
        "trained_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }
    bundle = ScoringBundle(
        target=target,
        target_config=tcfg.model_dump(mode="json"),
        feature_spec=spec,
        booster=booster,
        calibrator=calibrator,
        tiers=tiers,
        metadata=metadata,
        config=config.model_dump(mode="json"),
        rfm_segmenter=segmenter,
    )
    keep = [c for c in test.columns if c in names or c in ("label", "cutoff")]
    return FitResult(
        target=target,
        bundle=bundle,
        metrics=metrics,
        split=split,
        decile_table=deciles,
        baseline_deciles=baseline_deciles,
        calibration_comparison=comparison,
        importance=importance,
        test_frame=test[keep].reset_index(drop=True),
        input_example=_input_example(train, names),
        kind_auc=kind_auc,
    )


@dataclass
class TrainResult:
    """One target's training: the fit, and (when tracked) the run and gate decision."""

    fit: FitResult
    run: Any | None = None  # mlscore.tracking.TrackedRun

    @property
    def target(self) -> str:
        return self.fit.target

    @property
    def bundle(self) -> ScoringBundle:
        return self.fit.bundle

    @property
    def metrics(self) -> dict[str, float]:
        return self.fit.metrics

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else str(self.run.run_id)

    @property
    def version(self) -> str | None:
        return None if self.run is None else str(self.run.version)

    @property
    def gate(self) -> Any | None:
        return None if self.run is None else self.run.gate


def _explain_artifacts(fit: FitResult, config: ProjectConfig) -> dict[str, Any]:
    """Learned points table (vs the previous champion's) and global explanation plots.

    Aggregates only (points per event type, plots); computed on the test slice.
    """
    try:
        from mlscore.explain.service import training_artifacts
    except ImportError:
        return {}
    previous = None
    try:
        from mlscore import tracking

        previous = tracking.champion_table(config, fit.target, "points_table.csv")
    except Exception as err:  # no registry yet, or no table logged
        log.info("no previous points table: %s", err)
    try:
        return dict(
            training_artifacts(
                fit.bundle,
                fit.test_frame,
                previous_points_table=previous,
                handset_weights=config.features.handset_points.weights,
                seed=config.model.seed,
            )
        )
    except Exception as err:  # explanations must never block a retraining
        log.warning("explanation artifacts not logged: %s", err)
        return {}


def planned_cutoffs(tables: Tables, *, config: ProjectConfig, target: str) -> list[int]:
    """Training cutoffs (epoch seconds, oldest first) of one target.

    Starts from :func:`mlscore.features.plan_cutoffs` (matured cutoffs every
    ``training.every_days`` back from the newest). With ``training.purge`` the
    purged split drops the cutoffs whose label windows reach into the next
    slice; the plan is then extended backwards, same spacing, until
    ``training.n_cutoffs`` cutoffs are *used* (train + validation + test), or
    the history (first event, ``training.first_cutoff``) runs out.
    """
    from mlscore.features import plan_cutoffs

    base = sorted(int(c) for c in plan_cutoffs(tables, config, target))
    tr = config.training
    if not tr.purge or len(base) < 2:
        return base
    horizon = config.targets[target].horizon_days
    step = tr.every_days * 86_400
    first_ts = tables.min_ts() if hasattr(tables, "min_ts") else None
    oldest = None
    if tr.first_cutoff is not None:
        oldest = int(pd.Timestamp(tr.first_cutoff).tz_localize("UTC").timestamp())

    def used(cs: list[int]) -> int:
        try:
            s = split_cutoffs(
                pd.to_datetime(cs, unit="s"),
                horizon_days=horizon,
                validation_cutoffs=tr.validation_cutoffs,
                test_cutoffs=tr.test_cutoffs,
                purge=True,
            )
        except InsufficientDataError:
            return 0
        return len(s.train) + len(s.validation) + len(s.test)

    cs = list(base)
    for _ in range(10 * tr.n_cutoffs):
        if used(cs) >= tr.n_cutoffs:
            break
        c = cs[0] - step
        if (first_ts is not None and c <= first_ts) or (oldest is not None and c < oldest):
            break
        cs.insert(0, c)
    if len(cs) > len(base):
        log.info(
            "target %s: %d cutoffs planned so that the purged split uses %d",
            target,
            len(cs),
            used(cs),
        )
    return cs


def train(
    tables: Tables,
    *,
    config: ProjectConfig,
    target: str | None = None,
    track: bool = True,
) -> list[TrainResult]:
    """Train every configured target (or one), tracked and gated in MLflow.

    Parameters
    ----------
    tables
        Canonical tables (:func:`mlscore.data.load_tables`).
    config
        The project config.
    target
        Only this target (default: all of ``config.targets``).
    track
        Log to MLflow, register and apply the champion/challenger gate.

    Returns
    -------
    list of TrainResult
    """
    from mlscore.features import RFMSegmenter, build_training_set

    if target is not None and target not in config.targets:
        raise ConfigError(f"unknown target {target!r}; configured: {sorted(config.targets)}")
    names = [target] if target is not None else list(config.targets)
    has_tx = tables.transactions is not None and not tables.transactions.empty
    out = []
    for name in names:
        cutoffs = planned_cutoffs(tables, config=config, target=name)
        training_set = build_training_set(tables, config=config, target=name, cutoffs=cutoffs)
        log.info("target %s: training set of %d rows", name, len(training_set))
        fit = fit_target(
            training_set,
            config=config,
            target=name,
            rfm_segmenter=RFMSegmenter() if has_tx else None,
        )
        run = None
        if track:
            from mlscore import tracking

            extra = _explain_artifacts(fit, config)
            run = tracking.log_training(fit, config=config, extra_artifacts=extra)
        out.append(TrainResult(fit=fit, run=run))
    return out
