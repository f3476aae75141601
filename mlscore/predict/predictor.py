"""The :class:`Predictor`: load each target's scoring bundle once, score DataFrames.

Time semantics: scoring "as of" a date ``as_of`` uses features built from
events with ``timestamp < as_of`` (midnight UTC of that date, the cutoff); no
event on or after ``as_of`` is read. A customer is *eligible* when they are in
at least one target's population at that cutoff; a customer outside one
target's population gets missing values (NaN) in that target's columns.

Everything a row gets (probability, score, tier, segment, action, reasons)
depends only on that row's features and on what is frozen in the bundles or
fixed by the config, so the output for a customer does not depend on the batch
it is scored in.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlscore.config import ProjectConfig, SegmentConfig
from mlscore.errors import IncompatibleModelError, ModelNotFoundError
from mlscore.predict.segments import (
    TargetTiers,
    combined_segment,
    engagement_tier,
    next_action,
    target_kind,
)

__all__ = [
    "HANDSET_COLUMN",
    "LoadedModel",
    "Predictor",
    "load_models",
    "output_columns",
    "reasons_text",
    "to_as_of",
]

log = logging.getLogger(__name__)

#: Column of the feature frame holding the hand-set points baseline.
HANDSET_COLUMN = "baseline_handset_points"
_BUNDLE_FILE = "bundle.json"
_REGISTRY_SCHEMES = ("models:/", "runs:/")


# ------------------------------------------------------------------- loading


@dataclass(frozen=True)
class LoadedModel:
    """One target's scoring bundle and how it is named in the output.

    ``label`` is ``mlscore-conversion@champion v3`` for a registry model,
    ``local:models/conversion`` for a bundle directory, ``python:<target>`` for
    a bundle object passed in memory.
    """

    target: str
    bundle: Any
    label: str

    @property
    def kind(self) -> str:
        return target_kind(self.bundle)


def _bundle_target(bundle: Any) -> str:
    name = getattr(bundle, "target_name", None) or getattr(bundle, "target", None)
    if not isinstance(name, str):
        name = getattr(bundle, "metadata", {}).get("target")
    if not isinstance(name, str):
        raise ModelNotFoundError(f"cannot tell which target the model {bundle!r} scores")
    return name


def _is_bundle(obj: Any) -> bool:
    return hasattr(obj, "predict_proba") and hasattr(obj, "tier")


def _parse_registry_uri(uri: str, config: ProjectConfig) -> tuple[str, str | None, str | None]:
    """``models:/<prefix>-<target>@<alias>`` or ``models:/<prefix>-<target>/<version>``
    → (target, alias, version)."""
    body = uri.removeprefix("models:/")
    alias = version = None
    if "@" in body:
        name, alias = body.split("@", 1)
    elif "/" in body:
        name, version = body.split("/", 1)
    else:
        name, alias = body, "champion"
    prefix = f"{config.tracking.registry_prefix}-"
    if not uri.startswith("models:/") or not name.startswith(prefix):
        raise ModelNotFoundError(
            f"cannot read the model URI {uri!r}; expected models:/{prefix}<target>@champion "
            f"or models:/{prefix}<target>/<version>, or a local bundle directory"
        )
    return name.removeprefix(prefix), alias, version


def _load_registry(uri: str, config: ProjectConfig | None) -> tuple[Any, str]:
    """Load a bundle from the MLflow registry through :mod:`mlscore.tracking`.

    Returns the bundle and its label (``mlscore-conversion@champion v3``).
    """
    if config is None:
        raise ModelNotFoundError(f"loading {uri!r} from the registry needs the project config")
    target, alias, version = _parse_registry_uri(uri, config)
    from mlscore import tracking  # the only module that imports mlflow

    name = tracking.model_name(config, target)
    if version is not None:
        return tracking.load_version_bundle(config, target, version), f"{name} v{version}"
    if alias != "champion":
        raise ModelNotFoundError(
            f"only the `champion` alias or a version number can be scored; got {uri!r} "
            f"(use models:/{name}/<version>)"
        )
    bundle, v = tracking.load_champion_bundle(config, target)
    return bundle, f"{name}@champion v{v}"


def _local_label(path: Path, bundle: Any) -> str:
    reg = (getattr(bundle, "metadata", {}) or {}).get("registry") or {}
    label = f"local:{path.as_posix()}"
    if isinstance(reg, Mapping) and reg.get("model_name") and reg.get("version") is not None:
        label += f" ({reg['model_name']} v{reg['version']})"
    return label


def _load_path(path: Path) -> list[tuple[Path, Any]]:
    from mlscore.modeling.bundle import ScoringBundle

    if (path / _BUNDLE_FILE).is_file():
        return [(path, ScoringBundle.load(path))]
    if path.is_dir():
        subs = sorted(p for p in path.iterdir() if (p / _BUNDLE_FILE).is_file())
        if subs:
            return [(p, ScoringBundle.load(p)) for p in subs]
    raise ModelNotFoundError(
        f"no scoring bundle at {str(path)!r} (expected {_BUNDLE_FILE} in it or in its "
        "sub-folders); write one with `mlscore export-model`, or pass a registry URI "
        "such as models:/mlscore-conversion@champion"
    )


def load_models(
    model: Any = None,
    *,
    config: ProjectConfig | None = None,
    targets: Sequence[str] | None = None,
) -> dict[str, LoadedModel]:
    """Load the scoring bundle of each target, once.

    Parameters
    ----------
    model
        ``None`` (each target's registry champion,
        ``models:/<registry_prefix>-<target>@champion``), a registry URI, a
        bundle directory (or a folder of bundle directories), a bundle object,
        or a mapping / sequence of those.
    config
        Project config (targets, registry prefix). Needed when ``model`` is
        ``None``.
    targets
        Keep only these targets (error if one is missing).

    Returns
    -------
    dict
        ``{target: LoadedModel}`` in config target order (else load order).

    Raises
    ------
    ModelNotFoundError
        No model at the URI or path, or a requested target has no model.
    """
    sources: list[Any]
    if model is None:
        if config is None:
            raise ModelNotFoundError("no model given and no config to find registry models")
        wanted = list(targets) if targets else list(config.targets)
        prefix = config.tracking.registry_prefix
        sources = [f"models:/{prefix}-{t}@champion" for t in wanted]
    elif isinstance(model, Mapping):
        sources = list(model.values())
    elif isinstance(model, (list, tuple)):
        sources = list(model)
    else:
        sources = [model]

    loaded: dict[str, LoadedModel] = {}
    for src in sources:
        if _is_bundle(src):
            pairs = [(src, f"python:{_bundle_target(src)}")]
        elif isinstance(src, str) and src.startswith(_REGISTRY_SCHEMES):
            pairs = [_load_registry(src, config)]
        elif isinstance(src, (str, os.PathLike)):
            pairs = [(b, _local_label(p, b)) for p, b in _load_path(Path(src))]
        else:
            raise ModelNotFoundError(f"cannot load a model from {src!r}")
        for b, label in pairs:
            name = _bundle_target(b)
            if targets and name not in targets:
                continue
            loaded[name] = LoadedModel(target=name, bundle=b, label=label)
    if targets:
        missing = [t for t in targets if t not in loaded]
        if missing:
            raise ModelNotFoundError(
                f"no model for target(s) {missing}; models found for {sorted(loaded)}"
            )
    if not loaded:
        raise ModelNotFoundError(f"no scoring bundle found in {model!r}")
    order = list(config.targets) if config is not None else []
    ranked = sorted(loaded, key=lambda t: (order.index(t) if t in order else len(order), t))
    return {t: loaded[t] for t in ranked}


# ------------------------------------------------------------------- helpers


def to_as_of(as_of: Any) -> pd.Timestamp:
    """The run date as a naive midnight timestamp (the features' cutoff, UTC).

    Examples
    --------
    >>> to_as_of("2026-03-01")
    Timestamp('2026-03-01 00:00:00')
    """
    if as_of is None:
        as_of = dt.datetime.now(dt.UTC).date()
    t = pd.Timestamp(as_of)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t.normalize().as_unit("ns")


def output_columns(targets: Sequence[str], *, with_reasons: bool) -> list[str]:
    """The predictions file's columns, in order.

    Examples
    --------
    >>> output_columns(["conversion"], with_reasons=False)  # doctest: +NORMALIZE_WHITESPACE
    ['customer_id', 'as_of', 'p_conversion', 'score_conversion', 'tier_conversion',
     'segment', 'engagement_tier', 'rfm_segment', 'next_action', 'model_conversion']
    """
    cols = ["customer_id", "as_of"]
    for t in targets:
        cols += [f"p_{t}", f"score_{t}", f"tier_{t}"]
    cols += ["segment", "engagement_tier", "rfm_segment", "next_action"]
    if with_reasons:
        cols += [f"reasons_{t}" for t in targets]
    cols += [f"model_{t}" for t in targets]
    return cols


def _str_col(values: Any, n: int) -> pd.Series:
    """A pandas ``str`` column (missing = NaN) from any object array."""
    arr = np.empty(n, dtype=object)
    arr[:] = values if values is not None else np.nan
    return pd.Series(arr, dtype="str")


def reasons_text(bundle: Any, features: pd.DataFrame, *, top_k: int, lang: str) -> np.ndarray:
    """Each row's strongest reasons as one string (``" | "``-joined, with points).

    Uses :func:`mlscore.explain.explain_bundle` (exact contributions, points on
    the 0-100 scale) and :func:`mlscore.explain.compact_reasons` (the ``top_k``
    reasons with the largest absolute points, whatever their direction). A row
    without any reason worth half a point gets ``""``.
    """
    from mlscore.explain import compact_reasons, explain_bundle

    n = len(features)
    if n == 0:
        return np.empty(0, dtype=object)
    values = features.assign(customer_id=np.arange(n))
    lg: Any = lang
    _, tidy = explain_bundle(bundle, values, lang=lg, top_k=top_k)
    compact = compact_reasons(tidy, top_k=top_k)
    out = np.full(n, "", dtype=object)
    if len(compact):
        pos = np.asarray(compact.index, dtype=np.int64)
        out[pos] = compact.to_numpy(object)
    return out


# ----------------------------------------------------------------- predictor


class Predictor:
    """Score customers with each target's frozen scoring bundle.

    Parameters
    ----------
    models
        What :func:`load_models` accepts: ``None`` (registry champions of
        every configured target), a registry URI, a bundle directory, a
        bundle object, or a mapping / list of those.
    config
        The project config (segment policy, explain and predict settings,
        feature engine). Default: the config frozen in the first bundle.
    targets
        Score only these targets.
    with_reasons
        Write ``reasons_<target>`` columns (default ``config.predict.with_reasons``).
    lang
        Language of the reasons (default ``config.explain.language``).

    Examples
    --------
    >>> predictor = Predictor("models/", config=config)  # doctest: +SKIP
    >>> predictor.predict(tables, as_of="2026-03-01")  # doctest: +SKIP
    """

    def __init__(
        self,
        models: Any = None,
        *,
        config: ProjectConfig | None = None,
        targets: Sequence[str] | None = None,
        with_reasons: bool | None = None,
        lang: str | None = None,
    ) -> None:
        self.models = load_models(models, config=config, targets=targets)
        if config is None:
            config = _config_of(next(iter(self.models.values())).bundle)
        self.config = config
        self.with_reasons = config.predict.with_reasons if with_reasons is None else with_reasons
        self.lang = lang or config.explain.language
        if self.lang not in ("en", "fr"):
            from mlscore.errors import ConfigError

            raise ConfigError(f"unknown language {self.lang!r}; use en or fr")
        self.top_k = config.explain.top_reasons

    # ---------------------------------------------------------------- props
    @property
    def targets(self) -> list[str]:
        """Scored targets, in config order."""
        return list(self.models)

    @property
    def segments(self) -> SegmentConfig:
        return self.config.segments

    def columns(self) -> list[str]:
        """Output columns, in order."""
        return output_columns(self.targets, with_reasons=self.with_reasons)

    def check(self, features: pd.DataFrame) -> None:
        """Raise :class:`IncompatibleModelError` if any model lacks a feature."""
        for m in self.models.values():
            check = getattr(m.bundle, "check_features", None)
            if check is not None:
                check(features)
            else:
                missing = [f for f in m.bundle.feature_names if f not in features.columns]
                if missing:
                    raise IncompatibleModelError(
                        f"the {m.target!r} model needs feature(s) missing from the scoring "
                        f"data: {', '.join(missing)}"
                    )

    # -------------------------------------------------------------- features
    def prepare(self, tables: Any, as_of: Any) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        """Features as of ``as_of`` for every known customer, and each target's population.

        Features use events with ``timestamp < as_of``. Rows are sorted by
        ``customer_id``; the masks say who is in each target's population.
        """
        from mlscore.features.builders import build_features
        from mlscore.features.labels import population
        from mlscore.features.spec import FeatureSpec

        cutoff = to_as_of(as_of)
        frames: list[pd.DataFrame] = []
        seen: set[str] = set()
        for m in self.models.values():
            raw = getattr(m.bundle, "feature_spec_dict", None)
            key = json.dumps(raw or m.bundle.feature_names, sort_keys=True, default=str)
            if key in seen:
                continue
            seen.add(key)
            spec = _frozen_spec(m, FeatureSpec)
            if spec is not None:
                _check_attributes(m.target, spec, tables)
            frames.append(build_features(tables, cutoff=cutoff, config=self.config, spec=spec))
        features = frames[0]
        for extra in frames[1:]:
            new = [c for c in extra.columns if c not in features.columns]
            if new:
                features = features.merge(
                    extra[["customer_id", *new]], on="customer_id", how="outer"
                )
        features = features.sort_values("customer_id", kind="stable").reset_index(drop=True)
        ids = features["customer_id"].astype(str)
        masks: dict[str, np.ndarray] = {}
        for t, m in self.models.items():
            tcfg = self.config.targets.get(t)
            if tcfg is None:
                from pydantic import TypeAdapter

                from mlscore.config import Target

                tcfg = TypeAdapter(Target).validate_python(m.bundle.target_config)
            pop = population(tables, cutoff=cutoff, target=tcfg)
            masks[t] = np.asarray(ids.isin(set(pd.Series(pop).astype(str))), dtype=bool)
        return features, masks

    # --------------------------------------------------------------- scoring
    def score_frame(
        self,
        features: pd.DataFrame,
        as_of: Any,
        *,
        eligible: Mapping[str, np.ndarray] | None = None,
    ) -> pd.DataFrame:
        """Score one frame of features (one row per customer), all rows returned.

        Parameters
        ----------
        features
            ``customer_id``, the models' features and (optionally)
            ``baseline_handset_points``, as of ``as_of``.
        as_of
            The run date written in the ``as_of`` column.
        eligible
            ``{target: bool mask}``: rows outside a target's population get
            missing values for that target (default: every row is in).
        """
        self.check(features)
        n = len(features)
        out: dict[str, Any] = {
            "customer_id": _str_col(features["customer_id"].astype(str).to_numpy(object), n),
            "as_of": pd.Series(np.full(n, to_as_of(as_of).to_datetime64()), dtype="datetime64[ns]"),
        }
        tiers: list[TargetTiers] = []
        reasons: dict[str, Any] = {}
        for t, m in self.models.items():
            b = m.bundle
            mask = np.ones(n, bool) if eligible is None else np.asarray(eligible[t], bool)
            idx = np.flatnonzero(mask)
            sub = features.iloc[idx]
            p = np.full(n, np.nan)
            tier = np.full(n, np.nan, dtype=object)
            if len(idx):
                p[idx] = np.asarray(b.predict_proba(sub), dtype=np.float64)
                tier[idx] = np.asarray(b.tier(p[idx]), dtype=object)
            out[f"p_{t}"] = pd.Series(p, dtype="float64")
            out[f"score_{t}"] = pd.Series(np.round(100.0 * p, 1), dtype="float64")
            out[f"tier_{t}"] = _str_col(tier, n)
            labels = list(b.tiers.labels)
            tiers.append(TargetTiers(m.kind, tier, labels[0], labels[-1]))
            if self.with_reasons:
                r = np.full(n, np.nan, dtype=object)
                if len(idx):
                    r[idx] = reasons_text(b, sub, top_k=self.top_k, lang=self.lang)
                reasons[f"reasons_{t}"] = _str_col(r, n)

        seg_cfg = self.segments
        engagement = None
        if HANDSET_COLUMN in features.columns:
            engagement = engagement_tier(
                features[HANDSET_COLUMN].to_numpy(), seg_cfg.engagement_thresholds
            )
        rfm = self._rfm_segment(features)
        segment = combined_segment(
            tiers,
            rfm_segment=rfm,
            engagement=engagement,
            vip_rfm_segments=seg_cfg.vip_rfm_segments,
            n=n,
        )
        out["segment"] = _str_col(segment, n)
        out["engagement_tier"] = _str_col(engagement, n)
        out["rfm_segment"] = _str_col(rfm, n)
        out["next_action"] = _str_col(next_action(segment, seg_cfg.actions), n)
        out.update(reasons)
        for t, m in self.models.items():
            out[f"model_{t}"] = _str_col(np.full(n, m.label, dtype=object), n)
        frame = pd.DataFrame(out)
        return frame[self.columns()]

    def _rfm_segment(self, features: pd.DataFrame) -> np.ndarray | None:
        """RFM segment from the first bundle with a frozen RFM segmenter (churn first)."""
        ordered = sorted(self.models.values(), key=lambda m: m.kind != "churn")
        for m in ordered:
            seg = getattr(m.bundle, "rfm_segmenter", None)
            if seg is None:
                continue
            try:
                res = seg.transform(features)
            except (KeyError, ValueError) as err:
                log.warning("RFM segment skipped: the %s segmenter failed (%s)", m.target, err)
                return None
            col = res["rfm_segment"] if isinstance(res, pd.DataFrame) else res
            return np.asarray(pd.Series(col).astype(object).to_numpy(), dtype=object)
        return None

    def iter_scores(
        self,
        features: pd.DataFrame,
        as_of: Any,
        *,
        eligible: Mapping[str, np.ndarray] | None = None,
        chunk_size: int | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Score eligible rows of ``features`` chunk by chunk (rows in input order).

        Rows in no target's population are dropped.
        """
        self.check(features)
        size = chunk_size or self.config.predict.chunk_size
        if eligible is None:
            keep = np.arange(len(features))
        else:
            any_mask = np.zeros(len(features), bool)
            for t in self.targets:
                any_mask |= np.asarray(eligible[t], bool)
            keep = np.flatnonzero(any_mask)
        for start in range(0, len(keep), size):
            rows = keep[start : start + size]
            chunk = features.iloc[rows].reset_index(drop=True)
            masks = None if eligible is None else {t: eligible[t][rows] for t in self.targets}
            yield self.score_frame(chunk, as_of, eligible=masks)

    def predict(self, data: Any, as_of: Any = None) -> pd.DataFrame:
        """Score a :class:`~mlscore.data.Tables` or a feature DataFrame.

        With tables, features are built as of ``as_of`` (events with
        ``timestamp < as_of``) and only eligible customers are returned. With a
        feature frame, every row is scored for every target.

        Returns
        -------
        DataFrame
            Columns :meth:`columns`, one row per eligible customer, sorted by
            ``customer_id`` when built from tables (input order otherwise).
        """
        if isinstance(data, pd.DataFrame):
            features, eligible = data.reset_index(drop=True), None
        else:
            features, eligible = self.prepare(data, as_of)
        chunks = list(self.iter_scores(features, as_of, eligible=eligible))
        if not chunks:
            return self.score_frame(features.iloc[:0], as_of)
        return pd.concat(chunks, ignore_index=True)

    def __repr__(self) -> str:
        labels = ", ".join(m.label for m in self.models.values())
        return f"Predictor({labels})"


def _frozen_spec(m: LoadedModel, spec_cls: Any) -> Any:
    """The bundle's frozen FeatureSpec, or ``None`` (features then follow the config)."""
    raw = getattr(m.bundle, "feature_spec_dict", None)
    if raw is None:
        spec = getattr(m.bundle, "feature_spec", None)
        return spec if isinstance(spec, spec_cls) else None
    try:
        return spec_cls.from_dict(dict(raw))
    except (KeyError, TypeError, ValueError) as err:
        log.warning(
            "the %s model carries no complete feature spec (%s); building features from "
            "the config's `features:` section",
            m.target,
            err,
        )
        return None


def _check_attributes(target: str, spec: Any, tables: Any) -> None:
    """Raise IncompatibleModelError when a static attribute the model uses is gone."""
    names = [a.name for a in getattr(spec, "attributes", ())]
    if not names:
        return
    cust = getattr(tables, "customers", None)
    have = set(cust.columns) if cust is not None else set()
    missing = [n for n in names if n not in have]
    if missing:
        feats = ", ".join(f"attr_{n}" for n in missing)
        raise IncompatibleModelError(
            f"the {target!r} model needs feature(s) missing from the scoring data: {feats} "
            f"(customers column(s) {missing}); add them to `data.customers.attributes` "
            "and the customers table, or retrain the model without them"
        )


def _config_of(bundle: Any) -> ProjectConfig:
    raw = getattr(bundle, "config", None)
    if isinstance(raw, ProjectConfig):
        return raw
    if isinstance(raw, Mapping) and raw:
        return ProjectConfig.model_validate(dict(raw))
    from mlscore.errors import ConfigError

    raise ConfigError("the model carries no project config; pass config= to Predictor")
