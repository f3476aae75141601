"""MLflow tracking and the champion/challenger registry (the only module importing mlflow).

Every retraining of a target is one MLflow run that logs the flattened config,
the data window and cutoffs, row and positive counts, every metric (model and
baselines, stable names), calibration / lift / importance plots, aggregate
per-decile tables (no customer ids), the full config YAML and ONE pyfunc model
wrapping the :class:`~mlscore.modeling.bundle.ScoringBundle`, whose
``predict(features)`` returns ``p_<target>``, ``score_<target>`` (0-100) and
``tier_<target>``.

Each run is registered as a new version of ``<registry_prefix>-<target>``. The
current ``champion`` is evaluated on the same test-cutoff rows as the new
version; the ``champion`` alias moves only if the challenger's AUC is at least
the champion's minus ``model.promotion.max_auc_drop`` and its log loss is lower
than the champion's minus ``model.promotion.min_log_loss_gain``. Otherwise the
new version gets the ``challenger`` alias and the reason as a tag. The
succession of champions is kept in the registered-model tag
``mlscore.champion_history`` (JSON list of versions) so that :func:`rollback`
can restore the previous one.

The tracking URI is ``config.tracking.resolved_uri()`` (``MLFLOW_TRACKING_URI``
wins; default ``sqlite:///<cwd>/mlflow.db``), always set explicitly so a stray
``./mlruns`` folder never matters.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import yaml
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel
from mlflow.tracking import MlflowClient

from mlscore.config import ProjectConfig
from mlscore.errors import IncompatibleModelError, ModelNotFoundError, TrackingError
from mlscore.modeling.bundle import ScoringBundle
from mlscore.modeling.metrics import binary_metrics

__all__ = [
    "BundleModel",
    "GateDecision",
    "TrackedRun",
    "champion_table",
    "configure",
    "export_model",
    "load_champion_bundle",
    "load_version_bundle",
    "log_training",
    "model_name",
    "promote",
    "rollback",
]

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_TAG = "mlscore.champion_history"
_PKG_DIR = Path(__file__).resolve().parent
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


class _DropKnownNoise(logging.Filter):
    """Drop MLflow notices that do not apply to the scoring bundle.

    The bundle is an instance of a class shipped in ``code_paths`` (not an
    arbitrary pickle), and its signature is declared explicitly.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "CloudPickle" not in record.getMessage()


logging.getLogger("mlflow.pyfunc").addFilter(_DropKnownNoise())
# the explicit signature is the contract (integer counts stay integers)
warnings.filterwarnings("ignore", message=r"(?s).*Inferred schema contains integer column")
warnings.filterwarnings("ignore", message=r"(?s).*Add type hints to the `predict` method")


# ------------------------------------------------------------------ pyfunc model


class BundleModel(PythonModel):
    """MLflow pyfunc wrapper of a scoring bundle (artifact ``bundle`` = its directory).

    ``predict(features_df)`` returns a DataFrame with ``p_<target>`` (calibrated
    probability), ``score_<target>`` (100 x p) and ``tier_<target>``.
    """

    bundle: ScoringBundle | None = None
    # the logged signature validates inputs; predict() needs no type-hint validation
    _skip_type_hint_validation = True

    def load_context(self, context: Any) -> None:
        self.bundle = ScoringBundle.load(context.artifacts["bundle"])

    # no type hints on purpose: MLflow would try (and fail) to derive a schema from them;
    # the signature logged with the model is the contract
    def predict(self, context, model_input, params=None):
        if self.bundle is None:
            self.load_context(context)
        assert self.bundle is not None
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        p = self.bundle.predict_proba(frame)
        t = self.bundle.target
        return pd.DataFrame(
            {
                f"p_{t}": p,
                f"score_{t}": self.bundle.score(p),
                f"tier_{t}": self.bundle.tier(p).astype(str),
            },
            index=frame.index,
        )


# ------------------------------------------------------------------- plumbing


def model_name(config: ProjectConfig, target: str) -> str:
    """Registered model name of a target: ``<registry_prefix>-<target>``."""
    return f"{config.tracking.registry_prefix}-{target}"


