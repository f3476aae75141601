"""Point-in-time feature matrices and stacked training sets.

Time semantics (sacred): features of cutoff ``c`` use events with ``ts < c``;
labels use events with ``c <= ts < c + horizon``. Cutoffs are epoch seconds
(UTC) in the output column ``cutoff`` (int64).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mlscore.config import ChurnTarget, ConversionTarget, ProjectConfig
from mlscore.data.tables import Tables
from mlscore.errors import DataError
from mlscore.features.engine import DuckDBEngine, Engine, engine_for
from mlscore.features.labels import (
    DAY,
    Target,
    _consenting,
    as_epoch,
    get_target,
    plan_cutoffs,
)
from mlscore.features.spec import FeatureSpec
from mlscore.features.sql import FAR_FUTURE, FAR_PAST, render_features_sql, render_labels_sql

__all__ = ["build_features", "build_training_set", "compute_features", "prepare_relations"]

log = logging.getLogger(__name__)

_EMPTY = {
    "interactions": {
        "customer_id": pd.Series([], dtype=object),
        "ts": pd.Series([], dtype="int64"),
        "event": pd.Series([], dtype=object),
        "channel": pd.Series([], dtype=object),
        "value": pd.Series([], dtype="float64"),
    },
    "transactions": {
        "customer_id": pd.Series([], dtype=object),
        "ts": pd.Series([], dtype="int64"),
        "amount": pd.Series([], dtype="float64"),
    },
    "customers": {
        "customer_id": pd.Series([], dtype=object),
        "signup_ts": pd.Series([], dtype="float64"),
    },
}


def _frame(df: pd.DataFrame | None, name: str, refused: set[str] | None) -> pd.DataFrame:
    cols = _EMPTY[name]
    if df is None:
        return pd.DataFrame(cols)
    out = {}
    for col in cols:
        if col in df.columns:
            out[col] = df[col]
        elif col == "channel":
            out[col] = pd.Series(None, index=df.index, dtype=object)
        else:
            out[col] = pd.Series(np.nan, index=df.index, dtype="float64")
    frame = pd.DataFrame(out, copy=False)
    if "ts" in frame.columns and frame["ts"].dtype != np.int64:
        raise DataError(
            f"{name}.ts must be int64 epoch seconds (canonical tables); got {frame['ts'].dtype}. "
            "Load the data with mlscore.data.load_tables"
        )
    if refused:
        frame = frame[~frame["customer_id"].isin(refused)]
    if name == "customers":
        frame = frame.drop_duplicates("customer_id", keep="last")
    return frame


def prepare_relations(tables: Tables, cutoffs: Sequence[int]) -> dict[str, pd.DataFrame]:
    """The relations the feature SQL reads (see :mod:`mlscore.features.sql`).

    Customers whose ``consent`` is false are removed from every relation.
    """
    refused = _consenting(tables)
    k = _cutoffs_frame(cutoffs)
    return {
        "interactions": _frame(tables.interactions, "interactions", refused),
        "transactions": _frame(tables.transactions, "transactions", refused),
        "customers": _frame(tables.customers, "customers", refused),
        "cutoffs": k,
    }


def _cutoffs_frame(cutoffs: Sequence[int]) -> pd.DataFrame:
    cs = sorted(set(int(c) for c in cutoffs))
    return pd.DataFrame(
        {
            "cutoff": np.array(cs, dtype="int64"),
            "prev_cutoff": np.array([FAR_PAST, *cs[:-1]], dtype="int64"),
            "next_cutoff": np.array([*cs[1:], FAR_FUTURE], dtype="int64"),
        }
    )


def compute_features(
    engine: Engine,
    *,
    spec: FeatureSpec,
    cutoffs: Sequence[object],
    customers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Features of relations already registered in ``engine`` (e.g. Parquet views).

    The engine must hold ``interactions``, ``transactions`` and ``customers``
    with the canonical columns (see :mod:`mlscore.features.sql`; consent already
    applied); this function registers ``cutoffs`` and runs the SQL, so large
    Parquet inputs never pass through pandas. ``customers`` (a DataFrame) is
    only needed for static attributes. Time semantics as :func:`build_features`.

    Examples
    --------
    >>> eng = DuckDBEngine()
    >>> eng.register({
    ...     "interactions": pd.DataFrame({"customer_id": ["a"], "ts": [0], "event": ["x"],
    ...                                   "channel": ["web"], "value": [None]}),
    ...     "transactions": pd.DataFrame({"customer_id": ["a"], "ts": [5], "amount": [9.0]}),
    ...     "customers": pd.DataFrame({"customer_id": ["a"], "signup_ts": [0.0]})})
    >>> spec = FeatureSpec(event_types=("x",), windows_days=(7,))
    >>> df = compute_features(eng, spec=spec, cutoffs=[86400])
    >>> df[["x_count_7d", "purchase_count_total", "tenure_days"]].values.tolist()
    [[1.0, 1.0, 1.0]]
    """
    cs = [as_epoch(c) for c in cutoffs]
    t = Tables(customers=customers, attributes=tuple(a.name for a in spec.attributes))
    df = _run(t, spec, cs, engine, register=False)
    df = df[[col for col in df.columns if not col.startswith("_")]]
    df.attrs["feature_spec"] = spec
    return df


