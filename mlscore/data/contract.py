"""The data contract: read, validate and normalise the raw tables into :class:`Tables`.

:func:`load_tables` is the one entry point from raw data to canonical tables:
it reads every configured source (or the DataFrames given), validates them
(:mod:`mlscore.data.validation`), stops on errors, then returns the canonical
tables: duplicates dropped, time as int64 epoch seconds UTC (naive timestamps
taken in ``data.timezone``), customer ids as text, customers without consent
removed from every table.

The run date ``as_of`` (argument, else ``config.as_of``, else today) is the
extraction date of the data: events after the end of that day are errors. It is
not a feature cutoff: feature builders apply their own cutoffs later
(features use ``ts < cutoff``, labels ``cutoff <= ts < cutoff + horizon``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

import duckdb
import pandas as pd
import pyarrow as pa

from mlscore.config import ProjectConfig
from mlscore.data.readers import TABLE_NAMES, register_source
from mlscore.data.tables import Tables
from mlscore.data.validation import ValidationReport, run_checks
from mlscore.errors import ConfigError, ValidationFailed

__all__ = ["extraction_date", "load_tables", "validate"]

logger = logging.getLogger(__name__)


def extraction_date(config: ProjectConfig, scoring_date: dt.date | None = None) -> dt.date:
    """The run date that validation compares timestamps against.

    It is the extraction date (``config.as_of``, else today), never earlier than
    the date being scored: scoring or explaining as of an earlier date is a
    backfill, and rows after that date are legitimate history that the features
    simply do not use (they take ``ts < as_of`` only).
    """
    extraction = config.as_of or dt.date.today()
    return max(extraction, scoring_date) if scoring_date is not None else extraction


def _read_all(
    config: ProjectConfig,
    frames: Mapping[str, pd.DataFrame] | None,
    con: duckdb.DuckDBPyConnection,
) -> dict[str, pa.Table | str]:
    frames = dict(frames or {})
    unknown = sorted(set(frames) - set(TABLE_NAMES))
    if unknown:
        raise ConfigError(
            f"frames has unknown table name(s) {unknown}; expected {', '.join(TABLE_NAMES)}"
        )
    raw: dict[str, pa.Table | str] = {}
    for name in TABLE_NAMES:
        source = getattr(config.data, name)
        if source is None and name not in frames:
            continue
        if source is None and name != "customers":
            raise ConfigError(
                f"frames[{name!r}] given but the config has no data.{name}; add "
                f"`{name}: {{}}` under `data:` (with its column mapping if needed)"
            )
        raw[name] = register_source(
            source, config=config, table=name, frame=frames.get(name), con=con
        )
    return raw


def validate(
    config: ProjectConfig,
    *,
    as_of: dt.date | None = None,
    frames: Mapping[str, pd.DataFrame] | None = None,
) -> ValidationReport:
    """Read and validate every table of the project; never raises for data findings.

    Parameters
    ----------
    config
        The project configuration.
    as_of
        The run (extraction) date; default ``config.as_of``, else today.
    frames
        DataFrames replacing configured paths, e.g. ``{"interactions": df}``.

    Returns
    -------
    ValidationReport
        Findings and row counts.

    Raises
    ------
    DataError
        A source cannot be read at all (missing file, unknown format).
    """
    with duckdb.connect() as con:
        raw = _read_all(config, frames, con)
        report, _ = run_checks(raw, config=config, as_of=as_of, con=con)
    return report


def load_tables(
    config: ProjectConfig,
    *,
    as_of: dt.date | None = None,
    frames: Mapping[str, pd.DataFrame] | None = None,
) -> Tables:
    """Read, validate and normalise the project's tables into canonical :class:`Tables`.

    Parameters
    ----------
    config
        The project configuration.
    as_of
        The run (extraction) date; default ``config.as_of``, else today. Rows
        after the end of that day (in ``data.timezone``) are errors.
    frames
        DataFrames replacing configured paths (never modified).

    Returns
    -------
    Tables
        Canonical tables (see :mod:`mlscore.data.tables`), rows in source order,
        exact duplicates dropped and non-consenting customers removed.

    Raises
    ------
    ValidationFailed
        Validation found errors; the message lists each on one line and
        ``err.report`` holds the full :class:`ValidationReport`.
    DataError
        A source cannot be read.

    Examples
    --------
    >>> from mlscore.config import config_from_dict
    >>> cfg = config_from_dict({"data": {"transactions": {}}}, base_dir=".")
    >>> tx = pd.DataFrame({"customer_id": [42, 42], "timestamp": ["1970-01-02", "1970-01-03"],
    ...                    "amount": [9.5, -2.0]})
    >>> t = load_tables(cfg, frames={"transactions": tx}, as_of=dt.date(2024, 1, 1))
    >>> t.transactions[["customer_id", "ts", "amount"]].values.tolist()
    [['42', 86400, 9.5], ['42', 172800, -2.0]]
    """
    with duckdb.connect() as con:
        raw = _read_all(config, frames, con)
        report, tables = run_checks(raw, config=config, as_of=as_of, con=con, build=True)
    if tables is None:
        raise ValidationFailed(report.error_message(), report)
    logger.info(
        "loaded tables: %s; %d customer(s) excluded for lack of consent",
        ", ".join(f"{k}={v}" for k, v in report.kept_rows.items()),
        report.excluded_no_consent,
    )
    return tables