def configure(config: ProjectConfig) -> MlflowClient:
    """Point MLflow at the configured store (explicitly) and return a client."""
    uri = config.tracking.resolved_uri()
    # mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI, which would then win over
    # every later config in this process: keep the environment as the user set it
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _experiment_id(client: MlflowClient, config: ProjectConfig) -> str:
    name = config.tracking.experiment
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return str(exp.experiment_id)
    uri = config.tracking.resolved_uri()
    location = None
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///") :])
        location = (db.parent / "mlartifacts").resolve().as_uri()
    return str(client.create_experiment(name, artifact_location=location))


@contextlib.contextmanager
def _mlflow_errors(what: str) -> Iterator[None]:
    try:
        yield
    except MlflowException as err:
        raise TrackingError(f"MLflow failed to {what}: {err.message}") from None


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(_flatten(v, f"{key}."))
        else:
            text = json.dumps(v, default=str) if not isinstance(v, str) else v
            out[key] = text[:500]
    return out


def _pip_requirements() -> list[str]:
    reqs = []
    for dist in (
        "lightgbm",
        "pandas",
        "numpy",
        "scikit-learn",
        "joblib",
        "pydantic",
        "pyyaml",
        "pyarrow",
    ):
        try:
            reqs.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            reqs.append(dist)
    return reqs


def _bundle_dir_in(root: Path) -> Path:
    hits = sorted(p.parent for p in root.rglob("bundle.json") if (p.parent / "model.txt").is_file())
    if not hits:
        raise ModelNotFoundError(f"no scoring bundle found in the model artifacts at {root}")
    return hits[0]


def _download_bundle(client: MlflowClient, name: str, version: str) -> ScoringBundle:
    with tempfile.TemporaryDirectory(prefix="mlscore-model-") as tmp:
        with _mlflow_errors(f"download model {name} version {version}"):
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{version}", dst_path=tmp
            )
        return ScoringBundle.load(_bundle_dir_in(Path(local)))


def _alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def _history(client: MlflowClient, name: str) -> list[str]:
    try:
        rm = client.get_registered_model(name)
    except MlflowException:
        return []
    raw = rm.tags.get(HISTORY_TAG)
    return [str(v) for v in json.loads(raw)] if raw else []


def _set_champion(client: MlflowClient, name: str, version: str, reason: str) -> None:
    history = _history(client, name)
    if not history or history[-1] != version:
        history.append(version)
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history))
    client.set_model_version_tag(name, version, "mlscore.role", CHAMPION)
    client.set_model_version_tag(name, version, "mlscore.gate", reason[:5000])
    if _alias_version(client, name, CHALLENGER) == version:
        client.delete_registered_model_alias(name, CHALLENGER)


# ------------------------------------------------------------------------ gate


@dataclass
class GateDecision:
    """Outcome of the champion/challenger comparison on the same test rows."""

    promoted: bool
    reason: str
    challenger_version: str
    champion_version: str | None = None
    challenger_metrics: dict[str, float] = field(default_factory=dict)
    champion_metrics: dict[str, float] = field(default_factory=dict)


