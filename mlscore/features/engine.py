"""Engines that run the rendered feature SQL (the only module here importing duckdb).

An :class:`Engine` registers named pandas DataFrames as relations and runs a SQL
query into a DataFrame. :class:`DuckDBEngine` runs in process; a Spark engine
can implement the same two methods and run the very same SQL.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Protocol, runtime_checkable

import duckdb
import pandas as pd
import pyarrow as pa

from mlscore.features.assembly import run_staged
from mlscore.features.bucketed import run_bucketed
from mlscore.features.sql import RenderedSQL

__all__ = ["DuckDBEngine", "Engine", "engine_for", "make_engine"]

log = logging.getLogger(__name__)


@runtime_checkable
class Engine(Protocol):
    """What the feature builders need from a SQL engine."""

    def register(self, tables: dict[str, pd.DataFrame]) -> None:
        """Make each DataFrame queryable under its name (replacing earlier ones)."""

    def query(self, sql: str) -> pd.DataFrame:
        """Run one SQL query and return its result as a DataFrame."""


class DuckDBEngine:
    """DuckDB in process.

    Parameters
    ----------
    threads
        Worker threads (default 2).
    memory_limit
        DuckDB memory limit, e.g. ``"2GB"``; beyond it DuckDB spills to
        ``temp_directory`` (out of core).
    temp_directory
        Where DuckDB spills; default: its own choice.

    Examples
    --------
    >>> eng = DuckDBEngine()
    >>> eng.register({"t": pd.DataFrame({"x": [1, 2, 3]})})
    >>> int(eng.query("SELECT SUM(x) AS s FROM t")["s"].iloc[0])
    6
    """

    def __init__(
        self,
        *,
        threads: int = 2,
        memory_limit: str = "2GB",
        temp_directory: str | None = None,
    ) -> None:
        self.threads = threads
        self.memory_limit = memory_limit
        self.temp_directory = temp_directory
        config: dict[str, str | bool | int | float | list[str]] = {
            "threads": threads,
            "memory_limit": memory_limit,
            "preserve_insertion_order": False,
        }
        if temp_directory:
            config["temp_directory"] = temp_directory
        self._con = duckdb.connect(":memory:", config=config)

    def register(self, tables: dict[str, pd.DataFrame | pa.Table]) -> None:
        """Register DataFrames or Arrow tables as views (zero copy; NaN in float
        DataFrame columns reads as NULL)."""
        for name, df in tables.items():
            self.unregister(name)
            self._con.register(name, df)

    def register_parquet(self, name: str, path: str) -> None:
        """Expose a Parquet file (or glob) as the view ``name``, scanned out of core."""
        quoted = str(path).replace("'", "''")
        self._con.execute(
            f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{quoted}')"
        )

    def query(self, sql: str) -> pd.DataFrame:
        """Run ``sql`` and fetch the whole result as a DataFrame."""
        log.debug("duckdb query:\n%s", sql)
        return self._con.execute(sql).fetch_df()

    def query_arrow(self, sql: str) -> pa.Table:
        """Run ``sql`` and fetch the result as Arrow (several times faster than
        :meth:`query` for wide results: measured 3.5 s vs 15 s on 2.4 M x 106)."""
        log.debug("duckdb query:\n%s", sql)
        return self._con.sql(sql).to_arrow_table()

    def execute(self, sql: str) -> None:
        """Run a statement (e.g. ``CREATE TEMP TABLE``) without fetching a result."""
        log.debug("duckdb statement:\n%s", sql)
        self._con.execute(sql)

    def unregister(self, name: str) -> None:
        """Forget a DataFrame registered under ``name``."""
        with contextlib.suppress(Exception):
            self._con.unregister(name)

    def query_features(self, rendered: RenderedSQL) -> pd.DataFrame:
        """Run the feature SQL by its bucket plan when it has one (day-aligned cutoffs,
        see :mod:`mlscore.features.bucketed`), else stage by stage
        (:mod:`mlscore.features.assembly`)."""
        if rendered.buckets is not None:
            return run_bucketed(self, rendered)
        return run_staged(self, rendered)

    def close(self) -> None:
        """Close the connection."""
        self._con.close()


def make_engine(kind: str = "duckdb", **options: object) -> Engine:
    """The engine named ``kind``: ``"duckdb"`` or ``"spark"`` (needs pyspark, Java 17)."""
    if kind == "duckdb":
        return DuckDBEngine(**options)  # type: ignore[arg-type]
    if kind == "spark":
        from mlscore.features.spark_engine import SparkEngine  # lazy: pyspark is optional

        return SparkEngine(**options)  # type: ignore[arg-type]
    from mlscore.errors import ConfigError

    raise ConfigError(f"engine {kind!r} is not available here; use engine: duckdb")


def engine_for(config: object) -> Engine:
    """The engine named by ``config.engine`` (``spark``: built from ``config.spark``)."""
    if getattr(config, "engine", "duckdb") == "spark":
        from mlscore.features.spark_engine import SparkEngine

        return SparkEngine.from_config(config)  # type: ignore[arg-type]
    return DuckDBEngine()