def _run(
    tables: Tables,
    spec: FeatureSpec,
    cutoffs: Sequence[int],
    engine: Engine | None,
    extra_events: Sequence[str] = (),
    *,
    register: bool = True,
) -> pd.DataFrame:
    if not cutoffs:
        raise DataError("no cutoff given: pass at least one cutoff")
    eng = engine if engine is not None else DuckDBEngine()
    if register:
        eng.register(prepare_relations(tables, cutoffs))
    else:
        eng.register({"cutoffs": _cutoffs_frame(cutoffs)})
    c0, c1 = min(cutoffs), max(cutoffs)
    aligned = all((c - c0) % DAY == 0 for c in cutoffs)
    rendered = render_features_sql(
        spec,
        c0=c0,
        extra_events=extra_events,
        single_cutoff=len(set(cutoffs)) == 1,
        aligned_range=(c0, c1) if aligned else None,
    )
    staged = getattr(eng, "query_features", None)  # DuckDB: staged, no join chain
    df = staged(rendered) if staged is not None else eng.query(rendered.sql)
    df = df.rename(columns=rendered.columns)
    df["customer_id"] = df["customer_id"].astype(str)
    df["cutoff"] = df["cutoff"].astype("int64")
    dtypes = spec.dtypes()
    for name, dtype in dtypes.items():
        if name in df.columns:
            df[name] = df[name].astype(dtype)
    df["baseline_handset_points"] = df["baseline_handset_points"].astype("float64")
    # static attributes, encoded with the spec's frozen codes
    if spec.attributes:
        cust = tables.customers
        if cust is None:
            raise DataError(
                "the feature spec uses static attributes "
                f"{[a.name for a in spec.attributes]} but there is no customers table"
            )
        cust = cust.drop_duplicates("customer_id", keep="last").set_index(
            cust.drop_duplicates("customer_id", keep="last")["customer_id"].astype(str)
        )
        encoded: dict[str, np.ndarray] = {}
        for a in spec.attributes:
            if a.name not in cust.columns:
                raise DataError(
                    f"customers table lacks the attribute column {a.name!r} used by the "
                    f"feature spec; got {sorted(cust.columns)}"
                )
            raw = df["customer_id"].map(cust[a.name])
            encoded[f"attr_{a.name}"] = a.encode(raw).to_numpy()
        # one concat instead of one insert per attribute (no fragmented frame)
        df = pd.concat([df, pd.DataFrame(encoded, index=df.index)], axis=1)
    if not _sorted_by_cutoff_and_id(df):  # the bucketed plan returns them sorted
        df = df.sort_values(["cutoff", "customer_id"], kind="stable")
    df = df.reset_index(drop=True)
    internal = [c for c in df.columns if c.startswith("_")]
    cols = ["customer_id", "cutoff", *spec.feature_names, "baseline_handset_points", *internal]
    return df[cols]


def _sorted_by_cutoff_and_id(df: pd.DataFrame) -> bool:
    """Whether rows are in (cutoff, customer id) order, ids distinct per cutoff."""
    if len(df) < 2:
        return True
    c = df["cutoff"].to_numpy()
    ids = pa.array(df["customer_id"], type=pa.large_string())
    later = c[1:] > c[:-1]
    same = c[1:] == c[:-1]
    bigger = pc.greater(ids.slice(1), ids.slice(0, len(ids) - 1)).to_numpy(zero_copy_only=False)
    return bool(np.all(later | (same & bigger)))