def _decide(
    challenger: ScoringBundle,
    champion: ScoringBundle | None,
    champion_version: str | None,
    test_frame: pd.DataFrame,
    config: ProjectConfig,
    version: str,
) -> GateDecision:
    y = test_frame["label"].to_numpy(np.float64)
    ch = binary_metrics(y, challenger.predict_proba(test_frame))
    ch_m = {"auc": ch["auc"], "log_loss": ch["log_loss"], "brier": ch["brier"]}
    if champion is None:
        first = "first model of this target: becomes champion"
        return GateDecision(True, first, version, None, ch_m)
    try:
        cm = binary_metrics(y, champion.predict_proba(test_frame))
    except IncompatibleModelError as err:
        return GateDecision(
            True,
            f"champion v{champion_version} cannot score the current features ({err}); "
            "challenger promoted",
            version,
            champion_version,
            ch_m,
        )
    cm_m = {"auc": cm["auc"], "log_loss": cm["log_loss"], "brier": cm["brier"]}
    rule = config.model.promotion
    auc_ok = ch_m["auc"] >= cm_m["auc"] - rule.max_auc_drop
    ll_ok = ch_m["log_loss"] < cm_m["log_loss"] - rule.min_log_loss_gain
    cmp = (
        f"on the same {len(y)} test rows: AUC {ch_m['auc']:.4f} vs {cm_m['auc']:.4f} "
        f"(allowed drop {rule.max_auc_drop}), log loss {ch_m['log_loss']:.4f} vs "
        f"{cm_m['log_loss']:.4f} (required gain > {rule.min_log_loss_gain})"
    )
    if auc_ok and ll_ok:
        reason = f"challenger v{version} beats champion v{champion_version} {cmp}"
    else:
        failed = [w for w, ok in (("AUC", auc_ok), ("log loss", ll_ok)) if not ok]
        reason = (
            f"challenger v{version} does not beat champion v{champion_version} on "
            f"{' and '.join(failed)} {cmp}"
        )
    return GateDecision(auc_ok and ll_ok, reason, version, champion_version, ch_m, cm_m)


# ------------------------------------------------------------------------ runs


@dataclass
class TrackedRun:
    """What :func:`log_training` did: run, registered version and gate decision."""

    run_id: str
    model_name: str
    version: str
    model_uri: str
    gate: GateDecision


def _signature(result: Any, bundle: ScoringBundle) -> Any:
    from mlflow.models import infer_signature

    example = result.input_example
    p = bundle.predict_proba(example)
    out = pd.DataFrame(
        {
            f"p_{bundle.target}": p,
            f"score_{bundle.target}": bundle.score(p),
            f"tier_{bundle.target}": bundle.tier(p).astype(str),
        }
    )
    return infer_signature(example, out)


