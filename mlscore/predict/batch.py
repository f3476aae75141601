"""The nightly batch job behind ``mlscore predict``: score the whole base in chunks.

Steps: load the consent-filtered tables as of the run date, build the features
once with the feature engine (events with ``timestamp < as_of``), then score,
explain and segment ``predict.chunk_size`` customers at a time, streaming each
chunk into the outputs. Peak memory is the feature frame plus one chunk's
scores and reasons, whatever the number of customers.

Atomicity: every output (predictions, ``alerts.csv``, the CRM export) is
written to a temporary file next to its destination and renamed over it only
after the last chunk is written, so a crash or a kill leaves the previous files
untouched. Temporary files left behind by a killed run (``.<name>.*.tmp``) are
removed by the next run that writes the same output; two runs must not write
the same output at the same time.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlscore.config import ProjectConfig
from mlscore.errors import DataError
from mlscore.io import atomic_path, read_table, write_table
from mlscore.predict.alerts import alerts_for, concat_alerts, previous_view
from mlscore.predict.export import export_columns, export_frame
from mlscore.predict.predictor import Predictor, to_as_of

__all__ = ["ALERTS_FILE", "PredictResult", "run_predict", "write_predictions"]

log = logging.getLogger(__name__)

#: Name of the alerts file, written next to the predictions file.
ALERTS_FILE = "alerts.csv"

Progress = Callable[[int, int], None]


@dataclass
class PredictResult:
    """What a batch run wrote and counted.

    ``summary`` has one row per segment: ``segment``, ``customers``,
    ``mean_score_<target>`` and ``next_action``.
    """

    out: Path
    as_of: pd.Timestamp
    targets: list[str]
    models: dict[str, str]
    scored: int
    excluded_no_consent: int
    not_eligible: int
    summary: pd.DataFrame
    alerts: Path | None = None
    n_alerts: int = 0
    export: Path | None = None
    columns: list[str] = field(default_factory=list)


class _ChunkWriter:
    """Append DataFrame chunks to a Parquet or CSV file (by the destination's suffix)."""

    def __init__(self, path: Path, suffix: str) -> None:
        self.path = path
        self.suffix = suffix
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._started = False

    def write(self, df: pd.DataFrame) -> None:
        if self.suffix == ".parquet":
            if self._parquet is None:
                self._schema = pa.Schema.from_pandas(df, preserve_index=False)
                self._parquet = pq.ParquetWriter(self.path, self._schema)
            table = pa.Table.from_pandas(df, schema=self._schema, preserve_index=False)
            self._parquet.write_table(table)
        else:
            df.to_csv(
                self.path, mode="a" if self._started else "w", header=not self._started, index=False
            )
        self._started = True

    def close(self, empty: pd.DataFrame) -> None:
        """Finish the file; an empty frame gives a valid file with the header only."""
        if not self._started:
            self.write(empty)
        if self._parquet is not None:
            self._parquet.close()


def _suffix(path: Path, allowed: tuple[str, ...], what: str) -> str:
    s = path.suffix.lower()
    if s not in allowed:
        raise DataError(
            f"cannot tell the format of the {what} file {str(path)!r} from its extension; "
            f"use one of {', '.join(allowed)}"
        )
    return s


def _sweep_stale(dest: Path) -> None:
    """Remove temporary files a killed run left next to ``dest``."""
    if not dest.parent.is_dir():
        return
    for tmp in sorted(dest.parent.glob(f".{dest.name}.*.tmp")):
        log.warning("removing %s, left by an interrupted run", tmp)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _load_tables(config: ProjectConfig, as_of: pd.Timestamp) -> Any:
    from mlscore.data import extraction_date, load_tables

    return load_tables(config, as_of=extraction_date(config, as_of.date()))


def run_predict(
    config: ProjectConfig,
    *,
    as_of: Any,
    out: str | Path,
    model: Any = None,
    target: str | None = None,
    previous: str | Path | None = None,
    export: str | Path | None = None,
    lang: str | None = None,
    with_reasons: bool | None = None,
    tables: Any = None,
    features: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> PredictResult:
    """Score every eligible customer as of ``as_of`` and write the outputs.

    Time semantics: features use events with ``timestamp < as_of`` (midnight
    UTC); eligibility is each target's population at that cutoff.

    Parameters
    ----------
    config
        Project config.
    as_of
        Run date (the features' cutoff).
    out
        Predictions file (``.parquet`` or ``.csv``).
    model
        Registry URI or bundle directory (default: each target's registry
        champion, ``models:/<prefix>-<target>@champion``).
    target
        Score only this target.
    previous
        Previous predictions file: customers who entered a hot conversion tier
        or high churn risk since then are written to ``alerts.csv`` next to
        ``out``.
    export
        CRM/ESP CSV file (columns renamed per ``predict.export.columns``).
    lang
        Language of the reasons (default ``explain.language``).
    with_reasons
        Write reasons (default ``predict.with_reasons``).
    tables
        Canonical tables already loaded (default: ``load_tables(config, as_of=...)``).
    features
        A feature frame already built as of ``as_of`` (skips tables and feature
        building; every row is eligible for every target).
    progress
        Called with ``(customers done, customers to score)`` after each chunk.

    Returns
    -------
    PredictResult

    Raises
    ------
    DataError, ConfigError
        Unreadable inputs or bad settings (exit code 1).
    ModelNotFoundError, IncompatibleModelError
        No model, or a model needing a feature the data lacks (exit code 2).
    """
    cutoff = to_as_of(as_of)
    out = Path(out)
    out_suffix = _suffix(out, (".parquet", ".csv"), "predictions")
    export_path = Path(export) if export is not None else None
    if export_path is not None:
        _suffix(export_path, (".csv",), "export")
    prev = None
    if previous is not None:
        prev_path = Path(previous)
        if not prev_path.is_file():
            raise DataError(
                f"previous predictions file {str(prev_path)!r} not found; drop --previous on "
                "the first run"
            )
        prev = read_table(prev_path)

    predictor = Predictor(
        model,
        config=config,
        targets=[target] if target else None,
        with_reasons=with_reasons,
        lang=lang,
    )
    targets = predictor.targets
    excluded = 0
    if features is not None:
        feats, eligible = features.reset_index(drop=True), None
        n_eligible = len(feats)
    else:
        if tables is None:
            tables = _load_tables(config, cutoff)
        excluded = int(getattr(tables, "excluded_no_consent", 0))
        feats, eligible = predictor.prepare(tables, cutoff)
        any_mask = np.zeros(len(feats), bool)
        for m in eligible.values():
            any_mask |= m
        n_eligible = int(any_mask.sum())
    predictor.check(feats)
    not_eligible = len(feats) - n_eligible
    log.info(
        "as of %s: %d customers to score, %d not eligible, %d excluded for consent",
        cutoff.date(),
        n_eligible,
        not_eligible,
        excluded,
    )

    prev_view = previous_view(prev, targets) if prev is not None else None
    kinds = {t: m.kind for t, m in predictor.models.items()}
    tops = {t: str(m.bundle.tiers.labels[0]) for t, m in predictor.models.items()}
    alerts_path = out.parent / ALERTS_FILE if prev_view is not None else None
    empty = predictor.score_frame(feats.iloc[:0], cutoff)
    crm_cols = (
        export_columns(list(empty.columns), config.predict.export.columns)
        if export_path is not None
        else {}
    )

    seg_counts: dict[str, int] = {}
    seg_sums: dict[str, np.ndarray] = {}
    seg_ns: dict[str, np.ndarray] = {}
    alert_frames: list[pd.DataFrame] = []
    done = 0
    dests = [p for p in (out, export_path, alerts_path) if p is not None]
    for d in dests:
        _sweep_stale(d)
    with contextlib.ExitStack() as stack:
        tmp_out = stack.enter_context(atomic_path(out))
        writer = _ChunkWriter(tmp_out, out_suffix)
        crm_writer = None
        if export_path is not None:
            crm_writer = _ChunkWriter(stack.enter_context(atomic_path(export_path)), ".csv")
        tmp_alerts = stack.enter_context(atomic_path(alerts_path)) if alerts_path else None
        for chunk in predictor.iter_scores(feats, cutoff, eligible=eligible):
            writer.write(chunk)
            if crm_writer is not None:
                crm_writer.write(export_frame(chunk, crm_cols))
            if prev_view is not None:
                alert_frames.append(alerts_for(chunk, prev_view, kinds=kinds, top_tiers=tops))
            _accumulate(chunk, targets, seg_counts, seg_sums, seg_ns)
            done += len(chunk)
            if progress is not None:
                progress(done, n_eligible)
        writer.close(empty)
        if crm_writer is not None:
            crm_writer.close(export_frame(empty, crm_cols))
        n_alerts = 0
        if tmp_alerts is not None:
            alerts = concat_alerts(alert_frames, targets)
            n_alerts = len(alerts)
            alerts.to_csv(tmp_alerts, index=False)
    log.info("wrote %s (%d customers scored)", out, done)
    summary = _summary(targets, seg_counts, seg_sums, seg_ns, config.segments.actions)
    return PredictResult(
        out=out,
        as_of=cutoff,
        targets=targets,
        models={t: m.label for t, m in predictor.models.items()},
        scored=done,
        excluded_no_consent=excluded,
        not_eligible=not_eligible,
        summary=summary,
        alerts=alerts_path,
        n_alerts=n_alerts,
        export=export_path,
        columns=list(empty.columns),
    )


def _accumulate(
    chunk: pd.DataFrame,
    targets: list[str],
    counts: dict[str, int],
    sums: dict[str, np.ndarray],
    ns: dict[str, np.ndarray],
) -> None:
    scores = chunk[[f"score_{t}" for t in targets]].to_numpy(np.float64)
    seg = chunk["segment"].astype(str).to_numpy(object)
    for s in pd.unique(seg):
        rows = seg == s
        sub = scores[rows]
        counts[s] = counts.get(s, 0) + int(rows.sum())
        sums[s] = sums.get(s, np.zeros(len(targets))) + np.nansum(sub, axis=0)
        ns[s] = ns.get(s, np.zeros(len(targets))) + np.sum(~np.isnan(sub), axis=0)


def _summary(
    targets: list[str],
    counts: dict[str, int],
    sums: dict[str, np.ndarray],
    ns: dict[str, np.ndarray],
    actions: dict[str, str],
) -> pd.DataFrame:
    from mlscore.predict.segments import SEGMENTS

    order = [s for s in SEGMENTS if s in counts] + sorted(s for s in counts if s not in SEGMENTS)
    rows = []
    for s in order:
        row: dict[str, Any] = {"segment": s, "customers": counts[s]}
        for i, t in enumerate(targets):
            n = ns[s][i]
            row[f"mean_score_{t}"] = round(float(sums[s][i] / n), 1) if n else float("nan")
        row["next_action"] = actions.get(s, "")
        rows.append(row)
    cols = ["segment", "customers", *[f"mean_score_{t}" for t in targets], "next_action"]
    return pd.DataFrame(rows, columns=cols)


def write_predictions(predictions: pd.DataFrame, path: str | Path) -> Path:
    """Write a predictions frame in one go (atomic; Parquet or CSV by extension)."""
    return write_table(predictions, path)