def build_features(
    tables: Tables,
    *,
    cutoff: object,
    config: ProjectConfig,
    spec: FeatureSpec | None = None,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """Feature matrix as of one cutoff.

    Time semantics: every feature uses only events with ``ts < cutoff``; a
    window of ``w`` days is ``[cutoff - w days, cutoff)``.

    Parameters
    ----------
    tables
        Canonical tables (see :mod:`mlscore.data.tables`).
    cutoff
        Epoch seconds, a date, a string or a timestamp (UTC).
    config
        Project configuration (its ``features`` section makes the spec).
    spec
        The frozen spec to reuse (scoring); default: made from ``config`` and
        what ``tables`` show before the cutoff (training).
    engine
        SQL engine; default a fresh :class:`DuckDBEngine` (2 threads).

    Returns
    -------
    pandas.DataFrame
        One row per customer known before the cutoff (any interaction or
        transaction with ``ts < cutoff``, or ``signup_ts < cutoff``):
        ``customer_id``, ``cutoff`` (int64 epoch seconds), the columns of
        ``spec.feature_names`` in order, ``baseline_handset_points``. The spec
        is in ``df.attrs["feature_spec"]`` (a :class:`FeatureSpec`).
    """
    c = as_epoch(cutoff)
    spec = spec if spec is not None else FeatureSpec.from_config(config, tables, cutoff=c)
    df = _run(tables, spec, [c], engine if engine is not None else engine_for(config))
    df = df[[col for col in df.columns if not col.startswith("_")]]
    df.attrs["feature_spec"] = spec
    return df


def _population_mask(df: pd.DataFrame, target: Target) -> pd.Series:
    if isinstance(target, ConversionTarget):
        if not target.exclude_converted:
            return pd.Series(True, index=df.index)
        if target.outcome == "purchase":
            return df["_purchase_n"] == 0
        return df["_n_event_0"] == 0
    lo = df["cutoff"] - target.lookback_days * DAY
    last = df["_last_purchase_ts"] if target.activity == "purchase" else df["_last_activity_ts"]
    return last.notna() & (last >= lo)


def build_training_set(
    tables: Tables,
    *,
    config: ProjectConfig,
    target: str | Target,
    cutoffs: Sequence[object] | None = None,
    spec: FeatureSpec | None = None,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """Stacked training set ``(customer_id, cutoff, features…, baseline_*, label)``.

    Time semantics: features of cutoff ``c`` use events with ``ts < c``; the
    label uses events with ``c <= ts < c + horizon`` only. Conversion: label 1
    when the outcome (purchase with ``amount > 0`` or the named event) happens
    in ``[c, c + horizon)``, population = customers known before ``c``
    (optionally never converted before ``c``). Churn: label 1 when there is no
    activity in ``[c, c + horizon)``, population = customers active in
    ``[c - lookback, c)``.

    All cutoffs are computed in one pass over each table (events are joined to
    the cutoff list in SQL), not one scan per cutoff.

    Parameters
    ----------
    tables, config
        Canonical tables and project configuration.
    target
        A target name of ``config.targets`` or a target object.
    cutoffs
        Cutoffs (epoch seconds or dates); default :func:`plan_cutoffs`.
    spec
        Frozen spec to reuse; default made from ``config`` and what ``tables``
        show before the newest cutoff.
    engine
        SQL engine; default a fresh :class:`DuckDBEngine`.

    Returns
    -------
    pandas.DataFrame
        Sorted by cutoff then customer id; ``label`` is int64 0/1;
        ``attrs["feature_spec"]`` and ``attrs["cutoffs"]`` (epoch seconds).
    """
    name, tgt = get_target(config, target)
    if cutoffs is None:
        cs = plan_cutoffs(tables, config, name)
    else:
        cs = sorted({as_epoch(c) for c in cutoffs})
    if spec is None:
        spec = FeatureSpec.from_config(config, tables, cutoff=max(cs))
    extra = [str(tgt.event)] if isinstance(tgt, ConversionTarget) and tgt.outcome == "event" else []
    eng = engine if engine is not None else engine_for(config)
    df = _run(tables, spec, cs, eng, extra_events=extra)
    if isinstance(tgt, ChurnTarget) and tgt.activity == "purchase" and not spec.has_transactions:
        raise DataError("churn on purchases needs a transactions table")
    df = df[_population_mask(df, tgt).to_numpy()]
    hits = eng.query(
        render_labels_sql(
            tgt,
            has_interactions=tables.interactions is not None,
            has_transactions=tables.transactions is not None,
            max_cutoff=max(cs),
        )
    )
    hits["customer_id"] = hits["customer_id"].astype(str)
    hits["cutoff"] = hits["cutoff"].astype("int64")
    hit = df[["customer_id", "cutoff"]].merge(
        hits[["customer_id", "cutoff"]].assign(_hit=1), on=["customer_id", "cutoff"], how="left"
    )["_hit"]
    has = hit.notna().to_numpy()
    label = has if isinstance(tgt, ConversionTarget) else ~has
    # no copy of the features (pandas copies on write); one column per block, so the
    # label is concatenated rather than inserted
    df = df[[c for c in df.columns if not c.startswith("_")]].reset_index(drop=True)
    df = pd.concat([df, pd.DataFrame({"label": label.astype("int64")})], axis=1)
    df.attrs["feature_spec"] = spec
    df.attrs["cutoffs"] = list(cs)
    log.info(
        "training set for %s: %d rows over %d cutoffs, %d positives",
        name,
        len(df),
        len(cs),
        int(df["label"].sum()),
    )
    return df