def log_training(
    result: Any,
    *,
    config: ProjectConfig,
    extra_artifacts: Mapping[str, Any] | None = None,
    register: bool = True,
) -> TrackedRun:
    """Log one fitted target as an MLflow run, register it and apply the gate.

    Parameters
    ----------
    result
        A :class:`~mlscore.modeling.train.FitResult`.
    config
        The project config (tracking, promotion rule, and logged as YAML).
    extra_artifacts
        More artifacts by file name: a DataFrame is logged as CSV (must hold
        aggregates only), a matplotlib figure as an image, a string as text.
    register
        Register the model and run the champion/challenger gate.
    """
    from mlscore.modeling.plots import calibration_figure, importance_figure, lift_figure

    client = configure(config)
    target = result.target
    bundle: ScoringBundle = result.bundle
    name = model_name(config, target)
    with _mlflow_errors("reach the tracking store"):
        exp_id = _experiment_id(client, config)
    md = bundle.metadata
    with _mlflow_errors("log the training run"), tempfile.TemporaryDirectory() as tmp:
        run_name = f"{target}-{md.get('trained_at', '')}"
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name) as run:
            run_id = run.info.run_id
            mlflow.set_tags(
                {
                    "mlscore.target": target,
                    "mlscore.version": md.get("mlscore_version", ""),
                    "mlscore.model_kind": md.get("model_kind", ""),
                    "mlscore.calibration": bundle.calibrator.method,
                    "mlscore.test_cutoff": ",".join(md["split"]["test"]),
                }
            )
            params = _flatten(config.model_dump(mode="json"))
            params.update(
                {
                    "target": target,
                    "model_kind": str(md.get("model_kind")),
                    "calibration_method": bundle.calibrator.method,
                    "data.first_cutoff": md["data_window"]["first_cutoff"],
                    "data.last_cutoff": md["data_window"]["last_cutoff"],
                    "data.label_end": md["data_window"]["label_end"],
                    "split.train_cutoffs": ",".join(md["split"]["train"])[:500],
                    "split.validation_cutoffs": ",".join(md["split"]["validation"]),
                    "split.test_cutoffs": ",".join(md["split"]["test"]),
                    "split.purged_cutoffs": ",".join(md["split"]["purged"])[:500] or "none",
                    "n_features": str(len(bundle.feature_names)),
                }
            )
            mlflow.log_params(params)
            mlflow.log_metrics(
                {k: float(v) for k, v in result.metrics.items() if v is not None and np.isfinite(v)}
            )
            mlflow.log_text(
                yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), "config.yaml"
            )
            mlflow.log_dict(md["split"], "split.json")
            mlflow.log_dict(result.calibration_comparison, "calibration_comparison.json")
            deciles = [result.decile_table.assign(score="model")]
            deciles += [t.assign(score=f"baseline_{n}") for n, t in result.baseline_deciles.items()]
            dec_path = Path(tmp) / "metrics_by_decile.csv"
            pd.concat(deciles, ignore_index=True).to_csv(dec_path, index=False)
            mlflow.log_artifact(str(dec_path))
            imp_path = Path(tmp) / "feature_importance.csv"
            result.importance.to_csv(imp_path, index=False)
            mlflow.log_artifact(str(imp_path))
            for fname, fig in (
                ("calibration.png", calibration_figure(result)),
                ("lift_by_decile.png", lift_figure(result)),
                ("feature_importance.png", importance_figure(result)),
            ):
                mlflow.log_figure(fig, f"plots/{fname}")
                _close(fig)
            for fname, obj in (extra_artifacts or {}).items():
                _log_extra(fname, obj, Path(tmp))
            bundle_dir = bundle.save(Path(tmp) / "bundle")
            with warnings.catch_warnings():
                # the signature is the contract; predict() has no type hints on purpose
                warnings.filterwarnings("ignore", message=r"(?s).*[Tt]ype hint")
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=BundleModel(),
                    artifacts={"bundle": str(bundle_dir)},
                    signature=_signature(result, bundle),
                    input_example=result.input_example,
                    pip_requirements=_pip_requirements(),
                    code_paths=[str(_PKG_DIR)],
                    registered_model_name=name if register else None,
                )
    if not register:
        gate = GateDecision(False, "not registered", "")
        return TrackedRun(run_id, name, "", info.model_uri, gate)
    version = str(info.registered_model_version)
    with _mlflow_errors(f"evaluate the champion of {name}"):
        champ_version = _alias_version(client, name, CHAMPION)
        champion = _download_bundle(client, name, champ_version) if champ_version else None
        gate = _decide(bundle, champion, champ_version, result.test_frame, config, version)
        client.set_model_version_tag(name, version, "mlscore.run_id", run_id)
        auc = str(result.metrics["test_auc"])
        client.set_model_version_tag(name, version, "mlscore.test_auc", auc)
        if gate.promoted:
            _set_champion(client, name, version, gate.reason)
        else:
            client.set_registered_model_alias(name, CHALLENGER, version)
            client.set_model_version_tag(name, version, "mlscore.role", CHALLENGER)
            client.set_model_version_tag(name, version, "mlscore.gate", gate.reason[:5000])
        client.set_tag(run_id, "mlscore.gate", gate.reason[:5000])
        client.set_tag(run_id, "mlscore.promoted", str(gate.promoted).lower())
        if gate.champion_metrics:
            client.log_metric(run_id, "champion_test_auc", gate.champion_metrics["auc"])
            client.log_metric(run_id, "champion_test_log_loss", gate.champion_metrics["log_loss"])
    log.info("%s v%s: %s", name, version, gate.reason)
    return TrackedRun(run_id, name, version, f"models:/{name}/{version}", gate)


def _close(fig: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


def _log_extra(fname: str, obj: Any, tmp: Path) -> None:
    if isinstance(obj, pd.DataFrame):
        path = tmp / "extra" / fname
        path.parent.mkdir(parents=True, exist_ok=True)
        obj.to_csv(path, index=False)
        parent = str(Path(fname).parent)
        mlflow.log_artifact(str(path), artifact_path=None if parent == "." else parent)
    elif isinstance(obj, str):
        mlflow.log_text(obj, fname)
    elif hasattr(obj, "savefig"):
        mlflow.log_figure(obj, fname)
        _close(obj)
    else:
        mlflow.log_dict(obj, fname)


# -------------------------------------------------------------- registry ops


def load_version_bundle(config: ProjectConfig, target: str, version: str) -> ScoringBundle:
    """The scoring bundle of one registered version."""
    client = configure(config)
    name = model_name(config, target)
    try:
        client.get_model_version(name, str(version))
    except MlflowException:
        raise ModelNotFoundError(
            f"registered model {name!r} has no version {version}; list versions in the MLflow "
            "UI or train first (`mlscore train`)"
        ) from None
    return _download_bundle(client, name, str(version))


def champion_table(config: ProjectConfig, target: str, artifact: str) -> pd.DataFrame | None:
    """A CSV artifact (e.g. ``points_table.csv``) of the current champion's run, or None."""
    client = configure(config)
    name = model_name(config, target)
    version = _alias_version(client, name, CHAMPION)
    if version is None:
        return None
    run_id = client.get_model_version(name, version).tags.get("mlscore.run_id")
    if not run_id:
        return None
    with tempfile.TemporaryDirectory(prefix="mlscore-art-") as tmp:
        try:
            path = client.download_artifacts(run_id, artifact, tmp)
        except (MlflowException, OSError):
            return None
        return pd.read_csv(path)


def load_champion_bundle(config: ProjectConfig, target: str) -> tuple[ScoringBundle, str]:
    """The champion's scoring bundle of a target and its version."""
    client = configure(config)
    name = model_name(config, target)
    version = _alias_version(client, name, CHAMPION)
    if version is None:
        raise ModelNotFoundError(
            f"no champion for {name!r} in the registry at {config.tracking.resolved_uri()}; "
            "train one with `mlscore train --config C` (or set MLFLOW_TRACKING_URI)"
        )
    return _download_bundle(client, name, version), version


def promote(config: ProjectConfig, target: str, version: str | int) -> str:
    """Make ``version`` the champion of ``target`` (a human decision); returns a message."""
    client = configure(config)
    name = model_name(config, target)
    version = str(version)
    try:
        client.get_model_version(name, version)
    except MlflowException:
        raise ModelNotFoundError(f"registered model {name!r} has no version {version}") from None
    before = _alias_version(client, name, CHAMPION)
    with _mlflow_errors(f"promote {name} v{version}"):
        _set_champion(client, name, version, "promoted by hand")
    return f"{name}: champion v{before} -> v{version}" if before else f"{name}: champion v{version}"


def rollback(config: ProjectConfig, target: str) -> str:
    """Give the champion alias back to the previous champion; returns a message."""
    client = configure(config)
    name = model_name(config, target)
    history = _history(client, name)
    current = _alias_version(client, name, CHAMPION)
    if current is None:
        raise ModelNotFoundError(f"no champion for {name!r}: nothing to roll back")
    if current in history:
        history = history[: len(history) - 1 - history[::-1].index(current)]
    previous = history[-1] if history else None
    if previous is None:
        raise ModelNotFoundError(
            f"{name}: champion v{current} has no previous champion to roll back to; "
            "use `mlscore promote --version V` to choose a version"
        )
    with _mlflow_errors(f"roll back {name}"):
        client.set_registered_model_alias(name, CHAMPION, previous)
        client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history))
        client.set_model_version_tag(name, current, "mlscore.role", "rolled_back")
        client.set_model_version_tag(name, previous, "mlscore.role", CHAMPION)
    return f"{name}: champion v{current} -> v{previous} (rolled back)"


def export_model(config: ProjectConfig, target: str, out: str | Path) -> tuple[Path, str]:
    """Write the champion's bundle directory to ``out``; returns (path, version)."""
    bundle, version = load_champion_bundle(config, target)
    bundle.metadata.setdefault("registry", {})
    bundle.metadata["registry"] = {"model_name": model_name(config, target), "version": version}
    path = bundle.save(out)
    shutil.rmtree(Path(out) / "__pycache__", ignore_errors=True)
    return path, version
